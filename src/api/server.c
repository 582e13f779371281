/* The HTTP server over libmicrohttpd: a pool of polling threads (one per core), keep-alive
 * connections, request bodies gathered up to the configured limit (413 beyond it, decided
 * from Content-Length before the body is read), then handed to the JSON dispatcher or to a
 * REST route. GET /_salespipe/health and /_salespipe/metrics are answered here.
 *
 * Everything the headers can decide is decided in the first access-handler call, before a
 * byte of the body is read: the browser guard (Host, Origin, Content-Type; guard.c), the
 * header part of SigV4 (sigv4.c) and the size limit. A refusal queued then is sent without
 * "100 Continue" and the upload is discarded. Error responses never carry the data dir:
 * a path under it is replaced (sp_http_redact) and the original logged.
 *
 * A JSON API request runs inside an sp_ack scope (core/ack.h): a write whose change becomes
 * durable later (the table's group commit under fsync) leaves its answer built but unsent,
 * the connection is suspended, and whoever settles the change resumes it; the worker thread
 * serves other connections meanwhile. */
#include "api_int.h"
#include "api_cbor.h"
#include "api_daemon.h"
#include "core/ack.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

enum { API_MAX_SERVICES = 16, API_MAX_ROUTES = 8, API_MAX_LISTENERS = 4, API_CORS_MAX_AGE_S = 600,
       API_SHUTDOWN_POLL_US = 1000 /* while deferred answers are still out */ };

/* What a CORS preflight allows and a cross-origin response lets the page read: the methods
 * and response headers of the AWS APIs served here (as LocalStack's CORS handler does). */
#define API_CORS_METHODS "GET, HEAD, PUT, POST, DELETE"
#define API_CORS_EXPOSE_HEADERS "x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, " \
                                "x-amz-id-2, ETag, Content-Length, Last-Modified, x-amz-crc32"

/* One listening socket: the main port (every service) or a service's own (server.service_ports). */
typedef struct api_listener {
    struct api_server *s;
    api_front_service front;  /* API_FRONT_NONE on the main port */
    const char *service;      /* the api_service name served here; NULL: all */
    int port_wanted;
    int port;
    struct MHD_Daemon *daemon;
} api_listener;

struct api_server {
    api_options opt;
    api_listener listeners[API_MAX_LISTENERS];
    size_t n_listeners;
    api_guard_policy guard;
    const char **hostnames;   /* the configured ones plus the bind address; owned array */
    char *data_dir_real;      /* realpath of opt.data_dir, or NULL */
    const api_service *services[API_MAX_SERVICES];
    size_t n_services;
    const api_route *routes[API_MAX_ROUTES];
    size_t n_routes;
    api_health_fn health;
    void *health_ctx;
    api_metrics_fn metrics;
    void *metrics_ctx;
    int port;
    /* Requests that may defer their answer (inside an sp_ack scope, or suspended with the
     * answer), and whether the server is stopping, when no more may (both atomic). */
    int deferring;
    bool stopping;
};

/* Per-request state, from the request line (URI log callback) to completion. */
typedef struct api_conn_req {
    char *raw_uri;     /* the request target exactly as sent, for SigV4 */
    bool started;      /* the access handler has seen the headers */
    sp_str body;
    bool answered;     /* a response (refusal) is queued; the upload is discarded */
    api_action act;    /* what the request does, from its line and headers */
    const char *allow_origin; /* an allowed Origin to name in the response (MHD's storage) */
    const sp_cfg_credential *who; /* the key whose header checks passed, or NULL */
    api_sigv4_auth auth;          /* its parsed signature */
    char rid[API_RID_MAX + 1]; /* x-amzn-RequestId, also in the log lines about it */
    api_front_service front;   /* answered by the front door (front.c), after the body */
    bool dynamodb;             /* DynamoDB's shape: x-amz-crc32 of the body */
    bool kinesis;              /* Kinesis's shape: x-amz-id-2 besides the request id */
    bool cors_any;             /* front door: "Access-Control-Allow-Origin: *", as AWS */
    api_front_service port_svc; /* the service whose own port took the request, or NONE */
    bool port_checked;         /* on it, the headers passed the service's front end; the
                                  body's checks remain (api_front_kinesis_reply) */
    /* A JSON API answer held back until the change it reports is durable (core/ack.h): the
     * connection is suspended, not the thread, and resumed when the ack is settled. */
    struct MHD_Connection *conn;
    sp_ack ack;
    bool deferred;             /* suspended with the answer below */
    int d_status;
    const char *d_ctype;
    char *d_body;              /* owned until sent */
    size_t d_len;
} api_conn_req;

/* Kinesis's x-amz-id-2: base64 of 72 bytes. */
enum { API_ID2_BYTES = 72, API_AWS_CORS_MAX_AGE_S = 172800 /* DynamoDB/Kinesis: 2 days */ };

api_server *api_server_new(const api_options *opt)
{
    api_server *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->opt = *opt;
    if (!s->opt.bind) s->opt.bind = "127.0.0.1";
    if (!s->opt.max_body) s->opt.max_body = 16u << 20;
    s->opt.threads = (int)api_daemon_threads(s->opt.threads, false);
    /* A specific bind address is a name clients legitimately use as Host. */
    s->hostnames = calloc(s->opt.n_hostnames + 1, sizeof *s->hostnames);
    if (!s->hostnames) {
        free(s);
        return NULL;
    }
    size_t n = 0;
    for (size_t i = 0; i < s->opt.n_hostnames; i++) s->hostnames[n++] = s->opt.hostnames[i];
    if (strcmp(s->opt.bind, "0.0.0.0") != 0) s->hostnames[n++] = s->opt.bind;
    s->guard = (api_guard_policy){.hostnames = s->hostnames, .n_hostnames = n,
                                  .origins = s->opt.cors_origins,
                                  .n_origins = s->opt.n_cors_origins};
    if (s->opt.data_dir) s->data_dir_real = realpath(s->opt.data_dir, NULL);
    s->listeners[s->n_listeners++] = (api_listener){.s = s, .port_wanted = s->opt.port};
    for (size_t i = 0; i < s->opt.n_service_ports && s->n_listeners < API_MAX_LISTENERS; i++) {
        const api_service_port *sp = &s->opt.service_ports[i];
        api_front_service f = !strcmp(sp->service, "kinesis")    ? API_FRONT_KINESIS
                              : !strcmp(sp->service, "dynamodb") ? API_FRONT_DYNAMODB
                                                                 : API_FRONT_NONE;
        if (f != API_FRONT_NONE)
            s->listeners[s->n_listeners++] = (api_listener){
                .s = s, .front = f, .service = sp->service, .port_wanted = sp->port};
    }
    return s;
}

bool api_server_service_known(const char *service)
{
    return service && (!strcmp(service, "kinesis") || !strcmp(service, "dynamodb"));
}

int api_server_service_port(const api_server *s, const char *service)
{
    for (size_t i = 1; s && service && i < s->n_listeners; i++)
        if (!strcmp(s->listeners[i].service, service)) return s->listeners[i].port;
    return 0;
}

/* The registered service of that name (the operations a service port serves), or NULL. */
static const api_service *service_named(const api_server *s, const char *name)
{
    for (size_t i = 0; name && i < s->n_services; i++)
        if (!strcmp(s->services[i]->name, name)) return s->services[i];
    return NULL;
}

void api_server_add_service(api_server *s, const api_service *svc)
{
    if (s->n_services < API_MAX_SERVICES) s->services[s->n_services++] = svc;
}

void api_server_add_route(api_server *s, const api_route *route)
{
    if (s->n_routes < API_MAX_ROUTES) s->routes[s->n_routes++] = route;
}

void api_server_set_health(api_server *s, api_health_fn fn, void *ctx)
{
    s->health = fn;
    s->health_ctx = ctx;
}

void api_server_set_metrics(api_server *s, api_metrics_fn fn, void *ctx)
{
    s->metrics = fn;
    s->metrics_ctx = ctx;
}

/* Removes the data dir from an error body (see the file comment); logs what was removed. */
static void redact(const api_server *s, const api_conn_req *cr, int status, char **body,
                   size_t *len)
{
    if (status < 400 || !*body) return;
    const char *paths[2] = {s->data_dir_real, s->opt.data_dir};
    char *original = NULL;
    for (size_t i = 0; i < 2 && *body; i++) {
        if (!paths[i] || (i == 1 && s->data_dir_real && !strcmp(paths[0], paths[1]))) continue;
        char *before = original ? NULL : strndup(*body, *len);
        if (sp_http_redact(body, len, paths[i]) && !original) original = before;
        else free(before);
    }
    if (original) {
        sp_warn("request %s: a %d response named a file of the data dir; sent without it. "
                "Original: %.2000s", cr ? cr->rid : "-", status, original);
        free(original);
    }
}

/* Queues a response that takes ownership of body (malloc'd). cr (may be NULL) supplies the
 * request id and the CORS origin. */
static enum MHD_Result send_owned(api_server *s, struct MHD_Connection *c, api_conn_req *cr,
                                  int status, const char *ctype, char *body, size_t len,
                                  const sp_http_resp *extra)
{
    redact(s, cr, status, &body, &len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body ? body : (char *)"", body ? MHD_RESPMEM_MUST_FREE
                                                                           : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (ctype) MHD_add_response_header(r, "Content-Type", ctype);
    char rid[sizeof cr->rid];
    if (cr) memcpy(rid, cr->rid, sizeof rid);
    else snprintf(rid, sizeof rid, "%016llx", (unsigned long long)sp_clock_mono_ns());
    MHD_add_response_header(r, "x-amzn-RequestId", rid);
    if (cr && cr->dynamodb) {
        char crc[16];
        snprintf(crc, sizeof crc, "%lu",
                 crc32(0L, (const Bytef *)(body ? body : ""), (uInt)len));
        MHD_add_response_header(r, "x-amz-crc32", crc);
    }
    if (cr && cr->kinesis && !(cr->front && status == 200 && !len)) {
        static const char b64[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        char id2[API_ID2_BYTES / 3 * 4 + 1];
        uint64_t x = sp_clock_mono_ns() ^ 0x5DEECE66Dull;
        for (size_t i = 0; i < sizeof id2 - 1; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            id2[i] = b64[(x >> 33) % 64];
        }
        id2[sizeof id2 - 1] = '\0';
        MHD_add_response_header(r, "x-amz-id-2", id2);
    }
    if (cr && cr->cors_any) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
        MHD_add_response_header(r, "Access-Control-Expose-Headers",
                                "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,"
                                "x-amzn-ErrorMessage,Date");
    } else if (cr && cr->allow_origin) {
        MHD_add_response_header(r, "Access-Control-Allow-Origin", cr->allow_origin);
        MHD_add_response_header(r, "Access-Control-Expose-Headers", API_CORS_EXPOSE_HEADERS);
        MHD_add_response_header(r, "Vary", "Origin");
    }
    for (int i = 0; extra && i < extra->n_headers; i++)
        MHD_add_response_header(r, extra->header_names[i], extra->header_values[i]);
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(api_server *s, struct MHD_Connection *c, api_conn_req *cr,
                                  int status, const char *code, const char *msg)
{
    sp_err e;
    sp_err_set(&e, status, code, "%s", msg);
    size_t len;
    char *body = api_error_body("", &e, &len);
    return send_owned(s, c, cr, status, "application/x-amz-json-1.1", body, len, NULL);
}

static const char *req_header(const sp_http_req *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

typedef struct query_builder {
    sp_str *s;
} query_builder;

static enum MHD_Result query_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    /* MHD hands us decoded pairs; REST handlers expect a raw query string, so re-encode the
     * characters that matter for splitting. */
    sp_str *s = ((query_builder *)cls)->s;
    if (s->len) sp_str_putc(s, '&');
    for (const char *k = key; *k; k++) {
        if (*k == '&' || *k == '=' || *k == '%' || *k == '+' || *k == ' ') sp_str_appendf(s, "%%%02X", (unsigned char)*k);
        else sp_str_putc(s, *k);
    }
    if (value) {
        sp_str_putc(s, '=');
        for (const char *v = value; *v; v++) {
            if (*v == '&' || *v == '=' || *v == '%' || *v == '+' || *v == ' ') sp_str_appendf(s, "%%%02X", (unsigned char)*v);
            else sp_str_putc(s, *v);
        }
    }
    return MHD_YES;
}

static bool is_builtin_get(const char *method, const char *url)
{
    return !strcmp(method, "GET") &&
           (!strcmp(url, "/_salespipe/health") || !strcmp(url, "/_salespipe/metrics"));
}

static enum MHD_Result handle_builtin_get(api_server *s, struct MHD_Connection *c,
                                          api_conn_req *cr, const char *url, bool *handled)
{
    *handled = true;
    if (!strcmp(url, "/_salespipe/health")) {
        json_t *j = s->health ? s->health(s->health_ctx) : json_pack("{s:s}", "status", "ok");
        size_t len;
        char *body = sp_json_dump(j, &len);
        json_decref(j);
        return send_owned(s, c, cr, 200, "application/json", body, len, NULL);
    }
    if (!strcmp(url, "/_salespipe/metrics") && s->metrics) {
        sp_str out;
        sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
        s->metrics(s->metrics_ctx, &out);
        size_t len = 0;
        char *body = sp_str_finish(&out, &len);
        return send_owned(s, c, cr, 200, "text/plain; version=0.0.4", body, len, NULL);
    }
    *handled = false;
    return MHD_NO;
}

/* sp_ack ready callback of a deferred answer: any thread, once; MHD calls the access
 * handler again for the resumed connection, which sends the answer (deferred_answer). */
static void deferred_ready(sp_ack *a, void *arg)
{
    (void)a;
    api_conn_req *cr = arg;
    MHD_resume_connection(cr->conn);
}

/* Sends a write's answer once its ack is settled: the answer built by the operation, or,
 * when its change did not become durable (a failed COMMIT or sync, which may have settled
 * the ack before the operation even returned), the error its service gives for that
 * failure instead. Takes body. */
static enum MHD_Result settled_answer(api_server *s, struct MHD_Connection *c,
                                      api_conn_req *cr, int status, const char *ctype,
                                      char *body, size_t len)
{
    if (!cr->ack.failed) return send_owned(s, c, cr, status, ctype, body, len, NULL);
    free(body);
    body = api_dispatch_error(s->services, s->n_services,
                              MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target"),
                              MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
                              &cr->ack.err, &status, &len, &ctype);
    return send_owned(s, c, cr, status, ctype, body, len, NULL);
}

/* The resumed request: its held answer, as settled_answer decides. */
static enum MHD_Result deferred_answer(api_server *s, struct MHD_Connection *c,
                                       api_conn_req *cr)
{
    cr->deferred = false;
    __atomic_sub_fetch(&s->deferring, 1, __ATOMIC_SEQ_CST);
    char *body = cr->d_body;
    cr->d_body = NULL;
    return settled_answer(s, c, cr, cr->d_status, cr->d_ctype, body, cr->d_len);
}

static enum MHD_Result handle_request(api_server *s, struct MHD_Connection *c, const char *url,
                                      const char *method, api_conn_req *cr)
{
    if (!strcmp(method, "GET")) {
        bool handled;
        enum MHD_Result r = handle_builtin_get(s, c, cr, url, &handled);
        if (handled) return r;
    }
    const char *target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    if (target && !strcmp(method, "POST")) {
        int status;
        size_t len;
        const char *ctype;
        const char *req_ctype =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        /* A write may answer before its change is on disk if the answer waits for it, in
         * a suspended connection; not once the server stops (libmicrohttpd must not be
         * stopped with one suspended): then the thread waits. */
        __atomic_add_fetch(&s->deferring, 1, __ATOMIC_SEQ_CST);
        bool defer = !__atomic_load_n(&s->stopping, __ATOMIC_SEQ_CST);
        if (defer) sp_ack_scope_enter(&cr->ack, deferred_ready, cr);
        else __atomic_sub_fetch(&s->deferring, 1, __ATOMIC_SEQ_CST);
        char *body = api_dispatch(s->services, s->n_services, target, req_ctype, cr->body.buf,
                                  cr->body.len, &status, &len, &ctype);
        if (defer) sp_ack_scope_leave();
        if (defer && sp_ack_others_hold(&cr->ack)) {
            cr->conn = c;
            cr->deferred = true;
            cr->d_status = status;
            cr->d_ctype = ctype;
            cr->d_body = body;
            cr->d_len = len;
            MHD_suspend_connection(c);
            /* The opener's hold goes last, so the resume never precedes the suspend. */
            sp_ack_release(&cr->ack, NULL);
            return MHD_YES;
        }
        if (!defer) return send_owned(s, c, cr, status, ctype, body, len, NULL);
        /* Every hold is dropped already: the write failed before the operation returned
         * (its group's COMMIT), or it deferred nothing. */
        __atomic_sub_fetch(&s->deferring, 1, __ATOMIC_SEQ_CST);
        return settled_answer(s, c, cr, status, ctype, body, len);
    }

    /* REST routes get the raw path and a rebuilt query string. */
    sp_str query;
    sp_str_init(&query, NULL, 0, SP_STR_NO_MAX);
    query_builder qb = {&query};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, query_collect, &qb);
    char *path = strdup(url);
    sp_http_req req = {
        .method = method,
        .path = path,
        .raw_path = url,
        .query = query.buf ? query.buf : "",
        .body = cr->body.buf ? cr->body.buf : "",
        .body_len = cr->body.len,
        .header = req_header,
        .conn = c,
    };
    for (size_t i = 0; i < s->n_routes; i++) {
        sp_http_resp resp = {0};
        if (s->routes[i]->fn(s->routes[i]->ctx, &req, &resp)) {
            char *body = resp.body;
            resp.body = NULL;
            enum MHD_Result r = send_owned(s, c, cr, resp.status ? resp.status : 200,
                                           resp.content_type, body, resp.body_len, &resp);
            sp_http_resp_clear(&resp);
            free(path);
            sp_str_release(&query);
            return r;
        }
        sp_http_resp_clear(&resp);
    }
    free(path);
    sp_str_release(&query);
    if (!target)
        return send_error(s, c, cr, 400, "UnknownOperationException",
                          "No X-Amz-Target header and no REST API serves this path");
    return send_error(s, c, cr, 400, "UnknownOperationException", "JSON APIs take POST requests");
}

/* SigV4 needs the target as sent; MHD hands the handler a decoded path. The returned state
 * becomes the request's con_cls and is freed in on_completed. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    api_listener *l = cls;
    api_server *s = l->s;
    api_conn_req *cr = calloc(1, sizeof *cr);
    if (!cr) return NULL;
    cr->port_svc = l->front;
    cr->raw_uri = strdup(uri ? uri : "/");
    sp_str_init(&cr->body, NULL, 0, s->opt.max_body);
    api_front_request_id(API_FRONT_NONE, sp_clock_mono_ns() ^ (uintptr_t)cr, cr->rid);
    return cr;
}

typedef struct header_list {
    api_header *items;
    size_t n, cap;
} header_list;

static enum MHD_Result header_collect(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    header_list *h = cls;
    if (h->n < h->cap) h->items[h->n++] = (api_header){key, value ? value : ""};
    return MHD_YES;
}

/* The request's headers in arrival order (strings borrowed from MHD); caller frees items.
 * False when out of memory. */
static bool headers_of(struct MHD_Connection *c, header_list *h)
{
    int n = MHD_get_connection_values(c, MHD_HEADER_KIND, NULL, NULL);
    h->n = 0;
    h->cap = n > 0 ? (size_t)n : 0;
    h->items = calloc(h->cap ? h->cap : 1, sizeof(api_header));
    if (!h->items) return false;
    MHD_get_connection_values(c, MHD_HEADER_KIND, header_collect, h);
    return true;
}

static enum MHD_Result send_refusal(api_server *s, struct MHD_Connection *c, api_conn_req *cr,
                                    const api_action *act, const sp_err *e)
{
    if (act->proto == API_PROTO_JSON) {
        size_t len;
        char *body = api_error_body(act->svc ? act->svc->error_namespace : "", e, &len);
        return send_owned(s, c, cr, e->status, act->svc ? act->svc->content_type
                                                        : "application/x-amz-json-1.1",
                          body, len, NULL);
    }
    sp_http_resp resp = {0};
    if (act->proto == API_PROTO_REST_JSON) {
        json_t *j = json_pack("{s:s}", "message", e->msg);
        sp_http_resp_json(&resp, e->status, j);
        json_decref(j);
        sp_http_resp_header(&resp, "x-amzn-ErrorType", e->code);
    } else {
        sp_str x;
        sp_str_init(&x, NULL, 0, SP_STR_NO_MAX);
        sp_str_appendf(&x, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                           "<Message>", e->code);
        for (const char *m = e->msg; *m; m++) {
            if (*m == '<') sp_str_puts(&x, "&lt;");
            else if (*m == '>') sp_str_puts(&x, "&gt;");
            else if (*m == '&') sp_str_puts(&x, "&amp;");
            else sp_str_putc(&x, *m);
        }
        sp_str_appendf(&x, "</Message><RequestId>%s</RequestId></Error>", cr ? cr->rid : "");
        size_t len = 0;
        char *body = sp_str_finish(&x, &len);
        sp_http_resp_set(&resp, e->status, "application/xml", body, len);
    }
    char *body = resp.body;
    resp.body = NULL;
    enum MHD_Result r = send_owned(s, c, cr, resp.status, resp.content_type, body, resp.body_len,
                                   &resp);
    sp_http_resp_clear(&resp);
    return r;
}

/* Queues a refusal and marks the request answered, so its upload is discarded. */
static enum MHD_Result refuse(api_server *s, struct MHD_Connection *c, api_conn_req *cr,
                              const char *method, const char *url, const sp_err *e)
{
    sp_debug("request %s: refused %s %s: %s: %s", cr->rid, method, url, e->code, e->msg);
    cr->answered = true;
    return send_refusal(s, c, cr, &cr->act, e);
}

/* Access-Control-Request-Headers is echoed in the answer, so it must read as a header list. */
static bool header_names_ok(const char *v)
{
    size_t n = strlen(v);
    if (n > API_SIGV4_SIGNED_HEADERS_MAX) return false;
    for (; *v; v++)
        if (!(isalnum((unsigned char)*v) || strchr("-_., ", *v))) return false;
    return true;
}

/* The answer to a CORS preflight from an allowed origin (send_owned adds the origin). */
static enum MHD_Result send_preflight(api_server *s, struct MHD_Connection *c, api_conn_req *cr)
{
    sp_http_resp resp = {0};
    sp_http_resp_header(&resp, "Access-Control-Allow-Methods", API_CORS_METHODS);
    const char *asked = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    "Access-Control-Request-Headers");
    if (asked && header_names_ok(asked))
        sp_http_resp_header(&resp, "Access-Control-Allow-Headers", asked);
    char age[16];
    snprintf(age, sizeof age, "%d", API_CORS_MAX_AGE_S);
    sp_http_resp_header(&resp, "Access-Control-Max-Age", age);
    cr->answered = true;
    enum MHD_Result r = send_owned(s, c, cr, 204, NULL, NULL, 0, &resp);
    sp_http_resp_clear(&resp);
    return r;
}

/* Whether an Access-Control-Request-Method value reads as a method token. */
static bool method_token_ok(const char *v)
{
    if (!*v || strlen(v) > 32) return false;
    for (; *v; v++)
        if (!(isalnum((unsigned char)*v) || *v == '-' || *v == '_')) return false;
    return true;
}

static enum MHD_Result send_text(api_server *s, struct MHD_Connection *c, api_conn_req *cr,
                                 int status, const char *ctype, const char *text)
{
    return send_owned(s, c, cr, status, ctype, strdup(text), strlen(text), NULL);
}

/* The request's media type is want (parameters and spaces ignored). */
static bool ctype_is(const char *v, const char *want)
{
    if (!v) return false;
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strcspn(v, ";");
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    return n == strlen(want) && !strncasecmp(v, want, n);
}

static bool body_is_json(const api_conn_req *cr)
{
    json_t *j = json_loadb(cr->body.buf ? cr->body.buf : "", cr->body.len,
                           JSON_DECODE_ANY, NULL);
    json_decref(j);
    return j != NULL;
}

static bool kinesis_port_reply(api_server *s, struct MHD_Connection *c, const char *method,
                               const char *query, const header_list *h, const api_conn_req *cr,
                               bool with_body, api_front_reply *out);

/* A request no API claims, answered as the service it was given to answers it (front.c):
 * nothing in it can reach an operation, so it changes nothing. */
static enum MHD_Result handle_front(api_server *s, struct MHD_Connection *c, const char *method,
                                    api_conn_req *cr)
{
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    cr->cors_any = origin != NULL;
    if (origin && !strcmp(method, "OPTIONS")) {
        sp_http_resp resp = {0};
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    "Access-Control-Request-Headers");
        const char *m = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                    "Access-Control-Request-Method");
        if (h && header_names_ok(h)) sp_http_resp_header(&resp, "Access-Control-Allow-Headers", h);
        if (m && method_token_ok(m)) sp_http_resp_header(&resp, "Access-Control-Allow-Methods", m);
        char age[16];
        snprintf(age, sizeof age, "%d", API_AWS_CORS_MAX_AGE_S);
        sp_http_resp_header(&resp, "Access-Control-Max-Age", age);
        cr->dynamodb = false;
        enum MHD_Result r = send_owned(s, c, cr, 200, NULL, NULL, 0, &resp);
        sp_http_resp_clear(&resp);
        return r;
    }
    if (cr->port_svc == API_FRONT_KINESIS) {
        header_list h;
        if (!headers_of(c, &h)) return MHD_NO;
        const char *raw = cr->raw_uri ? cr->raw_uri : "";
        const char *q = strchr(raw, '?');
        api_front_reply rep;
        bool ok = kinesis_port_reply(s, c, method, q ? q + 1 : "", &h, cr, true, &rep);
        free(h.items);
        if (!ok) return MHD_NO;
        if (!rep.status) /* cannot be: its headers were refused, the body only adds checks */
            return send_text(s, c, cr, 400, "application/x-amz-json-1.1",
                             "{\"__type\":\"UnknownOperationException\"}");
        return send_owned(s, c, cr, rep.status, rep.content_type, rep.body, rep.len, NULL);
    }
    bool post = !strcmp(method, "POST");
    if (cr->front == API_FRONT_DYNAMODB) {
        if (!strcmp(method, "GET"))
            return send_text(s, c, cr, 200, NULL, "healthy: dynamodb.us-east-1.amazonaws.com ");
        if (!post || (cr->body.len && !ctype_is(ct, "application/json") &&
                      !ctype_is(ct, "application/x-amz-json-1.0")))
            return send_text(s, c, cr, 404, NULL, "<UnknownOperationException/>\n");
        const char *rct = ctype_is(ct, "application/x-amz-json-1.0") ? "application/x-amz-json-1.0"
                                                                    : "application/json";
        if (cr->body.len && !body_is_json(cr))
            return send_text(s, c, cr, 400, rct,
                             "{\"__type\":\"com.amazon.coral.service#SerializationException\"}");
        return send_text(s, c, cr, 400, rct,
                         "{\"__type\":\"com.amazon.coral.service#UnknownOperationException\"}");
    }
    if (!post)
        return send_text(s, c, cr, 403, NULL,
                         "<AccessDeniedException>\n  <Message>Unable to determine "
                         "service/operation name to be authorized</Message>\n"
                         "</AccessDeniedException>\n");
    if (ctype_is(ct, "application/x-amz-json-1.1")) {
        if (cr->body.len && !body_is_json(cr))
            return send_text(s, c, cr, 400, "application/x-amz-json-1.1",
                             "{\"__type\":\"SerializationException\"}");
        return send_text(s, c, cr, 400, "application/x-amz-json-1.1",
                         "{\"__type\":\"UnknownOperationException\"}");
    }
    json_t *j = json_pack("{s:s}", "__type", "UnknownOperationException");
    size_t len = 0;
    unsigned char *cbor = j ? api_cbor_from_json(j, &len) : NULL;
    json_decref(j);
    if (!cbor) return MHD_NO;
    return send_owned(s, c, cr, 400, API_CBOR_CONTENT_TYPE, (char *)cbor, len, NULL);
}

/* The Kinesis front end's answer to a request on its own port, from its headers only or
 * (body) with the body read. */
static bool kinesis_port_reply(api_server *s, struct MHD_Connection *c, const char *method,
                               const char *query, const header_list *h, const api_conn_req *cr,
                               bool with_body, api_front_reply *out)
{
    api_front_kinesis_req kr = {
        .method = method,
        .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
        .target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target"),
        .authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
        .query = query,
        .headers = h ? h->items : NULL,
        .n_headers = h ? h->n : 0,
        .svc = service_named(s, "kinesis"),
        .headers_only = !with_body,
        .body = cr->body.buf ? cr->body.buf : "",
        .body_len = cr->body.len,
    };
    return api_front_kinesis_reply(&kr, out);
}

/* A request on a service's own port (not a browser's, Host accepted): what its headers say.
 * A request the service's front end refuses goes to the front door (cr->front), answered
 * once the body is in; one it accepts goes on like any, with the body's checks left
 * (cr->port_checked). Only that service's operations count as known here. False when out
 * of memory. */
static bool port_front(api_server *s, struct MHD_Connection *c, const char *method,
                       const char *query, header_list *h, api_conn_req *cr, bool *target_known)
{
    const char *name = cr->port_svc == API_FRONT_KINESIS ? "kinesis" : "dynamodb";
    bool own = *target_known && !strcmp(cr->act.svc->name, name);
    if (cr->port_svc == API_FRONT_DYNAMODB) {
        if (!own) cr->front = API_FRONT_DYNAMODB;
        return true;
    }
    api_front_reply rep;
    if (!kinesis_port_reply(s, c, method, query, h, cr, false, &rep)) return false;
    free(rep.body);
    if (rep.status || !own) {
        cr->front = API_FRONT_KINESIS;
        *target_known = false;
        return true;
    }
    cr->port_checked = true;
    /* An Origin no browser sends ("whatever") gets Kinesis's CORS answer, as in the front
     * door; browsers' origins stay with the guard's allow list. */
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin) {
        cr->cors_any = true;
        size_t k = 0;
        for (size_t i = 0; i < h->n; i++)
            if (strcasecmp(h->items[i].name, "Origin")) h->items[k++] = h->items[i];
        h->n = k;
    }
    return true;
}

/* Kinesis's port, after the body of a request whose headers passed: an empty or unreadable
 * body is Kinesis's SerializationException, before any operation sees it. */
static enum MHD_Result port_body_check(api_server *s, struct MHD_Connection *c,
                                       const char *method, api_conn_req *cr, bool *handled)
{
    *handled = false;
    if (cr->port_svc != API_FRONT_KINESIS) return MHD_YES;
    const char *raw = cr->raw_uri ? cr->raw_uri : "";
    const char *q = strchr(raw, '?');
    api_front_reply rep;
    header_list h;
    if (!headers_of(c, &h)) {
        *handled = true;
        return MHD_NO;
    }
    bool ok = kinesis_port_reply(s, c, method, q ? q + 1 : "", &h, cr, true, &rep);
    free(h.items);
    if (!ok) {
        *handled = true;
        return MHD_NO;
    }
    if (!rep.status) return MHD_YES;
    *handled = true;
    return send_owned(s, c, cr, rep.status, rep.content_type, rep.body, rep.len, NULL);
}

/* MHD decodes the path before the handler sees it, so "a%00.json" would arrive as "a": a
 * key silently cut short. Such paths are refused, in the shape of the API they meant. */
static bool nul_in_path(const api_conn_req *cr, sp_err *e)
{
    const char *raw = cr->raw_uri ? cr->raw_uri : "";
    const char *q = strchr(raw, '?');
    size_t plen = q ? (size_t)(q - raw) : strlen(raw);
    bool nul = false;
    for (size_t i = 0; i + 3 <= plen && !nul; i++)
        nul = raw[i] == '%' && raw[i + 1] == '0' && raw[i + 2] == '0';
    if (nul)
        sp_err_set(e, 400, cr->act.proto == API_PROTO_S3 ? "InvalidURI" : "ValidationException",
                   "The request path holds an encoded NUL (%%00)");
    return nul;
}

/* The first call for a request: only its line and headers are known. Decides everything
 * those decide, so a refusal goes out before any of the body is read. */
static enum MHD_Result on_headers(api_server *s, struct MHD_Connection *c, const char *url,
                                  const char *method, api_conn_req *cr)
{
    const char *target = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Amz-Target");
    const char *raw = cr->raw_uri ? cr->raw_uri : url;
    const char *q = strchr(raw, '?');
    bool builtin = is_builtin_get(method, url);
    api_action_of(s->services, s->n_services, method, url, q ? q + 1 : "", target, &cr->act);
    if (builtin) cr->act = (api_action){.proto = API_PROTO_JSON};

    header_list h;
    if (!headers_of(c, &h)) return MHD_NO;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    bool target_known = cr->act.proto == API_PROTO_JSON && cr->act.svc;
    /* A browser's Origin ("null" or scheme://host) stays with the guard, which grants CORS only
     * to the configured origins; the front door answers the rest as AWS does. */
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    bool browser = origin && (!strcmp(origin, "null") || strstr(origin, "://"));
    if (cr->port_svc && !builtin && !browser && api_guard_host_allowed(&s->guard, host)) {
        if (!port_front(s, c, method, q ? q + 1 : "", &h, cr, &target_known)) {
            free(h.items);
            return MHD_NO;
        }
    } else if (!builtin && !browser && api_guard_host_allowed(&s->guard, host)) {
        cr->front = api_front_service_of(method, url, q ? q + 1 : "", h.items, h.n,
                                         target_known);
    }
    const api_service *svc = cr->act.svc;
    bool ddb = cr->front == API_FRONT_DYNAMODB ||
               (target_known && !strncmp(svc->target_prefix, "DynamoDB", 8));
    bool kin = cr->front == API_FRONT_KINESIS ||
               (target_known && !strncmp(svc->target_prefix, "Kinesis_", 8));
    if (ddb) api_front_request_id(API_FRONT_DYNAMODB, sp_clock_mono_ns() ^ (uintptr_t)cr, cr->rid);
    cr->dynamodb = ddb;
    cr->kinesis = kin;
    if (cr->front) {
        free(h.items);
        if (cl && strtoull(cl, NULL, 10) > s->opt.max_body) {
            /* As DynamoDB: a bare 413, sent chunked. */
            cr->answered = true;
            cr->dynamodb = false;
            struct MHD_Response *r = MHD_create_response_from_buffer(0, (char *)"",
                                                                     MHD_RESPMEM_PERSISTENT);
            if (!r) return MHD_NO;
            MHD_add_response_header(r, "Transfer-Encoding", "chunked");
            enum MHD_Result ret = MHD_queue_response(c, 413, r);
            MHD_destroy_response(r);
            return ret;
        }
        return MHD_YES;
    }
    /* AWS's form checks of a sent signature come before the content type's: both refuse. */
    sp_err fe = {0};
    if (api_guard_host_allowed(&s->guard, host) &&
        api_guard_origin_allowed(&s->guard, MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                         "Origin")))
    if (target_known) {
        const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!api_front_auth_form(authz, q ? q + 1 : "", h.items, h.n, ddb, &fe)) {
            free(h.items);
            cr->answered = true;
            size_t len;
            char *body = api_error_body(ddb ? "com.amazon.coral.service#" : "", &fe, &len);
            /* DynamoDB answers in the request's JSON type: application/json unless -1.0. */
            const char *rct = svc->content_type;
            if (ddb && !ctype_is(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type"),
                                 "application/x-amz-json-1.0"))
                rct = "application/json";
            return send_owned(s, c, cr, fe.status, rct, body, len, NULL);
        }
    }
    api_guard_request gr = {.method = method, .headers = h.items, .n_headers = h.n,
                            .proto = cr->act.proto, .svc = cr->act.svc, .builtin = builtin};
    sp_err e = {0};
    api_guard_verdict v = api_guard_check(&s->guard, &gr, &cr->allow_origin, &e);
    if (v == API_GUARD_REFUSE || (v == API_GUARD_PASS && nul_in_path(cr, &e))) {
        free(h.items);
        return refuse(s, c, cr, method, url, &e);
    }
    if (v == API_GUARD_PREFLIGHT) {
        free(h.items);
        return send_preflight(s, c, cr);
    }
    if (s->opt.n_credentials && !builtin) {
        api_sigv4_request req = {.method = method, .target = raw, .headers = h.items,
                                 .n_headers = h.n, .body = NULL, .body_len = 0};
        cr->who = api_sigv4_check_headers(s->opt.credentials, s->opt.n_credentials, &req,
                                          cr->act.proto, sp_clock_wall_ms() / 1000, &cr->auth,
                                          &e);
        if (!cr->who) {
            free(h.items);
            return refuse(s, c, cr, method, url, &e);
        }
    }
    free(h.items);
    if (cl && strtoull(cl, NULL, 10) > s->opt.max_body) {
        cr->answered = true;
        char msg[160];
        snprintf(msg, sizeof msg, "Request body of %.24s bytes is larger than the limit of %zu",
                 cl, s->opt.max_body);
        return send_error(s, c, cr, 413, "RequestEntityTooLargeException", msg);
    }
    return MHD_YES;
}

/* With credentials configured, once the body is in: the signature over all of it, then the
 * key's allow list. True when the request may go on; otherwise the refusal is queued. */
static bool authorize(api_server *s, struct MHD_Connection *c, const char *url,
                      const char *method, api_conn_req *cr, enum MHD_Result *ret)
{
    if (!cr->who) return true; /* no credentials, or a health/metrics GET */
    header_list h;
    if (!headers_of(c, &h)) {
        *ret = MHD_NO;
        return false;
    }
    api_sigv4_request req = {
        .method = method,
        .target = cr->raw_uri ? cr->raw_uri : url,
        .headers = h.items,
        .n_headers = h.n,
        .body = cr->body.buf ? cr->body.buf : "",
        .body_len = cr->body.len,
    };
    sp_err e = {0};
    bool ok = api_sigv4_check_signature(cr->who, &req, &cr->auth, cr->act.proto, &e);
    free(h.items);
    if (ok && cr->act.name[0] && !api_credential_allows(cr->who, cr->act.name))
        api_action_deny(cr->who, cr->act.name, cr->act.proto, &e);
    if (!sp_err_failed(&e)) return true;
    *ret = refuse(s, c, cr, method, url, &e);
    return false;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *upload,
                                 size_t *upload_size, void **con_cls)
{
    (void)version;
    api_server *s = ((api_listener *)cls)->s;
    api_conn_req *cr = *con_cls;
    if (!cr) return MHD_NO; /* on_uri could not allocate */
    if (cr->deferred) return deferred_answer(s, c, cr);
    if (!cr->started) {
        cr->started = true;
        return on_headers(s, c, url, method, cr);
    }
    if (cr->answered) {
        *upload_size = 0; /* response already queued; discard */
        return MHD_YES;
    }
    if (*upload_size) {
        sp_str_append(&cr->body, upload, *upload_size);
        *upload_size = 0;
        if (sp_str_failed(&cr->body)) {
            cr->answered = true;
            return send_error(s, c, cr, 413, "RequestEntityTooLargeException",
                              "Request body is larger than the configured limit");
        }
        return MHD_YES;
    }
    if (cr->front) return handle_front(s, c, method, cr);
    if (cr->port_checked) {
        bool handled;
        enum MHD_Result r = port_body_check(s, c, method, cr, &handled);
        if (handled) return r;
    }
    enum MHD_Result refused;
    if (!authorize(s, c, url, method, cr, &refused)) return refused;
    return handle_request(s, c, url, method, cr);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    api_conn_req *cr = *con_cls;
    if (!cr) return;
    /* Resumed but closed before its answer went out (the client left meanwhile). */
    if (cr->deferred)
        __atomic_sub_fetch(&((api_listener *)cls)->s->deferring, 1, __ATOMIC_SEQ_CST);
    sp_str_release(&cr->body);
    free(cr->d_body);
    free(cr->raw_uri);
    free(cr);
    *con_cls = NULL;
}

/* libmicrohttpd's own messages ("Failed to bind to port 0: ...") go to the debug log: the
 * failure reaches the user once, as api_server_start's error. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    sp_debug("libmicrohttpd: %s", msg);
}

/* Starts one listener on the server's bind address. */
static bool listener_start(api_server *s, api_listener *l, sp_err *e)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)l->port_wanted)};
    if (inet_pton(AF_INET, s->opt.bind, &addr.sin_addr) != 1) {
        sp_err_set(e, 400, "InvalidConfiguration", "bind address '%s' is not an IPv4 address",
                   s->opt.bind);
        return false;
    }
    /* The options the benchmarks' HTTP floor (bench/floor.c) starts its daemon with too. */
    struct MHD_OptionItem common[API_DAEMON_OPTIONS];
    api_daemon_options(common, &addr, (unsigned)s->opt.threads);
    l->daemon = MHD_start_daemon(API_DAEMON_FLAGS, 0, NULL, NULL, on_access, l,
                                 MHD_OPTION_ARRAY, common, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, l, MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_END);
    if (!l->daemon) {
        if (l->service)
            sp_err_set(e, 500, "", "cannot listen on %s:%d for %s: the port is in use or not "
                       "available (choose another in server.service_ports or --service-port)",
                       s->opt.bind, l->port_wanted, l->service);
        else
            sp_err_set(e, 500, "", "cannot listen on %s:%d: the port is in use or not "
                       "available (another salespipe serve? choose one with --port)",
                       s->opt.bind, l->port_wanted);
        return false;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(l->daemon, MHD_DAEMON_INFO_BIND_PORT);
    l->port = info ? info->port : l->port_wanted;
    return true;
}

bool api_server_start(api_server *s, sp_err *e)
{
    for (size_t i = 0; i < s->n_listeners; i++)
        if (!listener_start(s, &s->listeners[i], e)) return false;
    s->port = s->listeners[0].port;
    return true;
}

int api_server_port(const api_server *s) { return s->port; }

int api_server_threads(const api_server *s) { return s->opt.threads; }

void api_server_destroy(api_server *s)
{
    if (!s) return;
    /* libmicrohttpd must not be stopped with a connection suspended. From here no request
     * defers its answer; those that did wait for one table sync (the table closes after the
     * endpoint), so this is short. */
    __atomic_store_n(&s->stopping, true, __ATOMIC_SEQ_CST);
    while (__atomic_load_n(&s->deferring, __ATOMIC_SEQ_CST)) usleep(API_SHUTDOWN_POLL_US);
    for (size_t i = 0; i < s->n_listeners; i++)
        if (s->listeners[i].daemon) MHD_stop_daemon(s->listeners[i].daemon);
    free(s->hostnames);
    free(s->data_dir_real);
    free(s);
}
