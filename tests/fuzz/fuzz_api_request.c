/* Fuzz target for request dispatch and body parsing (api/dispatch.c, core/json.c, base64):
 * the input is "<X-Amz-Target>\n<body>", dispatched among fake DynamoDB- and Kinesis-like
 * services whose ops validate typed members the way the real stages do (required strings,
 * integers, booleans, nested attribute-value maps, base64 record data). Every answer must be
 * a JSON object; errors must carry __type and message with a 4xx/5xx status.
 *
 * The same bytes are also read as an HTTP request head, "<METHOD> <path>\n<Name>: <value>\n
 * ...", and run through the action classifier (authz.c) and the browser guard (guard.c):
 * a request passes only with exactly one Host that names loopback or a configured name, an
 * Origin (if any) on the allow list, and the content type of its API; a refusal is a 403
 * with the protocol's code and a message that serialises as an AWS error body. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>

#include "api/api_cbor.h"
#include "api/api_int.h"

enum { FUZZ_MAX_RECORD_BYTES = 1 << 20 };

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_api_request: %s\n%s\n", what, detail ? detail : "");
    abort();
}

/* One DynamoDB attribute value: an object with exactly one type key. */
static bool attr_valid(const char *name, json_t *v, int depth, sp_err *e)
{
    if (!json_is_object(v) || json_object_size(v) != 1) {
        sp_err_invalid(e, "attribute '%s' must have exactly one type", name);
        return false;
    }
    const char *type = json_object_iter_key(json_object_iter(v));
    json_t *val = json_object_iter_value(json_object_iter(v));
    if (!strcmp(type, "S") || !strcmp(type, "N") || !strcmp(type, "B")) {
        if (!json_is_string(val)) goto bad;
        if (!strcmp(type, "B")) {
            size_t n = json_string_length(val);
            unsigned char *buf = malloc(sp_base64_decoded_max(n));
            long got = buf ? sp_base64_decode(json_string_value(val), n, buf) : -1;
            free(buf);
            if (got < 0) goto bad;
        }
        return true;
    }
    if (!strcmp(type, "BOOL")) return json_is_boolean(val) ? true : (sp_err_invalid(e, "bool"), false);
    if (!strcmp(type, "NULL")) return json_is_true(val) ? true : (sp_err_invalid(e, "null"), false);
    if (depth > 32) {
        sp_err_invalid(e, "nested too deeply");
        return false;
    }
    if (!strcmp(type, "M") && json_is_object(val)) {
        const char *k;
        json_t *m;
        json_object_foreach(val, k, m) if (!attr_valid(k, m, depth + 1, e)) return false;
        return true;
    }
    if (!strcmp(type, "L") && json_is_array(val)) {
        size_t i;
        json_t *m;
        json_array_foreach(val, i, m) if (!attr_valid(name, m, depth + 1, e)) return false;
        return true;
    }
bad:
    sp_err_invalid(e, "attribute '%s' has an invalid %s value", name, type);
    return false;
}

static json_t *op_put_item(void *ctx, json_t *req, sp_err *e)
{
    (void)ctx;
    const char *table = sp_json_str(req, "TableName", true, e);
    json_t *item = sp_json_object(req, "Item", true, e);
    const char *rv = sp_json_str(req, "ReturnValues", false, e);
    sp_json_bool(req, "ReturnConsumedCapacity", false, e);
    if (sp_err_failed(e)) return NULL;
    if (rv && strcmp(rv, "NONE") && strcmp(rv, "ALL_OLD")) {
        sp_err_invalid(e, "ReturnValues '%s' is not valid", rv);
        return NULL;
    }
    const char *k;
    json_t *v;
    json_object_foreach(item, k, v) if (!attr_valid(k, v, 0, e)) return NULL;
    return json_pack("{s:s, s:I}", "TableName", table, "Attributes",
                     (json_int_t)json_object_size(item));
}

static json_t *op_query(void *ctx, json_t *req, sp_err *e)
{
    (void)ctx;
    sp_json_str(req, "TableName", true, e);
    long long limit = sp_json_int(req, "Limit", false, 100, e);
    json_t *names = sp_json_object(req, "ExpressionAttributeNames", false, e);
    json_t *attrs = sp_json_array(req, "AttributesToGet", false, e);
    if (sp_err_failed(e)) return NULL;
    if (limit < 1) {
        sp_err_invalid(e, "Limit must be at least 1");
        return NULL;
    }
    return json_pack("{s:I, s:I}", "Count", (json_int_t)json_object_size(names), "Scanned",
                     (json_int_t)json_array_size(attrs));
}

static json_t *op_put_records(void *ctx, json_t *req, sp_err *e)
{
    (void)ctx;
    sp_json_str(req, "StreamName", true, e);
    json_t *records = sp_json_array(req, "Records", true, e);
    if (sp_err_failed(e)) return NULL;
    json_t *out = json_array();
    size_t i;
    json_t *r;
    json_array_foreach(records, i, r) {
        const char *data = sp_json_str(r, "Data", true, e);
        const char *pk = sp_json_str(r, "PartitionKey", true, e);
        if (sp_err_failed(e)) break;
        if (!json_is_object(r)) {
            sp_err_invalid(e, "Records[%zu] must be an object", i);
            break;
        }
        size_t n = strlen(data);
        if (n > FUZZ_MAX_RECORD_BYTES) {
            sp_err_invalid(e, "Records[%zu].Data too long", i);
            break;
        }
        unsigned char *buf = malloc(sp_base64_decoded_max(n));
        long got = sp_base64_decode(data, n, buf);
        if (got >= 0) sp_crc32c(0, buf, (size_t)got);
        free(buf);
        if (got < 0) {
            sp_err_set(e, 400, "SerializationException", "Records[%zu].Data is not base64", i);
            break;
        }
        json_array_append_new(out, json_pack("{s:s, s:I}", "ShardId", pk, "Bytes", (json_int_t)got));
    }
    if (sp_err_failed(e)) {
        json_decref(out);
        return NULL;
    }
    return json_pack("{s:o}", "Records", out);
}

static const sp_op dynamo_ops[] = {{"PutItem", op_put_item}, {"Query", op_query}, {NULL, NULL}};
static const sp_op kinesis_ops[] = {{"PutRecords", op_put_records}, {NULL, NULL}};
static const api_service dynamo = {
    .name = "dynamodb", .target_prefix = "DynamoDB_20120810",
    .error_namespace = "com.amazonaws.dynamodb.v20120810#",
    .content_type = "application/x-amz-json-1.0", .ops = dynamo_ops};
static const api_service kinesis = {
    .name = "kinesis", .target_prefix = "Kinesis_20131202", .error_namespace = "",
    .content_type = "application/x-amz-json-1.1", .ops = kinesis_ops};
static const api_service *const services[] = {&dynamo, &kinesis};

enum { FUZZ_MAX_HEADERS = 32 };

static const char *const fuzz_hostnames[] = {"salespipe.lan", "[fe80::1]"};
static const char *const fuzz_origins[] = {"http://app.example:3000"};
static const api_guard_policy fuzz_policy = {fuzz_hostnames, 2, fuzz_origins, 1};

static size_t header_count(const api_header *h, size_t n, const char *name, const char **value)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcasecmp(h[i].name, name)) {
            if (!k) *value = h[i].value;
            k++;
        }
    return k;
}

/* The media type of a Content-Type value, lower-cased, into out. */
static void media_type(const char *v, char *out, size_t cap)
{
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strcspn(v, ";");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    if (n >= cap) n = cap - 1;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)v[i]);
    out[n] = '\0';
}

/* The Kinesis front end's answer: nothing (the request goes on) only for a POST naming a
 * Kinesis operation in JSON 1.1 or CBOR with a signature; otherwise a 4xx whose body is
 * Kinesis's XML (no Content-Type), JSON with __type, the Output envelope, or CBOR. */
static void fuzz_kinesis_front(const char *method, const char *query, const api_header *h,
                               size_t n, const char *target, const char *ct, const char *auth,
                               const uint8_t *body, size_t body_len)
{
    api_front_kinesis_req kr = {.method = method, .content_type = ct, .target = target,
                                .authorization = auth, .query = query, .headers = h,
                                .n_headers = n, .svc = &kinesis, .headers_only = body == NULL,
                                .body = (const char *)body, .body_len = body_len};
    api_front_reply rep;
    if (!api_front_kinesis_reply(&kr, &rep)) fuzz_fail("kinesis front: out of memory", method);
    char mt[64] = "";
    if (ct) media_type(ct, mt, sizeof mt);
    if (rep.status == 0) {
        if (rep.body || strcmp(method, "POST") || !target ||
            strncmp(target, "Kinesis_20131202.PutRecords", 28) ||
            (strcmp(mt, "application/x-amz-json-1.1") && strcmp(mt, "application/x-amz-cbor-1.1")) ||
            (!auth && !strstr(query, "X-Amz-Algorithm")))
            fuzz_fail("kinesis front let a request through", target ? target : "(no target)");
        if (body && !body_len) fuzz_fail("kinesis front let an empty body through", method);
        return;
    }
    if (rep.status < 400 || rep.status > 499 || !rep.body)
        fuzz_fail("kinesis front: not a 4xx with a body", method);
    if (!rep.content_type) {
        if (rep.body[0] != '<' || rep.body[rep.len - 1] != '\n') fuzz_fail("kinesis front: XML", rep.body);
    } else if (!strcmp(rep.content_type, "application/x-amz-cbor-1.1")) {
        sp_err e = {0};
        json_t *j = api_cbor_to_json(rep.body, rep.len, &e);
        if (!json_is_string(json_object_get(j, "__type"))) fuzz_fail("kinesis front: CBOR", method);
        json_decref(j);
    } else {
        json_t *j = json_loadb(rep.body, rep.len, 0, NULL);
        if (!json_is_string(json_object_get(j, "__type")) &&
            !json_is_object(json_object_get(j, "Output")))
            fuzz_fail("kinesis front: JSON", rep.body);
        json_decref(j);
    }
    free(rep.body);
}

static void fuzz_guard(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in) return;
    memcpy(in, data, size);
    in[size] = '\0';
    char *save = NULL;
    char *line = strtok_r(in, "\n", &save);
    char *sp = line ? strchr(line, ' ') : NULL;
    if (!sp) {
        free(in);
        return;
    }
    *sp = '\0';
    const char *method = line, *target = sp + 1;
    api_header h[FUZZ_MAX_HEADERS];
    size_t n = 0;
    for (line = strtok_r(NULL, "\n", &save); line && n < FUZZ_MAX_HEADERS;
         line = strtok_r(NULL, "\n", &save)) {
        char *colon = strchr(line, ':');
        if (!colon) break;
        *colon = '\0';
        const char *v = colon + 1;
        while (*v == ' ') v++;
        h[n++] = (api_header){line, v};
    }
    const char *xt = NULL, *host = NULL, *origin = NULL, *ct = NULL;
    header_count(h, n, "X-Amz-Target", &xt);
    size_t hosts = header_count(h, n, "Host", &host);
    size_t origins = header_count(h, n, "Origin", &origin);
    header_count(h, n, "Content-Type", &ct);
    const char *q = strchr(target, '?');
    char *path = strndup(target, q ? (size_t)(q - target) : strlen(target));
    api_action act;
    api_action_of(services, 2, method, path, q ? q + 1 : "", xt, &act);
    if (act.proto == API_PROTO_JSON && act.svc && strncmp(act.name, "dynamodb:", 9) &&
        strncmp(act.name, "kinesis:", 8))
        fuzz_fail("JSON action named after no service", act.name);

    api_guard_request gr = {.method = method, .headers = h, .n_headers = n, .proto = act.proto,
                            .svc = act.svc, .builtin = false};
    const char *allow = NULL;
    sp_err e = {0};
    api_guard_verdict v = api_guard_check(&fuzz_policy, &gr, &allow, &e);
    if (v == API_GUARD_REFUSE) {
        const char *want = act.proto == API_PROTO_S3 ? "AccessDenied" : "AccessDeniedException";
        if (e.status != 403 || strcmp(e.code, want) || !e.msg[0]) fuzz_fail("bad refusal", e.msg);
        if (allow) fuzz_fail("refused yet an origin is granted", e.msg);
        size_t len;
        char *body = api_error_body("", &e, &len);
        json_t *j = body ? json_loadb(body, len, 0, NULL) : NULL;
        if (!json_is_string(json_object_get(j, "message"))) fuzz_fail("refusal body", body);
        json_decref(j);
        free(body);
    } else {
        if (hosts != 1 || !api_guard_host_allowed(&fuzz_policy, host))
            fuzz_fail("passed without one accepted Host", host ? host : "(none)");
        /* the request's own origin ("http://" + its Host) is same-origin: allowed */
        bool same = origin && host && (!strncasecmp(origin, "http://", 7) ||
                                       !strncasecmp(origin, "https://", 8));
        if (origins && ((!api_guard_origin_allowed(&fuzz_policy, origin) && !same) ||
                        allow != origin))
            fuzz_fail("passed with an Origin not allowed", origin);
        if (!origins && (allow || v == API_GUARD_PREFLIGHT)) fuzz_fail("CORS without Origin", method);
        char mt[64] = "";
        if (ct) media_type(ct, mt, sizeof mt);
        if (v == API_GUARD_PASS && act.proto == API_PROTO_JSON &&
            (!ct || (act.svc ? strcmp(mt, act.svc->content_type)
                             : strcmp(mt, "application/x-amz-json-1.0") &&
                               strcmp(mt, "application/x-amz-json-1.1"))))
            fuzz_fail("JSON request passed with a foreign content type", ct ? ct : "(none)");
        if (v == API_GUARD_PASS && act.proto == API_PROTO_REST_JSON && ct &&
            strcmp(mt, "application/json"))
            fuzz_fail("Pipes request passed with a foreign content type", ct);
    }
    /* Every loopback spelling is accepted whatever the policy. */
    if (host && hosts == 1 && api_guard_host_allowed(NULL, host) &&
        !api_guard_host_allowed(&fuzz_policy, host))
        fuzz_fail("a policy took a loopback name away", host);
    /* The front door (front.c): which service answers a request no API claims, and the form
     * checks of a sent signature; both read only headers and the query. */
    api_front_service fs = api_front_service_of(method, "/", q ? q + 1 : "", h, n, false);
    if (fs != API_FRONT_NONE && fs != API_FRONT_DYNAMODB && fs != API_FRONT_KINESIS)
        fuzz_fail("front door named no service", method);
    const char *auth = NULL;
    header_count(h, n, "Authorization", &auth);
    for (int ddb = 0; ddb < 2; ddb++) {
        sp_err fe = {0};
        if (!api_front_auth_form(auth, q ? q + 1 : "", h, n, ddb, &fe) &&
            (fe.status < 400 || fe.status > 499 || !fe.code[0]))
            fuzz_fail("signature form refusal without a 4xx code", fe.msg);
    }
    char rid[API_RID_MAX + 1];
    api_front_request_id(fs, (uint64_t)n * 2654435761u, rid);
    if (strlen(rid) > API_RID_MAX) fuzz_fail("request id too long", rid);
    /* Kinesis's own port (server.service_ports): its front end, from the headers alone and
     * with the whole input as the body. */
    for (int with_body = 0; with_body < 2; with_body++)
        fuzz_kinesis_front(method, q ? q + 1 : "", h, n, xt, ct, auth, with_body ? data : NULL,
                           with_body ? size : 0);
    free(path);
    free(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_guard(data, size);
    const uint8_t *nl = memchr(data, '\n', size);
    size_t tlen = nl ? (size_t)(nl - data) : size;
    char *target = malloc(tlen + 1);
    memcpy(target, data, tlen);
    target[tlen] = '\0';
    const char *body = nl ? (const char *)nl + 1 : "";
    size_t body_len = nl ? size - tlen - 1 : 0;

    int status = 0;
    size_t out_len = 0;
    const char *content_type = NULL;
    char *out = api_dispatch_json(services, 2, target, body, body_len, &status, &out_len,
                                  &content_type);
    if (!out || !content_type) fuzz_fail("no answer", target);
    json_error_t je;
    json_t *j = json_loadb(out, out_len, 0, &je);
    if (!json_is_object(j)) fuzz_fail("answer is not a JSON object", out);
    if (status != 200) {
        if (status < 400 || status > 599) fuzz_fail("bad status", out);
        if (!json_is_string(json_object_get(j, "__type")) ||
            !json_is_string(json_object_get(j, "message")))
            fuzz_fail("error without __type and message", out);
    }
    json_decref(j);
    free(out);
    free(target);
    return 0;
}
