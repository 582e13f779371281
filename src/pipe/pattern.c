/* EventBridge event patterns: validation at create time and matching against events.
 *
 * A pattern is a JSON object whose leaves are arrays of allowed values or matchers
 * ({"prefix":..}, {"numeric":[..]}, ...), and whose inner objects name nested fields.
 * Compiling validates the whole pattern once, with an error naming the field, so matching
 * can walk the (copied) pattern without checks. The rules follow EventBridge content
 * filtering: a field must satisfy every key of its object (AND), any value of its array
 * (OR); "$or" offers alternative sub-patterns; an event field holding an array matches if
 * any element does; only "exists": false matches an absent field, and "numeric" only
 * matches JSON numbers (so DynamoDB's "N" strings need exact or prefix matching).
 */
#include "pipe.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Nesting beyond this is rejected (bounds recursion on hostile input). */
enum { PIP_PATTERN_MAX_DEPTH = 32, PIP_OR_MIN_ALTERNATIVES = 2 };

struct pip_pattern {
    json_t *root; /* validated copy */
};

struct pip_filter {
    pip_pattern *patterns[PIP_FILTERS_MAX];
    size_t n;
};

/* ---- validation ------------------------------------------------------------------------- */

static bool fail(sp_err *e, const char *path, const char *what)
{
    sp_err_invalid(e, "Event pattern is not valid: field '%s': %s", path[0] ? path : "(root)",
                   what);
    return false;
}

static bool is_case_string_or(const json_t *v, bool allow_eic)
{
    if (json_is_string(v)) return true;
    if (!allow_eic || !json_is_object(v) || json_object_size(v) != 1) return false;
    return json_is_string(json_object_get(v, "equals-ignore-case"));
}

/* ["=", 5] or up to one lower (">", ">=") and one upper ("<", "<=") bound, lower < upper. */
static bool check_numeric(const json_t *v, const char *path, sp_err *e)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0 || n % 2 || n > 4)
        return fail(e, path, "numeric needs one or two (operator, number) pairs");
    bool has_lower = false, has_upper = false, has_eq = false;
    double lower = 0, upper = 0;
    for (size_t i = 0; i < n; i += 2) {
        const char *op = json_string_value(json_array_get(v, i));
        const json_t *num = json_array_get(v, i + 1);
        if (!op) return fail(e, path, "numeric operators must be strings");
        if (!json_is_number(num)) return fail(e, path, "numeric operands must be numbers");
        double x = json_number_value(num);
        if (!strcmp(op, "=")) {
            if (n != 2) return fail(e, path, "numeric '=' cannot be combined with a range");
            has_eq = true;
        } else if (!strcmp(op, ">") || !strcmp(op, ">=")) {
            if (has_lower) return fail(e, path, "numeric has two lower bounds");
            has_lower = true, lower = x;
        } else if (!strcmp(op, "<") || !strcmp(op, "<=")) {
            if (has_upper) return fail(e, path, "numeric has two upper bounds");
            has_upper = true, upper = x;
        } else {
            return fail(e, path, "unknown numeric operator (use =, <, <=, >, >=)");
        }
    }
    if (has_lower && has_upper && !(lower < upper))
        return fail(e, path, "numeric lower bound must be below the upper bound");
    (void)has_eq;
    return true;
}

static bool check_anything_but(const json_t *v, const char *path, sp_err *e)
{
    if (json_is_string(v) || json_is_number(v)) return true;
    if (json_is_array(v)) {
        size_t n = json_array_size(v);
        if (n == 0) return fail(e, path, "anything-but list must not be empty");
        bool strings = json_is_string(json_array_get(v, 0));
        for (size_t i = 0; i < n; i++) {
            const json_t *x = json_array_get(v, i);
            if (strings ? !json_is_string(x) : !json_is_number(x))
                return fail(e, path, "anything-but list must hold only strings or only numbers");
        }
        return true;
    }
    if (json_is_object(v) && json_object_size(v) == 1) {
        const json_t *p = json_object_get(v, "prefix");
        const json_t *s = json_object_get(v, "suffix");
        const json_t *c = json_object_get(v, "equals-ignore-case");
        if (p || s) {
            if (!json_is_string(p ? p : s))
                return fail(e, path, "anything-but prefix/suffix needs a string");
            return true;
        }
        if (c) {
            if (json_is_string(c)) return true;
            if (json_is_array(c) && json_array_size(c) > 0) {
                for (size_t i = 0; i < json_array_size(c); i++)
                    if (!json_is_string(json_array_get(c, i)))
                        return fail(e, path, "anything-but equals-ignore-case needs strings");
                return true;
            }
            return fail(e, path, "anything-but equals-ignore-case needs strings");
        }
    }
    return fail(e, path, "anything-but needs a value, a list, or {prefix|suffix|"
                         "equals-ignore-case}");
}

static bool check_matcher(const json_t *m, const char *path, sp_err *e)
{
    if (json_object_size(m) != 1) return fail(e, path, "a matcher object needs exactly one key");
    const char *key = json_object_iter_key(json_object_iter((json_t *)m));
    const json_t *v = json_object_iter_value(json_object_iter((json_t *)m));
    if (!strcmp(key, "prefix") || !strcmp(key, "suffix")) {
        if (!is_case_string_or(v, true))
            return fail(e, path, "prefix/suffix needs a string or {\"equals-ignore-case\": string}");
        return true;
    }
    if (!strcmp(key, "equals-ignore-case") || !strcmp(key, "wildcard")) {
        if (!json_is_string(v)) return fail(e, path, "equals-ignore-case/wildcard needs a string");
        if (!strcmp(key, "wildcard") && strstr(json_string_value(v), "**"))
            return fail(e, path, "wildcard must not contain consecutive '*'");
        return true;
    }
    if (!strcmp(key, "exists")) {
        if (!json_is_boolean(v)) return fail(e, path, "exists needs true or false");
        return true;
    }
    if (!strcmp(key, "numeric")) return check_numeric(v, path, e);
    if (!strcmp(key, "anything-but")) return check_anything_but(v, path, e);
    char what[160];
    snprintf(what, sizeof what, "unrecognized match type '%.64s'", key);
    return fail(e, path, what);
}

static bool check_values(const json_t *arr, const char *path, sp_err *e)
{
    if (json_array_size(arr) == 0) return fail(e, path, "a value list must not be empty");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *v = json_array_get(arr, i);
        if (json_is_object(v)) {
            if (!check_matcher(v, path, e)) return false;
        } else if (json_is_array(v)) {
            return fail(e, path, "a value list cannot contain a list");
        }
    }
    return true;
}

static bool check_object(const json_t *obj, const char *path, int depth, sp_err *e)
{
    if (depth > PIP_PATTERN_MAX_DEPTH) return fail(e, path, "pattern is nested too deeply");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
        if (!strcmp(key, "$or")) {
            if (!json_is_array(v) || json_array_size(v) < PIP_OR_MIN_ALTERNATIVES)
                return fail(e, sub, "$or needs a list of at least two patterns");
            for (size_t i = 0; i < json_array_size(v); i++) {
                const json_t *alt = json_array_get(v, i);
                if (!json_is_object(alt)) return fail(e, sub, "$or alternatives must be objects");
                if (!check_object(alt, path, depth + 1, e)) return false;
            }
        } else if (json_is_object(v)) {
            if (!check_object(v, sub, depth + 1, e)) return false;
        } else if (json_is_array(v)) {
            if (!check_values(v, sub, e)) return false;
        } else {
            return fail(e, sub, "must be a list of values or an object");
        }
    }
    return true;
}

pip_pattern *pip_pattern_compile(const json_t *pattern, sp_err *e)
{
    if (!json_is_object(pattern)) {
        fail(e, "", "a pattern must be a JSON object");
        return NULL;
    }
    if (!check_object(pattern, "", 0, e)) return NULL;
    pip_pattern *p = malloc(sizeof *p);
    p->root = json_deep_copy(pattern);
    return p;
}

pip_pattern *pip_pattern_parse(const char *text, size_t len, sp_err *e)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        sp_err_invalid(e, "Event pattern is not valid JSON: %s (at position %d)", je.text,
                       je.position);
        return NULL;
    }
    pip_pattern *p = pip_pattern_compile(j, e);
    json_decref(j);
    return p;
}

void pip_pattern_destroy(pip_pattern *p)
{
    if (!p) return;
    json_decref(p->root);
    free(p);
}

/* ---- matching --------------------------------------------------------------------------- */

static bool starts_with(const char *s, const char *pre, bool icase)
{
    size_t n = strlen(pre);
    return strlen(s) >= n && !(icase ? strncasecmp(s, pre, n) : strncmp(s, pre, n));
}

static bool ends_with(const char *s, const char *suf, bool icase)
{
    size_t n = strlen(suf), m = strlen(s);
    return m >= n && !(icase ? strncasecmp(s + m - n, suf, n) : strncmp(s + m - n, suf, n));
}

/* '*' matches any run of characters; iterative with one backtrack point. */
static bool glob_match(const char *pat, const char *s)
{
    const char *star = NULL, *resume = NULL;
    while (*s) {
        if (*pat == '*') {
            star = pat++;
            resume = s;
        } else if (*pat == *s) {
            pat++, s++;
        } else if (star) {
            pat = star + 1;
            s = ++resume;
        } else {
            return false;
        }
    }
    while (*pat == '*') pat++;
    return !*pat;
}

/* {"prefix": "x"} or {"prefix": {"equals-ignore-case": "x"}} */
static bool affix_match(const json_t *arg, const char *s, bool prefix)
{
    bool icase = json_is_object(arg);
    const char *want = json_string_value(icase ? json_object_get(arg, "equals-ignore-case") : arg);
    return prefix ? starts_with(s, want, icase) : ends_with(s, want, icase);
}

static bool literal_equal(const json_t *lit, const json_t *v)
{
    if (json_is_string(lit))
        return json_is_string(v) && !strcmp(json_string_value(lit), json_string_value(v));
    if (json_is_number(lit))
        return json_is_number(v) && json_number_value(lit) == json_number_value(v);
    if (json_is_null(lit)) return json_is_null(v);
    if (json_is_boolean(lit)) return json_is_boolean(v) && json_is_true(lit) == json_is_true(v);
    return false;
}

static bool numeric_match(const json_t *range, double x)
{
    for (size_t i = 0; i + 1 < json_array_size(range); i += 2) {
        const char *op = json_string_value(json_array_get(range, i));
        double b = json_number_value(json_array_get(range, i + 1));
        bool ok = !strcmp(op, "=")    ? x == b
                  : !strcmp(op, "<")  ? x < b
                  : !strcmp(op, "<=") ? x <= b
                  : !strcmp(op, ">")  ? x > b
                                      : x >= b;
        if (!ok) return false;
    }
    return true;
}

/* True if v (a leaf) is one of anything-but's excluded values. */
static bool anything_but_excludes(const json_t *arg, const json_t *v)
{
    if (json_is_array(arg)) {
        for (size_t i = 0; i < json_array_size(arg); i++)
            if (literal_equal(json_array_get(arg, i), v)) return true;
        return false;
    }
    if (json_is_object(arg)) {
        const char *s = json_string_value(v);
        const json_t *c = json_object_get(arg, "equals-ignore-case");
        if (!s) return true; /* string-only forms never accept a non-string */
        if (c) {
            if (json_is_string(c)) return !strcasecmp(s, json_string_value(c));
            for (size_t i = 0; i < json_array_size(c); i++)
                if (!strcasecmp(s, json_string_value(json_array_get(c, i)))) return true;
            return false;
        }
        const json_t *p = json_object_get(arg, "prefix");
        return p ? starts_with(s, json_string_value(p), false)
                 : ends_with(s, json_string_value(json_object_get(arg, "suffix")), false);
    }
    return literal_equal(arg, v);
}

/* One matcher or literal against one present value (which may be an object: not a leaf). */
static bool value_match(const json_t *m, const json_t *v)
{
    bool leaf = !json_is_object(v) && !json_is_array(v);
    if (!json_is_object(m)) return leaf && literal_equal(m, v);
    const char *key = json_object_iter_key(json_object_iter((json_t *)m));
    const json_t *arg = json_object_iter_value(json_object_iter((json_t *)m));
    if (!strcmp(key, "exists")) return json_is_true(arg) == leaf;
    if (!leaf) return false;
    if (!strcmp(key, "anything-but")) return !anything_but_excludes(arg, v);
    if (!strcmp(key, "numeric")) return json_is_number(v) && numeric_match(arg, json_number_value(v));
    const char *s = json_string_value(v);
    if (!s) return false;
    if (!strcmp(key, "prefix")) return affix_match(arg, s, true);
    if (!strcmp(key, "suffix")) return affix_match(arg, s, false);
    if (!strcmp(key, "equals-ignore-case")) return !strcasecmp(s, json_string_value(arg));
    if (!strcmp(key, "wildcard")) return glob_match(json_string_value(arg), s);
    return false;
}

static bool values_match_one(const json_t *values, const json_t *v)
{
    for (size_t i = 0; i < json_array_size(values); i++)
        if (value_match(json_array_get(values, i), v)) return true;
    return false;
}

static bool values_match(const json_t *values, const json_t *field)
{
    if (json_is_array(field) && json_array_size(field) > 0) {
        for (size_t i = 0; i < json_array_size(field); i++)
            if (values_match_one(values, json_array_get(field, i))) return true;
        return false;
    }
    if (!field || json_is_array(field)) { /* absent (an empty array counts as absent) */
        for (size_t i = 0; i < json_array_size(values); i++) {
            const json_t *m = json_array_get(values, i);
            if (json_is_object(m) && json_is_false(json_object_get(m, "exists"))) return true;
        }
        return false;
    }
    return values_match_one(values, field);
}

static bool object_match(const json_t *pat, const json_t *ev)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)pat, key, v) {
        if (!strcmp(key, "$or")) {
            bool any = false;
            for (size_t i = 0; i < json_array_size(v) && !any; i++)
                any = object_match(json_array_get(v, i), ev);
            if (!any) return false;
            continue;
        }
        const json_t *field = json_is_object(ev) ? json_object_get(ev, key) : NULL;
        if (json_is_object(v)) {
            if (json_is_array(field) && json_array_size(field) > 0) {
                bool any = false;
                for (size_t i = 0; i < json_array_size(field) && !any; i++)
                    any = object_match(v, json_array_get(field, i));
                if (!any) return false;
            } else if (!object_match(v, json_is_object(field) ? field : NULL)) {
                return false;
            }
        } else if (!values_match(v, field)) {
            return false;
        }
    }
    return true;
}

bool pip_pattern_match(const pip_pattern *p, const json_t *event)
{
    return object_match(p->root, event);
}

/* ---- filter sets ------------------------------------------------------------------------ */

pip_filter *pip_filter_new(const json_t *patterns, sp_err *e)
{
    pip_filter *f = calloc(1, sizeof *f);
    if (!patterns || json_is_null(patterns)) return f;
    if (!json_is_array(patterns)) {
        sp_err_invalid(e, "FilterCriteria.Filters must be a list");
        goto bad;
    }
    if (json_array_size(patterns) > PIP_FILTERS_MAX) {
        sp_err_invalid(e, "FilterCriteria.Filters has %zu filters; at most %d are allowed",
                       json_array_size(patterns), PIP_FILTERS_MAX);
        goto bad;
    }
    for (size_t i = 0; i < json_array_size(patterns); i++) {
        const json_t *p = json_array_get(patterns, i);
        if (json_is_string(p) && json_string_length(p) > PIP_FILTER_PATTERN_MAX) {
            sp_err_invalid(e, "FilterCriteria.Filters[%zu].Pattern is longer than %d characters",
                           i, PIP_FILTER_PATTERN_MAX);
            goto bad;
        }
        f->patterns[f->n] = json_is_string(p)
                                ? pip_pattern_parse(json_string_value(p), json_string_length(p), e)
                                : pip_pattern_compile(p, e);
        if (!f->patterns[f->n]) {
            char ctx[64];
            snprintf(ctx, sizeof ctx, "FilterCriteria.Filters[%zu].Pattern", i);
            sp_err_wrap(e, ctx);
            goto bad;
        }
        f->n++;
    }
    return f;
bad:
    pip_filter_destroy(f);
    return NULL;
}

bool pip_filter_pass(const pip_filter *f, const json_t *event)
{
    if (f->n == 0) return true;
    for (size_t i = 0; i < f->n; i++)
        if (pip_pattern_match(f->patterns[i], event)) return true;
    return false;
}

void pip_filter_destroy(pip_filter *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) pip_pattern_destroy(f->patterns[i]);
    free(f);
}
