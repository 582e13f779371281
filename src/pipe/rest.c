/* The Amazon EventBridge Pipes REST API (rest-json, 2015-10-07) as the aws cli and boto3
 * call it:
 *
 *   POST /v1/pipes/{Name}        CreatePipe        GET    /v1/pipes          ListPipes
 *   GET  /v1/pipes/{Name}        DescribePipe      POST   /v1/pipes/{Name}/start  StartPipe
 *   PUT  /v1/pipes/{Name}        UpdatePipe        POST   /v1/pipes/{Name}/stop   StopPipe
 *   DELETE /v1/pipes/{Name}      DeletePipe        GET    /tags/{arn}        ListTagsForResource
 *   POST /tags/{arn}             TagResource       DELETE /tags/{arn}?tagKeys=k  UntagResource
 *
 * Errors leave as rest-json clients expect them: the status of the exception, its name in
 * the x-amzn-ErrorType header and {"message": ...} as the body.
 */
#include "pipe_int.h"

#include <stdlib.h>
#include <string.h>

#define PIP_API_PREFIX "/v1/pipes"
#define PIP_TAGS_PREFIX "/tags/"

enum { PIP_QUERY_VALUE_MAX = PIP_ARN_MAX + 1 };

static void send_error(sp_http_resp *resp, const sp_err *e, const char *name)
{
    json_t *body = json_pack("{s:s}", "message", e->msg);
    if (!strcmp(e->code, "ConflictException") && name) {
        json_object_set_new(body, "resourceId", json_string(name));
        json_object_set_new(body, "resourceType", json_string("pipe"));
    }
    const char *code = e->code[0] ? e->code : "InternalException";
    if (!strcmp(code, "InternalFailure")) code = "InternalException";
    sp_http_resp_json(resp, e->status ? e->status : 500, body);
    sp_http_resp_header(resp, "x-amzn-ErrorType", code);
    json_decref(body);
}

static void send_result(sp_http_resp *resp, json_t *result, const sp_err *e, const char *name)
{
    if (result) sp_http_resp_json(resp, 200, result);
    else send_error(resp, e, name);
    json_decref(result);
}

static json_t *parse_body(const sp_http_req *req, sp_err *e)
{
    if (req->body_len == 0) return json_object();
    json_t *j = sp_json_parse(req->body, req->body_len, e);
    if (j && !json_is_object(j)) {
        json_decref(j);
        sp_err_invalid(e, "request body must be a JSON object");
        return NULL;
    }
    if (!j) {
        /* rest-json services report malformed bodies as validation failures */
        char msg[SP_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%s", e->msg);
        sp_err_invalid(e, "%s", msg);
    }
    return j;
}

/* Reads one query parameter; NULL if absent. Sets e when present but too long. */
static const char *query_value(const sp_http_req *req, const char *name, char *buf, size_t size)
{
    return sp_http_query_param(req->query, name, buf, size) ? buf : NULL;
}

static json_t *list_pipes(pip_engine *en, const sp_http_req *req, sp_err *e)
{
    char name[PIP_QUERY_VALUE_MAX], source[PIP_QUERY_VALUE_MAX], target[PIP_QUERY_VALUE_MAX];
    char desired[32], current[32], token[PIP_QUERY_VALUE_MAX], limit[16];
    pip_list_query q = {
        .name_prefix = query_value(req, "NamePrefix", name, sizeof name),
        .source_prefix = query_value(req, "SourcePrefix", source, sizeof source),
        .target_prefix = query_value(req, "TargetPrefix", target, sizeof target),
        .desired_state = query_value(req, "DesiredState", desired, sizeof desired),
        .current_state = query_value(req, "CurrentState", current, sizeof current),
        .next_token = query_value(req, "NextToken", token, sizeof token),
        .limit = PIP_LIST_LIMIT_MAX,
    };
    if (query_value(req, "Limit", limit, sizeof limit)) {
        char *end;
        q.limit = strtol(limit, &end, 10);
        if (*end || q.limit < 1 || q.limit > PIP_LIST_LIMIT_MAX) {
            sp_err_invalid(e, "Limit must be between 1 and %d", PIP_LIST_LIMIT_MAX);
            return NULL;
        }
    }
    if (q.desired_state && strcmp(q.desired_state, "RUNNING") && strcmp(q.desired_state, "STOPPED")) {
        sp_err_invalid(e, "DesiredState must be RUNNING or STOPPED");
        return NULL;
    }
    return pip_engine_list(en, &q, e);
}

/* The pipe name of "arn:aws:pipes:<region>:<account>:pipe/<name>" (borrowed), or NULL with
 * 404 NotFoundException (as Pipes answers an ARN it does not hold). */
static const char *arn_pipe(const char *arn, sp_err *e)
{
    const char *slash = strstr(arn, ":pipe/");
    if (strlen(arn) > PIP_ARN_MAX || !slash || strncmp(arn, "arn:aws:pipes:", 14) ||
        !pip_name_valid(slash + 6)) {
        sp_err_set(e, 404, "NotFoundException", "Resource %.200s does not exist.", arn);
        return NULL;
    }
    return slash + 6;
}

/* POST /tags/<pipe arn> {"tags": {...}} */
static json_t *tag(pip_engine *en, const sp_http_req *req, const char *arn, sp_err *e)
{
    const char *name = arn_pipe(arn, e);
    json_t *body = name ? parse_body(req, e) : NULL;
    if (!body) return NULL;
    json_t *tags = json_object_get(body, "tags");
    json_t *out = tags ? pip_engine_tag(en, name, tags, e) : NULL;
    if (!tags) sp_err_invalid(e, "tags is required");
    json_decref(body);
    return out;
}

/* DELETE /tags/<pipe arn>?tagKeys=a&tagKeys=b */
static json_t *untag(pip_engine *en, const sp_http_req *req, const char *arn, sp_err *e)
{
    const char *name = arn_pipe(arn, e);
    if (!name) return NULL;
    json_t *keys = json_array();
    char seg[PIP_QUERY_VALUE_MAX], value[PIP_QUERY_VALUE_MAX];
    for (const char *p = req->query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= sizeof seg) {
            sp_err_invalid(e, "a query parameter is longer than %zu characters", sizeof seg - 1);
            json_decref(keys);
            return NULL;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        if (sp_http_query_param(seg, "tagKeys", value, sizeof value))
            json_array_append_new(keys, json_string(value));
        else if (!strncmp(seg, "tagKeys=", 8)) {
            sp_err_invalid(e, "tagKeys has a value that is not valid percent-encoded text");
            json_decref(keys);
            return NULL;
        }
        p = amp ? amp + 1 : NULL;
    }
    json_t *out = pip_engine_untag(en, name, keys, e);
    json_decref(keys);
    return out;
}

/* GET /tags/<pipe arn>: the pipe's tags. */
static json_t *list_tags(pip_engine *en, const char *arn, sp_err *e)
{
    const char *name = arn_pipe(arn, e);
    if (!name) return NULL;
    json_t *d = pip_engine_describe(en, name, e);
    if (!d) return NULL;
    json_t *tags = json_object_get(d, "Tags");
    json_t *resp = json_pack("{s:o}", "tags", tags ? json_incref(tags) : json_object());
    json_decref(d);
    return resp;
}

bool pip_rest_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp)
{
    pip_engine *en = ctx;
    const char *path = req->path;
    sp_err e = {0};
    /* POST/DELETE /tags/... are the Pipes' only when they name an ARN: an S3 bucket called
     * "tags" keeps its other keys */
    if (!strncmp(path, PIP_TAGS_PREFIX, strlen(PIP_TAGS_PREFIX)) &&
        (!strcmp(req->method, "GET") || !strncmp(path + strlen(PIP_TAGS_PREFIX), "arn:", 4))) {
        const char *arn = path + strlen(PIP_TAGS_PREFIX);
        json_t *r = NULL;
        if (!strcmp(req->method, "GET")) r = list_tags(en, arn, &e);
        else if (!strcmp(req->method, "POST")) r = tag(en, req, arn, &e);
        else if (!strcmp(req->method, "DELETE")) r = untag(en, req, arn, &e);
        else sp_err_invalid(&e, "%s %s is not an operation", req->method, path);
        send_result(resp, r, &e, NULL);
        return true;
    }
    if (strncmp(path, PIP_API_PREFIX, strlen(PIP_API_PREFIX))) return false;
    const char *rest = path + strlen(PIP_API_PREFIX);
    if (*rest && *rest != '/') return false;
    if (!*rest || !strcmp(rest, "/")) {
        if (strcmp(req->method, "GET")) sp_err_invalid(&e, "%s %s is not an operation", req->method, path);
        send_result(resp, sp_err_failed(&e) ? NULL : list_pipes(en, req, &e), &e, NULL);
        return true;
    }
    /* /v1/pipes/{Name}[/start|/stop] */
    char name[PIP_NAME_MAX * 4 + 1];
    const char *action = strchr(rest + 1, '/');
    size_t n = action ? (size_t)(action - (rest + 1)) : strlen(rest + 1);
    if (n >= sizeof name) n = sizeof name - 1;
    memcpy(name, rest + 1, n);
    name[n] = '\0';
    if (!pip_name_valid(name)) {
        sp_err_invalid(&e, "Name '%.80s' must be 1-%d characters of A-Z a-z 0-9 . - _", name,
                       PIP_NAME_MAX);
        send_error(resp, &e, NULL);
        return true;
    }
    const char *m = req->method;
    json_t *result = NULL;
    if (action) {
        bool start = !strcmp(action, "/start"), stop = !strcmp(action, "/stop");
        if ((start || stop) && !strcmp(m, "POST")) result = pip_engine_set_desired(en, name, start, &e);
        else sp_err_invalid(&e, "%s %s is not an operation", m, path);
    } else if (!strcmp(m, "GET")) {
        result = pip_engine_describe(en, name, &e);
    } else if (!strcmp(m, "DELETE")) {
        result = pip_engine_delete(en, name, &e);
    } else if (!strcmp(m, "POST") || !strcmp(m, "PUT")) {
        json_t *body = parse_body(req, &e);
        if (body) {
            result = !strcmp(m, "POST") ? pip_engine_create(en, name, body, &e)
                                        : pip_engine_update(en, name, body, &e);
            json_decref(body);
        }
    } else {
        sp_err_invalid(&e, "%s %s is not an operation", m, path);
    }
    send_result(resp, result, &e, name);
    return true;
}
