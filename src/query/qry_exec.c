/* Runs one query: a fresh in-memory SQLite connection per call with the lake module and
 * the Presto functions, one attached in-memory schema per catalog database holding a
 * virtual table per catalog table (the default database's tables also in main, so they
 * resolve unqualified), the Athena syntax rewritten, errors positioned against the
 * caller's SQL. Only read-only statements run. */
#include "qry_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool fail_sqlite(sqlite3 *db, const qry_sql *q, const char *sql, sp_err *e)
{
    int off = sqlite3_error_offset(db);
    size_t line = 1, col = 1;
    if (off >= 0) {
        size_t pos = qry_sql_original_offset(q, (size_t)off);
        for (size_t i = 0; i < pos && sql[i]; i++) {
            if (sql[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    sp_err_set(e, 400, "InvalidRequestException", "line %zu:%zu: %s", line, col,
               sqlite3_errmsg(db));
    return false;
}

static void append_ident(sp_str *s, const char *name)
{
    sp_str_putc(s, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"') sp_str_putc(s, '"');
        sp_str_putc(s, *p);
    }
    sp_str_putc(s, '"');
}

static void append_literal(sp_str *s, const char *v)
{
    sp_str_putc(s, '\'');
    for (const char *p = v; *p; p++) {
        if (*p == '\'') sp_str_putc(s, '\'');
        sp_str_putc(s, *p);
    }
    sp_str_putc(s, '\'');
}

static bool exec(sqlite3 *db, const char *sql, sp_err *e)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        sp_err_internal(e, "query setup: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return false;
    }
    return true;
}

/* Makes every catalog table a virtual table of its database's schema. */
static bool mount_catalog(sqlite3 *db, cat_catalog *cat, const char *default_db, sp_err *e)
{
    json_t *dbs = cat_database_list(cat, e);
    if (!dbs) return false;
    bool ok = true;
    size_t i;
    json_t *d;
    json_array_foreach(dbs, i, d) {
        const char *name = json_string_value(d);
        if (!strcmp(name, "main") || !strcmp(name, "temp")) continue;
        json_t *tables = cat_table_list(cat, name, e);
        if (!tables) {
            ok = false;
            break;
        }
        sp_str s;
        char buf[512];
        sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
        sp_str_puts(&s, "ATTACH ':memory:' AS ");
        append_ident(&s, name);
        sp_str_puts(&s, ";");
        size_t j;
        json_t *t;
        json_array_foreach(tables, j, t) {
            for (int twice = 0; twice < 2; twice++) {
                if (twice && (!default_db || strcmp(default_db, name))) break;
                sp_str_puts(&s, "CREATE VIRTUAL TABLE ");
                if (twice) sp_str_puts(&s, "main");
                else append_ident(&s, name);
                sp_str_putc(&s, '.');
                append_ident(&s, json_string_value(t));
                sp_str_puts(&s, " USING lake(");
                append_literal(&s, name);
                sp_str_putc(&s, ',');
                append_literal(&s, json_string_value(t));
                sp_str_puts(&s, ");");
            }
        }
        json_decref(tables);
        ok = !sp_str_failed(&s) && exec(db, s.buf, e);
        sp_str_release(&s);
        if (!ok) break;
    }
    json_decref(dbs);
    return ok;
}

/* Athena's name for the type of a result column. */
static const char *athena_type(sqlite3_stmt *st, int i, int first_row_type)
{
    const char *decl = sqlite3_column_decltype(st, i);
    if (decl) return decl;
    switch (first_row_type) {
    case SQLITE_INTEGER: return "bigint";
    case SQLITE_FLOAT: return "double";
    case SQLITE_BLOB: return "varbinary";
    default: return "varchar";
    }
}

static char *cell_text(sqlite3_stmt *st, int i)
{
    switch (sqlite3_column_type(st, i)) {
    case SQLITE_NULL: return NULL;
    case SQLITE_FLOAT: {
        char buf[64];
        double v = sqlite3_column_double(st, i);
        snprintf(buf, sizeof buf, "%.15g", v);
        if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
        return strdup(buf);
    }
    default: return strdup((const char *)sqlite3_column_text(st, i));
    }
}

/* Athena labels an expression without an alias _col<i>; SQLite would use its text. */
static char *column_label(sqlite3_stmt *st, int i)
{
    const char *name = sqlite3_column_name(st, i);
    bool plain = name && *name;
    for (const char *p = name; plain && *p; p++)
        plain = isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80;
    if (plain) return strdup(name);
    char label[32];
    snprintf(label, sizeof label, "_col%d", i);
    return strdup(label);
}

static bool collect(sqlite3 *db, sqlite3_stmt *st, qry_result *r, const qry_sql *q,
                    const char *sql, sp_err *e)
{
    int n = sqlite3_column_count(st);
    r->n_columns = (size_t)n;
    r->names = calloc((size_t)n + 1, sizeof *r->names);
    r->types = calloc((size_t)n + 1, sizeof *r->types);
    if (!r->names || !r->types) abort();
    for (int i = 0; i < n; i++) r->names[i] = column_label(st, i);
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (r->n_rows == cap) {
            cap = cap ? cap * 2 : 64;
            r->cells = realloc(r->cells, cap * (size_t)(n ? n : 1) * sizeof *r->cells);
            if (!r->cells) abort();
        }
        for (int i = 0; i < n; i++) {
            if (!r->types[i] && sqlite3_column_type(st, i) != SQLITE_NULL)
                r->types[i] = strdup(athena_type(st, i, sqlite3_column_type(st, i)));
            r->cells[r->n_rows * (size_t)n + (size_t)i] = cell_text(st, i);
        }
        r->n_rows++;
    }
    for (int i = 0; i < n; i++)
        if (!r->types[i]) r->types[i] = strdup(athena_type(st, i, SQLITE_NULL));
    if (rc != SQLITE_DONE) return fail_sqlite(db, q, sql, e);
    return true;
}

qry_result *qry_exec(cat_catalog *cat, lake *lk, const char *database, const char *sql,
                     sp_err *e)
{
    if (strlen(sql) > QRY_SQL_MAX) {
        sp_err_set(e, 400, "InvalidRequestException",
                   "query is %zu bytes; the limit is %d", strlen(sql), QRY_SQL_MAX);
        return NULL;
    }
    qry_sql q;
    if (!qry_sql_rewrite(sql, &q, e)) return NULL;
    qry_ctx ctx = {.cat = cat, .lk = lk};
    /* SALESPIPE_QUERY_CACHE=0 parses every object, as before the cache existed. */
    const char *use_cache = getenv("SALESPIPE_QUERY_CACHE");
    if (!use_cache || strcmp(use_cache, "0")) ctx.cache_path = cat_cache_path(cat);
    sqlite3 *db = NULL;
    qry_result *r = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sp_err_internal(e, "cannot open the query engine");
        goto out;
    }
    if (!qry_vtab_register(db, &ctx, e) || !qry_func_register(db, e) ||
        !mount_catalog(db, cat, database, e))
        goto out;
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, q.text, -1, &st, &tail) != SQLITE_OK) {
        fail_sqlite(db, &q, sql, e);
        goto out;
    }
    if (!st) {
        sp_err_set(e, 400, "InvalidRequestException", "line 1:1: the query is empty");
        goto out;
    }
    for (const char *p = tail; p && *p; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != ';') {
            size_t pos = qry_sql_original_offset(&q, (size_t)(p - q.text));
            sp_err_set(e, 400, "InvalidRequestException",
                       "offset %zu: only one statement per query", pos);
            goto out;
        }
    }
    if (!sqlite3_stmt_readonly(st)) {
        sp_err_set(e, 400, "InvalidRequestException",
                   "line 1:1: only queries (SELECT, WITH, VALUES) run here");
        goto out;
    }
    r = calloc(1, sizeof *r);
    if (!r) abort();
    if (!collect(db, st, r, &q, sql, e)) {
        qry_result_destroy(r);
        r = NULL;
        goto out;
    }
    r->objects_opened = ctx.objects_opened;
    r->objects_from_cache = ctx.objects_from_cache;
    r->partitions_scanned = ctx.partitions_scanned;
    r->bytes_scanned = ctx.bytes_scanned;
out:
    sqlite3_finalize(st);
    sqlite3_close(db);
    qry_sql_clear(&q);
    free(ctx.cache_path);
    return r;
}

void qry_result_destroy(qry_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n_rows * r->n_columns; i++) free(r->cells[i]);
    for (size_t i = 0; i < r->n_columns; i++) {
        free(r->names[i]);
        free(r->types[i]);
    }
    free(r->cells);
    free(r->names);
    free(r->types);
    free(r);
}
