/* Crash recovery: the last segment of a shard is scanned on open and a torn or corrupt tail
 * is cut at the last good record; everything before it survives and appends continue. */
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

/* Writes three records; returns the segment path and the offsets where record 3 starts/ends. */
static void write_three(char *seg, size_t size, off_t *start, off_t *end)
{
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    snprintf(seg, size, "%s/s/shardId-000000000000/00000000000000000001.seg", test_dir);
    put_one(log, 1, 10);
    put_one(log, 2, 20);
    *start = file_size(seg);
    put_one(log, 3, 30);
    *end = file_size(seg);
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
        assert_int_equal(file_size(seg), start + (off_t)stm_frame_size(5, 0, 4, 100));
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cut_at_every_byte_of_the_last_record),
        cmocka_unit_test(corrupt_byte_in_the_tail_is_cut),
        cmocka_unit_test(torn_header_of_a_new_segment_is_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
