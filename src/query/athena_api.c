/* The AmazonAthena JSON 1.1 endpoint: StartQueryExecution queues a query; one thread runs
 * the queue in order with qry_run on a catalog connection of its own and streams each
 * result as Athena does, row by row into a CSV object at <OutputLocation><QueryExecutionId>.csv
 * in the lake (published atomically when the query ends; a failed or stopped query leaves
 * none); GetQueryExecution reports QUEUED/RUNNING/SUCCEEDED/FAILED/CANCELLED with timings;
 * GetQueryResults pages are read back from that object (header row first, as Athena does
 * for SELECT) with typed ColumnInfo, the NextToken holding the row number and byte offset
 * where the next page starts, so a page costs one page of memory whatever the result size;
 * StopQueryExecution interrupts a running query; ListQueryExecutions (per workgroup),
 * BatchGetQueryExecution and GetQueryRuntimeStatistics complete the set. Workgroups, named
 * queries and the catalog view are athena_meta.c's, on a catalog connection of the API's own.
 *
 * Executions' metadata (no rows) lives in memory, newest first, at most QRY_EXECUTIONS_MAX
 * (finished ones beyond that are forgotten; their CSVs stay in the lake). Shapes follow
 * botocore's athena model. */
#include "qry_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

/* Executions remembered; GetQueryResults pages at most 1000 rows (MaxQueryResults);
 * ListQueryExecutions at most 50 ids (MaxQueryExecutionsCount). */
enum { QRY_EXECUTIONS_MAX = 1000, QRY_RESULTS_PAGE_MAX = 1000, QRY_LIST_PAGE_MAX = 50 };
/* Queries queued or running at once. Athena caps active DML queries per account with a
 * service quota and answers TooManyRequestsException (CONCURRENT_QUERY_LIMIT_EXCEEDED)
 * past it; here the cap also bounds the executions kept in memory: at most
 * QRY_EXECUTIONS_MAX finished plus QRY_ACTIVE_MAX active. */
enum { QRY_ACTIVE_MAX = 100 };
/* QueryExecutionId is at most 128 characters; ours are UUIDs. */
enum { QRY_ID_MAX = 128, QRY_UUID_LEN = 36 };

static const char S3_SCHEME[] = "s3://";
static const char WORKGROUP_PRIMARY[] = "primary";
static const char ENGINE_VERSION[] = "Athena engine version 3";

typedef enum { ST_QUEUED, ST_RUNNING, ST_SUCCEEDED, ST_FAILED, ST_CANCELLED } qry_state;
static const char *const STATE_NAMES[] = {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED",
                                          "CANCELLED"};

typedef struct qry_execution {
    struct qry_execution *next;   /* older */
    uint64_t seq;
    char id[QRY_UUID_LEN + 1];
    char *sql, *database;         /* database may be NULL */
    char *workgroup;
    char *bucket, *key;           /* where the CSV goes */
    char *output;                 /* s3://bucket/key */
    qry_state state;
    char *reason;                 /* FAILED/CANCELLED: why */
    int athena_error_type;        /* FAILED: Athena's ErrorType (1100 query, 206 timeout) */
    int64_t submitted_ms, started_ms, completed_ms;
    /* SUCCEEDED: the result's shape and statistics; its rows are only in the CSV object */
    size_t n_columns;
    char **names, **types;
    size_t n_rows;
    uint64_t bytes_scanned;
    bool busy;                    /* the thread is running it: not to be freed */
} qry_execution;

struct qry_athena {
    cat_catalog *cat;             /* only reopened by the thread */
    /* The thread's own catalog connection, kept between queries (every statement on it
     * reads what is committed when it runs, so a crawl or Glue change between queries is
     * seen as with a fresh one); dropped after a failed query, reopened on the next. */
    cat_catalog *run_cat;
    cat_catalog *meta;            /* the API's own connection: workgroups, named queries, metadata */
    lake *lk;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    pthread_t thread;
    bool thread_started, stopping;
    qry_execution *execs;         /* newest first */
    size_t n_execs;
    uint64_t next_seq;
    int64_t timeout_ms;           /* per query; 0: no limit */
    /* Stops the one running query. Reset (under lock) when the thread starts a query;
     * StopQueryExecution and destroy request it (under lock) for the RUNNING execution.
     * Lock order: a->lock, then the switch's own lock (qry_stop_request). */
    qry_stop *stop;
};

/* How much CSV is gathered before it is written to the result object. */
enum { QRY_CSV_FLUSH_BYTES = 64 * 1024 };

/* ---- CSV ------------------------------------------------------------------------------ */

/* The result as Athena writes its CSV files: a header row, every value in double quotes
 * (quotes doubled), NULL as an empty unquoted field, "\n" line ends; booleans (0/1 inside
 * SQLite) as true/false. */
typedef struct csv_out {
    lake_writer *w;
    sp_str buf;
    bool *boolean;            /* per column */
    size_t n_columns;
} csv_out;

static void csv_quoted(sp_str *s, const char *v)
{
    sp_str_putc(s, '"');
    for (; *v; v++) {
        if (*v == '"') sp_str_putc(s, '"');
        sp_str_putc(s, *v);
    }
    sp_str_putc(s, '"');
}

static bool csv_flush(csv_out *c, bool force, sp_err *e)
{
    if (sp_str_failed(&c->buf)) {
        sp_err_internal(e, "cannot build the result file");
        return false;
    }
    if (!force && c->buf.len < QRY_CSV_FLUSH_BYTES) return true;
    bool ok = lake_writer_write(c->w, c->buf.buf, c->buf.len, e);
    sp_str_reset(&c->buf);
    return ok;
}

static bool csv_begin(void *arg, size_t n, char *const *names, const char *const *decl, sp_err *e)
{
    csv_out *c = arg;
    c->n_columns = n;
    c->boolean = calloc(n + 1, sizeof *c->boolean);
    if (!c->boolean) abort();
    for (size_t i = 0; i < n; i++) {
        c->boolean[i] = decl[i] && !strcmp(decl[i], "boolean");
        if (i) sp_str_putc(&c->buf, ',');
        csv_quoted(&c->buf, names[i]);
    }
    sp_str_putc(&c->buf, '\n');
    return csv_flush(c, false, e);
}

static bool csv_row(void *arg, const char *const *cells, sp_err *e)
{
    csv_out *c = arg;
    for (size_t i = 0; i < c->n_columns; i++) {
        if (i) sp_str_putc(&c->buf, ',');
        const char *v = cells[i];
        if (v && c->boolean[i]) v = strcmp(v, "0") ? "true" : "false";
        if (v) csv_quoted(&c->buf, v);
    }
    sp_str_putc(&c->buf, '\n');
    return csv_flush(c, false, e);
}

/* ---- executions ------------------------------------------------------------------------- */

static void execution_free(qry_execution *x)
{
    free(x->sql);
    free(x->database);
    free(x->workgroup);
    free(x->bucket);
    free(x->key);
    free(x->output);
    free(x->reason);
    for (size_t i = 0; i < x->n_columns; i++) {
        free(x->names[i]);
        free(x->types[i]);
    }
    free(x->names);
    free(x->types);
    free(x);
}

static qry_execution *find(qry_athena *a, const char *id)
{
    for (qry_execution *x = a->execs; x; x = x->next)
        if (!strcmp(x->id, id)) return x;
    return NULL;
}

static void not_found(const char *id, sp_err *e)
{
    sp_err_set(e, 400, "InvalidRequestException", "QueryExecution %s was not found", id);
}

/* Forgets the oldest finished executions beyond the cap. */
static void trim(qry_athena *a)
{
    qry_execution **p = &a->execs;
    size_t seen = 0;
    while (*p) {
        qry_execution *x = *p;
        if (++seen > QRY_EXECUTIONS_MAX && x->state >= ST_SUCCEEDED && !x->busy) {
            *p = x->next;
            execution_free(x);
            a->n_execs--;
            continue;
        }
        p = &x->next;
    }
}

void qry_uuid_v4(char out[QRY_UUID_LEN + 1])
{
    unsigned char b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n > 0) got += (size_t)n;
    }
    b[6] = (unsigned char)((b[6] & 0x0F) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3F) | 0x80);
    snprintf(out, QRY_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
}

/* ---- the query thread ------------------------------------------------------------------- */

static void finish(qry_execution *x, qry_state state, const char *reason)
{
    x->state = state;
    x->completed_ms = sp_clock_wall_ms();
    free(x->reason);
    x->reason = reason ? strdup(reason) : NULL;
}

/* Runs x (RUNNING, so nobody frees it) without the lock: streams its rows into the result
 * object, published only if the query succeeds. Returns the result's shape (no rows). */
static qry_result *run_one(qry_athena *a, qry_execution *x, sp_err *e)
{
    if (!a->run_cat) a->run_cat = cat_catalog_reopen(a->cat, e);
    cat_catalog *cat = a->run_cat;
    if (!cat) return NULL;
    char stack[4096];
    csv_out c = {0};
    sp_str_init(&c.buf, stack, sizeof stack, SP_STR_NO_MAX);
    c.w = lake_writer_open(a->lk, x->bucket, x->key, e);
    qry_result *r = NULL;
    if (c.w) {
        qry_opts opts = {.timeout_ms = a->timeout_ms, .stop = a->stop};
        qry_sink sink = {.begin = csv_begin, .row = csv_row, .arg = &c};
        r = qry_run(cat, a->lk, x->database, x->sql, &opts, &sink, e);
    }
    if (!r) { /* whatever the failure left behind goes with the connection */
        cat_catalog_close(cat);
        a->run_cat = NULL;
    }
    bool ok = r && csv_flush(&c, true, e) && lake_writer_commit(c.w, e);
    if (r && !ok) {
        sp_err_wrap(e, x->output);
        qry_result_destroy(r);
        r = NULL;
    } else if (!r) {
        lake_writer_abort(c.w);
    }
    sp_str_release(&c.buf);
    free(c.boolean);
    return r;
}

static qry_execution *oldest_queued(qry_athena *a)
{
    qry_execution *found = NULL;
    for (qry_execution *x = a->execs; x; x = x->next)
        if (x->state == ST_QUEUED) found = x;
    return found;
}

static void *query_thread(void *arg)
{
    qry_athena *a = arg;
    pthread_mutex_lock(&a->lock);
    for (;;) {
        qry_execution *x = NULL;
        while (!a->stopping && !(x = oldest_queued(a))) pthread_cond_wait(&a->wake, &a->lock);
        if (a->stopping) break;
        x->state = ST_RUNNING;
        x->busy = true;
        x->started_ms = sp_clock_wall_ms();
        qry_stop_reset(a->stop);
        pthread_mutex_unlock(&a->lock);
        sp_err e = {0};
        qry_result *r = run_one(a, x, &e);
        pthread_mutex_lock(&a->lock);
        x->busy = false;
        if (x->state == ST_CANCELLED) {
            /* StopQueryExecution while it ran (it may have finished first: its object
             * stays, as Athena keeps what a query wrote) */
        } else if (r) {
            x->n_columns = r->n_columns;
            x->names = r->names;
            x->types = r->types;
            r->names = r->types = NULL;
            r->n_columns = 0;
            x->n_rows = r->n_rows;
            x->bytes_scanned = r->bytes_scanned;
            finish(x, ST_SUCCEEDED, NULL);
        } else if (!strcmp(e.code, "QueryCancelled")) {
            finish(x, ST_CANCELLED, e.msg);
        } else {
            x->athena_error_type = !strcmp(e.code, "QueryTimeout") ? 206 : 1100;
            finish(x, ST_FAILED, e.msg);
        }
        qry_result_destroy(r);
        trim(a);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

/* ---- JSON shapes ------------------------------------------------------------------------ */

static json_t *date_json(int64_t ms) { return json_real((double)ms / 1000.0); }

static const char *statement_type(const char *sql)
{
    while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r' || *sql == '(') sql++;
    return strncasecmp(sql, "EXPLAIN", 7) ? "DML" : "UTILITY";
}

static json_t *execution_json(const qry_execution *x)
{
    json_t *status = json_pack("{s:s, s:o}", "State", STATE_NAMES[x->state],
                               "SubmissionDateTime", date_json(x->submitted_ms));
    if (x->state >= ST_SUCCEEDED)
        json_object_set_new(status, "CompletionDateTime", date_json(x->completed_ms));
    if (x->reason) {
        json_object_set_new(status, "StateChangeReason", json_string(x->reason));
        if (x->state == ST_FAILED)
            /* ErrorCategory 2 = USER; ErrorType 1100 = query/schema problem, 206 = query
             * timed out (Athena's error catalog) */
            json_object_set_new(status, "AthenaError",
                                json_pack("{s:i, s:i, s:b, s:s}", "ErrorCategory", 2,
                                          "ErrorType", x->athena_error_type, "Retryable", 0,
                                          "ErrorMessage", x->reason));
    }
    int64_t end = x->state >= ST_SUCCEEDED ? x->completed_ms : sp_clock_wall_ms();
    int64_t queued = (x->started_ms ? x->started_ms : end) - x->submitted_ms;
    int64_t engine = x->started_ms ? end - x->started_ms : 0;
    json_t *stats = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "EngineExecutionTimeInMillis",
                              (json_int_t)engine, "DataScannedInBytes",
                              (json_int_t)x->bytes_scanned,
                              "TotalExecutionTimeInMillis", (json_int_t)(end - x->submitted_ms),
                              "QueryQueueTimeInMillis", (json_int_t)queued,
                              "QueryPlanningTimeInMillis", (json_int_t)0,
                              "ServiceProcessingTimeInMillis", (json_int_t)0);
    json_t *ctx = json_object();
    if (x->database) json_object_set_new(ctx, "Database", json_string(x->database));
    json_object_set_new(ctx, "Catalog", json_string("awsdatacatalog"));
    return json_pack("{s:s, s:s, s:s, s:{s:s}, s:o, s:o, s:o, s:s, s:{s:s, s:s}, s:{}}",
                     "QueryExecutionId", x->id, "Query", x->sql, "StatementType",
                     statement_type(x->sql), "ResultConfiguration", "OutputLocation", x->output,
                     "QueryExecutionContext", ctx, "Status", status, "Statistics", stats,
                     "WorkGroup", x->workgroup, "EngineVersion", "SelectedEngineVersion",
                     "AUTO", "EffectiveEngineVersion", ENGINE_VERSION, "SubstatementType");
}

/* Athena's precision per type, as ColumnInfo reports it. */
static int precision_of(const char *type)
{
    if (!strcmp(type, "bigint")) return 19;
    if (!strcmp(type, "integer")) return 10;
    if (!strcmp(type, "double")) return 17;
    if (!strcmp(type, "boolean") || !strcmp(type, "date")) return 0;
    if (!strcmp(type, "timestamp")) return 3;
    return 2147483647; /* varchar and the rest: unbounded */
}

static json_t *column_info(const qry_execution *r)
{
    json_t *cols = json_array();
    for (size_t c = 0; c < r->n_columns; c++)
        json_array_append_new(
            cols, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:b}", "CatalogName",
                            "hive", "SchemaName", "", "TableName", "", "Name", r->names[c],
                            "Label", r->names[c], "Type", r->types[c], "Precision",
                            precision_of(r->types[c]), "Scale", 0, "Nullable", "UNKNOWN",
                            "CaseSensitive", !strcmp(r->types[c], "varchar")));
    return cols;
}

/* ---- ops -------------------------------------------------------------------------------- */

static void invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);
static void invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "InvalidRequestException", fmt, ap);
    va_end(ap);
}

/* Splits "s3://bucket/prefix/" into bucket and the CSV key for id. */
static bool output_place(qry_athena *a, const char *loc, const char *id, char **bucket,
                         char **key, sp_err *e)
{
    if (strncmp(loc, S3_SCHEME, strlen(S3_SCHEME))) {
        invalid(e, "OutputLocation '%s' must be an s3://bucket/prefix/ location", loc);
        return false;
    }
    const char *b = loc + strlen(S3_SCHEME);
    size_t blen = strcspn(b, "/");
    *bucket = strndup(b, blen);
    const char *prefix = b[blen] ? b + blen + 1 : "";
    size_t plen = strlen(prefix);
    sp_str k;
    sp_str_init(&k, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&k, "%s%s%s.csv", prefix, plen && prefix[plen - 1] != '/' ? "/" : "", id);
    *key = sp_str_finish(&k, NULL);
    sp_err kerr = {0};
    if (!lake_bucket_name_valid(*bucket) || !lake_bucket_exists(a->lk, *bucket)) {
        invalid(e, "Unable to verify/create output bucket %s", *bucket);
    } else if (!lake_key_valid(*key, &kerr)) {
        invalid(e, "OutputLocation '%s': %s", loc, kerr.msg);
    }
    if (sp_err_failed(e)) {
        free(*bucket);
        free(*key);
        *bucket = *key = NULL;
        return false;
    }
    return true;
}

static json_t *op_start(qry_athena *a, json_t *req, sp_err *e)
{
    const char *sql = sp_json_str(req, "QueryString", true, e);
    json_t *ctx = sp_json_object(req, "QueryExecutionContext", false, e);
    json_t *rc = sp_json_object(req, "ResultConfiguration", false, e);
    const char *wg = sp_json_str(req, "WorkGroup", false, e);
    const char *db = ctx ? sp_json_str(ctx, "Database", false, e) : NULL;
    const char *loc = rc ? sp_json_str(rc, "OutputLocation", false, e) : NULL;
    if (sp_err_failed(e)) return NULL;
    size_t n = strlen(sql);
    if (n == 0 || n > QRY_SQL_MAX) {
        invalid(e, "QueryString must be 1 to %d bytes", QRY_SQL_MAX);
        return NULL;
    }
    if (!wg) wg = WORKGROUP_PRIMARY;
    if (!qry_workgroup_name_valid(wg)) {
        invalid(e, "WorkGroup '%.128s' must be 1 to 128 characters of [a-zA-Z0-9._-]", wg);
        return NULL;
    }
    /* The workgroup's OutputLocation is used when the request gives none, and over the
     * request's when the workgroup enforces its configuration (as Athena does). */
    char *wg_loc = NULL;
    bool enforce = false;
    if (!qry_workgroup_resolve(a->meta, wg, &wg_loc, &enforce, e)) return NULL;
    if (wg_loc && (enforce || !loc || !*loc)) loc = wg_loc;
    if (!loc || !*loc) {
        free(wg_loc);
        invalid(e, "No output location provided. An output location is required either "
                   "through the Workgroup result configuration setting or as an API input.");
        return NULL;
    }
    if (db && (!*db || strlen(db) > CAT_NAME_MAX)) {
        free(wg_loc);
        invalid(e, "QueryExecutionContext.Database must be 1 to %d characters", CAT_NAME_MAX);
        return NULL;
    }
    size_t active = 0;
    for (qry_execution *y = a->execs; y; y = y->next) active += y->state < ST_SUCCEEDED;
    if (active >= QRY_ACTIVE_MAX) {
        free(wg_loc);
        sp_err_set(e, 400, "TooManyRequestsException",
                   "%zu queries are queued or running; the limit is %d", active, QRY_ACTIVE_MAX);
        json_t *extra = json_pack("{s:s}", "Reason", "CONCURRENT_QUERY_LIMIT_EXCEEDED");
        sp_err_set_extra(e, extra);
        json_decref(extra);
        return NULL;
    }
    qry_execution *x = calloc(1, sizeof *x);
    if (!x) abort();
    qry_uuid_v4(x->id);
    bool placed = output_place(a, loc, x->id, &x->bucket, &x->key, e);
    free(wg_loc);
    if (!placed) {
        free(x);
        return NULL;
    }
    x->sql = strdup(sql);
    x->workgroup = strdup(wg);
    x->database = db ? strdup(db) : NULL;
    sp_str o;
    sp_str_init(&o, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&o, "%s%s/%s", S3_SCHEME, x->bucket, x->key);
    x->output = sp_str_finish(&o, NULL);
    x->submitted_ms = sp_clock_wall_ms();
    x->seq = ++a->next_seq;
    x->next = a->execs;
    a->execs = x;
    a->n_execs++;
    trim(a);
    pthread_cond_broadcast(&a->wake);
    return json_pack("{s:s}", "QueryExecutionId", x->id);
}

static const char *execution_id(const json_t *req, sp_err *e)
{
    const char *id = sp_json_str(req, "QueryExecutionId", true, e);
    if (id && (!*id || strlen(id) > QRY_ID_MAX)) {
        invalid(e, "QueryExecutionId must be 1 to %d characters", QRY_ID_MAX);
        return NULL;
    }
    return id;
}

static json_t *op_get(qry_athena *a, json_t *req, sp_err *e)
{
    const char *id = execution_id(req, e);
    if (!id) return NULL;
    qry_execution *x = find(a, id);
    if (!x) {
        not_found(id, e);
        return NULL;
    }
    return json_pack("{s:o}", "QueryExecution", execution_json(x));
}

static json_t *op_results(qry_athena *a, json_t *req, sp_err *e)
{
    const char *id = execution_id(req, e);
    long long max = sp_json_int(req, "MaxResults", false, QRY_RESULTS_PAGE_MAX, e);
    const char *token = sp_json_str(req, "NextToken", false, e);
    if (!id || sp_err_failed(e)) return NULL;
    if (max < 1 || max > QRY_RESULTS_PAGE_MAX) {
        invalid(e, "MaxResults must be between 1 and %d", QRY_RESULTS_PAGE_MAX);
        return NULL;
    }
    qry_execution *x = find(a, id);
    if (!x) {
        not_found(id, e);
        return NULL;
    }
    if (x->state == ST_QUEUED || x->state == ST_RUNNING) {
        invalid(e, "Query has not yet finished. Current state: %s", STATE_NAMES[x->state]);
        return NULL;
    }
    if (x->state != ST_SUCCEEDED) {
        invalid(e, "Query did not finish successfully. Final query state: %s",
                STATE_NAMES[x->state]);
        return NULL;
    }
    /* The token holds "<row>:<byte offset>" of the next page's first row; row 0 is the
     * header, row k>0 result row k-1. */
    char scope[QRY_UUID_LEN + 16];
    snprintf(scope, sizeof scope, "results:%s", x->id);
    unsigned long long start = 0, offset = 0;
    size_t total = x->n_rows + 1; /* + the header row */
    if (token && *token) {
        char after[64];
        int used = 0;
        if (!cat_page_token_read(token, scope, after, sizeof after) ||
            sscanf(after, "%llu:%llu%n", &start, &offset, &used) != 2 ||
            (size_t)used != strlen(after) || start > total) {
            invalid(e, "Invalid NextToken");
            return NULL;
        }
    }
    sp_err oerr = {0};
    FILE *f = lake_object_open(a->lk, x->bucket, x->key, &oerr);
    if (!f || fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        if (f) fclose(f);
        invalid(e, "Unable to read the query results at %s: %s", x->output,
                f ? "bad offset" : oerr.msg);
        return NULL;
    }
    json_t *rows = json_array();
    size_t i;
    for (i = start; i < total && i - start < (size_t)max; i++) {
        json_t *row = NULL;
        if (!qry_csv_row_read(f, x->n_columns, &row, &oerr)) {
            fclose(f);
            json_decref(rows);
            invalid(e, "Unable to read the query results at %s: %s", x->output,
                    sp_err_failed(&oerr) ? oerr.msg : "the result file ends early");
            return NULL;
        }
        json_array_append_new(rows, row);
    }
    off_t next_offset = ftello(f);
    fclose(f);
    json_t *out = json_pack("{s:I, s:{s:o, s:{s:o}}}", "UpdateCount", (json_int_t)0,
                            "ResultSet", "Rows", rows, "ResultSetMetadata", "ColumnInfo",
                            column_info(x));
    if (i < total) {
        char pos[64];
        snprintf(pos, sizeof pos, "%zu:%llu", i, (unsigned long long)next_offset);
        char *next = cat_page_token_make(scope, pos);
        json_object_set_new(out, "NextToken", json_string(next));
        free(next);
    }
    return out;
}

static json_t *op_list(qry_athena *a, json_t *req, sp_err *e)
{
    long long max = sp_json_int(req, "MaxResults", false, QRY_LIST_PAGE_MAX, e);
    const char *token = sp_json_str(req, "NextToken", false, e);
    const char *wg = sp_json_str(req, "WorkGroup", false, e);
    if (sp_err_failed(e)) return NULL;
    if (max < 0 || max > QRY_LIST_PAGE_MAX) {
        invalid(e, "MaxResults must be between 0 and %d", QRY_LIST_PAGE_MAX);
        return NULL;
    }
    if (max == 0) max = QRY_LIST_PAGE_MAX;
    if (!wg) wg = WORKGROUP_PRIMARY;
    char *wg_loc = NULL;
    bool enforce;
    if (!qry_workgroup_name_valid(wg)) {
        invalid(e, "WorkGroup '%.128s' must be 1 to 128 characters of [a-zA-Z0-9._-]", wg);
        return NULL;
    }
    sp_err we = {0};
    if (!qry_workgroup_resolve(a->meta, wg, &wg_loc, &enforce, &we) &&
        !strstr(we.msg, "disabled")) {
        *e = we;
        return NULL;
    }
    free(wg_loc);
    /* the token holds the sequence number of the last id handed out */
    unsigned long long before = UINT64_MAX;
    if (token && *token) {
        char after[32], *end;
        if (!cat_page_token_read(token, "ListQueryExecutions", after, sizeof after) ||
            (before = strtoull(after, &end, 10), *end || !*after)) {
            invalid(e, "Invalid NextToken");
            return NULL;
        }
    }
    json_t *ids = json_array();
    qry_execution *x = a->execs, *last = NULL;
    for (; x && (long long)json_array_size(ids) < max; x = x->next) {
        if (x->seq >= before || strcmp(x->workgroup, wg)) continue;
        json_array_append_new(ids, json_string(x->id));
        last = x;
    }
    while (x && (x->seq >= before || strcmp(x->workgroup, wg))) x = x->next;
    json_t *out = json_pack("{s:o}", "QueryExecutionIds", ids);
    if (x && last) {
        char pos[32];
        snprintf(pos, sizeof pos, "%llu", (unsigned long long)last->seq);
        char *next = cat_page_token_make("ListQueryExecutions", pos);
        json_object_set_new(out, "NextToken", json_string(next));
        free(next);
    }
    return out;
}

static json_t *op_stop(qry_athena *a, json_t *req, sp_err *e)
{
    const char *id = execution_id(req, e);
    if (!id) return NULL;
    qry_execution *x = find(a, id);
    if (!x) {
        not_found(id, e);
        return NULL;
    }
    /* A running query is interrupted (only one runs, on the thread, with a->stop); its
     * unfinished result object is dropped. */
    if (x->state == ST_RUNNING) qry_stop_request(a->stop);
    if (x->state == ST_QUEUED || x->state == ST_RUNNING)
        finish(x, ST_CANCELLED, "Query was cancelled by the user");
    return json_object();
}

static json_t *op_batch_get(qry_athena *a, json_t *req, sp_err *e)
{
    json_t *ids = sp_json_array(req, "QueryExecutionIds", true, e);
    if (!ids) return NULL;
    if (json_array_size(ids) < 1 || json_array_size(ids) > QRY_LIST_PAGE_MAX) {
        invalid(e, "QueryExecutionIds must have 1 to %d ids", QRY_LIST_PAGE_MAX);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        const char *id = json_string_value(v);
        if (!id || !*id || strlen(id) > QRY_ID_MAX) {
            invalid(e, "QueryExecutionIds[%zu] must be 1 to %d characters", i, QRY_ID_MAX);
            return NULL;
        }
    }
    json_t *found = json_array(), *missing = json_array();
    json_array_foreach(ids, i, v) {
        qry_execution *x = find(a, json_string_value(v));
        if (x)
            json_array_append_new(found, execution_json(x));
        else
            json_array_append_new(missing, json_pack("{s:O, s:s, s:s}", "QueryExecutionId", v,
                                                     "ErrorCode", "INVALID_INPUT",
                                                     "ErrorMessage", "QueryExecution not found"));
    }
    return json_pack("{s:o, s:o}", "QueryExecutions", found, "UnprocessedQueryExecutionIds",
                     missing);
}

/* GetQueryRuntimeStatistics: the timeline of GetQueryExecution's statistics and the rows and
 * bytes the query read and wrote (no per-stage plan: one SQLite statement has none). */
static json_t *op_runtime_stats(qry_athena *a, json_t *req, sp_err *e)
{
    const char *id = execution_id(req, e);
    if (!id) return NULL;
    qry_execution *x = find(a, id);
    if (!x) {
        not_found(id, e);
        return NULL;
    }
    json_t *ex = execution_json(x);
    json_t *st = json_object_get(ex, "Statistics");
    json_t *timeline = json_object();
    static const char *const keys[] = {"QueryQueueTimeInMillis", "QueryPlanningTimeInMillis",
                                       "EngineExecutionTimeInMillis",
                                       "ServiceProcessingTimeInMillis",
                                       "TotalExecutionTimeInMillis"};
    for (size_t k = 0; k < SP_ARRAY_LEN(keys); k++)
        json_object_set(timeline, keys[k], json_object_get(st, keys[k]));
    json_decref(ex);
    json_t *rows = json_pack("{s:I}", "InputBytes", (json_int_t)x->bytes_scanned);
    if (x->state == ST_SUCCEEDED)
        json_object_set_new(rows, "OutputRows", json_integer((json_int_t)x->n_rows));
    return json_pack("{s:{s:o, s:o}}", "QueryRuntimeStatistics", "Timeline", timeline, "Rows",
                     rows);
}

typedef json_t *(*athena_fn)(qry_athena *a, json_t *req, sp_err *e);

static json_t *athena_call(athena_fn fn, void *ctx, json_t *req, sp_err *e)
{
    qry_athena *a = ctx;
    pthread_mutex_lock(&a->lock);
    json_t *out = fn(a, req, e);
    pthread_mutex_unlock(&a->lock);
    if (!out && !strcmp(e->code, "ValidationException"))
        snprintf(e->code, sizeof e->code, "InvalidRequestException");
    if (!out && !strcmp(e->code, "InvalidRequestException") && !e->extra[0]) {
        /* Athena's InvalidRequestException names its cause in AthenaErrorCode. */
        json_t *extra = json_pack("{s:s}", "AthenaErrorCode", "INVALID_INPUT");
        sp_err_set_extra(e, extra);
        json_decref(extra);
    }
    return out;
}

#define ATHENA_OP(op, fn)                                                                        \
    static json_t *op_##op(void *ctx, json_t *req, sp_err *e) { return athena_call(fn, ctx, req, e); }

/* The metadata operations of athena_meta.c, on the API's catalog connection. */
#define ATHENA_META_OP(op, fn)                                                                   \
    static json_t *meta_##op(qry_athena *a, json_t *req, sp_err *e) { return fn(a->meta, req, e); } \
    ATHENA_OP(op, meta_##op)

ATHENA_OP(StartQueryExecution, op_start)
ATHENA_OP(GetQueryExecution, op_get)
ATHENA_OP(GetQueryResults, op_results)
ATHENA_OP(ListQueryExecutions, op_list)
ATHENA_OP(StopQueryExecution, op_stop)
ATHENA_OP(BatchGetQueryExecution, op_batch_get)
ATHENA_OP(GetQueryRuntimeStatistics, op_runtime_stats)
ATHENA_META_OP(CreateWorkGroup, qry_op_create_workgroup)
ATHENA_META_OP(GetWorkGroup, qry_op_get_workgroup)
ATHENA_META_OP(ListWorkGroups, qry_op_list_workgroups)
ATHENA_META_OP(UpdateWorkGroup, qry_op_update_workgroup)
ATHENA_META_OP(DeleteWorkGroup, qry_op_delete_workgroup)
ATHENA_META_OP(CreateNamedQuery, qry_op_create_named_query)
ATHENA_META_OP(GetNamedQuery, qry_op_get_named_query)
ATHENA_META_OP(DeleteNamedQuery, qry_op_delete_named_query)
ATHENA_META_OP(ListNamedQueries, qry_op_list_named_queries)
ATHENA_META_OP(BatchGetNamedQuery, qry_op_batch_get_named_query)
ATHENA_META_OP(ListDataCatalogs, qry_op_list_data_catalogs)
ATHENA_META_OP(GetDataCatalog, qry_op_get_data_catalog)
ATHENA_META_OP(ListDatabases, qry_op_list_databases)
ATHENA_META_OP(GetDatabase, qry_op_get_database)
ATHENA_META_OP(ListTableMetadata, qry_op_list_table_metadata)
ATHENA_META_OP(GetTableMetadata, qry_op_get_table_metadata)

const sp_op qry_athena_ops[] = {
    {"StartQueryExecution", op_StartQueryExecution},
    {"GetQueryExecution", op_GetQueryExecution},
    {"GetQueryResults", op_GetQueryResults},
    {"ListQueryExecutions", op_ListQueryExecutions},
    {"StopQueryExecution", op_StopQueryExecution},
    {"BatchGetQueryExecution", op_BatchGetQueryExecution},
    {"GetQueryRuntimeStatistics", op_GetQueryRuntimeStatistics},
    {"CreateWorkGroup", op_CreateWorkGroup},
    {"GetWorkGroup", op_GetWorkGroup},
    {"ListWorkGroups", op_ListWorkGroups},
    {"UpdateWorkGroup", op_UpdateWorkGroup},
    {"DeleteWorkGroup", op_DeleteWorkGroup},
    {"CreateNamedQuery", op_CreateNamedQuery},
    {"GetNamedQuery", op_GetNamedQuery},
    {"DeleteNamedQuery", op_DeleteNamedQuery},
    {"ListNamedQueries", op_ListNamedQueries},
    {"BatchGetNamedQuery", op_BatchGetNamedQuery},
    {"ListDataCatalogs", op_ListDataCatalogs},
    {"GetDataCatalog", op_GetDataCatalog},
    {"ListDatabases", op_ListDatabases},
    {"GetDatabase", op_GetDatabase},
    {"ListTableMetadata", op_ListTableMetadata},
    {"GetTableMetadata", op_GetTableMetadata},
    {NULL, NULL},
};

/* ---- life cycle ------------------------------------------------------------------------- */

qry_athena *qry_athena_new(cat_catalog *cat, lake *lk, long long timeout_seconds, sp_err *e)
{
    qry_athena *a = calloc(1, sizeof *a);
    if (!a) abort();
    a->cat = cat;
    a->lk = lk;
    a->timeout_ms = timeout_seconds > 0 ? (int64_t)timeout_seconds * 1000 : 0;
    a->stop = qry_stop_new();
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    a->meta = cat_catalog_reopen(cat, e);
    if (!a->meta || !qry_workgroup_ensure_primary(a->meta, e)) {
        qry_athena_destroy(a);
        return NULL;
    }
    if (pthread_create(&a->thread, NULL, query_thread, a) != 0) {
        sp_err_internal(e, "cannot start the query thread");
        qry_athena_destroy(a);
        return NULL;
    }
    a->thread_started = true;
    return a;
}

void qry_athena_wait_idle(qry_athena *a)
{
    for (;;) {
        bool busy = false;
        pthread_mutex_lock(&a->lock);
        for (qry_execution *x = a->execs; x && !busy; x = x->next)
            busy = x->state == ST_QUEUED || x->state == ST_RUNNING;
        pthread_mutex_unlock(&a->lock);
        if (!busy) return;
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
}

void qry_athena_destroy(qry_athena *a)
{
    if (!a) return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    /* a running query is interrupted rather than waited for (up to its time limit) */
    for (qry_execution *x = a->execs; x; x = x->next)
        if (x->busy) qry_stop_request(a->stop);
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->lock);
    if (a->thread_started) pthread_join(a->thread, NULL);
    while (a->execs) {
        qry_execution *x = a->execs;
        a->execs = x->next;
        execution_free(x);
    }
    qry_stop_destroy(a->stop);
    cat_catalog_close(a->run_cat);
    cat_catalog_close(a->meta);
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}
