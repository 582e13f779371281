/* Runs one query: a fresh in-memory SQLite connection per call with the lake module and
 * the Presto functions, one attached in-memory schema per catalog database holding a
 * virtual table per catalog table (the default database's tables also in main, so they
 * resolve unqualified), the Athena syntax rewritten, errors positioned against the
 * caller's SQL. The guard (qry_guard.c) is installed once that setup is done: user SQL
 * only reads the mounted tables, within the time limit, and can be stopped. Rows go to the
 * caller's sink as they are produced, or are collected for callers that print them. */
#include "qry_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "line L:C: <what>" at SQLite's error offset mapped back to the caller's SQL (1:1 when
 * SQLite gives none). */
static bool fail_sqlite(sqlite3 *db, const qry_sql *q, const char *sql, const char *what,
                        sp_err *e)
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
               what ? what : sqlite3_errmsg(db));
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
static bool mount_catalog(sqlite3 *db, cat_catalog *cat, const char *default_db, qry_guard *g,
                          sp_err *e)
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
                qry_guard_allow_table(g, twice ? "main" : name, json_string_value(t));
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

/* Where the rows go: the caller's sink, or r->cells. */
typedef struct run_out {
    const qry_sink *sink;
    qry_result *r;
    size_t cap;
    char **row;               /* the current row's cells (sink mode), owned */
} run_out;

static bool out_begin(run_out *o, sqlite3_stmt *st, sp_err *e)
{
    qry_result *r = o->r;
    int n = sqlite3_column_count(st);
    r->n_columns = (size_t)n;
    r->names = calloc((size_t)n + 1, sizeof *r->names);
    r->types = calloc((size_t)n + 1, sizeof *r->types);
    o->row = calloc((size_t)n + 1, sizeof *o->row);
    if (!r->names || !r->types || !o->row) abort();
    for (int i = 0; i < n; i++) r->names[i] = column_label(st, i);
    if (!o->sink) return true;
    const char **decl = calloc((size_t)n + 1, sizeof *decl);
    if (!decl) abort();
    for (int i = 0; i < n; i++) decl[i] = sqlite3_column_decltype(st, i);
    bool ok = o->sink->begin(o->sink->arg, r->n_columns, r->names, decl, e);
    free(decl);
    return ok;
}

static bool out_row(run_out *o, sqlite3_stmt *st, sp_err *e)
{
    qry_result *r = o->r;
    size_t n = r->n_columns;
    if (!o->sink && r->n_rows == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 64;
        r->cells = realloc(r->cells, o->cap * (n ? n : 1) * sizeof *r->cells);
        if (!r->cells) abort();
    }
    char **cells = o->sink ? o->row : r->cells + r->n_rows * n;
    for (size_t i = 0; i < n; i++) {
        int type = sqlite3_column_type(st, (int)i);
        if (!r->types[i] && type != SQLITE_NULL)
            r->types[i] = strdup(athena_type(st, (int)i, type));
        cells[i] = cell_text(st, (int)i);
    }
    r->n_rows++;
    if (!o->sink) return true;
    bool ok = o->sink->row(o->sink->arg, (const char *const *)cells, e);
    for (size_t i = 0; i < n; i++) {
        free(cells[i]);
        cells[i] = NULL;
    }
    return ok;
}

/* qry_table_columns_fn over the query's connection: the columns `SELECT * FROM ref` has.
 * Prepared only, never stepped, before the guard is installed (ref is an identifier or
 * two, from the statement). */
static bool table_columns(void *arg, const char *ref, char ***names, size_t *n, bool *latest)
{
    sqlite3 *db = arg;
    char *sql = sqlite3_mprintf("SELECT * FROM %s", ref);
    sqlite3_stmt *st = NULL;
    bool ok = sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && st;
    sqlite3_free(sql);
    if (ok) {
        *n = (size_t)sqlite3_column_count(st);
        *names = calloc(*n + 1, sizeof **names);
        if (!*names) abort();
        for (size_t i = 0; i < *n; i++) {
            const char *name = sqlite3_column_name(st, (int)i);
            (*names)[i] = strdup(name ? name : "");
            if (!(*names)[i]) abort();
        }
    }
    sqlite3_finalize(st);
    /* a lake table: it has the hidden latest-row column, which `SELECT *` leaves out */
    *latest = false;
    /* (with the constraint that carries its spec: a plan without it is refused) */
    sql = ok ? sqlite3_mprintf("SELECT 1 FROM %s WHERE \"" QRY_LATEST_COLUMN "\" = ''", ref)
             : NULL;
    st = NULL;
    if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && st) {
        *latest = true;
        for (size_t i = 0; i < *n; i++)
            if (!strcasecmp((*names)[i], QRY_LATEST_COLUMN)) *latest = false;
    }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return ok;
}

/* qry_table_types_fn over the query's connection: table_columns with the declared types. */
static bool table_types(void *arg, const char *ref, char ***names, char ***types, size_t *n,
                        bool *lake)
{
    if (!table_columns(arg, ref, names, n, lake)) return false;
    *types = calloc(*n + 1, sizeof **types);
    if (!*types) abort();
    sqlite3 *db = arg;
    char *sql = sqlite3_mprintf("SELECT * FROM %s", ref);
    sqlite3_stmt *st = NULL;
    if (sql && sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && st &&
        (size_t)sqlite3_column_count(st) == *n)
        for (size_t i = 0; i < *n; i++) {
            const char *t = sqlite3_column_decltype(st, (int)i);
            (*types)[i] = t ? strdup(t) : NULL;
        }
    sqlite3_finalize(st);
    sqlite3_free(sql);
    return true;
}

static void sql_copy(qry_sql *dst, const qry_sql *src)
{
    dst->text = strdup(src->text);
    dst->n_map = src->n_map;
    dst->map_out = malloc((src->n_map + 1) * sizeof *dst->map_out);
    dst->map_in = malloc((src->n_map + 1) * sizeof *dst->map_in);
    if (!dst->text || !dst->map_out || !dst->map_in) abort();
    memcpy(dst->map_out, src->map_out, src->n_map * sizeof *dst->map_out);
    memcpy(dst->map_in, src->map_in, src->n_map * sizeof *dst->map_in);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* The narrowed statement, prepared under the guard, if it is one read-only statement with
 * the original's result columns (count, names, declared types); else NULL. A failure
 * leaves no trace in the guard. */
static sqlite3_stmt *prepare_narrowed(sqlite3 *db, qry_guard *g, const qry_sql *n,
                                      sqlite3_stmt *orig)
{
    char refused[sizeof g->refused];
    memcpy(refused, g->refused, sizeof refused);
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    bool ok = sqlite3_prepare_v2(db, n->text, -1, &st, &tail) == SQLITE_OK && st &&
              sqlite3_stmt_readonly(st) &&
              sqlite3_column_count(st) == sqlite3_column_count(orig);
    for (const char *p = tail; ok && p && *p; p++)
        ok = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == ';';
    for (int i = 0; ok && i < sqlite3_column_count(st); i++)
        ok = same_text(sqlite3_column_name(st, i), sqlite3_column_name(orig, i)) &&
             same_text(sqlite3_column_decltype(st, i), sqlite3_column_decltype(orig, i));
    if (!ok) {
        sqlite3_finalize(st);
        st = NULL;
        memcpy(g->refused, refused, sizeof refused);
    }
    return st;
}

/* A refusal or interruption by the guard, else SQLite's own error, positioned. */
static void fail_query(sqlite3 *db, qry_guard *g, const qry_sql *q, const char *sql, sp_err *e)
{
    sp_err_clear(e);
    if (qry_guard_error(g, e)) return;
    /* what the authorizer refused, rather than SQLite's "not authorized" */
    fail_sqlite(db, q, sql, g->refused[0] ? g->refused : NULL, e);
}

qry_result *qry_run(cat_catalog *cat, lake *lk, const char *database, const char *sql,
                    const qry_opts *opts, const qry_sink *sink, sp_err *e)
{
    if (strlen(sql) > QRY_SQL_MAX) {
        sp_err_set(e, 400, "InvalidRequestException",
                   "query is %zu bytes; the limit is %d", strlen(sql), QRY_SQL_MAX);
        return NULL;
    }
    qry_sql q;
    if (!qry_sql_rewrite(sql, &q, e)) return NULL;
    qry_guard g;
    qry_guard_init(&g, opts);
    qry_ctx ctx = {.cat = cat, .lk = lk, .guard = &g};
    /* SALESPIPE_QUERY_CACHE=0 parses every object, as before the cache existed. */
    const char *use_cache = getenv("SALESPIPE_QUERY_CACHE");
    if (!use_cache || strcmp(use_cache, "0")) ctx.cache_path = cat_cache_path(cat);
    sqlite3 *db = NULL;
    run_out o = {.sink = sink};
    sqlite3_stmt *st = NULL;
    bool ok = false, attached = false, have_narrowed = false;
    qry_sql narrowed = {0};
    if (sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        sp_err_internal(e, "cannot open the query engine");
        goto out;
    }
    attached = true;
    if (!qry_guard_attach(&g, db)) {
        qry_guard_error(&g, e);
        goto out;
    }
    if (!qry_guard_harden(db, e) || !qry_vtab_register(db, &ctx, e) ||
        !qry_func_register(db, e) || !mount_catalog(db, cat, database, &g, e)) {
        sp_err tmp = {0};
        if (qry_guard_error(&g, &tmp)) *e = tmp; /* stopped or timed out during setup */
        goto out;
    }
    /* SALESPIPE_QUERY_PROJECT=0 runs the statement as written (no narrowing). */
    const char *use_project = getenv("SALESPIPE_QUERY_PROJECT");
    if (!use_project || strcmp(use_project, "0")) {
        sql_copy(&narrowed, &q);
        have_narrowed = qry_sql_project(&narrowed, table_columns, db);
        /* SALESPIPE_QUERY_AGG=0 leaves GROUP BY aggregates to SQLite, row by row. */
        const char *use_agg = getenv("SALESPIPE_QUERY_AGG");
        if (!use_agg || strcmp(use_agg, "0"))
            have_narrowed |= qry_sql_aggregate(&narrowed, table_types, db);
    }
    qry_guard_install(db, &g);
    const char *tail = NULL;
    if (sqlite3_prepare_v2(db, q.text, -1, &st, &tail) != SQLITE_OK) {
        fail_query(db, &g, &q, sql, e);
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
    /* A second, cheap line behind the authorizer: statements it has no action code for
     * (VACUUM [INTO]) are not read-only and stop here, before they are stepped. */
    if (!sqlite3_stmt_readonly(st)) {
        sp_err_set(e, 400, "InvalidRequestException",
                   "line 1:1: only queries (SELECT, WITH, VALUES) run here");
        goto out;
    }
    sqlite3_stmt *nst = have_narrowed ? prepare_narrowed(db, &g, &narrowed, st) : NULL;
    if (nst) { /* from here on errors are positioned through the narrowed text's map */
        sqlite3_finalize(st);
        st = nst;
        qry_sql tmp = q;
        q = narrowed;
        narrowed = tmp;
    }
    o.r = calloc(1, sizeof *o.r);
    if (!o.r) abort();
    if (!out_begin(&o, st, e)) goto out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (!out_row(&o, st, e)) goto out;
    for (size_t i = 0; i < o.r->n_columns; i++)
        if (!o.r->types[i]) o.r->types[i] = strdup(athena_type(st, (int)i, SQLITE_NULL));
    if (rc != SQLITE_DONE) {
        fail_query(db, &g, &q, sql, e);
        goto out;
    }
    o.r->objects_opened = ctx.objects_opened;
    o.r->objects_from_cache = ctx.objects_from_cache;
    o.r->partitions_scanned = ctx.partitions_scanned;
    o.r->row_groups_read = ctx.row_groups_read;
    o.r->row_groups_skipped = ctx.row_groups_skipped;
    o.r->bytes_scanned = ctx.bytes_scanned;
    ok = true;
out:
    sqlite3_finalize(st);
    if (attached) qry_guard_detach(&g); /* before close: see struct qry_stop */
    sqlite3_close(db);
    qry_guard_clear(&g);
    qry_sql_clear(&q);
    qry_sql_clear(&narrowed);
    free(ctx.cache_path);
    free(o.row);
    if (!ok) {
        qry_result_destroy(o.r);
        return NULL;
    }
    return o.r;
}

qry_result *qry_exec(cat_catalog *cat, lake *lk, const char *database, const char *sql,
                     const qry_opts *opts, sp_err *e)
{
    return qry_run(cat, lk, database, sql, opts, NULL, e);
}

void qry_result_destroy(qry_result *r)
{
    if (!r) return;
    if (r->cells)
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
