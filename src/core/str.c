/* The string builder. Modelled on sqlite3_str: starts in a caller buffer, moves to the heap
 * when it outgrows it, refuses to grow past max, and remembers failure so call sites can
 * append freely and check once. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sp_str_init(sp_str *s, char *initial, size_t initial_cap, size_t max)
{
    s->buf = initial;
    s->cap = initial ? initial_cap : 0;
    s->len = 0;
    s->max = max;
    s->on_heap = false;
    s->failed = false;
    if (s->buf && s->cap) s->buf[0] = '\0';
}

/* Makes room for extra bytes plus the terminator; false (and sticky failure) if it cannot. */
static bool str_reserve(sp_str *s, size_t extra)
{
    if (s->failed) return false;
    size_t need = s->len + extra + 1;
    /* The maximum bounds the content, also while it still fits a larger caller buffer. */
    if (extra > SIZE_MAX / 2 || (s->max != SP_STR_NO_MAX && need > s->max + 1)) {
        s->failed = true;
        return false;
    }
    if (need <= s->cap) return true;
    size_t cap = s->cap ? s->cap * 2 : 64;
    while (cap < need) cap *= 2;
    if (s->max != SP_STR_NO_MAX && cap > s->max + 1) cap = s->max + 1;
    char *nb = s->on_heap ? realloc(s->buf, cap) : malloc(cap);
    if (!nb) {
        s->failed = true;
        return false;
    }
    if (!s->on_heap && s->len) memcpy(nb, s->buf, s->len);
    s->buf = nb;
    s->cap = cap;
    s->on_heap = true;
    return true;
}

void sp_str_append(sp_str *s, const void *data, size_t len)
{
    if (!str_reserve(s, len)) return;
    if (len) memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
}

void sp_str_puts(sp_str *s, const char *z) { sp_str_append(s, z, strlen(z)); }

void sp_str_putc(sp_str *s, char c) { sp_str_append(s, &c, 1); }

void sp_str_appendv(sp_str *s, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap2);
    va_end(ap2);
    if (n < 0) {
        s->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        sp_str_append(s, small, (size_t)n);
        return;
    }
    if (!str_reserve(s, (size_t)n)) return;
    vsnprintf(s->buf + s->len, (size_t)n + 1, fmt, ap);
    s->len += (size_t)n;
}

void sp_str_appendf(sp_str *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_str_appendv(s, fmt, ap);
    va_end(ap);
}

void sp_str_reset(sp_str *s)
{
    s->len = 0;
    if (s->buf && s->cap) s->buf[0] = '\0';
}

char *sp_str_finish(sp_str *s, size_t *len_out)
{
    char *out = NULL;
    if (!s->failed) {
        out = malloc(s->len + 1);
        if (out) {
            if (s->len) memcpy(out, s->buf, s->len);
            out[s->len] = '\0';
            if (len_out) *len_out = s->len;
        }
    }
    sp_str_release(s);
    return out;
}

void sp_str_release(sp_str *s)
{
    if (s->on_heap) free(s->buf);
    s->buf = NULL;
    s->len = s->cap = 0;
    s->on_heap = false;
}
