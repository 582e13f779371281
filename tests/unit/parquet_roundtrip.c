/* The Parquet module on its own: Thrift compact protocol and RLE/bit-packed hybrid round trips
 * and their refusal of damaged input; files the writer makes read back value for value
 * (every Glue type, nulls, each codec, dictionary and plain, v1 and v2 pages, several pages
 * and row groups, nested struct/array/map); a record that does not fit is refused without
 * half-writing it; output bytes are deterministic; statistics; damaged files are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "parquet/pq_int.h"

static void thrift_round_trip_and_skip(void **state)
{
    (void)state;
    pq_buf b = {0};
    tc_writer w;
    tc_w_init(&w, &b);
    tc_w_struct_begin(&w, 0);
    tc_w_i32(&w, 1, -7);
    tc_w_i64(&w, 20, 1LL << 40);           /* long-form field id delta */
    tc_w_string(&w, 21, "hello");
    tc_w_struct_begin(&w, 22);
    tc_w_bool(&w, 1, true);
    tc_w_struct_end(&w);
    tc_w_list_begin(&w, 23, TC_I32, 20);   /* long-form list size */
    for (int i = 0; i < 20; i++) tc_w_raw_i32(&w, i * 1000);
    tc_w_i32(&w, 24, 99);
    tc_w_struct_end(&w);

    tc_reader r;
    tc_r_init(&r, b.p, b.len);
    assert_true(tc_r_struct_begin(&r));
    int t;
    int16_t id;
    int seen = 0;
    while (tc_r_field(&r, &t, &id)) {
        if (id == 1) assert_int_equal(tc_r_int(&r, t), -7);
        else if (id == 20) assert_true(tc_r_int(&r, t) == (1LL << 40));
        else if (id == 21) {
            size_t n;
            const uint8_t *p = tc_r_binary(&r, &n);
            assert_int_equal(n, 5);
            assert_memory_equal(p, "hello", 5);
        } else if (id == 24) assert_int_equal(tc_r_int(&r, t), 99);
        else tc_r_skip(&r, t);  /* the struct and the list */
        seen++;
    }
    tc_r_struct_end(&r);
    assert_false(r.bad);
    assert_int_equal(seen, 6);
    assert_true(r.p == r.end);

    /* Every truncation is refused, never read past. */
    for (size_t cut = 0; cut < b.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, b.p, cut);
        tc_r_init(&r, copy, cut);
        tc_r_skip(&r, TC_STRUCT);
        assert_true(r.bad);
        free(copy);
    }
    pq_buf_free(&b);
}

static void thrift_refuses_deep_nesting(void **state)
{
    (void)state;
    uint8_t deep[64];
    for (size_t i = 0; i < sizeof deep; i++) deep[i] = 0x1c;  /* field +1, struct */
    tc_reader r;
    tc_r_init(&r, deep, sizeof deep);
    tc_r_skip(&r, TC_STRUCT);
    assert_true(r.bad);
}

static void rle_round_trip(void **state)
{
    (void)state;
    srand(7);
    for (int bw = 0; bw <= 20; bw++) {
        size_t n = 1 + (size_t)(rand() % 3000);
        uint32_t *v = malloc(n * sizeof *v), *back = malloc(n * sizeof *back);
        uint32_t mask = bw ? (bw == 32 ? 0xffffffffu : (1u << bw) - 1) : 0;
        for (size_t i = 0; i < n; i++)
            v[i] = (rand() % 4 == 0 || i == 0) ? (uint32_t)rand() & mask : v[i - 1];
        pq_buf b = {0};
        pq_rle_encode(&b, v, n, bw);
        assert_true(pq_rle_decode(b.p, b.len, bw, back, n));
        assert_memory_equal(v, back, n * sizeof *v);
        /* Asking for more values than were encoded fails cleanly. */
        uint32_t *more = malloc((n + 100) * sizeof *more);
        if (bw) assert_false(pq_rle_decode(b.p, b.len, bw, more, n + 100));
        free(more);
        pq_buf_free(&b);
        free(v);
        free(back);
    }
    assert_false(pq_rle_decode((const uint8_t *)"\x02\x07", 2, 2, (uint32_t[1]){0}, 1));
}

static const char *names[] = {"id", "name", "price", "ok", "d", "ts", "dec", "big", "t", "s",
                              "f", "i", "bin"};
static const char *types[] = {"bigint", "string", "double", "boolean", "date", "timestamp",
                              "decimal(10,2)", "decimal(30,4)", "tinyint", "smallint", "float",
                              "int", "binary"};
#define NCOLS 13

/* The expected read-back form of record i (what the writer was given, normalised). */
static json_t *record(int i)
{
    if (i % 11 == 5) return json_object();  /* all null */
    char name[32], d[16], ts[40], dec[32], big[48];
    snprintf(name, sizeof name, i % 3 ? "name-%d-ü" : "", i % 17);
    snprintf(d, sizeof d, "20%02d-%02d-%02d", i % 30, 1 + i % 12, 1 + i % 28);
    snprintf(ts, sizeof ts, "2024-03-%02d %02d:%02d:%02d.%03d", 1 + i % 28, i % 24, i % 60,
             (i * 7) % 60, i % 1000);
    snprintf(dec, sizeof dec, "%s%d.%02d", i % 2 ? "-" : "", i * 13, i % 100);
    snprintf(big, sizeof big, "%d12345678901234567890.%04d", i + 1, i % 10000);
    return json_pack("{sI ss sf sb ss ss ss ss si si sf si ss}", "id",
                     (json_int_t)i * 1000003LL - (i % 2 ? INT64_C(4611686018427387904) : 0),
                     "name", name, "price", i * 0.25 - 100, "ok", i % 2, "d", d, "ts", ts,
                     "dec", dec, "big", big, "t", i % 256 - 128, "s", i * 7 - 30000, "f",
                     (double)(float)(i * 0.5), "i", i * 1000 - 2147483, "bin", "AAEC/w==");
}

typedef struct {
    int next;
    int skip_mod;
} check_ctx;

static bool check_row(void *ctx, json_t *row)
{
    check_ctx *c = ctx;
    json_t *want = record(c->next++);
    for (int k = 0; k < NCOLS; k++) {
        json_t *w = json_object_get(want, names[k]);
        json_t *g = json_object_get(row, names[k]);
        assert_non_null(g);
        if (!w) {
            assert_true(json_is_null(g));
            continue;
        }
        if (!json_equal(w, g)) {
            char *ws = json_dumps(w, JSON_ENCODE_ANY), *gs = json_dumps(g, JSON_ENCODE_ANY);
            fail_msg("row %d column %s: wrote %s, read %s", c->next - 1, names[k], ws, gs);
        }
    }
    json_decref(want);
    return true;
}

static uint8_t *write_file(const pq_options *o, int n, size_t *len)
{
    sp_err e = {0};
    pq_writer *w = pq_writer_new(NCOLS, names, types, o, &e);
    assert_non_null(w);
    for (int i = 0; i < n; i++) {
        json_t *r = record(i);
        assert_true(pq_writer_add_object(w, r, &e));
        json_decref(r);
    }
    uint8_t *buf = pq_writer_finish(w, len, &e);
    assert_non_null(buf);
    pq_writer_destroy(w);
    return buf;
}

static void read_all(const uint8_t *buf, size_t len, int n)
{
    sp_err e = {0};
    pq_file *f = pq_file_open(buf, len, &e);
    if (!f) fail_msg("%s", e.msg);
    assert_int_equal(pq_file_num_rows(f), n);
    assert_int_equal(pq_file_num_columns(f), NCOLS);
    for (int k = 0; k < NCOLS; k++) {
        assert_string_equal(pq_file_column_name(f, (size_t)k), names[k]);
        assert_string_equal(pq_file_column_type(f, (size_t)k), types[k]);
    }
    check_ctx c = {0};
    if (!pq_file_read(f, NULL, check_row, &c, &e)) fail_msg("%s", e.msg);
    assert_int_equal(c.next, n);
    pq_file_close(f);
}

static void flat_round_trip_every_codec_and_encoding(void **state)
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
            o.page_size = 700;        /* several pages per chunk */
            o.block_size = 40000;     /* several row groups */
            size_t len;
            uint8_t *buf = write_file(&o, 1500, &len);
            sp_err e = {0};
            pq_file *f = pq_file_open(buf, len, &e);
            assert_non_null(f);
            assert_true(pq_file_num_row_groups(f) > 1);
            pq_file_close(f);
            read_all(buf, len, 1500);
            free(buf);
        }
}

static void output_is_deterministic(void **state)
{
    (void)state;
    pq_options o;
    pq_options_default(&o);
    o.dictionary = true;
    size_t l1, l2;
    uint8_t *a = write_file(&o, 300, &l1), *b = write_file(&o, 300, &l2);
    assert_int_equal(l1, l2);
    assert_memory_equal(a, b, l1);
    free(a);
    free(b);
}

static bool count_row(void *ctx, json_t *row)
{
    (void)row;
    (*(int *)ctx)++;
    return true;
}

static void misfit_record_is_refused_whole(void **state)
{
    (void)state;
    sp_err e = {0};
    pq_writer *w = pq_writer_new(NCOLS, names, types, NULL, &e);
    json_t *good = record(1);
    assert_true(pq_writer_add_object(w, good, &e));
    const char *bad[][2] = {{"t", "300"}, {"id", "\"abc\""}, {"d", "\"2024-02-30\""},
                            {"dec", "\"123456789.5\""}, {"ok", "[1]"}, {"ts", "\"noon\""},
                            {"bin", "\"***\""}};
    for (size_t k = 0; k < SP_ARRAY_LEN(bad); k++) {
        json_t *r = record(1);
        json_object_set_new(r, bad[k][0], json_loads(bad[k][1], JSON_DECODE_ANY, NULL));
        sp_err_clear(&e);
        assert_false(pq_writer_add_object(w, r, &e));
        assert_non_null(strstr(e.msg, bad[k][0]));
        json_decref(r);
    }
    assert_true(pq_writer_add_object(w, good, &e));
    json_decref(good);
    size_t len;
    uint8_t *buf = pq_writer_finish(w, &len, &e);
    pq_writer_destroy(w);
    pq_file *f = pq_file_open(buf, len, &e);
    assert_non_null(f);
    int rows = 0;
    assert_true(pq_file_read(f, NULL, count_row, &rows, &e));
    assert_int_equal(rows, 2);
    pq_file_close(f);
    free(buf);
}

static void statistics_per_row_group(void **state)
{
    (void)state;
    const char *n[] = {"q", "s"}, *t[] = {"int", "string"};
    sp_err e = {0};
    pq_writer *w = pq_writer_new(2, n, t, NULL, &e);
    const char *rows[] = {"{\"q\":5,\"s\":\"pear\"}", "{\"q\":-3}", "{\"q\":12,\"s\":\"apple\"}",
                          "{\"s\":\"zebra\"}"};
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_loads(rows[i], 0, NULL);
        assert_true(pq_writer_add_object(w, r, &e));
        json_decref(r);
    }
    size_t len;
    uint8_t *buf = pq_writer_finish(w, &len, &e);
    pq_writer_destroy(w);
    pq_file *f = pq_file_open(buf, len, &e);
    json_t *min, *max;
    int64_t nulls;
    pq_file_column_stats(f, 0, 0, &min, &max, &nulls);
    assert_int_equal(json_integer_value(min), -3);
    assert_int_equal(json_integer_value(max), 12);
    assert_int_equal(nulls, 1);
    json_decref(min);
    json_decref(max);
    pq_file_column_stats(f, 0, 1, &min, &max, &nulls);
    assert_string_equal(json_string_value(min), "apple");
    assert_string_equal(json_string_value(max), "zebra");
    assert_int_equal(nulls, 1);
    json_decref(min);
    json_decref(max);
    pq_file_close(f);
    free(buf);
}

static bool keep_row(void *ctx, json_t *row)
{
    json_array_append(ctx, row);
    return true;
}

static void nested_round_trip(void **state)
{
    (void)state;
    const char *n[] = {"st", "arr", "m", "deep"};
    const char *t[] = {"struct<a:int,b:string,c:struct<x:double>>", "array<bigint>",
                       "map<string,int>", "array<struct<k:string,v:array<int>>>"};
    const char *rows[] = {
        "{\"st\":{\"a\":1,\"b\":\"x\",\"c\":{\"x\":1.5}},\"arr\":[1,2,3],\"m\":{\"k\":1,\"j\":2},"
        "\"deep\":[{\"k\":\"a\",\"v\":[1,2]},{\"k\":\"b\",\"v\":[]},{\"k\":null,\"v\":null}]}",
        "{\"st\":null,\"arr\":[],\"m\":{},\"deep\":[]}",
        "{\"st\":{\"a\":null,\"b\":null,\"c\":null},\"arr\":[null,7],\"m\":{\"z\":null},"
        "\"deep\":[null]}",
        "{}",
        "{\"st\":{\"a\":2,\"b\":\"\",\"c\":{\"x\":null}},\"arr\":[5],\"m\":{\"q\":9},"
        "\"deep\":[{\"k\":\"only\",\"v\":[null,3]}]}"};
    for (int v2 = 0; v2 < 2; v2++)
        for (int dict = 0; dict < 2; dict++) {
            pq_options o;
            pq_options_default(&o);
            o.page_v2 = v2;
            o.dictionary = dict;
            sp_err e = {0};
            pq_writer *w = pq_writer_new(4, n, t, &o, &e);
            assert_non_null(w);
            json_t *want = json_array();
            for (int rep = 0; rep < 50; rep++)
                for (size_t i = 0; i < SP_ARRAY_LEN(rows); i++) {
                    json_t *r = json_loads(rows[i], 0, NULL);
                    if (!pq_writer_add_object(w, r, &e)) fail_msg("%s", e.msg);
                    for (size_t c = 0; c < 4; c++)
                        if (!json_object_get(r, n[c])) json_object_set_new(r, n[c], json_null());
                    json_array_append_new(want, r);
                }
            size_t len;
            uint8_t *buf = pq_writer_finish(w, &len, &e);
            pq_writer_destroy(w);
            pq_file *f = pq_file_open(buf, len, &e);
            assert_non_null(f);
            for (size_t c = 0; c < 4; c++) assert_string_equal(pq_file_column_type(f, c), t[c]);
            json_t *got = json_array();
            if (!pq_file_read(f, NULL, keep_row, got, &e)) fail_msg("%s", e.msg);
            if (!json_equal(want, got)) {
                char *g = json_dumps(json_array_get(got, 0), 0);
                fail_msg("nested rows differ; first read back: %s", g);
            }
            /* Projection: only the asked-for column comes back. */
            json_t *one = json_array();
            bool wantcol[4] = {false, false, true, false};
            assert_true(pq_file_read(f, wantcol, keep_row, one, &e));
            assert_int_equal(json_object_size(json_array_get(one, 0)), 1);
            assert_true(json_equal(json_object_get(json_array_get(one, 0), "m"),
                                   json_object_get(json_array_get(want, 0), "m")));
            json_decref(one);
            json_decref(got);
            json_decref(want);
            pq_file_close(f);
            free(buf);
        }
}

static void damaged_files_are_refused(void **state)
{
    (void)state;
    pq_options o;
    pq_options_default(&o);
    o.dictionary = true;
    size_t len;
    uint8_t *buf = write_file(&o, 200, &len);
    sp_err e = {0};
    /* Every prefix with the magic patched back on either fails to open or reads (with an
     * error or not) without crashing. */
    for (size_t cut = 0; cut < len; cut += 7) {
        uint8_t *copy = malloc(cut + 4);
        memcpy(copy, buf, cut);
        memcpy(copy + cut, "PAR1", 4);
        sp_err_clear(&e);
        pq_file *f = pq_file_open(copy, cut + 4, &e);
        if (f) {
            int rows = 0;
            (void)pq_file_read(f, NULL, count_row, &rows, &e);
            pq_file_close(f);
        } else {
            assert_string_equal(e.code, "ValidationException");
        }
        free(copy);
    }
    /* Flipped bytes anywhere. */
    for (size_t at = 0; at < len; at += 3) {
        uint8_t *copy = malloc(len);
        memcpy(copy, buf, len);
        copy[at] ^= 0x5a;
        sp_err_clear(&e);
        pq_file *f = pq_file_open(copy, len, &e);
        if (f) {
            int rows = 0;
            (void)pq_file_read(f, NULL, count_row, &rows, &e);
            pq_file_close(f);
        }
        free(copy);
    }
    assert_null(pq_file_open((const uint8_t *)"PAR1PAR1", 8, &e));
    free(buf);
}

static void schema_types_are_checked(void **state)
{
    (void)state;
    sp_err e = {0};
    assert_true(pq_glue_type_check("c", "struct<a:array<map<string,decimal(38,2)>>>", &e));
    assert_false(pq_glue_type_check("c", "decimal(39,1)", &e));
    assert_non_null(strstr(e.msg, "'c'"));
    assert_false(pq_glue_type_check("c", "map<array<int>,int>", &e));
    assert_false(pq_glue_type_check("c", "uuid", &e));
    assert_false(pq_glue_type_check("c", "array<int", &e));
    const char *dup[] = {"a", "a"}, *ty[] = {"int", "int"};
    assert_null(pq_writer_new(2, dup, ty, NULL, &e));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thrift_round_trip_and_skip),
        cmocka_unit_test(thrift_refuses_deep_nesting),
        cmocka_unit_test(rle_round_trip),
        cmocka_unit_test(flat_round_trip_every_codec_and_encoding),
        cmocka_unit_test(output_is_deterministic),
        cmocka_unit_test(misfit_record_is_refused_whole),
        cmocka_unit_test(statistics_per_row_group),
        cmocka_unit_test(nested_round_trip),
        cmocka_unit_test(damaged_files_are_refused),
        cmocka_unit_test(schema_types_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
