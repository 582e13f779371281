/* Private to query/: the lake virtual table, the Presto function set, the SQL rewriter and
 * the pure pieces under them (partition pruning, timestamps) that unit tests pin down. */
#ifndef SP_QRY_INT_H
#define SP_QRY_INT_H

#include "query.h"

#include <sqlite3.h>

struct qry_guard;

/* What every scan of one qry_exec shares. */
typedef struct qry_ctx {
    struct qry_guard *guard;  /* the query's; NULL: none (long work outside the VM asks it) */
    cat_catalog *cat;
    lake *lk;
    char *cache_path;     /* the query cache (NULL: parse every object); owned by qry_exec */
    size_t objects_opened;
    size_t objects_from_cache;
    size_t partitions_scanned;
    uint64_t bytes_scanned;
    size_t row_groups_read, row_groups_skipped;
} qry_ctx;

/* Registers the "lake" module on db; ctx must outlive db. */
bool qry_vtab_register(sqlite3 *db, qry_ctx *ctx, sp_err *e);
/* Registers the Athena/Presto functions on db. */
bool qry_func_register(sqlite3 *db, sp_err *e);
/* True if name (any case) is one of the functions qry_func_register adds. */
bool qry_func_registered(const char *name);

/* ---- result objects (qry_csv.c) -------------------------------------------------------- */

/* Reads the next record of an Athena result CSV from f as a GetQueryResults row
 * ({"Data": [{"VarCharValue": v} or {} for NULL, ...]}, caller owns). false at the end of
 * f (e untouched) or with e set when the record does not have n_columns fields. */
bool qry_csv_row_read(FILE *f, size_t n_columns, json_t **row, sp_err *e);

/* ---- containment (qry_guard.c) ---------------------------------------------------------- */

/* One query's guard: what it may read, its deadline, its stop switch, and why SQLite
 * refused or interrupted it. Lives on the stack of qry_run; the connection's authorizer
 * and progress handler point into it, so it must outlive the connection. */
typedef struct qry_guard {
    qry_stop *stop;           /* borrowed; NULL: none */
    int64_t timeout_ms;       /* 0: no limit */
    uint64_t deadline_ns;     /* monotonic; 0: none */
    char **tables;            /* "schema\0table" the query may read; owned */
    size_t n_tables;
    char refused[256];        /* the authorizer's first refusal, "" if none */
    bool timed_out, stopped;  /* why the progress handler interrupted */
} qry_guard;

/* opts NULL: the default timeout, no stop switch. The clock starts here. */
void qry_guard_init(qry_guard *g, const qry_opts *opts);
void qry_guard_clear(qry_guard *g);
/* Admits reads of schema.table (a catalog table mounted by the layer). Copied. */
void qry_guard_allow_table(qry_guard *g, const char *schema, const char *table);
/* Connection settings for user SQL, right after the connection opens: no extension
 * loading, defensive mode. */
bool qry_guard_harden(sqlite3 *db, sp_err *e);
/* After the layer's own setup, before user SQL is prepared: the authorizer, the progress
 * handler, no further attached schemas. */
void qry_guard_install(sqlite3 *db, qry_guard *g);
/* Publishes db to the stop switch (false: the query was stopped already); detach before
 * sqlite3_close (it takes the switch's lock, see struct qry_stop). */
bool qry_guard_attach(qry_guard *g, sqlite3 *db);
void qry_guard_detach(qry_guard *g);
/* The progress handler's test, for long work SQLite's VM does not see (a virtual table's
 * xFilter): true if the query is stopped or past its time limit (then qry_guard_error
 * says which). */
bool qry_guard_check(qry_guard *g);
/* If the guard interrupted the query, sets e (499 QueryCancelled or 408 QueryTimeout). */
bool qry_guard_error(qry_guard *g, sp_err *e);

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

/* One token of a query's text; repl and close_after are the rewriter's edits. */
typedef enum { QRY_TK_SPACE, QRY_TK_WORD, QRY_TK_STRING, QRY_TK_QUOTED, QRY_TK_PUNCT,
               QRY_TK_OTHER } qry_tk_kind;
typedef struct qry_token {
    qry_tk_kind kind;     /* SPACE also covers comments; OTHER is a number */
    size_t start, len;
    const char *repl;     /* replacement text, NULL: keep */
    bool close_after;     /* append ')' after the token */
} qry_token;

/* Splits sql into tokens (caller frees the array); NULL with a positioned 400 on an
 * unterminated string, identifier or comment. */
qry_token *qry_sql_tokenize(const char *sql, size_t *n_out, sp_err *e);

/* The significant tokens of a statement as the rewrites that read it (qry_project.c,
 * qry_agg.c) see them: v[k] indexes t for the k-th token that is not space or comment.
 * Borrowed from the rewrite's own state. */
typedef struct qry_tokview {
    const char *sql;
    const qry_token *t;
    const size_t *v;
    size_t nv;
} qry_tokview;
/* Whether significant token k is the word w (any case), the punctuation c, or an identifier
 * (a word or a quoted name); false past the end. */
bool qry_tv_word(qry_tokview tv, size_t k, const char *w);
bool qry_tv_punct(qry_tokview tv, size_t k, char c);
bool qry_tv_ident(qry_tokview tv, size_t k);
/* Significant token k's text without its quotes (a quoted name or string); the caller's. */
char *qry_tv_unquoted(qry_tokview tv, size_t k);
/* Reads a column index below n_columns at *p (the specs the rewrites hand a lake table,
 * e.g. "g=0,2;a=..."), advancing *p; false if there is none or it is out of range. */
bool qry_spec_index(const char **p, size_t n_columns, size_t *out);

/* Rewrites Athena-only syntax (CAST/TRY_CAST to timestamp/date, TRY_CAST, TIMESTAMP '..'
 * and DATE '..' literals) into SQLite. false with a positioned 400 on an unterminated
 * string, identifier or comment. Caller clears out. */
bool qry_sql_rewrite(const char *sql, qry_sql *out, sp_err *e);
/* The columns a table reference (its text in the statement, e.g. `db.t` or `"t"`) has,
 * in the order `SELECT *` gives them, and whether it is a lake table with the latest-row
 * mode (QRY_LATEST_COLUMN): false if it names no table. *names (each and the array) is
 * the caller's. */
typedef bool (*qry_table_columns_fn)(void *arg, const char *ref, char ***names, size_t *n,
                                     bool *latest);
/* Narrows `SELECT *, <window function> ... FROM t` subqueries to the columns of t the
 * statement names, and turns the latest-row idiom (row_number() ... = 1) over a lake table
 * into its latest-row mode (qry_project.c says when each is safe). Edits q in place, its
 * offset map with it; false if nothing changed. */
bool qry_sql_project(qry_sql *q, qry_table_columns_fn columns, void *arg);
/* One edit of a statement's text: len bytes at start replaced by text (len 0: inserted). */
typedef struct qry_edit {
    size_t start, len;
    char *text;               /* owned */
} qry_edit;
/* Appends an edit (text_len bytes of text copied) to *ed. */
void qry_edit_add(qry_edit **ed, size_t *n, size_t start, size_t len, const char *text,
                  size_t text_len);
/* Applies ed[0..n) (ascending, not overlapping) to q, its offset map with it; frees ed and
 * its texts. false if nothing changed (n == 0, or edits that overlap: q untouched). */
bool qry_sql_apply(qry_sql *q, qry_edit *ed, size_t n);

/* The columns of a table reference as qry_table_columns_fn gives them, with their declared
 * types (`SELECT *` decltypes, NULL entries allowed); *types is the caller's like *names. */
typedef bool (*qry_table_types_fn)(void *arg, const char *ref, char ***names, char ***types,
                                   size_t *n, bool *lake);
/* Turns a top-level `SELECT <group columns and count/sum aggregates> FROM <lake table>
 * [WHERE <columns and literals only>] GROUP BY <columns> [HAVING ...] [ORDER BY ...]
 * [LIMIT ...]` into one the virtual table pre-aggregates (qry_agg.c says exactly what it
 * accepts and why the answer is the same). Edits q in place; false if nothing changed. */
bool qry_sql_aggregate(qry_sql *q, qry_table_types_fn columns, void *arg);

/* Offset in the original SQL of an offset in the rewritten text. */
size_t qry_sql_original_offset(const qry_sql *q, size_t offset);
void qry_sql_clear(qry_sql *q);

/* ---- the scan's producer side (qry_scan.c) --------------------------------- */

/* How a column's JSON value becomes an SQL value (its Glue type). */
typedef enum { QRY_COL_TEXT, QRY_COL_BIGINT, QRY_COL_DOUBLE, QRY_COL_BOOLEAN } qry_col_kind;

typedef struct qry_col {
    const char *name;         /* borrowed from the catalog table */
    qry_col_kind kind;
} qry_col;

/* One converted value: SQLITE_NULL, SQLITE_INTEGER (also booleans), SQLITE_FLOAT or
 * SQLITE_TEXT (len bytes at the batch's text + off). */
typedef struct qry_cell {
    int type;
    size_t len;
    union {
        sqlite3_int64 i;
        double d;
        size_t off;
    } v;
} qry_cell;

/* Rows of one object, converted: n_rows * n_cols cells, row-major, for the scan's columns. */
typedef struct qry_batch {
    size_t object;            /* index into the scan's paths */
    size_t n_rows, cap_rows, n_cols;
    qry_cell *cells;
    char *text;
    size_t text_len, text_cap;
    bool opened;              /* first batch of an object that could be opened */
    bool from_cache;          /* with opened: the object is served from the query cache */
    uint64_t bytes;           /* its stored size, with opened */
    bool object_end;          /* last batch of the object */
    char *error;              /* reading failed here: the scan ends with this message */
    size_t rg_read, rg_skipped; /* Parquet row groups of the object decoded / skipped */
    size_t cells_cap;         /* a kept batch (qry_scan.c): the cells' capacity in cells */
    struct qry_batch *next;
} qry_batch;

/* A WHERE constraint on a data column that Parquet row-group statistics can decide: the
 * group is skipped when no value in [min, max] can satisfy it. SQLite checks every row
 * again, so skipping only saves work. */
typedef enum { QRY_SF_EQ, QRY_SF_LT, QRY_SF_LE, QRY_SF_GT, QRY_SF_GE } qry_sf_op;
typedef struct qry_stat_filter {
    const char *column;       /* borrowed */
    qry_sf_op op;
    bool numeric;             /* num holds the value; else text */
    double num;
    char *text;               /* owned by whoever made the filter */
} qry_stat_filter;
/* True when a row group with these statistics (JSON values, NULL: unknown) cannot hold a
 * row satisfying f. */
bool qry_stat_filter_excludes(const qry_stat_filter *f, const json_t *min, const json_t *max);

typedef struct qry_scan qry_scan;

/* Starts reading paths[0..n_paths) (NULL entries: skipped) on n_workers threads (0: inline,
 * in qry_scan_next). paths, path and cols are borrowed until qry_scan_stop. Never NULL. */
qry_scan *qry_scan_start(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                         const qry_col *cols, size_t n_cols, size_t n_workers);
/* The same, serving objects from the query cache at cache_path (NULL: none) when their
 * entry matches the file and json_path (the table's JsonPath text). Both borrowed. */
qry_scan *qry_scan_start_cached(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                                const qry_col *cols, size_t n_cols, size_t n_workers,
                                const char *cache_path, const char *json_path);
/* The same, skipping the Parquet row groups whose statistics exclude one of filters
 * (borrowed until qry_scan_stop). */
qry_scan *qry_scan_start_filtered(char *const *paths, size_t n_paths, const cat_jsonpath *path,
                                  const qry_col *cols, size_t n_cols, size_t n_workers,
                                  const char *cache_path, const char *json_path,
                                  const qry_stat_filter *filters, size_t n_filters);
/* The next batch of object `object`; objects must be asked for in order, each until a
 * batch with object_end. Blocks until the batch is ready. Caller frees with qry_batch_free. */
qry_batch *qry_scan_next(qry_scan *s, size_t object);
void qry_batch_free(qry_batch *b);
/* On a scan thread about to end: closes its kept query-cache connection and jansson arena. */
void qry_scan_thread_release(void);
/* Runs fn(arg) on a kept scan thread (qry_pool.c), a new one when none is idle, then
 * done(arg) (NULL: none) once that thread is idle again, so a job submitted after done()
 * reuses it. False when no thread can be had (nothing run). Any thread. */
bool qry_pool_run(void (*fn)(void *), void (*done)(void *), void *arg);
/* Threads the pool has now, busy or idle (tests). */
size_t qry_pool_threads(void);
/* Stops the workers (mid-object is fine), joins them and frees s and unconsumed batches. */
void qry_scan_stop(qry_scan *s);
/* Converts v (NULL: absent) as the OpenX SerDe reads it with ignore.malformed.json:
 * unconvertible values are NULL; text goes into b's text. v is borrowed. */
void qry_cell_from_json(qry_batch *b, qry_col_kind kind, json_t *v, qry_cell *out);

/* Appends n bytes of text to b's text and makes out a TEXT cell of them. */
void qry_cell_put_text(qry_batch *b, qry_cell *out, const char *s, size_t n);
/* Converts a Parquet cell exactly as qry_cell_from_json converts the JSON value the cell
 * stands for (pq_cell). v is borrowed. */
void qry_cell_from_pq(qry_batch *b, qry_col_kind kind, const pq_cell *v, qry_cell *out);
/* Appends every row of the Parquet file f (borrowed) for cols to b (qry_parquet.c): only the
 * used columns decoded, row groups that filters exclude by their statistics skipped (counted
 * in b->rg_skipped, the others in rg_read); on a damaged file b->error says why. */
void qry_batch_from_parquet(qry_batch *b, pq_file *f, const qry_col *cols, size_t n_cols,
                            const qry_stat_filter *filters, size_t n_filters);

/* Converts a cached value (NULL: absent) exactly as qry_cell_from_json converts the JSON
 * value it was stored from. v is borrowed. */
void qry_cell_from_cache(qry_batch *b, qry_col_kind kind, const cat_cache_value *v,
                         qry_cell *out);
/* Appends the rows of one cached chunk (borrowed) for cols to b; false if it is malformed. */
bool qry_batch_from_chunk(qry_batch *b, const void *data, size_t len, const qry_col *cols,
                          size_t n_cols);


/* ---- latest row per key (qry_latest.c) ------------------------------------------------ */

/* The hidden column of every lake table through which the rewrite asks for the latest row
 * per key (qry_latest.c); not declared when the table has a column of that name. */
#define QRY_LATEST_COLUMN "__salespipe_latest"

/* One value as SQLite would see it from xColumn (text borrowed). */
typedef struct qry_value {
    int type;                 /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT, SQLITE_TEXT */
    sqlite3_int64 i;
    double d;
    const char *s;
    size_t len;
} qry_value;

typedef struct qry_latest_spec {
    size_t keys[16];          /* PARTITION BY columns, `SELECT *` indices */
    size_t n_keys;
    size_t order;             /* the ORDER BY column */
    bool desc;
} qry_latest_spec;

/* Parses "p=<i>[,<i>...];o=<i>;d=<0|1>" (indices < n_columns); false if it is not that. */
bool qry_latest_spec_parse(const char *text, size_t n_columns, qry_latest_spec *out);
/* <0, 0, >0 as SQLite orders a and b under the BINARY collation. */
int qry_value_cmp(const qry_value *a, const qry_value *b);
/* Folds v into h; values equal under qry_value_cmp hash alike. */
uint64_t qry_value_hash(const qry_value *v, uint64_t h);
/* The value a batch cell (text in the batch's text) gives SQLite (a NaN is NULL). */
void qry_value_from_cell(const qry_cell *c, const char *text, qry_value *out);

/* ---- aggregates inside the scan (qry_agg.c) -------------------------------------------- */

/* The hidden column through which the rewrite hands the aggregate spec to the scan, and
 * the hidden columns that carry each group's partial aggregates (QRY_AGG_PARTIAL_PREFIX
 * + 0..QRY_AGG_PARTIALS-1). Declared with QRY_LATEST_COLUMN, all or none of them. */
#define QRY_AGG_COLUMN "__salespipe_agg"
#define QRY_AGG_PARTIAL_PREFIX "__salespipe_p"
enum { QRY_AGG_PARTIALS = 8, QRY_AGG_KEYS_MAX = 16, QRY_AGG_WHERE_MAX = 32 };

typedef enum { QRY_AGG_COUNT_STAR, QRY_AGG_COUNT, QRY_AGG_SUM, QRY_AGG_SUM_PRODUCT } qry_agg_kind;
typedef struct qry_agg_fn {
    qry_agg_kind kind;
    size_t a, b;              /* argument columns (`SELECT *` indices): COUNT, SUM a; a * b */
} qry_agg_fn;

/* "g=<i>[,<i>..];a=<fn>[,<fn>..];w=[<i>[,<i>..]]": GROUP BY columns, the aggregates
 * (n: count(*), c<i>: count(col), s<i>: sum(col), m<i>*<j>: sum(col * col)) and the columns
 * the WHERE names. */
typedef struct qry_agg_spec {
    size_t keys[QRY_AGG_KEYS_MAX];
    size_t n_keys;
    qry_agg_fn fns[QRY_AGG_PARTIALS];
    size_t n_fns;
    size_t where[QRY_AGG_WHERE_MAX];
    size_t n_where;
} qry_agg_spec;

/* Parses a spec (indices < n_columns); false if it is not one. */
bool qry_agg_spec_parse(const char *text, size_t n_columns, qry_agg_spec *out);

/* One partial aggregate, accumulated as SQLite's count() and sum() accumulate (sum: an
 * exact integer sum until a real arrives or it overflows, beside a real sum). */
typedef struct qry_agg_acc {
    sqlite3_int64 n;          /* rows counted / non-NULL values summed */
    sqlite3_int64 i;
    double r;
    bool approx, overflow;
} qry_agg_acc;

/* Folds one row's arguments (b only for SUM_PRODUCT) into acc. */
void qry_agg_acc_add(qry_agg_acc *acc, qry_agg_kind kind, const qry_value *a,
                     const qry_value *b);
/* The partial as an SQL value: the count, or the sum (NULL over no values; integer while
 * exact, else real). false if an integer sum overflowed (SQLite's sum() fails then). */
bool qry_agg_acc_value(const qry_agg_acc *acc, qry_agg_kind kind, qry_value *out);

/* ---- Athena metadata (athena_meta.c) --------------------------------------------------- */

/* A random (v4) UUID, as Athena's QueryExecutionId and NamedQueryId. */
void qry_uuid_v4(char out[37]);
/* WorkGroupName: 1-128 of [a-zA-Z0-9._-]. */
bool qry_workgroup_name_valid(const char *name);
/* Makes the `primary` workgroup if the catalog has none yet. */
bool qry_workgroup_ensure_primary(cat_catalog *c, sp_err *e);
/* The workgroup's ResultConfiguration.OutputLocation (heap, NULL if it has none) and
 * EnforceWorkGroupConfiguration; 400 InvalidRequestException if it does not exist or is
 * DISABLED. */
bool qry_workgroup_resolve(cat_catalog *c, const char *name, char **location, bool *enforce,
                           sp_err *e);

/* The metadata operations, each as an Athena operation body over catalog connection c (not
 * shared with another thread while the call runs): a new response or NULL with e set. */
typedef json_t *(*qry_meta_fn)(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_create_workgroup(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_get_workgroup(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_list_workgroups(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_update_workgroup(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_delete_workgroup(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_create_named_query(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_get_named_query(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_delete_named_query(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_list_named_queries(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_batch_get_named_query(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_list_data_catalogs(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_get_data_catalog(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_list_databases(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_get_database(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_list_table_metadata(cat_catalog *c, json_t *req, sp_err *e);
json_t *qry_op_get_table_metadata(cat_catalog *c, json_t *req, sp_err *e);

#endif
