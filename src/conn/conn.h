/* conn: salespipe's outbound side. A client for AWS wire APIs on any endpoint (AWS itself,
 * MinIO, s3rver, kinesalite, another salespipe): the endpoint URL, the region and the
 * credentials of one remote service, one request function that signs with SigV4, retries
 * what AWS's SDKs retry (5xx, throttling, connection errors) with exponential backoff and full
 * jitter inside a bounded total time, and carries the remote's error code and message up in
 * sp_err (nothing is printed here).
 *
 * The connectors are built on it: REST-XML services (the S3 sink of delivery/) call
 * conn_aws_send with a method, path and query; JSON services call conn_aws_json with a target
 * and a JSON body. The Kinesis and DynamoDB Streams connectors live here too (kin_*.c,
 * ddb_source.c), and Kafka's (kafka_*.c, conn/kafka.h), with the operations of the pipe's
 * and the delivery runner's I/O as plain functions, so the stages plug them in without
 * knowing the wire (pipe/remote.c, delivery/source_remote.c), whatever the kind.
 *
 * Thread contract: a conn_aws may be used by one thread at a time (each call takes its own
 * curl handle, so separate clients in separate threads never interfere).
 */
#ifndef CONN_H
#define CONN_H

#include "core/core.h"
#include "stream/stream.h"
#include "table/table.h"

#include <pthread.h>

/* ---- credentials (aws_creds.c) ------------------------------------------------------------ */

/* IAM: an access key id is at most 128 characters; secret keys are 40 in practice (we allow
 * 128); STS session tokens have no published bound, a few KiB is generous. */
enum {
    CONN_ACCESS_KEY_MAX = 128,
    CONN_SECRET_KEY_MAX = 128,
    CONN_SESSION_TOKEN_MAX = 4096,
    CONN_PROFILE_MAX = 128,
    CONN_CREDS_FILE_MAX = 1 << 20,   /* a credentials file larger than this is refused */
};

typedef struct conn_aws_creds {
    char access_key_id[CONN_ACCESS_KEY_MAX + 1];
    char secret_access_key[CONN_SECRET_KEY_MAX + 1];
    char session_token[CONN_SESSION_TOKEN_MAX + 1];  /* "" when none */
    char source[64];                 /* "config", "environment", "shared credentials file" */
} conn_aws_creds;

/* Parses the text of a shared credentials file (~/.aws/credentials: INI sections "[name]",
 * "key = value" lines, '#' and ';' comments) and fills out from section profile
 * (aws_access_key_id, aws_secret_access_key, optional aws_session_token). name is used in
 * messages. false with e set: the profile is absent or incomplete (404 ProfileNotFound), or a
 * line is malformed or too long (400 InvalidCredentialsFile, naming the line). The text is
 * outside input: it is never trusted to be NUL-terminated or bounded. */
bool conn_aws_creds_parse(const char *name, const char *text, size_t len, const char *profile,
                          conn_aws_creds *out, sp_err *e);

/* The credentials AWS's SDKs would use, in their order: the explicit values (access_key_id
 * and secret_access_key, both or neither; may be NULL), then the environment
 * (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), then the shared credentials
 * file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials) under profile (NULL: AWS_PROFILE,
 * else "default"). false with e (400 NoCredentials) naming every place looked at. */
bool conn_aws_creds_resolve(const char *access_key_id, const char *secret_access_key,
                            const char *session_token, const char *profile,
                            conn_aws_creds *out, sp_err *e);

/* ---- SigV4 (aws_sign.c) ------------------------------------------------------------------- */

/* One request as it is signed. path is URI-encoded once (what S3 signs); query is
 * "a=1&b=2" with names and values already URI-encoded (any order, sorted by name and value
 * here); headers are "Name: value" lines (every one is signed; Host must be among them). */
typedef struct conn_sigv4_input {
    const char *method;
    const char *path;
    const char *query;
    const char *const *headers;
    size_t n_headers;
    const char *payload_sha256;      /* lowercase hex */
    const char *amz_date;            /* "YYYYMMDDTHHMMSSZ" */
    const char *region;
    const char *service;
} conn_sigv4_input;

/* The Authorization header value for in, signed with creds (by core/sigv4.c, the code the
 * server's verifier uses; path and query are canonicalised by its rules, S3's when service is
 * "s3"). Caller frees; NULL when out of memory or the query has more than
 * SP_SIGV4_QUERY_PARAMS_MAX parameters. */
char *conn_sigv4_authorization(const conn_sigv4_input *in, const conn_aws_creds *creds);
/* SHA-256 of data as lowercase hex into out (sp_sigv4_sha256_hex). */
void conn_sha256_hex(const void *data, size_t len, char out[65]);
/* Appends s URI-encoded (RFC 3986 unreserved kept; '/' kept when keep_slash;
 * sp_sigv4_uri_encode). */
void conn_uri_encode(sp_str *out, const char *s, bool keep_slash);

/* ---- retries (aws_retry.c) ---------------------------------------------------------------- */

/* The SDKs' standard retry mode: 3 attempts; we default to more since a delivery batch
 * waits on it anyway, and bound the whole call by time. Backoff: full jitter over
 * base * 2^attempt, capped (AWS Architecture Blog, "Exponential Backoff And Jitter"). */
enum {
    CONN_ATTEMPTS_DEFAULT = 5,
    CONN_ATTEMPTS_MAX = 20,
    CONN_BACKOFF_BASE_MS = 100,
    CONN_BACKOFF_CAP_MS = 20000,
    CONN_TIMEOUT_MS_DEFAULT = 60000,  /* one call, every attempt and wait included */
    CONN_CONNECT_TIMEOUT_MS = 5000,
};

/* Whether a failed attempt is worth another: a connection error (transport true), HTTP 429,
 * 500, 502, 503, 504, or a throttling / transient error code (SlowDown, Throttling,
 * ThrottlingException, ProvisionedThroughputExceededException, RequestTimeout, ...) whatever
 * the status. Anything else (403 SignatureDoesNotMatch, 404 NoSuchBucket) is not. */
bool conn_retry_retriable(bool transport, long status, const char *code);
/* The wait before attempt number attempt+1 (attempt >= 1 failed ones so far): a value in
 * [0, min(cap, base * 2^(attempt-1))], picked by rnd (any 64-bit random value). */
unsigned conn_retry_backoff_ms(int attempt, unsigned base_ms, unsigned cap_ms, uint64_t rnd);

/* ---- the client (aws_http.c) -------------------------------------------------------------- */

typedef struct conn_aws_config {
    const char *endpoint;            /* "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:9000" */
    const char *region;              /* "eu-west-1" */
    const char *service;             /* SigV4 service name: "s3", "kinesis", "dynamodb", ... */
    const char *access_key_id;       /* explicit credentials, or NULL: see conn_aws_creds_resolve */
    const char *secret_access_key;
    const char *session_token;
    const char *profile;             /* NULL: AWS_PROFILE, else "default" */
    int max_attempts;                /* 0: CONN_ATTEMPTS_DEFAULT */
    int timeout_ms;                  /* 0: CONN_TIMEOUT_MS_DEFAULT */
} conn_aws_config;

typedef struct conn_aws conn_aws;

/* A client for one endpoint (the strings of cfg are copied). Resolves the credentials now:
 * NULL with e set when there are none or the endpoint is not an http(s) URL. */
conn_aws *conn_aws_new(const conn_aws_config *cfg, sp_err *e);
void conn_aws_destroy(conn_aws *c);
/* Brings every call's end forward to deadline_ns (sp_clock_mono_ns time; 0: no external
 * deadline): an attempt in flight is cut when it passes, and no retry starts after it. The
 * one call another thread may make while c is in use (a stopping worker's owner hurries
 * it). */
void conn_aws_set_deadline(conn_aws *c, uint64_t deadline_ns);
/* "s3 http://127.0.0.1:9000 (us-east-1)", for status displays. Borrowed from c. */
const char *conn_aws_describe(const conn_aws *c);

typedef struct conn_aws_request {
    const char *op;                  /* operation name for messages: "PutObject" */
    const char *method;              /* "GET", "PUT", "POST", "DELETE", "HEAD" */
    const char *path;                /* URI-encoded once, starting with '/'; NULL: "/" */
    const char *query;               /* "uploads=" / "partNumber=1&uploadId=x" (encoded) or NULL */
    const char *const *headers;      /* extra "Name: value" lines, signed; may be NULL */
    size_t n_headers;
    const void *body;                /* sent as is (borrowed), body_len bytes */
    size_t body_len;
} conn_aws_request;

typedef struct conn_aws_response {
    long status;
    char *body;                      /* owned, NUL-terminated */
    size_t body_len;
    char etag[256];                  /* the ETag response header, quotes kept; "" if none */
    int attempts;
} conn_aws_response;

/* Sends req, retrying as conn_retry_retriable says within the client's time budget. true
 * when the final answer is 2xx (resp filled). Otherwise false with e: status = the remote's
 * HTTP status (502 for a connection error), code = the remote's error code (XML <Code> or
 * JSON __type after '#'), msg = "<op>: <code>: <remote message> (HTTP <status>, <n>
 * attempts)", retriable set when the last failure was a retriable kind; resp keeps the last
 * answer. Caller clears resp with conn_aws_response_clear in every case. */
bool conn_aws_send(conn_aws *c, const conn_aws_request *req, conn_aws_response *resp,
                   sp_err *e);
void conn_aws_response_clear(conn_aws_response *resp);

/* A JSON-protocol call (Kinesis, DynamoDB, DynamoDB Streams): POST / with
 * X-Amz-Target: <target> ("Kinesis_20131202.PutRecords") and Content-Type content_type
 * ("application/x-amz-json-1.1"); body borrowed. The decoded answer (new ref) or NULL with e
 * as conn_aws_send sets it. */
json_t *conn_aws_json(conn_aws *c, const char *target, const char *content_type,
                      const json_t *body, sp_err *e);

/* The text of the first <tag>...</tag> of an XML body, entities decoded, into out (cap
 * bytes). false when absent or too long. For the REST-XML answers (UploadId, Code). */
bool conn_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap);

/* ---- Kinesis and DynamoDB Streams wire pieces (kin_wire.c) -------------------------------- */

/* Kinesis API limits (Kinesis API reference): PutRecords takes at most 500 records and 5 MiB
 * (data + partition keys); a record's data + key is at most 1 MiB; GetRecords returns at most
 * 10 000 records; a shard id, a sequence number and an iterator have bounded lengths. */
enum {
    CONN_KIN_PUT_RECORDS_MAX = 500,
    CONN_KIN_PUT_BYTES_MAX = 5 * 1024 * 1024,
    CONN_KIN_RECORD_MAX = 1024 * 1024,
    CONN_KIN_GET_LIMIT_MAX = 10000,
    CONN_KIN_SHARD_ID_MAX = 128,
    CONN_KIN_SEQ_MAX = 128,
    CONN_KIN_PARTITION_KEY_MAX = 256,
    CONN_KIN_SHARDS_MAX = 10000,     /* a listing longer than this is refused (outside input) */
};

/* One shard as ListShards / DescribeStream give it. hash_lo/hi: the HashKeyRange (128-bit);
 * closed: SequenceNumberRange has an EndingSequenceNumber. */
typedef struct conn_kin_shard {
    char id[CONN_KIN_SHARD_ID_MAX + 1];
    char parent[CONN_KIN_SHARD_ID_MAX + 1];          /* "" when none */
    char adjacent_parent[CONN_KIN_SHARD_ID_MAX + 1]; /* "" when none */
    unsigned __int128 hash_lo, hash_hi;
    bool has_range;
    bool closed;
} conn_kin_shard;

/* One record of a GetRecords answer (Kinesis or DynamoDB Streams). All owned by the batch. */
typedef struct conn_kin_record {
    char seq[CONN_KIN_SEQ_MAX + 1];
    char *partition_key;             /* Kinesis; NULL for DynamoDB Streams */
    char *data;                      /* Kinesis: decoded Data; Streams: the record's JSON text */
    size_t len;
    int64_t arrival_ms;              /* ApproximateArrivalTimestamp / ApproximateCreationDateTime */
} conn_kin_record;

typedef struct conn_kin_batch {
    conn_kin_record *recs;
    size_t n;
    char *next_iterator;             /* NULL: the shard is closed and read to its end */
    int64_t millis_behind;           /* MillisBehindLatest, -1 when absent */
} conn_kin_batch;

/* Whether s is a sequence number: 1..CONN_KIN_SEQ_MAX decimal digits (Kinesis' are 56
 * digits, beyond any integer type). */
bool conn_kin_seq_valid(const char *s);
/* Compares two decimal sequence numbers as numbers (-1, 0, 1); "" is below everything. */
int conn_kin_seq_cmp(const char *a, const char *b);
/* A decimal 128-bit hash key; false when it is not one. */
bool conn_kin_u128_parse(const char *s, unsigned __int128 *out);
/* The hash key Kinesis routes partition_key by: MD5 as a big-endian 128-bit number. */
unsigned __int128 conn_kin_hash_key(const char *partition_key);
/* The shards of a ListShards answer (Shards) or a DescribeStream answer
 * (StreamDescription.Shards, DynamoDB Streams shape), appended to *shards (realloc'd; *n
 * grows). resp borrowed; every member is outside input, checked: false with e (502
 * InvalidResponse) naming what is wrong. */
bool conn_kin_shards_parse(const json_t *shards_array, conn_kin_shard **shards, size_t *n,
                           sp_err *e);
/* A connector's counted remote call (conn_health_call with its target and label), ctx its own. */
typedef json_t *conn_kin_call_fn(void *ctx, const char *op, json_t *body, sp_err *e);
/* Every shard of stream: ListShards through call, following NextToken, the pages appended to
 * *shards / *n as conn_kin_shards_parse does (the caller frees *shards, also on failure). */
bool conn_kin_list_shards(conn_kin_call_fn *call, void *ctx, const char *stream,
                          conn_kin_shard **shards, size_t *n, sp_err *e);
/* A Kinesis GetRecords answer into out (caller clears with conn_kin_batch_clear). false with
 * e (502 InvalidResponse) when a member is missing, mistyped or too long. */
bool conn_kin_records_parse(const json_t *resp, conn_kin_batch *out, sp_err *e);
/* A DynamoDB Streams GetRecords answer: each record's JSON text as data (the embedded table
 * stream's shape), seq = dynamodb.SequenceNumber. */
bool conn_ddb_records_parse(const json_t *resp, conn_kin_batch *out, sp_err *e);
void conn_kin_batch_clear(conn_kin_batch *b);

/* ---- per-connector health (kin_wire.c) --------------------------------------------------- */

/* What status and /metrics show of one connector; updated by its thread, read by others
 * under mu. */
typedef struct conn_health {
    pthread_mutex_t mu;
    uint64_t errors;                 /* failed remote calls (after retries) */
    char last_error[SP_ERR_MSG_MAX]; /* as the remote said it */
    int64_t millis_behind;           /* sources: MillisBehindLatest of the last GetRecords */
    uint64_t calls;                  /* remote calls made */
    uint64_t records;                /* records put (targets) or read (sources) */
    uint64_t retried_records;        /* PutRecords entries sent again */
    uint64_t recovered_records;      /* found already in the target after a crash or a failed
                                      * put (read back), so not sent again */
} conn_health;
void conn_health_init(conn_health *h);
void conn_health_error(conn_health *h, const sp_err *e);
/* One JSON call of a connector, counted in h: sends body (taken) to `<target_prefix><op>` with
 * content_type; on failure e names `what` (the remote resource and endpoint) before the
 * remote's message and counts as an error in h, unless its code is quiet_code (an expected
 * answer the caller handles, such as ExpiredIteratorException; NULL: none). */
json_t *conn_health_call(conn_aws *c, conn_health *h, const char *target_prefix,
                         const char *content_type, const char *op, json_t *body,
                         const char *what, const char *quiet_code, sp_err *e);
/* A JSON object {kind, endpoint, errors, last_error, millis_behind, calls, records,
 * retried_records, recovered_records} (new reference). */
json_t *conn_health_json(conn_health *h, const char *kind, const char *describe);

/* ---- remote stages of the configuration (kin_config.c) ------------------------------------ */

/* The members a remote stage of the configuration may have, per kind:
 *   {kind: kinesis, endpoint, region, stream, access_key_id?, secret_access_key?,
 *    session_token?, profile?, max_attempts?, timeout_seconds?}
 *   {kind: dynamodb-streams, endpoint, region, table | stream_arn, (same optional members)}
 *   {kind: kafka, brokers, topic, group? (sources only)}   (conn/kafka.h)
 * kinds lists the kinds the caller accepts ("kinesis", NULL-terminated); member names the
 * config field in messages and is the stage's role ("target" or "source"). false with e
 * (400 ValidationException) naming the bad member and what it must be. */
bool conn_remote_config_check(const json_t *cfg, const char *member, const char *const *kinds,
                              sp_err *e);
/* The kind of a remote stage ("kinesis", "dynamodb-streams") or NULL when cfg is NULL or
 * names the embedded one ({kind: embedded}). Borrowed from cfg. */
const char *conn_remote_kind(const json_t *cfg);
/* The name of a remote stage's stream: a Kinesis stream, a Kafka topic, a DynamoDB table (or
 * its stream_arn); NULL for the embedded one. Borrowed from cfg. */
const char *conn_remote_name(const json_t *cfg);
/* A client for a checked remote stage (service: SigV4 name, "kinesis" / "dynamodb").
 * Defaults suited to a stage that retries on its own: CONN_REMOTE_ATTEMPTS attempts within
 * CONN_REMOTE_TIMEOUT_MS, unless the configuration says otherwise. */
enum { CONN_REMOTE_ATTEMPTS = 3, CONN_REMOTE_TIMEOUT_MS = 10000, CONN_REMOTE_TIMEOUT_S_MAX = 3600 };
conn_aws *conn_remote_client(const json_t *cfg, const char *service, sp_err *e);

/* ---- Kinesis as a pipe's target (kin_target.c) -------------------------------------------- */

typedef struct conn_kin_target conn_kin_target;
/* A target for a checked {kind: kinesis} configuration (borrowed) whose journal lives in
 * state_path (copied; created on the first put). NULL with e when there are no credentials
 * or the journal cannot be read. No remote call is made here. */
conn_kin_target *conn_kin_target_new(const json_t *cfg, const char *state_path, sp_err *e);
void conn_kin_target_destroy(conn_kin_target *t);
/* The pipe runner's dst operations (pipe_int.h pip_io, same contracts); ctx is the target,
 * stream is ignored (the configuration names it). Called from the runner's thread only. */
bool conn_kin_target_put(void *ctx, const char *stream, const stm_put *recs, size_t n,
                         stm_put_result *out, size_t *written, sp_err *e);
int conn_kin_target_shard_for_key(void *ctx, const char *stream, const char *partition_key,
                                  sp_err *e);
uint64_t conn_kin_target_origin_position(void *ctx, const char *stream, int shard,
                                         const char *origin);
/* {kind, endpoint, errors, last_error, ...} (new reference); any thread. */
json_t *conn_kin_target_health(conn_kin_target *t);

/* The pieces of the target's exactly-once reasoning, kept pure for the unit tests. */

/* How many of recs[0..n) go into one PutRecords request: at most CONN_KIN_PUT_RECORDS_MAX
 * records and CONN_KIN_PUT_BYTES_MAX bytes, and no partition key twice (so a failed entry
 * retried alone never lands after a later change of its key). At least 1 when n > 0. */
size_t conn_kin_put_chunk(const stm_put *recs, size_t n);
/* The records of the stream found after the journal's positions, as a multiset of
 * (partition key, data) digests with the shard and sequence number each landed at. */
typedef struct conn_kin_landed conn_kin_landed;
conn_kin_landed *conn_kin_landed_new(void);
void conn_kin_landed_destroy(conn_kin_landed *l);
void conn_kin_landed_add(conn_kin_landed *l, const char *partition_key, const void *data,
                         size_t len, int shard, const char *seq);
/* Takes one entry equal to (partition_key, data) out of l: true with its shard and sequence
 * number (seq: CONN_KIN_SEQ_MAX+1 bytes), false when there is none. */
bool conn_kin_landed_take(conn_kin_landed *l, const char *partition_key, const void *data,
                          size_t len, int *shard, char *seq);
size_t conn_kin_landed_count(const conn_kin_landed *l);

/* ---- position maps (kin_seqmap.c) --------------------------------------------------------- */

/* A stage counts records in uint64 positions; remote shards name them by decimal sequence
 * numbers too long for any integer. A source numbers the records of a shard as it hands
 * them out (1, 2, ...: the shard's content is immutable, so counting again from a known point
 * gives the same numbers) and keeps anchors (pos, seq): the record numbered pos has sequence
 * number seq. Any position at or above an anchor can be found again by reading after the
 * anchor's sequence number and counting. */
typedef struct conn_seq_anchor {
    uint64_t pos;
    char seq[CONN_KIN_SEQ_MAX + 1];
} conn_seq_anchor;

typedef struct conn_seq_map {
    conn_seq_anchor *v;              /* sorted by pos, positions distinct */
    size_t n, cap;
} conn_seq_map;

/* Adds (pos, seq); an anchor at pos already there is replaced. pos > 0. */
void conn_seq_map_add(conn_seq_map *m, uint64_t pos, const char *seq);
/* The anchor with the greatest pos <= pos, or NULL (then counting starts at the shard's
 * beginning, position 0). Borrowed from m until it changes. */
const conn_seq_anchor *conn_seq_map_floor(const conn_seq_map *m, uint64_t pos);
/* Drops every anchor below the floor of keep_from: positions below keep_from are never asked
 * for again. */
void conn_seq_map_prune(conn_seq_map *m, uint64_t keep_from);
/* [[pos, "seq"], ...] (new reference) and back; from_json refuses (400) anything else. */
json_t *conn_seq_map_to_json(const conn_seq_map *m);
bool conn_seq_map_from_json(conn_seq_map *m, const json_t *j, sp_err *e);
void conn_seq_map_clear(conn_seq_map *m);

/* ---- Kinesis as a delivery stream's source (kin_source.c) --------------------------------- */

typedef struct conn_kin_source conn_kin_source;
/* A source for a checked {kind: kinesis} configuration (borrowed), its shard table and
 * anchors kept in state_path (copied). NULL with e when there are no credentials or the
 * file cannot be read. No remote call is made here. */
conn_kin_source *conn_kin_source_new(const json_t *cfg, const char *state_path, sp_err *e);
/* The delivery runner's dlv_source operations (dlv_int.h, same contracts): shards by index
 * (the order they were first seen, kept), positions as conn_seq_map describes; ctx is the
 * source. Called from the runner's thread only; destroy frees. */
void conn_kin_source_destroy(void *ctx);
int conn_kin_source_shard_count(void *ctx, sp_err *e);
long conn_kin_source_read(void *ctx, int shard, uint64_t after, size_t max, size_t max_bytes,
                          stm_record_fn fn, void *arg, sp_err *e);
uint64_t conn_kin_source_wait(void *ctx, uint64_t seen, int timeout_ms);
bool conn_kin_source_ready(void *ctx, int shard, const uint64_t *read_pos, int n);
/* The runner made checkpoint[0..n) durable: anchors below are dropped, the anchor at each
 * checkpoint is written (fsynced) so a restart resumes exactly after it. */
void conn_kin_source_checkpointed(void *ctx, const uint64_t *checkpoint, int n);
/* {kind, endpoint, errors, last_error, millis_behind, ...} (new reference); any thread. */
json_t *conn_kin_source_health(void *ctx);
const char *conn_kin_source_arn(void *ctx);

/* ---- DynamoDB Streams as a pipe's source (ddb_source.c) ----------------------------------- */

typedef struct conn_ddb_source conn_ddb_source;
/* A source for a checked {kind: dynamodb-streams} configuration (borrowed); its journal of
 * handed-out positions lives in state_path (copied). No remote call is made here. */
conn_ddb_source *conn_ddb_source_new(const json_t *cfg, const char *state_path, sp_err *e);
void conn_ddb_source_destroy(conn_ddb_source *s);
/* The pipe runner's src operations (pipe_int.h pip_io, same contracts as tbl_stream_*);
 * table is ignored. Positions are one uint64 sequence over every shard of the stream, parents
 * before children; records are handed out as the remote's GetRecords gives them (the
 * embedded table stream's JSON shape). Runner thread only. */
bool conn_ddb_source_wait(void *ctx, const char *table, uint64_t after_seq, int timeout_ms);
long conn_ddb_source_read(void *ctx, const char *table, uint64_t after_seq, size_t max,
                          tbl_stream_fn fn, void *arg, sp_err *e);
uint64_t conn_ddb_source_last_seq(void *ctx, const char *table);
/* Positions at or below floor are never asked for again (the pipe's durable checkpoint). */
void conn_ddb_source_set_floor(conn_ddb_source *s, uint64_t floor);
json_t *conn_ddb_source_health(conn_ddb_source *s);

#endif
