/* The write path: write transactions under the writer lock, item reads and writes by
 * encoded key, and the capture of each change as a DynamoDB Streams record inserted in the
 * same SQLite transaction as the item, so the stream neither misses nor invents a change.
 *
 * Sequence numbers are never reused, whatever a crash or power loss takes: before a number
 * above db->seq_reserved is handed out, a new reservation (the number plus
 * TBL_SEQ_RESERVE_BLOCK) is written and fsynced to <dir>/tables.seq, and after a restart
 * numbering continues above the reservation found there. A commit lost to a power loss (in
 * relaxed mode) therefore takes its numbers with it, and the next change gets a number
 * higher than any a consumer (the pipe, whose hand-off skips numbers it already holds) may
 * have seen. The cost is one small atomic file write per TBL_SEQ_RESERVE_BLOCK changes and
 * a gap of at most that many numbers per restart; DynamoDB's numbers have gaps too.
 *
 * A write that leaves the item as it was (the same item put again, a delete of an absent
 * item) touches nothing and writes no stream record, as in DynamoDB.
 */
#include "core/ack.h"
#include "core/failpoint.h"
#include "tbl_int.h"

#include "core/fs.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t event_rng;  /* guarded by write_mu */

static bool step_done(tbl_conn *c, sqlite3_stmt *st, const char *what, sp_err *e)
{
    int rc = sqlite3_step(st);
    bool ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
    if (!ok) tbl_sql_err(c, what, e);
    sqlite3_reset(st);
    return ok;
}

/* ---- group commit ------------------------------------------------------------------------
 * Writers take write_mu one at a time, and each runs in a savepoint of the group's open
 * transaction, so a failed writer undoes only its own changes. No writer answers before the
 * COMMIT that holds its changes, and item and stream record stay in one transaction, so
 * exactly-once capture is as with one commit per write.
 *
 * `durability: fsync`: one committer, the syncer thread. A writer that released its
 * savepoint into the open group tells the syncer (a signal only when it sleeps) and leaves
 * write_mu. The syncer COMMITs the group (synchronous=NORMAL on the writer connection: the
 * WAL frames are written, not synced), which gives the group a number, releases write_mu,
 * and fdatasyncs the WAL through its own descriptor; writers that finish meanwhile gather in
 * the next group, which it commits as soon as the sync is done. So a group is every write
 * that arrived during one sync, one COMMIT and one fdatasync per group, and the lock is
 * never held across an fsync. One sync of the WAL makes every earlier commit durable: the
 * WAL is append-only between checkpoints, and SQLite starts it afresh only after a
 * checkpoint that synced the WAL and then the database. After the sync the syncer publishes
 * the stream positions of every group up to the number it noted (one wake of the stream
 * consumers per sync, not per write), then settles that group's writers, each with one
 * targeted wake-up: a writer that waits sleeps on its own condition variable; a writer
 * whose caller deferred its answer (t->deferrable inside an sp_ack scope, core/ack.h: the
 * HTTP layer suspends the connection instead of the thread) has its hold released, and the
 * last release resumes the answer. Either way nobody is answered before the sync.
 * Stream consumers read only up to the published position, so nothing downstream (the pipe,
 * Kinesis, the lake, GetRecords) sees a change that a power loss could still take, and a
 * sequence number seen outside is never handed out again. Item reads on other connections
 * may see a committed item before its sync, as readers of any database with pipelined
 * commits may; a write that depends on it commits in a later group, and no sync can make the
 * later group durable without the earlier one.
 *
 * `durability: relaxed`: a writer that succeeds commits the group when nobody is queued
 * behind it (or the group is full), otherwise it leaves the lock to the next writer and waits
 * for a later writer's COMMIT; positions are published at COMMIT. */

enum { TBL_GROUP_MAX = 256 };   /* writers per group commit at most */

/* A writer waiting for its group. Relaxed: on the writer's stack, settled under write_mu,
 * waited for on group_cv. Fsync: settled under sync_mu; either on the writer's stack with cv
 * (signalled when settled; untouched after sync_mu is released) or, when deferred, on the
 * heap with ack (released and the node freed by whoever settles it). */
typedef struct tbl_group_waiter {
    bool done, ok;
    uint64_t commit;            /* the group's number (fsync mode) */
    sp_err err;
    pthread_cond_t *cv;
    sp_ack *ack;
    struct tbl_group_waiter *next;
} tbl_group_waiter;

bool tbl_sync_init(tbl_db *db, sp_err *e)
{
    pthread_mutex_init(&db->sync_mu, NULL);
    pthread_cond_init(&db->syncer_cv, NULL);
    db->wal_fd = -1;
    size_t n = strlen(db->path) + sizeof "-wal";
    db->wal_path = malloc(n);
    if (!db->wal_path) {
        sp_err_internal(e, "out of memory");
        return false;
    }
    snprintf(db->wal_path, n, "%s-wal", db->path);
    return true;
}

void tbl_sync_free(tbl_db *db)
{
    assert(!db->syncer_running);
    if (db->wal_fd >= 0) close(db->wal_fd);
    db->wal_fd = -1;
    free(db->wal_path);
    free(db->pending);
    db->wal_path = NULL;
    db->pending = NULL;
    pthread_mutex_destroy(&db->sync_mu);
    pthread_cond_destroy(&db->syncer_cv);
}

uint64_t tbl_written_seq(tbl_db *db, int64_t tid, uint64_t published)
{
    uint64_t seq = published;
    pthread_mutex_lock(&db->sync_mu);
    for (size_t i = 0; i < db->n_pending; i++)
        if (db->pending[i].tid == tid && db->pending[i].seq > seq) seq = db->pending[i].seq;
    pthread_mutex_unlock(&db->sync_mu);
    /* Read after pending: a position the syncer removed from pending was published first. */
    pthread_mutex_lock(&db->meta_mu);
    for (size_t i = 0; i < db->n_metas; i++)
        if (db->metas[i].tid == tid && db->metas[i].last_seq > seq) seq = db->metas[i].last_seq;
    pthread_mutex_unlock(&db->meta_mu);
    for (size_t i = 0; i < db->group_n_tids; i++)
        if (db->group_tids[i] == tid && db->group_seqs[i] > seq) seq = db->group_seqs[i];
    return seq;
}

/* fdatasync of the WAL through db->wal_fd, opened at the first sync and kept: SQLite deletes
 * the WAL only when the last connection to the database closes, and the writer connection,
 * whose commits are what is synced, stays open until tbl_db_close, so the descriptor names
 * the live WAL for as long as there is anything to sync. Nothing here stats the file on
 * purpose: on kernels with multigrain timestamps (Linux 6.13+) a stat of the WAL makes its
 * next write take a fine-grained mtime, and each fdatasync then also writes the inode block
 * (ext4 without a journal always writes a dirty one): one more disk wait and its CPU per
 * sync, measured at 3 instead of 2 waits per sync. Only the syncer calls it. */
static bool wal_sync(tbl_db *db, sp_err *e)
{
    if (db->sync_hook && !db->sync_hook(db->sync_hook_arg)) {
        sp_err_internal(e, "syncing %s: refused by the test hook", db->wal_path);
        return false;
    }
    if (db->wal_fd < 0) db->wal_fd = open(db->wal_path, O_RDWR | O_CLOEXEC);
    if (db->wal_fd < 0 || fdatasync(db->wal_fd) != 0) {
        sp_err_internal(e, "syncing %s: %s", db->wal_path, strerror(errno));
        return false;
    }
    __atomic_add_fetch(&db->stat_syncs, 1, __ATOMIC_RELAXED);
    return true;
}

static void sync_failed_err(sp_err *e)
{
    sp_err_set(e, 500, "InternalServerError", "The table's log could not be synced to disk; "
               "writes are refused until the server is restarted");
}

/* Fsync mode, under sync_mu: tells w how its write ended. A waiting writer gets one signal
 * (w is not touched after that, it may be gone once sync_mu is released); a deferred one
 * is moved to *release, whose acks the caller releases after unlocking sync_mu. */
static void waiter_settle(tbl_db *db, tbl_group_waiter *w, bool ok, const sp_err *err,
                          tbl_group_waiter **release)
{
    w->ok = ok;
    if (!ok) w->err = *err;
    if (ok) __atomic_add_fetch(&db->stat_writes, 1, __ATOMIC_RELAXED);
    if (w->ack) {
        w->next = *release;
        *release = w;
        return;
    }
    w->done = true;
    pthread_cond_signal(w->cv);
}

/* Releases the acks of deferred writers settled by waiter_settle. Without sync_mu. */
static void acks_release(tbl_group_waiter *list)
{
    for (tbl_group_waiter *w = list, *next; w; w = next) {
        next = w->next;
        sp_ack_release(w->ack, w->ok ? NULL : &w->err);
        free(w);
    }
}

/* Wakes the syncer if it sleeps. Under sync_mu. */
static void syncer_poke(tbl_db *db)
{
    db->sync_work = true;
    if (db->syncer_idle) pthread_cond_signal(&db->syncer_cv);
}

/* After a COMMIT in fsync mode: numbers the group and moves its stream positions to
 * pending. Under write_mu and sync_mu. Returns the group's number. */
static uint64_t group_pend(tbl_db *db)
{
    uint64_t commit = ++db->commit_no;
    for (size_t i = 0; i < db->group_n_tids; i++) {
        size_t j = 0;
        while (j < db->n_pending && db->pending[j].tid != db->group_tids[i]) j++;
        if (j == db->n_pending) {
            if (db->n_pending == db->cap_pending) {
                size_t cap = db->cap_pending ? db->cap_pending * 2 : 16;
                tbl_pending *grown = realloc(db->pending, cap * sizeof *grown);
                if (!grown) abort(); /* a few bytes per table; nothing sane to do without */
                db->pending = grown;
                db->cap_pending = cap;
            }
            db->n_pending++;
        }
        db->pending[j] = (tbl_pending){db->group_tids[i], db->group_seqs[i], commit};
    }
    return commit;
}

/* Ends the open group: COMMIT (or ROLLBACK when commit is false); on success publishes the
 * seqs the group reached (relaxed) or numbers the group and hands it and its writers to the
 * next sync (fsync); on failure tells every waiting member. Under write_mu. */
static bool group_finish(tbl_db *db, bool commit, sp_err *e)
{
    tbl_conn *c = db->writer;
    sp_err local = {0};
    bool fsync_mode = db->durability != SP_DURABILITY_RELAXED;
    bool ok = commit && step_done(c, c->st[TBL_ST_COMMIT], "COMMIT", &local);
    if (!ok) {
        step_done(c, c->st[TBL_ST_ROLLBACK], "ROLLBACK", NULL);
        if (!sp_err_failed(&local)) sp_err_internal(&local, "the write group was rolled back");
    }
    tbl_group_waiter *release = NULL;
    pthread_mutex_lock(&db->sync_mu);
    if (ok) __atomic_add_fetch(&db->stat_groups, 1, __ATOMIC_RELAXED);
    if (fsync_mode) {
        if (ok) {
            uint64_t no = group_pend(db);
            sp_failpoint("table.commit-unsynced"); /* in the WAL, not yet synced */
            for (tbl_group_waiter *w = db->group_waiters, *next; w; w = next) {
                next = w->next;
                w->commit = no;
                w->next = db->unsynced;
                db->unsynced = w;
            }
            syncer_poke(db);
        } else {
            for (tbl_group_waiter *w = db->group_waiters, *next; w; w = next) {
                next = w->next;
                waiter_settle(db, w, false, &local, &release);
            }
        }
    } else {
        if (ok) {
            sp_failpoint("table.committed");
            for (size_t i = 0; i < db->group_n_tids; i++)
                tbl_meta_committed(db, db->group_tids[i], db->group_seqs[i]);
        }
        for (tbl_group_waiter *w = db->group_waiters; w; w = w->next) {
            w->ok = ok;
            if (!ok) w->err = local;
            w->done = true;
        }
    }
    pthread_mutex_unlock(&db->sync_mu);
    acks_release(release);
    if (!ok && e) *e = local;
    db->group_waiters = NULL;
    db->group_open = false;
    db->group_members = 0;
    db->group_n_tids = 0;
    if (!fsync_mode) pthread_cond_broadcast(&db->group_cv);
    return ok;
}

/* One round of the syncer, under sync_mu (released during the sync): every group committed
 * so far becomes durable, their stream positions are published and their writers settled;
 * after a failed sync, they and every later writer are refused. */
static void sync_round(tbl_db *db)
{
    uint64_t upto = db->commit_no;
    if (!db->unsynced && upto == db->synced_no) return;
    bool ok = false;
    if (!db->sync_failed && upto > db->synced_no) {
        pthread_mutex_unlock(&db->sync_mu);
        sp_err io = {0};
        ok = wal_sync(db, &io);
        if (!ok) sp_warn("table: %s; no further write is acknowledged", io.msg);
        pthread_mutex_lock(&db->sync_mu);
    }
    if (ok) {
        sp_failpoint("table.committed"); /* durable, not yet published nor acknowledged */
        size_t kept = 0;
        for (size_t i = 0; i < db->n_pending; i++) {
            tbl_pending *p = &db->pending[i];
            if (p->commit <= upto) tbl_meta_committed(db, p->tid, p->seq);
            else db->pending[kept++] = *p;
        }
        db->n_pending = kept;
        db->synced_no = upto;
    } else if (!db->sync_failed && upto > db->synced_no) {
        __atomic_store_n(&db->sync_failed, true, __ATOMIC_SEQ_CST);
    }
    sp_err failed = {0};
    if (db->sync_failed) sync_failed_err(&failed);
    tbl_group_waiter *release = NULL, **link = &db->unsynced;
    while (*link) {
        tbl_group_waiter *w = *link;
        if (w->commit > upto && !db->sync_failed) {
            link = &w->next;
            continue;
        }
        *link = w->next;
        waiter_settle(db, w, !db->sync_failed, &failed, &release);
    }
    pthread_mutex_unlock(&db->sync_mu);
    acks_release(release);
    pthread_mutex_lock(&db->sync_mu);
}

/* The syncer: commits the open group when a writer joined it, syncs, settles, and sleeps only
 * when no writer came while it worked. On stop it finishes what is there first. */
static void *syncer_run(void *arg)
{
    tbl_db *db = arg;
    pthread_mutex_lock(&db->sync_mu);
    for (;;) {
        while (!db->sync_work && !db->syncer_stop) {
            db->syncer_idle = true;
            pthread_cond_wait(&db->syncer_cv, &db->sync_mu);
            db->syncer_idle = false;
        }
        if (!db->sync_work) break;
        db->sync_work = false;
        pthread_mutex_unlock(&db->sync_mu);
        pthread_mutex_lock(&db->write_mu);
        if (db->group_open && db->group_members) group_finish(db, true, NULL);
        pthread_mutex_unlock(&db->write_mu);
        pthread_mutex_lock(&db->sync_mu);
        sync_round(db);
    }
    pthread_mutex_unlock(&db->sync_mu);
    return NULL;
}

bool tbl_syncer_start(tbl_db *db, sp_err *e)
{
    if (db->durability == SP_DURABILITY_RELAXED) return true;
    int rc = pthread_create(&db->syncer, NULL, syncer_run, db);
    if (rc != 0) {
        sp_err_internal(e, "cannot start the table's syncer thread: %s", strerror(rc));
        return false;
    }
    db->syncer_running = true;
    return true;
}

void tbl_syncer_stop(tbl_db *db)
{
    if (!db->syncer_running) return;
    pthread_mutex_lock(&db->sync_mu);
    db->syncer_stop = true;
    pthread_cond_signal(&db->syncer_cv);
    pthread_mutex_unlock(&db->sync_mu);
    pthread_join(db->syncer, NULL);
    db->syncer_running = false;
}

/* After a writer left without joining the group (rolled back, or failed to start). Relaxed:
 * commits the open group unless another writer is queued to join it. Fsync: members of the
 * open group wait for the syncer, which commits it; a group nobody joined is simply ended.
 * Under write_mu. */
static void group_maybe_finish(tbl_db *db)
{
    if (!db->group_open) return;
    if (db->durability != SP_DURABILITY_RELAXED) {
        if (!db->group_members) group_finish(db, false, NULL);
        return;
    }
    if (__atomic_load_n(&db->writers_waiting, __ATOMIC_SEQ_CST) == 0 ||
        db->group_members >= TBL_GROUP_MAX)
        group_finish(db, true, NULL);
}

bool tbl_txn_begin(tbl_db *db, tbl_txn *t, sp_err *e)
{
    t->db = db;
    t->n_tids = 0;
    t->c = NULL;
    t->by_service = false;
    t->deferrable = false;
    if (__atomic_load_n(&db->sync_failed, __ATOMIC_SEQ_CST)) {
        /* Whether earlier commits are on disk is unknown: write nothing more. */
        sync_failed_err(e);
        return false;
    }
    __atomic_add_fetch(&db->writers_waiting, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&db->write_mu);
    __atomic_sub_fetch(&db->writers_waiting, 1, __ATOMIC_SEQ_CST);
    if (!db->writer && !(db->writer = tbl_conn_open_writer(db, e))) goto fail;
    tbl_conn *c = db->writer;
    /* Room for every table this transaction may touch when it merges into the group. */
    if (db->group_open && db->group_n_tids > TBL_TRANSACT_MAX) group_finish(db, true, NULL);
    if (!db->group_open) {
        if (!step_done(c, c->st[TBL_ST_BEGIN], "BEGIN", e)) goto fail;
        db->group_open = true;
    }
    if (!step_done(c, c->st[TBL_ST_SAVEPOINT], "SAVEPOINT", e)) goto fail;
    t->c = c;
    t->now_ms = sp_clock_wall_ms();
    sp_str_init(&t->scratch, t->scratch_buf, sizeof t->scratch_buf, SP_STR_NO_MAX);
    if (!event_rng) event_rng = (uint64_t)t->now_ms * 0x9E3779B97F4A7C15ull | 1;
    return true;
fail:
    group_maybe_finish(db);
    pthread_mutex_unlock(&db->write_mu);
    return false;
}

static void txn_end(tbl_txn *t)
{
    sp_str_release(&t->scratch);
    t->c = NULL;
}

/* Merges the transaction's stream positions into the group's. */
static void group_merge(tbl_db *db, const tbl_txn *t)
{
    for (size_t i = 0; i < t->n_tids; i++) {
        size_t j = 0;
        while (j < db->group_n_tids && db->group_tids[j] != t->tids[i]) j++;
        if (j == db->group_n_tids) db->group_tids[db->group_n_tids++] = t->tids[i];
        db->group_seqs[j] = t->seqs[i];
    }
}

/* Fsync mode, after the writer's savepoint joined the group (under write_mu, which it
 * releases): hands the group to the syncer and waits until it is committed and synced, or,
 * deferred, only takes a hold on the thread's ack and returns at once. */
static bool commit_durable(tbl_db *db, tbl_txn *t, sp_err *e)
{
    sp_ack *ack = t->deferrable ? sp_ack_current() : NULL;
    tbl_group_waiter *me = ack ? calloc(1, sizeof *me) : NULL;
    tbl_group_waiter mine = {0};
    pthread_cond_t cv;
    if (me) {
        me->ack = ack;
        sp_ack_hold(ack);
    } else {
        pthread_cond_init(&cv, NULL);
        mine.cv = &cv;
        me = &mine;
    }
    me->next = db->group_waiters;
    db->group_waiters = me;
    if (db->group_members >= TBL_GROUP_MAX) group_finish(db, true, NULL);
    pthread_mutex_unlock(&db->write_mu);
    pthread_mutex_lock(&db->sync_mu);
    syncer_poke(db);
    if (me != &mine) {  /* deferred: the node belongs to the syncer now */
        pthread_mutex_unlock(&db->sync_mu);
        return true;
    }
    while (!mine.done) pthread_cond_wait(&cv, &db->sync_mu);
    pthread_mutex_unlock(&db->sync_mu);
    pthread_cond_destroy(&cv);
    if (!mine.ok) *e = mine.err;
    return mine.ok;
}

bool tbl_txn_commit(tbl_txn *t, sp_err *e)
{
    tbl_db *db = t->db;
    tbl_conn *c = t->c;
    txn_end(t);
    if (!step_done(c, c->st[TBL_ST_RELEASE], "RELEASE", e)) {
        /* The savepoint could not be folded in: nothing of the group can be trusted. */
        group_finish(db, false, NULL);
        pthread_mutex_unlock(&db->write_mu);
        return false;
    }
    group_merge(db, t);
    db->group_members++;
    if (db->durability != SP_DURABILITY_RELAXED) return commit_durable(db, t, e);
    tbl_group_waiter me = {.next = db->group_waiters};
    db->group_waiters = &me;
    if (__atomic_load_n(&db->writers_waiting, __ATOMIC_SEQ_CST) == 0 ||
        db->group_members >= TBL_GROUP_MAX)
        group_finish(db, true, NULL);
    while (!me.done) pthread_cond_wait(&db->group_cv, &db->write_mu);
    pthread_mutex_unlock(&db->write_mu);
    if (!me.ok && e) *e = me.err;
    if (me.ok) __atomic_add_fetch(&db->stat_writes, 1, __ATOMIC_RELAXED);
    return me.ok;
}

void tbl_txn_rollback(tbl_txn *t)
{
    if (!t->c) return;
    tbl_db *db = t->db;
    tbl_conn *c = t->c;
    txn_end(t);
    if (!step_done(c, c->st[TBL_ST_ROLLBACK_TO], "ROLLBACK TO", NULL) ||
        !step_done(c, c->st[TBL_ST_RELEASE], "RELEASE", NULL))
        group_finish(db, false, NULL);
    else
        group_maybe_finish(db);
    pthread_mutex_unlock(&db->write_mu);
}

void tbl_db_commit_stats(tbl_db *db, uint64_t *writes, uint64_t *groups, uint64_t *syncs)
{
    *writes = __atomic_load_n(&db->stat_writes, __ATOMIC_RELAXED);
    *groups = __atomic_load_n(&db->stat_groups, __ATOMIC_RELAXED);
    *syncs = __atomic_load_n(&db->stat_syncs, __ATOMIC_RELAXED);
}

static void bind_key(sqlite3_stmt *st, const tbl_meta *m, const tbl_key *k)
{
    sqlite3_bind_int64(st, 1, m->tid);
    sqlite3_bind_blob(st, 2, k->hk, (int)k->hk_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, k->rk_len ? (const void *)k->rk : "", (int)k->rk_len,
                      SQLITE_STATIC);
}

bool tbl_item_read_text(tbl_conn *c, const tbl_meta *m, const tbl_key *k, json_t **out,
                        char **text_out, size_t *len_out, sp_err *e)
{
    sqlite3_stmt *st = c->st[TBL_ST_ITEM_GET];
    bind_key(st, m, k);
    *out = NULL;
    if (text_out) *text_out = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(st, 0);
        size_t len = (size_t)sqlite3_column_bytes(st, 0);
        *out = json_loadb(text, len, JSON_ALLOW_NUL, NULL);
        if (!*out) {
            sp_err_internal(e, "stored item of table %s is not JSON", m->name);
        } else if (text_out) {
            *text_out = malloc(len + 1);
            if (*text_out) {  /* else the writer serialises the item itself */
                memcpy(*text_out, text, len);
                (*text_out)[len] = '\0';
                *len_out = len;
            }
        }
    } else if (rc != SQLITE_DONE) {
        tbl_sql_err(c, "reading item", e);
    }
    sqlite3_reset(st);
    return !sp_err_failed(e);
}

bool tbl_item_read(tbl_conn *c, const tbl_meta *m, const tbl_key *k, json_t **out, sp_err *e)
{
    return tbl_item_read_text(c, m, k, out, NULL, NULL, e);
}

/* The seq the next record of m's table gets in this transaction; refreshes m from the cache
 * the first time the transaction touches the table (the copy may predate the lock). */
static bool txn_table(tbl_txn *t, tbl_meta *m, size_t *slot, sp_err *e)
{
    for (size_t i = 0; i < t->n_tids; i++)
        if (t->tids[i] == m->tid) {
            *slot = i;
            return true;
        }
    tbl_meta fresh;
    if (!tbl_meta_get(t->db, m->name, &fresh, false, e)) return false;
    if (fresh.tid != m->tid) {
        sp_err_set(e, 400, "ResourceNotFoundException", "Requested resource not found");
        return false;
    }
    *m = fresh;
    if (t->n_tids == TBL_TRANSACT_MAX) {
        sp_err_internal(e, "too many tables in one transaction");
        return false;
    }
    t->tids[t->n_tids] = m->tid;
    /* Positions committed earlier (this group, or groups not yet synced) count too. */
    uint64_t last = tbl_written_seq(t->db, m->tid, m->last_seq);
    t->seqs[t->n_tids] = last > t->db->seq_floor ? last : t->db->seq_floor;
    *slot = t->n_tids++;
    return true;
}

/* Makes sure seq is covered by the reservation on disk. Under write_mu. */
static bool seq_reserve(tbl_db *db, uint64_t seq, sp_err *e)
{
    if (seq <= db->seq_reserved) return true;
    sp_err io = {0};
    uint64_t upto = seq + TBL_SEQ_RESERVE_BLOCK;
    if (!sp_fs_write_u64(db->seq_path, upto, &io)) {
        /* The message names no file: it goes back to the API caller. */
        bool full = io.status == 503;
        sp_err_set(e, 500, "InternalServerError", "cannot reserve stream sequence numbers%s; "
                   "nothing was written", full ? " (no space left on the data dir's disk)" : "");
        e->retriable = true;
        sp_warn("table: %s", io.msg);
        return false;
    }
    db->seq_reserved = upto;
    return true;
}

/* ---- the stream record, built in one pass ------------------------------------------------
 * Literal pieces and numbers are copied in, not formatted (no printf per record), and an
 * image whose text is at hand (the new item's, serialised once for the items row; the old
 * item's, as read from its row) is copied, not serialised again. */

#define LIT(s) s, sizeof s - 1

static void append_str(sp_str *s, const char *z) { sp_str_append(s, z, strlen(z)); }

/* v in decimal, left-padded with zeros to width digits. */
static void append_dec(sp_str *s, uint64_t v, int width)
{
    char buf[32];
    int n = 0;
    do {
        buf[sizeof buf - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width && n < (int)sizeof buf) buf[sizeof buf - 1 - n++] = '0';
    sp_str_append(s, buf + sizeof buf - n, (size_t)n);
}

static void append_hex16(sp_str *s, uint64_t v)
{
    static const char HEX[] = "0123456789abcdef";
    char buf[16];
    for (int i = 15; i >= 0; i--, v >>= 4) buf[i] = HEX[v & 15];
    sp_str_append(s, buf, sizeof buf);
}

/* ,"name":<item's text>; text NULL: the item is serialised here. */
static void append_image(sp_str *s, const char *member, const json_t *item, const char *text,
                         size_t len)
{
    char *owned = NULL;
    if (!text) text = owned = tbl_item_dump(item, &len);
    sp_str_append(s, LIT(",\""));
    append_str(s, member);
    sp_str_append(s, LIT("\":"));
    if (text) sp_str_append(s, text, len);
    else s->failed = true;
    free(owned);
}

/* An item and what is known of it: its stored text (NULL = serialise when needed) and its
 * DynamoDB size (0 = compute when needed). */
typedef struct {
    const json_t *item;
    const char *text;
    size_t len, size;
} tbl_image;

/* Builds the stream record of one change into t->scratch. */
static void record_build(tbl_txn *t, const tbl_meta *m, uint64_t seq, const char *event,
                         const tbl_image *old, const tbl_image *new)
{
    sp_str *s = &t->scratch;
    sp_str_reset(s);
    json_t *keys = tbl_item_keys(m, new->item ? new->item : old->item);
    bool want_new = new->item && (m->view == TBL_VIEW_NEW_IMAGE ||
                                  m->view == TBL_VIEW_NEW_AND_OLD_IMAGES);
    bool want_old = old->item && (m->view == TBL_VIEW_OLD_IMAGE ||
                                  m->view == TBL_VIEW_NEW_AND_OLD_IMAGES);
    size_t size = tbl_item_size(keys);
    if (want_new) size += new->size ? new->size : tbl_item_size(new->item);
    if (want_old) size += old->size ? old->size : tbl_item_size(old->item);
    event_rng ^= event_rng << 13;
    event_rng ^= event_rng >> 7;
    event_rng ^= event_rng << 17;
    sp_str_append(s, LIT("{\"eventID\":\""));
    append_hex16(s, event_rng);
    append_hex16(s, seq);
    sp_str_append(s, LIT("\",\"eventName\":\""));
    append_str(s, event);
    sp_str_append(s, LIT("\",\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\","
                         "\"awsRegion\":\"" TBL_REGION "\",\"dynamodb\":{"
                         "\"ApproximateCreationDateTime\":"));
    if (t->now_ms >= 0) append_dec(s, (uint64_t)(t->now_ms / 1000), 0);
    else sp_str_appendf(s, "%lld", (long long)(t->now_ms / 1000));
    append_image(s, "Keys", keys, NULL, 0);
    if (want_new) append_image(s, "NewImage", new->item, new->text, new->len);
    if (want_old) append_image(s, "OldImage", old->item, old->text, old->len);
    sp_str_append(s, LIT(",\"SequenceNumber\":\""));
    append_dec(s, seq, TBL_SEQ_DIGITS);
    sp_str_append(s, LIT("\",\"SizeBytes\":"));
    append_dec(s, size, 0);
    sp_str_append(s, LIT(",\"StreamViewType\":\""));
    append_str(s, tbl_view_name(m->view));
    sp_str_append(s, LIT("\"},\"eventSourceARN\":\""));
    char arn[TBL_ARN_MAX];
    tbl_stream_arn(m, m->label, arn);
    append_str(s, arn);
    sp_str_append(s, LIT("\""));
    if (t->by_service)
        sp_str_append(s, LIT(",\"userIdentity\":{\"type\":\"Service\","
                             "\"principalId\":\"dynamodb.amazonaws.com\"}"));
    sp_str_append(s, LIT("}"));
    json_decref(keys);
}

bool tbl_item_write(tbl_txn *t, tbl_meta *m, const tbl_key *k, json_t *old_item,
                    json_t *new_item, sp_err *e)
{
    return tbl_item_write_text(t, m, k, old_item, NULL, 0, new_item, e);
}

bool tbl_item_write_text(tbl_txn *t, tbl_meta *m, const tbl_key *k, json_t *old_item,
                         const char *old_text, size_t old_len, json_t *new_item, sp_err *e)
{
    if (!old_item && !new_item) return true;
    if (old_item && new_item && tbl_item_equal(old_item, new_item)) return true;
    if (new_item && m->indexes && !tbl_index_check_item(m, new_item, e)) return false;
    size_t slot;
    if (!txn_table(t, m, &slot, e)) return false;
    tbl_conn *c = t->c;
    tbl_image old = {old_item, old_item ? old_text : NULL, old_len, 0};
    tbl_image new = {new_item, NULL, 0, 0};
    char *new_text = NULL; /* the new item serialised once: its row and its NewImage */
    bool ok = false;
    if (new_item) {
        new_text = tbl_item_dump(new_item, &new.len);
        if (!new_text) {
            sp_err_internal(e, "out of memory");
            return false;
        }
        new.text = new_text;
        new.size = tbl_item_size(new_item);
        sqlite3_stmt *st = c->st[TBL_ST_ITEM_PUT];
        bind_key(st, m, k);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)new.size);
        sqlite3_bind_text(st, 5, new_text, (int)new.len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, tbl_key_hp(m, k));
        if (!step_done(c, st, "writing item", e)) goto out;
    } else {
        sqlite3_stmt *st = c->st[TBL_ST_ITEM_DEL];
        bind_key(st, m, k);
        if (!step_done(c, st, "deleting item", e)) goto out;
    }
    if (m->indexes && !tbl_index_write(c, m, k, new_item, e)) goto out;
    if (m->view == TBL_VIEW_NONE) {
        ok = true;
        goto out;
    }
    uint64_t seq = t->seqs[slot] + 1;
    if (!seq_reserve(t->db, seq, e)) goto out;
    const char *event = !old_item ? "INSERT" : !new_item ? "REMOVE" : "MODIFY";
    record_build(t, m, seq, event, &old, &new);
    if (sp_str_failed(&t->scratch)) {
        sp_err_internal(e, "out of memory building a stream record");
        goto out;
    }
    sqlite3_stmt *st = c->st[TBL_ST_STREAM_ADD];
    sqlite3_bind_int64(st, 1, m->tid);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
    sqlite3_bind_int64(st, 3, t->now_ms);
    sqlite3_bind_text(st, 4, t->scratch.buf, (int)t->scratch.len, SQLITE_STATIC);
    if (!step_done(c, st, "appending stream record", e)) goto out;
    t->seqs[slot] = seq;
    ok = true;
out:
    free(new_text);
    return ok;
}
