/* The query cache under the scan: an object whose cache entry matches its file is served from
 * the cache with exactly the values a parse gives (every JSON type into every column kind,
 * case-insensitive member lookup, records that are not objects); an object changed since
 * (mtime or size), cached under another JsonPath or never cached is parsed; a missing object
 * is skipped. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "query/qry_int.h"

enum { N_OBJ = 3, LINES = 1500 };

typedef struct fixture {
    char dir[64];
    char cache[96];
    char *paths[N_OBJ];
} fixture;

static const char *const VALUES[] = {
    "12", "-7", "199.5", "0.30000000000000004", "1e300", "\"42\"", "\"2.5\"", "\"abc\"",
    "\"TRUE\"", "\"false\"", "true", "false", "null", "{\"a\":[1,2.25,\"x\"]}", "[]",
    "\"\"", "\"caf\\u00e9\"", "9007199254740993",
};
enum { N_VALUES = sizeof VALUES / sizeof VALUES[0] };

static void write_object(const char *path, int k, int lines)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    for (int i = 0; i < lines; i++) {
        if (i % 97 == 5) { /* a record that is not an object, and a malformed line */
            fputs("[1, 2]\nnot json\n", out);
            continue;
        }
        const char *v = VALUES[(i + k) % N_VALUES], *w = VALUES[(i * 7 + k) % N_VALUES];
        fprintf(out, "{\"id\": %d, \"v\": %s, \"W\": %s, \"w\": %s, \"V2\": %s%s}\n", i, v, w, v,
                w, i % 3 ? ", \"extra\": 1" : "");
    }
    fclose(out);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/sp_qcache_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cache, sizeof f->cache, "%s/cache.db", f->dir);
    for (int k = 0; k < N_OBJ; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/o%d", f->dir, k);
        write_object(path, k, LINES);
        f->paths[k] = strdup(path);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int k = 0; k < N_OBJ; k++) {
        unlink(f->paths[k]);
        free(f->paths[k]);
    }
    char p[128];
    snprintf(p, sizeof p, "%s-wal", f->cache);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->cache);
    unlink(p);
    unlink(f->cache);
    rmdir(f->dir);
    free(f);
    return 0;
}

typedef struct put_arg {
    cat_cache_put *put;
} put_arg;

static bool on_rec(void *arg, json_t *v)
{
    sp_err e = {0};
    assert_true(cat_cache_put_record(((put_arg *)arg)->put, v, &e));
    return true;
}

/* Caches every object of f as the crawler does, selected with jsonpath. */
static void fill(fixture *f, const char *jsonpath)
{
    sp_err e = {0};
    cat_cache *c = cat_cache_open(f->cache, true, &e);
    assert_non_null(c);
    assert_true(cat_cache_begin(c, &e));
    cat_jsonpath *p = cat_jsonpath_compile(jsonpath, &e);
    for (int k = 0; k < N_OBJ; k++) {
        struct stat st;
        assert_int_equal(stat(f->paths[k], &st), 0);
        put_arg a = {.put = cat_cache_put_begin(c, f->paths[k], "b", f->paths[k], jsonpath, &e)};
        assert_non_null(a.put);
        cat_reader *r = cat_reader_open(f->paths[k], &e);
        json_t *doc;
        while (cat_reader_next(r, &doc, &e) == 1) {
            cat_jsonpath_select(p, doc, on_rec, &a);
            json_decref(doc);
        }
        cat_reader_close(r);
        assert_true(cat_cache_put_end(a.put, &st, true, &e));
    }
    cat_jsonpath_destroy(p);
    assert_true(cat_cache_commit(c, &e));
    cat_cache_close(c);
}

static const char *const NAMES[] = {"id", "v", "w", "v2", "missing"};
enum { N_NAMES = 5, N_KINDS = 4, N_COLS = N_NAMES * N_KINDS };

/* Every row of a scan as text ("I:12|F:2.5|T:abc|N|..."), with the objects from the cache. */
static char *scan_text(fixture *f, char *const *paths, size_t n_paths, const char *cache,
                       size_t workers, size_t *from_cache, size_t *opened)
{
    qry_col cols[N_COLS];
    for (int i = 0; i < N_COLS; i++) cols[i] = (qry_col){NAMES[i / N_KINDS], (qry_col_kind)(i % N_KINDS)};
    sp_err e = {0};
    cat_jsonpath *p = cat_jsonpath_compile("$", &e);
    qry_scan *s = qry_scan_start_cached(paths, n_paths, p, cols, N_COLS, workers, cache, "$");
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    *from_cache = *opened = 0;
    for (size_t j = 0; j < n_paths; j++) {
        for (;;) {
            qry_batch *b = qry_scan_next(s, j);
            assert_null(b->error);
            *opened += b->opened;
            *from_cache += b->from_cache;
            for (size_t r = 0; r < b->n_rows; r++) {
                for (size_t c = 0; c < b->n_cols; c++) {
                    const qry_cell *x = &b->cells[r * b->n_cols + c];
                    if (x->type == SQLITE_INTEGER) sp_str_appendf(&out, "I:%lld|", (long long)x->v.i);
                    else if (x->type == SQLITE_FLOAT) sp_str_appendf(&out, "F:%.17g|", x->v.d);
                    else if (x->type == SQLITE_TEXT)
                        sp_str_appendf(&out, "T:%.*s|", (int)x->len, b->text + x->v.off);
                    else sp_str_puts(&out, "N|");
                }
                sp_str_putc(&out, '\n');
            }
            bool end = b->object_end;
            qry_batch_free(b);
            if (end) break;
        }
    }
    qry_scan_stop(s);
    cat_jsonpath_destroy(p);
    (void)f;
    return sp_str_finish(&out, NULL);
}

static void a_cache_hit_gives_exactly_what_parsing_gives(void **state)
{
    fixture *f = *state;
    fill(f, "$");
    size_t cached, opened;
    char *parsed = scan_text(f, f->paths, N_OBJ, NULL, 0, &cached, &opened);
    assert_int_equal(cached, 0);
    assert_int_equal(opened, N_OBJ);
    assert_non_null(strstr(parsed, "T:{\"a\":[1,2.25,\"x\"]}|")); /* the values are varied */
    assert_non_null(strstr(parsed, "T:0.30000000000000004|"));
    for (size_t workers = 0; workers <= 2; workers++) {
        char *hit = scan_text(f, f->paths, N_OBJ, f->cache, workers, &cached, &opened);
        assert_int_equal(cached, N_OBJ);
        assert_int_equal(opened, N_OBJ);
        assert_string_equal(hit, parsed);
        free(hit);
    }
    free(parsed);
}

static void a_changed_object_is_parsed_not_served_stale(void **state)
{
    fixture *f = *state;
    fill(f, "$");
    /* object 0: same size, other content, later mtime; object 1: longer, same mtime */
    struct stat st0, st1;
    stat(f->paths[0], &st0);
    stat(f->paths[1], &st1);
    write_object(f->paths[0], 1, LINES);
    struct timespec t0[2] = {st0.st_atim, {st0.st_mtim.tv_sec + 5, st0.st_mtim.tv_nsec}};
    utimensat(AT_FDCWD, f->paths[0], t0, 0);
    FILE *a = fopen(f->paths[1], "a");
    fputs("{\"id\": -1, \"v\": \"appended\"}\n", a);
    fclose(a);
    struct timespec t1[2] = {st1.st_atim, st1.st_mtim};
    utimensat(AT_FDCWD, f->paths[1], t1, 0);
    size_t cached, opened;
    char *parsed = scan_text(f, f->paths, N_OBJ, NULL, 0, &cached, &opened);
    char *got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, 1); /* only object 2 is unchanged */
    assert_string_equal(got, parsed);
    assert_non_null(strstr(got, "T:appended|"));
    free(got);
    free(parsed);
}

static void missing_objects_and_other_paths_are_not_served(void **state)
{
    fixture *f = *state;
    size_t cached, opened;
    /* no cache file at all */
    char *parsed = scan_text(f, f->paths, N_OBJ, f->cache, 1, &cached, &opened);
    assert_int_equal(cached, 0);
    fill(f, "$[*]"); /* cached under another JsonPath: not for a "$" table */
    char *got = scan_text(f, f->paths, N_OBJ, f->cache, 1, &cached, &opened);
    assert_int_equal(cached, 0);
    assert_string_equal(got, parsed);
    free(got);
    fill(f, "$");
    unlink(f->paths[1]); /* deleted since the crawl: skipped, cached or not */
    char *without[N_OBJ] = {f->paths[0], f->paths[2], NULL};
    char *want = scan_text(f, without, 2, NULL, 0, &cached, &opened);
    got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, 2);
    assert_int_equal(opened, 2);
    assert_string_equal(got, want);
    free(got);
    free(want);
    free(parsed);
    write_object(f->paths[1], 1, 1); /* for teardown */
}

static void a_pruned_cache_drops_changed_and_deleted_entries(void **state)
{
    fixture *f = *state;
    fill(f, "$");
    unlink(f->paths[0]);
    sp_err e = {0};
    cat_cache *c = cat_cache_open(f->cache, true, &e);
    assert_true(cat_cache_prune(c, "b", "", &e));
    struct stat st;
    size_t chunks = 0;
    stat(f->paths[2], &st);
    assert_true(cat_cache_lookup(c, f->paths[2], &st, "$", &chunks) > 0);
    assert_int_equal(chunks, (LINES + CAT_CACHE_CHUNK_RECORDS - 1) / CAT_CACHE_CHUNK_RECORDS);
    assert_true(cat_cache_lookup(c, f->paths[0], &st, "$", &chunks) == 0);
    cat_cache_close(c);
    write_object(f->paths[0], 0, 1);
}

/* The scan threads keep their cache connection between scans (qry_scan.c): a recrawl
 * committed between two scans is seen by the next one, and a cache file deleted and made
 * again is reopened rather than read through the old, unlinked file. */
static void a_kept_cache_connection_sees_recrawls_and_a_new_file(void **state)
{
    fixture *f = *state;
    fill(f, "$");
    size_t cached, opened;
    char *got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, N_OBJ);
    free(got);
    /* object 0 changes and is recrawled into the same cache file */
    write_object(f->paths[0], 2, LINES / 2);
    fill(f, "$");
    char *parsed = scan_text(f, f->paths, N_OBJ, NULL, 0, &cached, &opened);
    got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, N_OBJ); /* the new entry is seen: nothing parsed */
    assert_string_equal(got, parsed);
    free(got);
    free(parsed);
    /* the cache file is deleted and crawled again after object 1 changed: the old file's
     * connection would miss object 1's new entry */
    char p[128];
    snprintf(p, sizeof p, "%s-wal", f->cache);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", f->cache);
    unlink(p);
    unlink(f->cache);
    write_object(f->paths[1], 0, LINES / 3);
    fill(f, "$");
    parsed = scan_text(f, f->paths, N_OBJ, NULL, 0, &cached, &opened);
    got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, N_OBJ);
    assert_string_equal(got, parsed);
    free(got);
    free(parsed);
    /* and with the cache gone altogether, everything is parsed */
    unlink(f->cache);
    got = scan_text(f, f->paths, N_OBJ, f->cache, 2, &cached, &opened);
    assert_int_equal(cached, 0);
    free(got);
}

/* cat_cache_chunk_view walks an entry's chunks with one cursor: in order, out of order, again,
 * across entries and past the end it gives exactly the chunk cat_cache_chunk_get gives. */
static void chunk_views_in_any_order_are_the_stored_chunks(void **state)
{
    fixture *f = *state;
    fill(f, "$");
    sp_err e = {0};
    cat_cache *c = cat_cache_open(f->cache, false, &e);
    assert_non_null(c);
    assert_true(cat_cache_read_begin(c));
    int64_t id[N_OBJ];
    size_t chunks = 0;
    for (int k = 0; k < N_OBJ; k++) {
        struct stat st;
        stat(f->paths[k], &st);
        id[k] = cat_cache_lookup(c, f->paths[k], &st, "$", &chunks);
        assert_true(id[k] > 0);
        assert_int_equal(chunks, 2);
    }
    /* (object, seq) pairs: in order, repeated, backwards, skipping, switching entries */
    static const int order[][2] = {{0, 0}, {0, 1}, {0, 1}, {0, 0}, {2, 1}, {1, 0}, {2, 0},
                                   {1, 1}, {0, 1}, {2, 1}};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        size_t want_len = 0, got_len = 0;
        void *want = cat_cache_chunk_get(c, id[order[i][0]], (size_t)order[i][1], &want_len);
        const void *got = cat_cache_chunk_view(c, id[order[i][0]], (size_t)order[i][1], &got_len);
        assert_non_null(want);
        assert_non_null(got);
        assert_int_equal(got_len, want_len);
        assert_memory_equal(got, want, want_len);
        free(want);
    }
    size_t len;
    assert_null(cat_cache_chunk_view(c, id[1], 2, &len));   /* past the last chunk */
    assert_null(cat_cache_chunk_view(c, id[2] + 100, 0, &len)); /* no such entry */
    assert_non_null(cat_cache_chunk_view(c, id[1], 1, &len)); /* and on again */
    cat_cache_read_end(c);
    cat_cache_close(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_cache_hit_gives_exactly_what_parsing_gives, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_changed_object_is_parsed_not_served_stale, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(missing_objects_and_other_paths_are_not_served, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(chunk_views_in_any_order_are_the_stored_chunks, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_kept_cache_connection_sees_recrawls_and_a_new_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(a_pruned_cache_drops_changed_and_deleted_entries,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
