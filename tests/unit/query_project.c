/* The projection pass inside window subqueries (qry_project.c): which statements it narrows,
 * to what, and the many it must leave exactly as written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/qry_int.h"

static const char *const COLS[] = {"orderid", "product_name", "quantity", "price",
                                   "cdc_event_type", "creation_datetime", "sequence_number",
                                   "partition_0"};

/* Knows t, db.t, "t" and db."t"; arg non-NULL: columns differing only in case. */
static bool fake_columns(void *arg, const char *ref, char ***names, size_t *n, bool *latest)
{
    *latest = false;
    if (strcasecmp(ref, "t") && strcasecmp(ref, "db.t") && strcmp(ref, "\"t\"") &&
        strcmp(ref, "db.\"t\""))
        return false;
    *n = sizeof COLS / sizeof *COLS;
    *names = calloc(*n, sizeof **names);
    for (size_t i = 0; i < *n; i++) (*names)[i] = strdup(COLS[i]);
    if (arg) {
        free((*names)[2]);
        (*names)[2] = strdup("ORDERID");
    }
    return true;
}

/* The statement after the pass (heap), or NULL if the pass left it alone. */
static char *project(const char *sql, void *arg)
{
    qry_sql q;
    sp_err e = {0};
    assert_true(qry_sql_rewrite(sql, &q, &e));
    char *out = qry_sql_project(&q, fake_columns, arg) ? strdup(q.text) : NULL;
    if (!out) assert_string_equal(q.text, sql); /* untouched when it says so */
    qry_sql_clear(&q);
    return out;
}

static void expect(const char *sql, const char *want)
{
    char *got = project(sql, NULL);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void untouched(const char *sql)
{
    char *got = project(sql, NULL);
    if (got) fail_msg("rewrote %s\ninto %s", sql, got);
}

#define WIN "row_number() OVER (PARTITION BY orderid ORDER BY sequence_number DESC) AS rn"

static void latest_per_key_keeps_only_named_columns(void **state)
{
    (void)state;
    expect("WITH current AS (SELECT * FROM (SELECT *, " WIN " FROM db.t) WHERE rn = 1 AND "
           "cdc_event_type <> 'REMOVE') SELECT product_name, count(*) FROM current "
           "GROUP BY product_name",
           "WITH current AS (SELECT * FROM (SELECT \"orderid\", \"product_name\", "
           "\"cdc_event_type\", \"sequence_number\", " WIN " FROM db.t) WHERE rn = 1 AND "
           "cdc_event_type <> 'REMOVE') SELECT product_name, count(*) FROM current "
           "GROUP BY product_name");
}

static void aliases_quotes_and_case_are_followed(void **state)
{
    (void)state;
    expect("SELECT \"PRICE\" FROM (SELECT *, " WIN " FROM \"t\" AS x WHERE x.quantity > 1) s",
           "SELECT \"PRICE\" FROM (SELECT \"orderid\", \"quantity\", \"price\", "
           "\"sequence_number\", " WIN " FROM \"t\" AS x WHERE x.quantity > 1) s");
    expect("SELECT Price FROM (SELECT *, " WIN " FROM T x ORDER BY rn LIMIT 3) s",
           "SELECT Price FROM (SELECT \"orderid\", \"price\", \"sequence_number\", " WIN
           " FROM T x ORDER BY rn LIMIT 3) s");
}

static void a_name_in_a_string_is_kept(void **state)
{
    (void)state;
    expect("SELECT json_extract('price', '$') FROM (SELECT *, " WIN " FROM t) s",
           "SELECT json_extract('price', '$') FROM (SELECT \"orderid\", \"price\", "
           "\"sequence_number\", " WIN " FROM t) s");
}

static void nothing_named_keeps_one_column(void **state)
{
    (void)state;
    expect("SELECT count(*) FROM (SELECT *, count(*) OVER () AS c FROM t) s",
           "SELECT count(*) FROM (SELECT \"orderid\", count(*) OVER () AS c FROM t) s");
}

static void every_window_subquery_is_narrowed(void **state)
{
    (void)state;
    expect("SELECT a.price FROM (SELECT *, " WIN " FROM t) a JOIN (SELECT *, " WIN
           " FROM t) b ON a.orderid = b.orderid",
           "SELECT a.price FROM (SELECT \"orderid\", \"price\", \"sequence_number\", " WIN
           " FROM t) a JOIN (SELECT \"orderid\", \"price\", \"sequence_number\", " WIN
           " FROM t) b ON a.orderid = b.orderid");
}

static void wildcards_that_reach_a_result_or_a_set_are_left_alone(void **state)
{
    (void)state;
    untouched("SELECT * FROM (SELECT *, " WIN " FROM t) WHERE rn = 1");
    untouched("SELECT *, " WIN " FROM t");
    untouched("SELECT orderid FROM (SELECT DISTINCT * FROM (SELECT *, " WIN " FROM t))");
    untouched("SELECT s.* FROM (SELECT *, " WIN " FROM t) s");
    untouched("SELECT price FROM (SELECT 1 AS one, * FROM (SELECT *, " WIN " FROM t))");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t) UNION ALL SELECT 1");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t) s NATURAL JOIN t");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t) s JOIN t USING (orderid)");
    untouched("SELECT 1 WHERE (1, 2) IN (SELECT * FROM (SELECT *, " WIN " FROM t))");
    untouched("SELECT (SELECT * FROM (SELECT *, " WIN " FROM t) LIMIT 1)");
    untouched("WITH c(a, b) AS (SELECT *, " WIN " FROM t) SELECT a FROM c");
}

static void positions_and_odd_quoting_are_left_alone(void **state)
{
    (void)state;
    untouched("SELECT price FROM (SELECT * FROM (SELECT *, " WIN " FROM t) ORDER BY 2)");
    untouched("SELECT price FROM (SELECT * FROM (SELECT *, " WIN " FROM t) ORDER BY rn, 3)");
    untouched("SELECT price FROM (SELECT * FROM (SELECT *, " WIN " FROM t) GROUP BY 1)");
    untouched("SELECT [price] FROM (SELECT *, " WIN " FROM t)");
    /* the same without the position is narrowed: the guard is that specific */
    expect("SELECT price FROM (SELECT * FROM (SELECT *, " WIN " FROM t) ORDER BY rn, price)",
           "SELECT price FROM (SELECT * FROM (SELECT \"orderid\", \"price\", "
           "\"sequence_number\", " WIN " FROM t) ORDER BY rn, price)");
}

static void subqueries_that_are_not_one_table_are_left_alone(void **state)
{
    (void)state;
    untouched("SELECT price FROM (SELECT *, 1 AS one FROM t)");                 /* no window */
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t, t AS u)");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t JOIN t AS u ON 1)");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t LEFT JOIN t AS u ON 1)");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t GROUP BY orderid)");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM (SELECT * FROM t))");
    untouched("SELECT price FROM (SELECT *, " WIN " FROM other)");            /* unknown */
    untouched("SELECT price FROM (SELECT *, " WIN " FROM t NOT INDEXED)");
    untouched("WITH t AS (SELECT 1 AS orderid) SELECT price FROM (SELECT *, " WIN " FROM t)");
    /* every column named: nothing to drop */
    untouched("SELECT orderid, product_name, quantity, price, cdc_event_type, "
              "creation_datetime, sequence_number, partition_0 FROM (SELECT *, " WIN
              " FROM t)");
}

static void columns_equal_but_for_case_are_left_alone(void **state)
{
    (void)state;
    char *got = project("SELECT price FROM (SELECT *, " WIN " FROM t)", (void *)1);
    assert_null(got);
}

static void error_offsets_still_point_into_the_original(void **state)
{
    (void)state;
    const char *sql = "SELECT price FROM (SELECT *, " WIN " FROM t) WHERE bogus = 1";
    qry_sql q;
    sp_err e = {0};
    assert_true(qry_sql_rewrite(sql, &q, &e));
    assert_true(qry_sql_project(&q, fake_columns, NULL));
    const char *in_new = strstr(q.text, "bogus");
    assert_non_null(in_new);
    assert_int_equal(qry_sql_original_offset(&q, (size_t)(in_new - q.text)),
                     strstr(sql, "bogus") - sql);
    qry_sql_clear(&q);
}

static void hostile_text_never_breaks_it(void **state)
{
    (void)state;
    const char *odd[] = {"", ")", "((", "SELECT *,", "SELECT * FROM (SELECT *, x OVER",
                         "(SELECT *, OVER FROM", "(SELECT *, a OVER () FROM t.",
                         "(SELECT *, a OVER () FROM t AS", "SELECT 1 ORDER BY", ", 1",
                         "WITH t AS", "(SELECT *, a OVER () FROM t x y)"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        qry_sql q;
        sp_err e = {0};
        if (!qry_sql_rewrite(odd[i], &q, &e)) continue;
        qry_sql_project(&q, fake_columns, NULL);
        qry_sql_clear(&q);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(latest_per_key_keeps_only_named_columns),
        cmocka_unit_test(aliases_quotes_and_case_are_followed),
        cmocka_unit_test(a_name_in_a_string_is_kept),
        cmocka_unit_test(nothing_named_keeps_one_column),
        cmocka_unit_test(every_window_subquery_is_narrowed),
        cmocka_unit_test(wildcards_that_reach_a_result_or_a_set_are_left_alone),
        cmocka_unit_test(positions_and_odd_quoting_are_left_alone),
        cmocka_unit_test(subqueries_that_are_not_one_table_are_left_alone),
        cmocka_unit_test(columns_equal_but_for_case_are_left_alone),
        cmocka_unit_test(error_offsets_still_point_into_the_original),
        cmocka_unit_test(hostile_text_never_breaks_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
