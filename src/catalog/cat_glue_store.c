/* What the Glue API adds to the catalog file: databases created by CreateDatabase (with
 * the DatabaseInput they were given) and the crawler and classifier definitions made
 * through the API, kept as the JSON the API received so they survive restarts. The tables
 * for them are created on first use, so catalogs written before the API existed open
 * unchanged. */
#include "cat_int.h"

#include <stdlib.h>
#include <string.h>

static const char GLUE_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS database_inputs("
    "  name TEXT PRIMARY KEY, input TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS definitions("
    "  kind TEXT NOT NULL, name TEXT NOT NULL, body TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL, version INTEGER NOT NULL,"
    "  PRIMARY KEY(kind, name));";

static bool ensure_schema(cat_catalog *cat, sp_err *e)
{
    return cat_store_exec(cat, GLUE_SCHEMA, e);
}

cat_catalog *cat_catalog_reopen(const cat_catalog *cat, sp_err *e)
{
    /* cat->path is "<dir>/catalog.db" */
    char dir[4096];
    const char *slash = strrchr(cat->path, '/');
    size_t n = slash ? (size_t)(slash - cat->path) : 0;
    if (n >= sizeof dir) {
        sp_err_internal(e, "catalog path too long");
        return NULL;
    }
    memcpy(dir, cat->path, n);
    dir[n] = '\0';
    return cat_catalog_open(n ? dir : ".", e);
}

/* ---- databases -------------------------------------------------------------------------- */

bool cat_database_create(cat_catalog *cat, const char *name, const json_t *input, sp_err *e)
{
    if (!ensure_schema(cat, e) || !cat_store_exec(cat, "BEGIN IMMEDIATE", e)) return false;
    sqlite3_stmt *st = cat_store_prepare(
        cat, "INSERT OR IGNORE INTO databases(name, created_ms) VALUES (?, ?)", e);
    bool ok = st != NULL;
    if (ok) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, sp_clock_wall_ms());
        ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "create database", e);
        if (ok && sqlite3_changes(cat->db) == 0) {
            sp_err_set(e, 400, "AlreadyExistsException", "Database %s already exists.", name);
            ok = false;
        }
        sqlite3_finalize(st);
    }
    if (ok && input) {
        char *text = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
        st = cat_store_prepare(cat, "INSERT OR REPLACE INTO database_inputs VALUES (?, ?)", e);
        ok = st != NULL;
        if (ok) {
            sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "database input", e);
            sqlite3_finalize(st);
        }
        free(text);
    }
    sp_err ignored = {0};
    if (!ok) {
        cat_store_exec(cat, "ROLLBACK", &ignored);
        return false;
    }
    return cat_store_exec(cat, "COMMIT", e);
}

json_t *cat_database_get(cat_catalog *cat, const char *name, sp_err *e)
{
    if (!ensure_schema(cat, e)) return NULL;
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT d.created_ms, i.input FROM databases d LEFT JOIN database_inputs i"
        " ON i.name = d.name WHERE d.name = ?",
        e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    json_t *r = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *input = (const char *)sqlite3_column_text(st, 1);
        json_t *in = input ? json_loads(input, 0, NULL) : NULL;
        r = json_pack("{s:s, s:I, s:o}", "Name", name, "CreateTimeMs",
                      (json_int_t)sqlite3_column_int64(st, 0), "Input", in ? in : json_null());
    } else if (rc == SQLITE_DONE) {
        sp_err_set(e, 400, "EntityNotFoundException", "Database %s not found.", name);
    } else {
        cat_store_fail(cat, "read database", e);
    }
    sqlite3_finalize(st);
    return r;
}

/* ---- definitions ------------------------------------------------------------------------ */

static json_t *definition_row(sqlite3_stmt *st)
{
    json_t *body = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
    return json_pack("{s:s, s:o, s:I, s:I, s:I}", "Name", sqlite3_column_text(st, 0), "Body",
                     body ? body : json_object(), "CreatedMs",
                     (json_int_t)sqlite3_column_int64(st, 2), "UpdatedMs",
                     (json_int_t)sqlite3_column_int64(st, 3), "Version",
                     (json_int_t)sqlite3_column_int64(st, 4));
}

static void not_found(const char *kind, const char *name, sp_err *e)
{
    sp_err_set(e, 400, "EntityNotFoundException", "%c%s %s not found", kind[0] - 'a' + 'A',
               kind + 1, name);
}

bool cat_definition_create(cat_catalog *cat, const char *kind, const char *name,
                           const json_t *body, sp_err *e)
{
    if (!ensure_schema(cat, e)) return false;
    sqlite3_stmt *st = cat_store_prepare(
        cat, "INSERT OR IGNORE INTO definitions VALUES (?1, ?2, ?3, ?4, ?4, 1)", e);
    if (!st) return false;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, sp_clock_wall_ms());
    bool ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "create definition", e);
    if (ok && sqlite3_changes(cat->db) == 0) {
        sp_err_set(e, 400, "AlreadyExistsException", "%c%s %s already exists.",
                   kind[0] - 'a' + 'A', kind + 1, name);
        ok = false;
    }
    sqlite3_finalize(st);
    free(text);
    return ok;
}

json_t *cat_definition_get(cat_catalog *cat, const char *kind, const char *name, sp_err *e)
{
    if (!ensure_schema(cat, e)) return NULL;
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT name, body, created_ms, updated_ms, version FROM definitions"
        " WHERE kind = ? AND name = ?",
        e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    json_t *r = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        r = definition_row(st);
    else if (rc == SQLITE_DONE)
        not_found(kind, name, e);
    else
        cat_store_fail(cat, "read definition", e);
    sqlite3_finalize(st);
    return r;
}

json_t *cat_definition_list(cat_catalog *cat, const char *kind, sp_err *e)
{
    if (!ensure_schema(cat, e)) return NULL;
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT name, body, created_ms, updated_ms, version FROM definitions"
        " WHERE kind = ? ORDER BY name",
        e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    json_t *a = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) json_array_append_new(a, definition_row(st));
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        json_decref(a);
        cat_store_fail(cat, "list definitions", e);
        return NULL;
    }
    return a;
}

bool cat_definition_delete(cat_catalog *cat, const char *kind, const char *name, sp_err *e)
{
    if (!ensure_schema(cat, e)) return false;
    sqlite3_stmt *st =
        cat_store_prepare(cat, "DELETE FROM definitions WHERE kind = ? AND name = ?", e);
    if (!st) return false;
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "delete definition", e);
    if (ok && sqlite3_changes(cat->db) == 0) {
        not_found(kind, name, e);
        ok = false;
    }
    sqlite3_finalize(st);
    return ok;
}

bool cat_definition_update(cat_catalog *cat, const char *kind, const char *name,
                           const json_t *body, sp_err *e)
{
    if (!ensure_schema(cat, e)) return false;
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "UPDATE definitions SET body = ?3, updated_ms = ?4, version = version + 1"
        " WHERE kind = ?1 AND name = ?2",
        e);
    if (!st) return false;
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, sp_clock_wall_ms());
    bool ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "update definition", e);
    if (ok && sqlite3_changes(cat->db) == 0) {
        not_found(kind, name, e);
        ok = false;
    }
    sqlite3_finalize(st);
    free(text);
    return ok;
}
