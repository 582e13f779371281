/* Aggregates inside the scan (qry_agg.c): which statements the rewrite hands to the scan, to
 * what, the many it must leave as written, the spec it writes and the scan parses back, and
 * the partials accumulated as SQLite's count() and sum() accumulate. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/qry_int.h"

static const char *const COLS[] = {"orderid", "product_name", "quantity", "price",
                                   "cdc_event_type", "flag", "partition_0"};
static const char *const TYPES[] = {"varchar", "varchar", "bigint", "double", "varchar",
                                    "boolean", "varchar"};

/* Knows t and db.t (a lake table); arg (void *)1: t is not a lake table. */
static bool fake_types(void *arg, const char *ref, char ***names, char ***types, size_t *n,
                       bool *lake)
{
    *lake = arg != (void *)1;
    if (strcasecmp(ref, "t") && strcasecmp(ref, "db.t")) return false;
    *n = sizeof COLS / sizeof *COLS;
    *names = calloc(*n, sizeof **names);
    *types = calloc(*n, sizeof **types);
    for (size_t i = 0; i < *n; i++) {
        (*names)[i] = strdup(COLS[i]);
        (*types)[i] = strdup(TYPES[i]);
    }
    return true;
}

/* The statement after the pass (heap), or NULL if the pass left it alone. */
static char *rewrite(const char *sql, void *arg)
{
    qry_sql q;
    sp_err e = {0};
    assert_true(qry_sql_rewrite(sql, &q, &e));
    char *out = qry_sql_aggregate(&q, fake_types, arg) ? strdup(q.text) : NULL;
    if (!out) assert_string_equal(q.text, sql); /* untouched when it says so */
    qry_sql_clear(&q);
    return out;
}

static void expect(const char *sql, const char *want)
{
    char *got = rewrite(sql, NULL);
    if (!got) fail_msg("left alone: %s", sql);
    assert_string_equal(got, want);
    free(got);
}

static void untouched(const char *sql)
{
    char *got = rewrite(sql, NULL);
    if (got) fail_msg("rewrote %s\ninto %s", sql, got);
}

static void test_the_sample_shapes_are_handed_to_the_scan(void **state)
{
    (void)state;
    expect("SELECT cdc_event_type, count(*) AS events FROM db.t GROUP BY cdc_event_type "
           "ORDER BY cdc_event_type",
           "SELECT cdc_event_type, sum(\"__salespipe_p0\") AS events FROM db.t WHERE "
           "\"__salespipe_agg\" = 'g=4;a=n;w=' GROUP BY cdc_event_type ORDER BY cdc_event_type");
    expect("SELECT product_name, count(*) AS events, round(sum(price * quantity), 2) AS revenue "
           "FROM t WHERE partition_0 = '2026' GROUP BY product_name ORDER BY product_name",
           "SELECT product_name, sum(\"__salespipe_p0\") AS events, "
           "round(sum(\"__salespipe_p1\"), 2) AS revenue FROM t WHERE (partition_0 = '2026' ) "
           "AND \"__salespipe_agg\" = 'g=1;a=n,m3*2;w=6' GROUP BY product_name "
           "ORDER BY product_name");
}

static void test_other_accepted_shapes(void **state)
{
    (void)state;
    /* unaliased aggregates are named by their text, as SQLite names them */
    expect("select product_name, COUNT( * ), sum(x.price) from t x group by x.product_name",
           "select product_name, sum(\"__salespipe_p0\") AS \"COUNT( * )\", "
           "sum(\"__salespipe_p1\") AS \"sum(x.price)\" from t x WHERE \"__salespipe_agg\" = "
           "'g=1;a=n,s3;w=' group by x.product_name");
    expect("SELECT orderid, cdc_event_type, count(price) n FROM t AS o GROUP BY orderid, "
           "o.cdc_event_type HAVING count(*) > 1 ORDER BY n DESC LIMIT 3;",
           "SELECT orderid, cdc_event_type, sum(\"__salespipe_p0\") n FROM t AS o WHERE "
           "\"__salespipe_agg\" = 'g=0,4;a=c3,n;w=' GROUP BY orderid, o.cdc_event_type HAVING "
           "sum(\"__salespipe_p1\") > 1 ORDER BY n DESC LIMIT 3;");
    /* a WHERE on data columns: the scan returns rows (w names them) */
    expect("SELECT product_name, sum(quantity) AS q FROM t WHERE price > 10 AND "
           "partition_0 IN ('a', 'b') GROUP BY product_name",
           "SELECT product_name, sum(\"__salespipe_p0\") AS q FROM t WHERE (price > 10 AND "
           "partition_0 IN ('a', 'b') ) AND \"__salespipe_agg\" = 'g=1;a=s2;w=3,6' "
           "GROUP BY product_name");
    expect("EXPLAIN SELECT flag, count(*) AS n FROM t GROUP BY flag",
           "EXPLAIN SELECT flag, sum(\"__salespipe_p0\") AS n FROM t WHERE \"__salespipe_agg\" "
           "= 'g=5;a=n;w=' GROUP BY flag");
}

static void test_shapes_left_to_sqlite(void **state)
{
    (void)state;
    untouched("SELECT cdc_event_type, count(*) FROM t GROUP BY 1");
    untouched("SELECT product_name, count(*) AS n FROM t GROUP BY product_name ORDER BY 2");
    untouched("SELECT product_name, avg(price) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, min(price) AS a, count(*) AS n FROM t GROUP BY product_name");
    untouched("SELECT product_name, count(DISTINCT orderid) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, count(*) FILTER (WHERE price > 1) FROM t "
              "GROUP BY product_name");
    untouched("SELECT product_name, count(*) OVER () FROM t GROUP BY product_name");
    untouched("SELECT product_name, price, count(*) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name "
              "ORDER BY price");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name "
              "HAVING sum(price) > orderid");
    untouched("SELECT product_name, sum(orderid) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, sum(flag) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, sum(price * orderid) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, sum(price + quantity) AS a FROM t GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t WHERE length(orderid) > 1 "
              "GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t WHERE orderid IN (SELECT orderid "
              "FROM t) GROUP BY product_name");
    untouched("SELECT lower(product_name) AS p, count(*) AS a FROM t "
              "GROUP BY lower(product_name)");
    untouched("SELECT product_name, count(*) AS a FROM t, t AS u GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t JOIN t AS u ON 1 "
              "GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM (SELECT * FROM t) "
              "GROUP BY product_name");
    untouched("WITH c AS (SELECT * FROM t) SELECT product_name, count(*) AS a FROM c "
              "GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name UNION "
              "SELECT 'x', 1");
    untouched("SELECT DISTINCT product_name, count(*) AS a FROM t GROUP BY product_name");
    untouched("SELECT count(*) AS a FROM t");
    untouched("SELECT product_name FROM t GROUP BY product_name");
    untouched("SELECT * FROM t GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM nope GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name, ");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY [product_name]");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name LIMIT ?");
    untouched("SELECT product_name, count(*) AS a FROM t WHERE price > ? "
              "GROUP BY product_name");
    untouched("SELECT product_name, sum(\"__salespipe_p0\") AS a FROM t "
              "GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM u.t.x GROUP BY product_name");
    untouched("SELECT y.product_name, count(*) AS a FROM t x GROUP BY product_name");
    untouched("SELECT product_name, count(*) AS a FROM t GROUP BY product_name; SELECT 1");
    char *got = rewrite("SELECT product_name, count(*) AS a FROM t GROUP BY product_name",
                        (void *)1); /* not a lake table */
    assert_null(got);
}

static void test_the_spec_round_trips_and_bad_ones_are_refused(void **state)
{
    (void)state;
    qry_agg_spec s;
    assert_true(qry_agg_spec_parse("g=1,4;a=n,c3,s2,m3*2;w=6,3", 7, &s));
    assert_int_equal(s.n_keys, 2);
    assert_int_equal(s.keys[1], 4);
    assert_int_equal(s.n_fns, 4);
    assert_int_equal(s.fns[0].kind, QRY_AGG_COUNT_STAR);
    assert_int_equal(s.fns[1].kind, QRY_AGG_COUNT);
    assert_int_equal(s.fns[2].kind, QRY_AGG_SUM);
    assert_int_equal(s.fns[3].kind, QRY_AGG_SUM_PRODUCT);
    assert_int_equal(s.fns[3].b, 2);
    assert_int_equal(s.n_where, 2);
    assert_true(qry_agg_spec_parse("g=0;a=n;w=", 1, &s));
    assert_int_equal(s.n_where, 0);
    static const char *const bad[] = {
        NULL, "", "g=;a=n;w=", "g=7;a=n;w=", "g=1;a=;w=", "g=1;a=x;w=", "g=1;a=m1;w=",
        "g=1;a=n;w=7", "g=1;a=n", "g=1;a=n;w=1,", "g=1;a=n,n,n,n,n,n,n,n,n;w=", "p=1;o=2;d=1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (qry_agg_spec_parse(bad[i], 7, &s)) fail_msg("accepted %s", bad[i]);
}

static qry_value num_i(sqlite3_int64 i) { return (qry_value){.type = SQLITE_INTEGER, .i = i}; }
static qry_value num_d(double d) { return (qry_value){.type = SQLITE_FLOAT, .d = d}; }
static const qry_value NUL = {.type = SQLITE_NULL};

static void test_partials_accumulate_as_sqlite_count_and_sum(void **state)
{
    (void)state;
    qry_agg_acc acc = {0};
    qry_value v;
    /* sum over no values (only NULLs) is NULL; count(col) 0; count(*) counts NULL rows */
    qry_agg_acc_add(&acc, QRY_AGG_SUM, &NUL, NULL);
    assert_true(qry_agg_acc_value(&acc, QRY_AGG_SUM, &v));
    assert_int_equal(v.type, SQLITE_NULL);
    qry_agg_acc c = {0};
    qry_agg_acc_add(&c, QRY_AGG_COUNT, &NUL, NULL);
    qry_agg_acc_add(&c, QRY_AGG_COUNT_STAR, NULL, NULL);
    assert_true(qry_agg_acc_value(&c, QRY_AGG_COUNT, &v));
    assert_int_equal(v.i, 1);
    /* integers stay an exact integer sum; one real makes it real */
    qry_value a = num_i(3), b = num_i(4);
    qry_agg_acc_add(&acc, QRY_AGG_SUM, &a, NULL);
    qry_agg_acc_add(&acc, QRY_AGG_SUM, &b, NULL);
    assert_true(qry_agg_acc_value(&acc, QRY_AGG_SUM, &v));
    assert_int_equal(v.type, SQLITE_INTEGER);
    assert_int_equal(v.i, 7);
    qry_value r = num_d(0.5);
    qry_agg_acc_add(&acc, QRY_AGG_SUM, &r, NULL);
    assert_true(qry_agg_acc_value(&acc, QRY_AGG_SUM, &v));
    assert_int_equal(v.type, SQLITE_FLOAT);
    assert_true(v.d == 7.5);
    /* an integer overflow fails the sum; after a real it does not (SQLite's sumStep) */
    qry_agg_acc o = {0};
    qry_value big = num_i(INT64_MAX), one = num_i(1);
    qry_agg_acc_add(&o, QRY_AGG_SUM, &big, NULL);
    qry_agg_acc_add(&o, QRY_AGG_SUM, &one, NULL);
    assert_false(qry_agg_acc_value(&o, QRY_AGG_SUM, &v));
    qry_agg_acc o2 = {0};
    qry_agg_acc_add(&o2, QRY_AGG_SUM, &r, NULL);
    qry_agg_acc_add(&o2, QRY_AGG_SUM, &big, NULL);
    qry_agg_acc_add(&o2, QRY_AGG_SUM, &one, NULL);
    assert_true(qry_agg_acc_value(&o2, QRY_AGG_SUM, &v));
    assert_int_equal(v.type, SQLITE_FLOAT);
    /* a product: NULL if either is; int * int that overflows is real; NaN is NULL */
    qry_agg_acc p = {0};
    qry_agg_acc_add(&p, QRY_AGG_SUM_PRODUCT, &a, &NUL);
    assert_true(qry_agg_acc_value(&p, QRY_AGG_SUM_PRODUCT, &v));
    assert_int_equal(v.type, SQLITE_NULL);
    qry_agg_acc_add(&p, QRY_AGG_SUM_PRODUCT, &big, &big);
    assert_true(qry_agg_acc_value(&p, QRY_AGG_SUM_PRODUCT, &v));
    assert_int_equal(v.type, SQLITE_FLOAT);
    qry_agg_acc q = {0};
    qry_value inf = num_d(INFINITY), zero = num_d(0);
    qry_agg_acc_add(&q, QRY_AGG_SUM_PRODUCT, &inf, &zero);
    assert_true(qry_agg_acc_value(&q, QRY_AGG_SUM_PRODUCT, &v));
    assert_int_equal(v.type, SQLITE_NULL);
    qry_agg_acc_add(&q, QRY_AGG_SUM_PRODUCT, &a, &b);
    assert_true(qry_agg_acc_value(&q, QRY_AGG_SUM_PRODUCT, &v));
    assert_int_equal(v.type, SQLITE_INTEGER);
    assert_int_equal(v.i, 12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_sample_shapes_are_handed_to_the_scan),
        cmocka_unit_test(test_other_accepted_shapes),
        cmocka_unit_test(test_shapes_left_to_sqlite),
        cmocka_unit_test(test_the_spec_round_trips_and_bad_ones_are_refused),
        cmocka_unit_test(test_partials_accumulate_as_sqlite_count_and_sum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
