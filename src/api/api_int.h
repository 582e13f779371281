/* api internals shared by the endpoint's files and their tests: AWS Signature Version 4
 * verification (sigv4.c) and the mapping of a request to the IAM action it performs, checked
 * against a key's allow list (authz.c). Not part of api's public surface. */
#ifndef SP_API_INT_H
#define SP_API_INT_H

#include "api.h"
#include "core/config.h"

enum {
    API_SIGV4_MAX_SKEW_S = 15 * 60,     /* AWS refuses a request dated more than 15 min off */
    API_SIGV4_KEY_MAX = 128,            /* IAM access key ids are at most 128 characters */
    API_SIGV4_SCOPE_PART_MAX = 64,      /* region / service in the credential scope */
    API_SIGV4_SIGNED_HEADERS_MAX = 2048,
    API_SIGV4_HEX_LEN = 64,             /* hex SHA-256 / HMAC-SHA256 */
    API_SIGV4_PRESIGN_MAX_EXPIRES_S = 7 * 24 * 3600, /* S3 presigned URLs: at most a week */
    API_ACTION_MAX = 160,
    API_GUARD_HOST_MAX = 253,           /* a DNS name is at most 253 characters */
    API_GUARD_QUOTE_MAX = 128,          /* a header value quoted in a refusal, at most */
};

/* How a request is answered when it is refused: which error names and body shape. */
typedef enum api_proto {
    API_PROTO_JSON,      /* X-Amz-Target services: {"__type": ns#Code, "message"} */
    API_PROTO_S3,        /* S3: <Error><Code>… XML */
    API_PROTO_REST_JSON, /* Pipes: x-amzn-ErrorType header + {"message"} */
} api_proto;

typedef struct api_header {
    const char *name;    /* any case; a name may repeat */
    const char *value;
} api_header;

/* One request as the verifier sees it. All pointers borrowed. */
typedef struct api_sigv4_request {
    const char *method;
    const char *target;        /* the request target as sent: path[?query], percent-encoded */
    const api_header *headers; /* in arrival order */
    size_t n_headers;
    const char *body;
    size_t body_len;
} api_sigv4_request;

/* What the Authorization header (or an S3 presigned URL's query) says. */
typedef struct api_sigv4_auth {
    char access_key[API_SIGV4_KEY_MAX + 1];
    char date[9];                                   /* scope date, YYYYMMDD */
    char region[API_SIGV4_SCOPE_PART_MAX + 1];
    char service[API_SIGV4_SCOPE_PART_MAX + 1];
    char signed_headers[API_SIGV4_SIGNED_HEADERS_MAX + 1]; /* "host;x-amz-date" */
    char signature[API_SIGV4_HEX_LEN + 1];
    char amz_date[17];                              /* YYYYMMDDTHHMMSSZ */
    bool presigned;                                 /* from the query string */
    long long expires_s;                            /* presigned only */
} api_sigv4_auth;

/* Parses an Authorization header value ("AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
 * Signature=…"). On failure returns false with e->msg saying what is wrong (status and code
 * are left for the caller, which knows the protocol). */
bool api_sigv4_parse(const char *authorization, api_sigv4_auth *out, sp_err *e);

/* Parses the X-Amz-* parameters of an S3 presigned URL's query string; false with e->msg
 * when they are incomplete or malformed. */
bool api_sigv4_parse_query(const char *query, api_sigv4_auth *out, sp_err *e);

/* The canonical request of req as signed under auth (S3's rules when s3: path encoded once
 * and not normalised, payload hash from x-amz-content-sha256). Caller frees. NULL with
 * e->msg when the request cannot be canonicalised (a signed header absent, bad hash). */
char *api_sigv4_canonical_request(const api_sigv4_request *req, const api_sigv4_auth *auth,
                                  bool s3, sp_err *e);

/* The hex signature of req with secret under auth's scope and date into out. */
bool api_sigv4_sign(const api_sigv4_request *req, const api_sigv4_auth *auth, bool s3,
                    const char *secret, char out[API_SIGV4_HEX_LEN + 1], sp_err *e);

/* The part of the verification the headers decide, made before a body is read: a signature
 * is present and well formed, its key is configured, its date is within the skew (or the
 * presigned URL unexpired), an "s3" scope is used only on S3, X-Amz-Target (when sent) and
 * every named header are signed, and a non-S3 request does not claim UNSIGNED-PAYLOAD.
 * req->body is not looked at. On success returns the key (borrowed from creds) and fills
 * *auth for api_sigv4_check_signature; otherwise NULL with e set as api_sigv4_verify does. */
const sp_cfg_credential *api_sigv4_check_headers(const sp_cfg_credential *creds, size_t n_creds,
                                                 const api_sigv4_request *req, api_proto proto,
                                                 int64_t now_s, api_sigv4_auth *auth, sp_err *e);
/* The rest, once the body is there: the signature over the whole request by c's secret. */
bool api_sigv4_check_signature(const sp_cfg_credential *c, const api_sigv4_request *req,
                               const api_sigv4_auth *auth, api_proto proto, sp_err *e);

/* Both checks in one: verifies req against the configured keys at time now_s (Unix seconds).
 * On success returns the key (borrowed from creds). Otherwise NULL with e set to the
 * protocol's 4xx error: missing/incomplete signature, unknown key, wrong signature, expired,
 * payload mismatch. */
const sp_cfg_credential *api_sigv4_verify(const sp_cfg_credential *creds, size_t n_creds,
                                          const api_sigv4_request *req, api_proto proto,
                                          int64_t now_s, sp_err *e);

/* The action a request performs. */
typedef struct api_action {
    api_proto proto;
    const api_service *svc;         /* JSON: the target's service, NULL if unknown */
    char name[API_ACTION_MAX];      /* "dynamodb:PutItem"; "" when unknown (dispatch refuses it) */
} api_action;

/* Classifies a request. path is percent-decoded, query raw, target the X-Amz-Target header
 * (or NULL). services borrowed. */
void api_action_of(const api_service *const *services, size_t n_services, const char *method,
                   const char *path, const char *query, const char *target, api_action *out);

/* IAM-style match: case-insensitive, '*' any run, '?' any one character. */
bool api_action_match(const char *pattern, const char *action);

/* Whether the key may perform action (no allow list: every action). */
bool api_credential_allows(const sp_cfg_credential *c, const char *action);

/* The refusal for an action outside c's allow list, in proto's error names, into e. */
void api_action_deny(const sp_cfg_credential *c, const char *action, api_proto proto, sp_err *e);

/* ---- the browser guard (guard.c) ---------------------------------------------------------- */

/* Which Host and Origin values are accepted besides loopback. Strings borrowed. */
typedef struct api_guard_policy {
    const char *const *hostnames; /* exact names or IP literals ("[::1]" or "::1") */
    size_t n_hostnames;
    const char *const *origins;   /* "scheme://host[:port]", "null", or "*" for any */
    size_t n_origins;
} api_guard_policy;

/* The request line and headers as the guard sees them. All borrowed. */
typedef struct api_guard_request {
    const char *method;
    const api_header *headers;
    size_t n_headers;
    api_proto proto;          /* from api_action_of */
    const api_service *svc;   /* JSON: the target's service, NULL if unknown */
    bool builtin;             /* GET of /_salespipe/health or /_salespipe/metrics */
} api_guard_request;

typedef enum api_guard_verdict {
    API_GUARD_PASS,      /* go on; with *allow_origin set, the response names it (CORS) */
    API_GUARD_PREFLIGHT, /* a CORS preflight from an allowed origin: answer it, 204 */
    API_GUARD_REFUSE,    /* e holds the 403 naming the reason */
} api_guard_verdict;

/* Host, then Origin, then Content-Type (see guard.c). *allow_origin is set (borrowed from
 * the request) when an allowed Origin was sent. Pure: no I/O, no state. */
api_guard_verdict api_guard_check(const api_guard_policy *p, const api_guard_request *r,
                                  const char **allow_origin, sp_err *e);
/* Whether a Host header value names loopback or one of p's hostnames. */
bool api_guard_host_allowed(const api_guard_policy *p, const char *host);
/* Whether an Origin header value (NULL: none sent) may make requests. */
bool api_guard_origin_allowed(const api_guard_policy *p, const char *origin);

/* ---- the AWS front door (front.c) ---------------------------------------------------------- */

enum { API_RID_MAX = 52 }; /* DynamoDB's request ids are 52 characters, UUIDs 36 */

/* Which service answers a request no API claims (see front.c). */
typedef enum api_front_service {
    API_FRONT_NONE,     /* claimed (a known X-Amz-Target), or a REST path / an S3 client */
    API_FRONT_DYNAMODB,
    API_FRONT_KINESIS,
} api_front_service;

/* The service of a request to path "/" whose target (if any) names no API. */
api_front_service api_front_service_of(const char *method, const char *path, const char *query,
                                       const api_header *h, size_t n, bool target_known);

/* AWS's form checks of a sent signature (Authorization header or X-Amz-Algorithm query),
 * before any key is looked at (DynamoDB also refuses a header not starting "AWS4-"). False with e set (400, Kinesis/DynamoDB code without
 * namespace) when the form is wrong; true when no signature is sent or it is well formed. */
bool api_front_auth_form(const char *authorization, const char *query, const api_header *h,
                         size_t n, bool dynamodb, sp_err *e);

/* A request id in svc's shape (DynamoDB: 52 x [0-9A-Z]; otherwise a UUID) from seed. */
void api_front_request_id(api_front_service svc, uint64_t seed, char out[API_RID_MAX + 1]);

/* A request to Kinesis's own endpoint (a server.service_ports listener), as the front end
 * sees it before an operation runs. All borrowed. */
typedef struct api_front_kinesis_req {
    const char *method;
    const char *content_type;    /* the header as sent, or NULL */
    const char *target;          /* X-Amz-Target, or NULL */
    const char *authorization;   /* or NULL */
    const char *query;           /* raw query string ("" for none) */
    const api_header *headers;
    size_t n_headers;
    const api_service *svc;      /* Kinesis: the target prefix and operations */
    bool headers_only;           /* the body is not read yet: its checks are skipped */
    const char *body;
    size_t body_len;
} api_front_kinesis_req;

/* What a front door answers. status 0: nothing, the request goes on to its operation. */
typedef struct api_front_reply {
    int status;
    const char *content_type;    /* static; NULL: no Content-Type header */
    char *body;                  /* malloc'd, owned by the caller; NULL with len 0 */
    size_t len;
} api_front_reply;

/* Kinesis's checks, in Kinesis's order, of a request to its endpoint (kinesalite index.js
 * records them): method (403 AccessDeniedException XML), empty body, content type (JSON 1.1,
 * CBOR or the deprecated application/json with its Output envelope), body parse, target,
 * then the presence and form of a signature (Kinesis answers unsigned requests with
 * MissingAuthenticationTokenException). Returns false when out of memory. Pure. */
bool api_front_kinesis_reply(const api_front_kinesis_req *r, api_front_reply *out);

#endif
