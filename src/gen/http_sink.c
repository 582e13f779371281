/* The HTTP sink: DynamoDB JSON 1.0 requests over libcurl, one keep-alive connection, signed
 * with AWS Signature Version 4 by salespipe's own signer (core/sigv4.c, the code the server's
 * verifier uses), so servers that check credentials accept them and a generator run against
 * a salespipe with keys configured exercises both ends. Error responses become sp_err with
 * the AWS code (the part of __type after '#'). */
#include "gen.h"

#include "core/sigv4.h"

#include <curl/curl.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>

#define GEN_SIGV4_REGION "us-east-1"
#define GEN_SIGV4_SERVICE "dynamodb"
#define GEN_CONTENT_TYPE "application/x-amz-json-1.0"

struct gen_http_sink {
    CURL *curl;
    char *url;
    char *host;               /* the Host header curl would send for url: "host[:port]" */
    char *path;               /* url's path, as signed */
    char *access_key;
    char *secret_key;
    sp_str body;
};

/* url's host (with its port when the URL names one) and path into s; false if url is not a
 * URL curl understands. */
static bool split_url(gen_http_sink *s, sp_err *e)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *path = NULL;
    bool ok = u && curl_url_set(u, CURLUPART_URL, s->url, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK;
    if (ok) {
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK) port = NULL;
        size_t n = strlen(host) + (port ? strlen(port) + 1 : 0) + 1;
        s->host = malloc(n);
        snprintf(s->host, n, "%s%s%s", host, port ? ":" : "", port ? port : "");
        s->path = strdup(path);
    } else {
        sp_err_set(e, 400, "InvalidEndpoint", "endpoint '%.200s' is not an http(s) URL", s->url);
    }
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    return ok;
}

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    sp_str_append(arg, data, size * n);
    return size * n;
}

gen_http_sink *gen_http_sink_new(const char *endpoint, const char *access_key,
                                 const char *secret_key, sp_err *e)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    gen_http_sink *s = calloc(1, sizeof *s);
    s->curl = curl_easy_init();
    if (!s->curl) {
        free(s);
        sp_err_internal(e, "cannot initialise libcurl");
        return NULL;
    }
    size_t n = strlen(endpoint) + 2;
    s->url = malloc(n);
    snprintf(s->url, n, "%s/", endpoint);
    sp_str_init(&s->body, NULL, 0, SP_STR_NO_MAX);
    s->access_key = strdup(access_key);
    s->secret_key = strdup(secret_key);
    if (!split_url(s, e)) {
        gen_http_sink_destroy(s);
        return NULL;
    }
    return s;
}

json_t *gen_http_sink_send(void *sink, const char *op, json_t *request, sp_err *e)
{
    gen_http_sink *s = sink;
    char target[96], amz_date[SP_SIGV4_AMZ_DATE_LEN + 1], hash[SP_SIGV4_HEX_LEN + 1];
    snprintf(target, sizeof target, "DynamoDB_20120810.%s", op);
    sp_sigv4_amz_date((int64_t)time(NULL), amz_date);
    char *payload = sp_json_dump(request, NULL);
    sp_sigv4_sha256_hex(payload, strlen(payload), hash);
    const sp_sigv4_header signed_h[] = {
        {"Host", s->host}, {"X-Amz-Date", amz_date}, {"X-Amz-Target", target},
        {"Content-Type", GEN_CONTENT_TYPE},
    };
    char date[9];
    snprintf(date, sizeof date, "%.8s", amz_date);
    sp_sigv4_scope scope = {.date = date, .region = GEN_SIGV4_REGION, .service = GEN_SIGV4_SERVICE};
    sp_sigv4_request r = {.method = "POST", .target = s->path, .headers = signed_h,
                          .n_headers = SP_ARRAY_LEN(signed_h), .payload_hash = hash};
    char *auth = sp_sigv4_authorization(&r, s->access_key, s->secret_key, amz_date, &scope, e);
    if (!auth) {
        free(payload);
        return NULL;
    }
    struct curl_slist *h = NULL;
    sp_str line;
    sp_str_init(&line, NULL, 0, SP_STR_NO_MAX);
    for (size_t i = 0; i < SP_ARRAY_LEN(signed_h); i++) {
        sp_str_reset(&line);
        sp_str_appendf(&line, "%s: %s", signed_h[i].name, signed_h[i].value);
        h = curl_slist_append(h, line.buf);
    }
    sp_str_reset(&line);
    sp_str_appendf(&line, "Authorization: %s", auth);
    h = curl_slist_append(h, line.buf);
    sp_str_release(&line);
    free(auth);
    sp_str_reset(&s->body);
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &s->body);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT, 60L);
    CURLcode rc = curl_easy_perform(s->curl);
    curl_slist_free_all(h);
    free(payload);
    if (rc != CURLE_OK) {
        sp_err_set(e, 503, "ServiceUnavailable", "%s: %s", s->url, curl_easy_strerror(rc));
        return NULL;
    }
    long status = 0;
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    json_t *resp = sp_json_parse(s->body.buf ? s->body.buf : "{}", s->body.buf ? s->body.len : 2, e);
    if (!resp) return NULL;
    if (status != 200) {
        const char *type = json_string_value(json_object_get(resp, "__type"));
        const char *msg = json_string_value(json_object_get(resp, "message"));
        const char *hash = type ? strchr(type, '#') : NULL;
        sp_err_set(e, (int)status, hash ? hash + 1 : type ? type : "UnknownError", "%s",
                   msg ? msg : "(no message)");
        json_decref(resp);
        return NULL;
    }
    return resp;
}

void gen_http_sink_destroy(gen_http_sink *s)
{
    if (!s) return;
    curl_easy_cleanup(s->curl);
    sp_str_release(&s->body);
    free(s->url);
    free(s->host);
    free(s->path);
    free(s->access_key);
    free(s->secret_key);
    free(s);
    curl_global_cleanup();
}
