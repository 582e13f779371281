/* Table streams for in-process consumers: reading records after a position, the latest
 * position, waiting for new commits (a condition variable signalled on commit), and the
 * retention trimmer. Trimming deletes expired records in small batches, each its own short
 * transaction, so writers never wait long behind it.
 */
#include "tbl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
    TBL_TRIM_INTERVAL_MS = 10 * 1000,
    TBL_TTL_SWEEP_MS = 1000,        /* DynamoDB takes up to days; a laptop user wants seconds */
    TBL_TRIM_BATCH = 500,
};

long tbl_stream_read(tbl_db *db, const char *table, uint64_t after_seq, size_t max,
                     tbl_stream_fn fn, void *arg, sp_err *e)
{
    tbl_meta m;
    if (!tbl_meta_get(db, table, &m, true, e)) return -1;
    if (!m.label[0]) {
        sp_err_set(e, 400, "ResourceNotFoundException", "Table %s has no stream", table);
        return -1;
    }
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) return -1;
    sqlite3_stmt *st = c->st[TBL_ST_STREAM_READ];
    sqlite3_bind_int64(st, 1, m.tid);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)after_seq);
    sqlite3_bind_int64(st, 3, max > INT64_MAX ? -1 : (sqlite3_int64)max);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)m.last_seq);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        tbl_stream_record rec = {
            .seq = (uint64_t)sqlite3_column_int64(st, 0),
            .created_ms = sqlite3_column_int64(st, 1),
            .json = (const char *)sqlite3_column_text(st, 2),
            .json_len = (size_t)sqlite3_column_bytes(st, 2),
        };
        n++;
        if (!fn(arg, &rec)) break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        tbl_sql_err(c, "reading stream", e);
        n = -1;
    }
    sqlite3_reset(st);
    tbl_conn_put(db, c);
    return n;
}

uint64_t tbl_stream_last_seq(tbl_db *db, const char *table)
{
    tbl_meta m;
    sp_err e = {0};
    return tbl_meta_get(db, table, &m, true, &e) ? m.last_seq : 0;
}

bool tbl_stream_wait(tbl_db *db, const char *table, uint64_t after_seq, int timeout_ms)
{
    struct timespec until;
    sp_clock_deadline(&until, timeout_ms > 0 ? timeout_ms : 0);
    bool ready = false;
    pthread_mutex_lock(&db->meta_mu);
    for (;;) {
        for (size_t i = 0; i < db->n_metas; i++)
            if (!strcmp(db->metas[i].name, table)) ready = db->metas[i].last_seq > after_seq;
        if (ready || db->stopping || timeout_ms <= 0) break;
        if (pthread_cond_timedwait(&db->commit_cv, &db->meta_mu, &until) == ETIMEDOUT) {
            for (size_t i = 0; i < db->n_metas; i++)
                if (!strcmp(db->metas[i].name, table)) ready = db->metas[i].last_seq > after_seq;
            break;
        }
    }
    pthread_mutex_unlock(&db->meta_mu);
    return ready;
}

/* Deletes up to one batch of expired records of a table; returns true if it filled the
 * batch (there may be more). */
static bool trim_batch(tbl_db *db, tbl_conn *c, const tbl_meta *m, int64_t cutoff_ms)
{
    sqlite3_stmt *st = NULL;
    uint64_t upto = 0;
    int seen = 0;
    if (sqlite3_prepare_v2(c->sql, "SELECT seq, created_ms FROM stream WHERE tid=?1 AND seq>?2"
                                   " ORDER BY seq LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
        return false;
    sqlite3_bind_int64(st, 1, m->tid);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)m->trim_seq);
    sqlite3_bind_int64(st, 3, TBL_TRIM_BATCH);
    while (sqlite3_step(st) == SQLITE_ROW) {
        seen++;
        if (sqlite3_column_int64(st, 1) >= cutoff_ms) break;
        upto = (uint64_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    if (!upto) return false;

    sp_err e = {0};
    tbl_txn t;
    if (!tbl_txn_begin(db, &t, &e)) return false;
    bool ok = true;
    const char *const sql[] = {"DELETE FROM stream WHERE tid=?1 AND seq<=?2",
                               "UPDATE tables SET trim_seq=?2 WHERE tid=?1"};
    for (size_t i = 0; i < SP_ARRAY_LEN(sql) && ok; i++) {
        ok = sqlite3_prepare_v2(t.c->sql, sql[i], -1, &st, NULL) == SQLITE_OK;
        if (ok) {
            sqlite3_bind_int64(st, 1, m->tid);
            sqlite3_bind_int64(st, 2, (sqlite3_int64)upto);
            ok = sqlite3_step(st) == SQLITE_DONE;
        }
        sqlite3_finalize(st);
    }
    if (!ok) {
        tbl_txn_rollback(&t);
        return false;
    }
    tbl_meta fresh;
    bool still = tbl_meta_get(db, m->name, &fresh, true, &e) && fresh.tid == m->tid;
    if (!tbl_txn_commit(&t, &e)) return false;
    if (still) {
        /* Writers and the WAL syncer change last_seq, under locks we do not hold, so set
         * trim_seq alone through a fresh copy taken under the cache lock. */
        pthread_mutex_lock(&db->meta_mu);
        for (size_t i = 0; i < db->n_metas; i++)
            if (db->metas[i].tid == m->tid) db->metas[i].trim_seq = upto;
        pthread_mutex_unlock(&db->meta_mu);
    }
    return seen == TBL_TRIM_BATCH;
}

void tbl_stream_trim(tbl_db *db, int64_t now_ms)
{
    sp_err e = {0};
    char(*names)[TBL_NAME_MAX + 1];
    size_t n = tbl_meta_names(db, &names);
    tbl_conn *c = tbl_conn_get(db, &e);
    for (size_t i = 0; c && i < n; i++) {
        tbl_meta m;
        for (;;) {
            if (!tbl_meta_get(db, names[i], &m, true, &e)) break;
            int64_t cutoff = now_ms - m.retention_hours * 3600 * 1000;
            if (!trim_batch(db, c, &m, cutoff)) break;
        }
        sp_err_clear(&e);
    }
    tbl_conn_put(db, c);
    free(names);
}

/* Trims expired stream records every TBL_TRIM_INTERVAL_MS and deletes items whose Time to
 * Live has passed every TBL_TTL_SWEEP_MS. */
static void *trimmer_main(void *arg)
{
    tbl_db *db = arg;
    int64_t last_trim = sp_clock_wall_ms();
    pthread_mutex_lock(&db->meta_mu);
    while (!db->stopping) {
        struct timespec until;
        sp_clock_deadline(&until, TBL_TTL_SWEEP_MS);
        pthread_cond_timedwait(&db->stop_cv, &db->meta_mu, &until);
        if (db->stopping) break;
        pthread_mutex_unlock(&db->meta_mu);
        int64_t now = sp_clock_wall_ms();
        tbl_ttl_sweep(db, now);
        if (now - last_trim >= TBL_TRIM_INTERVAL_MS) {
            tbl_stream_trim(db, now);
            last_trim = now;
        }
        pthread_mutex_lock(&db->meta_mu);
    }
    pthread_mutex_unlock(&db->meta_mu);
    return NULL;
}

void tbl_trimmer_start(tbl_db *db)
{
    db->trimmer_running = pthread_create(&db->trimmer, NULL, trimmer_main, db) == 0;
}

void tbl_trimmer_stop(tbl_db *db)
{
    pthread_mutex_lock(&db->meta_mu);
    db->stopping = true;
    pthread_cond_broadcast(&db->stop_cv);
    pthread_cond_broadcast(&db->commit_cv);
    pthread_mutex_unlock(&db->meta_mu);
    if (db->trimmer_running) pthread_join(db->trimmer, NULL);
    db->trimmer_running = false;
}
