/* Partition pruning, timestamps and the SQL rewriter of the query stage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "query/qry_int.h"

static const char *const HOUR13[] = {"2026", "11", "26", "13"};

static void equality_on_a_key_prunes_other_values(void **state)
{
    (void)state;
    const char *v13[] = {"13"}, *v14[] = {"14"};
    qry_constraint eq13 = {.key = 3, .op = QRY_OP_EQ, .vals = v13, .n_vals = 1};
    qry_constraint eq14 = {.key = 3, .op = QRY_OP_EQ, .vals = v14, .n_vals = 1};
    assert_true(qry_partition_match(HOUR13, 4, &eq13, 1));
    assert_false(qry_partition_match(HOUR13, 4, &eq14, 1));
}

static void in_lists_match_any_value(void **state)
{
    (void)state;
    const char *vals[] = {"12", "13"}, *none[] = {"01", "02"};
    qry_constraint in = {.key = 3, .op = QRY_OP_EQ, .vals = vals, .n_vals = 2};
    qry_constraint out = {.key = 3, .op = QRY_OP_EQ, .vals = none, .n_vals = 2};
    assert_true(qry_partition_match(HOUR13, 4, &in, 1));
    assert_false(qry_partition_match(HOUR13, 4, &out, 1));
}

static void ranges_compare_as_text(void **state)
{
    (void)state;
    const char *v12[] = {"12"}, *v13[] = {"13"};
    qry_constraint c[] = {{.key = 3, .op = QRY_OP_GT, .vals = v12, .n_vals = 1},
                          {.key = 3, .op = QRY_OP_LE, .vals = v13, .n_vals = 1}};
    assert_true(qry_partition_match(HOUR13, 4, c, 2));
    qry_constraint lt[] = {{.key = 3, .op = QRY_OP_LT, .vals = v13, .n_vals = 1}};
    assert_false(qry_partition_match(HOUR13, 4, lt, 1));
    qry_constraint ne[] = {{.key = 3, .op = QRY_OP_NE, .vals = v13, .n_vals = 1}};
    assert_false(qry_partition_match(HOUR13, 4, ne, 1));
}

static void null_values_match_nothing_and_unknown_keys_nothing_is_pruned(void **state)
{
    (void)state;
    const char *nul[] = {NULL};
    qry_constraint c = {.key = 0, .op = QRY_OP_EQ, .vals = nul, .n_vals = 1};
    assert_false(qry_partition_match(HOUR13, 4, &c, 1));
    const char *x[] = {"x"};
    qry_constraint far = {.key = 9, .op = QRY_OP_EQ, .vals = x, .n_vals = 1};
    assert_true(qry_partition_match(HOUR13, 4, &far, 1));
}

static void timestamps_parse_format_and_truncate(void **state)
{
    (void)state;
    int64_t ms, t;
    bool zoned;
    char out[64];
    assert_true(qry_ts_parse("2026-11-26T13:00:05Z", &ms, &zoned));
    assert_true(zoned);
    qry_ts_format(ms, zoned, out, sizeof out);
    assert_string_equal(out, "2026-11-26 13:00:05.000 UTC");
    assert_true(qry_ts_parse("2026-11-26 15:00:05.250+02:00", &ms, &zoned));
    qry_ts_format(ms, false, out, sizeof out);
    assert_string_equal(out, "2026-11-26 13:00:05.250");
    assert_true(qry_ts_trunc("month", ms, &t));
    qry_ts_format(t, false, out, sizeof out);
    assert_string_equal(out, "2026-11-01 00:00:00.000");
    assert_true(qry_ts_trunc("week", ms, &t)); /* 2026-11-26 is a Thursday */
    qry_ts_format(t, false, out, sizeof out);
    assert_string_equal(out, "2026-11-23 00:00:00.000");
    assert_false(qry_ts_trunc("fortnight", ms, &t));
    qry_ts_strftime(ms, "%Y/%m/%d %H:%i:%s %b %W", out, sizeof out);
    assert_string_equal(out, "2026/11/26 13:00:05 Nov Thursday");
    assert_false(qry_ts_parse("26/11/2026", &ms, &zoned));
    assert_false(qry_ts_parse("2026-13-01", &ms, &zoned));
    assert_true(qry_ts_parse("1969-12-31T23:59:59Z", &ms, &zoned));
    assert_int_equal(ms, -1000);
}

static void rewrite(const char *sql, const char *want)
{
    qry_sql q;
    sp_err e = {0};
    assert_true(qry_sql_rewrite(sql, &q, &e));
    assert_string_equal(q.text, want);
    qry_sql_clear(&q);
}

static void athena_casts_and_literals_are_rewritten(void **state)
{
    (void)state;
    rewrite("select cast(x as timestamp), CAST(y AS bigint)",
            "select qry_cast_timestamp(x), CAST(y AS bigint)");
    rewrite("select try_cast(cast(a as date) as varchar)",
            "select CAST(qry_cast_date(a) as varchar)");
    rewrite("where t > timestamp '2026-11-26 13:00:00' and 'cast(x as date)' = \"timestamp\"",
            "where t > qry_cast_timestamp('2026-11-26 13:00:00') and 'cast(x as date)' = "
            "\"timestamp\"");
    qry_sql q;
    sp_err e = {0};
    assert_false(qry_sql_rewrite("select 'abc", &q, &e));
    assert_string_equal(e.msg, "line 1:8: unterminated string literal");
}

static void error_offsets_map_back_to_the_original(void **state)
{
    (void)state;
    qry_sql q;
    sp_err e = {0};
    const char *sql = "select cast(x as timestamp), zz";
    assert_true(qry_sql_rewrite(sql, &q, &e));
    const char *zz = strstr(q.text, "zz");
    assert_int_equal(qry_sql_original_offset(&q, (size_t)(zz - q.text)), strstr(sql, "zz") - sql);
    qry_sql_clear(&q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equality_on_a_key_prunes_other_values),
        cmocka_unit_test(in_lists_match_any_value),
        cmocka_unit_test(ranges_compare_as_text),
        cmocka_unit_test(null_values_match_nothing_and_unknown_keys_nothing_is_pruned),
        cmocka_unit_test(timestamps_parse_format_and_truncate),
        cmocka_unit_test(athena_casts_and_literals_are_rewritten),
        cmocka_unit_test(error_offsets_map_back_to_the_original),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
