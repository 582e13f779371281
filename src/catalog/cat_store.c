/* The Data Catalog in SQLite: databases, tables, partitions, the objects a crawler has
 * read (for incremental recrawls) and crawler runs. Columns and parameters are kept as
 * JSON text, the shapes Glue's API returns them in. */
#include "core/fs.h"
#include "cat_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A writer (a crawl) holds the lock for one transaction; readers wait this long. */
enum { CAT_BUSY_TIMEOUT_MS = 10000 };

static const char SCHEMA[] =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE IF NOT EXISTS databases("
    "  name TEXT PRIMARY KEY, created_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS tables("
    "  database TEXT NOT NULL, name TEXT NOT NULL, bucket TEXT NOT NULL, prefix TEXT NOT NULL,"
    "  classification TEXT NOT NULL, json_path TEXT NOT NULL, serde TEXT NOT NULL,"
    "  columns TEXT NOT NULL, partition_keys TEXT NOT NULL, parameters TEXT NOT NULL,"
    "  crawler TEXT, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(database, name));"
    "CREATE TABLE IF NOT EXISTS partitions("
    "  database TEXT NOT NULL, table_name TEXT NOT NULL, vals TEXT NOT NULL,"
    "  prefix TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY(database, table_name, prefix));"
    "CREATE TABLE IF NOT EXISTS crawled_objects("
    "  crawler TEXT NOT NULL, bucket TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,"
    "  mtime_ms INTEGER NOT NULL, database TEXT, table_name TEXT, records INTEGER NOT NULL,"
    "  PRIMARY KEY(crawler, bucket, key));"
    "CREATE TABLE IF NOT EXISTS crawler_runs("
    "  id INTEGER PRIMARY KEY, crawler TEXT NOT NULL, status TEXT NOT NULL,"
    "  started_ms INTEGER NOT NULL, finished_ms INTEGER NOT NULL, tables_created INTEGER,"
    "  tables_updated INTEGER, partitions_added INTEGER, objects_read INTEGER,"
    "  objects_skipped INTEGER, error TEXT);"
    /* The API's input for hand-made tables and partitions (CreateTable, CreatePartition),
     * kept whole so GetTable/GetPartition answer with what was given. */
    "CREATE TABLE IF NOT EXISTS table_inputs("
    "  database TEXT NOT NULL, name TEXT NOT NULL, input TEXT NOT NULL,"
    "  version INTEGER NOT NULL, PRIMARY KEY(database, name));"
    "CREATE TABLE IF NOT EXISTS partition_inputs("
    "  database TEXT NOT NULL, table_name TEXT NOT NULL, vals TEXT NOT NULL,"
    "  input TEXT NOT NULL, PRIMARY KEY(database, table_name, vals));";

bool cat_store_fail(cat_catalog *cat, const char *what, sp_err *e)
{
    sp_err_internal(e, "catalog %s: %s", what, sqlite3_errmsg(cat->db));
    return false;
}

bool cat_store_exec(cat_catalog *cat, const char *sql, sp_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(cat->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sp_err_internal(e, "catalog: %s (in '%.60s')", msg ? msg : "error", sql);
        sqlite3_free(msg);
        return false;
    }
    return true;
}

sqlite3_stmt *cat_store_prepare(cat_catalog *cat, const char *sql, sp_err *e)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(cat->db, sql, -1, &st, NULL) != SQLITE_OK) {
        cat_store_fail(cat, "prepare", e);
        return NULL;
    }
    return st;
}

cat_catalog *cat_catalog_open(const char *dir, sp_err *e)
{
    if (!sp_fs_mkdirs(dir, e)) return NULL;
    cat_catalog *cat = calloc(1, sizeof *cat);
    if (!cat) abort();
    size_t n = strlen(dir) + sizeof "/catalog.db";
    cat->path = malloc(n);
    if (!cat->path) abort();
    snprintf(cat->path, n, "%s/catalog.db", dir);
    if (sqlite3_open_v2(cat->path, &cat->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sp_err_internal(e, "cannot open catalog '%s': %s", cat->path,
                        cat->db ? sqlite3_errmsg(cat->db) : "out of memory");
        cat_catalog_close(cat);
        return NULL;
    }
    sqlite3_busy_timeout(cat->db, CAT_BUSY_TIMEOUT_MS);
    if (!cat_store_exec(cat, SCHEMA, e)) {
        cat_catalog_close(cat);
        return NULL;
    }
    return cat;
}

void cat_catalog_close(cat_catalog *cat)
{
    if (!cat) return;
    sqlite3_close(cat->db);
    free(cat->path);
    free(cat);
}

/* ---- columns as JSON -------------------------------------------------------------------- */

json_t *cat_columns_to_json(const cat_column *cols, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("[s,s]", cols[i].name, cols[i].type));
    return a;
}

bool cat_columns_from_json(const char *text, cat_column **cols, size_t *n)
{
    *cols = NULL;
    *n = 0;
    json_t *a = json_loads(text, 0, NULL);
    if (!json_is_array(a)) {
        json_decref(a);
        return false;
    }
    *cols = calloc(json_array_size(a) + 1, sizeof **cols);
    if (!*cols) abort();
    size_t i;
    json_t *x;
    json_array_foreach(a, i, x) {
        const char *name = json_string_value(json_array_get(x, 0));
        const char *type = json_string_value(json_array_get(x, 1));
        if (!name || !type) {
            cat_columns_free(*cols, *n);
            *cols = NULL;
            *n = 0;
            json_decref(a);
            return false;
        }
        (*cols)[i].name = strdup(name);
        (*cols)[i].type = strdup(type);
        (*n)++;
    }
    json_decref(a);
    return true;
}

void cat_columns_free(cat_column *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(cols[i].name);
        free(cols[i].type);
    }
    free(cols);
}

/* ---- reading the catalog ---------------------------------------------------------------- */

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return strdup(t ? (const char *)t : "");
}

cat_table *cat_table_get(cat_catalog *cat, const char *database, const char *name, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT bucket, prefix, classification, json_path, serde, columns, partition_keys,"
        " parameters, created_ms, updated_ms FROM tables WHERE database = ? AND name = ?",
        e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            sp_err_set(e, 400, "EntityNotFoundException", "Table %s.%s not found", database, name);
        else
            cat_store_fail(cat, "read table", e);
        sqlite3_finalize(st);
        return NULL;
    }
    cat_table *t = calloc(1, sizeof *t);
    if (!t) abort();
    t->database = strdup(database);
    t->name = strdup(name);
    t->bucket = col_dup(st, 0);
    t->prefix = col_dup(st, 1);
    t->classification = col_dup(st, 2);
    t->json_path = col_dup(st, 3);
    t->serde = col_dup(st, 4);
    bool ok = cat_columns_from_json((const char *)sqlite3_column_text(st, 5), &t->columns,
                                    &t->n_columns) &&
              cat_columns_from_json((const char *)sqlite3_column_text(st, 6), &t->partition_keys,
                                    &t->n_partition_keys);
    t->parameters = json_loads((const char *)sqlite3_column_text(st, 7), 0, NULL);
    t->created_ms = sqlite3_column_int64(st, 8);
    t->updated_ms = sqlite3_column_int64(st, 9);
    sqlite3_finalize(st);
    if (!ok || !json_is_object(t->parameters)) {
        sp_err_internal(e, "catalog: table %s.%s is damaged", database, name);
        cat_table_destroy(t);
        return NULL;
    }
    size_t n = strlen(t->bucket) + strlen(t->prefix) + sizeof "s3:///";
    t->location = malloc(n);
    if (!t->location) abort();
    snprintf(t->location, n, "s3://%s/%s", t->bucket, t->prefix);
    return t;
}

void cat_table_destroy(cat_table *t)
{
    if (!t) return;
    free(t->database);
    free(t->name);
    free(t->bucket);
    free(t->prefix);
    free(t->location);
    free(t->classification);
    free(t->json_path);
    free(t->serde);
    cat_columns_free(t->columns, t->n_columns);
    cat_columns_free(t->partition_keys, t->n_partition_keys);
    json_decref(t->parameters);
    free(t);
}

static json_t *names_of(cat_catalog *cat, const char *sql, const char *arg, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(cat, sql, e);
    if (!st) return NULL;
    if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(a, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        cat_store_fail(cat, "list", e);
        return NULL;
    }
    return a;
}

json_t *cat_database_list(cat_catalog *cat, sp_err *e)
{
    return names_of(cat, "SELECT name FROM databases ORDER BY name", NULL, e);
}

json_t *cat_table_list(cat_catalog *cat, const char *database, sp_err *e)
{
    return names_of(cat, "SELECT name FROM tables WHERE database = ? ORDER BY name", database, e);
}

bool cat_partition_foreach(cat_catalog *cat, const char *database, const char *table,
                           cat_partition_fn fn, void *arg, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT p.vals, p.prefix, t.bucket, p.created_ms, i.input FROM partitions p JOIN tables t"
        " ON t.database = p.database AND t.name = p.table_name"
        " LEFT JOIN partition_inputs i ON i.database = p.database"
        " AND i.table_name = p.table_name AND i.vals = p.vals"
        " WHERE p.database = ? AND p.table_name = ? ORDER BY p.prefix",
        e);
    if (!st) return false;
    sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
    int rc;
    bool go_on = true;
    while (go_on && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *vals = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        const char *prefix = (const char *)sqlite3_column_text(st, 1);
        const char *bucket = (const char *)sqlite3_column_text(st, 2);
        size_t n = json_array_size(vals);
        const char **v = calloc(n + 1, sizeof *v);
        if (!v) abort();
        for (size_t i = 0; i < n; i++) {
            v[i] = json_string_value(json_array_get(vals, i));
            if (!v[i]) v[i] = "";
        }
        char location[2048];
        snprintf(location, sizeof location, "s3://%s/%s", bucket, prefix);
        const char *input_s = (const char *)sqlite3_column_text(st, 4);
        json_t *input = input_s ? json_loads(input_s, 0, NULL) : NULL;
        cat_partition p = {.values = v, .n_values = n, .prefix = prefix, .location = location,
                           .created_ms = sqlite3_column_int64(st, 3), .input = input};
        go_on = fn(arg, &p);
        json_decref(input);
        free(v);
        json_decref(vals);
    }
    if (go_on && rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return cat_store_fail(cat, "list partitions", e);
    }
    sqlite3_finalize(st);
    return true;
}

json_t *cat_crawler_last_run(cat_catalog *cat, const char *crawler, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT status, started_ms, finished_ms, tables_created, tables_updated,"
        " partitions_added, objects_read, objects_skipped, error FROM crawler_runs"
        " WHERE crawler = ? ORDER BY id DESC LIMIT 1",
        e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, crawler, -1, SQLITE_STATIC);
    json_t *r = NULL;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *err = sqlite3_column_text(st, 8);
        r = json_pack("{s:s, s:{s:s, s:I, s:I, s:s?}, s:{s:I, s:I, s:I, s:I, s:I}}", "State",
                      "READY", "LastCrawl", "Status", sqlite3_column_text(st, 0), "StartTime",
                      (json_int_t)sqlite3_column_int64(st, 1), "EndTime",
                      (json_int_t)sqlite3_column_int64(st, 2), "ErrorMessage", (const char *)err,
                      "Counts", "TablesCreated", (json_int_t)sqlite3_column_int64(st, 3),
                      "TablesUpdated", (json_int_t)sqlite3_column_int64(st, 4), "PartitionsAdded",
                      (json_int_t)sqlite3_column_int64(st, 5), "ObjectsRead",
                      (json_int_t)sqlite3_column_int64(st, 6), "ObjectsSkipped",
                      (json_int_t)sqlite3_column_int64(st, 7));
    }
    sqlite3_finalize(st);
    return r;
}
