/* core: the pieces every stage shares.
 *
 * An error type that carries an AWS-shaped failure (HTTP status, exception name, message,
 * retriable flag) from deep inside a stage up to the API without anyone printing; a string
 * builder with a sticky error; logging; clocks; CRC32C; base64; JSON helpers over jansson;
 * the operation table type every JSON API exports; and the configuration (config.h).
 */
#ifndef SP_CORE_H
#define SP_CORE_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define SP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- error ------------------------------------------------------------------------------ */

enum { SP_ERR_CODE_MAX = 64, SP_ERR_MSG_MAX = 480, SP_ERR_EXTRA_MAX = 1024 };

/* A failure on its way to the caller. Lives on the stack; no allocation, no free.
 * status == 0 means "no error". code is the AWS exception name without namespace
 * ("ValidationException"); the API layer adds the service's namespace. */
typedef struct sp_err {
    int status;
    bool retriable;
    char code[SP_ERR_CODE_MAX];
    char msg[SP_ERR_MSG_MAX];
    /* Extra members of the AWS error body beyond __type and message, as compact JSON object
     * text ("{\"CancellationReasons\":[...]}"), or "" for none. */
    char extra[SP_ERR_EXTRA_MAX];
} sp_err;

void sp_err_set(sp_err *e, int status, const char *code, const char *fmt, ...) SP_PRINTF(4, 5);
void sp_err_setv(sp_err *e, int status, const char *code, const char *fmt, va_list ap);
/* Shorthands for the two most common shapes: 400 ValidationException, 500 InternalFailure. */
void sp_err_invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
void sp_err_internal(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
/* Prefix the message with "<context>: " (keeps code and status). */
void sp_err_wrap(sp_err *e, const char *context);
void sp_err_clear(sp_err *e);
/* Attaches members (a JSON object, not consumed) to the error body; false, and nothing
 * attached, when they do not fit SP_ERR_EXTRA_MAX. */
bool sp_err_set_extra(sp_err *e, const json_t *members);
static inline bool sp_err_failed(const sp_err *e) { return e->status != 0; }

/* ---- string builder --------------------------------------------------------------------- */

/* Grows from an optional caller buffer (often on the stack) onto the heap, up to max bytes.
 * Errors are sticky: after an allocation failure or overflow every append is a no-op and
 * sp_str_failed() says so; check once at the end. The content is always NUL-terminated. */
typedef struct sp_str {
    char *buf;
    size_t len, cap, max;
    bool on_heap;
    bool failed;
} sp_str;

enum { SP_STR_NO_MAX = 0 };

void sp_str_init(sp_str *s, char *initial, size_t initial_cap, size_t max);
void sp_str_append(sp_str *s, const void *data, size_t len);
void sp_str_puts(sp_str *s, const char *z);
void sp_str_putc(sp_str *s, char c);
void sp_str_appendf(sp_str *s, const char *fmt, ...) SP_PRINTF(2, 3);
void sp_str_appendv(sp_str *s, const char *fmt, va_list ap);
void sp_str_reset(sp_str *s);                  /* len = 0, keeps the memory */
static inline bool sp_str_failed(const sp_str *s) { return s->failed; }
/* Returns a heap copy of the content the caller must free() (NULL if the builder failed),
 * and releases the builder. */
char *sp_str_finish(sp_str *s, size_t *len_out);
void sp_str_release(sp_str *s);                /* frees heap memory, if any */

/* ---- logging ---------------------------------------------------------------------------- */

typedef enum { SP_LOG_DEBUG, SP_LOG_INFO, SP_LOG_WARN, SP_LOG_ERROR, SP_LOG_OFF } sp_log_level;

void sp_log_set_level(sp_log_level level);
sp_log_level sp_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns false on anything else. */
bool sp_log_level_parse(const char *name, sp_log_level *out);
void sp_log(sp_log_level level, const char *fmt, ...) SP_PRINTF(2, 3);
#define sp_debug(...) sp_log(SP_LOG_DEBUG, __VA_ARGS__)
#define sp_info(...) sp_log(SP_LOG_INFO, __VA_ARGS__)
#define sp_warn(...) sp_log(SP_LOG_WARN, __VA_ARGS__)
#define sp_error(...) sp_log(SP_LOG_ERROR, __VA_ARGS__)

/* ---- clock ------------------------------------------------------------------------------ */

uint64_t sp_clock_mono_ns(void);               /* monotonic, for durations */
int64_t sp_clock_wall_ms(void);                /* Unix epoch milliseconds, UTC */
/* Formats epoch ms as "YYYY-MM-DDTHH:MM:SSZ" (UTC) into out (>= 21 bytes). */
void sp_clock_iso8601(int64_t epoch_ms, char out[21]);
void sp_sleep_ms(unsigned ms);
/* The CLOCK_REALTIME instant ms milliseconds from now (negative counts as 0), as
 * pthread_cond_timedwait takes it. */
struct timespec;
void sp_clock_deadline(struct timespec *out, int ms);

/* ---- checksums and encodings ------------------------------------------------------------ */

/* CRC-32C (Castagnoli), as used by the log framing; crc starts at 0 and can be chained. */
uint32_t sp_crc32c(uint32_t crc, const void *data, size_t len);

/* Standard base64 with padding. encode: out needs sp_base64_encoded_len(n)+1 bytes, is
 * NUL-terminated, returns the length. decode: strict (no whitespace, correct padding);
 * out needs sp_base64_decoded_max(n) bytes; returns the length or -1 if the input is not
 * valid base64. */
static inline size_t sp_base64_encoded_len(size_t n) { return (n + 2) / 3 * 4; }
static inline size_t sp_base64_decoded_max(size_t n) { return n / 4 * 3 + 3; }
size_t sp_base64_encode(const void *in, size_t n, char *out);
long sp_base64_decode(const char *in, size_t n, void *out);

/* ---- JSON helpers ----------------------------------------------------------------------- */

/* Typed member access for request validation. Each returns the value, or (when the member is
 * absent and not required) the fallback; a member of the wrong type, or a required member
 * that is missing, sets a 400 ValidationException naming the member and returns the fallback.
 * Strings are borrowed from the object. */
const char *sp_json_str(const json_t *obj, const char *key, bool required, sp_err *e);
long long sp_json_int(const json_t *obj, const char *key, bool required, long long fallback,
                      sp_err *e);
bool sp_json_bool(const json_t *obj, const char *key, bool fallback, sp_err *e);
/* Member that must be an object / array if present; NULL if absent. Borrowed. */
json_t *sp_json_object(const json_t *obj, const char *key, bool required, sp_err *e);
json_t *sp_json_array(const json_t *obj, const char *key, bool required, sp_err *e);
/* Parses a request body; on failure sets SerializationException with jansson's position. */
json_t *sp_json_parse(const char *body, size_t len, sp_err *e);
/* Compact serialisation; caller frees. */
char *sp_json_dump(const json_t *v, size_t *len_out);
/* Compact serialisation as sp_json_dump, except that every real is written in the shortest
 * form that reads back as the same double (128.92, not jansson's 128.91999999999999), as
 * Python's json.dumps writes it: what the lake's lines carry. Caller frees; NULL if out of
 * memory. */
char *sp_json_dump_shortest(const json_t *v, size_t *len_out);
/* Appends s (len bytes, may hold U+0000) as a JSON string, quoted and escaped exactly as
 * sp_json_dump and sp_json_dump_shortest write strings. */
void sp_json_string_append(sp_str *out, const char *s, size_t len);
/* The shortest "%.<p>g" text (p = 1..17) of d that strtod reads back as d, with ".0" added
 * when it would otherwise read as an integer. buf holds at least SP_JSON_REAL_MAX bytes;
 * returns the length. d must be finite. */
enum { SP_JSON_REAL_MAX = 32 };
size_t sp_json_real_format(double d, char *buf);

/* jansson's allocation hooks with a per-thread bump arena (json_arena.c); install is
 * idempotent and belongs before any thread touches jansson (begin installs too). Between
 * begin and end (they nest), the calling thread's jansson allocations come from its arena;
 * a tree made there must be freed on this thread, and nothing made there may be freed with
 * free(). The arena starts over when its last allocation is freed. release frees the
 * thread's arena: false (and kept) while something in it is live; a thread that never calls
 * it has it freed at exit. active / live: whether a scope is open, how many arena
 * allocations are not yet freed (for tests). */
void sp_json_arena_install(void);
void sp_json_arena_begin(void);
void sp_json_arena_end(void);
bool sp_json_arena_thread_release(void);
bool sp_json_arena_active(void);
size_t sp_json_arena_live(void);

/* ---- operation tables ------------------------------------------------------------------- */

/* One operation of a JSON API (DynamoDB, Kinesis, Firehose, Glue, ...). The request body is
 * borrowed; the returned response object is owned by the caller (the API layer). On failure
 * return NULL with e set. */
typedef json_t *(*sp_op_fn)(void *ctx, json_t *request, sp_err *e);
typedef struct sp_op {
    const char *name;  /* operation name as in X-Amz-Target after the dot, e.g. "PutItem" */
    sp_op_fn fn;
} sp_op;
/* Ops tables end with {NULL, NULL}. */
const sp_op *sp_op_find(const sp_op *ops, const char *name, size_t name_len);

/* A fast path for one operation's common request shape (DESIGN.md, "hot-path scanner"): it
 * answers from the body text without building a JSON tree. Returns the 200 response body
 * (caller frees; *out_len its length); or NULL with e set, the operation's own error, which
 * the ordinary path would give for the same body; or NULL with e clear: not the shape it
 * handles, so the body takes the ordinary path (parse, model check, the op) and every error
 * reads as it always did. It may only answer bodies that the ordinary path parses, that pass
 * its model check and its op's validation. body is borrowed. */
typedef char *(*sp_raw_op_fn)(void *ctx, const char *body, size_t len, size_t *out_len,
                              sp_err *e);
typedef struct sp_raw_op {
    const char *name;  /* the operation it stands in for, e.g. "PutRecords" */
    sp_raw_op_fn fn;
} sp_raw_op;
/* Raw ops tables end with {NULL, NULL}; NULL tables have none. */
const sp_raw_op *sp_raw_op_find(const sp_raw_op *ops, const char *name, size_t name_len);

#endif
