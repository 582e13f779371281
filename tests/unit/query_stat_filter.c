/* Parquet row-group skipping: a group is excluded exactly when no value in its [min, max]
 * can satisfy the constraint, numbers against numbers and text against text; unknown or
 * mismatched statistics never exclude. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "query/qry_int.h"

static bool excl(qry_sf_op op, double v, long long lo, long long hi)
{
    qry_stat_filter f = {.column = "q", .op = op, .numeric = true, .num = v};
    json_t *a = json_integer(lo), *b = json_integer(hi);
    bool r = qry_stat_filter_excludes(&f, a, b);
    json_decref(a);
    json_decref(b);
    return r;
}

static void numbers_exclude_only_outside_the_range(void **state)
{
    (void)state;
    assert_true(excl(QRY_SF_EQ, 0, 1, 5));
    assert_false(excl(QRY_SF_EQ, 1, 1, 5));
    assert_false(excl(QRY_SF_EQ, 5, 1, 5));
    assert_true(excl(QRY_SF_EQ, 6, 1, 5));
    assert_true(excl(QRY_SF_LT, 1, 1, 5));     /* q < 1 with min 1 */
    assert_false(excl(QRY_SF_LT, 1.5, 1, 5));
    assert_false(excl(QRY_SF_LE, 1, 1, 5));
    assert_true(excl(QRY_SF_LE, 0.5, 1, 5));
    assert_true(excl(QRY_SF_GT, 5, 1, 5));     /* q > 5 with max 5 */
    assert_false(excl(QRY_SF_GT, 4.9, 1, 5));
    assert_false(excl(QRY_SF_GE, 5, 1, 5));
    assert_true(excl(QRY_SF_GE, 5.1, 1, 5));
}

static void text_and_unknown_statistics(void **state)
{
    (void)state;
    qry_stat_filter f = {.column = "s", .op = QRY_SF_EQ, .text = "m"};
    json_t *a = json_string("apple"), *b = json_string("kiwi"), *n = json_integer(3);
    assert_true(qry_stat_filter_excludes(&f, a, b));
    f.text = "banana";
    assert_false(qry_stat_filter_excludes(&f, a, b));
    assert_false(qry_stat_filter_excludes(&f, NULL, b));   /* no statistics */
    assert_false(qry_stat_filter_excludes(&f, n, n));      /* text filter, numeric stats */
    qry_stat_filter g = {.column = "q", .op = QRY_SF_EQ, .numeric = true, .num = 9};
    assert_false(qry_stat_filter_excludes(&g, a, b));      /* numeric filter, text stats */
    json_decref(a);
    json_decref(b);
    json_decref(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers_exclude_only_outside_the_range),
        cmocka_unit_test(text_and_unknown_statistics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
