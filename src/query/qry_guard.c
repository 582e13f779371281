/* What keeps user SQL contained: an authorizer that admits only reads of the catalog's
 * tables, SELECT (recursive CTEs included) and an allow list of harmless functions, refusing
 * everything else when the statement is prepared (ATTACH/DETACH, PRAGMA, writes of any kind
 * also on temp tables, transactions, load_extension); the connection settings that back it
 * (no extension loading, defensive mode, no further attached schemas); a progress handler
 * that ends the query past its time limit; and the stop switch StopQueryExecution uses.
 * The authorizer is installed after the query layer's own setup (its ATTACH ':memory:' and
 * CREATE VIRTUAL TABLE statements), so the layer needs no exception in it. */
#include "qry_int.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The progress handler runs every this many virtual machine instructions: a clock read
 * per ~1000 instructions costs nothing measurable and answers within microseconds. */
enum { QRY_PROGRESS_OPS = 1000 };

/* ---- the stop switch -------------------------------------------------------------------- */

struct qry_stop {
    /* Guards db: set while a query's connection is open (qry_guard_attach .. detach). The
     * query takes it to detach before sqlite3_close; qry_stop_request takes it around
     * sqlite3_interrupt, so the interrupt never reaches a closed connection. */
    pthread_mutex_t lock;
    sqlite3 *db;
    atomic_bool stopped;   /* also read by the progress handler, without the lock */
};

qry_stop *qry_stop_new(void)
{
    qry_stop *s = calloc(1, sizeof *s);
    if (!s) abort();
    pthread_mutex_init(&s->lock, NULL);
    atomic_init(&s->stopped, false);
    return s;
}

void qry_stop_destroy(qry_stop *s)
{
    if (!s) return;
    assert(!s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void qry_stop_request(qry_stop *s)
{
    pthread_mutex_lock(&s->lock);
    atomic_store(&s->stopped, true);
    if (s->db) sqlite3_interrupt(s->db); /* thread-safe by SQLite's contract */
    pthread_mutex_unlock(&s->lock);
}

void qry_stop_reset(qry_stop *s) { atomic_store(&s->stopped, false); }

/* ---- the guard -------------------------------------------------------------------------- */

void qry_guard_init(qry_guard *g, const qry_opts *opts)
{
    memset(g, 0, sizeof *g);
    g->stop = opts ? opts->stop : NULL;
    int64_t timeout = opts ? opts->timeout_ms : (int64_t)QRY_TIMEOUT_DEFAULT_SECONDS * 1000;
    g->timeout_ms = timeout;
    g->deadline_ns = timeout > 0 ? sp_clock_mono_ns() + (uint64_t)timeout * 1000000u : 0;
}

void qry_guard_clear(qry_guard *g)
{
    for (size_t i = 0; i < g->n_tables; i++) free(g->tables[i]);
    free(g->tables);
    g->tables = NULL;
    g->n_tables = 0;
}

void qry_guard_allow_table(qry_guard *g, const char *schema, const char *table)
{
    size_t ls = strlen(schema), lt = strlen(table);
    char *k = malloc(ls + lt + 2);
    if (!k) abort();
    memcpy(k, schema, ls + 1);
    memcpy(k + ls + 1, table, lt + 1);
    g->tables = realloc(g->tables, (g->n_tables + 1) * sizeof *g->tables);
    if (!g->tables) abort();
    g->tables[g->n_tables++] = k;
}

/* schema NULL: SQLite names none (a table read for no column, as in count(*)). */
static bool table_allowed(const qry_guard *g, const char *schema, const char *table)
{
    /* json_each / json_tree: the table-valued JSON functions (UNNEST over JSON arrays). */
    if (!strcasecmp(table, "json_each") || !strcasecmp(table, "json_tree")) return true;
    for (size_t i = 0; i < g->n_tables; i++) {
        const char *k = g->tables[i];
        if ((!schema || !strcasecmp(k, schema)) && !strcasecmp(k + strlen(k) + 1, table))
            return true;
    }
    return false;
}

/* Names of SQLite's built-in (eponymous) virtual tables: pragma_*, sqlite_dbpage,
 * sqlite_stmt, dbstat, and the schema tables. */
static bool sqlite_owned(const char *table)
{
    return !strncasecmp(table, "pragma_", 7) || !strncasecmp(table, "sqlite_", 7) ||
           !strncasecmp(table, "dbstat", 6);
}

static bool is_schema_table(const char *table)
{
    return table && (!strcasecmp(table, "sqlite_master") || !strcasecmp(table, "sqlite_schema") ||
                     !strcasecmp(table, "sqlite_temp_master") ||
                     !strcasecmp(table, "sqlite_temp_schema"));
}

/* SQLite's own functions that only compute on their arguments: core, date/time, math,
 * JSON, aggregate and window functions. Absent on purpose: load_extension, readfile,
 * writefile, edit, fts3_tokenizer, sqlite_compileoption_*, and anything a future SQLite
 * adds until it is reviewed here. */
static const char *const SQLITE_FUNCS[] = {
    "abs", "changes", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex",
    "ifnull", "iif", "instr", "last_insert_rowid", "length", "like", "likelihood", "likely",
    "lower", "ltrim", "max", "min", "nullif", "octet_length", "printf", "quote", "random",
    "randomblob", "replace", "round", "rtrim", "sign", "soundex", "sqlite_version", "substr",
    "substring", "total_changes", "trim", "typeof", "unhex", "unicode", "unlikely", "upper",
    "zeroblob",
    "date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff",
    "current_date", "current_time", "current_timestamp",
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos",
    "cosh", "degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow",
    "power", "radians", "sin", "sinh", "sqrt", "tan", "tanh", "trunc",
    "json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position",
    "json_extract", "jsonb_extract", "json_insert", "jsonb_insert", "json_object",
    "jsonb_object", "json_patch", "jsonb_patch", "json_pretty", "json_quote", "json_remove",
    "jsonb_remove", "json_replace", "jsonb_replace", "json_set", "jsonb_set", "json_type",
    "json_valid", "json_group_array", "jsonb_group_array", "json_group_object",
    "jsonb_group_object", "->", "->>",
    "avg", "count", "group_concat", "string_agg", "sum", "total",
    "row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead",
    "first_value", "last_value", "nth_value",
};

static bool function_allowed(const char *name)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(SQLITE_FUNCS); i++)
        if (!strcasecmp(name, SQLITE_FUNCS[i])) return true;
    return qry_func_registered(name);
}

static const char *action_name(int action)
{
    switch (action) {
    case SQLITE_ATTACH: return "ATTACH";
    case SQLITE_DETACH: return "DETACH";
    case SQLITE_PRAGMA: return "PRAGMA";
    case SQLITE_INSERT: return "INSERT";
    case SQLITE_UPDATE: return "UPDATE";
    case SQLITE_DELETE: return "DELETE";
    case SQLITE_CREATE_TABLE: case SQLITE_CREATE_TEMP_TABLE: return "CREATE TABLE";
    case SQLITE_CREATE_INDEX: case SQLITE_CREATE_TEMP_INDEX: return "CREATE INDEX";
    case SQLITE_CREATE_VIEW: case SQLITE_CREATE_TEMP_VIEW: return "CREATE VIEW";
    case SQLITE_CREATE_TRIGGER: case SQLITE_CREATE_TEMP_TRIGGER: return "CREATE TRIGGER";
    case SQLITE_CREATE_VTABLE: return "CREATE VIRTUAL TABLE";
    case SQLITE_DROP_TABLE: case SQLITE_DROP_TEMP_TABLE: return "DROP TABLE";
    case SQLITE_DROP_INDEX: case SQLITE_DROP_TEMP_INDEX: return "DROP INDEX";
    case SQLITE_DROP_VIEW: case SQLITE_DROP_TEMP_VIEW: return "DROP VIEW";
    case SQLITE_DROP_TRIGGER: case SQLITE_DROP_TEMP_TRIGGER: return "DROP TRIGGER";
    case SQLITE_DROP_VTABLE: return "DROP VIRTUAL TABLE";
    case SQLITE_ALTER_TABLE: return "ALTER TABLE";
    case SQLITE_REINDEX: return "REINDEX";
    case SQLITE_ANALYZE: return "ANALYZE";
    case SQLITE_TRANSACTION: return "a transaction";
    case SQLITE_SAVEPOINT: return "SAVEPOINT";
    default: return "this statement";
    }
}

static int authorize(void *arg, int action, const char *a3, const char *a4, const char *schema,
                     const char *trigger)
{
    (void)trigger;
    qry_guard *g = arg;
    switch (action) {
    case SQLITE_SELECT:
    case SQLITE_RECURSIVE:
        return SQLITE_OK;
    case SQLITE_UPDATE:
    case SQLITE_READ:
        /* The first use of a table-valued function (json_each, pragma_*) makes its table:
         * SQLite checks that as an UPDATE of main.sqlite_master's columns and a read of its
         * rowid. Neither reaches user data, and a user UPDATE of sqlite_master is refused
         * by defensive mode and the read-only check; the read of the function's own table
         * comes next and is judged below. */
        if (is_schema_table(a3) && schema && !strcmp(schema, "main") &&
            (action == SQLITE_UPDATE || (a4 && !strcmp(a4, "ROWID"))))
            return SQLITE_OK;
        if (action == SQLITE_READ && a3 && table_allowed(g, schema, a3)) return SQLITE_OK;
        /* A FROM item none of whose columns is used (count(*)) is checked with an empty
         * column and no schema: a CTE's name comes this way too, and CTE names are the
         * user's own. SQLite's table-valued functions keep their names reserved. */
        if (action == SQLITE_READ && a3 && a4 && !*a4 && !schema && !sqlite_owned(a3))
            return SQLITE_OK;
        if (action == SQLITE_UPDATE) break;
        if (!g->refused[0])
            snprintf(g->refused, sizeof g->refused,
                     "table %s is not a catalog table; queries read only the catalog's tables",
                     a3 ? a3 : "?");
        return SQLITE_DENY;
    case SQLITE_FUNCTION:
        if (a4 && function_allowed(a4)) return SQLITE_OK;
        if (!g->refused[0])
            snprintf(g->refused, sizeof g->refused, "function %s is not available in queries",
                     a4 ? a4 : "?");
        return SQLITE_DENY;
    default:
        break;
    }
    if (!g->refused[0])
        snprintf(g->refused, sizeof g->refused,
                 "%s is not allowed: queries only read the catalog's tables",
                 (action == SQLITE_INSERT || action == SQLITE_DELETE) && is_schema_table(a3)
                     ? "changing the schema (CREATE, DROP, ALTER)"
                     : action_name(action));
    return SQLITE_DENY;
}

static int progress(void *arg)
{
    qry_guard *g = arg;
    if (g->stop && atomic_load(&g->stop->stopped)) {
        g->stopped = true;
        return 1;
    }
    if (g->deadline_ns && sp_clock_mono_ns() >= g->deadline_ns) {
        g->timed_out = true;
        return 1;
    }
    return 0;
}

bool qry_guard_check(qry_guard *g) { return progress(g) != 0; }

bool qry_guard_harden(sqlite3 *db, sp_err *e)
{
    /* No extension loading, neither through the C API nor load_extension(); defensive mode
     * (no writable_schema, no raw page writes). Before any user SQL is parsed. */
    if (sqlite3_enable_load_extension(db, 0) != SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, (int *)NULL) !=
            SQLITE_OK ||
        sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL) != SQLITE_OK) {
        sp_err_internal(e, "cannot secure the query engine: %s", sqlite3_errmsg(db));
        return false;
    }
    return true;
}

void qry_guard_install(sqlite3 *db, qry_guard *g)
{
    /* The layer's schemas are attached: no further ones, whatever gets past the authorizer. */
    sqlite3_limit(db, SQLITE_LIMIT_ATTACHED, 0);
    sqlite3_set_authorizer(db, authorize, g);
    sqlite3_progress_handler(db, QRY_PROGRESS_OPS, progress, g);
}

bool qry_guard_attach(qry_guard *g, sqlite3 *db)
{
    if (!g->stop) return true;
    pthread_mutex_lock(&g->stop->lock);
    g->stop->db = db;
    bool stopped = atomic_load(&g->stop->stopped);
    pthread_mutex_unlock(&g->stop->lock);
    g->stopped = stopped;
    return !stopped;
}

void qry_guard_detach(qry_guard *g)
{
    if (!g->stop) return;
    pthread_mutex_lock(&g->stop->lock);
    g->stop->db = NULL;
    pthread_mutex_unlock(&g->stop->lock);
}

bool qry_guard_error(qry_guard *g, sp_err *e)
{
    if (g->stopped || (g->stop && atomic_load(&g->stop->stopped))) {
        sp_err_set(e, 499, "QueryCancelled", "Query was cancelled by the user");
        return true;
    }
    if (g->timed_out) {
        /* Athena's error catalog: ErrorType 206, "Query timed out". */
        sp_err_set(e, 408, "QueryTimeout",
                   "Query timed out: it ran longer than the limit of %g seconds "
                   "(query_timeout_seconds); narrow the query or raise the limit",
                   (double)g->timeout_ms / 1000.0);
        return true;
    }
    return false;
}
