/* Fuzz target for the DynamoDB expression parser, evaluator and updater and for number
 * parsing (table/expr.h). The first input byte picks what the rest is: one of the five
 * expression kinds, parsed against fixed ExpressionAttributeNames/Values and then run on a
 * fixed item; or a number, whose canonical text must parse back to the same value and whose
 * sort-key encoding must decode to it. Any failure must be a 400 ValidationException;
 * nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/expr.h"

enum { FUZZ_KINDS = 6 };

static const char *NAMES = "{\"#a\":\"a\",\"#b\":\"b\",\"#n\":\"name\",\"#k\":\"k\"}";
static const char *VALUES =
    "{\":s\":{\"S\":\"ab\"},\":n\":{\"N\":\"2.5\"},\":z\":{\"N\":\"-1E-3\"},"
    "\":l\":{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"}]},\":ss\":{\"SS\":[\"a\",\"b\"]},"
    "\":ns\":{\"NS\":[\"1\",\"2\"]},\":m\":{\"M\":{\"q\":{\"BOOL\":true}}},"
    "\":b\":{\"B\":\"AAE=\"},\":t\":{\"S\":\"N\"},\":nul\":{\"NULL\":true}}";
static const char *ITEM =
    "{\"k\":{\"S\":\"key\"},\"a\":{\"N\":\"10\"},\"b\":{\"S\":\"abc\"},"
    "\"name\":{\"M\":{\"x\":{\"L\":[{\"N\":\"1\"},{\"M\":{\"y\":{\"S\":\"z\"}}}]}}},"
    "\"s\":{\"SS\":[\"a\",\"c\"]},\"l\":{\"L\":[{\"N\":\"0\"},{\"N\":\"1\"},{\"N\":\"2\"}]},"
    "\"bin\":{\"B\":\"AAEC\"}}";

static void fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_table_expr: %s\n%s\n", what, detail ? detail : "");
    abort();
}

static void check_error(const sp_err *e)
{
    if (e->status != 400 || strcmp(e->code, "ValidationException") != 0)
        fuzz_fail("failure without a ValidationException", e->msg);
}

static void fuzz_number(const char *text)
{
    tbl_num n, back;
    sp_err e = {0};
    if (!tbl_num_parse(text, &n, &e)) {
        check_error(&e);
        return;
    }
    char canon[TBL_NUM_STR_MAX];
    tbl_num_format(&n, canon);
    if (!tbl_num_parse(canon, &back, &e) || tbl_num_cmp(&n, &back) != 0)
        fuzz_fail("canonical text does not parse back to the same number", canon);
    uint8_t key[TBL_NUM_KEY_MAX];
    size_t len = tbl_num_encode(&n, key);
    if (!tbl_num_decode(key, len, &back) || tbl_num_cmp(&n, &back) != 0)
        fuzz_fail("encoding does not decode to the same number", canon);
    tbl_num sum;
    if (tbl_num_add(&n, &n, &sum, &e) && tbl_num_sub(&sum, &n, &back, &e) &&
        tbl_num_cmp(&back, &n) != 0)
        fuzz_fail("(n + n) - n != n", canon);
}

static void fuzz_expr(tbl_expr_kind kind, const char *text, const json_t *names,
                      const json_t *values, const json_t *item)
{
    sp_err e = {0};
    tbl_expr_usage u;
    tbl_expr_usage_init(&u);
    tbl_expr *x = tbl_expr_parse(kind, text, names, values, &u, &e);
    if (!x) {
        check_error(&e);
        tbl_expr_usage_clear(&u);
        return;
    }
    (void)tbl_expr_check_unused(&u, names, values, &e);
    tbl_expr_usage_clear(&u);
    bool r;
    tbl_key_cond kc;
    json_t *out, *proj;
    switch (kind) {
    case TBL_EXPR_CONDITION:
    case TBL_EXPR_FILTER:
        if (!tbl_expr_eval(x, item, &r, &e) || !tbl_expr_eval(x, NULL, &r, &e))
            fuzz_fail("evaluation failed", e.msg);
        break;
    case TBL_EXPR_KEY_CONDITION:
        if (!tbl_expr_key_condition(x, "k", &kc, &e)) check_error(&e);
        break;
    case TBL_EXPR_UPDATE:
        for (int pass = 0; pass < 2; pass++) {
            sp_err_clear(&e);
            out = tbl_expr_update(x, pass ? item : NULL, &e);
            if (!out) {
                check_error(&e);
                continue;
            }
            proj = tbl_expr_project(x, out);
            json_decref(proj);
            json_decref(out);
        }
        break;
    case TBL_EXPR_PROJECTION:
        proj = tbl_expr_project(x, item);
        json_decref(proj);
        break;
    }
    tbl_expr_free(x);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 2 * TBL_EXPR_MAX_LEN) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    unsigned what = data[0] % FUZZ_KINDS;
    if (what == FUZZ_KINDS - 1) {
        fuzz_number(text);
    } else {
        json_t *names = json_loads(NAMES, 0, NULL), *values = json_loads(VALUES, 0, NULL);
        json_t *item = json_loads(ITEM, 0, NULL);
        fuzz_expr((tbl_expr_kind)what, text, names, values, item);
        json_decref(names);
        json_decref(values);
        json_decref(item);
    }
    free(text);
    return 0;
}
