/* The query console: runs one Athena SQL query over the catalog (the same qry_exec as
 * `salespipe query`, with the server's query time limit), answers the result table with its
 * statistics, and remembers the last DASH_HISTORY_MAX queries. One console query runs at a
 * time. */
#include "dash_int.h"
#include "query/query.h"

#include <stdlib.h>
#include <string.h>

static pthread_mutex_t run_mu = PTHREAD_MUTEX_INITIALIZER; /* one console query at a time */

static void remember(dash *d, const char *sql, const char *database, bool ok, size_t rows,
                     double ms, const char *error)
{
    json_t *h = json_pack("{s:s, s:s?, s:b, s:I, s:f, s:I, s:s?}", "sql", sql, "database",
                          database, "ok", ok, "rows", (json_int_t)rows, "ms", ms, "at_ms",
                          (json_int_t)sp_clock_wall_ms(), "error", error);
    pthread_mutex_lock(&d->mu);
    d->queries_run++;
    json_array_insert_new(d->history, 0, h);
    while (json_array_size(d->history) > DASH_HISTORY_MAX)
        json_array_remove(d->history, json_array_size(d->history) - 1);
    pthread_mutex_unlock(&d->mu);
}

static json_t *result_json(const qry_result *r, double ms)
{
    json_t *columns = json_array(), *rows = json_array();
    for (size_t c = 0; c < r->n_columns; c++)
        json_array_append_new(columns, json_pack("{s:s, s:s?}", "name", r->names[c], "type",
                                                 r->types[c]));
    size_t shown = r->n_rows < DASH_ROWS_MAX ? r->n_rows : DASH_ROWS_MAX;
    for (size_t i = 0; i < shown; i++) {
        json_t *row = json_array();
        for (size_t c = 0; c < r->n_columns; c++) {
            const char *v = r->cells[i * r->n_columns + c];
            json_array_append_new(row, v ? json_string(v) : json_null());
        }
        json_array_append_new(rows, row);
    }
    json_t *stats = json_pack("{s:I, s:I, s:I, s:I, s:f}", "partitions_scanned",
                              (json_int_t)r->partitions_scanned, "objects_opened",
                              (json_int_t)r->objects_opened, "objects_from_cache",
                              (json_int_t)r->objects_from_cache, "bytes_scanned",
                              (json_int_t)r->bytes_scanned, "ms", ms);
    return json_pack("{s:o, s:o, s:I, s:b, s:o}", "columns", columns, "rows", rows, "row_count",
                     (json_int_t)r->n_rows, "truncated", shown < r->n_rows, "stats", stats);
}

void dash_api_query(dash *d, const char *body, size_t len, sp_http_resp *resp)
{
    json_t *in = len <= DASH_SQL_MAX + 1024 ? json_loadb(body, len, 0, NULL) : NULL;
    const char *sql = json_string_value(json_object_get(in, "sql"));
    const char *database = json_string_value(json_object_get(in, "database"));
    if (!sql || !*sql || strlen(sql) > DASH_SQL_MAX) {
        json_decref(in);
        dash_error(resp, 400, "POST {\"sql\": \"...\", \"database\": \"...\"} (sql at most 64 KiB)");
        return;
    }
    if (!database || !*database)
        database = d->src.cfg->n_crawlers ? d->src.cfg->crawlers[0].database : NULL;
    if (!d->src.catalog || !d->src.lake) {
        json_decref(in);
        dash_error(resp, 503, "the catalog is not open");
        return;
    }
    qry_opts opts = {.timeout_ms = d->src.cfg->server.query_timeout_seconds * 1000};
    sp_err e = {0};
    pthread_mutex_lock(&run_mu);
    uint64_t t0 = sp_clock_mono_ns();
    qry_result *r = qry_exec(d->src.catalog, d->src.lake, database, sql, &opts, &e);
    double ms = (double)(sp_clock_mono_ns() - t0) / 1e6;
    pthread_mutex_unlock(&run_mu);
    remember(d, sql, database, r != NULL, r ? r->n_rows : 0, ms, r ? NULL : e.msg);
    if (!r) {
        json_t *err = json_pack("{s:s, s:s}", "error", e.msg, "code", e.code);
        sp_http_resp_json(resp, 400, err);
        json_decref(err);
    } else {
        json_t *out = result_json(r, ms);
        qry_result_destroy(r);
        sp_http_resp_json(resp, 200, out);
        json_decref(out);
    }
    json_decref(in);
}

void dash_api_history(dash *d, sp_http_resp *resp)
{
    pthread_mutex_lock(&d->mu);
    json_t *out = json_pack("{s:O, s:I}", "history", d->history, "queries_run",
                            (json_int_t)d->queries_run);
    pthread_mutex_unlock(&d->mu);
    sp_http_resp_json(resp, 200, out);
    json_decref(out);
}
