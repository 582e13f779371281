/* The Parquet scan's typed hand-off (pq_file_read_row_group_cells -> qry_cell_from_pq ->
 * qry_batch_from_parquet) against the path it replaced (a JSON row per record from
 * pq_file_read_row_group, each cell by qry_cell_from_json, columns found as member() finds
 * them): for every Glue type the writer stores, nulls, nested struct/array/map values, every
 * codec, dictionary and plain, v1 and v2 pages and several row groups, each reader cell
 * stands for the row path's JSON value, and every batch cell is byte-identical under each
 * of the four column kinds; projections read only the asked columns; a damaged file fails
 * both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "query/qry_int.h"

static const char *names[] = {"id", "name", "price", "ok", "d", "ts", "dec", "big", "t", "s",
                              "f", "i", "bin", "st", "arr", "m", "Name"};
static const char *types[] = {"bigint", "string", "double", "boolean", "date", "timestamp",
                              "decimal(10,2)", "decimal(30,4)", "tinyint", "smallint", "float",
                              "int", "binary", "struct<a:int,b:string,c:struct<x:double>>",
                              "array<double>", "map<string,bigint>", "string"};
#define NCOLS 17

static json_t *record(int i)
{
    if (i % 11 == 5) return json_object(); /* all null */
    char name[32], d[16], ts[40], dec[32], big[48];
    snprintf(name, sizeof name, i % 3 ? "name-%d-ü" : "%d", i % 17);
    snprintf(d, sizeof d, "20%02d-%02d-%02d", i % 30, 1 + i % 12, 1 + i % 28);
    snprintf(ts, sizeof ts, "2024-03-%02d %02d:%02d:%02d.%03d", 1 + i % 28, i % 24, i % 60,
             (i * 7) % 60, i % 1000);
    snprintf(dec, sizeof dec, "%s%d.%02d", i % 2 ? "-" : "", i * 13, i % 100);
    snprintf(big, sizeof big, "%d12345678901234567890.%04d", i + 1, i % 10000);
    json_t *r = json_pack(
        "{sI ss sf sb ss ss ss ss si si sf si ss s{si ss s{sf}} s[f f] s{sI sI} ss}", "id",
        (json_int_t)i * 1000003LL - (i % 2 ? INT64_C(4611686018427387904) : 0), "name", name,
        "price", i % 4 ? i * 0.1 - 100 : i * 0.25, "ok", i % 2, "d", d, "ts", ts, "dec", dec,
        "big", big, "t", i % 256 - 128, "s", i * 7 - 30000, "f", (double)(float)(i * 0.5), "i",
        i * 1000 - 2147483, "bin", "AAEC/w==", "st", "a", i, "b", name, "c", "x", i / 3.0,
        "arr", i * 1.5, 1e300, "m", "k", (json_int_t)i, "z", (json_int_t)-i, "Name", "upper");
    if (i % 7 == 3) json_object_del(r, "price");   /* nulls in single columns */
    if (i % 5 == 2) json_object_del(r, "st");
    if (i % 9 == 4) json_object_set_new(r, "arr", json_array());
    return r;
}

static uint8_t *write_file(const pq_options *o, int n, size_t *len)
{
    sp_err e = {0};
    pq_writer *w = pq_writer_new(NCOLS, names, types, o, &e);
    if (!w) fail_msg("%s", e.msg);
    for (int i = 0; i < n; i++) {
        json_t *r = record(i);
        if (!pq_writer_add_object(w, r, &e)) fail_msg("%s", e.msg);
        json_decref(r);
    }
    uint8_t *buf = pq_writer_finish(w, len, &e);
    assert_non_null(buf);
    pq_writer_destroy(w);
    return buf;
}

/* ---- the old path, as qry_scan.c had it ---- */

static json_t *member(json_t *rec, const char *name)
{
    json_t *v = json_object_get(rec, name);
    if (v) return v;
    const char *k;
    json_t *x;
    json_object_foreach(rec, k, x) if (!strcasecmp(k, name)) return x;
    return NULL;
}

typedef struct {
    qry_batch *b;
    const qry_col *cols;
    size_t n_cols;
    const pq_file *f;
    size_t rg, row;           /* cells_match: position */
    const pq_cell *const *cells;
    size_t n_rows;
} old_arg;

static bool old_row(void *ctx, json_t *row)
{
    old_arg *a = ctx;
    qry_batch *b = a->b;
    if (b->n_rows == b->cap_rows) {
        b->cap_rows = b->cap_rows ? b->cap_rows * 2 : 64;
        b->cells = realloc(b->cells, (b->n_cols ? b->n_cols : 1) * b->cap_rows * sizeof *b->cells);
    }
    for (size_t k = 0; k < a->n_cols; k++)
        qry_cell_from_json(b, a->cols[k].kind, member(row, a->cols[k].name),
                           &b->cells[b->n_rows * b->n_cols + k]);
    b->n_rows++;
    return true;
}

static void assert_batches_equal(const qry_batch *x, const qry_batch *y)
{
    assert_int_equal(x->n_rows, y->n_rows);
    assert_int_equal(x->n_cols, y->n_cols);
    for (size_t i = 0; i < x->n_rows * x->n_cols; i++) {
        const qry_cell *a = &x->cells[i], *b = &y->cells[i];
        if (a->type != b->type) fail_msg("cell %zu: type %d vs %d", i, a->type, b->type);
        if (a->type == SQLITE_INTEGER) assert_true(a->v.i == b->v.i);
        if (a->type == SQLITE_FLOAT) assert_memory_equal(&a->v.d, &b->v.d, sizeof a->v.d);
        if (a->type == SQLITE_TEXT) {
            if (a->len != b->len || memcmp(x->text + a->v.off, y->text + b->v.off, a->len))
                fail_msg("cell %zu: '%.*s' vs '%.*s'", i, (int)a->len, x->text + a->v.off,
                         (int)b->len, y->text + b->v.off);
        }
    }
}

/* Every column under each kind, read both ways. */
static void both_paths_agree(const uint8_t *buf, size_t len, const bool *want_cols)
{
    sp_err e = {0};
    pq_file *f = pq_file_open(buf, len, &e);
    if (!f) fail_msg("%s", e.msg);
    qry_col_kind kinds[] = {QRY_COL_TEXT, QRY_COL_BIGINT, QRY_COL_DOUBLE, QRY_COL_BOOLEAN};
    for (size_t kk = 0; kk < SP_ARRAY_LEN(kinds); kk++) {
        qry_col cols[NCOLS + 1];
        size_t n = 0;
        for (size_t c = 0; c < NCOLS; c++)
            if (!want_cols || want_cols[c])
                cols[n++] = (qry_col){.name = names[c], .kind = kinds[(kk + c) % 4]};
        cols[n++] = (qry_col){.name = "NAME", .kind = kinds[kk]}; /* matched ignoring case */
        qry_batch oldb = {.n_cols = n}, newb = {.n_cols = n};
        bool want[NCOLS];
        for (size_t c = 0; c < NCOLS; c++) {
            want[c] = false;
            for (size_t k = 0; k < n; k++) want[c] |= !strcasecmp(names[c], cols[k].name);
        }
        old_arg a = {.b = &oldb, .cols = cols, .n_cols = n};
        assert_true(pq_file_read(f, want, old_row, &a, &e));
        qry_batch_from_parquet(&newb, f, cols, n, NULL, 0);
        assert_null(newb.error);
        assert_int_equal(newb.rg_read, pq_file_num_row_groups(f));
        assert_batches_equal(&oldb, &newb);
        free(oldb.cells);
        free(oldb.text);
        free(newb.cells);
        free(newb.text);
    }
    pq_file_close(f);
}

/* Each reader cell stands for the row path's JSON value (pq_cell_matches_json). */
typedef struct {
    json_t **rows;
    size_t n;
} rows_ctx;

static bool keep_row(void *ctx, json_t *row)
{
    rows_ctx *r = ctx;
    r->rows = realloc(r->rows, (r->n + 1) * sizeof *r->rows);
    r->rows[r->n++] = json_incref(row);
    return true;
}

static bool check_cells(void *ctx, size_t n_rows, const pq_cell *const *cols)
{
    old_arg *a = ctx;
    rows_ctx *want = (rows_ctx *)(void *)a->cells;
    assert_int_equal(n_rows, want->n);
    for (size_t c = 0; c < pq_file_num_columns(a->f); c++) {
        assert_non_null(cols[c]);
        for (size_t r = 0; r < n_rows; r++) {
            json_t *v = json_object_get(want->rows[r], pq_file_column_name(a->f, c));
            if (!pq_cell_matches_json(&cols[c][r], v)) {
                char *t = json_dumps(v, JSON_ENCODE_ANY);
                fail_msg("row group %zu row %zu column %s: cell kind %d vs %s", a->rg, r,
                         pq_file_column_name(a->f, c), cols[c][r].kind, t ? t : "(absent)");
            }
        }
    }
    return true;
}

static void cells_stand_for_json(const uint8_t *buf, size_t len)
{
    sp_err e = {0};
    pq_file *f = pq_file_open(buf, len, &e);
    assert_non_null(f);
    for (size_t rg = 0; rg < pq_file_num_row_groups(f); rg++) {
        rows_ctx want = {0};
        assert_true(pq_file_read_row_group(f, rg, NULL, keep_row, &want, &e));
        old_arg a = {.f = f, .rg = rg, .cells = (const pq_cell *const *)(void *)&want};
        assert_true(pq_file_read_row_group_cells(f, rg, NULL, check_cells, &a, &e));
        for (size_t i = 0; i < want.n; i++) json_decref(want.rows[i]);
        free(want.rows);
    }
    pq_file_close(f);
}

static void every_type_codec_and_encoding_matches_the_json_path(void **state)
{
    (void)state;
    pq_codec codecs[] = {PQ_CODEC_UNCOMPRESSED, PQ_CODEC_SNAPPY, PQ_CODEC_GZIP, PQ_CODEC_ZSTD};
    for (size_t c = 0; c < SP_ARRAY_LEN(codecs); c++)
        for (int variant = 0; variant < 4; variant++) {
            pq_options o;
            pq_options_default(&o);
            o.codec = codecs[c];
            o.dictionary = variant & 1;
            o.page_v2 = variant & 2;
            o.page_size = 900;
            o.block_size = 30000;
            size_t len;
            uint8_t *buf = write_file(&o, 700, &len);
            cells_stand_for_json(buf, len);
            both_paths_agree(buf, len, NULL);
            free(buf);
        }
}

static void projection_reads_only_the_asked_columns(void **state)
{
    (void)state;
    pq_options o;
    pq_options_default(&o);
    size_t len;
    uint8_t *buf = write_file(&o, 300, &len);
    bool want_cols[NCOLS] = {0};
    want_cols[2] = want_cols[14] = true; /* price, arr (and NAME, matched ignoring case) */
    both_paths_agree(buf, len, want_cols);
    sp_err e = {0};
    pq_file *f = pq_file_open(buf, len, &e);
    qry_col cols[] = {{.name = "price", .kind = QRY_COL_DOUBLE},
                      {.name = "missing", .kind = QRY_COL_TEXT}};
    qry_batch b = {.n_cols = 2};
    qry_batch_from_parquet(&b, f, cols, 2, NULL, 0);
    assert_int_equal(b.n_rows, 300);
    for (size_t r = 0; r < b.n_rows; r++) assert_int_equal(b.cells[r * 2 + 1].type, SQLITE_NULL);
    assert_int_equal(b.text_len, 0); /* no string column was converted */
    free(b.cells);
    free(b.text);
    /* No column at all (count(*)): rows still counted. */
    qry_batch z = {.n_cols = 0};
    qry_batch_from_parquet(&z, f, NULL, 0, NULL, 0);
    assert_int_equal(z.n_rows, 300);
    free(z.cells);
    pq_file_close(f);
    free(buf);
}

static void statistics_skip_row_groups(void **state)
{
    (void)state;
    pq_options o;
    pq_options_default(&o);
    o.block_size = 20000;
    size_t len;
    uint8_t *buf = write_file(&o, 2000, &len);
    sp_err e = {0};
    pq_file *f = pq_file_open(buf, len, &e);
    assert_true(pq_file_num_row_groups(f) > 2);
    qry_col cols[] = {{.name = "s", .kind = QRY_COL_BIGINT}};
    qry_stat_filter flt = {.column = "s", .op = QRY_SF_GE, .numeric = true, .num = 7 * 1900 - 30000};
    qry_batch b = {.n_cols = 1};
    qry_batch_from_parquet(&b, f, cols, 1, &flt, 1);
    assert_true(b.rg_skipped > 0);
    assert_int_equal(b.rg_read + b.rg_skipped, pq_file_num_row_groups(f));
    size_t hits = 0;
    for (size_t r = 0; r < b.n_rows; r++)
        hits += b.cells[r].type == SQLITE_INTEGER && b.cells[r].v.i >= flt.num;
    size_t expect = 0;
    for (int i = 0; i < 2000; i++) expect += i % 11 != 5 && i * 7 - 30000 >= flt.num;
    assert_int_equal(hits, expect);
    free(b.cells);
    free(b.text);
    pq_file_close(f);
    free(buf);
}

static void damaged_files_fail_both_ways(void **state)
{
    (void)state;
    pq_options o;
    pq_options_default(&o);
    o.codec = PQ_CODEC_UNCOMPRESSED;
    size_t len;
    uint8_t *buf = write_file(&o, 200, &len);
    size_t failures = 0;
    for (size_t at = 4; at + 8 < len; at += 7) {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[at] ^= 0x5a;
        sp_err e = {0};
        pq_file *f = pq_file_open(copy, len, &e);
        if (f) {
            qry_col cols[] = {{.name = "name", .kind = QRY_COL_TEXT},
                              {.name = "m", .kind = QRY_COL_TEXT}};
            qry_batch oldb = {.n_cols = 2}, newb = {.n_cols = 2};
            old_arg a = {.b = &oldb, .cols = cols, .n_cols = 2};
            sp_err e2 = {0};
            bool old_ok = pq_file_read(f, NULL, old_row, &a, &e2);
            qry_batch_from_parquet(&newb, f, cols, 2, NULL, 0);
            /* the new path reads only the used columns: it may succeed where a full read
             * fails, never the other way round on these columns */
            if (old_ok) {
                assert_null(newb.error);
                assert_batches_equal(&oldb, &newb);
            }
            failures += newb.error != NULL;
            free(newb.error);
            free(oldb.cells);
            free(oldb.text);
            free(newb.cells);
            free(newb.text);
            pq_file_close(f);
        }
        free(copy);
    }
    assert_true(failures > 0);
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_type_codec_and_encoding_matches_the_json_path),
        cmocka_unit_test(projection_reads_only_the_asked_columns),
        cmocka_unit_test(statistics_skip_row_groups),
        cmocka_unit_test(damaged_files_fail_both_ways),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
