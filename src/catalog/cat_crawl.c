/* The crawler: lists a bucket/prefix, reads the objects it has not read before (same key,
 * size and mtime are skipped), infers a Glue schema per top-level folder, groups folders
 * with similar schemas into one table named after the bucket/prefix (clearly different
 * ones become tables of their own, named after their folder), adds the partitions the
 * folder layout implies, and applies the SchemaChangePolicy to tables that already exist.
 * A run is one SQLite transaction. */
#include "cat_int.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char SERDE_JSON[] = "org.openx.data.jsonserde.JsonSerDe";
static const char SCHEMA_SERIALIZER_VERSION[] = "1.0";

typedef struct crawl_obj {
    char *key;
    int64_t size, mtime_ms;
    bool known;           /* already crawled, unchanged: not read again */
    bool reached;         /* the run came to it (read, or found gone) */
    char *table;          /* table the object belongs to (NULL: none) */
    size_t records;
    size_t group;         /* new objects: index into groups */
} crawl_obj;

typedef struct crawl_group {
    char folder[1024];    /* first folder under the crawl prefix, "" for objects at its root */
    cat_type *schema;
    size_t n_objects;
    size_t n_parquet;     /* of them Parquet (classified from their footers) */
    char table[CAT_NAME_MAX + 1];
} crawl_group;

typedef struct crawl {
    cat_catalog *cat;
    lake *lk;
    const sp_cfg_crawler *cfg;
    cat_jsonpath *path;
    const char *json_path;
    char prefix[1024];    /* crawl prefix, "" or ending in '/' */
    char root_table[CAT_NAME_MAX + 1];
    crawl_obj *objs;
    size_t n_objs, cap_objs;
    crawl_group *groups;
    size_t n_groups;
    const char *compression;
    cat_crawl_report *rep;
    cat_cache *cache;     /* the query cache, filled as objects are read; NULL: none */
    sp_err *e;
} crawl;

/* ---- listing ---------------------------------------------------------------------------- */

/* Athena and Glue skip objects whose name (or a folder of it) starts with '_' or '.'. */
static bool hidden(const char *rel)
{
    for (const char *p = rel; p; p = strchr(p, '/')) {
        if (*p == '/') p++;
        if (*p == '_' || *p == '.') return true;
    }
    return false;
}

static bool on_object(void *arg, const lake_object_info *o)
{
    crawl *c = arg;
    const char *rel = o->key + strlen(c->prefix);
    if (hidden(rel)) return true;
    for (size_t i = 0; i < c->rep->n_exclusions; i++)
        if (cat_glob_match(c->rep->exclusions[i], rel)) return true;
    if (c->n_objs == c->cap_objs) {
        c->cap_objs = c->cap_objs ? c->cap_objs * 2 : 64;
        c->objs = realloc(c->objs, c->cap_objs * sizeof *c->objs);
        if (!c->objs) abort();
    }
    c->objs[c->n_objs++] = (crawl_obj){.key = strdup(o->key), .size = o->size,
                                       .mtime_ms = o->mtime_ms};
    return true;
}

/* Marks objects already crawled with the same size and mtime. */
static bool mark_known(crawl *c)
{
    sqlite3_stmt *st = cat_store_prepare(
        c->cat,
        "SELECT size, mtime_ms, table_name, records FROM crawled_objects"
        " WHERE crawler = ? AND bucket = ? AND key = ?",
        c->e);
    if (!st) return false;
    for (size_t i = 0; i < c->n_objs; i++) {
        crawl_obj *o = &c->objs[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, c->cfg->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, c->cfg->bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, o->key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) == o->size &&
            sqlite3_column_int64(st, 1) == o->mtime_ms) {
            o->known = true;
            const unsigned char *t = sqlite3_column_text(st, 2);
            o->table = t ? strdup((const char *)t) : NULL;
            o->records = (size_t)sqlite3_column_int64(st, 3);
        }
    }
    sqlite3_finalize(st);
    return true;
}

/* ---- reading ---------------------------------------------------------------------------- */

typedef struct record_sink {
    cat_type **schema;
    size_t records;
    cat_cache_put *put;   /* NULL: not cached */
} record_sink;

static bool on_record(void *arg, json_t *v)
{
    record_sink *s = arg;
    s->records++;
    if (s->put) {
        sp_err e = {0};
        cat_cache_put_record(s->put, v, &e); /* a failed entry is dropped at the end */
    }
    if (!json_is_object(v)) return true; /* only objects make columns */
    cat_type *t = cat_type_of_json(v);
    cat_type_merge(s->schema, t);
    cat_type_destroy(t);
    return true;
}

static size_t group_of(crawl *c, const char *rel)
{
    char folder[1024] = "";
    if (!cat_key_folder(rel, 0, folder, sizeof folder)) folder[0] = '\0';
    for (size_t g = 0; g < c->n_groups; g++)
        if (!strcmp(c->groups[g].folder, folder)) return g;
    c->groups = realloc(c->groups, (c->n_groups + 1) * sizeof *c->groups);
    if (!c->groups) abort();
    crawl_group *g = &c->groups[c->n_groups];
    memset(g, 0, sizeof *g);
    snprintf(g->folder, sizeof g->folder, "%s", folder);
    return c->n_groups++;
}

static bool read_object(crawl *c, crawl_obj *o)
{
    o->reached = true;
    char *path = lake_object_path(c->lk, c->cfg->bucket, o->key);
    if (!path) return true;
    sp_err e = {0};
    struct stat before, after;
    bool stat_ok = stat(path, &before) == 0;
    cat_parquet *pq = cat_parquet_open(path, &e);
    if (pq || sp_err_failed(&e)) {
        /* Parquet: the schema is the footer's; no data page is read. */
        o->group = group_of(c, o->key + strlen(c->prefix));
        crawl_group *g = &c->groups[o->group];
        g->n_objects++;
        if (pq) {
            g->n_parquet++;
            char *schema = cat_parquet_schema(cat_parquet_file(pq));
            cat_type *t = schema ? cat_type_parse(schema) : NULL;
            if (t) cat_type_merge(&g->schema, t);
            else c->rep->records_malformed++;
            cat_type_destroy(t);
            free(schema);
            o->records = (size_t)pq_file_num_rows(cat_parquet_file(pq));
            c->rep->records_read += o->records;
            cat_parquet_close(pq);
        } else {
            c->rep->records_malformed++;  /* a damaged footer: nothing to classify */
        }
        c->rep->objects_read++;
        free(path);
        return true;
    }
    cat_reader *r = cat_reader_open(path, &e);
    if (!r) { /* vanished between listing and reading: nothing to crawl */
        free(path);
        return true;
    }
    cat_cache_put *put = NULL;
    if (c->cache && stat_ok) {
        sp_err ce = {0};
        put = cat_cache_put_begin(c->cache, path, c->cfg->bucket, o->key, c->json_path, &ce);
    }
    o->group = group_of(c, o->key + strlen(c->prefix));
    crawl_group *g = &c->groups[o->group];
    g->n_objects++;
    record_sink sink = {.schema = &g->schema, .put = put};
    json_t *doc;
    int rc;
    while ((rc = cat_reader_next(r, &doc, &e)) == 1) {
        cat_jsonpath_select(c->path, doc, on_record, &sink);
        json_decref(doc);
    }
    c->rep->records_malformed += cat_reader_malformed(r);
    c->compression = cat_reader_compression(r);
    cat_reader_close(r);
    if (put) { /* kept only if the file did not change while it was read */
        sp_err ce = {0};
        bool same = rc == 0 && stat(path, &after) == 0 && after.st_size == before.st_size &&
                    after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
                    after.st_mtim.tv_nsec == before.st_mtim.tv_nsec &&
                    after.st_ino == before.st_ino;
        cat_cache_put_end(put, &before, same, &ce);
    }
    free(path);
    if (rc < 0) {
        *c->e = e;
        sp_err_wrap(c->e, o->key);
        return false;
    }
    o->records = sink.records;
    c->rep->records_read += sink.records;
    c->rep->objects_read++;
    return true;
}

/* ---- tables ----------------------------------------------------------------------------- */

/* The stored columns of a table as a struct type; NULL if the table does not exist. */
static cat_type *stored_schema(crawl *c, const char *table, bool *exists)
{
    sp_err e = {0};
    cat_table *t = cat_table_get(c->cat, c->cfg->database, table, &e);
    *exists = t != NULL;
    if (!t) return NULL;
    sp_str s;
    char buf[512];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    sp_str_puts(&s, "struct<");
    for (size_t i = 0; i < t->n_columns; i++) {
        if (i) sp_str_putc(&s, ',');
        cat_type_render_name(t->columns[i].name, &s);
        sp_str_appendf(&s, ":%s", t->columns[i].type);
    }
    sp_str_putc(&s, '>');
    cat_type *st = cat_type_parse(s.buf);
    sp_str_release(&s);
    cat_table_destroy(t);
    return st;
}

/* Glue's name for a table made from `from` (a folder or bucket/prefix name): TablePrefix
 * followed by the sanitised name, cut at CAT_NAME_MAX. */
static void prefixed_name(const crawl *c, const char *from, char out[CAT_NAME_MAX + 1])
{
    char name[CAT_NAME_MAX + 1];
    cat_name_sanitize(from, name);
    const char *tp = c->rep->table_prefix ? c->rep->table_prefix : "";
    snprintf(out, CAT_NAME_MAX + 1, "%.*s%s", CAT_TABLE_PREFIX_MAX, tp, name);
}

/* Decides which table each group of new objects belongs to. */
static void assign_tables(crawl *c)
{
    bool root_exists;
    cat_type *root = stored_schema(c, c->root_table, &root_exists);
    size_t ref = SIZE_MAX;
    if (!root_exists) {
        for (size_t g = 0; g < c->n_groups; g++)
            if (c->groups[g].schema &&
                (ref == SIZE_MAX || c->groups[g].n_objects > c->groups[ref].n_objects))
                ref = g;
        if (ref != SIZE_MAX) root = cat_type_copy(c->groups[ref].schema);
    }
    for (size_t g = 0; g < c->n_groups; g++) {
        crawl_group *gr = &c->groups[g];
        /* A folder crawled before stays with its table. */
        const char *before = NULL;
        size_t flen = strlen(gr->folder);
        for (size_t i = 0; i < c->n_objs && !before; i++) {
            const char *rel = c->objs[i].key + strlen(c->prefix);
            if (c->objs[i].known && c->objs[i].table && flen && !strncmp(rel, gr->folder, flen) &&
                rel[flen] == '/')
                before = c->objs[i].table;
        }
        if (before)
            snprintf(gr->table, sizeof gr->table, "%s", before);
        else if (!flen || !gr->schema || !root ||
                 cat_type_similarity(gr->schema, root) >= CAT_SIMILARITY_PCT)
            snprintf(gr->table, sizeof gr->table, "%s", c->root_table);
        else
            prefixed_name(c, gr->folder, gr->table);
    }
    cat_type_destroy(root);
}

static const char *table_prefix(crawl *c, const crawl_group *g, char *buf, size_t size)
{
    if (!strcmp(g->table, c->root_table))
        snprintf(buf, size, "%s", c->prefix);
    else if ((size_t)snprintf(buf, size, "%s%s/", c->prefix, g->folder) >= size)
        buf[0] = '\0'; /* cannot happen: lake keys are at most 1024 bytes */
    return buf;
}

/* Parquet when most of the table's objects in this crawl are. */
static bool table_is_parquet(const crawl *c, const char *name)
{
    size_t pq = 0, all = 0;
    for (size_t g = 0; g < c->n_groups; g++)
        if (!strcmp(c->groups[g].table, name)) {
            pq += c->groups[g].n_parquet;
            all += c->groups[g].n_objects;
        }
    return all && pq * 2 > all;
}

static bool write_table(crawl *c, const char *name, const char *prefix, const cat_type *schema,
                        char **pkeys, size_t n_pkeys)
{
    bool parquet = table_is_parquet(c, name);
    json_t *cols = json_array();
    for (size_t i = 0; schema && i < schema->n_fields; i++) {
        char *type = cat_type_name(schema->fields[i]);
        json_array_append_new(cols, json_pack("[s,s]", schema->names[i], type));
        free(type);
    }
    json_t *pk = json_array();
    for (size_t i = 0; i < n_pkeys; i++)
        json_array_append_new(pk, json_pack("[s,s]", pkeys[i], "string"));
    char *cols_s = json_dumps(cols, JSON_COMPACT), *pk_s = json_dumps(pk, JSON_COMPACT);
    json_decref(cols);
    json_decref(pk);
    sqlite3_stmt *st = cat_store_prepare(
        c->cat,
        "INSERT INTO tables(database, name, bucket, prefix, classification, json_path, serde,"
        " columns, partition_keys, parameters, crawler, created_ms, updated_ms)"
        " VALUES (?1, ?2, ?3, ?4, ?11, ?5, ?6, ?7, ?8, '{}', ?9, ?10, ?10)"
        " ON CONFLICT(database, name) DO UPDATE SET columns = ?7, json_path = ?5,"
        " classification = ?11, serde = ?6, updated_ms = ?10",
        c->e);
    bool ok = st != NULL;
    if (ok) {
        sqlite3_bind_text(st, 1, c->cfg->database, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, c->cfg->bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, c->json_path, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, parquet ? CAT_PARQUET_SERDE : SERDE_JSON, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 11, parquet ? "parquet" : "json", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, cols_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, pk_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 9, c->cfg->name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 10, sp_clock_wall_ms());
        ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(c->cat, "write table", c->e);
        sqlite3_finalize(st);
    }
    free(cols_s);
    free(pk_s);
    return ok;
}

/* Creates or updates one table from the groups assigned to it. */
static bool settle_table(crawl *c, const char *name)
{
    cat_type *merged = NULL;
    char prefix[1024] = "";
    for (size_t g = 0; g < c->n_groups; g++) {
        if (strcmp(c->groups[g].table, name)) continue;
        cat_type_merge(&merged, c->groups[g].schema);
        table_prefix(c, &c->groups[g], prefix, sizeof prefix);
    }
    if (!merged || merged->kind != CAT_T_STRUCT || merged->n_fields == 0) {
        cat_type_destroy(merged);
        return true; /* nothing classifiable: Glue makes no table either */
    }
    bool exists;
    cat_type *stored = stored_schema(c, name, &exists);
    bool ok = true;
    if (exists) {
        cat_type *next = cat_type_copy(stored);
        cat_type_merge(&next, merged);
        if (!cat_type_equal(next, stored)) {
            if (!strcmp(c->cfg->schema_change_policy ? c->cfg->schema_change_policy : "", "LOG")) {
                c->rep->schema_changes_logged++;
                sp_warn("crawler %s: schema of %s.%s changed; not applied (policy LOG)",
                        c->cfg->name, c->cfg->database, name);
            } else {
                ok = write_table(c, name, prefix, next, NULL, 0);
                c->rep->tables_updated++;
            }
        }
        cat_type_destroy(next);
    } else {
        /* Partition levels: the shallowest object of the table decides the depth. */
        size_t plen = strlen(prefix), depth = SIZE_MAX, n = 0;
        const char **rel = calloc(c->n_objs + 1, sizeof *rel);
        if (!rel) abort();
        for (size_t i = 0; i < c->n_objs; i++) {
            crawl_obj *o = &c->objs[i];
            if (o->known || strcmp(c->groups[o->group].table, name)) continue;
            if (strncmp(o->key, prefix, plen)) continue;
            rel[n++] = o->key + plen;
            size_t d = cat_key_depth(o->key + plen);
            if (d < depth) depth = d;
        }
        if (depth == SIZE_MAX) depth = 0;
        char **pkeys = calloc(depth + 1, sizeof *pkeys);
        if (!pkeys) abort();
        cat_partition_names(rel, n, depth, pkeys);
        ok = write_table(c, name, prefix, merged, pkeys, depth);
        for (size_t i = 0; i < depth; i++) free(pkeys[i]);
        free(pkeys);
        free(rel);
        c->rep->tables_created++;
    }
    cat_type_destroy(stored);
    cat_type_destroy(merged);
    return ok;
}

/* ---- partitions and bookkeeping --------------------------------------------------------- */

static bool add_partitions_and_objects(crawl *c)
{
    sqlite3_stmt *part = cat_store_prepare(
        c->cat,
        "INSERT OR IGNORE INTO partitions(database, table_name, vals, prefix, created_ms)"
        " VALUES (?, ?, ?, ?, ?)",
        c->e);
    sqlite3_stmt *obj = cat_store_prepare(
        c->cat,
        "INSERT OR REPLACE INTO crawled_objects(crawler, bucket, key, size, mtime_ms, database,"
        " table_name, records) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        c->e);
    bool ok = part && obj;
    cat_table *t = NULL;
    for (size_t i = 0; ok && i < c->n_objs; i++) {
        crawl_obj *o = &c->objs[i];
        if (o->known) continue;
        const char *tname = c->groups[o->group].table;
        sp_err e = {0};
        if (!t || strcmp(t->name, tname)) {
            cat_table_destroy(t);
            t = cat_table_get(c->cat, c->cfg->database, tname, &e);
        }
        if (t && !strncmp(o->key, t->prefix, strlen(t->prefix))) {
            o->table = strdup(tname);
            const char *rel = o->key + strlen(t->prefix);
            if (t->n_partition_keys && cat_key_depth(rel) >= t->n_partition_keys) {
                json_t *vals = json_array();
                sp_str pfx;
                char buf[512];
                sp_str_init(&pfx, buf, sizeof buf, SP_STR_NO_MAX);
                sp_str_puts(&pfx, t->prefix);
                for (size_t k = 0; k < t->n_partition_keys; k++) {
                    char folder[1024], value[1024];
                    cat_key_folder(rel, k, folder, sizeof folder);
                    cat_partition_value(folder, t->partition_keys[k].name, value, sizeof value);
                    json_array_append_new(vals, json_string(value));
                    sp_str_appendf(&pfx, "%s/", folder);
                }
                char *vals_s = json_dumps(vals, JSON_COMPACT);
                sqlite3_reset(part);
                sqlite3_bind_text(part, 1, c->cfg->database, -1, SQLITE_STATIC);
                sqlite3_bind_text(part, 2, tname, -1, SQLITE_STATIC);
                sqlite3_bind_text(part, 3, vals_s, -1, SQLITE_STATIC);
                sqlite3_bind_text(part, 4, pfx.buf, -1, SQLITE_STATIC);
                sqlite3_bind_int64(part, 5, sp_clock_wall_ms());
                ok = sqlite3_step(part) == SQLITE_DONE || cat_store_fail(c->cat, "partition", c->e);
                if (ok && sqlite3_changes(c->cat->db) > 0) c->rep->partitions_added++;
                free(vals_s);
                json_decref(vals);
                sp_str_release(&pfx);
            }
        }
        sqlite3_reset(obj);
        sqlite3_bind_text(obj, 1, c->cfg->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(obj, 2, c->cfg->bucket, -1, SQLITE_STATIC);
        sqlite3_bind_text(obj, 3, o->key, -1, SQLITE_STATIC);
        sqlite3_bind_int64(obj, 4, o->size);
        sqlite3_bind_int64(obj, 5, o->mtime_ms);
        sqlite3_bind_text(obj, 6, c->cfg->database, -1, SQLITE_STATIC);
        sqlite3_bind_text(obj, 7, o->table, -1, SQLITE_STATIC);
        sqlite3_bind_int64(obj, 8, (sqlite3_int64)o->records);
        if (ok) ok = sqlite3_step(obj) == SQLITE_DONE || cat_store_fail(c->cat, "object", c->e);
    }
    cat_table_destroy(t);
    sqlite3_finalize(part);
    sqlite3_finalize(obj);
    return ok;
}

/* Recomputes the table parameters Glue keeps from the objects the crawler has read. */
static bool update_parameters(crawl *c, const char *table)
{
    sqlite3_stmt *st = cat_store_prepare(
        c->cat,
        "SELECT count(*), coalesce(sum(records), 0), coalesce(sum(size), 0) FROM crawled_objects"
        " WHERE crawler = ? AND database = ? AND table_name = ?",
        c->e);
    if (!st) return false;
    sqlite3_bind_text(st, 1, c->cfg->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->cfg->database, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, table, -1, SQLITE_STATIC);
    long long objects = 0, records = 0, bytes = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        objects = sqlite3_column_int64(st, 0);
        records = sqlite3_column_int64(st, 1);
        bytes = sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    char n_obj[32], n_rec[32], n_bytes[32], avg[32];
    snprintf(n_obj, sizeof n_obj, "%lld", objects);
    snprintf(n_rec, sizeof n_rec, "%lld", records);
    snprintf(n_bytes, sizeof n_bytes, "%lld", bytes);
    snprintf(avg, sizeof avg, "%lld", records ? bytes / records : 0);
    sp_err te = {0};
    cat_table *stored = cat_table_get(c->cat, c->cfg->database, table, &te);
    bool parquet = stored && stored->classification &&
                   !strcmp(stored->classification, "parquet");
    cat_table_destroy(stored);
    json_t *p = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "classification",
        parquet ? "parquet" : "json",
        "compressionType", c->compression ? c->compression : "none", "typeOfData", "file",
        "recordCount", n_rec, "objectCount", n_obj, "sizeKey", n_bytes, "averageRecordSize", avg,
        "CrawlerSchemaSerializerVersion", SCHEMA_SERIALIZER_VERSION,
        "CrawlerSchemaDeserializerVersion", SCHEMA_SERIALIZER_VERSION, "UPDATED_BY_CRAWLER",
        c->cfg->name, "jsonPath", c->json_path, "EXTERNAL", "TRUE");
    char *ps = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(p);
    st = cat_store_prepare(c->cat,
                           "UPDATE tables SET parameters = ?1, updated_ms = ?2"
                           " WHERE database = ?3 AND name = ?4",
                           c->e);
    bool ok = st != NULL;
    if (ok) {
        sqlite3_bind_text(st, 1, ps, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, sp_clock_wall_ms());
        sqlite3_bind_text(st, 3, c->cfg->database, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, table, -1, SQLITE_STATIC);
        ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(c->cat, "parameters", c->e);
        sqlite3_finalize(st);
    }
    free(ps);
    return ok;
}

static bool record_run(crawl *c, int64_t started, const char *status, const char *error)
{
    sqlite3_stmt *st = cat_store_prepare(
        c->cat,
        "INSERT INTO crawler_runs(crawler, status, started_ms, finished_ms, tables_created,"
        " tables_updated, partitions_added, objects_read, objects_skipped, error)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        c->e);
    if (!st) return false;
    const cat_crawl_report *r = c->rep;
    sqlite3_bind_text(st, 1, c->cfg->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, started);
    sqlite3_bind_int64(st, 4, sp_clock_wall_ms());
    sqlite3_bind_int64(st, 5, (sqlite3_int64)r->tables_created);
    sqlite3_bind_int64(st, 6, (sqlite3_int64)r->tables_updated);
    sqlite3_bind_int64(st, 7, (sqlite3_int64)r->partitions_added);
    sqlite3_bind_int64(st, 8, (sqlite3_int64)r->objects_read);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)r->objects_skipped);
    sqlite3_bind_text(st, 10, error, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(c->cat, "run", c->e);
    sqlite3_finalize(st);
    return ok;
}

/* ---- the run ---------------------------------------------------------------------------- */

static bool crawl_run(crawl *c)
{
    sp_err e = {0};
    if (!lake_object_list(c->lk, c->cfg->bucket, c->prefix, on_object, c, &e)) {
        if (strcmp(e.code, "NoSuchBucket")) {
            *c->e = e;
            return false;
        }
    }
    if (!mark_known(c)) return false;
    if (c->cache) {
        sp_err ce = {0};
        cat_cache_prune(c->cache, c->cfg->bucket, c->prefix, &ce); /* a stale entry never matches */
    }
    size_t total = 0, done = 0;
    for (size_t i = 0; i < c->n_objs; i++) total += !c->objs[i].known;
    for (size_t i = 0; i < c->n_objs; i++) {
        if (c->objs[i].known) {
            c->rep->objects_skipped++;
            continue;
        }
        if (c->rep->stop && c->rep->stop(c->rep->stop_arg)) {
            c->rep->stopped = true;
            break;
        }
        if (!read_object(c, &c->objs[i])) return false;
        if (c->rep->progress) c->rep->progress(c->rep->progress_arg, ++done, total);
    }
    if (c->rep->stopped) {
        /* Objects the run did not reach are left for the next run: they are not recorded
         * as crawled, so everything kept stays consistent with what was read. */
        size_t kept = 0;
        for (size_t i = 0; i < c->n_objs; i++) {
            crawl_obj *o = &c->objs[i];
            if (o->known || o->reached) {
                c->objs[kept++] = *o;
            } else {
                free(o->key);
                free(o->table);
            }
        }
        c->n_objs = kept;
    }
    /* Objects that vanished before reading still need a group for bookkeeping. */
    for (size_t i = 0; i < c->n_objs; i++)
        if (!c->objs[i].known && c->n_groups == 0) group_of(c, "");
    assign_tables(c);
    for (size_t g = 0; g < c->n_groups; g++) {
        bool seen = false;
        for (size_t h = 0; h < g; h++) seen |= !strcmp(c->groups[h].table, c->groups[g].table);
        if (!seen && !settle_table(c, c->groups[g].table))
            return false;
    }
    if (!add_partitions_and_objects(c)) return false;
    for (size_t g = 0; g < c->n_groups; g++) {
        bool seen = false;
        for (size_t h = 0; h < g; h++) seen |= !strcmp(c->groups[h].table, c->groups[g].table);
        if (seen) continue;
        bool exists;
        cat_type_destroy(stored_schema(c, c->groups[g].table, &exists));
        if (!exists) continue;
        if (!update_parameters(c, c->groups[g].table)) return false;
        char full[2 * CAT_NAME_MAX + 2];
        snprintf(full, sizeof full, "%s.%s", c->cfg->database, c->groups[g].table);
        json_array_append_new(c->rep->tables, json_string(full));
    }
    return true;
}

bool cat_crawl(cat_catalog *cat, lake *lk, const sp_cfg_crawler *cfg,
               const sp_cfg_classifier *classifier, cat_crawl_report *report, sp_err *e)
{
    uint64_t t0 = sp_clock_mono_ns();
    int64_t started = sp_clock_wall_ms();
    cat_crawl_report in = *report;
    memset(report, 0, sizeof *report);
    report->progress = in.progress;
    report->progress_arg = in.progress_arg;
    report->stop = in.stop;
    report->stop_arg = in.stop_arg;
    report->exclusions = in.exclusions;
    report->n_exclusions = in.n_exclusions;
    report->table_prefix = in.table_prefix;
    report->tables = json_array();
    const char *json_path = classifier && classifier->json_path ? classifier->json_path : "$";
    /* the classifier path is kept with the table: the query stage selects records with it */
    crawl c = {.cat = cat, .lk = lk, .cfg = cfg, .rep = report, .e = e, .json_path = json_path};
    c.path = cat_jsonpath_compile(json_path, e);
    if (!c.path) return false;
    const char *p = cfg->path ? cfg->path : "";
    while (*p == '/') p++;
    size_t plen = strlen(p);
    if (plen >= sizeof c.prefix - 1) {
        cat_jsonpath_destroy(c.path);
        sp_err_invalid(e, "crawler %s: path too long", cfg->name);
        return false;
    }
    snprintf(c.prefix, sizeof c.prefix, "%s%s", p, plen && p[plen - 1] != '/' ? "/" : "");
    if (plen) {
        char last[1024];
        snprintf(last, sizeof last, "%s", c.prefix);
        last[strlen(last) - 1] = '\0';
        const char *slash = strrchr(last, '/');
        prefixed_name(&c, slash ? slash + 1 : last, c.root_table);
    } else {
        prefixed_name(&c, cfg->bucket, c.root_table);
    }
    /* The query cache is an optimisation: a crawl without it is still a full crawl. */
    char *cache_path = cat_cache_path(cat);
    sp_err ce = {0};
    c.cache = cat_cache_open(cache_path, true, &ce);
    free(cache_path);
    if (c.cache && !cat_cache_begin(c.cache, &ce)) {
        cat_cache_close(c.cache);
        c.cache = NULL;
    }
    bool ok = cat_store_exec(cat, "BEGIN IMMEDIATE", e);
    if (ok) {
        sqlite3_stmt *st = cat_store_prepare(
            cat, "INSERT OR IGNORE INTO databases(name, created_ms) VALUES (?, ?)", e);
        ok = st != NULL;
        if (ok) {
            sqlite3_bind_text(st, 1, cfg->database, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, started);
            ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "database", e);
            sqlite3_finalize(st);
        }
        ok = ok && crawl_run(&c);
        report->seconds = (double)(sp_clock_mono_ns() - t0) / 1e9;
        ok = ok && record_run(&c, started, report->stopped ? "CANCELLED" : "SUCCEEDED", NULL);
        if (ok) {
            ok = cat_store_exec(cat, "COMMIT", e);
        } else {
            sp_err dummy = {0};
            cat_store_exec(cat, "ROLLBACK", &dummy);
            /* the failure itself is remembered, outside the rolled-back transaction */
            if (cat_store_exec(cat, "BEGIN", &dummy)) {
                c.e = &dummy;
                if (record_run(&c, started, "FAILED", e->msg))
                    cat_store_exec(cat, "COMMIT", &dummy);
                else
                    cat_store_exec(cat, "ROLLBACK", &dummy);
            }
        }
    }
    if (c.cache) {
        if (!ok || !cat_cache_commit(c.cache, &ce)) cat_cache_rollback(c.cache);
        cat_cache_close(c.cache);
    }
    for (size_t i = 0; i < c.n_objs; i++) {
        free(c.objs[i].key);
        free(c.objs[i].table);
    }
    free(c.objs);
    for (size_t g = 0; g < c.n_groups; g++) cat_type_destroy(c.groups[g].schema);
    free(c.groups);
    cat_jsonpath_destroy(c.path);
    return ok;
}

void cat_crawl_report_clear(cat_crawl_report *report)
{
    json_decref(report->tables);
    report->tables = NULL;
}
