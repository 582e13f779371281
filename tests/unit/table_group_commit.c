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

#include "core/ack.h"
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

/* ---- pipelined durability (fsync mode): a test hook holds or fails the WAL sync ---------- */

typedef struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int calls;           /* syncs started */
    int hold;            /* syncs numbered below this wait for open */
    bool open, fail;
} gate;

static bool gate_hook(void *arg)
{
    gate *g = arg;
    pthread_mutex_lock(&g->mu);
    int n = g->calls++;
    pthread_cond_broadcast(&g->cv);
    while (n < g->hold && !g->open) pthread_cond_wait(&g->cv, &g->mu);
    bool ok = !g->fail;
    pthread_mutex_unlock(&g->mu);
    return ok;
}

static void gate_init(gate *g, int hold, bool fail)
{
    *g = (gate){.hold = hold, .fail = fail};
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
}

static void gate_wait_calls(gate *g, int n)
{
    pthread_mutex_lock(&g->mu);
    while (g->calls < n) pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->mu);
    g->open = true;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->mu);
}

static uint64_t groups_committed(tbl_db *db)
{
    pthread_mutex_lock(&db->sync_mu);
    uint64_t n = db->commit_no;
    pthread_mutex_unlock(&db->sync_mu);
    return n;
}

typedef struct one_put {
    tbl_db *db;
    char id[16];
    bool ok, done;
    sp_err e;
} one_put;

static void *one_put_run(void *arg)
{
    one_put *p = arg;
    json_t *resp = call(p->db, "PutItem", put_req(p->id, 1, false), &p->e);
    p->ok = resp != NULL;
    json_decref(resp);
    __atomic_store_n(&p->done, true, __ATOMIC_SEQ_CST);
    return NULL;
}

static long stream_rows_in_sqlite(tbl_db *db)
{
    sp_err e = {0};
    tbl_conn *c = tbl_conn_get(db, &e);
    assert_non_null(c);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(c->sql, "SELECT count(*) FROM stream", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    tbl_conn_put(db, c);
    return n;
}

static long stream_records(tbl_db *db)
{
    seen s = {.next_seq = 1};
    sp_err e = {0};
    assert_true(tbl_stream_read(db, "Orders", 0, SIZE_MAX, on_record, &s, &e) >= 0);
    assert_false(s.gap);
    return s.records;
}

/* A committed group's stream record is in SQLite (another connection could read it) but no
 * stream reader sees it, and its writer is not answered, until the WAL sync has finished. */
static void test_stream_position_is_published_only_after_the_sync(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g, 1, false);
    f->db->sync_hook = gate_hook;
    f->db->sync_hook_arg = &g;
    uint64_t base = groups_committed(f->db);
    one_put p = {.db = f->db, .id = "a"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, one_put_run, &p), 0);
    gate_wait_calls(&g, 1);                     /* committed, syncing */
    assert_int_equal(groups_committed(f->db), base + 1);
    assert_int_equal(stream_rows_in_sqlite(f->db), 1);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 0);
    assert_int_equal(stream_records(f->db), 0);
    assert_false(tbl_stream_wait(f->db, "Orders", 0, 20));
    assert_false(__atomic_load_n(&p.done, __ATOMIC_SEQ_CST));
    gate_open(&g);
    pthread_join(th, NULL);
    assert_true(p.ok);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 1);
    assert_int_equal(stream_records(f->db), 1);
    f->db->sync_hook = NULL;
}

static size_t open_group_members(tbl_db *db)
{
    pthread_mutex_lock(&db->write_mu);
    size_t n = db->group_open ? db->group_members : 0;
    pthread_mutex_unlock(&db->write_mu);
    return n;
}

/* Writers that finish while a sync is under way wait in the open group, uncommitted; when the
 * sync is done one of them commits them all as one transaction and syncs once for them.
 * Sequence numbers continue from the unpublished position: no gap, no reuse. */
static void test_writers_finishing_during_a_sync_share_the_next_commit_and_sync(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g, 1, false);
    f->db->sync_hook = gate_hook;
    f->db->sync_hook_arg = &g;
    uint64_t w0, g0, s0, base = groups_committed(f->db);
    tbl_db_commit_stats(f->db, &w0, &g0, &s0);
    one_put p[3] = {{.db = f->db, .id = "a"}, {.db = f->db, .id = "b"},
                    {.db = f->db, .id = "c"}};
    pthread_t th[3];
    assert_int_equal(pthread_create(&th[0], NULL, one_put_run, &p[0]), 0);
    gate_wait_calls(&g, 1);                     /* a's group committed, being synced */
    for (int i = 1; i < 3; i++) assert_int_equal(pthread_create(&th[i], NULL, one_put_run, &p[i]), 0);
    while (open_group_members(f->db) < 2) usleep(1000);
    assert_int_equal(groups_committed(f->db), base + 1);   /* b and c wait, uncommitted */
    assert_int_equal(stream_rows_in_sqlite(f->db), 1);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 0);
    gate_open(&g);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(p[i].ok);
    }
    uint64_t w1, g1, s1;
    tbl_db_commit_stats(f->db, &w1, &g1, &s1);
    assert_int_equal(w1 - w0, 3);
    assert_int_equal(g1 - g0, 2);
    assert_int_equal(s1 - s0, 2);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 3);
    assert_int_equal(stream_records(f->db), 3);        /* 1, 2, 3: no gap, no reuse */
    f->db->sync_hook = NULL;
}

/* A failed WAL sync: the write is not acknowledged (500), its record is never published, and
 * no later write is acknowledged either (its durability could not be known). */
static void test_failed_sync_acknowledges_and_publishes_nothing(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g, 0, true);
    f->db->sync_hook = gate_hook;
    f->db->sync_hook_arg = &g;
    for (int i = 0; i < 2; i++) {
        sp_err e = {0};
        json_t *resp = call(f->db, "PutItem", put_req(i ? "b" : "a", 1, false), &e);
        assert_null(resp);
        assert_int_equal(e.status, 500);
        assert_string_equal(e.code, "InternalServerError");
        assert_null(strstr(e.msg, f->dir));     /* no file path in an API error */
    }
    assert_int_equal(g.calls, 1);               /* the second write did not even try */
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 0);
    assert_int_equal(stream_records(f->db), 0);
    f->db->sync_hook = NULL;
}

/* ---- deferred answers (core/ack.h): the writer's thread does not wait for the sync -------- */

typedef struct ready_count {
    int calls;
} ready_count;

static void count_ready(sp_ack *a, void *arg)
{
    (void)a;
    __atomic_add_fetch(&((ready_count *)arg)->calls, 1, __ATOMIC_SEQ_CST);
}

/* One thread, in an ack scope each, issues writes while the sync of an earlier group is held:
 * every PutItem returns at once with its answer, none is settled (ready) before the sync
 * that covers it, and all of them share one group and one sync; the stream position is
 * published only after it. Without deferral each write would wait for its own sync. */
static void test_deferred_writes_return_at_once_share_one_group_and_settle_after_the_sync(
    void **state)
{
    fixture *f = *state;
    enum { N = 5 };
    gate g;
    gate_init(&g, 1, false);
    f->db->sync_hook = gate_hook;
    f->db->sync_hook_arg = &g;
    uint64_t w0, g0, s0;
    tbl_db_commit_stats(f->db, &w0, &g0, &s0);
    one_put first = {.db = f->db, .id = "a"};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, one_put_run, &first), 0);
    gate_wait_calls(&g, 1);                     /* a's group committed, being synced */
    sp_ack acks[N];
    ready_count rc = {0};
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "d%d", i);
        sp_ack_scope_enter(&acks[i], count_ready, &rc);
        sp_err e = {0};
        json_t *resp = call(f->db, "PutItem", put_req(id, i, false), &e);
        sp_ack_scope_leave();
        assert_non_null(resp);
        json_decref(resp);
        assert_true(sp_ack_others_hold(&acks[i]));     /* the answer waits for the sync */
        assert_false(sp_ack_release(&acks[i], NULL));  /* the opener's hold */
    }
    assert_int_equal(open_group_members(f->db), N);    /* all in the one open group */
    assert_int_equal(__atomic_load_n(&rc.calls, __ATOMIC_SEQ_CST), 0);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 0);
    gate_open(&g);
    pthread_join(th, NULL);
    assert_true(first.ok);
    while (__atomic_load_n(&rc.calls, __ATOMIC_SEQ_CST) < N) usleep(1000);
    for (int i = 0; i < N; i++) assert_false(acks[i].failed);
    uint64_t w1, g1, s1;
    tbl_db_commit_stats(f->db, &w1, &g1, &s1);
    assert_int_equal(w1 - w0, 1 + N);
    assert_int_equal(g1 - g0, 2);
    assert_int_equal(s1 - s0, 2);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 1 + N);
    assert_int_equal(stream_records(f->db), 1 + N);
    f->db->sync_hook = NULL;
}

/* A deferred write whose sync fails: its ack settles failed with the API's 500 (no file path),
 * and its record is never published. */
static void test_deferred_write_whose_sync_fails_settles_failed(void **state)
{
    fixture *f = *state;
    gate g;
    gate_init(&g, 0, true);
    f->db->sync_hook = gate_hook;
    f->db->sync_hook_arg = &g;
    sp_ack ack;
    ready_count rc = {0};
    sp_ack_scope_enter(&ack, count_ready, &rc);
    sp_err e = {0};
    json_t *resp = call(f->db, "PutItem", put_req("a", 1, false), &e);
    sp_ack_scope_leave();
    assert_non_null(resp);                      /* the answer is built, not yet sent */
    json_decref(resp);
    sp_ack_release(&ack, NULL);
    while (__atomic_load_n(&rc.calls, __ATOMIC_SEQ_CST) < 1) usleep(1000);
    assert_true(ack.failed);
    assert_int_equal(ack.err.status, 500);
    assert_string_equal(ack.err.code, "InternalServerError");
    assert_null(strstr(ack.err.msg, f->dir));
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 0);
    f->db->sync_hook = NULL;
}

/* Outside a scope, or for a write that is not deferrable, nothing changes: the caller waits. */
static void test_write_outside_an_ack_scope_waits_for_its_sync(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    assert_null(sp_ack_current());
    json_t *resp = call(f->db, "PutItem", put_req("a", 1, false), &e);
    assert_non_null(resp);
    json_decref(resp);
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 1);  /* published before return */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_concurrent_writers_are_acknowledged_after_commit_and_captured_once, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_failed_condition_in_a_shared_group_changes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stream_position_is_published_only_after_the_sync,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_writers_finishing_during_a_sync_share_the_next_commit_and_sync, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_failed_sync_acknowledges_and_publishes_nothing,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_deferred_writes_return_at_once_share_one_group_and_settle_after_the_sync, setup,
            teardown),
        cmocka_unit_test_setup_teardown(test_deferred_write_whose_sync_fails_settles_failed,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_outside_an_ack_scope_waits_for_its_sync,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
