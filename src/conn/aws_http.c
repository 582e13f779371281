/* The outbound AWS client: one endpoint, one region, one set of credentials, one libcurl
 * handle (kept between calls, so its connection is reused). Each call is signed afresh for
 * every attempt (the date moves), retried as aws_retry.c decides, and bounded by the
 * client's total time budget; the remote's error code and message end up in sp_err. */
#include "conn.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum {
    HOST_MAX = 300,
    HEADERS_MAX = 16,            /* extra request headers a caller may pass */
    REMOTE_MSG_MAX = 300,        /* the part of sp_err.msg given to the remote's message */
    STATUS_TRANSPORT = 502,      /* an sp_err status for "no answer" (connection refused...) */
};

struct conn_aws {
    char *endpoint;              /* without a trailing '/' */
    char *region;
    char *service;
    char host[HOST_MAX + 1];     /* the Host header: host[:port] of the endpoint */
    char describe[512];
    conn_aws_creds creds;
    int max_attempts;
    int timeout_ms;
    uint64_t rnd;                /* xorshift state for the jitter */
    CURL *curl;
    _Atomic uint64_t external_deadline_ns;  /* conn_aws_set_deadline; 0: none */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

conn_aws *conn_aws_new(const conn_aws_config *cfg, sp_err *e)
{
    const char *ep = cfg->endpoint ? cfg->endpoint : "";
    const char *hs = strstr(ep, "://");
    if (!hs || (strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) || !hs[3]) {
        sp_err_invalid(e, "endpoint '%s' is not an http:// or https:// URL", ep);
        return NULL;
    }
    hs += 3;
    size_t hn = strcspn(hs, "/?#");
    if (hn == 0 || hn > HOST_MAX || strcspn(hs, "@ ") < hn) {
        sp_err_invalid(e, "endpoint '%s' has no usable host", ep);
        return NULL;
    }
    conn_aws *c = calloc(1, sizeof *c);
    if (!conn_aws_creds_resolve(cfg->access_key_id, cfg->secret_access_key, cfg->session_token,
                                cfg->profile, &c->creds, e)) {
        free(c);
        return NULL;
    }
    pthread_once(&curl_once, curl_init_once);
    memcpy(c->host, hs, hn);
    c->host[hn] = '\0';
    size_t n = (size_t)(hs - ep) + hn;
    c->endpoint = strndup(ep, n);
    c->region = strdup(cfg->region && *cfg->region ? cfg->region : "us-east-1");
    c->service = strdup(cfg->service);
    c->max_attempts = cfg->max_attempts > 0 ? cfg->max_attempts : CONN_ATTEMPTS_DEFAULT;
    if (c->max_attempts > CONN_ATTEMPTS_MAX) c->max_attempts = CONN_ATTEMPTS_MAX;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : CONN_TIMEOUT_MS_DEFAULT;
    c->rnd = sp_clock_mono_ns() ^ (uint64_t)(uintptr_t)c ^ 0x9e3779b97f4a7c15ull;
    snprintf(c->describe, sizeof c->describe, "%s %s (%s)", c->service, c->endpoint, c->region);
    c->curl = curl_easy_init();
    return c;
}

void conn_aws_destroy(conn_aws *c)
{
    if (!c) return;
    if (c->curl) curl_easy_cleanup(c->curl);
    free(c->endpoint);
    free(c->region);
    free(c->service);
    memset(&c->creds, 0, sizeof c->creds);
    free(c);
}

const char *conn_aws_describe(const conn_aws *c) { return c->describe; }

void conn_aws_set_deadline(conn_aws *c, uint64_t deadline_ns)
{
    atomic_store(&c->external_deadline_ns, deadline_ns);
}

/* The end of a call that started now: its own budget, or earlier if hurried. */
static uint64_t call_deadline(conn_aws *c, uint64_t own)
{
    uint64_t ext = atomic_load(&c->external_deadline_ns);
    return ext && ext < own ? ext : own;
}

/* libcurl's progress callback: non-zero cuts the transfer once the client is hurried past its
 * deadline. */
static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    conn_aws *c = arg;
    uint64_t ext = atomic_load(&c->external_deadline_ns);
    return ext && sp_clock_mono_ns() >= ext;
}

void conn_aws_response_clear(conn_aws_response *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

static uint64_t next_rnd(conn_aws *c)
{
    c->rnd ^= c->rnd << 13;
    c->rnd ^= c->rnd >> 7;
    c->rnd ^= c->rnd << 17;
    return c->rnd;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    sp_str_append(arg, data, size * n);
    return size * n;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    conn_aws_response *r = arg;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(data, "etag:", 5)) {
        const char *v = data + 5;
        size_t vl = len - 5;
        while (vl && (*v == ' ' || *v == '\t')) v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
        if (vl < sizeof r->etag) {
            memcpy(r->etag, v, vl);
            r->etag[vl] = '\0';
        }
    }
    return len;
}

bool conn_xml_text(const char *xml, size_t len, const char *tag, char *out, size_t cap)
{
    char open[80], close[80];
    snprintf(open, sizeof open, "<%s>", tag);
    snprintf(close, sizeof close, "</%s>", tag);
    const char *end = xml + len;
    const char *s = memmem(xml, len, open, strlen(open));
    if (!s) return false;
    s += strlen(open);
    const char *t = memmem(s, (size_t)(end - s), close, strlen(close));
    if (!t) return false;
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
        {"&#34;", '"'}, {"&#39;", '\''},
    };
    size_t o = 0;
    while (s < t) {
        if (o + 1 >= cap) return false;
        char ch = *s++;
        if (ch == '&')
            for (size_t i = 0; i < SP_ARRAY_LEN(ents); i++) {
                size_t el = strlen(ents[i].ent) - 1;
                if ((size_t)(t - s) >= el && !memcmp(s, ents[i].ent + 1, el)) {
                    ch = ents[i].c;
                    s += el;
                    break;
                }
            }
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

/* The remote's error code and message from an error answer: REST-XML <Code>/<Message>,
 * JSON __type (after '#') / message, or the status alone. */
static void remote_error(const conn_aws_response *r, char *code, size_t code_cap, char *msg,
                         size_t msg_cap)
{
    snprintf(code, code_cap, "Http%ld", r->status);
    msg[0] = '\0';
    if (!r->body_len) return;
    if (r->body[0] == '{') {
        json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
        const char *t = json_string_value(json_object_get(j, "__type"));
        const char *m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "Message"));
        if (t) snprintf(code, code_cap, "%s", strchr(t, '#') ? strchr(t, '#') + 1 : t);
        if (m) snprintf(msg, msg_cap, "%s", m);
        json_decref(j);
        return;
    }
    conn_xml_text(r->body, r->body_len, "Code", code, code_cap);
    if (!conn_xml_text(r->body, r->body_len, "Message", msg, msg_cap)) msg[0] = '\0';
}

/* One attempt. true when an HTTP answer came (any status); false: transport failure, with
 * curl's message in err. */
static bool attempt_once(conn_aws *c, const conn_aws_request *req, const char *payload_hash,
                         long budget_ms, conn_aws_response *resp, char *err, size_t err_cap)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char amz_date[17];
    strftime(amz_date, sizeof amz_date, "%Y%m%dT%H%M%SZ", &tm);

    char h_host[HOST_MAX + 8], h_date[40], h_hash[96];
    snprintf(h_host, sizeof h_host, "Host: %s", c->host);
    snprintf(h_date, sizeof h_date, "X-Amz-Date: %s", amz_date);
    snprintf(h_hash, sizeof h_hash, "X-Amz-Content-Sha256: %s", payload_hash);
    char *h_token = NULL;
    const char *signed_h[HEADERS_MAX + 4];
    size_t ns = 0;
    signed_h[ns++] = h_host;
    signed_h[ns++] = h_date;
    signed_h[ns++] = h_hash;
    if (c->creds.session_token[0]) {
        size_t tl = strlen(c->creds.session_token) + 32;
        h_token = malloc(tl);
        snprintf(h_token, tl, "X-Amz-Security-Token: %s", c->creds.session_token);
        signed_h[ns++] = h_token;
    }
    for (size_t i = 0; i < req->n_headers && i < HEADERS_MAX; i++) signed_h[ns++] = req->headers[i];
    conn_sigv4_input in = {.method = req->method, .path = req->path, .query = req->query,
                           .headers = signed_h, .n_headers = ns, .payload_sha256 = payload_hash,
                           .amz_date = amz_date, .region = c->region, .service = c->service};
    char *auth = conn_sigv4_authorization(&in, &c->creds);

    struct curl_slist *hl = NULL;
    for (size_t i = 0; i < ns; i++) hl = curl_slist_append(hl, signed_h[i]);
    sp_str line;
    sp_str_init(&line, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&line, "Authorization: %s", auth);
    hl = curl_slist_append(hl, line.buf);
    sp_str_release(&line);
    free(auth);
    free(h_token);
    bool has_ct = false;
    for (size_t i = 0; i < req->n_headers; i++)
        has_ct |= !strncasecmp(req->headers[i], "content-type:", 13);
    if (!has_ct) hl = curl_slist_append(hl, "Content-Type:");   /* no form default */
    hl = curl_slist_append(hl, "Expect:");

    sp_str url;
    sp_str_init(&url, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&url, "%s%s%s%s", c->endpoint, req->path && *req->path ? req->path : "/",
                   req->query && *req->query ? "?" : "", req->query ? req->query : "");

    CURL *h = c->curl;
    curl_easy_reset(h);
    sp_str body;
    sp_str_init(&body, NULL, 0, SP_STR_NO_MAX);
    curl_easy_setopt(h, CURLOPT_URL, url.buf);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, budget_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     budget_ms < CONN_CONNECT_TIMEOUT_MS ? budget_ms : CONN_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    if (!strcmp(req->method, "HEAD")) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (!strcmp(req->method, "PUT") || !strcmp(req->method, "POST")) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body ? (const char *)req->body : "");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    } else {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
    }
    resp->etag[0] = '\0';
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(hl);
    sp_str_release(&url);
    free(resp->body);
    resp->body = NULL;
    resp->body_len = 0;
    if (rc != CURLE_OK) {
        snprintf(err, err_cap, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        sp_str_release(&body);
        resp->status = 0;
        return false;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    resp->body = sp_str_finish(&body, &resp->body_len);
    if (!resp->body) resp->body = calloc(1, 1);
    return true;
}

bool conn_aws_send(conn_aws *c, const conn_aws_request *req, conn_aws_response *resp,
                   sp_err *e)
{
    char payload_hash[65];
    conn_sha256_hex(req->body ? req->body : "", req->body_len, payload_hash);
    uint64_t own = sp_clock_mono_ns() + (uint64_t)c->timeout_ms * 1000000ull;
    char code[SP_ERR_CODE_MAX] = "", msg[REMOTE_MSG_MAX] = "";
    bool retriable = false;
    int attempt = 0;
    long status = 0;
    while (attempt < c->max_attempts) {
        uint64_t deadline = call_deadline(c, own);
        uint64_t now = sp_clock_mono_ns();
        if (now >= deadline) break;
        long budget = (long)((deadline - now) / 1000000ull);
        if (budget < 1) break;
        attempt++;
        resp->attempts = attempt;
        char terr[CURL_ERROR_SIZE + 1] = "";
        bool answered = attempt_once(c, req, payload_hash, budget, resp, terr, sizeof terr);
        if (answered && resp->status >= 200 && resp->status < 300) return true;
        if (answered) {
            status = resp->status;
            remote_error(resp, code, sizeof code, msg, sizeof msg);
        } else {
            status = STATUS_TRANSPORT;
            snprintf(code, sizeof code, "NetworkingError");
            snprintf(msg, sizeof msg, "%s", terr);
        }
        retriable = conn_retry_retriable(!answered, answered ? resp->status : 0, code);
        if (!retriable || attempt >= c->max_attempts) break;
        unsigned wait = conn_retry_backoff_ms(attempt, CONN_BACKOFF_BASE_MS, CONN_BACKOFF_CAP_MS,
                                              next_rnd(c));
        now = sp_clock_mono_ns();
        if (now + (uint64_t)wait * 1000000ull >= call_deadline(c, own)) break;
        sp_sleep_ms(wait);
    }
    if (!attempt) {
        status = 504;
        snprintf(code, sizeof code, "RequestTimeout");
        snprintf(msg, sizeof msg, "no time left for an attempt");
        retriable = true;
    }
    char where[64];
    if (status == STATUS_TRANSPORT && !strcmp(code, "NetworkingError"))
        snprintf(where, sizeof where, "no answer");
    else
        snprintf(where, sizeof where, "HTTP %ld", status);
    sp_err_set(e, (int)status, code, "%s: %s%s%s (%s from %s, %d attempt%s)", req->op, code,
               msg[0] ? ": " : "", msg, where, c->endpoint, attempt, attempt == 1 ? "" : "s");
    e->retriable = retriable;
    return false;
}

json_t *conn_aws_json(conn_aws *c, const char *target, const char *content_type,
                      const json_t *body, sp_err *e)
{
    size_t len;
    char *payload = sp_json_dump(body, &len);
    char h_target[256], h_ct[128];
    snprintf(h_target, sizeof h_target, "X-Amz-Target: %s", target);
    snprintf(h_ct, sizeof h_ct, "Content-Type: %s", content_type);
    const char *headers[] = {h_target, h_ct};
    const char *dot = strchr(target, '.');
    conn_aws_request req = {.op = dot ? dot + 1 : target, .method = "POST", .path = "/",
                            .headers = headers, .n_headers = 2, .body = payload,
                            .body_len = len};
    conn_aws_response resp = {0};
    json_t *out = NULL;
    if (conn_aws_send(c, &req, &resp, e)) {
        out = resp.body_len ? sp_json_parse(resp.body, resp.body_len, e) : json_object();
        if (!out) sp_err_wrap(e, "the remote's answer");
    }
    conn_aws_response_clear(&resp);
    free(payload);
    return out;
}
