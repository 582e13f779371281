/* conn: salespipe's outbound side. A client for AWS wire APIs on any endpoint (AWS itself,
 * MinIO, s3rver, kinesalite, another salespipe): the endpoint URL, the region and the
 * credentials of one remote service, one request function that signs with SigV4, retries
 * what AWS's SDKs retry (5xx, throttling, connection errors) with exponential backoff and full
 * jitter inside a bounded total time, and carries the remote's error code and message up in
 * sp_err (nothing is printed here).
 *
 * The connectors (the S3 sink of delivery/, later Kinesis and DynamoDB Streams) are built on
 * it: REST-XML services (S3) call conn_aws_send with a method, path and query; JSON services
 * (Kinesis, DynamoDB, DynamoDB Streams) call conn_aws_json with a target and a JSON body.
 *
 * Thread contract: a conn_aws may be used by one thread at a time (each call takes its own
 * curl handle, so separate clients in separate threads never interfere).
 */
#ifndef CONN_H
#define CONN_H

#include "core/core.h"

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

#endif
