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
/* arg: NULL plain, (void *)1 case twins, (void *)2 a lake table with the latest-row mode */
static bool fake_columns(void *arg, const char *ref, char ***names, size_t *n, bool *latest)
{
    *latest = arg == (void *)2;
    if (strcasecmp(ref, "t") && strcasecmp(ref, "db.t") && strcmp(ref, "\"t\"") &&
        strcmp(ref, "db.\"t\""))
        return false;
    *n = sizeof COLS / sizeof *COLS;
    *names = calloc(*n, sizeof **names);
    for (size_t i = 0; i < *n; i++) (*names)[i] = strdup(COLS[i]);
    if (arg == (void *)1) {
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

/* With the latest-row mode available. */
static void expect_latest(const char *sql, const char *want)
{
    char *got = project(sql, (void *)2);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

/* Narrowed perhaps, but no latest-row mode. */
static void no_latest(const char *sql)
{
    char *got = project(sql, (void *)2);
    bool latest = got && strstr(got, QRY_LATEST_COLUMN);
    free(got);
    if (latest) fail_msg("latest mode for %s", sql);
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

static void latest_row_idiom_becomes_the_latest_mode(void **state)
{
    (void)state;
    expect_latest("WITH current AS (SELECT * FROM (SELECT *, " WIN " FROM db.t) WHERE rn = 1 AND "
                  "cdc_event_type <> 'REMOVE') SELECT product_name, count(*) FROM current "
                  "GROUP BY product_name",
                  "WITH current AS (SELECT * FROM (SELECT \"orderid\", \"product_name\", "
                  "\"cdc_event_type\", \"sequence_number\", 1 AS rn FROM db.t WHERE "
                  "\"__salespipe_latest\" = 'p=0;o=6;d=1') WHERE rn = 1 AND "
                  "cdc_event_type <> 'REMOVE') SELECT product_name, count(*) FROM current "
                  "GROUP BY product_name");
    /* several keys, ASC, qualified names, 1 = s.rn, aliases */
    expect_latest("SELECT s.price FROM (SELECT *, row_number() OVER (PARTITION BY x.orderid, "
                  "partition_0 ORDER BY x.price) AS n FROM t AS x) AS s WHERE 1 = s.n",
                  "SELECT s.price FROM (SELECT \"orderid\", \"price\", \"partition_0\", "
                  "1 AS n FROM t AS x WHERE \"__salespipe_latest\" = 'p=0,7;o=3;d=0') AS s "
                  "WHERE 1 = s.n");
}

static void latest_mode_only_where_exactly_rn_equals_one(void **state)
{
    (void)state;
    const char *in = "(SELECT *, " WIN " FROM t)";
    char sql[512];
    const char *outer[] = {
        "SELECT price FROM %s WHERE rn <= 1",
        "SELECT price FROM %s WHERE rn = 1 OR price > 2",
        "SELECT price FROM %s WHERE price BETWEEN 1 AND 2 AND rn = 1",
        "SELECT price FROM %s WHERE CASE WHEN price > 1 AND rn = 1 THEN 1 END",
        "SELECT price FROM %s WHERE rn = 1.0",
        "SELECT price FROM %s WHERE rn = 2",
        "SELECT price FROM %s WHERE rn == 1",
        "SELECT price FROM %s WHERE NOT rn = 1",
        "SELECT price FROM %s WHERE rn = 1 + 0",
        "SELECT price FROM %s",
        "SELECT price FROM %s s JOIN t u ON 1 WHERE rn = 1",
        "SELECT price FROM %s s WHERE z.rn = 1",
    };
    for (size_t i = 0; i < sizeof outer / sizeof *outer; i++) {
        snprintf(sql, sizeof sql, outer[i], in);
        no_latest(sql);
    }
    /* the subquery must be the idiom and nothing else */
    const char *inner[] = {
        "SELECT price FROM (SELECT *, rank() OVER (PARTITION BY orderid ORDER BY price) AS rn "
        "FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (ORDER BY price) AS rn FROM t) "
        "WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price, "
        "quantity) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price "
        "DESC NULLS FIRST) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price "
        "COLLATE nocase) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY lower(orderid) ORDER BY "
        "price) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price) "
        "AS rn FROM t WHERE quantity > 1) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price) "
        "AS rn, 2 AS two FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price) "
        "AS price FROM t) WHERE price = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY o.orderid ORDER BY "
        "price) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY nosuch ORDER BY "
        "price) AS rn FROM t) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY price) "
        "AS rn FROM t LIMIT 10) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() OVER w AS rn FROM t WINDOW w AS "
        "(PARTITION BY orderid ORDER BY price)) WHERE rn = 1",
        "SELECT price FROM (SELECT *, row_number() FILTER (WHERE 1) OVER (PARTITION BY orderid "
        "ORDER BY price) AS rn FROM t) WHERE rn = 1",
    };
    for (size_t i = 0; i < sizeof inner / sizeof *inner; i++) no_latest(inner[i]);
    /* and never without the table's latest-row mode */
    char *got = project("SELECT price FROM (SELECT *, " WIN " FROM t) WHERE rn = 1", NULL);
    assert_non_null(got);
    assert_null(strstr(got, QRY_LATEST_COLUMN));
    free(got);
}

static void latest_specs_parse_strictly(void **state)
{
    (void)state;
    qry_latest_spec s;
    assert_true(qry_latest_spec_parse("p=0,7;o=6;d=1", 8, &s));
    assert_int_equal(s.n_keys, 2);
    assert_int_equal(s.keys[1], 7);
    assert_int_equal(s.order, 6);
    assert_true(s.desc);
    const char *bad[] = {NULL, "", "p=", "p=8;o=0;d=1", "p=0;o=8;d=1", "p=0;o=1;d=2",
                         "p=0;o=1;d=1x", "p=0,;o=1;d=0", "p=-1;o=1;d=0", "o=1;p=0;d=0",
                         "p=99999999999999999999999;o=1;d=0",
                         "p=0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0;o=1;d=0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(qry_latest_spec_parse(bad[i], 8, &s));
}

static qry_value num_i(sqlite3_int64 i) { return (qry_value){.type = SQLITE_INTEGER, .i = i}; }
static qry_value num_d(double d) { return (qry_value){.type = SQLITE_FLOAT, .d = d}; }
static qry_value text(const char *s, size_t n)
{
    return (qry_value){.type = SQLITE_TEXT, .s = s, .len = n};
}

static void values_compare_and_hash_as_sqlite_orders_them(void **state)
{
    (void)state;
    qry_value null = {.type = SQLITE_NULL};
    qry_value one = num_i(1), one_d = num_d(1.0), big = num_i(9007199254740993LL),
              big_d = num_d(9007199254740992.0), a = text("a", 1), ab = text("ab", 2),
              a0 = text("a\0", 2), b = text("b", 1), neg0 = num_d(-0.0), zero = num_i(0);
    assert_true(qry_value_cmp(&null, &one) < 0);        /* NULL first */
    assert_true(qry_value_cmp(&one, &a) < 0);           /* numbers before text */
    assert_int_equal(qry_value_cmp(&one, &one_d), 0);   /* 1 = 1.0 */
    assert_int_equal(qry_value_hash(&one, 0), qry_value_hash(&one_d, 0));
    assert_int_equal(qry_value_cmp(&neg0, &zero), 0);
    assert_int_equal(qry_value_hash(&neg0, 0), qry_value_hash(&zero, 0));
    assert_true(qry_value_cmp(&big, &big_d) > 0);       /* 2^53 + 1 > 2^53, exactly */
    assert_true(qry_value_cmp(&big_d, &big) < 0);
    assert_true(qry_value_cmp(&a, &ab) < 0);            /* bytes, then length */
    assert_true(qry_value_cmp(&a, &a0) < 0);
    assert_true(qry_value_cmp(&ab, &b) < 0);
    assert_int_equal(qry_value_cmp(&null, &null), 0);
    /* a NaN cell is NULL, as sqlite3_result_double makes it */
    qry_cell nan_cell = {.type = SQLITE_FLOAT, .v.d = 0.0 / 0.0};
    qry_value v;
    qry_value_from_cell(&nan_cell, NULL, &v);
    assert_int_equal(v.type, SQLITE_NULL);
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
        cmocka_unit_test(latest_row_idiom_becomes_the_latest_mode),
        cmocka_unit_test(latest_mode_only_where_exactly_rn_equals_one),
        cmocka_unit_test(latest_specs_parse_strictly),
        cmocka_unit_test(values_compare_and_hash_as_sqlite_orders_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
