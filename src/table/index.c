/* Secondary indexes: local (same hash key, another range key) and global (any key schema).
 * An index is a table of entries (index hash key, index range key, table hash key, table
 * range key) kept in the same SQLite transaction as the item it points at, so a Query or Scan
 * with IndexName is one ordered range scan joined with the items. Items without the index's
 * key attributes have no entry (sparse indexes, as in DynamoDB); entries order by the index
 * key, then, as in DynamoDB, by the hash of the table key (keyhash.c: thp), then by the
 * table key; an index Scan orders by the hash of the index's partition key first (ihp).
 *
 * Index definitions are parsed once per table definition into an immutable tbl_indexes that
 * the database owns until it closes.
 */
#include "tbl_ops.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static char attr_type(const json_t *defs, const char *name)
{
    size_t i;
    const json_t *d;
    json_array_foreach(defs, i, d) {
        const char *n = json_string_value(json_object_get(d, "AttributeName"));
        const char *t = json_string_value(json_object_get(d, "AttributeType"));
        if (n && t && !strcmp(n, name)) return t[0];
    }
    return 0;
}

static bool index_parse(const json_t *def, const json_t *defs, bool global, tbl_index *out)
{
    memset(out, 0, sizeof *out);
    const char *name = json_string_value(json_object_get(def, "IndexName"));
    const json_t *ks = json_object_get(def, "KeySchema");
    if (!name || !json_is_array(ks) || json_array_size(ks) < 1) return false;
    snprintf(out->name, sizeof out->name, "%s", name);
    out->global = global;
    for (size_t i = 0; i < json_array_size(ks) && i < 2; i++) {
        const char *a = json_string_value(json_object_get(json_array_get(ks, i), "AttributeName"));
        if (!a) return false;
        snprintf(i ? out->range_key : out->hash_key, TBL_ATTR_NAME_MAX + 1, "%s", a);
        *(i ? &out->range_type : &out->hash_type) = attr_type(defs, a);
    }
    const json_t *proj = json_object_get(def, "Projection");
    const char *pt = json_string_value(json_object_get(proj, "ProjectionType"));
    out->projection = !pt || !strcmp(pt, "ALL") ? TBL_PROJ_ALL
                      : !strcmp(pt, "KEYS_ONLY") ? TBL_PROJ_KEYS_ONLY : TBL_PROJ_INCLUDE;
    if (out->projection == TBL_PROJ_INCLUDE) {
        json_t *nk = json_object_get(proj, "NonKeyAttributes");
        out->non_key = json_is_array(nk) ? json_incref(nk) : json_array();
    }
    return out->hash_type && (!out->range_key[0] || out->range_type);
}

const tbl_indexes *tbl_indexes_build(tbl_db *db, const json_t *desc)
{
    const json_t *defs = json_object_get(desc, "AttributeDefinitions");
    const json_t *lsi = json_object_get(desc, "LocalSecondaryIndexes");
    const json_t *gsi = json_object_get(desc, "GlobalSecondaryIndexes");
    size_t n = json_array_size(lsi) + json_array_size(gsi);
    if (!n) return NULL;
    tbl_indexes *set = calloc(1, sizeof *set);
    set->ix = calloc(n, sizeof *set->ix);
    if (!set || !set->ix) abort();
    for (int g = 0; g < 2; g++) {
        const json_t *arr = g ? gsi : lsi;
        for (size_t i = 0; i < json_array_size(arr); i++)
            if (index_parse(json_array_get(arr, i), defs, g, &set->ix[set->n])) set->n++;
    }
    pthread_mutex_lock(&db->index_mu);
    set->next_owned = db->index_sets;
    db->index_sets = set;
    pthread_mutex_unlock(&db->index_mu);
    return set;
}

void tbl_indexes_free_all(tbl_db *db)
{
    for (tbl_indexes *s = db->index_sets, *next; s; s = next) {
        next = s->next_owned;
        for (size_t i = 0; i < s->n; i++) json_decref(s->ix[i].non_key);
        free(s->ix);
        free(s);
    }
    db->index_sets = NULL;
}

const tbl_index *tbl_index_find(const tbl_meta *m, const char *name)
{
    for (size_t i = 0; m->indexes && i < m->indexes->n; i++)
        if (!strcmp(m->indexes->ix[i].name, name)) return &m->indexes->ix[i];
    return NULL;
}

static bool check_attr(const json_t *item, const char *name, char want, const tbl_index *ix,
                       sp_err *e)
{
    const json_t *v = json_object_get(item, name);
    if (!v) return true;
    const char *t = tbl_av_type(v);
    char w[2] = {want, 0};
    if (!t || strcmp(t, w)) {
        sp_err_invalid(e, "One or more parameter values were invalid: Type mismatch for Index "
                          "Key %s Expected: %s Actual: %s IndexName: %s",
                       name, w, t ? t : "?", ix->name);
        return false;
    }
    const char *s = json_string_value(json_object_get(v, t));
    if (s && !*s && want != 'N') {
        sp_err_invalid(e, "One or more parameter values are not valid. A value specified for a "
                          "secondary index key is not supported. The AttributeValue for a key "
                          "attribute cannot contain an empty %s value. IndexName: %s, IndexKey: "
                          "%s", want == 'S' ? "string" : "binary", ix->name, name);
        return false;
    }
    return true;
}

bool tbl_index_check_item(const tbl_meta *m, const json_t *item, sp_err *e)
{
    /* DynamoDB's order: global indexes' keys, then local indexes' range keys. */
    for (int global = 1; global >= 0; global--)
        for (size_t i = 0; m->indexes && i < m->indexes->n; i++) {
            const tbl_index *ix = &m->indexes->ix[i];
            if (ix->global != global) continue;
            if (!check_attr(item, ix->hash_key, ix->hash_type, ix, e)) return false;
            if (ix->range_key[0] && !check_attr(item, ix->range_key, ix->range_type, ix, e))
                return false;
        }
    return true;
}

bool tbl_index_key_encode(const json_t *item, const char *name, char t, unsigned char *out,
                          size_t cap, size_t *len)
{
    char w[2] = {t, 0};
    const json_t *v = json_object_get(json_object_get(item, name), w);
    if (!v) return false;
    sp_err ignore = {0};
    return tbl_key_encode(t, v, out, cap, len, &ignore);
}

static bool exec(tbl_conn *c, sqlite3_stmt *st, const char *what, sp_err *e)
{
    bool ok = sqlite3_step(st) == SQLITE_DONE;
    if (!ok) tbl_sql_err(c, what, e);
    sqlite3_finalize(st);
    return ok;
}

/* Inserts the entry of one item in one index; nothing for an item without the index's key
 * attributes (or with them of another type: such an item is not in the index). */
static bool entry_insert(tbl_conn *c, const tbl_meta *m, const tbl_index *ix, const tbl_key *k,
                         const json_t *item, sp_err *e)
{
    unsigned char ihk[TBL_HASH_KEY_MAX_BYTES + 64], irk[TBL_RANGE_KEY_MAX_BYTES + 64];
    size_t ihk_len, irk_len = 0;
    if (!tbl_index_key_encode(item, ix->hash_key, ix->hash_type, ihk, sizeof ihk, &ihk_len))
        return true; /* sparse: no entry */
    if (ix->range_key[0] && !tbl_index_key_encode(item, ix->range_key, ix->range_type, irk,
                                                  sizeof irk, &irk_len))
        return true;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, "INSERT INTO index_entries(tid, iname, ihk, irk, hk, rk,"
                                   " ihp, thp) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st,
                           NULL) != SQLITE_OK) {
        tbl_sql_err(c, "updating indexes", e);
        return false;
    }
    sqlite3_bind_int64(st, 1, m->tid);
    sqlite3_bind_text(st, 2, ix->name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, ihk, (int)ihk_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 4, irk_len ? (const void *)irk : "", (int)irk_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 5, k->hk, (int)k->hk_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, k->rk_len ? (const void *)k->rk : "", (int)k->rk_len,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, tbl_key_hash(ix->hash_type, ihk, ihk_len, 0, NULL, 0));
    sqlite3_bind_int64(st, 8, tbl_key_thp(m, k));
    return exec(c, st, "updating indexes", e);
}

bool tbl_index_write(tbl_conn *c, const tbl_meta *m, const tbl_key *k, const json_t *new_item,
                     sp_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, "DELETE FROM index_entries WHERE tid=?1 AND hk=?2 AND rk=?3",
                           -1, &st, NULL) != SQLITE_OK) {
        tbl_sql_err(c, "updating indexes", e);
        return false;
    }
    sqlite3_bind_int64(st, 1, m->tid);
    sqlite3_bind_blob(st, 2, k->hk, (int)k->hk_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 3, k->rk, (int)k->rk_len, SQLITE_STATIC);
    if (!exec(c, st, "updating indexes", e)) return false;
    if (!new_item) return true;
    for (size_t i = 0; i < m->indexes->n; i++)
        if (!entry_insert(c, m, &m->indexes->ix[i], k, new_item, e)) return false;
    return true;
}

bool tbl_index_backfill(tbl_conn *c, const tbl_meta *m, const tbl_index *ix, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(c->sql, "SELECT hk, rk, item FROM items WHERE tid=?1", -1, &st,
                           NULL) != SQLITE_OK) {
        tbl_sql_err(c, "backfilling index", e);
        return false;
    }
    sqlite3_bind_int64(st, 1, m->tid);
    bool ok = true;
    int rc;
    tbl_key k;
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        size_t hl = (size_t)sqlite3_column_bytes(st, 0), rl = (size_t)sqlite3_column_bytes(st, 1);
        assert(hl <= sizeof k.hk && rl <= sizeof k.rk);
        k.hk_len = hl;
        k.rk_len = rl;
        if (hl) memcpy(k.hk, sqlite3_column_blob(st, 0), hl);
        if (rl) memcpy(k.rk, sqlite3_column_blob(st, 1), rl);
        json_t *item = json_loads((const char *)sqlite3_column_text(st, 2), JSON_ALLOW_NUL, NULL);
        if (item) ok = entry_insert(c, m, ix, &k, item, e);
        json_decref(item);
    }
    if (ok && rc != SQLITE_DONE) {
        tbl_sql_err(c, "backfilling index", e);
        ok = false;
    }
    sqlite3_finalize(st);
    return ok;
}

bool tbl_index_drop(tbl_conn *c, int64_t tid, const char *name, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    const char *q = name ? "DELETE FROM index_entries WHERE tid=?1 AND iname=?2"
                         : "DELETE FROM index_entries WHERE tid=?1";
    if (sqlite3_prepare_v2(c->sql, q, -1, &st, NULL) != SQLITE_OK) {
        tbl_sql_err(c, "dropping index entries", e);
        return false;
    }
    sqlite3_bind_int64(st, 1, tid);
    if (name) sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    return exec(c, st, "dropping index entries", e);
}

json_t *tbl_index_project(const tbl_meta *m, const tbl_index *ix, const json_t *item)
{
    if (ix->projection == TBL_PROJ_ALL) return json_incref((json_t *)item);
    json_t *out = json_object();
    const char *keys[] = {m->hash_key, m->range_key, ix->hash_key, ix->range_key};
    for (size_t i = 0; i < 4; i++) {
        json_t *v = keys[i][0] ? json_object_get(item, keys[i]) : NULL;
        if (v) json_object_set(out, keys[i], v);
    }
    size_t i;
    json_t *name;
    json_array_foreach(ix->non_key, i, name) {
        json_t *v = json_object_get(item, json_string_value(name));
        if (v) json_object_set(out, json_string_value(name), v);
    }
    return out;
}
