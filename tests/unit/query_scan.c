/* The lake scan's producer side: rows come out in object order whatever the number of
 * worker threads, only the asked-for columns are converted, unreadable objects are skipped,
 * a stopped scan leaves nothing behind, and the jansson arena stays correct under trees
 * that outlive a document; the scan threads are kept and shared by concurrent scans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/qry_int.h"

enum { N_OBJECTS = 7, ROWS_PER_OBJECT = 1500 };

typedef struct fixture {
    char dir[64];
    char *paths[N_OBJECTS + 1];
} fixture;

/* Object k holds ROWS_PER_OBJECT lines {"id": k*10000+i, "name": "n<i>", "price": "<i>.5"};
 * object 3 puts them in one document's "records" array instead (for the $.records[*] path
 * test it is the one object with records; for "$" it is a single row). The last path is
 * an object that does not exist. */
static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp_qscan_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    for (int k = 0; k < N_OBJECTS; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/o%d", f->dir, k);
        FILE *out = fopen(path, "w");
        assert_non_null(out);
        if (k == 3) fputs("{\"records\": [", out);
        for (int i = 0; i < ROWS_PER_OBJECT; i++)
            fprintf(out, "%s{\"id\": %d, \"Name\": \"n%d\", \"price\": \"%d.5\", \"x\": [1]}%s",
                    k == 3 && i ? "," : "", k * 10000 + i, i, i, k == 3 ? "" : "\n");
        if (k == 3) fputs("]}\n", out);
        fclose(out);
        f->paths[k] = strdup(path);
    }
    char gone[128];
    snprintf(gone, sizeof gone, "%s/gone", f->dir);
    f->paths[N_OBJECTS] = strdup(gone);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int k = 0; k <= N_OBJECTS; k++) {
        if (k < N_OBJECTS) unlink(f->paths[k]);
        free(f->paths[k]);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static const qry_col COLS[] = {{"id", QRY_COL_BIGINT}, {"name", QRY_COL_TEXT},
                               {"price", QRY_COL_DOUBLE}, {"x", QRY_COL_TEXT}};

/* Reads the whole scan, checking each row is the next one expected; returns rows seen. */
static size_t drain(fixture *f, const char *jsonpath, size_t workers, size_t *opened)
{
    bool whole = !strcmp(jsonpath, "$"); /* object 3 is then one row without an id */
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile(jsonpath, &e);
    assert_non_null(p);
    qry_scan *s = qry_scan_start(f->paths, N_OBJECTS + 1, p, COLS, 4, workers);
    size_t rows = 0;
    *opened = 0;
    for (size_t obj = 0; obj <= N_OBJECTS; obj++) {
        size_t i = 0;
        for (;;) {
            qry_batch *b = qry_scan_next(s, obj);
            assert_non_null(b);
            assert_int_equal(b->object, obj);
            assert_null(b->error);
            if (b->opened) (*opened)++;
            for (size_t r = 0; r < b->n_rows; r++, i++, rows++) {
                const qry_cell *c = &b->cells[r * 4];
                if (whole && obj == 3) {
                    assert_int_equal(c[0].type, SQLITE_NULL);
                    continue;
                }
                assert_int_equal(c[0].type, SQLITE_INTEGER);
                assert_int_equal(c[0].v.i, (int64_t)(obj * 10000 + i));
                char name[32];
                int n = snprintf(name, sizeof name, "n%zu", i);
                assert_int_equal(c[1].type, SQLITE_TEXT); /* "Name" matched without case */
                assert_int_equal(c[1].len, (size_t)n);
                assert_memory_equal(b->text + c[1].v.off, name, (size_t)n);
                assert_int_equal(c[2].type, SQLITE_FLOAT); /* "12.5" read as a double */
                assert_true(c[2].v.d == (double)i + 0.5);
                assert_int_equal(c[3].type, SQLITE_TEXT); /* nested as JSON text */
                assert_memory_equal(b->text + c[3].v.off, "[1]", 3);
            }
            bool end = b->object_end;
            qry_batch_free(b);
            if (end) break;
        }
    }
    qry_scan_stop(s);
    cat_jsonpath_destroy(p);
    return rows;
}

static void rows_come_in_object_order_with_any_number_of_workers(void **state)
{
    fixture *f = *state;
    for (size_t workers = 0; workers <= 4; workers++) {
        size_t opened;
        assert_int_equal(drain(f, "$", workers, &opened),
                         (N_OBJECTS - 1) * ROWS_PER_OBJECT + 1);
        assert_int_equal(opened, N_OBJECTS);
        /* one document of 1500 records: a batch holds a whole document */
        assert_int_equal(drain(f, "$.records[*]", workers, &opened), ROWS_PER_OBJECT);
        assert_int_equal(opened, N_OBJECTS); /* the missing object is skipped, not opened */
    }
}

static void only_the_asked_columns_are_converted(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile("$", &e);
    qry_col one[] = {{"price", QRY_COL_BIGINT}}; /* "0.5" is no bigint: NULL */
    qry_scan *s = qry_scan_start(f->paths, 1, p, one, 1, 2);
    qry_batch *b = qry_scan_next(s, 0);
    assert_int_equal(b->n_cols, 1);
    assert_true(b->n_rows > 0);
    assert_int_equal(b->cells[0].type, SQLITE_NULL);
    assert_int_equal(b->text_len, 0);
    qry_batch_free(b);
    qry_scan_stop(s); /* mid-object: workers are stopped and joined */
    cat_jsonpath_destroy(p);
}

static void a_stopped_scan_frees_what_it_read_ahead(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile("$", &e);
    for (size_t workers = 0; workers <= 3; workers++) {
        qry_scan *s = qry_scan_start(f->paths, N_OBJECTS + 1, p, COLS, 4, workers);
        usleep(1000);
        qry_scan_stop(s);
    }
    cat_jsonpath_destroy(p);
}

/* Scans run on kept threads (qry_pool.c): one scan after another reuses the same ones. */
static void scan_threads_are_kept_between_scans(void **state)
{
    fixture *f = *state;
    size_t opened;
    drain(f, "$", 3, &opened);
    size_t after_first = qry_pool_threads();
    assert_true(after_first >= 3);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(drain(f, "$", 3, &opened), (N_OBJECTS - 1) * ROWS_PER_OBJECT + 1);
        assert_int_equal(qry_pool_threads(), after_first);
    }
}

/* Batches are kept for reuse (qry_batch_free): scans of one column and of four, one after
 * another, each get their own rows, whatever the kept batches held before. */
static void kept_batches_serve_scans_of_any_width(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile("$", &e);
    qry_col one[] = {{"id", QRY_COL_TEXT}};
    for (int round = 0; round < 3; round++) {
        size_t opened;
        assert_int_equal(drain(f, "$", 2, &opened), (N_OBJECTS - 1) * ROWS_PER_OBJECT + 1);
        qry_scan *s = qry_scan_start(f->paths, 2, p, one, 1, 2);
        for (size_t obj = 0, i = 0; obj < 2; obj++, i = 0)
            for (;;) {
                qry_batch *b = qry_scan_next(s, obj);
                assert_int_equal(b->n_cols, 1);
                for (size_t r = 0; r < b->n_rows; r++, i++) {
                    char want[32];
                    int n = snprintf(want, sizeof want, "%zu", obj * 10000 + i);
                    assert_int_equal(b->cells[r].type, SQLITE_TEXT);
                    assert_int_equal(b->cells[r].len, (size_t)n);
                    assert_memory_equal(b->text + b->cells[r].v.off, want, (size_t)n);
                }
                bool end = b->object_end;
                qry_batch_free(b);
                if (end) break;
            }
        qry_scan_stop(s);
    }
    cat_jsonpath_destroy(p);
}

typedef struct concurrent_arg {
    fixture *f;
    size_t rows;
} concurrent_arg;

static void *concurrent_scans(void *arg)
{
    concurrent_arg *a = arg;
    size_t opened;
    for (int i = 0; i < 4; i++) a->rows += drain(a->f, "$", 1 + (size_t)i % 3, &opened);
    return NULL;
}

/* Several consumers scanning at once share the pool: every scan gets its own rows in
 * order (drain checks each), the pool grows to what is busy at once and keeps no more
 * than its idle limit. */
static void concurrent_scans_share_the_pool(void **state)
{
    fixture *f = *state;
    enum { CONSUMERS = 5 };
    pthread_t t[CONSUMERS];
    concurrent_arg a[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++) {
        a[i] = (concurrent_arg){.f = f};
        assert_int_equal(pthread_create(&t[i], NULL, concurrent_scans, &a[i]), 0);
    }
    for (int i = 0; i < CONSUMERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(a[i].rows, 4 * ((N_OBJECTS - 1) * ROWS_PER_OBJECT + 1));
    }
    /* threads beyond the idle limit end on their own, shortly after their job */
    for (int i = 0; i < 2000 && qry_pool_threads() > 8; i++) usleep(1000);
    assert_true(qry_pool_threads() <= 8); /* QRY_POOL_IDLE_MAX */
}

static void the_arena_never_reuses_live_memory(void **state)
{
    (void)state;
    sp_json_arena_install();
    sp_json_arena_begin();
    json_t *keep = json_pack("{s:s}", "a", "kept across a restart");
    json_t *tmp = json_pack("{s:[i,i]}", "b", 1, 2);
    json_decref(tmp); /* keep is still live: no restart */
    json_t *next = json_pack("{s:s}", "c", "allocated after");
    assert_string_equal(json_string_value(json_object_get(keep, "a")), "kept across a restart");
    sp_json_arena_end();
    json_t *outside = json_string("malloc'ed"); /* outside the scope: plain malloc */
    assert_false(sp_json_arena_thread_release()); /* keep and next still live in the arena */
    json_decref(keep);
    json_decref(next);
    json_decref(outside);
    assert_true(sp_json_arena_thread_release());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(rows_come_in_object_order_with_any_number_of_workers,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(only_the_asked_columns_are_converted, setup, teardown),
        cmocka_unit_test_setup_teardown(a_stopped_scan_frees_what_it_read_ahead, setup,
                                        teardown),
        cmocka_unit_test(the_arena_never_reuses_live_memory),
        cmocka_unit_test_setup_teardown(scan_threads_are_kept_between_scans, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_scans_share_the_pool, setup, teardown),
        cmocka_unit_test_setup_teardown(kept_batches_serve_scans_of_any_width, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
