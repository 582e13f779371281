/* Rows from the query cache (catalog's cat_cache): one cached chunk of an object becomes one
 * batch, each field converted exactly as qry_cell_from_json converts the JSON value it was
 * stored from, and each column found as member() finds it in the JSON record (exact name
 * first, else the first field whose name matches ignoring case), so an answer is the same
 * whether an object came from the cache or was parsed. */
#include "qry_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A field name as a C string sees it (up to an embedded NUL) against a column name. */
static bool name_is(const char *n, size_t len, const char *col, bool any_case)
{
    size_t clen = strlen(col);
    if (!any_case) return len == clen && !memcmp(n, col, len);
    const char *nul = memchr(n, '\0', len);
    if (nul) len = (size_t)(nul - n);
    return len == clen && !strncasecmp(n, col, len);
}

static void put_text(qry_batch *b, qry_cell *out, const char *s, size_t n)
{
    if (b->text_cap - b->text_len < n) {
        size_t cap = b->text_cap ? b->text_cap : 4096;
        while (cap - b->text_len < n) cap *= 2;
        b->text = realloc(b->text, cap);
        if (!b->text) abort();
        b->text_cap = cap;
    }
    if (n) memcpy(b->text + b->text_len, s, n);
    out->type = SQLITE_TEXT;
    out->len = n;
    out->v.off = b->text_len;
    b->text_len += n;
}

void qry_cell_from_cache(qry_batch *b, qry_col_kind kind, const cat_cache_value *v,
                         qry_cell *out)
{
    out->type = SQLITE_NULL;
    if (!v || v->tag == CAT_CACHE_NULL) return;
    if (kind == QRY_COL_BIGINT || kind == QRY_COL_DOUBLE) {
        bool is_int = kind == QRY_COL_BIGINT;
        if (v->tag == CAT_CACHE_INT) {
            if (is_int) {
                out->type = SQLITE_INTEGER;
                out->v.i = v->i;
            } else {
                out->type = SQLITE_FLOAT;
                out->v.d = (double)v->i;
            }
        } else if (v->tag == CAT_CACHE_REAL) {
            out->type = SQLITE_FLOAT;
            out->v.d = v->d;
        } else if (v->tag == CAT_CACHE_STRING) {
            json_t *s = json_stringn_nocheck(v->s, v->len);
            if (s) qry_cell_from_json(b, kind, s, out);
            json_decref(s);
        }
        return;
    }
    if (kind == QRY_COL_BOOLEAN) {
        if (v->tag == CAT_CACHE_TRUE || v->tag == CAT_CACHE_FALSE) {
            out->type = SQLITE_INTEGER;
            out->v.i = v->tag == CAT_CACHE_TRUE;
        } else if (v->tag == CAT_CACHE_STRING) {
            json_t *s = json_stringn_nocheck(v->s, v->len);
            if (s) qry_cell_from_json(b, kind, s, out);
            json_decref(s);
        }
        return;
    }
    switch (v->tag) {
    case CAT_CACHE_STRING:
    case CAT_CACHE_JSON: put_text(b, out, v->s, v->len); return;
    case CAT_CACHE_TRUE: put_text(b, out, "true", 4); return;
    case CAT_CACHE_FALSE: put_text(b, out, "false", 5); return;
    case CAT_CACHE_INT: {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, (json_int_t)v->i);
        put_text(b, out, buf, (size_t)n);
        return;
    }
    case CAT_CACHE_REAL: {
        json_t *r = json_real(v->d);
        if (r) qry_cell_from_json(b, kind, r, out);
        json_decref(r);
        return;
    }
    default: return;
    }
}

bool qry_batch_from_chunk(qry_batch *b, const void *data, size_t len, const qry_col *cols,
                          size_t n_cols)
{
    cat_chunk k;
    bool ok = cat_chunk_open(&k, data, len);
    /* per column: the chunk name that matches exactly, and which names match ignoring case */
    size_t *exact = calloc(n_cols ? n_cols : 1, sizeof *exact);
    bool *loose = calloc((n_cols ? n_cols : 1) * (k.n_names ? k.n_names : 1), sizeof *loose);
    /* per chunk name: the one column it can fill (NO_COL: none); MANY_COLS when it can fill
     * several (the same name asked for twice, or matching two columns ignoring case) */
    enum { NO_COL = SIZE_MAX, MANY_COLS = SIZE_MAX - 1 };
    size_t *name_col = malloc((k.n_names ? k.n_names : 1) * sizeof *name_col);
    cat_cache_value *vals = calloc(n_cols ? n_cols : 1, sizeof *vals);
    const cat_cache_value **pick = calloc(n_cols ? n_cols : 1, sizeof *pick);
    bool *pick_exact = calloc(n_cols ? n_cols : 1, sizeof *pick_exact);
    if (!exact || !loose || !name_col || !vals || !pick || !pick_exact) abort();
    for (size_t i = 0; ok && i < k.n_names; i++) name_col[i] = NO_COL;
    for (size_t c = 0; ok && c < n_cols; c++) {
        exact[c] = SIZE_MAX;
        for (size_t i = 0; i < k.n_names; i++) {
            if (exact[c] == SIZE_MAX && name_is(k.names[i], k.name_lens[i], cols[c].name, false))
                exact[c] = i;
            loose[c * k.n_names + i] = name_is(k.names[i], k.name_lens[i], cols[c].name, true);
            if (loose[c * k.n_names + i] || exact[c] == i)
                name_col[i] = name_col[i] == NO_COL ? c : MANY_COLS;
        }
    }
    if (ok && k.n_records > b->cap_rows) {
        b->cap_rows = k.n_records;
        b->cells = realloc(b->cells, (n_cols ? n_cols : 1) * b->cap_rows * sizeof *b->cells);
        if (!b->cells) abort();
    }
    for (size_t r = 0; ok && r < k.n_records; r++) {
        size_t n_fields;
        if (cat_chunk_record(&k, &n_fields) != 1) {
            ok = false;
            break;
        }
        for (size_t c = 0; c < n_cols; c++) {
            pick[c] = NULL;
            pick_exact[c] = false;
        }
        for (size_t f = 0; ok && f < n_fields; f++) {
            cat_cache_value v;
            if (!cat_chunk_field(&k, &v)) {
                ok = false;
                break;
            }
            size_t only = name_col[v.name];
            if (only == NO_COL) continue;
            size_t c0 = only == MANY_COLS ? 0 : only, c1 = only == MANY_COLS ? n_cols : only + 1;
            for (size_t c = c0; c < c1; c++) {
                if (pick_exact[c]) continue;
                if (v.name == exact[c]) {
                    vals[c] = v;
                    pick[c] = &vals[c];
                    pick_exact[c] = true;
                } else if (!pick[c] && loose[c * k.n_names + v.name]) {
                    vals[c] = v;
                    pick[c] = &vals[c];
                }
            }
        }
        if (!ok) break;
        qry_cell *row = b->cells + b->n_rows * n_cols;
        for (size_t c = 0; c < n_cols; c++)
            qry_cell_from_cache(b, cols[c].kind, pick[c], &row[c]);
        b->n_rows++;
    }
    if (ok && k.pos != k.len) ok = false;
    cat_chunk_close(&k);
    free(exact);
    free(loose);
    free(name_col);
    free(vals);
    free(pick);
    free(pick_exact);
    return ok;
}
