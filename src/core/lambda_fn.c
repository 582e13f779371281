/* The Lambda function reference check (lambda_fn.h): a small hand-written matcher for Lambda's
 * FunctionArn pattern, arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}(-gov)?-[a-z]+-\d:\d{12}:function:
 * [a-zA-Z0-9-_]+(:(\$LATEST|[a-zA-Z0-9-_]+))?, with Lambda's length limits on the name and the
 * qualifier, and for a bare function name. */
#include "lambda_fn.h"

#include <ctype.h>
#include <string.h>

enum { QUOTE_MAX = 80 };   /* how much of a bad value an error message repeats */

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* Length of the run of [A-Za-z0-9_-] at s. */
static size_t name_span(const char *s)
{
    size_t n = 0;
    while (name_char(s[n])) n++;
    return n;
}

/* Consumes lit at *s. */
static bool take(const char **s, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*s, lit, n)) return false;
    *s += n;
    return true;
}

/* [a-z]{2}(-gov)?-[a-z]+-\d followed by ':' */
static bool take_region(const char **s)
{
    const char *p = *s;
    if (!islower((unsigned char)p[0]) || !islower((unsigned char)p[1])) return false;
    p += 2;
    (void)take(&p, "-gov");
    if (*p++ != '-' || !islower((unsigned char)*p)) return false;
    while (islower((unsigned char)*p)) p++;
    if (*p++ != '-' || !isdigit((unsigned char)*p++) || *p++ != ':') return false;
    *s = p;
    return true;
}

static bool take_account(const char **s)
{
    for (int i = 0; i < 12; i++)
        if (!isdigit((unsigned char)(*s)[i])) return false;
    if ((*s)[12] != ':') return false;
    *s += 13;
    return true;
}

static bool fail(const char *ref, sp_err *e)
{
    sp_err_set(e, 400, "InvalidArgumentException",
               "'%.*s%s' is not a Lambda function: expected a function name of 1-%d "
               "characters [A-Za-z0-9_-] or arn:aws:lambda:<region>:<account>:function:<name>"
               "[:<version or alias>]",
               QUOTE_MAX, ref, strlen(ref) > QUOTE_MAX ? "..." : "", SP_LAMBDA_NAME_MAX);
    return false;
}

/* Parses into out, which may be left partly filled on failure. */
static bool parse(const char *ref, sp_lambda_fn *out, sp_err *e)
{
    if (strlen(ref) > SP_LAMBDA_ARN_MAX) return fail(ref, e);
    const char *p = ref;
    bool is_arn = take(&p, "arn:");
    if (is_arn) {
        if (!take(&p, "aws")) return fail(ref, e);
        while (isalpha((unsigned char)*p) || *p == '-') p++;
        if (!take(&p, ":lambda:") || !take_region(&p) || !take_account(&p) ||
            !take(&p, "function:"))
            return fail(ref, e);
    }
    size_t n = name_span(p);
    if (n < 1 || n > SP_LAMBDA_NAME_MAX) return fail(ref, e);
    memcpy(out->name, p, n);
    p += n;
    if (is_arn && *p == ':') {
        p++;
        size_t q = !strcmp(p, "$LATEST") ? strlen(p) : name_span(p);
        if (q < 1 || q > SP_LAMBDA_QUALIFIER_MAX) return fail(ref, e);
        memcpy(out->qualifier, p, q);
        p += q;
    }
    if (*p) return fail(ref, e);
    if (is_arn) strcpy(out->arn, ref);   /* fits: the length was checked first */
    return true;
}

bool sp_lambda_fn_parse(const char *ref, sp_lambda_fn *out, sp_err *e)
{
    memset(out, 0, sizeof *out);
    if (!ref) ref = "";
    if (parse(ref, out, e)) return true;
    memset(out, 0, sizeof *out);
    return false;
}
