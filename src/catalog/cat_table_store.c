/* What the Glue API changes in the catalog beside the crawler: hand-made tables and
 * partitions (CreateTable, UpdateTable, CreatePartition, ...) stored in the same tables the
 * crawler writes, so GetTables, the DDL and the query stage see them as they see crawled
 * ones, with the API's input kept beside them; and the removal of databases, tables and
 * partitions. Every change is one transaction. Removing a table also forgets which of its
 * objects a crawler has read, so the next crawl of that location makes it again, as Glue's
 * crawler recreates a deleted table. */
#include "cat_int.h"

#include <stdlib.h>
#include <string.h>

static bool begin(cat_catalog *cat, sp_err *e) { return cat_store_exec(cat, "BEGIN IMMEDIATE", e); }

static bool end(cat_catalog *cat, bool ok, sp_err *e)
{
    if (ok) return cat_store_exec(cat, "COMMIT", e);
    sp_err ignored = {0};
    cat_store_exec(cat, "ROLLBACK", &ignored);
    return false;
}

/* Runs sql with up to three text parameters (NULL: not bound); *changes gets the rows
 * changed. */
static bool run(cat_catalog *cat, const char *sql, const char *a, const char *b, const char *c,
                int *changes, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(cat, sql, e);
    if (!st) return false;
    const char *args[] = {a, b, c};
    for (int i = 0; i < 3; i++)
        if (args[i]) sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_STATIC);
    bool ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "change", e);
    if (changes) *changes = sqlite3_changes(cat->db);
    sqlite3_finalize(st);
    return ok;
}

/* ---- databases -------------------------------------------------------------------------- */

bool cat_database_update(cat_catalog *cat, const char *name, const json_t *input, sp_err *e)
{
    json_t *have = cat_database_get(cat, name, e);
    if (!have) return false;
    json_decref(have);
    char *text = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
    bool ok = begin(cat, e) &&
              end(cat,
                  run(cat, "INSERT OR REPLACE INTO database_inputs VALUES (?, ?)", name, text,
                      NULL, NULL, e),
                  e);
    free(text);
    return ok;
}

bool cat_database_delete(cat_catalog *cat, const char *name, sp_err *e)
{
    json_t *have = cat_database_get(cat, name, e);
    if (!have) return false;
    json_decref(have);
    static const char *const sql[] = {
        "DELETE FROM partition_inputs WHERE database = ?",
        "DELETE FROM partitions WHERE database = ?",
        "DELETE FROM table_inputs WHERE database = ?",
        "DELETE FROM tables WHERE database = ?",
        "DELETE FROM crawled_objects WHERE database = ?",
        "DELETE FROM database_inputs WHERE name = ?",
        "DELETE FROM databases WHERE name = ?",
    };
    bool ok = begin(cat, e);
    for (size_t i = 0; ok && i < SP_ARRAY_LEN(sql); i++) ok = run(cat, sql[i], name, NULL, NULL, NULL, e);
    return end(cat, ok, e);
}

/* ---- tables ----------------------------------------------------------------------------- */

bool cat_table_put(cat_catalog *cat, const cat_table *t, const json_t *input, bool create,
                   sp_err *e)
{
    if (!begin(cat, e)) return false;
    sqlite3_stmt *st = cat_store_prepare(
        cat, "SELECT 1 FROM tables WHERE database = ? AND name = ?", e);
    bool ok = st != NULL, exists = false;
    if (ok) {
        sqlite3_bind_text(st, 1, t->database, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
        exists = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    if (ok && create && exists) {
        sp_err_set(e, 400, "AlreadyExistsException", "Table %s already exists.", t->name);
        ok = false;
    } else if (ok && !create && !exists) {
        sp_err_set(e, 400, "EntityNotFoundException", "Table %s not found.", t->name);
        ok = false;
    }
    json_t *cols = cat_columns_to_json(t->columns, t->n_columns);
    json_t *pk = cat_columns_to_json(t->partition_keys, t->n_partition_keys);
    char *cols_s = json_dumps(cols, JSON_COMPACT), *pk_s = json_dumps(pk, JSON_COMPACT);
    char *params_s = json_dumps(t->parameters, JSON_COMPACT | JSON_SORT_KEYS);
    char *input_s = json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(cols);
    json_decref(pk);
    int64_t now = sp_clock_wall_ms();
    if (ok) {
        st = cat_store_prepare(
            cat,
            "INSERT INTO tables(database, name, bucket, prefix, classification, json_path, serde,"
            " columns, partition_keys, parameters, crawler, created_ms, updated_ms)"
            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, NULL, ?11, ?11)"
            " ON CONFLICT(database, name) DO UPDATE SET bucket = ?3, prefix = ?4,"
            " classification = ?5, json_path = ?6, serde = ?7, columns = ?8,"
            " partition_keys = ?9, parameters = ?10, updated_ms = ?11",
            e);
        ok = st != NULL;
    }
    if (ok) {
        const char *text[] = {t->database, t->name, t->bucket, t->prefix, t->classification,
                              t->json_path, t->serde, cols_s, pk_s, params_s};
        for (int i = 0; i < 10; i++) sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 11, now);
        ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "write table", e);
        sqlite3_finalize(st);
    }
    if (ok)
        ok = run(cat,
                 "INSERT INTO table_inputs VALUES (?1, ?2, ?3, 1) ON CONFLICT(database, name)"
                 " DO UPDATE SET input = ?3, version = version + 1",
                 t->database, t->name, input_s, NULL, e);
    free(cols_s);
    free(pk_s);
    free(params_s);
    free(input_s);
    return end(cat, ok, e);
}

json_t *cat_table_input(cat_catalog *cat, const char *database, const char *name, sp_err *e)
{
    sqlite3_stmt *st = cat_store_prepare(
        cat, "SELECT input, version FROM table_inputs WHERE database = ? AND name = ?", e);
    if (!st) return NULL;
    sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    json_t *r = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        json_t *in = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        r = json_pack("{s:o, s:I}", "Input", in ? in : json_object(), "Version",
                      (json_int_t)sqlite3_column_int64(st, 1));
    } else if (rc != SQLITE_DONE) {
        cat_store_fail(cat, "read table input", e);
    }
    sqlite3_finalize(st);
    return r;
}

bool cat_table_delete(cat_catalog *cat, const char *database, const char *name, sp_err *e)
{
    if (!begin(cat, e)) return false;
    int changes = 0;
    bool ok = run(cat, "DELETE FROM tables WHERE database = ? AND name = ?", database, name, NULL,
                  &changes, e);
    if (ok && changes == 0) {
        sp_err_set(e, 400, "EntityNotFoundException", "Table %s not found.", name);
        ok = false;
    }
    static const char *const sql[] = {
        "DELETE FROM partition_inputs WHERE database = ? AND table_name = ?",
        "DELETE FROM partitions WHERE database = ? AND table_name = ?",
        "DELETE FROM table_inputs WHERE database = ? AND name = ?",
        "DELETE FROM crawled_objects WHERE database = ? AND table_name = ?",
    };
    for (size_t i = 0; ok && i < SP_ARRAY_LEN(sql); i++)
        ok = run(cat, sql[i], database, name, NULL, NULL, e);
    return end(cat, ok, e);
}

/* ---- partitions ------------------------------------------------------------------------- */

bool cat_partition_create(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, const char *prefix, const json_t *input, sp_err *e)
{
    char *vals_s = json_dumps(vals, JSON_COMPACT);
    char *input_s = input ? json_dumps(input, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    bool ok = begin(cat, e);
    sqlite3_stmt *st = ok ? cat_store_prepare(cat,
                                              "SELECT vals FROM partitions WHERE database = ?1 AND"
                                              " table_name = ?2 AND (vals = ?3 OR prefix = ?4)",
                                              e)
                          : NULL;
    ok = st != NULL;
    if (ok) {
        sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, vals_s, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) {
            const char *have = (const char *)sqlite3_column_text(st, 0);
            if (have && !strcmp(have, vals_s))
                sp_err_set(e, 400, "AlreadyExistsException", "Partition already exists.");
            else
                sp_err_set(e, 400, "InvalidInputException",
                           "Partition %s: its location is already the location of partition %s",
                           vals_s, have ? have : "?");
            ok = false;
        }
        sqlite3_finalize(st);
    }
    if (ok) {
        st = cat_store_prepare(cat,
                               "INSERT INTO partitions(database, table_name, vals, prefix,"
                               " created_ms) VALUES (?, ?, ?, ?, ?)",
                               e);
        ok = st != NULL;
        if (ok) {
            sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, vals_s, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 4, prefix, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 5, sp_clock_wall_ms());
            ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "partition", e);
            sqlite3_finalize(st);
        }
    }
    if (ok && input_s) {
        st = cat_store_prepare(cat, "INSERT OR REPLACE INTO partition_inputs VALUES (?, ?, ?, ?)",
                               e);
        ok = st != NULL;
        if (ok) {
            const char *text[] = {database, table, vals_s, input_s};
            for (int i = 0; i < 4; i++) sqlite3_bind_text(st, i + 1, text[i], -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE || cat_store_fail(cat, "partition input", e);
            sqlite3_finalize(st);
        }
    }
    free(vals_s);
    free(input_s);
    return end(cat, ok, e);
}

bool cat_partition_delete(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, sp_err *e)
{
    char *vals_s = json_dumps(vals, JSON_COMPACT);
    int changes = 0;
    bool ok = begin(cat, e) &&
              run(cat, "DELETE FROM partitions WHERE database = ? AND table_name = ? AND vals = ?",
                  database, table, vals_s, &changes, e);
    if (ok && changes == 0) {
        sp_err_set(e, 400, "EntityNotFoundException", "Cannot find partition.");
        ok = false;
    }
    ok = ok && run(cat,
                   "DELETE FROM partition_inputs WHERE database = ? AND table_name = ?"
                   " AND vals = ?",
                   database, table, vals_s, NULL, e);
    free(vals_s);
    return end(cat, ok, e);
}

json_t *cat_partition_get(cat_catalog *cat, const char *database, const char *table,
                          const json_t *vals, sp_err *e)
{
    char *vals_s = json_dumps(vals, JSON_COMPACT);
    sqlite3_stmt *st = cat_store_prepare(
        cat,
        "SELECT p.prefix, p.created_ms, i.input FROM partitions p LEFT JOIN partition_inputs i"
        " ON i.database = p.database AND i.table_name = p.table_name AND i.vals = p.vals"
        " WHERE p.database = ? AND p.table_name = ? AND p.vals = ?",
        e);
    json_t *r = NULL;
    if (st) {
        sqlite3_bind_text(st, 1, database, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, table, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, vals_s, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *in_s = (const char *)sqlite3_column_text(st, 2);
            r = json_pack("{s:O, s:s, s:I}", "Values", vals, "Prefix", sqlite3_column_text(st, 0),
                          "CreatedMs", (json_int_t)sqlite3_column_int64(st, 1));
            json_t *in = in_s ? json_loads(in_s, 0, NULL) : NULL;
            if (in) json_object_set_new(r, "Input", in);
        } else if (rc == SQLITE_DONE) {
            sp_err_set(e, 400, "EntityNotFoundException", "Cannot find partition.");
        } else {
            cat_store_fail(cat, "read partition", e);
        }
        sqlite3_finalize(st);
    }
    free(vals_s);
    return r;
}
