/* The dashboard's front door: the page and its assets under /_salespipe/, the JSON under
 * /_salespipe/api/, dispatched to one handler per resource kind (dash_*.c). */
#include "dash_int.h"

#include <stdlib.h>
#include <string.h>

#define DASH_PREFIX "/_salespipe/"
#define DASH_API DASH_PREFIX "api/"

dash *dash_new(const dash_sources *src)
{
    dash *d = calloc(1, sizeof *d);
    if (!d) abort();
    d->src = *src;
    pthread_mutex_init(&d->mu, NULL);
    d->history = json_array();
    return d;
}

void dash_destroy(dash *d)
{
    if (!d) return;
    json_decref(d->history);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void dash_error(sp_http_resp *resp, int status, const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    sp_http_resp_json(resp, status, j);
    json_decref(j);
}

bool dash_param(const char *query, const char *name, char *out, size_t size)
{
    out[0] = 0;
    return sp_http_query_param(query, name, out, size);
}

long long dash_param_int(const char *query, const char *name, long long def, long long max)
{
    char v[32];
    if (!dash_param(query, name, v, sizeof v) || !v[0]) return def;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0) return def;
    return n > max ? max : n;
}

static const char *asset_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && !strcmp(dot, ".html")) return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".css")) return "text/css; charset=utf-8";
    if (dot && !strcmp(dot, ".js")) return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".svg")) return "image/svg+xml";
    return "application/octet-stream";
}

static bool serve_asset(const char *name, sp_http_resp *resp)
{
    if (!*name) name = "index.html";
    for (size_t i = 0; i < dash_assets_count; i++) {
        if (strcmp(dash_assets[i].name, name)) continue;
        char *body = malloc(dash_assets[i].len ? dash_assets[i].len : 1);
        if (!body) abort();
        memcpy(body, dash_assets[i].data, dash_assets[i].len);
        sp_http_resp_set(resp, 200, asset_type(name), body, dash_assets[i].len);
        /* The page runs only its own scripts and talks only to this server. */
        sp_http_resp_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
        sp_http_resp_header(resp, "X-Content-Type-Options", "nosniff");
        sp_http_resp_header(resp, "Cache-Control", "no-cache");
        return true;
    }
    return false;
}

/* The health document, with the console's query count under services.athena. */
static void api_health(dash *d, sp_http_resp *resp)
{
    json_t *h = d->src.health ? d->src.health(d->src.health_arg) : json_object();
    json_t *athena = json_object_get(json_object_get(h, "services"), "athena");
    pthread_mutex_lock(&d->mu);
    unsigned long n = d->queries_run;
    pthread_mutex_unlock(&d->mu);
    if (athena) json_object_set_new(athena, "console_queries", json_integer((json_int_t)n));
    json_object_set_new(h, "now_ms", json_integer(sp_clock_wall_ms()));
    sp_http_resp_json(resp, 200, h);
    json_decref(h);
}

typedef struct dash_get {
    const char *name;
    void (*fn)(dash *d, const char *query, sp_http_resp *resp);
} dash_get;

static const dash_get gets[] = {
    {"table", dash_api_table},           {"table-changes", dash_api_table_changes},
    {"stream", dash_api_stream},         {"stream-records", dash_api_stream_records},
    {"pipe", dash_api_pipe},             {"delivery", dash_api_delivery},
    {"object", dash_api_object},         {"catalog", dash_api_catalog},
};

bool dash_handle(void *ctx, const sp_http_req *req, sp_http_resp *resp)
{
    dash *d = ctx;
    const char *path = req->path;
    if (!strcmp(path, "/_salespipe")) {
        sp_http_resp_set(resp, 301, "text/plain", NULL, 0);
        sp_http_resp_header(resp, "Location", DASH_PREFIX);
        return true;
    }
    if (strncmp(path, DASH_PREFIX, strlen(DASH_PREFIX))) return false;
    bool get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    if (strncmp(path, DASH_API, strlen(DASH_API))) {
        if (get && serve_asset(path + strlen(DASH_PREFIX), resp)) return true;
        if (!get) dash_error(resp, 405, "the dashboard's pages are read-only");
        else dash_error(resp, 404, "no such dashboard page");
        return true;
    }
    const char *api = path + strlen(DASH_API);
    if (!strcmp(api, "query")) {
        if (strcmp(req->method, "POST")) dash_error(resp, 405, "queries are POSTed");
        else dash_api_query(d, req->body, req->body_len, resp);
        return true;
    }
    if (!get) {
        dash_error(resp, 405, "this endpoint is read-only");
        return true;
    }
    if (!strcmp(api, "health")) {
        api_health(d, resp);
        return true;
    }
    if (!strcmp(api, "history")) {
        dash_api_history(d, resp);
        return true;
    }
    for (size_t i = 0; i < SP_ARRAY_LEN(gets); i++)
        if (!strcmp(api, gets[i].name)) {
            gets[i].fn(d, req->query, resp);
            return true;
        }
    dash_error(resp, 404, "no such dashboard endpoint");
    return true;
}
