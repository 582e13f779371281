/* query: the Athena role. SQL over the catalog's tables, run by SQLite: every catalog table
 * is a virtual table (module "lake") that streams its lake objects record by record,
 * exposes the partition keys as columns, converts only the columns the query uses and
 * prunes partitions from WHERE constraints on partition keys. Each catalog database is an
 * attached schema named after it, so sales_db.kinesis_firehose_destination_yb resolves as
 * in Athena; the default database's tables also resolve unqualified.
 *
 * Athena/Presto names SQLite lacks are provided as functions or by rewriting the SQL:
 * from_iso8601_timestamp, from_iso8601_date, date_trunc, date_format, date_parse,
 * to_unixtime, from_unixtime, year/month/day/hour/minute/second, approx_distinct,
 * cardinality, json_extract_scalar, json_format, concat, and CAST / TRY_CAST to Athena
 * type names (bigint, integer, double, real, varchar, boolean, timestamp, date) plus
 * TIMESTAMP '...' and DATE '...' literals. Timestamps are text 'YYYY-MM-DD HH:MM:SS.mmm'
 * (with ' UTC' for time-zone-aware values), which sorts and compares correctly. Nested
 * values (struct, array) are JSON text.
 */
#ifndef SP_QUERY_H
#define SP_QUERY_H

#include "catalog/catalog.h"
#include "core/core.h"
#include "lake/lake.h"

#include <stdint.h>
#include <stdio.h>

/* Athena limits a query string to 256 KB (262144 bytes). */
enum { QRY_SQL_MAX = 262144 };

/* A query's time budget. Athena's default DML query timeout is 30 minutes (a service
 * quota); one machine shares its cores with the whole pipeline, so the default here is 5. */
enum { QRY_TIMEOUT_DEFAULT_SECONDS = 300 };

/* The switch that stops one running query from another thread (StopQueryExecution). */
typedef struct qry_stop qry_stop;

/* Caller destroys; destroy only once no query uses it. */
qry_stop *qry_stop_new(void);
void qry_stop_destroy(qry_stop *s);
/* Any thread: makes the query that runs with s (now or next, until qry_stop_reset) end with
 * 499 QueryCancelled. Interrupts the query's SQLite connection under s's lock, which the
 * query also holds while it closes that connection, so the connection is never closed
 * under sqlite3_interrupt. */
void qry_stop_request(qry_stop *s);
/* Re-arms s for the next query. Call only while no query runs with s. */
void qry_stop_reset(qry_stop *s);

typedef struct qry_opts {
    int64_t timeout_ms;     /* over this the query ends with 408 QueryTimeout; 0: no limit */
    qry_stop *stop;         /* NULL: the query cannot be stopped from outside */
} qry_opts;

typedef struct qry_result {
    size_t n_columns;
    char **names;           /* column labels */
    char **types;           /* Athena type names: varchar, bigint, double, boolean, ... */
    size_t n_rows;
    char **cells;           /* n_rows * n_columns, row-major; NULL is SQL NULL (qry_run: NULL) */
    size_t objects_opened;  /* lake objects the scans opened (shows pruning at work) */
    size_t objects_from_cache; /* of those, served from the crawl's query cache (no parsing) */
    size_t partitions_scanned;
    uint64_t bytes_scanned;  /* stored bytes of the objects opened (Athena's DataScanned) */
    size_t row_groups_read;    /* Parquet row groups decoded */
    size_t row_groups_skipped; /* Parquet row groups whose statistics exclude the filter */
} qry_result;

/* Where qry_run sends the rows as SQLite produces them. */
typedef struct qry_sink {
    /* Once, before any row: the column labels, and the declared types known before the
     * first row (NULL where only values will tell); both borrowed for the call. */
    bool (*begin)(void *arg, size_t n_columns, char *const *names, const char *const *decl,
                  sp_err *e);
    /* Each row: n_columns values as text (NULL: SQL NULL; booleans 0/1), borrowed. */
    bool (*row)(void *arg, const char *const *cells, sp_err *e);
    void *arg;
} qry_sink;

/* Runs one SQL statement (SELECT / WITH / VALUES / EXPLAIN) over the catalog with
 * database as the default schema (NULL: none), within opts (NULL: the default timeout, no
 * stop switch). The statement only reads: an authorizer admits reads of the catalog's
 * tables, SELECT and the harmless functions, and refuses everything else (ATTACH, PRAGMA,
 * writes, temp tables, load_extension) when it is prepared.
 * With a sink, rows go to it as they come and the result holds only the columns, their
 * final types, the row count and the statistics (cells NULL); without one the result holds
 * the rows too. Returns the result the caller destroys, or NULL with e set: 400
 * InvalidRequestException "line L:C: <problem>" for bad or refused SQL, 408 QueryTimeout
 * over the time limit, 499 QueryCancelled when stopped, or the sink's error. The catalog
 * and lake are borrowed for the call. */
qry_result *qry_run(cat_catalog *cat, lake *lk, const char *database, const char *sql,
                    const qry_opts *opts, const qry_sink *sink, sp_err *e);
/* qry_run without a sink. */
qry_result *qry_exec(cat_catalog *cat, lake *lk, const char *database, const char *sql,
                     const qry_opts *opts, sp_err *e);
void qry_result_destroy(qry_result *r);

typedef enum { QRY_FORMAT_TABLE, QRY_FORMAT_CSV, QRY_FORMAT_JSON } qry_format;

/* "table" | "csv" | "json"; false on anything else. */
bool qry_format_parse(const char *name, qry_format *out);
/* table: aligned columns with a header; csv: RFC 4180 with a header row; json: one array
 * of objects, bigint/double/boolean as JSON numbers/booleans. */
void qry_result_print(const qry_result *r, qry_format format, FILE *out);

/* ---- the Athena API (athena_api.c) ------------------------------------------------------- */

/* The AmazonAthena endpoint's state: the metadata of query executions (kept in memory, the
 * newest QRY_EXECUTIONS_MAX, no rows) and one thread that runs them in submission order on
 * its own catalog connection, streaming each result as CSV into the lake at its
 * OutputLocation; GetQueryResults pages are read back from that object. */
typedef struct qry_athena qry_athena;

/* cat and lk are borrowed and must outlive the result (cat only to open the thread's own
 * connection). timeout_seconds bounds each query (0: no limit). Caller destroys. */
qry_athena *qry_athena_new(cat_catalog *cat, lake *lk, long long timeout_seconds, sp_err *e);
/* Lets a running query finish, cancels queued ones, joins the thread and frees. */
void qry_athena_destroy(qry_athena *a);
/* Returns once no query is queued or running (tests and fuzz targets: everything an input
 * started has finished before the next one). Any thread; takes the service's lock briefly. */
void qry_athena_wait_idle(qry_athena *a);
/* The AmazonAthena operations; ctx is a qry_athena. */
extern const sp_op qry_athena_ops[];


/* Installs the query scans' jansson allocation hooks (per-thread arenas, plain malloc/free
 * elsewhere). jansson's hooks are process-wide, so this must run before any other thread uses
 * jansson: the binary calls it first thing. Idempotent; scans call it too, for programs that
 * did not. */
void qry_init(void);

#endif
