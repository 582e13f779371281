/* Helpers for REST handlers: building responses and reading query strings. */
#include "http.h"

#include <stdlib.h>
#include <string.h>

void sp_http_resp_header(sp_http_resp *resp, const char *name, const char *value)
{
    if (resp->n_headers >= SP_HTTP_MAX_HEADERS) return;
    resp->header_names[resp->n_headers] = strdup(name);
    resp->header_values[resp->n_headers] = strdup(value);
    resp->n_headers++;
}

void sp_http_resp_set(sp_http_resp *resp, int status, const char *content_type, char *body,
                      size_t len)
{
    free(resp->body);
    resp->status = status;
    resp->content_type = content_type;
    resp->body = body;
    resp->body_len = len;
}

void sp_http_resp_json(sp_http_resp *resp, int status, const json_t *j)
{
    size_t len = 0;
    char *s = sp_json_dump(j, &len);
    sp_http_resp_set(resp, status, "application/json", s, s ? len : 0);
}

void sp_http_resp_clear(sp_http_resp *resp)
{
    free(resp->body);
    for (int i = 0; i < resp->n_headers; i++) {
        free(resp->header_names[i]);
        free(resp->header_values[i]);
    }
    memset(resp, 0, sizeof *resp);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool sp_http_percent_decode(char *s)
{
    char *w = s;
    for (const char *r = s; *r; r++) {
        if (*r == '%') {
            int hi = hex_value(r[1]), lo = hi < 0 ? -1 : hex_value(r[2]);
            /* %00 would silently cut the C string (a key "a%00.json" becoming "a"). */
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
            *w++ = (char)(hi * 16 + lo);
            r += 2;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    return true;
}

bool sp_http_query_param(const char *query, const char *name, char *out, size_t out_size)
{
    size_t nlen = strlen(name);
    for (const char *p = query; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len >= nlen && !strncmp(p, name, nlen) && (len == nlen || p[nlen] == '=')) {
            const char *v = len == nlen ? "" : p + nlen + 1;
            size_t vlen = len == nlen ? 0 : len - nlen - 1;
            if (vlen >= out_size) return false;
            memcpy(out, v, vlen);
            out[vlen] = '\0';
            for (char *c = out; *c; c++)
                if (*c == '+') *c = ' ';
            return sp_http_percent_decode(out);
        }
        p = amp ? amp + 1 : NULL;
    }
    return false;
}

/* Where a path that starts in a message ends: the delimiters messages put around paths. */
static bool path_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && !strchr("'\"<>\\:&),", c);
}

size_t sp_http_redact(char **body, size_t *len, const char *private_path)
{
    size_t plen = private_path ? strlen(private_path) : 0;
    if (!*body || plen < SP_HTTP_REDACT_MIN || *len < plen) return 0;
    const size_t rlen = sizeof SP_HTTP_REDACTED - 1;
    /* Each match of at least plen bytes becomes rlen bytes. */
    size_t cap = *len + (*len / plen + 1) * rlen + 1;
    char *out = malloc(cap);
    if (!out) {
        free(*body);
        *body = NULL;
        *len = 0;
        return 0;
    }
    size_t w = 0, n = 0;
    const char *b = *body;
    for (size_t i = 0; i < *len;) {
        if (*len - i >= plen && !memcmp(b + i, private_path, plen)) {
            i += plen;
            while (i < *len && path_char((unsigned char)b[i])) i++;
            memcpy(out + w, SP_HTTP_REDACTED, rlen);
            w += rlen;
            n++;
        } else {
            out[w++] = b[i++];
        }
    }
    out[w] = '\0';
    if (!n) {
        free(out);
        return 0;
    }
    free(*body);
    *body = out;
    *len = w;
    return n;
}
