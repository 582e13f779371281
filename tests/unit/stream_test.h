/* Shared helpers for the stream unit tests: a temporary log directory, a stream config, and
 * reading a shard back into an array. */
#ifndef SP_STREAM_TEST_H
#define SP_STREAM_TEST_H

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "stream/stm_int.h"

static char test_dir[256];

static int test_rm(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb, (void)f, (void)w;
    return remove(p);
}

static inline void test_dir_new(void)
{
    snprintf(test_dir, sizeof test_dir, "/tmp/stm-unit-XXXXXX");
    assert_non_null(mkdtemp(test_dir));
}

static inline void test_dir_remove(void) { nftw(test_dir, test_rm, 16, FTW_DEPTH | FTW_PHYS); }

static inline sp_cfg_stream test_cfg(const char *name, int shards, const char *fsync, int seg_mb)
{
    sp_cfg_stream c = {(char *)name, shards, 24, (char *)fsync, 200, seg_mb};
    return c;
}

static inline stm_log *test_open(void)
{
    sp_err e = {0};
    stm_log *log = stm_log_open(test_dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(log);
    return log;
}

/* One record in: partition key pk, data "<prefix>-<i>" padded to size bytes. */
static inline size_t test_data(char *buf, size_t size, const char *prefix, int i)
{
    int n = snprintf(buf, size, "%s-%d", prefix, i);
    if ((size_t)n < size) memset(buf + n, 'x', size - (size_t)n);
    return size;
}

typedef struct test_rec {
    uint64_t seq;
    int64_t arrival_ms;
    char pk[STM_PARTITION_KEY_MAX + 1];
    char data[64];
    size_t len;
} test_rec;

typedef struct test_sink {
    test_rec *recs;
    size_t n, cap;
} test_sink;

static inline bool test_collect(void *arg, const stm_record *r)
{
    test_sink *s = arg;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
    }
    test_rec *t = &s->recs[s->n++];
    t->seq = r->seq;
    t->arrival_ms = r->arrival_ms;
    snprintf(t->pk, sizeof t->pk, "%s", r->partition_key);
    t->len = r->len;
    size_t c = r->len < sizeof t->data - 1 ? r->len : sizeof t->data - 1;
    memcpy(t->data, r->data, c);
    t->data[c] = '\0';
    return true;
}

/* Every record of the shard after after_seq. Caller frees sink.recs. */
static inline test_sink test_read_all(stm_log *log, const char *stream, int shard,
                                      uint64_t after_seq)
{
    test_sink s = {0};
    sp_err e = {0};
    for (;;) {
        size_t before = s.n;
        long n = stm_shard_read(log, stream, shard, after_seq, 1000, SIZE_MAX, test_collect, &s,
                                &e);
        assert_true(n >= 0);
        if (s.n == before) break;
        after_seq = s.recs[s.n - 1].seq;
    }
    return s;
}

static inline stm_shard *test_shard(stm_log *log, const char *stream, int index)
{
    sp_err e = {0};
    stm_stream *st = stm_stream_find(log, stream, &e);
    assert_non_null(st);
    return st->shards[index];
}

#endif
