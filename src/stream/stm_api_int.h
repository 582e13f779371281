/* Helpers shared by the Kinesis API files: request members in Kinesis's validation shapes,
 * shard JSON, shard iterators. Private to src/stream/. */
#ifndef SP_STM_API_INT_H
#define SP_STM_API_INT_H

#include "stm_int.h"

#define STM_ACCOUNT "000000000000"
#define STM_REGION "us-east-1"

/* "1 validation error detected: Value '<v>' at '<member>' failed to satisfy constraint: <c>" */
void stm_api_invalid(sp_err *e, const char *value, const char *member, const char *constraint);
/* Member as a string (absent: NULL, and a ValidationException if required; not a string:
 * SerializationException). Borrowed from req. */
const char *stm_api_str(json_t *req, const char *key, const char *member, bool required,
                        size_t min, size_t max, sp_err *e);
/* Integer member in [min, max]; absent: fallback (or an error when required). */
long long stm_api_int(json_t *req, const char *key, const char *member, bool required,
                      long long min, long long max, long long fallback, sp_err *e);
/* The stream named by StreamName (or StreamARN); validated. Borrowed from req. */
const char *stm_api_stream_name(json_t *req, sp_err *e);
/* A shard's description object (new reference). */
json_t *stm_api_shard_json(stm_stream *st, stm_shard *sh);
void stm_api_arn(const char *name, char *out, size_t size);

/* Shard iterators: opaque base64 of (stream, its creation, shard, position, issue time). */
char *stm_iter_encode(const stm_stream *st, int shard_index, uint64_t after_seq,
                      int64_t now_ms);
typedef struct stm_iter {
    char stream[STM_STREAM_NAME_MAX + 1];
    int64_t stream_created_ms;
    int shard_index;
    uint64_t after_seq;
    int64_t issued_ms;
} stm_iter;
bool stm_iter_decode(const char *s, stm_iter *it);

json_t *stm_op_put_record(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_put_records(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_get_shard_iterator(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_get_records(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_add_tags(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_list_tags(void *ctx, json_t *req, sp_err *e);
json_t *stm_op_remove_tags(void *ctx, json_t *req, sp_err *e);

#endif
