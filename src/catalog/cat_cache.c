/* The query cache: the records of each crawled object, already selected with the table's
 * JsonPath and split into their fields, in <catalog dir>/cache.db, so a query can scan an
 * unchanged object without parsing its JSON. An entry is keyed by the object's file path and
 * tagged with the file's size and mtime (nanoseconds) and the JsonPath it was selected with;
 * a reader trusts it only when all three still match. Records are stored in chunks of at
 * most CAT_CACHE_CHUNK_RECORDS, each chunk a self-contained blob (format in catalog.h), so
 * reading and writing stream one chunk at a time. */
#include "cat_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { CAT_CACHE_BUSY_MS = 10000, CAT_CACHE_NAMES_MAX = 4096 };

/* Readers map the cache file rather than pread it page by page: a chunk is a ~100 KB blob,
 * two dozen overflow pages, and a one-hour query reads a thousand of them. Address space
 * only; SQLite maps at most this much and falls back to reads past it. */
#define CAT_CACHE_MMAP_BYTES "1073741824"

static const char CACHE_SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS cache_objects("
    "  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, bucket TEXT NOT NULL,"
    "  key TEXT NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    "  json_path TEXT NOT NULL, chunks INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS cache_objects_key ON cache_objects(bucket, key);"
    "CREATE TABLE IF NOT EXISTS cache_chunks("
    "  object INTEGER NOT NULL, seq INTEGER NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY(object, seq)) WITHOUT ROWID;";

/* The writer's statements, prepared once per handle (a crawl writes thousands of entries). */
enum { ST_DEL_PATH, ST_INS_OBJ, ST_INS_CHUNK, ST_UPD_OBJ, ST_DEL_CHUNKS, ST_DEL_OBJ, ST_N };

static const char *const WRITE_SQL[ST_N] = {
    [ST_DEL_PATH] = "DELETE FROM cache_chunks WHERE object IN"
                    " (SELECT id FROM cache_objects WHERE path = ?1)",
    [ST_INS_OBJ] = "INSERT OR REPLACE INTO cache_objects(path, bucket, key, size, mtime_ns,"
                   " json_path, chunks) VALUES (?, ?, ?, -1, -1, ?, 0)",
    [ST_INS_CHUNK] = "INSERT INTO cache_chunks(object, seq, data) VALUES (?, ?, ?)",
    [ST_UPD_OBJ] = "UPDATE cache_objects SET size = ?, mtime_ns = ?, chunks = ? WHERE id = ?",
    [ST_DEL_CHUNKS] = "DELETE FROM cache_chunks WHERE object = ?1",
    [ST_DEL_OBJ] = "DELETE FROM cache_objects WHERE id = ?1",
};

struct cat_cache {
    sqlite3 *db;
    sqlite3_stmt *lookup, *chunk;
    /* cat_cache_chunk_view's cursor over one entry's chunks in seq order, left on the chunk
     * it returned last, so the next one is a step, not a seek */
    sqlite3_stmt *walk;
    bool walking;
    int64_t walk_object;
    size_t walk_next;          /* the seq a step gives */
    sqlite3_stmt *w[ST_N];
};

/* The writer statement i, reset; NULL with e set. */
static sqlite3_stmt *stmt(cat_cache *c, int i, sp_err *e)
{
    if (!c->w[i] && sqlite3_prepare_v2(c->db, WRITE_SQL[i], -1, &c->w[i], NULL) != SQLITE_OK) {
        sp_err_internal(e, "cache prepare: %s", sqlite3_errmsg(c->db));
        return NULL;
    }
    sqlite3_reset(c->w[i]);
    sqlite3_clear_bindings(c->w[i]);
    return c->w[i];
}

/* Steps a writer statement to completion and resets it (releasing bound buffers). */
static bool run(sqlite3_stmt *st)
{
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok;
}

static bool cache_fail(cat_cache *c, const char *what, sp_err *e)
{
    sp_err_internal(e, "cache %s: %s", what, sqlite3_errmsg(c->db));
    return false;
}

static bool cache_exec(cat_cache *c, const char *sql, sp_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sp_err_internal(e, "cache: %s (in '%.40s')", msg ? msg : "error", sql);
        sqlite3_free(msg);
        return false;
    }
    return true;
}

char *cat_cache_path(const cat_catalog *cat)
{
    const char *slash = strrchr(cat->path, '/');
    size_t dir = slash ? (size_t)(slash - cat->path) + 1 : 0;
    char *p = malloc(dir + sizeof "cache.db");
    if (!p) abort();
    memcpy(p, cat->path, dir);
    memcpy(p + dir, "cache.db", sizeof "cache.db");
    return p;
}

cat_cache *cat_cache_open(const char *path, bool write, sp_err *e)
{
    cat_cache *c = calloc(1, sizeof *c);
    if (!c) abort();
    int flags = write ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &c->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        sp_err_set(e, 404, "NoSuchKey", "cache %s: %s", path,
                   c->db ? sqlite3_errmsg(c->db) : "cannot open");
        cat_cache_close(c);
        return NULL;
    }
    sqlite3_busy_timeout(c->db, CAT_CACHE_BUSY_MS);
    if (!write)
        sqlite3_exec(c->db, "PRAGMA mmap_size=" CAT_CACHE_MMAP_BYTES, NULL, NULL, NULL);
    if (write && !cache_exec(c, CACHE_SCHEMA, e)) {
        cat_cache_close(c);
        return NULL;
    }
    return c;
}

void cat_cache_close(cat_cache *c)
{
    if (!c) return;
    sqlite3_finalize(c->lookup);
    sqlite3_finalize(c->chunk);
    sqlite3_finalize(c->walk);
    for (int i = 0; i < ST_N; i++) sqlite3_finalize(c->w[i]);
    sqlite3_close(c->db);
    free(c);
}

bool cat_cache_begin(cat_cache *c, sp_err *e) { return cache_exec(c, "BEGIN IMMEDIATE", e); }
bool cat_cache_commit(cat_cache *c, sp_err *e) { return cache_exec(c, "COMMIT", e); }
void cat_cache_rollback(cat_cache *c)
{
    sp_err e = {0};
    cache_exec(c, "ROLLBACK", &e);
}

/* ---- writing ---------------------------------------------------------------------------- */

struct cat_cache_put {
    cat_cache *c;
    int64_t id;
    size_t seq;
    sp_str names;          /* the chunk's name table: varint length + bytes each */
    char **name_list;      /* names of this chunk, for lookups (borrowed keys copied) */
    size_t n_names;
    sp_str recs;           /* encoded records of this chunk */
    size_t n_recs;
    bool failed;
};

static void put_varint(sp_str *s, uint64_t v)
{
    while (v >= 0x80) {
        sp_str_putc(s, (char)(v | 0x80));
        v >>= 7;
    }
    sp_str_putc(s, (char)v);
}

static void put_bytes(sp_str *s, const void *p, size_t n)
{
    if (n) sp_str_append(s, p, n);
}

cat_cache_put *cat_cache_put_begin(cat_cache *c, const char *path, const char *bucket,
                                   const char *key, const char *json_path, sp_err *e)
{
    sqlite3_stmt *st = stmt(c, ST_DEL_PATH, e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (!run(st)) {
        cache_fail(c, "delete", e);
        return NULL;
    }
    if (!(st = stmt(c, ST_INS_OBJ, e))) return NULL;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, json_path, -1, SQLITE_STATIC);
    if (!run(st)) {
        cache_fail(c, "insert", e);
        return NULL;
    }
    cat_cache_put *p = calloc(1, sizeof *p);
    if (!p) abort();
    p->c = c;
    p->id = sqlite3_last_insert_rowid(c->db);
    sp_str_init(&p->names, NULL, 0, SP_STR_NO_MAX);
    sp_str_init(&p->recs, NULL, 0, SP_STR_NO_MAX);
    return p;
}

static void chunk_reset(cat_cache_put *p)
{
    for (size_t i = 0; i < p->n_names; i++) free(p->name_list[i]);
    free(p->name_list);
    p->name_list = NULL;
    p->n_names = 0;
    sp_str_reset(&p->names);
    sp_str_reset(&p->recs);
    p->n_recs = 0;
}

static bool chunk_flush(cat_cache_put *p, sp_err *e)
{
    if (!p->n_recs) return true;
    sp_str blob;
    sp_str_init(&blob, NULL, 0, SP_STR_NO_MAX);
    put_varint(&blob, p->n_names);
    put_bytes(&blob, p->names.buf, p->names.len);
    put_varint(&blob, p->n_recs);
    put_bytes(&blob, p->recs.buf, p->recs.len);
    sqlite3_stmt *st = stmt(p->c, ST_INS_CHUNK, e);
    if (!st) {
        sp_str_release(&blob);
        return false;
    }
    sqlite3_bind_int64(st, 1, p->id);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)p->seq);
    sqlite3_bind_blob(st, 3, blob.buf, (int)blob.len, SQLITE_STATIC);
    bool ok = !sp_str_failed(&blob) && run(st);
    sp_str_release(&blob);
    if (!ok) return cache_fail(p->c, "chunk", e);
    p->seq++;
    chunk_reset(p);
    return true;
}

static size_t name_index(cat_cache_put *p, const char *name, size_t len)
{
    for (size_t i = 0; i < p->n_names; i++)
        if (strlen(p->name_list[i]) == len && !memcmp(p->name_list[i], name, len)) return i;
    p->name_list = realloc(p->name_list, (p->n_names + 1) * sizeof *p->name_list);
    if (!p->name_list) abort();
    p->name_list[p->n_names] = strndup(name, len);
    if (!p->name_list[p->n_names]) abort();
    put_varint(&p->names, len);
    put_bytes(&p->names, name, len);
    return p->n_names++;
}

static void put_value(sp_str *s, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_NULL: sp_str_putc(s, CAT_CACHE_NULL); break;
    case JSON_TRUE: sp_str_putc(s, CAT_CACHE_TRUE); break;
    case JSON_FALSE: sp_str_putc(s, CAT_CACHE_FALSE); break;
    case JSON_INTEGER: {
        int64_t x = json_integer_value(v);
        sp_str_putc(s, CAT_CACHE_INT);
        put_bytes(s, &x, sizeof x);
        break;
    }
    case JSON_REAL: {
        double x = json_real_value(v);
        sp_str_putc(s, CAT_CACHE_REAL);
        put_bytes(s, &x, sizeof x);
        break;
    }
    case JSON_STRING:
        sp_str_putc(s, CAT_CACHE_STRING);
        put_varint(s, json_string_length(v));
        put_bytes(s, json_string_value(v), json_string_length(v));
        break;
    default: { /* object, array: JSON text, as the query renders nested values */
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(17));
        size_t n = text ? strlen(text) : 0;
        sp_str_putc(s, CAT_CACHE_JSON);
        put_varint(s, n);
        put_bytes(s, text, n);
        json_free_t jfree;
        json_get_alloc_funcs(NULL, &jfree);
        jfree(text);
        break;
    }
    }
}

bool cat_cache_put_record(cat_cache_put *p, json_t *rec, sp_err *e)
{
    if (p->failed) return false;
    if (!json_is_object(rec) || json_object_size(rec) > CAT_CACHE_NAMES_MAX) {
        if (json_is_object(rec)) { /* too wide to cache: the object stays uncached */
            p->failed = true;
            sp_err_invalid(e, "cache: record too wide");
            return false;
        }
        put_varint(&p->recs, 0);
    } else {
        put_varint(&p->recs, json_object_size(rec));
        const char *k;
        size_t klen;
        json_t *v;
        json_object_keylen_foreach(rec, k, klen, v) {
            if (p->n_names >= CAT_CACHE_NAMES_MAX && !chunk_flush(p, e)) return false;
            put_varint(&p->recs, name_index(p, k, klen));
            put_value(&p->recs, v);
        }
    }
    if (++p->n_recs >= CAT_CACHE_CHUNK_RECORDS && !chunk_flush(p, e)) {
        p->failed = true;
        return false;
    }
    return true;
}

bool cat_cache_put_end(cat_cache_put *p, const struct stat *st, bool keep, sp_err *e)
{
    bool ok = keep && !p->failed && chunk_flush(p, e);
    cat_cache *c = p->c;
    sqlite3_stmt *q;
    if (ok && (q = stmt(c, ST_UPD_OBJ, e)) != NULL) {
        sqlite3_bind_int64(q, 1, (sqlite3_int64)st->st_size);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)st->st_mtim.tv_sec * 1000000000 +
                                     st->st_mtim.tv_nsec);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)p->seq);
        sqlite3_bind_int64(q, 4, p->id);
        ok = run(q) || cache_fail(c, "update", e);
    } else {
        ok = false;
    }
    if (!ok) { /* an entry that is not complete is never served */
        sp_err ignored = {0};
        for (int i = ST_DEL_CHUNKS; i <= ST_DEL_OBJ; i++)
            if ((q = stmt(c, i, &ignored)) != NULL) {
                sqlite3_bind_int64(q, 1, p->id);
                run(q);
            }
    }
    chunk_reset(p);
    sp_str_release(&p->names);
    sp_str_release(&p->recs);
    free(p);
    return ok;
}

bool cat_cache_prune(cat_cache *c, const char *bucket, const char *prefix, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->db, "SELECT id, path, size, mtime_ns FROM cache_objects"
                                  " WHERE bucket = ? AND substr(key, 1, ?) = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return cache_fail(c, "prepare", e);
    sqlite3_bind_text(st, 1, bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)strlen(prefix));
    sqlite3_bind_text(st, 3, prefix, -1, SQLITE_STATIC);
    int64_t *gone = NULL;
    size_t n_gone = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct stat sb;
        const char *path = (const char *)sqlite3_column_text(st, 1);
        if (path && stat(path, &sb) == 0 &&
            sqlite3_column_int64(st, 2) == (sqlite3_int64)sb.st_size &&
            sqlite3_column_int64(st, 3) ==
                (sqlite3_int64)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec)
            continue;
        gone = realloc(gone, (n_gone + 1) * sizeof *gone);
        if (!gone) abort();
        gone[n_gone++] = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    bool ok = true;
    for (size_t i = 0; ok && i < n_gone; i++)
        for (int k = ST_DEL_CHUNKS; ok && k <= ST_DEL_OBJ; k++) {
            sqlite3_stmt *d = stmt(c, k, e);
            if (!d) {
                ok = false;
                break;
            }
            sqlite3_bind_int64(d, 1, gone[i]);
            ok = run(d) || cache_fail(c, "prune", e);
        }
    free(gone);
    return ok;
}

/* ---- reading ---------------------------------------------------------------------------- */

int64_t cat_cache_lookup(cat_cache *c, const char *path, const struct stat *st,
                         const char *json_path, size_t *chunks)
{
    if (!c->lookup &&
        sqlite3_prepare_v2(c->db, "SELECT id, size, mtime_ns, json_path, chunks FROM"
                                  " cache_objects WHERE path = ?", -1, &c->lookup,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_reset(c->lookup);
    sqlite3_bind_text(c->lookup, 1, path, -1, SQLITE_TRANSIENT);
    int64_t id = 0;
    if (sqlite3_step(c->lookup) == SQLITE_ROW &&
        sqlite3_column_int64(c->lookup, 1) == (sqlite3_int64)st->st_size &&
        sqlite3_column_int64(c->lookup, 2) ==
            (sqlite3_int64)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec &&
        !strcmp((const char *)sqlite3_column_text(c->lookup, 3), json_path)) {
        id = sqlite3_column_int64(c->lookup, 0);
        *chunks = (size_t)sqlite3_column_int64(c->lookup, 4);
    }
    sqlite3_reset(c->lookup);
    return id;
}

void *cat_cache_chunk_get(cat_cache *c, int64_t id, size_t seq, size_t *len)
{
    if (!c->chunk && sqlite3_prepare_v2(c->db, "SELECT data FROM cache_chunks WHERE object = ?"
                                               " AND seq = ?", -1, &c->chunk, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_reset(c->chunk);
    sqlite3_bind_int64(c->chunk, 1, id);
    sqlite3_bind_int64(c->chunk, 2, (sqlite3_int64)seq);
    void *out = NULL;
    if (sqlite3_step(c->chunk) == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(c->chunk, 0);
        out = malloc(*len ? *len : 1);
        if (!out) abort();
        memcpy(out, sqlite3_column_blob(c->chunk, 0), *len);
    }
    sqlite3_reset(c->chunk);
    return out;
}

/* The chunks are rows of a WITHOUT ROWID table whose key holds the blob: a seek compares
 * keys, and SQLite copies a key that spills onto overflow pages whole to compare it, so one
 * seek per chunk copied several chunks. The cursor seeks once per entry ("object >= id", no
 * upper bound, so no key compare per step either) and steps from chunk to chunk. */
const void *cat_cache_chunk_view(cat_cache *c, int64_t id, size_t seq, size_t *len)
{
    if (!c->walk && sqlite3_prepare_v2(c->db, "SELECT object, seq, data FROM cache_chunks"
                                              " WHERE object >= ? ORDER BY object, seq",
                                       -1, &c->walk, NULL) != SQLITE_OK)
        return NULL;
    if (!c->walking || c->walk_object != id || c->walk_next > seq) {
        sqlite3_reset(c->walk);
        sqlite3_bind_int64(c->walk, 1, id);
        c->walking = true;
        c->walk_object = id;
    }
    for (;;) {
        if (sqlite3_step(c->walk) != SQLITE_ROW || sqlite3_column_int64(c->walk, 0) != id ||
            sqlite3_column_int64(c->walk, 1) > (sqlite3_int64)seq) {
            sqlite3_reset(c->walk);
            c->walking = false;
            return NULL;
        }
        if (sqlite3_column_int64(c->walk, 1) == (sqlite3_int64)seq) break;
    }
    c->walk_next = seq + 1;
    *len = (size_t)sqlite3_column_bytes(c->walk, 2);
    const void *out = sqlite3_column_blob(c->walk, 2);
    return out ? out : "";
}

bool cat_cache_read_begin(cat_cache *c) { return sqlite3_exec(c->db, "BEGIN", 0, 0, 0) == SQLITE_OK; }

void cat_cache_read_end(cat_cache *c)
{
    if (c->chunk) sqlite3_reset(c->chunk);
    if (c->walk) sqlite3_reset(c->walk); /* a view's statement */
    c->walking = false;
    sqlite3_exec(c->db, "COMMIT", 0, 0, 0);
}

/* ---- decoding --------------------------------------------------------------------------- */

static bool get_varint(cat_chunk *k, uint64_t *v)
{
    *v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (k->pos >= k->len) return false;
        uint8_t b = k->data[k->pos++];
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return true;
    }
    return false;
}

bool cat_chunk_open(cat_chunk *k, const void *data, size_t len)
{
    memset(k, 0, sizeof *k);
    k->data = data;
    k->len = len;
    uint64_t n;
    if (!get_varint(k, &n) || n > CAT_CACHE_NAMES_MAX) return false;
    k->n_names = (size_t)n;
    k->names = calloc(n ? n : 1, sizeof *k->names);
    k->name_lens = calloc(n ? n : 1, sizeof *k->name_lens);
    if (!k->names || !k->name_lens) abort();
    for (size_t i = 0; i < k->n_names; i++) {
        uint64_t l;
        if (!get_varint(k, &l) || l > k->len - k->pos) return false;
        k->names[i] = (const char *)k->data + k->pos;
        k->name_lens[i] = (size_t)l;
        k->pos += (size_t)l;
    }
    /* A chunk holds at most CAT_CACHE_CHUNK_RECORDS records of at least one byte each: a
     * larger count is a corrupt chunk, not an allocation to make. */
    if (!get_varint(k, &n) || n > CAT_CACHE_CHUNK_RECORDS || n > k->len - k->pos) return false;
    k->n_records = (size_t)n;
    return true;
}

void cat_chunk_close(cat_chunk *k)
{
    free(k->names);
    free(k->name_lens);
    k->names = NULL;
    k->name_lens = NULL;
}

int cat_chunk_record(cat_chunk *k, size_t *n_fields)
{
    if (k->pos >= k->len) return 0;
    uint64_t n;
    if (!get_varint(k, &n) || n > k->len - k->pos) return -1;
    *n_fields = (size_t)n;
    return 1;
}

bool cat_chunk_field(cat_chunk *k, cat_cache_value *out)
{
    uint64_t idx;
    if (!get_varint(k, &idx) || idx >= k->n_names || k->pos >= k->len) return false;
    out->name = (size_t)idx;
    out->tag = k->data[k->pos++];
    switch (out->tag) {
    case CAT_CACHE_NULL: case CAT_CACHE_TRUE: case CAT_CACHE_FALSE: return true;
    case CAT_CACHE_INT:
        if (k->len - k->pos < 8) return false;
        memcpy(&out->i, k->data + k->pos, 8);
        k->pos += 8;
        return true;
    case CAT_CACHE_REAL:
        if (k->len - k->pos < 8) return false;
        memcpy(&out->d, k->data + k->pos, 8);
        k->pos += 8;
        return true;
    case CAT_CACHE_STRING: case CAT_CACHE_JSON: {
        uint64_t l;
        if (!get_varint(k, &l) || l > k->len - k->pos) return false;
        out->s = (const char *)k->data + k->pos;
        out->len = (size_t)l;
        k->pos += (size_t)l;
        return true;
    }
    default: return false;
    }
}
