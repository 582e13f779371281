/* JSON dispatch: X-Amz-Target "<prefix>.<Operation>" -> the service's op table -> response or
 * AWS-shaped error. Kept free of HTTP so it can be fuzzed and tested directly. */
#include "api.h"
#include "api_cbor.h"
#include "api_model.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *error_body_typed(const char *type, const char *message_key, const sp_err *e,
                              size_t *out_len)
{
    json_t *j = e->extra[0] ? json_loads(e->extra, 0, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    json_object_set_new(j, "__type", json_string(type));
    /* An error with no message goes out bare, as AWS sends some ({"__type":"InternalFailure"}). */
    if (e->msg[0]) json_object_set_new(j, message_key, json_string(e->msg));
    char *body = sp_json_dump(j, out_len);
    json_decref(j);
    return body;
}

char *api_error_body(const char *error_namespace, const sp_err *e, size_t *out_len)
{
    char type[SP_ERR_CODE_MAX + 64];
    snprintf(type, sizeof type, "%s%s", error_namespace ? error_namespace : "", e->code);
    return error_body_typed(type, "message", e, out_len);
}

char *api_service_error_body(const api_service *svc, const sp_err *e, size_t *out_len)
{
    const char *type, *key;
    if (svc->model && api_model_error_type(svc->model, e->code, &type, &key))
        return error_body_typed(type, key, e, out_len);
    return api_error_body(svc->error_namespace, e, out_len);
}

static const api_service *service_for(const api_service *const *services, size_t n,
                                      const char *target, size_t prefix_len)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = services[i]->target_prefix;
        if (strlen(p) == prefix_len && !strncmp(p, target, prefix_len)) return services[i];
    }
    return NULL;
}

char *api_dispatch_json(const api_service *const *services, size_t n_services, const char *target,
                        const char *body, size_t body_len, int *status, size_t *out_len,
                        const char **content_type)
{
    sp_err e = {0};
    const char *dot = target ? strrchr(target, '.') : NULL;
    const api_service *svc = dot ? service_for(services, n_services, target,
                                               (size_t)(dot - target)) : NULL;
    *content_type = svc ? svc->content_type : "application/x-amz-json-1.1";
    if (!svc) {
        sp_err_set(&e, 400, "UnknownOperationException", "Unknown target '%s'",
                   target ? target : "(no X-Amz-Target header)");
        *status = e.status;
        return api_error_body("", &e, out_len);
    }
    const char *op_name = dot + 1;
    const sp_op *op = sp_op_find(svc->ops, op_name, strlen(op_name));
    if (!op) {
        sp_err_set(&e, 400, "UnknownOperationException", "%s does not support the operation '%s'",
                   svc->target_prefix, op_name);
        *status = e.status;
        return api_error_body(svc->error_namespace, &e, out_len);
    }
    /* An operation's fast path answers its common shape without a JSON tree; everything
     * else (and every error of validation) comes from the ordinary path below. */
    const sp_raw_op *raw = body_len ? sp_raw_op_find(svc->raw_ops, op_name, strlen(op_name))
                                    : NULL;
    if (raw) {
        char *out = raw->fn(svc->ctx, body, body_len, out_len, &e);
        if (out) {
            *status = 200;
            return out;
        }
        if (sp_err_failed(&e)) {
            *status = e.status;
            return api_service_error_body(svc, &e, out_len);
        }
    }
    json_t *req = sp_json_parse(body_len ? body : "{}", body_len ? body_len : 2, &e);
    if (req && !json_is_object(req)) {
        json_decref(req);
        req = NULL;
        sp_err_set(&e, 400, "SerializationException", "Request body must be a JSON object");
    }
    /* The front end's stages come first: JSON types, then every model constraint. */
    if (req && svc->model) {
        char *invalid = api_model_check(svc->model, op_name, req, out_len);
        if (invalid) {
            json_decref(req);
            *status = 400;
            return invalid;
        }
    }
    json_t *resp = req ? op->fn(svc->ctx, req, &e) : NULL;
    json_decref(req);
    if (!resp) {
        if (!sp_err_failed(&e)) sp_err_internal(&e, "%s failed without a reason", op_name);
        *status = e.status;
        return api_service_error_body(svc, &e, out_len);
    }
    *status = 200;
    /* Kinesis answers its operations without output (CreateStream, AddTagsToStream, ...)
     * with an empty body, not "{}". */
    if (svc->model && svc->model->dialect == API_MODEL_DIALECT_KINESIS &&
        json_is_object(resp) && !json_object_size(resp)) {
        json_decref(resp);
        *out_len = 0;
        return strdup("");
    }
    char *out = sp_json_dump(resp, out_len);
    json_decref(resp);
    return out;
}

static bool is_cbor(const char *ctype)
{
    if (!ctype) return false;
    while (*ctype == ' ') ctype++;
    size_t n = strlen(API_CBOR_CONTENT_TYPE);
    return !strncasecmp(ctype, API_CBOR_CONTENT_TYPE, n) &&
           (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

/* Re-encodes a JSON answer (out, consumed) as CBOR; an empty answer stays empty. */
static char *json_to_cbor(char *out, int *status, size_t *out_len, const char **content_type)
{
    *content_type = API_CBOR_CONTENT_TYPE;
    if (!*out_len) return out; /* an empty answer stays empty */
    json_t *resp = json_loadb(out, *out_len, 0, NULL);
    free(out);
    unsigned char *cbor = resp ? api_cbor_from_json(resp, out_len) : NULL;
    json_decref(resp);
    if (!cbor) {
        *status = 500;
        *out_len = 0;
        return strdup("");
    }
    return (char *)cbor;
}

char *api_dispatch(const api_service *const *services, size_t n_services, const char *target,
                   const char *request_content_type, const char *body, size_t body_len,
                   int *status, size_t *out_len, const char **content_type)
{
    if (!is_cbor(request_content_type))
        return api_dispatch_json(services, n_services, target, body, body_len, status, out_len,
                                 content_type);
    /* CBOR in, CBOR out: the JSON dispatch in between sees the same request as from JSON. */
    sp_err e = {0};
    char *json_body = NULL;
    size_t json_len = 0;
    if (body_len) {
        json_t *req = api_cbor_to_json(body, body_len, &e);
        if (req) {
            json_body = sp_json_dump(req, &json_len);
            json_decref(req);
        }
    }
    char *out;
    if (sp_err_failed(&e)) {
        const char *dot = target ? strrchr(target, '.') : NULL;
        const api_service *svc = dot ? service_for(services, n_services, target,
                                                   (size_t)(dot - target)) : NULL;
        if (!svc || !sp_op_find(svc->ops, dot + 1, strlen(dot + 1)))
            sp_err_set(&e, 400, "UnknownOperationException", "Unknown operation '%s'",
                       target ? target : "(no X-Amz-Target header)");
        *status = e.status;
        out = svc ? api_service_error_body(svc, &e, out_len) : api_error_body("", &e, out_len);
    } else {
        out = api_dispatch_json(services, n_services, target, json_body, json_len, status,
                                out_len, content_type);
    }
    free(json_body);
    return json_to_cbor(out, status, out_len, content_type);
}

char *api_dispatch_error(const api_service *const *services, size_t n_services,
                         const char *target, const char *request_content_type, const sp_err *e,
                         int *status, size_t *out_len, const char **content_type)
{
    const char *dot = target ? strrchr(target, '.') : NULL;
    const api_service *svc = dot ? service_for(services, n_services, target,
                                               (size_t)(dot - target)) : NULL;
    *content_type = svc ? svc->content_type : "application/x-amz-json-1.1";
    *status = e->status;
    char *out = svc ? api_service_error_body(svc, e, out_len) : api_error_body("", e, out_len);
    return is_cbor(request_content_type) ? json_to_cbor(out, status, out_len, content_type) : out;
}
