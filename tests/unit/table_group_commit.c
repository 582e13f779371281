/* Group commit, spelled out: many threads writing at once share commits, yet every
 * acknowledged PutItem is already committed (another connection reads it at once), every
 * change lands as exactly one stream record with contiguous sequence numbers, and a writer
 * whose condition fails inside a shared group changes nothing while its neighbours land.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#include <cmocka.h>

#include "table/tbl_int.h"

enum { THREADS = 8, PER_THREAD = 150, PRESET = 100 };

typedef struct fixture {
    char dir[64];
    tbl_db *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp-table-group-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sp_err e = {0};
    f->db = tbl_db_open(f->dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(f->db);
    sp_cfg_table orders = {.name = "Orders", .hash_key = "orderid", .hash_key_type = "S",
                           .stream_view_type = "NEW_AND_OLD_IMAGES",
                           .stream_retention_hours = 24};
    assert_true(tbl_table_ensure(f->db, &orders, &e));
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tbl_db_close(f->db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static json_t *call(tbl_db *db, const char *op, json_t *req, sp_err *e)
{
    const sp_op *o = sp_op_find(tbl_ddb_ops, op, strlen(op));
    json_t *resp = o->fn(db, req, e);
    json_decref(req);
    return resp;
}

static json_t *put_req(const char *id, int value, bool only_new)
{
    json_t *req = json_pack("{s:s, s:{s:{s:s}, s:{s:s}}}", "TableName", "Orders", "Item",
                            "orderid", "S", id, "quantity", "N", "0");
    char v[16];
    snprintf(v, sizeof v, "%d", value);
    json_object_set_new(json_object_get(json_object_get(req, "Item"), "quantity"), "N",
                        json_string(v));
    if (only_new)
        json_object_set_new(req, "ConditionExpression",
                            json_string("attribute_not_exists(orderid)"));
    return req;
}

/* Quantity of the item as a fresh GetItem sees it (a pool connection: committed data only);
 * -1 if absent. */
static int committed_quantity(tbl_db *db, const char *id)
{
    sp_err e = {0};
    json_t *resp = call(db, "GetItem",
                        json_pack("{s:s, s:{s:{s:s}}}", "TableName", "Orders", "Key", "orderid",
                                  "S", id), &e);
    assert_non_null(resp);
    json_t *q = json_object_get(json_object_get(json_object_get(resp, "Item"), "quantity"), "N");
    int v = q ? atoi(json_string_value(q)) : -1;
    json_decref(resp);
    return v;
}

typedef struct worker {
    tbl_db *db;
    int n;
    int conflicts;       /* condition failures seen */
    int stale_acks;      /* acknowledged writes another connection could not read yet */
    bool conditional;
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    for (int i = 0; i < PER_THREAD; i++) {
        char id[32];
        /* Conditional run: even i hit the preset items (their condition fails). */
        if (w->conditional && i % 2 == 0) snprintf(id, sizeof id, "p%d", (w->n * PER_THREAD + i) % PRESET);
        else snprintf(id, sizeof id, "t%d-%d", w->n, i);
        sp_err e = {0};
        json_t *resp = call(w->db, "PutItem", put_req(id, 1000 + i, w->conditional), &e);
        if (!resp) {
            if (!strcmp(e.code, "ConditionalCheckFailedException")) w->conflicts++;
            else fail_msg("PutItem %s: %s %s", id, e.code, e.msg);
            continue;
        }
        json_decref(resp);
        if (committed_quantity(w->db, id) != 1000 + i) w->stale_acks++;
    }
    return NULL;
}

typedef struct seen {
    uint64_t next_seq;
    long records;
    bool gap;
} seen;

static bool on_record(void *arg, const tbl_stream_record *rec)
{
    seen *s = arg;
    if (rec->seq != s->next_seq) s->gap = true;
    s->next_seq = rec->seq + 1;
    s->records++;
    return true;
}

static void run_workers(tbl_db *db, worker *w, bool conditional)
{
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.db = db, .n = i, .conditional = conditional};
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
}

static void test_concurrent_writers_are_acknowledged_after_commit_and_captured_once(void **state)
{
    fixture *f = *state;
    worker w[THREADS];
    run_workers(f->db, w, false);
    for (int i = 0; i < THREADS; i++) assert_int_equal(w[i].stale_acks, 0);
    seen s = {.next_seq = 1};
    sp_err e = {0};
    assert_true(tbl_stream_read(f->db, "Orders", 0, SIZE_MAX, on_record, &s, &e) >= 0);
    assert_false(s.gap);
    assert_int_equal(s.records, THREADS * PER_THREAD);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), THREADS * PER_THREAD);
    for (int t = 0; t < THREADS; t++)
        for (int i = 0; i < PER_THREAD; i += 37) {
            char id[32];
            snprintf(id, sizeof id, "t%d-%d", t, i);
            assert_int_equal(committed_quantity(f->db, id), 1000 + i);
        }
}

static void test_failed_condition_in_a_shared_group_changes_nothing(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < PRESET; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        sp_err e = {0};
        json_t *resp = call(f->db, "PutItem", put_req(id, 7, false), &e);
        assert_non_null(resp);
        json_decref(resp);
    }
    worker w[THREADS];
    run_workers(f->db, w, true);
    int conflicts = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].stale_acks, 0);
        conflicts += w[i].conflicts;
    }
    assert_int_equal(conflicts, THREADS * PER_THREAD / 2);
    for (int i = 0; i < PRESET; i++) {
        char id[16];
        snprintf(id, sizeof id, "p%d", i);
        assert_int_equal(committed_quantity(f->db, id), 7);
    }
    seen s = {.next_seq = 1};
    sp_err e = {0};
    assert_true(tbl_stream_read(f->db, "Orders", 0, SIZE_MAX, on_record, &s, &e) >= 0);
    assert_false(s.gap);
    assert_int_equal(s.records, PRESET + THREADS * PER_THREAD / 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_concurrent_writers_are_acknowledged_after_commit_and_captured_once, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_failed_condition_in_a_shared_group_changes_nothing,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
