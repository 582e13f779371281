/* The AWS front door for requests no API claims: what DynamoDB's and Kinesis's endpoints
 * answer before an operation runs. AWS serves each service on its own host; salespipe
 * serves all on one port (as LocalStack does), so a request to "/" that names no known
 * X-Amz-Target is given to a service by what the client said: the SigV4 credential scope
 * ("…/s3/aws4_request" is S3, "dynamodb", "kinesis"), S3's own x-amz-content-sha256 header,
 * then the content type (application/x-amz-json-1.0 is DynamoDB's, -1.1 and CBOR
 * Kinesis's). A bare request with none of those is answered as DynamoDB answers it (GET /
 * is its health check). Any other path stays with the REST routes (S3, Pipes).
 *
 * Also here: the form checks AWS makes of a sent signature before it looks at a key
 * (dynalite/kinesalite test/connection.js record them), applied whether or not keys are
 * configured, and the request ids of each service's shape. Pure functions, no I/O. */
#include "api_int.h"
#include "api_cbor.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char *hget(const api_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (h[i].name && !strcasecmp(h[i].name, name)) return h[i].value ? h[i].value : "";
    return NULL;
}

/* The service named by "Credential=<key>/<date>/<region>/<service>/aws4_request". */
static bool scope_service(const char *auth, char *out, size_t cap)
{
    const char *c = auth ? strstr(auth, "Credential=") : NULL;
    if (!c) return false;
    c += strlen("Credential=");
    size_t n = strcspn(c, ", ");
    int slashes = 0;
    const char *svc = NULL;
    for (size_t i = 0; i < n; i++)
        if (c[i] == '/' && ++slashes == 3) svc = c + i + 1;
    if (!svc) return false;
    size_t m = strcspn(svc, "/, ");
    if (m >= cap) return false;
    memcpy(out, svc, m);
    out[m] = '\0';
    return true;
}

static bool media_is(const char *v, const char *want)
{
    if (!v) return false;
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strcspn(v, ";");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    return n == strlen(want) && !strncasecmp(v, want, n);
}

api_front_service api_front_service_of(const char *method, const char *path, const char *query,
                                       const api_header *h, size_t n, bool target_known)
{
    (void)method;
    if (target_known || !path || strcmp(path, "/")) return API_FRONT_NONE;
    char svc[API_SIGV4_SCOPE_PART_MAX + 1];
    const char *auth = hget(h, n, "Authorization");
    if (scope_service(auth, svc, sizeof svc)) {
        if (!strcmp(svc, "dynamodb")) return API_FRONT_DYNAMODB;
        if (!strcmp(svc, "kinesis")) return API_FRONT_KINESIS;
        if (svc[0]) return API_FRONT_NONE; /* s3 and the rest: the REST routes */
    }
    if (query && strstr(query, "%2Fs3%2F")) return API_FRONT_NONE; /* S3 presigned URL */
    if (hget(h, n, "x-amz-content-sha256")) return API_FRONT_NONE;
    const char *ct = hget(h, n, "Content-Type");
    if (media_is(ct, "application/x-amz-json-1.1") || media_is(ct, API_CBOR_CONTENT_TYPE))
        return API_FRONT_KINESIS;
    return API_FRONT_DYNAMODB;
}

/* Whether a query string holds the parameter name (with or without "=value"). */
static const char *query_param(const char *query, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *p = query; p && *p;) {
        size_t seg = strcspn(p, "&");
        if (seg >= nl && !strncmp(p, name, nl) && (seg == nl || p[nl] == '=')) {
            *len = seg > nl ? seg - nl - 1 : 0;
            return seg > nl ? p + nl + 1 : p + nl;
        }
        p += seg;
        if (*p) p++;
    }
    return NULL;
}

bool api_front_auth_form(const char *authorization, const char *query, const api_header *h,
                         size_t n, bool dynamodb, sp_err *e)
{
    size_t len;
    bool by_query = query_param(query, "X-Amz-Algorithm", &len) != NULL;
    if (authorization && by_query) {
        sp_err_set(e, 400, "InvalidSignatureException", "Found both 'X-Amz-Algorithm' as a "
                   "query-string param and 'Authorization' as HTTP header.");
        return false;
    }
    char msg[SP_ERR_MSG_MAX];
    size_t w = 0;
    msg[0] = '\0';
    if (authorization) {
        const char *a = authorization;
        while (*a == ' ') a++;
        if (dynamodb && strncmp(a, "AWS4-", 5)) { /* Kinesis goes on to the parameters */
            sp_err_set(e, 400, "MissingAuthenticationTokenException",
                       "Request is missing Authentication Token");
            return false;
        }
        static const char *const params[] = {"Credential", "Signature", "SignedHeaders"};
        for (size_t i = 0; i < SP_ARRAY_LEN(params); i++) {
            bool found = false;
            size_t pl = strlen(params[i]);
            for (const char *p = a; *p && !found;) {
                p += strspn(p, ", ");
                size_t tok = strcspn(p, ", ");
                found = tok > pl + 1 && !strncmp(p, params[i], pl) && p[pl] == '=';
                p += tok;
            }
            if (!found && w < sizeof msg)
                w += (size_t)snprintf(msg + w, sizeof msg - w,
                                      "Authorization header requires '%s' parameter. ", params[i]);
        }
        if (!hget(h, n, "X-Amz-Date") && !hget(h, n, "Date") && w < sizeof msg)
            w += (size_t)snprintf(msg + w, sizeof msg - w, "Authorization header requires "
                                  "existence of either a 'X-Amz-Date' or a 'Date' header. ");
        if (w && w < sizeof msg)
            snprintf(msg + w, sizeof msg - w, "Authorization=%.200s", authorization);
    } else if (by_query) {
        static const char *const params[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                             "X-Amz-Signature", "X-Amz-SignedHeaders",
                                             "X-Amz-Date"};
        for (size_t i = 0; i < SP_ARRAY_LEN(params); i++) {
            const char *v = query_param(query, params[i], &len);
            if ((!v || !len) && w < sizeof msg)
                w += (size_t)snprintf(msg + w, sizeof msg - w,
                                      "AWS query-string parameters must include '%s'. ",
                                      params[i]);
        }
        if (w && w < sizeof msg)
            snprintf(msg + w, sizeof msg - w, "Re-examine the query-string parameters.");
    }
    if (!msg[0]) return true;
    sp_err_set(e, 400, "IncompleteSignatureException", "%s", msg);
    return false;
}

void api_front_request_id(api_front_service svc, uint64_t seed, char out[API_RID_MAX + 1])
{
    /* splitmix64: ids need to be distinct, not secret. */
    uint64_t x = seed;
    uint64_t words[4];
    for (int i = 0; i < 4; i++) {
        x += 0x9E3779B97F4A7C15ull;
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        words[i] = z ^ (z >> 31);
    }
    if (svc == API_FRONT_DYNAMODB) {
        /* DynamoDB: 52 characters of [0-9A-Z]. */
        static const char alpha[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for (int i = 0; i < 52; i++) {
            uint64_t *wd = &words[i % 4];
            out[i] = alpha[*wd % 36];
            *wd /= 36;
            if (!*wd) *wd = words[(i + 1) % 4] ^ (uint64_t)i * 0x2545F4914F6CDD1Dull;
        }
        out[52] = '\0';
        return;
    }
    /* Kinesis and the other JSON APIs: a version-4 UUID. */
    snprintf(out, API_RID_MAX + 1, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(words[0] >> 32),
             (unsigned)(words[0] & 0xffff), (unsigned)(words[1] & 0xfff),
             (unsigned)(0x8000 | (words[1] >> 32 & 0x3fff)),
             (unsigned long long)(words[2] & 0xffffffffffffull));
}

/* ---- Kinesis's own endpoint ---------------------------------------------------------------- */

#define KIN_JSON "application/x-amz-json-1.1"
#define KIN_DEPRECATED_JSON "application/json"

static bool reply_text(api_front_reply *out, int status, const char *ctype, const char *text)
{
    out->status = status;
    out->content_type = ctype;
    out->len = strlen(text);
    out->body = strdup(text);
    return out->body != NULL;
}

/* An XML error as Kinesis's front end writes it: "<Code>\n  <Message>…</Message>\n</Code>\n". */
static bool reply_xml(api_front_reply *out, int status, const char *code, const char *msg)
{
    char buf[SP_ERR_MSG_MAX + 128];
    snprintf(buf, sizeof buf, "<%s>\n  <Message>%s</Message>\n</%s>\n", code, msg, code);
    return reply_text(out, status, NULL, buf);
}

/* {"__type": code[, "message": msg]} in the request's protocol: CBOR unless JSON 1.1. */
static bool reply_typed(api_front_reply *out, bool json, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:s}", "__type", code);
    if (!j) return false;
    if (msg) json_object_set_new(j, "message", json_string(msg));
    out->status = 400;
    out->content_type = json ? KIN_JSON : API_CBOR_CONTENT_TYPE;
    if (json) out->body = sp_json_dump(j, &out->len);
    else out->body = (char *)api_cbor_from_json(j, &out->len);
    json_decref(j);
    return out->body != NULL;
}

/* The deprecated application/json answer: the error inside an "Output" envelope. */
static bool reply_deprecated(api_front_reply *out, int status, const char *code)
{
    char buf[160];
    snprintf(buf, sizeof buf, "{\"Output\":{\"__type\":\"com.amazon.coral.service#%s\"},"
             "\"Version\":\"1.0\"}", code);
    return reply_text(out, status, KIN_DEPRECATED_JSON, buf);
}

bool api_front_kinesis_reply(const api_front_kinesis_req *r, api_front_reply *out)
{
    memset(out, 0, sizeof *out);
    if (!r->method || strcmp(r->method, "POST"))
        return reply_xml(out, 403, "AccessDeniedException",
                         "Unable to determine service/operation name to be authorized");
    bool is_json = media_is(r->content_type, KIN_JSON);
    bool is_cbor = media_is(r->content_type, API_CBOR_CONTENT_TYPE);
    bool is_deprecated = media_is(r->content_type, KIN_DEPRECATED_JSON);
    bool content_valid = is_json || is_cbor || is_deprecated;

    /* "Service.Operation": both parts present, the service Kinesis's, the operation one of its. */
    const char *t = r->target ? r->target : "";
    const char *dot = strchr(t, '.');
    size_t svc_len = dot ? (size_t)(dot - t) : strlen(t);
    bool has_service = svc_len > 0, has_operation = dot && dot[1];
    const char *prefix = r->svc ? r->svc->target_prefix : "";
    bool service_valid = has_service && svc_len == strlen(prefix) && !strncmp(t, prefix, svc_len);
    bool operation_valid = service_valid && has_operation && r->svc->ops &&
                           !strchr(dot + 1, '.') &&
                           sp_op_find(r->svc->ops, dot + 1, strlen(dot + 1)) != NULL;

    if (!r->headers_only && r->body_len == 0)
        return reply_typed(out, is_json, service_valid && operation_valid
                                             ? "SerializationException"
                                             : "UnknownOperationException", NULL);
    if (!content_valid) {
        if (!has_service || !has_operation)
            return reply_xml(out, 403, "AccessDeniedException",
                             "Unable to determine service/operation name to be authorized");
        return reply_text(out, 404, NULL, "<UnknownOperationException/>\n");
    }
    if (!r->headers_only) {
        bool object = false;
        if (is_cbor) {
            sp_err e = {0};
            json_t *j = api_cbor_to_json(r->body, r->body_len, &e);
            object = json_is_object(j);
            json_decref(j);
        } else {
            json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
            object = json_is_object(j);
            json_decref(j);
        }
        if (!object)
            return is_deprecated ? reply_deprecated(out, 400, "SerializationException")
                                 : reply_typed(out, is_json, "SerializationException", NULL);
    }
    if (is_deprecated) return reply_deprecated(out, 404, "UnknownOperationException");
    if (!service_valid || !operation_valid)
        return reply_typed(out, is_json, "UnknownOperationException", NULL);

    size_t len;
    bool by_query = query_param(r->query, "X-Amz-Algorithm", &len) != NULL;
    if (!r->authorization && !by_query)
        return reply_typed(out, is_json, "MissingAuthenticationTokenException",
                           "Missing Authentication Token");
    sp_err e = {0};
    if (!api_front_auth_form(r->authorization, r->query, r->headers, r->n_headers, false, &e))
        return reply_typed(out, is_json, e.code, e.msg);
    return true; /* status 0: on to the operation */
}
