/* Private to query/: the lake virtual table, the Presto function set, the SQL rewriter and
 * the pure pieces under them (partition pruning, timestamps) that unit tests pin down. */
#ifndef SP_QRY_INT_H
#define SP_QRY_INT_H

#include "query.h"

#include <sqlite3.h>

/* What every scan of one qry_exec shares. */
typedef struct qry_ctx {
    cat_catalog *cat;
    lake *lk;
    size_t objects_opened;
    size_t partitions_scanned;
    uint64_t bytes_scanned;
} qry_ctx;

/* Registers the "lake" module on db; ctx must outlive db. */
bool qry_vtab_register(sqlite3 *db, qry_ctx *ctx, sp_err *e);
/* Registers the Athena/Presto functions on db. */
bool qry_func_register(sqlite3 *db, sp_err *e);

/* ---- pruning ---------------------------------------------------------------------------- */

typedef enum { QRY_OP_EQ, QRY_OP_NE, QRY_OP_LT, QRY_OP_LE, QRY_OP_GT, QRY_OP_GE, QRY_OP_IN,
               QRY_OP_IS } qry_op;

/* One constraint on a partition key, values as text (a NULL value never matches, except
 * with IS, where it matches nothing either since partition values are never NULL). */
typedef struct qry_constraint {
    size_t key;             /* partition key index */
    qry_op op;
    const char *const *vals;/* one value, or the IN list */
    size_t n_vals;
} qry_constraint;

/* True if a partition with these values can hold rows satisfying every constraint. Text
 * comparison (BINARY collation), which is what SQLite applies to a varchar column. */
bool qry_partition_match(const char *const *values, size_t n_values, const qry_constraint *c,
                         size_t n_constraints);

/* ---- timestamps ------------------------------------------------------------------------- */

/* Parses ISO 8601 / Athena timestamp text ("2026-11-26T13:00:05Z", "2026-11-26 13:00:05.123
 * UTC", "2026-11-26", "+02:00" offsets) into UTC epoch milliseconds. *zoned says whether
 * the text carried a zone. */
bool qry_ts_parse(const char *s, int64_t *ms, bool *zoned);
/* "YYYY-MM-DD HH:MM:SS.mmm" (+ " UTC" if zoned) into out (>= 32 bytes). */
void qry_ts_format(int64_t ms, bool zoned, char *out, size_t size);
/* date_trunc: unit second|minute|hour|day|week|month|quarter|year; false if unknown. */
bool qry_ts_trunc(const char *unit, int64_t ms, int64_t *out);
/* MySQL-style date_format specifiers (%Y %m %d %H %i %s %f %y %M %b %a %W %j %p %h %T %e
 * %c %k %l %r %S %%); out is NUL-terminated, truncated to size. */
void qry_ts_strftime(int64_t ms, const char *fmt, char *out, size_t size);

/* ---- rewriting -------------------------------------------------------------------------- */

/* The rewritten SQL plus a map back to the caller's text for error positions. */
typedef struct qry_sql {
    char *text;
    size_t n_map;
    size_t *map_out, *map_in;   /* offset in text -> offset in the original, per token */
} qry_sql;

/* Rewrites Athena-only syntax (CAST/TRY_CAST to timestamp/date, TRY_CAST, TIMESTAMP '..'
 * and DATE '..' literals) into SQLite. false with a positioned 400 on an unterminated
 * string, identifier or comment. Caller clears out. */
bool qry_sql_rewrite(const char *sql, qry_sql *out, sp_err *e);
/* Offset in the original SQL of an offset in the rewritten text. */
size_t qry_sql_original_offset(const qry_sql *q, size_t offset);
void qry_sql_clear(qry_sql *q);

#endif
