/* Table storage, spelled out: items round-trip through the write path, every change lands
 * as exactly one stream record in commit order (and a write that changes nothing lands as
 * none), sort keys come back in numeric order from the byte-ordered index, DynamoDB's item
 * size rules and the 400 KB limit hold, and retention trims without losing the position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "table/expr.h"
#include "table/tbl_int.h"

typedef struct fixture {
    char dir[64];
    tbl_db *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp-table-unit-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    sp_err e = {0};
    f->db = tbl_db_open(f->dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(f->db);
    sp_cfg_table orders = {.name = "Orders", .hash_key = "orderid", .hash_key_type = "S",
                           .stream_view_type = "NEW_AND_OLD_IMAGES",
                           .stream_retention_hours = 24};
    assert_true(tbl_table_ensure(f->db, &orders, &e));
    sp_cfg_table ranged = {.name = "Ranged", .hash_key = "h", .hash_key_type = "S",
                           .range_key = "r", .range_key_type = "N",
                           .stream_retention_hours = 24};
    assert_true(tbl_table_ensure(f->db, &ranged, &e));
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

/* Writes (or deletes, item_json NULL with key_json) one item in its own transaction. */
static void write_item(tbl_db *db, const char *table, const char *item_json,
                       const char *key_json)
{
    sp_err e = {0};
    tbl_meta m;
    assert_true(tbl_meta_get(db, table, &m, false, &e));
    tbl_key k;
    json_t *item = NULL;
    if (item_json) {
        json_t *raw = json_loads(item_json, 0, NULL);
        item = tbl_item_prepare(&m, raw, &k, &e);
        json_decref(raw);
        assert_non_null(item);
    } else {
        json_t *raw = json_loads(key_json, 0, NULL);
        assert_true(tbl_key_prepare(&m, raw, &k, &e));
        json_decref(raw);
    }
    tbl_txn t;
    assert_true(tbl_txn_begin(db, &t, &e));
    json_t *old = NULL;
    assert_true(tbl_item_read(t.c, &m, &k, &old, &e));
    assert_true(tbl_item_write(&t, &m, &k, old, item, &e));
    assert_true(tbl_txn_commit(&t, &e));
    json_decref(old);
    json_decref(item);
}

typedef struct records {
    json_t *list;
    uint64_t seqs[64];
    size_t n;
} records;

static bool collect(void *arg, const tbl_stream_record *rec)
{
    records *r = arg;
    json_t *j = json_loadb(rec->json, rec->json_len, 0, NULL);
    assert_non_null(j);
    json_array_append_new(r->list, j);
    r->seqs[r->n++] = rec->seq;
    return true;
}

static records read_all(tbl_db *db, const char *table, uint64_t after)
{
    records r = {.list = json_array()};
    sp_err e = {0};
    assert_true(tbl_stream_read(db, table, after, 64, collect, &r, &e) >= 0);
    return r;
}

static const char *rec_str(const json_t *rec, const char *path1, const char *path2,
                           const char *attr, const char *type)
{
    json_t *v = json_object_get(rec, path1);
    if (path2) v = json_object_get(v, path2);
    if (attr) v = json_object_get(json_object_get(v, attr), type);
    return json_string_value(v);
}

static void test_stream_captures_insert_modify_remove_in_commit_order(void **state)
{
    fixture *f = *state;
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"7\"},\"price\":{\"N\":\"10.50\"}}", NULL);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"7\"},\"price\":{\"N\":\"12\"}}", NULL);
    write_item(f->db, "Orders", NULL, "{\"orderid\":{\"S\":\"7\"}}");
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 3);
    const char *names[] = {"INSERT", "MODIFY", "REMOVE"};
    for (size_t i = 0; i < 3; i++) {
        json_t *rec = json_array_get(r.list, i);
        assert_int_equal(r.seqs[i], i + 1);
        assert_string_equal(rec_str(rec, "eventName", NULL, NULL, NULL), names[i]);
        assert_string_equal(rec_str(rec, "eventVersion", NULL, NULL, NULL), "1.1");
        assert_string_equal(rec_str(rec, "eventSource", NULL, NULL, NULL), "aws:dynamodb");
        assert_string_equal(rec_str(rec, "dynamodb", "Keys", "orderid", "S"), "7");
        char seq[32];
        snprintf(seq, sizeof seq, "%021zu", i + 1);
        assert_string_equal(rec_str(rec, "dynamodb", "SequenceNumber", NULL, NULL), seq);
    }
    json_t *ins = json_array_get(r.list, 0), *mod = json_array_get(r.list, 1),
           *rem = json_array_get(r.list, 2);
    /* Numbers are stored canonical: 10.50 reads back as 10.5. */
    assert_string_equal(rec_str(ins, "dynamodb", "NewImage", "price", "N"), "10.5");
    assert_null(json_object_get(json_object_get(ins, "dynamodb"), "OldImage"));
    assert_string_equal(rec_str(mod, "dynamodb", "OldImage", "price", "N"), "10.5");
    assert_string_equal(rec_str(mod, "dynamodb", "NewImage", "price", "N"), "12");
    assert_string_equal(rec_str(rem, "dynamodb", "OldImage", "price", "N"), "12");
    assert_null(json_object_get(json_object_get(rem, "dynamodb"), "NewImage"));
    assert_int_equal(tbl_stream_last_seq(f->db, "Orders"), 3);
    json_decref(r.list);
}

static void test_same_put_writes_no_record(void **state)
{
    fixture *f = *state;
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"1\"},\"q\":{\"N\":\"2\"},"
                                "\"tags\":{\"SS\":[\"a\",\"b\"]}}", NULL);
    /* The same item again, written differently: 2.0 == 2, set order does not matter. */
    write_item(f->db, "Orders", "{\"tags\":{\"SS\":[\"b\",\"a\"]},\"q\":{\"N\":\"2.0\"},"
                                "\"orderid\":{\"S\":\"1\"}}", NULL);
    /* Deleting an absent item changes nothing either. */
    write_item(f->db, "Orders", NULL, "{\"orderid\":{\"S\":\"absent\"}}");
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 1);
    assert_false(tbl_stream_wait(f->db, "Orders", 1, 10));
    assert_true(tbl_stream_wait(f->db, "Orders", 0, 10));
    json_decref(r.list);
}

static int cmp_num_text(const char *a, const char *b)
{
    tbl_num x, y;
    sp_err e = {0};
    assert_true(tbl_num_parse(a, &x, &e));
    assert_true(tbl_num_parse(b, &y, &e));
    return tbl_num_cmp(&x, &y);
}

static void test_number_sort_keys_come_back_in_numeric_order(void **state)
{
    fixture *f = *state;
    const char *values[] = {"10", "-1", "2", "1E3", "-0.5", "0", "99999999999999999999999999",
                            "-1000", "0.001", "2.5"};
    char item[160];
    for (size_t i = 0; i < SP_ARRAY_LEN(values); i++) {
        snprintf(item, sizeof item, "{\"h\":{\"S\":\"p\"},\"r\":{\"N\":\"%s\"}}", values[i]);
        write_item(f->db, "Ranged", item, NULL);
    }
    sp_err e = {0};
    tbl_conn *c = tbl_conn_get(f->db, &e);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(c->sql, "SELECT item FROM items WHERE hk=X'70'"
                                                " ORDER BY tid, hk, rk", -1, &st, NULL),
                     SQLITE_OK);
    char prev[TBL_NUM_STR_MAX] = "";
    size_t n = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        json_t *it = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        const char *r = json_string_value(json_object_get(json_object_get(it, "r"), "N"));
        if (prev[0]) assert_true(cmp_num_text(prev, r) < 0);
        snprintf(prev, sizeof prev, "%s", r);
        json_decref(it);
        n++;
    }
    sqlite3_finalize(st);
    tbl_conn_put(f->db, c);
    assert_int_equal(n, SP_ARRAY_LEN(values));
    assert_string_equal(prev, "99999999999999999999999999");
}

static size_t size_of(const char *json)
{
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    size_t n = tbl_item_size(j);
    json_decref(j);
    return n;
}

static void test_item_size_follows_dynamodb_rules(void **state)
{
    (void)state;
    /* name bytes + string bytes */
    assert_int_equal(size_of("{\"ab\":{\"S\":\"hello\"}}"), 2 + 5);
    /* numbers: 1 byte per two significant digits + 1 */
    assert_int_equal(size_of("{\"n\":{\"N\":\"12345\"}}"), 1 + 3 + 1);
    /* binary: decoded bytes ("aGVsbG8=" is "hello") */
    assert_int_equal(size_of("{\"b\":{\"B\":\"aGVsbG8=\"}}"), 1 + 5);
    /* BOOL and NULL: 1 byte */
    assert_int_equal(size_of("{\"t\":{\"BOOL\":true},\"z\":{\"NULL\":true}}"), 1 + 1 + 1 + 1);
    /* list/map: 3 bytes + 1 per element + elements */
    assert_int_equal(size_of("{\"l\":{\"L\":[{\"S\":\"ab\"},{\"BOOL\":false}]}}"),
                     1 + 3 + (2 + 1) + (1 + 1));
    assert_int_equal(size_of("{\"m\":{\"M\":{\"k\":{\"S\":\"v\"}}}}"), 1 + 3 + (1 + 1 + 1));
    /* sets: sum of members */
    assert_int_equal(size_of("{\"s\":{\"SS\":[\"ab\",\"cde\"]}}"), 1 + 5);
}

static void test_item_over_400kb_is_rejected(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    tbl_meta m;
    assert_true(tbl_meta_get(f->db, "Orders", &m, false, &e));
    size_t big = TBL_ITEM_MAX_BYTES - strlen("orderid") - 1 - strlen("data");
    char *s = malloc(big + 2);
    memset(s, 'x', big + 1);
    s[big] = '\0';
    json_t *item = json_pack("{s:{s:s}, s:{s:s}}", "orderid", "S", "1", "data", "S", s);
    tbl_key k;
    json_t *ok = tbl_item_prepare(&m, item, &k, &e);
    assert_non_null(ok); /* exactly 400 KB is allowed */
    json_decref(ok);
    json_decref(item);
    s[big] = 'x';
    s[big + 1] = '\0';
    item = json_pack("{s:{s:s}, s:{s:s}}", "orderid", "S", "1", "data", "S", s);
    assert_null(tbl_item_prepare(&m, item, &k, &e));
    assert_string_equal(e.code, "ValidationException");
    assert_string_equal(e.msg, "Item size has exceeded the maximum allowed size");
    json_decref(item);
    free(s);
}

static void test_key_validation_messages(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    tbl_meta m;
    tbl_key k;
    assert_true(tbl_meta_get(f->db, "Orders", &m, false, &e));
    json_t *item = json_loads("{\"price\":{\"N\":\"1\"}}", 0, NULL);
    assert_null(tbl_item_prepare(&m, item, &k, &e));
    assert_string_equal(e.msg, "One or more parameter values were invalid: Missing the key "
                               "orderid in the item");
    json_decref(item);
    sp_err_clear(&e);
    item = json_loads("{\"orderid\":{\"N\":\"1\"}}", 0, NULL);
    assert_null(tbl_item_prepare(&m, item, &k, &e));
    assert_string_equal(e.msg, "One or more parameter values were invalid: Type mismatch for "
                               "key orderid expected: S actual: N");
    json_decref(item);
    sp_err_clear(&e);
    item = json_loads("{\"orderid\":{\"S\":\"1\"},\"x\":{\"S\":\"y\"}}", 0, NULL);
    assert_false(tbl_key_prepare(&m, item, &k, &e));
    assert_string_equal(e.msg, "The provided key element does not match the schema");
    json_decref(item);
    assert_false(tbl_meta_get(f->db, "Nope", &m, false, &e));
    assert_string_equal(e.code, "ResourceNotFoundException");
}

static void test_retention_trims_but_keeps_the_position(void **state)
{
    fixture *f = *state;
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"a\"}}", NULL);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"b\"}}", NULL);
    /* A day and a bit later every record is past retention. */
    tbl_stream_trim(f->db, sp_clock_wall_ms() + 25LL * 3600 * 1000);
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 0);
    json_decref(r.list);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"c\"}}", NULL);
    r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.seqs[0], 3); /* seq is never reused */
    json_decref(r.list);
    /* Reopening keeps both the trim horizon and the last position. */
    tbl_db_close(f->db);
    sp_err e = {0};
    f->db = tbl_db_open(f->dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(f->db);
    tbl_meta m;
    assert_true(tbl_meta_get(f->db, "Orders", &m, false, &e));
    assert_int_equal(m.trim_seq, 2);
    assert_int_equal(m.last_seq, 3);
}

/* A power loss in relaxed mode can take the last commits, whose records a consumer may
 * already hold: the next change must get a number above every number handed out before. */
static void test_seq_lost_with_a_commit_is_never_handed_out_again(void **state)
{
    fixture *f = *state;
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"a\"}}", NULL);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"b\"}}", NULL);
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 2);
    uint64_t seen = r.seqs[1];
    json_decref(r.list);
    tbl_db_close(f->db);
    char seq_file[128];
    snprintf(seq_file, sizeof seq_file, "%s/tables.seq", f->dir);
    assert_int_equal(access(seq_file, R_OK), 0);   /* the reservation is on disk */
    /* The commit of b never reached the disk. */
    sqlite3 *sql;
    char path[128];
    snprintf(path, sizeof path, "%s/tables.db", f->dir);
    assert_int_equal(sqlite3_open(path, &sql), SQLITE_OK);
    const char *lose_b = "DELETE FROM stream WHERE seq = (SELECT max(seq) FROM stream);"
                         "DELETE FROM items WHERE hk = (SELECT max(hk) FROM items)";
    assert_int_equal(sqlite3_exec(sql, lose_b, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(sql);
    sp_err e = {0};
    f->db = tbl_db_open(f->dir, SP_DURABILITY_RELAXED, &e);
    assert_non_null(f->db);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"c\"}}", NULL);
    r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 2);
    assert_true(r.seqs[1] > seen);
    assert_true(r.seqs[1] > TBL_SEQ_RESERVE_BLOCK); /* above the whole reservation */
    json_decref(r.list);
    /* And again after a clean reopen: still increasing, the file keeps the reservation. */
    tbl_db_close(f->db);
    f->db = tbl_db_open(f->dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(f->db);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"d\"}}", NULL);
    records r2 = read_all(f->db, "Orders", 0);
    assert_int_equal(r2.n, 3);
    assert_true(r2.seqs[2] > r2.seqs[1]);
    json_decref(r2.list);
}

/* Both modes commit the writer's groups with synchronous=NORMAL (WAL frames written, not
 * synced, inside COMMIT); fsync mode then syncs the WAL itself before a write is answered
 * (store.c), relaxed never does. Other connections keep FULL under fsync. */
/* The record text after its random eventID (the rest is determined by the change). */
static const char *after_event_id(const char *rec)
{
    const char *p = strstr(rec, "\"eventName\"");
    assert_non_null(p);
    return p;
}

/* A stream record is built in one pass from the texts at hand (the new item serialised once
 * for its row, the old item's stored text): it reads byte for byte as spelled out here, and
 * the same as a record whose old image is serialised from the parsed item. */
static void test_record_text_is_exact_with_or_without_the_old_text(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    tbl_meta m;
    assert_true(tbl_meta_get(f->db, "Orders", &m, false, &e));
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"7\"},\"b\":{\"N\":\"1\"},\"a\":{\"S\":\"x\"}}",
               NULL);
    char *texts[2];
    for (int given = 0; given < 2; given++) {
        json_t *raw = json_loads(given ? "{\"orderid\":{\"S\":\"7\"},\"b\":{\"N\":\"3\"}}"
                                       : "{\"orderid\":{\"S\":\"7\"},\"b\":{\"N\":\"2\"}}", 0, NULL);
        tbl_key k;
        json_t *item = tbl_item_prepare(&m, raw, &k, &e);
        json_decref(raw);
        assert_non_null(item);
        tbl_txn t;
        assert_true(tbl_txn_begin(f->db, &t, &e));
        json_t *old = NULL;
        char *old_text = NULL;
        size_t old_len = 0;
        assert_true(tbl_item_read_text(t.c, &m, &k, &old, &old_text, &old_len, &e));
        assert_non_null(old_text);
        assert_int_equal(old_len, strlen(old_text));
        assert_true(tbl_item_write_text(&t, &m, &k, old, given ? old_text : NULL, old_len, item,
                                        &e));
        texts[given] = strdup(after_event_id(t.scratch.buf));
        assert_true(tbl_txn_commit(&t, &e));
        free(old_text);
        json_decref(old);
        json_decref(item);
    }
    char arn[TBL_ARN_MAX], want[1024];
    tbl_stream_arn(&m, m.label, arn);
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 3);
    const char *old_images[2] = {"{\"a\":{\"S\":\"x\"},\"b\":{\"N\":\"1\"},\"orderid\":{\"S\":\"7\"}}",
                                 "{\"b\":{\"N\":\"2\"},\"orderid\":{\"S\":\"7\"}}"};
    for (int given = 0; given < 2; given++) {
        long long at = (long long)json_integer_value(json_object_get(
            json_object_get(json_array_get(r.list, (size_t)given + 1), "dynamodb"),
            "ApproximateCreationDateTime"));
        snprintf(want, sizeof want,
                 "\"eventName\":\"MODIFY\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\","
                 "\"awsRegion\":\"us-east-1\",\"dynamodb\":{\"ApproximateCreationDateTime\":%lld,"
                 "\"Keys\":{\"orderid\":{\"S\":\"7\"}},"
                 "\"NewImage\":{\"b\":{\"N\":\"%d\"},\"orderid\":{\"S\":\"7\"}},\"OldImage\":%s,"
                 "\"SequenceNumber\":\"%021d\",\"SizeBytes\":%d,"
                 "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"eventSourceARN\":\"%s\"}",
                 at, given ? 3 : 2, old_images[given], given + 2, given ? 30 : 32, arn);
        assert_string_equal(texts[given], want);
        free(texts[given]);
    }
    json_decref(r.list);
}

/* Replacing an item of the same key changes only its row's page (and the stream's): its
 * entry in the hash-ordered index (hp is a function of the key) is left as it is, not
 * deleted and inserted again, so the commit writes one page fewer to the WAL. */
static void test_replacing_an_item_leaves_its_hash_index_page_alone(void **state)
{
    fixture *f = *state;
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"9\"},\"n\":{\"N\":\"1\"}}", NULL);
    int before, hi;
    assert_int_equal(sqlite3_db_status(f->db->writer->sql, SQLITE_DBSTATUS_CACHE_WRITE, &before,
                                       &hi, 0), SQLITE_OK);
    write_item(f->db, "Orders", "{\"orderid\":{\"S\":\"9\"},\"n\":{\"N\":\"2\"}}", NULL);
    int after;
    assert_int_equal(sqlite3_db_status(f->db->writer->sql, SQLITE_DBSTATUS_CACHE_WRITE, &after,
                                       &hi, 0), SQLITE_OK);
    assert_int_equal(after - before, 2); /* the items page and the stream page */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db->writer->sql,
                                        "SELECT count(*) FROM items INDEXED BY items_by_hash"
                                        " WHERE tid > 0 AND hp >= 0", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    records r = read_all(f->db, "Orders", 0);
    assert_int_equal(r.n, 2);
    assert_string_equal(rec_str(json_array_get(r.list, 1), "dynamodb", "NewImage", "n", "N"), "2");
    json_decref(r.list);
}

static void test_durability_sets_synchronous(void **state)
{
    fixture *f = *state;
    sp_err e = {0};
    for (int relaxed = 0; relaxed < 2; relaxed++) {
        tbl_db_close(f->db);
        f->db = tbl_db_open(f->dir, relaxed ? SP_DURABILITY_RELAXED : SP_DURABILITY_FSYNC, &e);
        assert_non_null(f->db);
        write_item(f->db, "Orders", relaxed ? "{\"orderid\":{\"S\":\"r\"}}"
                                            : "{\"orderid\":{\"S\":\"f\"}}", NULL);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(f->db->writer->sql, "PRAGMA synchronous", -1, &st,
                                            NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 1); /* NORMAL */
        sqlite3_finalize(st);
        tbl_conn *c = tbl_conn_get(f->db, &e);
        assert_non_null(c);
        assert_int_equal(sqlite3_prepare_v2(c->sql, "PRAGMA synchronous", -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), relaxed ? 1 : 2); /* NORMAL : FULL */
        sqlite3_finalize(st);
        tbl_conn_put(f->db, c);
        uint64_t writes, groups, syncs;
        tbl_db_commit_stats(f->db, &writes, &groups, &syncs);
        assert_true(writes >= 1 && groups >= 1 && groups <= writes);
        if (relaxed) assert_int_equal(syncs, 0);
        else assert_true(syncs >= 1 && syncs <= groups);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream_captures_insert_modify_remove_in_commit_order,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_same_put_writes_no_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_number_sort_keys_come_back_in_numeric_order, setup,
                                        teardown),
        cmocka_unit_test(test_item_size_follows_dynamodb_rules),
        cmocka_unit_test_setup_teardown(test_item_over_400kb_is_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_validation_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_trims_but_keeps_the_position, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_seq_lost_with_a_commit_is_never_handed_out_again,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_durability_sets_synchronous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_text_is_exact_with_or_without_the_old_text,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_replacing_an_item_leaves_its_hash_index_page_alone,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
