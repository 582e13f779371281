/* WAL checkpoints off the write path. SQLite's autocheckpoint runs inside the COMMIT of the
 * writer that crosses the threshold, fsyncing the WAL and the database while every other
 * writer waits behind write_mu. Here the writer connection has autocheckpoint off and a WAL
 * hook that, past TBL_CHECKPOINT_PAGES, wakes a background thread which runs a PASSIVE
 * checkpoint on its own connection, concurrently with writers. The WAL is still synced every
 * ~TBL_CHECKPOINT_PAGES pages, so what a power loss can take is unchanged; should the thread
 * fall far behind (TBL_CHECKPOINT_INLINE_PAGES), the writer checkpoints itself as before.
 */
#include "tbl_int.h"

/* sqlite3_wal_hook callback: runs in the writer's thread right after a commit. */
static int wal_hook(void *arg, sqlite3 *sql, const char *name, int pages)
{
    tbl_db *db = arg;
    /* Only the writer's own checkpoint can backfill every frame (no frames are appended
     * meanwhile), which is what lets the next write restart the WAL from its start. */
    if (pages >= TBL_CHECKPOINT_INLINE_PAGES) {
        sqlite3_wal_checkpoint_v2(sql, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    /* Otherwise the thread checkpoints (and so syncs the WAL) every TBL_CHECKPOINT_PAGES
     * new pages, as SQLite's autocheckpoint would. */
    pthread_mutex_lock(&db->ckpt_mu);
    if (pages < db->ckpt_last_pages) db->ckpt_next_pages = 0;   /* the WAL restarted */
    db->ckpt_last_pages = pages;
    if (pages >= db->ckpt_next_pages + TBL_CHECKPOINT_PAGES) {
        db->ckpt_next_pages = pages;
        db->ckpt_wanted = true;
        pthread_cond_signal(&db->ckpt_cv);
    }
    pthread_mutex_unlock(&db->ckpt_mu);
    return SQLITE_OK;
}

void tbl_checkpointer_attach(tbl_db *db, tbl_conn *writer)
{
    sqlite3_wal_autocheckpoint(writer->sql, 0);
    if (db->ckpt_running) sqlite3_wal_hook(writer->sql, wal_hook, db);
    else sqlite3_wal_autocheckpoint(writer->sql, TBL_CHECKPOINT_PAGES); /* no thread: inline */
}

static void *checkpointer_main(void *arg)
{
    tbl_db *db = arg;
    sp_err e = {0};
    pthread_mutex_lock(&db->ckpt_mu);
    for (;;) {
        while (!db->ckpt_wanted && !db->ckpt_stopping) pthread_cond_wait(&db->ckpt_cv, &db->ckpt_mu);
        if (db->ckpt_stopping) break;
        db->ckpt_wanted = false;
        pthread_mutex_unlock(&db->ckpt_mu);
        tbl_conn *c = tbl_conn_get(db, &e);
        if (c) {
            sqlite3_wal_checkpoint_v2(c->sql, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
            tbl_conn_put(db, c);
        }
        sp_err_clear(&e);
        pthread_mutex_lock(&db->ckpt_mu);
    }
    pthread_mutex_unlock(&db->ckpt_mu);
    return NULL;
}

void tbl_checkpointer_start(tbl_db *db)
{
    pthread_mutex_init(&db->ckpt_mu, NULL);
    pthread_cond_init(&db->ckpt_cv, NULL);
    db->ckpt_running = pthread_create(&db->checkpointer, NULL, checkpointer_main, db) == 0;
}

void tbl_checkpointer_stop(tbl_db *db)
{
    if (!db->ckpt_running) return;
    pthread_mutex_lock(&db->ckpt_mu);
    db->ckpt_stopping = true;
    pthread_cond_signal(&db->ckpt_cv);
    pthread_mutex_unlock(&db->ckpt_mu);
    pthread_join(db->checkpointer, NULL);
    db->ckpt_running = false;
    pthread_mutex_destroy(&db->ckpt_mu);
    pthread_cond_destroy(&db->ckpt_cv);
}
