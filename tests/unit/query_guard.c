/* The guard around user SQL (qry_guard.c through qry_run): a query past its time limit ends
 * with QueryTimeout, qry_stop_request from another thread ends a running query with
 * QueryCancelled (and one stopped before it starts never runs), statements that attach,
 * write, change the schema, set pragmas or load code are refused at prepare time with the
 * refusal named and no file made, the harmless reads still run, and a sink receives the rows
 * in order while the result keeps none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "query/qry_int.h"

static const char FOREVER[] =
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) SELECT count(*) FROM c";

typedef struct fixture {
    char dir[64];
    cat_catalog *cat;
    lake *lk;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp_qguard_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sp_err e = {0};
    char sub[128];
    snprintf(sub, sizeof sub, "%s/catalog", f->dir);
    f->cat = cat_catalog_open(sub, &e);
    snprintf(sub, sizeof sub, "%s/lake", f->dir);
    f->lk = lake_open(sub, &e);
    assert_non_null(f->cat);
    assert_non_null(f->lk);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    cat_catalog_close(f->cat);
    lake_close(f->lk);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void a_query_past_its_limit_ends_with_query_timeout(void **state)
{
    fixture *f = *state;
    qry_opts opts = {.timeout_ms = 300};
    sp_err e = {0};
    double t0 = now_s();
    qry_result *r = qry_exec(f->cat, f->lk, NULL, FOREVER, &opts, &e);
    double took = now_s() - t0;
    assert_null(r);
    assert_string_equal(e.code, "QueryTimeout");
    assert_non_null(strstr(e.msg, "Query timed out"));
    assert_true(took >= 0.25 && took < 5.0);
}

typedef struct stopper {
    qry_stop *stop;
    unsigned delay_us;
} stopper;

static void *stop_later(void *arg)
{
    stopper *s = arg;
    usleep(s->delay_us);
    qry_stop_request(s->stop);
    return NULL;
}

static void a_stop_request_interrupts_a_running_query(void **state)
{
    fixture *f = *state;
    qry_stop *stop = qry_stop_new();
    qry_opts opts = {.timeout_ms = 0, .stop = stop}; /* no limit: only the stop ends it */
    stopper s = {stop, 300000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stop_later, &s), 0);
    sp_err e = {0};
    double t0 = now_s();
    qry_result *r = qry_exec(f->cat, f->lk, NULL, FOREVER, &opts, &e);
    double took = now_s() - t0;
    pthread_join(t, NULL);
    assert_null(r);
    assert_string_equal(e.code, "QueryCancelled");
    assert_true(took < 5.0);
    /* still stopped: the next query with the same switch does not run */
    sp_err_clear(&e);
    assert_null(qry_exec(f->cat, f->lk, NULL, "SELECT 1", &opts, &e));
    assert_string_equal(e.code, "QueryCancelled");
    /* re-armed, it runs */
    qry_stop_reset(stop);
    sp_err_clear(&e);
    r = qry_exec(f->cat, f->lk, NULL, "SELECT 1", &opts, &e);
    assert_non_null(r);
    qry_result_destroy(r);
    qry_stop_destroy(stop);
}

static bool dir_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return false;
    struct dirent *ent;
    bool empty = true;
    while (empty && (ent = readdir(d))) empty = !strcmp(ent->d_name, ".") || !strcmp(ent->d_name, "..");
    closedir(d);
    return empty;
}

static void statements_beyond_reading_are_refused(void **state)
{
    fixture *f = *state;
    char jail[] = "/tmp/sp_qguard_jail_XXXXXX";
    assert_non_null(mkdtemp(jail));
    struct {
        const char *fmt;
        const char *says;
    } cases[] = {
        {"ATTACH DATABASE '%s/evil.db' AS e", "ATTACH is not allowed"},
        {"  /* hi */ attach '%s/evil.db' as e", "ATTACH is not allowed"},
        {"DETACH DATABASE main -- %s", "DETACH is not allowed"},
        {"PRAGMA temp_store_directory = '%s'", "PRAGMA is not allowed"},
        {"PRAGMA writable_schema = 1 -- %s", "PRAGMA is not allowed"},
        {"SELECT load_extension('%s/x.so')", "function load_extension is not available"},
        {"CREATE TEMP TABLE t(x) -- %s", "changing the schema"},
        {"CREATE TEMP VIEW v AS SELECT 1 -- %s", "changing the schema"},
        {"SELECT * FROM sqlite_master -- %s", "table sqlite_master is not a catalog table"},
        {"SELECT * FROM pragma_database_list -- %s", "is not a catalog table"},
        {"SELECT count(*) FROM pragma_function_list -- %s", "is not a catalog table"},
        {"BEGIN -- %s", "a transaction is not allowed"},
        {"SAVEPOINT a -- %s", "SAVEPOINT is not allowed"},
        {"VACUUM INTO '%s/evil.db'", "only queries"},
        {"SELECT fts3_tokenizer('simple') -- %s", NULL},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        char sql[512];
        snprintf(sql, sizeof sql, cases[i].fmt, jail);
        sp_err e = {0};
        qry_result *r = qry_exec(f->cat, f->lk, NULL, sql, NULL, &e);
        if (r) fail_msg("ran: %s", sql);
        assert_int_equal(e.status, 400);
        assert_string_equal(e.code, "InvalidRequestException");
        if (cases[i].says && !strstr(e.msg, cases[i].says))
            fail_msg("%s: %s (wanted '%s')", sql, e.msg, cases[i].says);
    }
    assert_true(dir_empty(jail));
    rmdir(jail);
}

static void reads_ctes_and_functions_still_run(void **state)
{
    fixture *f = *state;
    const char *ok[] = {
        "SELECT 1",
        "WITH a(x) AS (SELECT 1) SELECT count(*) FROM a",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 9) "
        "SELECT sum(x), max(x), group_concat(x) FROM c",
        "SELECT value FROM json_each('[1,2]')",
        "SELECT count(*) FROM json_tree('{\"a\":[1]}')",
        "SELECT '{\"a\":1}' ->> 'a', json_extract('{\"a\":1}', '$.a'), upper('x'), abs(-1)",
        "SELECT date_trunc('hour', '2026-11-26T10:11:12Z'), approx_distinct(1), "
        "from_unixtime(0), cardinality('[1,2]')",
        "SELECT row_number() OVER (ORDER BY 1), datetime('now') IS NOT NULL",
        "SELECT x FROM (SELECT 1 AS x) AS s",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(ok); i++) {
        sp_err e = {0};
        qry_result *r = qry_exec(f->cat, f->lk, NULL, ok[i], NULL, &e);
        if (!r) fail_msg("%s: %s", ok[i], e.msg);
        qry_result_destroy(r);
    }
}

typedef struct collected {
    size_t n_columns, rows, begins;
    long long sum;
    bool in_order;
} collected;

static bool sink_begin(void *arg, size_t n, char *const *names, const char *const *decl,
                       sp_err *e)
{
    (void)e;
    (void)decl;
    collected *c = arg;
    c->begins++;
    c->n_columns = n;
    assert_string_equal(names[0], "x");
    return true;
}

static bool sink_row(void *arg, const char *const *cells, sp_err *e)
{
    collected *c = arg;
    long long x = atoll(cells[0]);
    c->in_order = c->in_order && x == (long long)c->rows + 1;
    c->rows++;
    c->sum += x;
    if (c->rows == 50000) {
        sp_err_set(e, 507, "SinkFull", "enough");
        return false;
    }
    return true;
}

static void a_sink_gets_the_rows_and_the_result_keeps_none(void **state)
{
    fixture *f = *state;
    collected c = {.in_order = true};
    qry_sink sink = {sink_begin, sink_row, &c};
    sp_err e = {0};
    qry_result *r = qry_run(f->cat, f->lk, NULL,
                            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c "
                            "WHERE x < 3000) SELECT x, NULL AS n FROM c",
                            NULL, &sink, &e);
    assert_non_null(r);
    assert_int_equal(c.begins, 1);
    assert_int_equal(c.n_columns, 2);
    assert_int_equal(c.rows, 3000);
    assert_true(c.in_order);
    assert_int_equal(c.sum, 3000LL * 3001 / 2);
    assert_int_equal(r->n_rows, 3000);
    assert_null(r->cells);
    assert_string_equal(r->types[0], "bigint");
    assert_string_equal(r->types[1], "varchar");
    qry_result_destroy(r);
    /* the sink's error ends the query with that error */
    collected c2 = {.in_order = true};
    sink.arg = &c2;
    sp_err_clear(&e);
    assert_null(qry_run(f->cat, f->lk, NULL,
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
                        "SELECT x FROM c",
                        NULL, &sink, &e));
    assert_string_equal(e.code, "SinkFull");
    assert_int_equal(c2.rows, 50000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_query_past_its_limit_ends_with_query_timeout, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_stop_request_interrupts_a_running_query, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(statements_beyond_reading_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(reads_ctes_and_functions_still_run, setup, teardown),
        cmocka_unit_test_setup_teardown(a_sink_gets_the_rows_and_the_result_keeps_none, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
