/* sigv4: AWS Signature Version 4, the part both ends compute the same way. From a request
 * (method, target, headers, the list of signed headers, the payload hash) it builds the
 * canonical request exactly as AWS's documentation specifies it, then the string to sign,
 * the signing key derived from the secret and the scope, and the signature. The server's
 * verifier (api/sigv4.c: parsing Authorization headers and presigned queries, the checks,
 * the payload rules) and the clients that sign (conn/aws_sign.c for the connectors,
 * gen/http_sink.c for the generator) both stand on it, so what one signs the other accepts
 * by construction, and both are checked against AWS's examples (tests/unit/api_sigv4.c: the
 * SigV4 test suite; tests/unit/conn_retry.c: the S3 examples).
 *
 * Two flavours of canonical URI exist. Every service but S3 normalises the path (dot
 * segments and empty segments removed) and URI-encodes the path as it was sent, so a
 * client's already-encoded "%E1" is signed as "%25E1". S3 signs the path encoded exactly
 * once and unnormalised: the path is decoded and re-encoded with AWS's rules. Query names
 * and values are decoded and re-encoded the same way, then sorted by name and value.
 *
 * Thread contract: none of this holds state; any thread may call it. */
#ifndef SP_SIGV4_H
#define SP_SIGV4_H

#include "core.h"

#define SP_SIGV4_ALGORITHM "AWS4-HMAC-SHA256"
#define SP_SIGV4_TERMINATOR "aws4_request"
#define SP_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
#define SP_SIGV4_STREAMING_PREFIX "STREAMING-"

enum {
    SP_SIGV4_HEX_LEN = 64,              /* hex SHA-256 / HMAC-SHA256 */
    SP_SIGV4_AMZ_DATE_LEN = 16,         /* "YYYYMMDDTHHMMSSZ" */
    /* A canonical request never needs more than the request line and headers MHD accepts. */
    SP_SIGV4_CANONICAL_MAX = 1 << 20,
    SP_SIGV4_QUERY_PARAMS_MAX = 1000,
};

typedef struct sp_sigv4_header {
    const char *name;    /* any case; a name may repeat (its values are joined with ',') */
    const char *value;
} sp_sigv4_header;

/* The credential scope: "<date>/<region>/<service>/aws4_request". */
typedef struct sp_sigv4_scope {
    const char *date;    /* YYYYMMDD */
    const char *region;
    const char *service;
} sp_sigv4_scope;

/* One request as it is signed. All pointers borrowed. */
typedef struct sp_sigv4_request {
    const char *method;
    const char *target;          /* path[?query] as sent, percent-encoded; NULL or "": "/" */
    const sp_sigv4_header *headers;
    size_t n_headers;
    const char *signed_headers;  /* "host;x-amz-date": lower case, sorted, ';'-separated */
    const char *payload_hash;    /* lower-case hex SHA-256, or UNSIGNED-PAYLOAD */
    bool s3;                     /* S3's path rules: encoded once, not normalised */
    bool presigned;              /* the query's X-Amz-Signature is left out */
} sp_sigv4_request;

/* unix_s as an X-Amz-Date value, "YYYYMMDDTHHMMSSZ" (UTC). */
void sp_sigv4_amz_date(int64_t unix_s, char out[SP_SIGV4_AMZ_DATE_LEN + 1]);
/* n bytes as lower-case hex into out (2n + 1 bytes, NUL-terminated). */
void sp_sigv4_hex(const unsigned char *in, size_t n, char *out);
/* SHA-256 of data as lower-case hex into out. */
void sp_sigv4_sha256_hex(const void *data, size_t len, char out[SP_SIGV4_HEX_LEN + 1]);
/* Appends s[0..len) with AWS's URI encoding: everything but the RFC 3986 unreserved
 * characters as %XX (upper-case hex); '/' kept when keep_slash. */
void sp_sigv4_uri_encode(sp_str *out, const char *s, size_t len, bool keep_slash);
/* Percent-decodes s[0..len) into out (the same bytes where an escape is malformed, as AWS
 * does: "%zz" stays "%zz"). Returns the decoded length; out needs len bytes. */
size_t sp_sigv4_uri_decode(const char *s, size_t len, char *out);

/* The canonical request of r (caller frees). NULL with e set when it cannot be built: 400
 * with more than SP_SIGV4_QUERY_PARAMS_MAX query parameters or a request too large to
 * canonicalise, 403 when a signed header is not among r->headers (e->code is "": the
 * caller names the exception, which depends on the protocol). */
char *sp_sigv4_canonical_request(const sp_sigv4_request *r, sp_err *e);

/* The hex signature of canonical_request dated amz_date ("YYYYMMDDTHHMMSSZ") under scope,
 * by secret, into out: the string to sign, the signing key (HMAC chain "AWS4" + secret,
 * date, region, service, "aws4_request") and the final HMAC. False only when out of memory. */
bool sp_sigv4_signature(const char *secret, const char *amz_date, const sp_sigv4_scope *scope,
                        const char *canonical_request, char out[SP_SIGV4_HEX_LEN + 1]);

/* Both: the hex signature of r into out; false with e set as
 * sp_sigv4_canonical_request does (or out of memory). */
bool sp_sigv4_sign(const sp_sigv4_request *r, const char *secret, const char *amz_date,
                   const sp_sigv4_scope *scope, char out[SP_SIGV4_HEX_LEN + 1], sp_err *e);

/* The client's side: the Authorization header value ("AWS4-HMAC-SHA256 Credential=<key>/
 * <scope>, SignedHeaders=…, Signature=…") for r signed by access_key/secret. When
 * r->signed_headers is NULL every header of r is signed (names lower-cased, sorted, a
 * repeated one once). Caller frees; NULL with e set as sp_sigv4_sign does. */
char *sp_sigv4_authorization(const sp_sigv4_request *r, const char *access_key,
                             const char *secret, const char *amz_date,
                             const sp_sigv4_scope *scope, sp_err *e);

#endif
