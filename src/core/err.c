/* The error type: a fixed-size record of what went wrong, filled where it happened and read
 * by whoever answers the caller. Formatting is bounded; long messages are cut, never
 * overflow. */
#include "core.h"

#include <stdio.h>
#include <string.h>

void sp_err_setv(sp_err *e, int status, const char *code, const char *fmt, va_list ap)
{
    if (!e) return;
    e->status = status;
    e->retriable = status >= 500 || status == 429;
    snprintf(e->code, sizeof e->code, "%s", code);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
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
}

void sp_err_clear(sp_err *e)
{
    e->status = 0;
    e->retriable = false;
    e->code[0] = e->msg[0] = '\0';
}
