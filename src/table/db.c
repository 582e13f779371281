/* The table database: <dir>/tables.db in SQLite WAL mode, a pool of connections (each with
 * its statements prepared once), the writer lock, and the in-memory cache of table metadata
 * that every operation consults without touching SQLite.
 *
 * Durability (server.durability): by default (fsync) an answered write survives a power loss:
 * the writer connection commits with synchronous=NORMAL and store.c fdatasyncs the WAL after
 * releasing the writer lock (pipelined group commit) before answering; the pool's other
 * connections keep synchronous=FULL. `relaxed` uses synchronous=NORMAL: a
 * commit is atomic and survives a process crash (kill -9) because the WAL is written before
 * COMMIT returns; an OS crash or power loss can lose the last transactions, never corrupt
 * the database. Sequence numbers are never reused in either mode (store.c).
 * The WAL is checkpointed (and so fsynced) every TBL_CHECKPOINT_PAGES pages as with SQLite's
 * default autocheckpoint, but by a background thread (checkpoint.c), not inside a writer's
 * commit, so writers do not wait for the fsyncs.
 */
#include "tbl_int.h"

#include "core/fs.h"

#include <stdlib.h>
#include <string.h>

/* The text of a DELETING table's description (tbl_meta.ghost), kept until the db closes. */
struct tbl_ghost_text {
    struct tbl_ghost_text *next;
    char text[];
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS tables("
    " tid INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT UNIQUE NOT NULL,"
    " hash_key TEXT NOT NULL, hash_type TEXT NOT NULL, range_key TEXT NOT NULL,"
    " range_type TEXT NOT NULL, created_ms INTEGER NOT NULL, view TEXT NOT NULL,"
    " label TEXT NOT NULL, retention_hours INTEGER NOT NULL, trim_seq INTEGER NOT NULL,"
    " stream_start INTEGER NOT NULL, extra TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS items(tid INTEGER NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,"
    " size INTEGER NOT NULL, item TEXT NOT NULL, hp INTEGER NOT NULL DEFAULT -1,"
    " PRIMARY KEY(tid, hk, rk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS stream(tid INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " created_ms INTEGER NOT NULL, rec TEXT NOT NULL, PRIMARY KEY(tid, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS index_entries(tid INTEGER NOT NULL, iname TEXT NOT NULL,"
    " ihk BLOB NOT NULL, irk BLOB NOT NULL, hk BLOB NOT NULL, rk BLOB NOT NULL,"
    " ihp INTEGER NOT NULL DEFAULT -1, thp INTEGER NOT NULL DEFAULT -1,"
    " PRIMARY KEY(tid, iname, ihk, irk, hk, rk)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS index_entries_by_item ON index_entries(tid, hk, rk);";

/* Data directories written before the key hash was stored (keyhash.c) gain its columns,
 * filled from the stored keys; the index key's hash (ihp) needs the index definitions and is
 * filled by tbl_db_open (index_hash_backfill). */
static const char MIGRATE_KEY_HASH[] =
    "ALTER TABLE items ADD COLUMN hp INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE index_entries ADD COLUMN ihp INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE index_entries ADD COLUMN thp INTEGER NOT NULL DEFAULT -1;";
static const char BACKFILL_KEY_HASH[] =
    "UPDATE items SET hp = sp_key_hash((SELECT hash_type FROM tables t WHERE t.tid = items.tid),"
    " hk, '', x'') WHERE hp < 0;"
    "UPDATE index_entries SET thp = sp_key_hash("
    " (SELECT hash_type FROM tables t WHERE t.tid = index_entries.tid), hk,"
    " (SELECT range_type FROM tables t WHERE t.tid = index_entries.tid), rk) WHERE thp < 0;";
/* Scan order and index order by the hash (keyhash.c). */
static const char SCHEMA_KEY_HASH[] =
    "CREATE INDEX IF NOT EXISTS items_by_hash ON items(tid, hp, hk, rk);"
    "CREATE INDEX IF NOT EXISTS index_entries_by_hash"
    " ON index_entries(tid, iname, ihp, ihk, irk, thp, hk, rk);";

static const char *const STATEMENTS[TBL_ST_COUNT] = {
    [TBL_ST_BEGIN] = "BEGIN IMMEDIATE",
    [TBL_ST_COMMIT] = "COMMIT",
    [TBL_ST_ROLLBACK] = "ROLLBACK",
    [TBL_ST_SAVEPOINT] = "SAVEPOINT tbl_w",
    [TBL_ST_RELEASE] = "RELEASE tbl_w",
    [TBL_ST_ROLLBACK_TO] = "ROLLBACK TO tbl_w",
    [TBL_ST_ITEM_GET] = "SELECT item FROM items WHERE tid=?1 AND hk=?2 AND rk=?3",
    /* An UPSERT, not INSERT OR REPLACE: replacing an item of the same key leaves its
     * items_by_hash entry (hp is a function of the key) untouched, where REPLACE deletes and
     * re-inserts it: one B-tree page fewer changed, and so written to the WAL, per write. */
    [TBL_ST_ITEM_PUT] = "INSERT INTO items(tid, hk, rk, size, item, hp)"
                        " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(tid, hk, rk)"
                        " DO UPDATE SET size=excluded.size, item=excluded.item",
    [TBL_ST_ITEM_DEL] = "DELETE FROM items WHERE tid=?1 AND hk=?2 AND rk=?3",
    [TBL_ST_STREAM_ADD] = "INSERT INTO stream(tid, seq, created_ms, rec) VALUES(?1, ?2, ?3, ?4)",
    /* ?4: the published position (records above it may not be durable yet, store.c) */
    [TBL_ST_STREAM_READ] = "SELECT seq, created_ms, rec FROM stream WHERE tid=?1 AND seq>?2"
                           " AND seq<=?4 ORDER BY seq LIMIT ?3",
    /* DynamoDB's order: the partition key's hash, then the encoded keys' byte order; [?5, ?6)
     * is the segment's share of hashes. After a starting key (which lies in the segment,
     * ops_read.c checks) the row value alone is the lower bound, so SQLite seeks to it on
     * items_by_hash instead of walking the segment from its start. */
    [TBL_ST_SCAN] = "SELECT hk, rk, item FROM items WHERE tid=?1 AND hp>=?5 AND hp<?6"
                    " ORDER BY hp, hk, rk LIMIT ?4",
    [TBL_ST_SCAN_FROM] = "SELECT hk, rk, item FROM items WHERE tid=?1"
                         " AND (hp, hk, rk) > (?5, ?2, ?3) AND hp<?6 ORDER BY hp, hk, rk LIMIT ?4",
    /* Range bounds are normalised to lo <= rk < hi (see ops_read.c). */
    [TBL_ST_QUERY_ASC] = "SELECT hk, rk, item FROM items WHERE tid=?1 AND hk=?2 AND rk>=?3"
                         " AND rk<?4 ORDER BY rk ASC LIMIT ?5",
    [TBL_ST_QUERY_DESC] = "SELECT hk, rk, item FROM items WHERE tid=?1 AND hk=?2 AND rk>=?3"
                          " AND rk<?4 ORDER BY rk DESC LIMIT ?5",
};

void tbl_sql_err(tbl_conn *c, const char *what, sp_err *e)
{
    /* A full disk is DynamoDB's modelled 500 (InternalServerError), so SDKs raise a class
     * callers can catch and retry; the message says why. Nothing was committed. */
    if (c && c->sql && sqlite3_errcode(c->sql) == SQLITE_FULL) {
        sp_err_set(e, 500, "InternalServerError", "%s: %s (no space left on the data dir's "
                   "disk; nothing was written)", what, sqlite3_errmsg(c->sql));
        e->retriable = true;
        return;
    }
    sp_err_internal(e, "%s: %s", what, c && c->sql ? sqlite3_errmsg(c->sql) : "no connection");
}

static void conn_free(tbl_conn *c)
{
    if (!c) return;
    for (int i = 0; i < TBL_ST_COUNT; i++) sqlite3_finalize(c->st[i]);
    sqlite3_close(c->sql);
    free(c);
}

/* Adds and fills the key hash columns if the database predates them, in one transaction,
 * then makes sure their indexes exist. */
static bool schema_migrate(sqlite3 *sql, char **msg)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(sql, "SELECT 1 FROM pragma_table_info('items') WHERE name='hp'", -1,
                           &st, NULL) != SQLITE_OK)
        return false;
    bool has = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    if (!has) {
        if (sqlite3_exec(sql, "BEGIN IMMEDIATE", NULL, NULL, msg) != SQLITE_OK) return false;
        if (sqlite3_exec(sql, MIGRATE_KEY_HASH, NULL, NULL, msg) != SQLITE_OK ||
            sqlite3_exec(sql, BACKFILL_KEY_HASH, NULL, NULL, msg) != SQLITE_OK ||
            sqlite3_exec(sql, "COMMIT", NULL, NULL, msg) != SQLITE_OK) {
            sqlite3_exec(sql, "ROLLBACK", NULL, NULL, NULL);
            return false;
        }
    }
    return sqlite3_exec(sql, SCHEMA_KEY_HASH, NULL, NULL, msg) == SQLITE_OK;
}

/* Opens a connection with the pragmas and statements. Caller owns it (conn_free). */
static tbl_conn *conn_open(const char *path, sp_durability durability, sp_err *e)
{
    tbl_conn *c = calloc(1, sizeof *c);
    if (!c) {
        sp_err_internal(e, "out of memory");
        return NULL;
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->sql, flags, NULL) != SQLITE_OK) {
        tbl_sql_err(c, path, e);
        conn_free(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->sql, 10000);
    char *msg = NULL;
    const char *pragmas = durability == SP_DURABILITY_RELAXED
        ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=OFF;"
        : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=OFF;";
    if (!tbl_key_hash_register(c->sql) ||
        sqlite3_exec(c->sql, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(c->sql, SCHEMA, NULL, NULL, &msg) != SQLITE_OK ||
        !schema_migrate(c->sql, &msg)) {
        sp_err_internal(e, "%s: %s", path, msg ? msg : "cannot set up");
        sqlite3_free(msg);
        conn_free(c);
        return NULL;
    }
    for (int i = 0; i < TBL_ST_COUNT; i++) {
        if (sqlite3_prepare_v3(c->sql, STATEMENTS[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
                               NULL) != SQLITE_OK) {
            tbl_sql_err(c, STATEMENTS[i], e);
            conn_free(c);
            return NULL;
        }
    }
    return c;
}

tbl_conn *tbl_conn_open_writer(tbl_db *db, sp_err *e)
{
    tbl_conn *c = conn_open(db->path, db->durability, e);
    if (!c) return NULL;
    /* Under fsync durability the writer's commits are synced by store.c after write_mu is
     * released (see tbl_db), not inside COMMIT. */
    char *msg = NULL;
    if (db->durability != SP_DURABILITY_RELAXED &&
        sqlite3_exec(c->sql, "PRAGMA synchronous=NORMAL", NULL, NULL, &msg) != SQLITE_OK) {
        sp_err_internal(e, "setting up the writer: %s", msg ? msg : "?");
        sqlite3_free(msg);
        conn_free(c);
        return NULL;
    }
    tbl_checkpointer_attach(db, c);
    return c;
}

tbl_conn *tbl_conn_get(tbl_db *db, sp_err *e)
{
    pthread_mutex_lock(&db->pool_mu);
    tbl_conn *c = db->free_conns;
    if (c) db->free_conns = c->next_free;
    pthread_mutex_unlock(&db->pool_mu);
    if (c) return c;
    c = conn_open(db->path, db->durability, e);
    if (!c) return NULL;
    pthread_mutex_lock(&db->pool_mu);
    c->next_all = db->all_conns;
    db->all_conns = c;
    pthread_mutex_unlock(&db->pool_mu);
    return c;
}

void tbl_conn_put(tbl_db *db, tbl_conn *c)
{
    if (!c) return;
    pthread_mutex_lock(&db->pool_mu);
    c->next_free = db->free_conns;
    db->free_conns = c;
    pthread_mutex_unlock(&db->pool_mu);
}

static void col_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    snprintf(out, cap, "%s", s ? s : "");
}

static bool metas_load(tbl_db *db, tbl_conn *c, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    const char *q = "SELECT tid, name, hash_key, hash_type, range_key, range_type, created_ms,"
                    " view, label, retention_hours, trim_seq, stream_start,"
                    " (SELECT max(seq) FROM stream s WHERE s.tid = t.tid), extra FROM tables t";
    if (sqlite3_prepare_v2(c->sql, q, -1, &st, NULL) != SQLITE_OK) {
        tbl_sql_err(c, "loading tables", e);
        return false;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        tbl_meta m = {0};
        char buf[32];
        m.tid = sqlite3_column_int64(st, 0);
        col_text(st, 1, m.name, sizeof m.name);
        col_text(st, 2, m.hash_key, sizeof m.hash_key);
        col_text(st, 3, buf, sizeof buf);
        m.hash_type = buf[0];
        col_text(st, 4, m.range_key, sizeof m.range_key);
        col_text(st, 5, buf, sizeof buf);
        m.range_type = buf[0];
        m.created_ms = sqlite3_column_int64(st, 6);
        col_text(st, 7, buf, sizeof buf);
        if (!tbl_view_parse(buf, &m.view)) m.view = TBL_VIEW_NONE;
        col_text(st, 8, m.label, sizeof m.label);
        m.retention_hours = sqlite3_column_int64(st, 9);
        m.trim_seq = (uint64_t)sqlite3_column_int64(st, 10);
        m.stream_start = (uint64_t)sqlite3_column_int64(st, 11);
        uint64_t max_seq = (uint64_t)sqlite3_column_int64(st, 12);
        m.last_seq = max_seq > m.trim_seq ? max_seq : m.trim_seq;
        if (m.stream_start > m.last_seq) m.last_seq = m.stream_start;
        const char *extra = (const char *)sqlite3_column_text(st, 13);
        json_t *desc = extra ? json_loads(extra, 0, NULL) : NULL;
        m.indexes = tbl_indexes_build(db, desc);
        json_t *ttl = json_object_get(desc, "TimeToLiveDescription");
        const char *ttl_attr = json_string_value(json_object_get(ttl, "AttributeName"));
        const char *ttl_status = json_string_value(json_object_get(ttl, "TimeToLiveStatus"));
        if (ttl_attr && ttl_status && !strcmp(ttl_status, "ENABLED"))
            snprintf(m.ttl_attr, sizeof m.ttl_attr, "%s", ttl_attr);
        json_decref(desc);
        tbl_meta_set(db, &m, false);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        tbl_sql_err(c, "loading tables", e);
        return false;
    }
    return true;
}

/* Fills the index key hash of index entries written before it was stored (schema_migrate).
 * Each index's entries without it are found through index_entries_by_hash. */
static bool index_hash_backfill(tbl_db *db, tbl_conn *c, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, "UPDATE index_entries SET ihp = sp_key_hash(?1, ihk, '', x'')"
                                   " WHERE tid=?2 AND iname=?3 AND ihp<0", -1, &st,
                           NULL) != SQLITE_OK) {
        tbl_sql_err(c, "migrating index entries", e);
        return false;
    }
    bool ok = true;
    pthread_mutex_lock(&db->meta_mu);
    for (size_t i = 0; ok && i < db->n_metas; i++) {
        const tbl_meta *m = &db->metas[i];
        for (size_t j = 0; ok && m->indexes && j < m->indexes->n; j++) {
            const tbl_index *ix = &m->indexes->ix[j];
            char t[2] = {ix->hash_type, 0};
            sqlite3_bind_text(st, 1, t, 1, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 2, m->tid);
            sqlite3_bind_text(st, 3, ix->name, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE;
            sqlite3_reset(st);
        }
    }
    pthread_mutex_unlock(&db->meta_mu);
    if (!ok) tbl_sql_err(c, "migrating index entries", e);
    sqlite3_finalize(st);
    return ok;
}

tbl_db *tbl_db_open(const char *dir, sp_durability durability, sp_err *e)
{
    tbl_db *db = calloc(1, sizeof *db);
    if (!db) {
        sp_err_internal(e, "out of memory");
        return NULL;
    }
    db->durability = durability;
    size_t n = strlen(dir) + sizeof "/tables.db";
    db->path = malloc(n);
    snprintf(db->path, n, "%s/tables.db", dir);
    size_t n_seq = strlen(dir) + sizeof "/tables.seq";
    db->seq_path = malloc(n_seq);
    snprintf(db->seq_path, n_seq, "%s/tables.seq", dir);
    pthread_mutex_init(&db->pool_mu, NULL);
    pthread_mutex_init(&db->write_mu, NULL);
    pthread_mutex_init(&db->meta_mu, NULL);
    pthread_mutex_init(&db->index_mu, NULL);
    pthread_cond_init(&db->commit_cv, NULL);
    pthread_cond_init(&db->group_cv, NULL);
    pthread_cond_init(&db->stop_cv, NULL);
    if (!tbl_sync_init(db, e)) {
        tbl_db_close(db);
        return NULL;
    }
    /* Numbers up to the reservation may have been handed out before a crash, and their
     * records lost with an unsynced commit: the next ones start above it. */
    if (!sp_fs_read_u64(db->seq_path, &db->seq_reserved, e)) {
        tbl_db_close(db);
        return NULL;
    }
    db->seq_floor = db->seq_reserved;
    tbl_conn *c = tbl_conn_get(db, e);
    if (!c) {
        tbl_db_close(db);
        return NULL;
    }
    bool ok = metas_load(db, c, e) && index_hash_backfill(db, c, e);
    tbl_conn_put(db, c);
    if (!ok) {
        tbl_db_close(db);
        return NULL;
    }
    if (!tbl_syncer_start(db, e)) {
        tbl_db_close(db);
        return NULL;
    }
    tbl_trimmer_start(db);
    tbl_checkpointer_start(db);
    return db;
}

void tbl_db_close(tbl_db *db)
{
    if (!db) return;
    tbl_trimmer_stop(db);
    tbl_checkpointer_stop(db);
    tbl_syncer_stop(db);
    conn_free(db->writer);
    tbl_sync_free(db);
    for (tbl_conn *c = db->all_conns, *next; c; c = next) {
        next = c->next_all;
        conn_free(c);
    }
    pthread_mutex_destroy(&db->pool_mu);
    pthread_mutex_destroy(&db->write_mu);
    pthread_mutex_destroy(&db->meta_mu);
    pthread_cond_destroy(&db->commit_cv);
    pthread_cond_destroy(&db->group_cv);
    pthread_cond_destroy(&db->stop_cv);
    tbl_indexes_free_all(db);
    pthread_mutex_destroy(&db->index_mu);
    for (struct tbl_ghost_text *g = db->ghost_texts, *next; g; g = next) {
        next = g->next;
        free(g);
    }
    free(db->metas);
    free(db->path);
    free(db->seq_path);
    free(db);
}

/* ---- metadata cache --------------------------------------------------------------------- */

void tbl_db_set_status_ms(tbl_db *db, int64_t ms) { db->status_ms = ms > 0 ? ms : 0; }

char tbl_meta_busy(const tbl_meta *m)
{
    return m->busy && sp_clock_wall_ms() < m->busy_until_ms ? m->busy : TBL_BUSY_NONE;
}

const char *tbl_busy_name(char busy)
{
    return busy == TBL_BUSY_CREATING ? "CREATING" : busy == TBL_BUSY_UPDATING ? "UPDATING"
           : busy == TBL_BUSY_DELETING ? "DELETING" : "ACTIVE";
}

/* Drops the ghosts whose DELETING window is over. Under meta_mu. */
static void ghosts_purge(tbl_db *db)
{
    for (size_t i = 0; i < db->n_metas;) {
        if (db->metas[i].ghost && !tbl_meta_busy(&db->metas[i]))
            db->metas[i] = db->metas[--db->n_metas];
        else
            i++;
    }
}

static tbl_meta *meta_find(tbl_db *db, const char *name)
{
    ghosts_purge(db);
    for (size_t i = 0; i < db->n_metas; i++)
        if (!strcmp(db->metas[i].name, name)) return &db->metas[i];
    return NULL;
}

void tbl_meta_set_ghost(tbl_db *db, const tbl_meta *m, const json_t *desc)
{
    if (!db->status_ms) {
        tbl_meta_set(db, m, true);
        return;
    }
    char *text = json_dumps(desc, JSON_COMPACT);
    size_t n = text ? strlen(text) + 1 : 1;
    struct tbl_ghost_text *g = malloc(sizeof *g + n);
    if (!g) abort();
    memcpy(g->text, text ? text : "", n);
    free(text);
    tbl_meta ghost = *m;
    ghost.busy = TBL_BUSY_DELETING;
    ghost.busy_until_ms = sp_clock_wall_ms() + db->status_ms;
    ghost.ghost = g->text;
    ghost.indexes = NULL;
    ghost.ttl_attr[0] = 0;
    pthread_mutex_lock(&db->meta_mu);
    g->next = db->ghost_texts;
    db->ghost_texts = g;
    pthread_mutex_unlock(&db->meta_mu);
    tbl_meta_set(db, &ghost, false);
}

json_t *tbl_meta_ghost_desc(tbl_db *db, const char *name)
{
    json_t *d = NULL;
    pthread_mutex_lock(&db->meta_mu);
    tbl_meta *m = name ? meta_find(db, name) : NULL;
    if (m && m->ghost) d = json_loads(m->ghost, 0, NULL);
    pthread_mutex_unlock(&db->meta_mu);
    return d;
}

bool tbl_meta_get(tbl_db *db, const char *name, tbl_meta *out, bool control_plane, sp_err *e)
{
    pthread_mutex_lock(&db->meta_mu);
    tbl_meta *m = name ? meta_find(db, name) : NULL;
    /* A table being deleted is gone for everything but DescribeTable, DeleteTable and
     * ListTables (tbl_meta_ghost_desc); one being created only for the data plane. */
    if (m && (m->ghost || (!control_plane && tbl_meta_busy(m) == TBL_BUSY_CREATING))) m = NULL;
    if (m) *out = *m;
    pthread_mutex_unlock(&db->meta_mu);
    if (!m) {
        /* DynamoDB once said "Cannot do operations on a non-existent table" to the data
         * plane; today it says "Requested resource not found", naming the table on the
         * control plane (DescribeTable, UpdateTable, DeleteTable, ...). */
        if (control_plane)
            sp_err_set(e, 400, "ResourceNotFoundException",
                       "Requested resource not found: Table: %s not found", name ? name : "");
        else
            sp_err_set(e, 400, "ResourceNotFoundException", "Requested resource not found");
    }
    return m != NULL;
}

void tbl_meta_set_ttl(tbl_db *db, const char *name, const char *attr)
{
    pthread_mutex_lock(&db->meta_mu);
    tbl_meta *cur = meta_find(db, name);
    if (cur) snprintf(cur->ttl_attr, sizeof cur->ttl_attr, "%s", attr);
    pthread_mutex_unlock(&db->meta_mu);
}

void tbl_meta_set(tbl_db *db, const tbl_meta *m, bool remove)
{
    pthread_mutex_lock(&db->meta_mu);
    tbl_meta *cur = meta_find(db, m->name);
    if (remove) {
        if (cur) *cur = db->metas[--db->n_metas];
    } else if (cur) {
        /* The published stream position only grows: a copy taken before a sync published a
         * later one must not take it back. */
        uint64_t last = cur->tid == m->tid && cur->last_seq > m->last_seq ? cur->last_seq
                                                                            : m->last_seq;
        *cur = *m;
        cur->last_seq = last;
    } else {
        if (db->n_metas == db->cap_metas) {
            size_t cap = db->cap_metas ? db->cap_metas * 2 : 8;
            tbl_meta *grown = realloc(db->metas, cap * sizeof *grown);
            if (!grown) abort(); /* a few hundred bytes; nothing sane to do without them */
            db->metas = grown;
            db->cap_metas = cap;
        }
        db->metas[db->n_metas++] = *m;
    }
    pthread_cond_broadcast(&db->commit_cv);
    pthread_mutex_unlock(&db->meta_mu);
}

static int name_cmp(const void *a, const void *b) { return strcmp(a, b); }

size_t tbl_meta_names(tbl_db *db, char (**names)[TBL_NAME_MAX + 1])
{
    pthread_mutex_lock(&db->meta_mu);
    ghosts_purge(db);
    size_t n = db->n_metas;
    *names = malloc((n ? n : 1) * sizeof **names);
    for (size_t i = 0; i < n; i++) memcpy((*names)[i], db->metas[i].name, TBL_NAME_MAX + 1);
    pthread_mutex_unlock(&db->meta_mu);
    qsort(*names, n, sizeof **names, name_cmp);
    return n;
}

void tbl_meta_committed(tbl_db *db, int64_t tid, uint64_t last_seq)
{
    pthread_mutex_lock(&db->meta_mu);
    for (size_t i = 0; i < db->n_metas; i++)
        if (db->metas[i].tid == tid && db->metas[i].last_seq < last_seq)
            db->metas[i].last_seq = last_seq;
    pthread_cond_broadcast(&db->commit_cv);
    pthread_mutex_unlock(&db->meta_mu);
}

/* ---- names ------------------------------------------------------------------------------ */

void tbl_table_arn(const tbl_meta *m, char out[TBL_ARN_MAX])
{
    snprintf(out, TBL_ARN_MAX, TBL_ARN_PREFIX "%s", m->name);
}

void tbl_stream_arn(const tbl_meta *m, const char *label, char out[TBL_ARN_MAX])
{
    snprintf(out, TBL_ARN_MAX, TBL_ARN_PREFIX "%s/stream/%s", m->name, label);
}

static const char *const VIEW_NAMES[] = {
    [TBL_VIEW_NONE] = "", [TBL_VIEW_KEYS_ONLY] = "KEYS_ONLY",
    [TBL_VIEW_NEW_IMAGE] = "NEW_IMAGE", [TBL_VIEW_OLD_IMAGE] = "OLD_IMAGE",
    [TBL_VIEW_NEW_AND_OLD_IMAGES] = "NEW_AND_OLD_IMAGES",
};

const char *tbl_view_name(tbl_view v) { return VIEW_NAMES[v]; }

bool tbl_view_parse(const char *s, tbl_view *out)
{
    for (size_t i = 1; s && i < SP_ARRAY_LEN(VIEW_NAMES); i++)
        if (!strcmp(s, VIEW_NAMES[i])) {
            *out = (tbl_view)i;
            return true;
        }
    return false;
}
