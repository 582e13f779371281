/* Time to Live expiry: the trimmer thread calls tbl_ttl_sweep every second; it deletes the
 * items whose TTL attribute has passed, in transactions of at most TBL_TTL_BATCH items, each
 * deletion with its REMOVE stream record marked as DynamoDB's own (userIdentity type Service,
 * principalId dynamodb.amazonaws.com), which is how a CDC consumer tells expiry from a user's
 * delete. As in DynamoDB, only a Number attribute counts, and values more than five years in
 * the past are left alone. Finding expired items scans the table's items with json_extract:
 * fine for a laptop's tables, and it runs on the trimmer thread, never on a request.
 */
#include "tbl_ops.h"

#include <stdlib.h>
#include <string.h>

enum {
    TBL_TTL_BATCH = 100,
    TBL_TTL_MAX_AGE_S = 5 * 366 * 24 * 3600,   /* DynamoDB ignores TTL values older than 5 years */
};

/* Deletes up to one batch of expired items of table name; false when none were left. */
static bool sweep_batch(tbl_db *db, const char *name, int64_t now_s)
{
    sp_err e = {0};
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, &e)) return false;
    t.by_service = true;
    tbl_meta m;
    bool more = false, ok = tbl_meta_get(db, name, &m, false, &e) && m.ttl_attr[0] &&
                             !strpbrk(m.ttl_attr, "\"\\");
    char path[TBL_ATTR_NAME_MAX + 16];
    snprintf(path, sizeof path, "$.\"%s\".N", m.ttl_attr);
    sqlite3_stmt *st = NULL;
    if (ok)
        ok = sqlite3_prepare_v2(t.c->sql, "SELECT hk, rk, item FROM items WHERE tid=?1 AND"
                                          " CAST(json_extract(item, ?2) AS REAL) BETWEEN ?3 AND ?4"
                                          " LIMIT ?5", -1, &st, NULL) == SQLITE_OK;
    if (ok) {
        sqlite3_bind_int64(st, 1, m.tid);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, now_s - TBL_TTL_MAX_AGE_S);
        sqlite3_bind_int64(st, 4, now_s);
        sqlite3_bind_int64(st, 5, TBL_TTL_BATCH);
    }
    /* Collect first: deleting while the SELECT is open on the same connection is allowed by
     * SQLite but would make the scan's position depend on its own deletions. */
    json_t *doomed = json_array();
    while (ok && sqlite3_step(st) == SQLITE_ROW) {
        json_t *item = json_loadb((const char *)sqlite3_column_text(st, 2),
                                  (size_t)sqlite3_column_bytes(st, 2), JSON_ALLOW_NUL, NULL);
        if (item) json_array_append_new(doomed, item);
    }
    sqlite3_finalize(st);
    size_t i;
    json_t *item;
    json_array_foreach(doomed, i, item) {
        tbl_key k;
        if (!tbl_key_from_item(&m, item, false, &k, &e) ||
            !tbl_item_write(&t, &m, &k, item, NULL, &e)) {
            ok = false;
            break;
        }
    }
    more = ok && json_array_size(doomed) == TBL_TTL_BATCH;
    json_decref(doomed);
    if (!ok) {
        tbl_txn_rollback(&t);
        return false;
    }
    return tbl_txn_commit(&t, &e) && more;
}

void tbl_ttl_sweep(tbl_db *db, int64_t now_ms)
{
    char(*names)[TBL_NAME_MAX + 1];
    size_t n = tbl_meta_names(db, &names);
    for (size_t i = 0; i < n; i++) {
        tbl_meta m;
        sp_err ignore = {0};
        if (!tbl_meta_get(db, names[i], &m, true, &ignore) || !m.ttl_attr[0]) continue;
        while (sweep_batch(db, names[i], now_ms / 1000)) {
        }
    }
    free(names);
}
