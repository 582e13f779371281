/* The HTTP sink: DynamoDB JSON 1.0 requests over libcurl, one keep-alive connection, signed
 * with AWS Signature Version 4 (libcurl's CURLOPT_AWS_SIGV4) so servers that check
 * credentials accept them. Error responses become sp_err with the AWS code (the part of
 * __type after '#'). */
#include "gen.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

struct gen_http_sink {
    CURL *curl;
    char *url;
    char *userpwd;            /* "<access key>:<secret>" */
    sp_str body;
};

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
    size_t up = strlen(access_key) + strlen(secret_key) + 2;
    s->userpwd = malloc(up);
    snprintf(s->userpwd, up, "%s:%s", access_key, secret_key);
    curl_easy_setopt(s->curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:dynamodb");
    curl_easy_setopt(s->curl, CURLOPT_USERPWD, s->userpwd);
    return s;
}

json_t *gen_http_sink_send(void *sink, const char *op, json_t *request, sp_err *e)
{
    gen_http_sink *s = sink;
    char target[96];
    snprintf(target, sizeof target, "X-Amz-Target: DynamoDB_20120810.%s", op);
    struct curl_slist *h = curl_slist_append(NULL, target);
    h = curl_slist_append(h, "Content-Type: application/x-amz-json-1.0");
    char *payload = sp_json_dump(request, NULL);
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
    free(s->userpwd);
    free(s);
    curl_global_cleanup();
}
