/* GetPartitions Expression: the Glue/Hive partition filter selects exactly the partitions
 * the predicate holds for, typed by the partition keys' types (10 > 9 for an int key,
 * '10' < '9' for a string key), and refuses what it cannot read with InvalidInputException
 * naming the problem. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog/cat_int.h"

static const cat_column KEYS[] = {
    {.name = "partition_0", .type = "string"}, {.name = "partition_1", .type = "string"},
    {.name = "year", .type = "int"},           {.name = "price", .type = "decimal(10,2)"},
    {.name = "day", .type = "date"},           {.name = "ts", .type = "timestamp"},
};
enum { N_KEYS = sizeof KEYS / sizeof KEYS[0] };

static bool match(const char *expr, const char *p0, const char *p1, const char *year,
                  const char *price, const char *day, const char *ts)
{
    sp_err e = {0};
    cat_pexpr *x = cat_pexpr_parse(expr, KEYS, N_KEYS, &e);
    if (!x) fail_msg("'%s' refused: %s", expr, e.msg);
    const char *vals[] = {p0, p1, year, price, day, ts};
    bool r = cat_pexpr_match(x, vals, N_KEYS);
    cat_pexpr_destroy(x);
    return r;
}

#define M(expr) match(expr, "2026", "13", "10", "9.50", "2026-02-03", "2026-02-03 04:05:06.5")

static void comparisons_follow_the_key_type(void **state)
{
    (void)state;
    assert_true(M("partition_0 = '2026'"));
    assert_true(M("partition_0 = 2026")); /* a number literal against a string key: its text */
    assert_false(M("partition_1 > '9'"));  /* strings compare as text: '13' < '9' */
    assert_true(M("year > 9"));            /* ints compare as numbers */
    assert_true(M("year > '9'"));
    assert_true(M("year = 10 AND year >= 10 AND year <= 10 AND NOT year < 10"));
    assert_true(M("year <> 11 AND year != 11"));
    assert_true(M("price < 10 AND price > 9.4 AND price = 9.5"));
    assert_true(M("day < '2026-10-01' AND day > '2025-12-31'"));
    assert_true(M("ts > '2026-02-03 04:05:06.499999' AND ts < '2026-02-03 04:05:06.6'"));
    assert_true(M("ts = '2026-02-03 04:05:06.500'"));
}

static void in_between_like_and_logic(void **state)
{
    (void)state;
    assert_true(M("partition_0 = '2026' AND partition_1 IN ('13','14')"));
    assert_false(M("partition_0 = '2026' AND partition_1 NOT IN ('13','14')"));
    assert_true(M("year BETWEEN 9 AND 11"));
    assert_false(M("year NOT BETWEEN 9 AND 11"));
    assert_false(M("year BETWEEN 11 AND 9"));
    assert_true(M("partition_0 LIKE '20%' AND partition_1 LIKE '_3' AND partition_1 LIKE '%'"));
    assert_false(M("partition_0 LIKE '20'"));
    assert_true(M("partition_0 NOT LIKE '%7'"));
    assert_true(M("(partition_0 = '2025' OR partition_0 = '2026') AND (year = 1 OR year = 10)"));
    assert_true(M("partition_0 = '2025' OR partition_0 = '2026' AND year = 10"));
    assert_false(M("(partition_0 = '2025' OR partition_0 = '2026') AND year = 1"));
    assert_true(M("NOT (partition_0 = '2025')"));
    assert_true(M("partition_0 IS NOT NULL and not partition_1 is null"));
    assert_true(M("  PARTITION_0\t=\n'2026'  "));
    assert_true(match("partition_0 = 'it''s'", "it's", "", "0", "0", "2026-01-01",
                      "2026-01-01 00:00:00"));
}

static void stored_values_of_another_type_match_nothing(void **state)
{
    (void)state;
    assert_false(match("year > 0", "a", "b", "x", "1", "2026-01-01", "2026-01-01 00:00:00"));
    assert_true(match("NOT year > 0", "a", "b", "x", "1", "2026-01-01", "2026-01-01 00:00:00"));
}

static void refused(const char *expr, const char *needle)
{
    sp_err e = {0};
    cat_pexpr *x = cat_pexpr_parse(expr, KEYS, N_KEYS, &e);
    if (x) fail_msg("'%s' was accepted", expr);
    assert_string_equal(e.code, "InvalidInputException");
    assert_int_equal(e.status, 400);
    if (!strstr(e.msg, needle)) fail_msg("'%s': message '%s' lacks '%s'", expr, e.msg, needle);
}

static void bad_expressions_are_refused_naming_the_problem(void **state)
{
    (void)state;
    refused("colour = 'red'", "Unknown column 'colour'");
    refused("year = 'abc'", "not an integer");
    refused("year = 1.5", "not an integer");
    refused("price = 'x'", "not a decimal");
    refused("day = '2026-02-30'", "not a date");
    refused("ts = '2026-02-03'", "not a timestamp");
    refused("year LIKE '1%'", "Integral data type doesn't support operation 'LIKE'");
    refused("partition_0 = 'open", "unterminated string");
    refused("partition_0 = ", "expected a string or number literal");
    refused("partition_0 == '1'", "expected a string or number literal");
    refused("partition_0 = '1' AND", "expected a partition key");
    refused("partition_0 = '1' partition_1 = '2'", "unexpected text");
    refused("(partition_0 = '1'", "expected ')'");
    refused("partition_0 IN ()", "literal");
    refused("partition_0 IN ('1' '2')", "expected ',' or ')'");
    refused("partition_0 BETWEEN '1' OR '2'", "expected AND in BETWEEN");
    refused("partition_0 LIKE 5", "LIKE needs a string pattern");
    refused("partition_0 = \"x\"", "unexpected character");
    refused("partition_0 = '1'; DROP TABLE t", "unexpected character");
    refused("partition_0 IS 'x'", "expected NULL");
    refused("partition_0 NOT = '1'", "expected LIKE, IN or BETWEEN");
    refused("year = 12abc", "malformed number");
    refused("", "expected a partition key");
}

static void nesting_and_length_are_bounded(void **state)
{
    (void)state;
    char deep[1024];
    size_t n = 0;
    for (int i = 0; i < 200; i++) deep[n++] = '(';
    strcpy(deep + n, "year = 1");
    refused(deep, "nested deeper");
    char *big = malloc(CAT_PEXPR_MAX + 64);
    memset(big, ' ', CAT_PEXPR_MAX + 10);
    memcpy(big, "year = 1", 8);
    big[CAT_PEXPR_MAX + 10] = '\0';
    refused(big, "longer than");
    free(big);
    char ok[512] = "";
    for (int i = 0; i < 30; i++) strcat(ok, "(");
    strcat(ok, "year = 10");
    for (int i = 0; i < 30; i++) strcat(ok, ")");
    assert_true(M(ok));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(comparisons_follow_the_key_type),
        cmocka_unit_test(in_between_like_and_logic),
        cmocka_unit_test(stored_values_of_another_type_match_nothing),
        cmocka_unit_test(bad_expressions_are_refused_naming_the_problem),
        cmocka_unit_test(nesting_and_length_are_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
