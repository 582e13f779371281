/* Fuzzes the Parquet reader: the input is opened as a file held in memory, its schema and
 * statistics are read, and every row of every row group is decoded; then the same again with
 * only the first column projected. Each row group is also read through the typed-cell path
 * the query scan uses (pq_file_read_row_group_cells), and differentially: it must succeed
 * exactly when the JSON row path does, and every cell must stand for the JSON value of the
 * row path (pq_cell_matches_json). Hostile files must never crash, hang or allocate beyond
 * the bounds the file's size sets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/parquet.h"

enum { FUZZ_ROWS_MAX = 100000 };

static bool count(void *ctx, json_t *row)
{
    (void)row;
    return ++*(size_t *)ctx < FUZZ_ROWS_MAX;
}

typedef struct {
    const pq_file *f;
    json_t **rows;
    size_t n;
    bool stopped;             /* the row path stopped at FUZZ_ROWS_MAX */
} rows_ctx;

static bool keep(void *ctx, json_t *row)
{
    rows_ctx *r = ctx;
    r->rows = realloc(r->rows, (r->n + 1) * sizeof *r->rows);
    if (!r->rows) abort();
    r->rows[r->n++] = json_incref(row);
    if (r->n >= FUZZ_ROWS_MAX) r->stopped = true;
    return !r->stopped;
}

static bool compare(void *ctx, size_t n_rows, const pq_cell *const *cols)
{
    rows_ctx *r = ctx;
    if (r->stopped) return true;
    if (n_rows != r->n) abort();
    for (size_t c = 0; c < pq_file_num_columns(r->f); c++) {
        if (!cols[c]) continue;
        /* A repeated top-level name: the row object holds the last column's value. */
        bool last = true;
        for (size_t d = c + 1; d < pq_file_num_columns(r->f); d++)
            if (cols[d] && !strcmp(pq_file_column_name(r->f, c), pq_file_column_name(r->f, d)))
                last = false;
        if (!last) continue;
        for (size_t i = 0; i < n_rows; i++) {
            json_t *v = json_object_get(r->rows[i], pq_file_column_name(r->f, c));
            if (!pq_cell_matches_json(&cols[c][i], v)) abort();
        }
    }
    return true;
}

/* Each path on a file of its own, so each starts with the file's whole decoding budget. */
static void differential(const uint8_t *data, size_t size, size_t rg, bool first_only)
{
    sp_err e1 = {0}, e2 = {0};
    pq_file *f1 = pq_file_open(data, size, &e1), *f2 = pq_file_open(data, size, &e2);
    if (!f1 || !f2) abort();
    size_t nc = pq_file_num_columns(f1);
    bool *want = NULL;
    if (first_only) {
        want = calloc(nc ? nc : 1, sizeof *want);
        if (!want) abort();
        if (nc) want[0] = true;
    }
    rows_ctx r = {.f = f2};
    bool row_ok = pq_file_read_row_group(f1, rg, want, keep, &r, &e1);
    bool cells_ok = pq_file_read_row_group_cells(f2, rg, want, compare, &r, &e2);
    /* The cells path also refuses row counts the file's size cannot back, which the row path
     * only meets by looping; otherwise both fail or succeed together. */
    if (row_ok && !r.stopped && !cells_ok) abort();
    if (!row_ok && cells_ok) abort();
    for (size_t i = 0; i < r.n; i++) json_decref(r.rows[i]);
    free(r.rows);
    free(want);
    pq_file_close(f1);
    pq_file_close(f2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    pq_file *f = pq_file_open(data, size, &e);
    if (!f) return 0;
    size_t nc = pq_file_num_columns(f);
    for (size_t rg = 0; rg < pq_file_num_row_groups(f); rg++)
        for (size_t c = 0; c < nc; c++) {
            json_t *min, *max;
            int64_t nulls;
            pq_file_column_stats(f, rg, c, &min, &max, &nulls);
            json_decref(min);
            json_decref(max);
        }
    size_t rows = 0;
    (void)pq_file_read(f, NULL, count, &rows, &e);
    bool *want = NULL;
    if (nc) {
        want = calloc(nc, sizeof *want);
        want[0] = true;
        sp_err_clear(&e);
        (void)pq_file_read(f, want, count, &rows, &e);
    }
    for (size_t rg = 0; rg < pq_file_num_row_groups(f) && rg < 8; rg++) {
        differential(data, size, rg, false);
        if (nc) differential(data, size, rg, true);
    }
    free(want);
    pq_file_close(f);
    return 0;
}
