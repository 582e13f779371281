/* The error type: a fixed-size record of what went wrong, filled where it happened and read
 * by whoever answers the caller. Formatting is bounded; long messages are cut, never
 * overflow. Code and message always end up valid UTF-8 (bad bytes become '?'), because they
 * are sent as JSON strings and often quote what a client sent, or are cut mid-character. */
#include "core.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, surrogates or values past
 * U+10FFFF) starting at p, or 0. */
static size_t utf8_seq_len(const unsigned char *p)
{
    unsigned c = p[0];
    if (c < 0x80) return 1;
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80) return 0; /* also stops at the terminating NUL */
    if (n == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f))) return 0;
    if (n == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f))) return 0;
    return n;
}

static void utf8_scrub(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n == 0) *p++ = '?';
        else p += n;
    }
}

void sp_err_setv(sp_err *e, int status, const char *code, const char *fmt, va_list ap)
{
    if (!e) return;
    e->status = status;
    e->retriable = status >= 500 || status == 429;
    e->extra[0] = '\0';
    snprintf(e->code, sizeof e->code, "%s", code);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    utf8_scrub(e->code);
    utf8_scrub(e->msg);
}

void sp_err_set(sp_err *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, status, code, fmt, ap);
    va_end(ap);
}

void sp_err_invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "ValidationException", fmt, ap);
    va_end(ap);
}

void sp_err_internal(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 500, "InternalFailure", fmt, ap);
    va_end(ap);
}

void sp_err_wrap(sp_err *e, const char *context)
{
    char old[SP_ERR_MSG_MAX];
    if (!e || !e->status) return;
    memcpy(old, e->msg, sizeof old);
    /* Messages are cut at SP_ERR_MSG_MAX by design. */
    size_t n = (size_t)snprintf(e->msg, sizeof e->msg, "%s: ", context);
    if (n < sizeof e->msg) memcpy(e->msg + n, old, strnlen(old, sizeof e->msg - n - 1) + 1);
    e->msg[sizeof e->msg - 1] = '\0';
    utf8_scrub(e->msg);
}

void sp_err_clear(sp_err *e)
{
    e->status = 0;
    e->retriable = false;
    e->code[0] = e->msg[0] = e->extra[0] = '\0';
}

bool sp_err_set_extra(sp_err *e, const json_t *members)
{
    e->extra[0] = '\0';
    if (!json_is_object(members)) return false;
    size_t n = json_dumpb(members, e->extra, sizeof e->extra - 1, JSON_COMPACT);
    if (n == 0 || n >= sizeof e->extra) {
        e->extra[0] = '\0';
        return false;
    }
    e->extra[n] = '\0';
    return true;
}
