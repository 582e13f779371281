/* The PutRecords request as the stream module uses it (a stream name and up to 500 records),
 * filled either by the ordinary path (a jansson tree that passed the model check, validated
 * member by member: stm_put_batch_from_json) or by the hot-path scanner over the body text
 * (stm_scan_put), and the PutRecords answer written either as a jansson tree or as text.
 * Private to src/stream/ and its tests; tests/fuzz/fuzz_stream_put_scan.c checks the two
 * fillers against each other on every input, tests/unit/stream_put_scan.c the two answers. */
#ifndef SP_STM_SCAN_PUT_H
#define SP_STM_SCAN_PUT_H

#include "stm_int.h"

typedef struct stm_put_batch {
    const char *stream;  /* the stream's name; borrowed from the request or from text */
    stm_put *recs;       /* n records; keys borrowed from the request or from text */
    size_t n;
    size_t bytes;        /* data plus partition key bytes, what the 5 MB limit counts */
    char *blob;          /* owned: every record's decoded data */
    char *text;          /* owned (scanner): unescaped strings, each NUL-terminated */
    void **bufs;         /* owned (tree path): data of records checked one by one, or NULL */
} stm_put_batch;

/* Frees what the batch owns and zeroes it. */
void stm_put_batch_clear(stm_put_batch *b);

/* The hot path: scans a PutRecords body of the common shape in one pass, straight into b
 * (keys and names in b->text, data decoded into b->blob; nothing borrowed from body). True
 * only when the body is a JSON object jansson parses (JSON_REJECT_DUPLICATES), the model
 * check passes and stm_put_batch_from_json would fill the same batch: members StreamName or
 * StreamARN (not both) and Records; 1..500 records of Data (canonical base64 without
 * escapes, <= 1 MiB decoded), PartitionKey (1..256 bytes, escapes allowed, no NUL) and an
 * optional ExplicitHashKey (digits, 0..2^128-1). False for anything else, with b cleared:
 * the caller takes the ordinary path, which parses, checks and names what is wrong. */
bool stm_scan_put(const char *body, size_t len, stm_put_batch *b);

/* The ordinary path: validates a parsed PutRecords request (after the model check) into b,
 * with Kinesis's errors in Kinesis's order. False with e set (b cleared) otherwise. b
 * borrows from req, which must outlive it. */
bool stm_put_batch_from_json(json_t *req, stm_put_batch *b, sp_err *e);

/* The PutRecords answer for n results (a result with an empty seq_str failed), as a tree
 * (new reference) and as the same compact text jansson would dump (caller frees; *out_len
 * its length). */
json_t *stm_put_reply_json(const stm_put_result *res, size_t n);
char *stm_put_reply_text(const stm_put_result *res, size_t n, size_t *out_len);

/* A JSON string literal of s (n bytes of valid UTF-8) appended to out, escaped as jansson's
 * compact dump escapes it. */
void stm_json_str_append(sp_str *out, const char *s, size_t n);

#endif
