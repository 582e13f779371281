/* Rows of a Parquet object for the lake scan: the reader hands each row group over as typed
 * cells, column by column (pq_file_read_row_group_cells), and each used column becomes batch
 * cells exactly as qry_cell_from_json converts the JSON value the reader's row path gives for
 * it, so an answer is the same whichever path read the file; no JSON value is made per cell.
 * Only the columns the query uses are decoded, and row groups whose min/max statistics
 * exclude a WHERE constraint are skipped. */
#include "qry_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void qry_cell_from_pq(qry_batch *b, qry_col_kind kind, const pq_cell *v, qry_cell *out)
{
    out->type = SQLITE_NULL;
    switch (v->kind) {
    case PQ_CELL_NULL: return;
    case PQ_CELL_INT:
        if (kind == QRY_COL_BIGINT) {
            out->type = SQLITE_INTEGER;
            out->v.i = v->v.i;
        } else if (kind == QRY_COL_DOUBLE) {
            out->type = SQLITE_FLOAT;
            out->v.d = (double)v->v.i;
        } else if (kind == QRY_COL_TEXT) {
            char buf[32];
            int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, (json_int_t)v->v.i);
            qry_cell_put_text(b, out, buf, (size_t)n);
        }
        return;
    case PQ_CELL_DOUBLE:
        if (kind == QRY_COL_BIGINT || kind == QRY_COL_DOUBLE) {
            out->type = SQLITE_FLOAT;
            out->v.d = v->v.d;
        } else if (kind == QRY_COL_TEXT) { /* the shortest form, or jansson's: as from JSON */
            json_t *r = json_real(v->v.d);
            if (r) qry_cell_from_json(b, kind, r, out);
            json_decref(r);
        }
        return;
    case PQ_CELL_BOOL:
        if (kind == QRY_COL_BOOLEAN) {
            out->type = SQLITE_INTEGER;
            out->v.i = v->v.i != 0;
        } else if (kind == QRY_COL_TEXT) {
            qry_cell_put_text(b, out, v->v.i ? "true" : "false", v->v.i ? 4 : 5);
        }
        return;
    case PQ_CELL_TEXT:
        if (kind == QRY_COL_TEXT) {
            qry_cell_put_text(b, out, v->v.s, v->len);
        } else { /* numbers and booleans spelled as strings: rare, the JSON rules */
            json_t *s = json_stringn_nocheck(v->v.s, v->len);
            if (s) qry_cell_from_json(b, kind, s, out);
            json_decref(s);
        }
        return;
    case PQ_CELL_JSON:
        if (kind == QRY_COL_TEXT) qry_cell_put_text(b, out, v->v.s, v->len);
        return;
    }
}

typedef struct pq_arg {
    qry_batch *b;
    const pq_file *f;
    const qry_col *cols;
    size_t n_cols;
    size_t *src;              /* per scan column: the file column it reads, SIZE_MAX: none */
    bool mapped;
} pq_arg;

/* The file column member() would find in the reader's row object for name: the row holds
 * the present columns in file order, a repeated name keeping its first place and its last
 * value; an exact name wins, else the first (in that order) that matches ignoring case. */
static size_t find_column(const pq_file *f, const pq_cell *const *cols, const char *name)
{
    size_t nc = pq_file_num_columns(f), hit = SIZE_MAX;
    for (size_t c = 0; c < nc; c++)
        if (cols[c] && !strcmp(pq_file_column_name(f, c), name)) hit = c;
    if (hit != SIZE_MAX) return hit;
    for (size_t c = 0; c < nc && hit == SIZE_MAX; c++)
        if (cols[c] && !strcasecmp(pq_file_column_name(f, c), name)) hit = c;
    if (hit == SIZE_MAX) return hit;
    const char *first = pq_file_column_name(f, hit);
    for (size_t c = hit + 1; c < nc; c++)
        if (cols[c] && !strcmp(pq_file_column_name(f, c), first)) hit = c;
    return hit;
}

static bool add_cells(void *ctx, size_t n_rows, const pq_cell *const *cols)
{
    pq_arg *a = ctx;
    qry_batch *b = a->b;
    if (!a->mapped) { /* which columns are present is the same in every row group */
        for (size_t k = 0; k < a->n_cols; k++) a->src[k] = find_column(a->f, cols, a->cols[k].name);
        a->mapped = true;
    }
    size_t width = b->n_cols ? b->n_cols : 1;
    if (b->cap_rows - b->n_rows < n_rows) {
        size_t cap = b->cap_rows ? b->cap_rows : 1024;
        while (cap - b->n_rows < n_rows) cap *= 2;
        b->cells = realloc(b->cells, width * cap * sizeof *b->cells);
        if (!b->cells) abort();
        b->cap_rows = cap;
    }
    qry_cell *base = b->cells + b->n_rows * b->n_cols;
    for (size_t k = 0; k < b->n_cols; k++) {
        const pq_cell *col = a->src[k] == SIZE_MAX ? NULL : cols[a->src[k]];
        qry_col_kind kind = a->cols[k].kind;
        qry_cell *out = base + k;
        if (!col) {
            for (size_t r = 0; r < n_rows; r++, out += b->n_cols) out->type = SQLITE_NULL;
            continue;
        }
        for (size_t r = 0; r < n_rows; r++, out += b->n_cols) qry_cell_from_pq(b, kind, &col[r], out);
    }
    b->n_rows += n_rows;
    return true;
}

void qry_batch_from_parquet(qry_batch *b, pq_file *f, const qry_col *cols, size_t n_cols,
                            const qry_stat_filter *filters, size_t n_filters)
{
    size_t nc = pq_file_num_columns(f);
    bool *want = calloc(nc ? nc : 1, sizeof *want);
    size_t *src = calloc(n_cols ? n_cols : 1, sizeof *src);
    if (!want || !src) abort();
    for (size_t i = 0; i < nc; i++)
        for (size_t k = 0; k < n_cols && !want[i]; k++)
            want[i] = !strcasecmp(pq_file_column_name(f, i), cols[k].name);
    pq_arg a = {.b = b, .f = f, .cols = cols, .n_cols = n_cols, .src = src};
    sp_err e = {0};
    for (size_t rg = 0; rg < pq_file_num_row_groups(f) && !b->error; rg++) {
        bool skip = false;
        for (size_t k = 0; k < n_filters && !skip; k++)
            for (size_t i = 0; i < nc && !skip; i++) {
                if (strcasecmp(pq_file_column_name(f, i), filters[k].column)) continue;
                json_t *min, *max;
                int64_t nulls;
                pq_file_column_stats(f, rg, i, &min, &max, &nulls);
                skip = qry_stat_filter_excludes(&filters[k], min, max);
                json_decref(min);
                json_decref(max);
            }
        if (skip) {
            b->rg_skipped++;
            continue;
        }
        b->rg_read++;
        if (!pq_file_read_row_group_cells(f, rg, want, add_cells, &a, &e)) {
            b->error = strdup(e.msg);
            if (!b->error) abort();
        }
    }
    free(src);
    free(want);
}
