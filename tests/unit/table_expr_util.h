/* Helpers shared by the table_expr_* unit tests: JSON written with single quotes, and
 * one-line parse / evaluate / expect-error steps that fail the test with the message. */
#ifndef TABLE_EXPR_UTIL_H
#define TABLE_EXPR_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "table/expr.h"

/* JSON with ' for " (so tests stay readable); NULL text gives NULL. Caller decrefs. */
static inline json_t *js(const char *text)
{
    if (!text) return NULL;
    char *t = strdup(text);
    for (char *p = t; *p; p++)
        if (*p == '\'') *p = '"';
    json_error_t je;
    json_t *v = json_loads(t, JSON_DECODE_ANY, &je);
    if (!v) fail_msg("bad test JSON: %s (%s)", text, je.text);
    free(t);
    return v;
}

/* Compact, key-sorted text of v with ' for ", for comparing results. Caller frees. */
static inline char *dump(const json_t *v)
{
    char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    for (char *p = s; p && *p; p++)
        if (*p == '"') *p = '\'';
    return s;
}

static inline void assert_json(const json_t *v, const char *want)
{
    json_t *w = js(want);
    char *a = dump(v), *b = dump(w);
    if (strcmp(a, b)) fail_msg("got %s, want %s", a, b);
    free(a);
    free(b);
    json_decref(w);
}

static inline tbl_expr *parse_ok(tbl_expr_kind kind, const char *text, const char *names,
                                 const char *values)
{
    json_t *n = js(names), *v = js(values);
    sp_err e = {0};
    tbl_expr *x = tbl_expr_parse(kind, text, n, v, NULL, &e);
    if (!x) fail_msg("parse of '%s' failed: %s", text, e.msg);
    json_decref(n);
    json_decref(v);
    return x;
}

static inline void parse_err(tbl_expr_kind kind, const char *text, const char *names,
                             const char *values, const char *want)
{
    json_t *n = js(names), *v = js(values);
    sp_err e = {0};
    tbl_expr *x = tbl_expr_parse(kind, text, n, v, NULL, &e);
    if (x) fail_msg("'%s' parsed, expected error: %s", text, want);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "ValidationException");
    if (strcmp(e.msg, want)) fail_msg("'%s':\n got: %s\nwant: %s", text, e.msg, want);
    json_decref(n);
    json_decref(v);
}

/* Evaluates a ConditionExpression on item (JSON text or NULL). */
static inline bool cond(const char *text, const char *names, const char *values,
                        const char *item)
{
    tbl_expr *x = parse_ok(TBL_EXPR_CONDITION, text, names, values);
    json_t *it = js(item);
    bool r = false;
    sp_err e = {0};
    if (!tbl_expr_eval(x, it, &r, &e)) fail_msg("eval of '%s' failed: %s", text, e.msg);
    json_decref(it);
    tbl_expr_free(x);
    return r;
}

#endif
