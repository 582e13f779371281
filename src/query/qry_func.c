/* The Athena/Presto functions SQLite lacks, registered on each query connection. Each is
 * a thin SQL wrapper over qry_time.c or jansson; malformed input gives NULL (TRY-like),
 * an unknown date_trunc unit is an error naming it. */
#include "qry_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum { TS_TEXT_MAX = 64, DATE_FORMAT_MAX = 256 };

static bool arg_ts(sqlite3_value *v, int64_t *ms, bool *zoned)
{
    if (sqlite3_value_type(v) == SQLITE_NULL) return false;
    const char *s = (const char *)sqlite3_value_text(v);
    return s && qry_ts_parse(s, ms, zoned);
}

static void result_ts(sqlite3_context *ctx, int64_t ms, bool zoned)
{
    char out[TS_TEXT_MAX];
    qry_ts_format(ms, zoned, out, sizeof out);
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

/* from_iso8601_timestamp(text) -> timestamp with time zone */
static void fn_from_iso8601_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    if (arg_ts(argv[0], &ms, &zoned)) result_ts(ctx, ms, true);
}

/* CAST(x AS timestamp) and TIMESTAMP '...' */
static void fn_cast_timestamp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    if (arg_ts(argv[0], &ms, &zoned)) result_ts(ctx, ms, zoned);
}

/* CAST(x AS date), DATE '...', from_iso8601_date(text) */
static void fn_cast_date(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    if (!arg_ts(argv[0], &ms, &zoned)) return;
    char out[TS_TEXT_MAX];
    qry_ts_strftime(ms, "%Y-%m-%d", out, sizeof out);
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static void fn_date_trunc(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *unit = (const char *)sqlite3_value_text(argv[0]);
    int64_t ms, t;
    bool zoned;
    if (!unit || !arg_ts(argv[1], &ms, &zoned)) return;
    if (!qry_ts_trunc(unit, ms, &t)) {
        char msg[128];
        snprintf(msg, sizeof msg, "date_trunc: '%.40s' is not a valid time unit", unit);
        sqlite3_result_error(ctx, msg, -1);
        return;
    }
    const char *in = (const char *)sqlite3_value_text(argv[1]);
    if (strlen(in) == 10) { /* a date stays a date */
        char out[TS_TEXT_MAX];
        qry_ts_strftime(t, "%Y-%m-%d", out, sizeof out);
        sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
        return;
    }
    result_ts(ctx, t, zoned);
}

static void fn_date_format(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    const char *fmt = (const char *)sqlite3_value_text(argv[1]);
    if (!fmt || !arg_ts(argv[0], &ms, &zoned)) return;
    char out[DATE_FORMAT_MAX];
    qry_ts_strftime(ms, fmt, out, sizeof out);
    sqlite3_result_text(ctx, out, -1, SQLITE_TRANSIENT);
}

static void fn_to_unixtime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    if (arg_ts(argv[0], &ms, &zoned)) sqlite3_result_double(ctx, (double)ms / 1000.0);
}

static void fn_from_unixtime(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
    result_ts(ctx, (int64_t)(sqlite3_value_double(argv[0]) * 1000.0), true);
}

/* year(), month(), ... : the part named by the function's user data */
static void fn_part(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int64_t ms;
    bool zoned;
    if (!arg_ts(argv[0], &ms, &zoned)) return;
    char out[16];
    qry_ts_strftime(ms, sqlite3_user_data(ctx), out, sizeof out);
    sqlite3_result_int64(ctx, strtoll(out, NULL, 10));
}

/* cardinality(array as JSON text) */
static void fn_cardinality(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    if (!s) return;
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    if (json_is_array(v)) sqlite3_result_int64(ctx, (sqlite3_int64)json_array_size(v));
    else if (json_is_object(v)) sqlite3_result_int64(ctx, (sqlite3_int64)json_object_size(v));
    json_decref(v);
}

/* Walks a Presto JSON path ($.a.b[0], $["a"]) with the catalog's JsonPath subset. */
static bool first_match(void *arg, json_t *v)
{
    *(json_t **)arg = v;
    return false;
}

static json_t *json_path_get(sqlite3_context *ctx, sqlite3_value **argv, json_t **root)
{
    const char *s = (const char *)sqlite3_value_text(argv[0]);
    const char *path = (const char *)sqlite3_value_text(argv[1]);
    *root = NULL;
    if (!s || !path) return NULL;
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile(path, &e);
    if (!p) {
        sqlite3_result_error(ctx, e.msg, -1);
        return NULL;
    }
    *root = json_loads(s, JSON_DECODE_ANY, NULL);
    json_t *found = NULL;
    if (*root) cat_jsonpath_select(p, *root, first_match, &found);
    cat_jsonpath_destroy(p);
    return found;
}

static void fn_json_extract_scalar(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    json_t *root, *v = json_path_get(ctx, argv, &root);
    if (json_is_string(v)) {
        sqlite3_result_text(ctx, json_string_value(v), (int)json_string_length(v),
                            SQLITE_TRANSIENT);
    } else if (v && !json_is_object(v) && !json_is_array(v) && !json_is_null(v)) {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        sqlite3_result_text(ctx, t, -1, SQLITE_TRANSIENT);
        free(t);
    }
    json_decref(root);
}

static void fn_json_format(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    sqlite3_result_value(ctx, argv[0]);
}

static void fn_concat(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    sp_str s;
    char buf[256];
    sp_str_init(&s, buf, sizeof buf, SP_STR_NO_MAX);
    for (int i = 0; i < argc; i++) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) { /* Presto: NULL in, NULL out */
            sp_str_release(&s);
            return;
        }
        sp_str_puts(&s, (const char *)sqlite3_value_text(argv[i]));
    }
    sqlite3_result_text(ctx, s.buf, (int)s.len, SQLITE_TRANSIENT);
    sp_str_release(&s);
}

/* ---- approx_distinct: exact distinct count over a hash set of value hashes --------------- */

typedef struct distinct_set {
    uint64_t *slots;     /* 0 = empty */
    size_t cap, n;
} distinct_set;

static uint64_t hash_value(sqlite3_value *v)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)sqlite3_value_type(v);
    const unsigned char *p;
    int n;
    if (sqlite3_value_type(v) == SQLITE_BLOB) {
        p = sqlite3_value_blob(v);
        n = sqlite3_value_bytes(v);
    } else {
        p = sqlite3_value_text(v);
        n = sqlite3_value_bytes(v);
    }
    for (int i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
    return h ? h : 1;
}

static void distinct_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) return;
    distinct_set *s = sqlite3_aggregate_context(ctx, sizeof *s);
    if (!s) return;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (!slots) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i])
                for (size_t j = s->slots[i] & (cap - 1);; j = (j + 1) & (cap - 1))
                    if (!slots[j]) {
                        slots[j] = s->slots[i];
                        break;
                    }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    uint64_t h = hash_value(argv[0]);
    for (size_t j = h & (s->cap - 1);; j = (j + 1) & (s->cap - 1)) {
        if (s->slots[j] == h) return;
        if (!s->slots[j]) {
            s->slots[j] = h;
            s->n++;
            return;
        }
    }
}

static void distinct_final(sqlite3_context *ctx)
{
    distinct_set *s = sqlite3_aggregate_context(ctx, 0);
    sqlite3_result_int64(ctx, s ? (sqlite3_int64)s->n : 0);
    if (s) free(s->slots);
}

/* ---- registration ----------------------------------------------------------------------- */

typedef struct func_def {
    const char *name;
    int n_args;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
    const char *user; /* fn_part's strftime format */
} func_def;

static const func_def FUNCS[] = {
    {"from_iso8601_timestamp", 1, fn_from_iso8601_timestamp, NULL},
    {"from_iso8601_date", 1, fn_cast_date, NULL},
    {"qry_cast_timestamp", 1, fn_cast_timestamp, NULL},
    {"qry_cast_date", 1, fn_cast_date, NULL},
    {"date_trunc", 2, fn_date_trunc, NULL},
    {"date_format", 2, fn_date_format, NULL},
    {"to_unixtime", 1, fn_to_unixtime, NULL},
    {"from_unixtime", 1, fn_from_unixtime, NULL},
    {"year", 1, fn_part, "%Y"},
    {"month", 1, fn_part, "%c"},
    {"day", 1, fn_part, "%e"},
    {"day_of_month", 1, fn_part, "%e"},
    {"hour", 1, fn_part, "%k"},
    {"minute", 1, fn_part, "%i"},
    {"second", 1, fn_part, "%s"},
    {"day_of_year", 1, fn_part, "%j"},
    {"cardinality", 1, fn_cardinality, NULL},
    {"json_extract_scalar", 2, fn_json_extract_scalar, NULL},
    {"json_format", 1, fn_json_format, NULL},
    {"concat", -1, fn_concat, NULL},
};

bool qry_func_registered(const char *name)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(FUNCS); i++)
        if (!strcasecmp(name, FUNCS[i].name)) return true;
    return !strcasecmp(name, "approx_distinct");
}

bool qry_func_register(sqlite3 *db, sp_err *e)
{
    const int flags = SQLITE_UTF8 | SQLITE_DETERMINISTIC;
    for (size_t i = 0; i < SP_ARRAY_LEN(FUNCS); i++) {
        if (sqlite3_create_function(db, FUNCS[i].name, FUNCS[i].n_args, flags,
                                    (void *)FUNCS[i].user, FUNCS[i].fn, NULL, NULL) != SQLITE_OK) {
            sp_err_internal(e, "cannot register %s: %s", FUNCS[i].name, sqlite3_errmsg(db));
            return false;
        }
    }
    if (sqlite3_create_function(db, "approx_distinct", 1, flags, NULL, NULL, distinct_step,
                                distinct_final) != SQLITE_OK ||
        sqlite3_create_function(db, "approx_distinct", 2, flags, NULL, NULL, distinct_step,
                                distinct_final) != SQLITE_OK) {
        sp_err_internal(e, "cannot register approx_distinct: %s", sqlite3_errmsg(db));
        return false;
    }
    return true;
}
