/* Crash recovery: the last segment of a shard is scanned on open and a torn or corrupt tail
 * is cut at the last good record; everything before it survives and appends continue. The
 * tail's file runs on with zeros written ahead (fsync: batch): zeros read as the end, never
 * as a record, and are kept, in every state a crash can leave them. */
#include <signal.h>
#include <sys/resource.h>

#include "stream_test.h"

static off_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return st.st_size;
}

static void put_one(stm_log *log, int i, uint64_t origin_pos)
{
    char data[100];
    char pk[16];
    snprintf(pk, sizeof pk, "key-%d", i);
    size_t len = test_data(data, sizeof data, "rec", i);
    stm_put p = {.partition_key = pk, .data = data, .len = len, .origin = "pipe",
                 .origin_pos = origin_pos};
    stm_put_result r;
    size_t w;
    sp_err e = {0};
    assert_true(stm_put_records(log, "s", &p, 1, &r, &w, &e));
    assert_int_equal(w, 1);
}

/* Where the records of a segment file end (its logical end), found by a scan. */
static off_t records_end(const char *path)
{
    off_t size = file_size(path);
    uint8_t *b = malloc((size_t)size + 1);
    int fd = open(path, O_RDONLY);
    assert_int_equal(pread(fd, b, (size_t)size, 0), size);
    close(fd);
    long end = stm_segment_scan_buf(b, (size_t)size, NULL, NULL);
    free(b);
    assert_true(end > 0);
    return (off_t)end;
}

/* Writes three records; returns the segment path and the offsets where record 3 starts/ends.
 * The log runs in fsync mode, so the file is longer: zeros written ahead. */
static void write_three(char *seg, size_t size, off_t *start, off_t *end)
{
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    snprintf(seg, size, "%s/s/shardId-000000000000/00000000000000000001.seg", test_dir);
    put_one(log, 1, 10);
    put_one(log, 2, 20);
    *start = records_end(seg);
    put_one(log, 3, 30);
    *end = records_end(seg);
    assert_true(file_size(seg) >= *end + STM_ZERO_AHEAD_BYTES / 2);
    stm_log_close(log);
}

static void check_two_then_append(void)
{
    stm_log *log = test_open();
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.recs[0].seq, 1);
    assert_int_equal(s.recs[1].seq, 2);
    assert_string_equal(s.recs[0].pk, "key-1");
    assert_memory_equal(s.recs[1].data, "rec-2xxx", 8);
    free(s.recs);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 20);
    put_one(log, 4, 40);
    s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 3);
    /* The cut record's position may have been seen before the crash (fsync: none): the new
     * record never takes it, nor any other position reserved before the reopen. */
    assert_true(s.recs[2].seq > 1 + STM_SEQ_RESERVE_BLOCK); /* the first append reserved that */
    assert_string_equal(s.recs[2].pk, "key-4");
    free(s.recs);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 40);
    stm_log_close(log);
}

static void cut_at_every_byte_of_the_last_record(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    assert_true(end > start);
    char copy[600];
    snprintf(copy, sizeof copy, "%s/orig.seg", test_dir);
    assert_int_equal(link(seg, copy), 0);
    int fd = open(copy, O_RDONLY);
    char *orig = malloc((size_t)end);
    assert_int_equal(pread(fd, orig, (size_t)end, 0), end);
    close(fd);
    unlink(copy);
    sp_log_set_level(SP_LOG_ERROR);  /* one warning per cut otherwise */
    for (off_t cut = start; cut < end; cut++) {
        fd = open(seg, O_WRONLY | O_TRUNC);
        assert_int_equal(write(fd, orig, (size_t)cut), cut);
        close(fd);
        check_two_then_append();
        /* The cut record is gone and the new one took its place. */
        assert_int_equal(records_end(seg), start + (off_t)stm_frame_size(5, 0, 4, 100));
    }
    sp_log_set_level(SP_LOG_INFO);
    free(orig);
    test_dir_remove();
}

static void corrupt_byte_in_the_tail_is_cut(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    /* Flip one byte inside the data of record 3: its CRC no longer matches. */
    int fd = open(seg, O_RDWR);
    char b;
    off_t at = end - 10;
    assert_int_equal(pread(fd, &b, 1, at), 1);
    b ^= 0x40;
    assert_int_equal(pwrite(fd, &b, 1, at), 1);
    close(fd);
    check_two_then_append();
    test_dir_remove();
}

static void torn_header_of_a_new_segment_is_dropped(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    /* A crash right after creating the next segment file, before its header was written. */
    char next[512];
    snprintf(next, sizeof next, "%s/s/shardId-000000000000/00000000000000000004.seg", test_dir);
    int fd = open(next, O_WRONLY | O_CREAT, 0644);
    assert_int_equal(write(fd, "SPSEG0", 6), 6);
    close(fd);
    stm_log *log = test_open();
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 3);
    free(s.recs);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 30);
    stm_log_close(log);
    assert_int_not_equal(access(next, F_OK), 0);
    test_dir_remove();
}

static void write_at(const char *path, off_t at, const void *b, size_t len)
{
    int fd = open(path, O_WRONLY);
    assert_int_equal(pwrite(fd, b, len, at), (ssize_t)len);
    close(fd);
}

/* A power cut may keep any page of an unsynced pass: every torn shape of record 3 inside the
 * written-ahead space (cut at each byte, zeros after it to the file's end) reads as two records,
 * and the tail is cleaned so the next record lands right after record 2. */
static void torn_record_inside_zeroed_space(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    off_t size = file_size(seg);
    char *orig = malloc((size_t)end);
    int fd = open(seg, O_RDONLY);
    assert_int_equal(pread(fd, orig, (size_t)end, 0), end);
    close(fd);
    char *zero = calloc(1, (size_t)(end - start));
    sp_log_set_level(SP_LOG_ERROR);
    for (off_t cut = start; cut < end; cut += 7) {
        write_at(seg, start, zero, (size_t)(end - start));
        write_at(seg, 0, orig, (size_t)cut);
        assert_int_equal(file_size(seg), size);
        check_two_then_append();
        assert_int_equal(records_end(seg), start + (off_t)stm_frame_size(5, 0, 4, 100));
        /* put record 4's bytes out of the way: zeros again where record 3 was */
        fd = open(seg, O_WRONLY);
        assert_int_equal(ftruncate(fd, start), 0);
        assert_int_equal(ftruncate(fd, size), 0);
        close(fd);
    }
    /* The header of record 3 on disk, its body still zeros (the page with it was lost). */
    write_at(seg, 0, orig, (size_t)start + STM_FRAME_HEAD);
    check_two_then_append();
    sp_log_set_level(SP_LOG_INFO);
    free(zero);
    free(orig);
    test_dir_remove();
}

/* A zeroed frame header is the end, not a record: with record 3 never written (zeros where it
 * would be) the reopen finds two records and keeps the zeros (the file is not cut). */
static void zeros_after_the_last_record_are_kept(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    off_t size = file_size(seg);
    char *zero = calloc(1, (size_t)(end - start));
    write_at(seg, start, zero, (size_t)(end - start));
    free(zero);
    stm_log *log = test_open();
    assert_int_equal(file_size(seg), size);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 2);
    free(s.recs);
    stm_log_close(log);
    check_two_then_append();
    assert_int_equal(file_size(seg), size);  /* record 4 went into the zeros */
    test_dir_remove();
}

/* A crash while rolling (or a tail written ahead under fsync: none, then sealed by a roll
 * whose cut never reached the disk) leaves zeros after a sealed segment's records: they are
 * read as its end, the file is cut to its records, and every record reads back in order. */
static void sealed_segment_with_zeros_after_its_records(void **state)
{
    (void)state;
    test_dir_new();
    char seg[512];
    off_t start, end;
    write_three(seg, sizeof seg, &start, &end);
    /* a next segment from position 4 (the old one sealed without being cut) */
    stm_log *log = test_open();
    stm_shard *sh = test_shard(log, "s", 0);
    stm_segment *next = stm_segment_create(sh->dir, 4, NULL, 0, true, &(sp_err){0});
    assert_non_null(next);
    stm_segment_free(next);
    stm_log_close(log);
    assert_true(file_size(seg) > end);
    log = test_open();
    assert_int_equal(file_size(seg), end);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 3);
    free(s.recs);
    put_one(log, 4, 40);
    s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 4);
    assert_string_equal(s.recs[3].pk, "key-4");
    free(s.recs);
    stm_log_close(log);
    test_dir_remove();
}

/* Sealed segments end at their last record (their .idx and readers rely on it) while the
 * tail runs on with zeros; a full disk (here a file size limit) makes the zero-ahead give
 * up, not the append: records still go in and the file is cut back to them. */
static void rolled_segments_are_cut_and_zero_ahead_yields_to_a_full_disk(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 1);  /* 1 MiB segments */
    assert_true(stm_stream_ensure(log, &c, &e));
    char data[9000];
    char pk[16];
    for (int i = 0; i < 300; i++) {
        snprintf(pk, sizeof pk, "k%d", i);
        stm_put p = {.partition_key = pk, .data = data,
                     .len = test_data(data, sizeof data, "big", i)};
        stm_put_result r;
        size_t w;
        assert_true(stm_put_records(log, "s", &p, 1, &r, &w, &e));
    }
    stm_shard *sh = test_shard(log, "s", 0);
    assert_true(sh->n_segs >= 3);
    for (size_t i = 0; i + 1 < sh->n_segs; i++)
        assert_int_equal((uint64_t)file_size(sh->segs[i]->path), sh->segs[i]->size);
    stm_segment *t = sh->segs[sh->n_segs - 1];
    assert_true((uint64_t)file_size(t->path) > t->size);
    stm_log_close(log);

    /* A new stream, its file limited to 64 KiB: zero-ahead cannot get there. */
    log = test_open();
    sp_cfg_stream c2 = test_cfg("z", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c2, &e));
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    sh = test_shard(log, "z", 0);
    for (int i = 0; i < 3; i++) {
        snprintf(pk, sizeof pk, "k%d", i);
        stm_put p = {.partition_key = pk, .data = data, .len = 1000};
        stm_put_result r;
        size_t w;
        assert_true(stm_put_records(log, "z", &p, 1, &r, &w, &e));
        assert_int_equal((uint64_t)file_size(sh->segs[0]->path), sh->segs[0]->size);
    }
    setrlimit(RLIMIT_FSIZE, &old);
    test_sink s = test_read_all(log, "z", 0, 0);
    assert_int_equal(s.n, 3);
    free(s.recs);
    stm_log_close(log);
    test_dir_remove();
}

/* Passes of many records (here 100 KB each) gain nothing from written-ahead space: after a
 * few of them the shard stops writing zeros and its file grows with its records. */
static void large_passes_do_not_zero_ahead(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    static char data[100][1000];
    stm_put p[100];
    stm_put_result r[100];
    for (int i = 0; i < 100; i++)
        p[i] = (stm_put){.partition_key = "k", .data = data[i],
                         .len = test_data(data[i], sizeof data[i], "big", i)};
    stm_shard *sh = test_shard(log, "s", 0);
    for (int round = 0; round < 40; round++) {  /* 4 MB: past any zeros written early */
        size_t w;
        assert_true(stm_put_records(log, "s", p, 100, r, &w, &e));
    }
    stm_segment *t = sh->segs[sh->n_segs - 1];
    assert_int_equal((uint64_t)file_size(t->path), t->size);
    stm_log_close(log);
    test_dir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cut_at_every_byte_of_the_last_record),
        cmocka_unit_test(corrupt_byte_in_the_tail_is_cut),
        cmocka_unit_test(torn_header_of_a_new_segment_is_dropped),
        cmocka_unit_test(torn_record_inside_zeroed_space),
        cmocka_unit_test(zeros_after_the_last_record_are_kept),
        cmocka_unit_test(sealed_segment_with_zeros_after_its_records),
        cmocka_unit_test(rolled_segments_are_cut_and_zero_ahead_yields_to_a_full_disk),
        cmocka_unit_test(large_passes_do_not_zero_ahead),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
