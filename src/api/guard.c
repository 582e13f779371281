/* The browser guard: what keeps a web page the user happens to visit from driving the
 * endpoint. A page can reach 127.0.0.1 in two ways, and each has its check:
 *
 * - DNS rebinding: the page's own name (evil.example) is made to resolve to 127.0.0.1, so
 *   its requests are same-origin and carry "Host: evil.example". Only loopback names and
 *   addresses, the bind address and the configured server.hostnames are accepted as Host.
 * - Cross-site requests: a page on another origin posts to http://127.0.0.1:4566. Browsers
 *   label such requests with Origin, so a request carrying an Origin outside the configured
 *   allow list (server.cors_allowed_origins, empty by default) is refused; for an allowed one
 *   the CORS preflight is answered and the response names the origin.
 *
 * As a second wall, the JSON APIs take only the content type their AWS SDKs send
 * (application/x-amz-json-1.0 or -1.1, per service) and Pipes only application/json: a
 * browser can send text/plain, form data or multipart without a preflight, never these.
 * S3 bodies are objects of any type, so S3 relies on the Origin check.
 *
 * Everything here is a pure function of the request line and headers, so it is fuzzed
 * directly (tests/fuzz/fuzz_api_request.c). */
#include "api_cbor.h"
#include "api_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define LOCALHOST "localhost"
#define JSON_1_0 "application/x-amz-json-1.0"
#define JSON_1_1 "application/x-amz-json-1.1"
#define REST_JSON "application/json"

static const char *header_get(const api_guard_request *r, const char *name)
{
    for (size_t i = 0; i < r->n_headers; i++)
        if (r->headers[i].name && !strcasecmp(r->headers[i].name, name))
            return r->headers[i].value ? r->headers[i].value : "";
    return NULL;
}

/* The host part of a Host header value into out (brackets of an IPv6 literal removed, one
 * trailing dot dropped, lower case). False when the value is not "host[:port]". */
static bool host_part(const char *value, char out[API_GUARD_HOST_MAX + 1])
{
    const char *h = value, *end;
    size_t n;
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end) return false;
        h++;
        n = (size_t)(end - h);
        end++;
    } else {
        end = strchr(h, ':');
        if (!end) end = h + strlen(h);
        n = (size_t)(end - h);
    }
    if (*end == ':') {
        size_t digits = strspn(end + 1, "0123456789");
        if (digits == 0 || digits > 5 || end[1 + digits]) return false;
    } else if (*end) {
        return false;
    }
    if (n && h[n - 1] == '.') n--;
    if (n == 0 || n > API_GUARD_HOST_MAX) return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c <= 0x20 || c >= 0x7f || c == '/' || c == '@' || c == '[' || c == ']') return false;
        out[i] = (char)tolower(c);
    }
    out[n] = '\0';
    return true;
}

static bool host_is_loopback(const char *host)
{
    size_t n = strlen(host), ln = strlen(LOCALHOST);
    if (!strcmp(host, LOCALHOST)) return true;
    /* RFC 6761: every name under .localhost is loopback. */
    if (n > ln + 1 && host[n - ln - 1] == '.' && !strcmp(host + n - ln, LOCALHOST) &&
        host[0] != '.')
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1) {
        if (IN6_IS_ADDR_LOOPBACK(&a6)) return true;
        return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
    }
    return false;
}

bool api_guard_host_allowed(const api_guard_policy *p, const char *value)
{
    char host[API_GUARD_HOST_MAX + 1];
    if (!value || !host_part(value, host)) return false;
    if (host_is_loopback(host)) return true;
    for (size_t i = 0; p && i < p->n_hostnames; i++) {
        const char *name = p->hostnames[i];
        if (!name) continue;
        size_t n = strlen(name);
        if (n >= 2 && name[0] == '[' && name[n - 1] == ']') name++, n -= 2;
        if (n && name[n - 1] == '.') n--;
        if (n == strlen(host) && !strncasecmp(name, host, n)) return true;
    }
    return false;
}

bool api_guard_origin_allowed(const api_guard_policy *p, const char *origin)
{
    if (!origin) return true;
    size_t n = strlen(origin);
    if (n && origin[n - 1] == '/') n--; /* some clients end a bare origin with '/' */
    for (size_t i = 0; p && i < p->n_origins; i++) {
        const char *o = p->origins[i];
        if (!o) continue;
        if (!strcmp(o, "*")) return true;
        if (strlen(o) == n && !strncasecmp(o, origin, n)) return true;
    }
    return false;
}

/* A page we served ourselves (the dashboard) posting back to us: its Origin is the scheme
 * and the very Host the request names, and that Host already passed the loopback / configured
 * names check, so no other site's page can send it (a rebinding page's Host is its own). */
static bool same_origin(const char *origin, const char *host)
{
    if (!origin || !host || !*host) return false;
    const char *rest = !strncasecmp(origin, "http://", 7) ? origin + 7
                       : !strncasecmp(origin, "https://", 8) ? origin + 8 : NULL;
    if (!rest) return false;
    size_t n = strlen(rest);
    if (n && rest[n - 1] == '/') n--;
    return n == strlen(host) && !strncasecmp(rest, host, n);
}

/* Whether a Content-Type value's media type (parameters after ';' ignored) is want. */
static bool media_type_is(const char *value, const char *want)
{
    while (*value == ' ' || *value == '\t') value++;
    size_t n = strcspn(value, ";");
    while (n && (value[n - 1] == ' ' || value[n - 1] == '\t')) n--;
    return n == strlen(want) && !strncasecmp(value, want, n);
}

/* A request with no body: no Transfer-Encoding and a Content-Length that is absent or 0. */
static bool body_empty(const api_guard_request *r)
{
    if (header_get(r, "Transfer-Encoding")) return false;
    const char *cl = header_get(r, "Content-Length");
    if (!cl) return true;
    while (*cl == ' ') cl++;
    size_t zeros = strspn(cl, "0");
    return zeros > 0 && cl[zeros + strspn(cl + zeros, " ")] == '\0';
}

/* Names a header value in a message without letting it run on or hold control bytes. */
static void quote_value(char *out, size_t cap, const char *v)
{
    size_t w = 0;
    for (; v && *v && w + 4 < cap; v++) out[w++] = (unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v;
    if (v && *v && w + 4 >= cap) memcpy(out + w, "...", 3), w += 3;
    out[w] = '\0';
}

/* The 403 in the request's protocol: "<what> '<value>' <why>". */
static void refuse(const api_guard_request *r, sp_err *e, const char *what, const char *value,
                   const char *why)
{
    char q[API_GUARD_QUOTE_MAX];
    quote_value(q, sizeof q, value);
    sp_err_set(e, 403, r->proto == API_PROTO_S3 ? "AccessDenied" : "AccessDeniedException",
               "%s '%s' %s", what, q, why);
}

static bool content_type_ok(const api_guard_request *r, sp_err *e)
{
    const char *ct = header_get(r, "Content-Type");
    if (r->proto == API_PROTO_JSON) {
        const char *want = r->svc ? r->svc->content_type : NULL;
        bool ok = ct && (want ? media_type_is(ct, want)
                              : media_type_is(ct, JSON_1_0) || media_type_is(ct, JSON_1_1));
        if (!ok && ct && r->svc && r->svc->accepts_cbor)
            ok = media_type_is(ct, API_CBOR_CONTENT_TYPE);
        if (ok) return true;
        char why[160];
        snprintf(why, sizeof why, "is not accepted: %s requests take %s",
                 r->svc ? r->svc->target_prefix : "X-Amz-Target",
                 want ? want : JSON_1_0 " or " JSON_1_1);
        refuse(r, e, "Content-Type", ct ? ct : "(none)", why);
        return false;
    }
    if (r->proto == API_PROTO_REST_JSON) {
        if (ct ? media_type_is(ct, REST_JSON) : body_empty(r)) return true;
        refuse(r, e, "Content-Type", ct ? ct : "(none)",
               "is not accepted: Pipes requests with a body take " REST_JSON);
        return false;
    }
    return true; /* S3: an object body may be of any type */
}

api_guard_verdict api_guard_check(const api_guard_policy *p, const api_guard_request *r,
                                  const char **allow_origin, sp_err *e)
{
    *allow_origin = NULL;
    const char *host = header_get(r, "Host");
    size_t hosts = 0;
    for (size_t i = 0; i < r->n_headers; i++)
        hosts += r->headers[i].name && !strcasecmp(r->headers[i].name, "Host");
    if (hosts > 1) {
        /* RFC 9112 3.2: a request with more than one Host is invalid; which one a proxy in
         * front of us acted on is unknowable. */
        refuse(r, e, "Host", host, "is one of several Host headers; a request has one");
        return API_GUARD_REFUSE;
    }
    if (!api_guard_host_allowed(p, host)) {
        refuse(r, e, "Host", host ? host : "(none)",
               "is not a loopback name or address, the bind address or one of "
               "server.hostnames (refused against DNS rebinding)");
        return API_GUARD_REFUSE;
    }
    if (r->builtin) return API_GUARD_PASS; /* health and metrics: read-only, no body */
    const char *origin = header_get(r, "Origin");
    if (!api_guard_origin_allowed(p, origin) && !same_origin(origin, host)) {
        refuse(r, e, "Origin", origin,
               "is not in server.cors_allowed_origins (cross-site requests are refused)");
        return API_GUARD_REFUSE;
    }
    *allow_origin = origin;
    if (origin && r->method && !strcmp(r->method, "OPTIONS") &&
        header_get(r, "Access-Control-Request-Method"))
        return API_GUARD_PREFLIGHT;
    if (!content_type_ok(r, e)) {
        *allow_origin = NULL;
        return API_GUARD_REFUSE;
    }
    return API_GUARD_PASS;
}
