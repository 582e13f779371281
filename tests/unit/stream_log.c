/* The log across segments: sparse-index seeks, segment roll, retention, origin high-water
 * marks after reopen (also when the origin's last record is in an older segment), group
 * commit under concurrent appenders, resharding lineage and checkpoints. */
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include "stream_test.h"

enum { REC_BYTES = 1000 };

/* Appends n records of REC_BYTES with origin tag/positions first_pos.., in batches. */
static void put_many(stm_log *log, const char *stream, int first, int n, const char *origin,
                     size_t batch)
{
    stm_put *p = calloc(batch, sizeof *p);
    stm_put_result *r = calloc(batch, sizeof *r);
    char (*data)[REC_BYTES] = malloc(batch * REC_BYTES);
    char (*pk)[16] = malloc(batch * 16);
    for (int i = first; i < first + n;) {
        size_t m = 0;
        for (; m < batch && i < first + n; m++, i++) {
            snprintf(pk[m], 16, "k%d", i);
            p[m] = (stm_put){.partition_key = pk[m], .data = data[m],
                             .len = test_data(data[m], REC_BYTES, "rec", i), .origin = origin,
                             .origin_pos = (uint64_t)i};
        }
        size_t w;
        sp_err e = {0};
        assert_true(stm_put_records(log, stream, p, m, r, &w, &e));
        assert_int_equal(w, m);
    }
    free(p);
    free(r);
    free(data);
    free(pk);
}

static void seeks_use_the_sparse_index(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 300, NULL, 100);
    sp_sleep_ms(5);
    int64_t t2 = sp_clock_wall_ms();
    sp_sleep_ms(5);
    put_many(log, "s", 301, 300, NULL, 100);
    stm_shard *sh = test_shard(log, "s", 0);
    stm_segment *seg = sh->segs[0];
    assert_true(seg->n_idx > 10);
    /* The seek for position 500 starts within one index interval of its record. */
    uint64_t off = stm_segment_seek_seq(seg, 500);
    size_t frame = stm_frame_size(4, 0, 0, REC_BYTES);
    uint64_t exact = seg->hdr_len + 499 * frame;
    assert_true(off <= exact);
    assert_true(exact - off < STM_INDEX_EVERY_BYTES + frame);
    /* Reads from a position start right after it. */
    test_sink s = {0};
    assert_int_equal(stm_shard_read(log, "s", 0, 499, 3, SIZE_MAX, test_collect, &s, &e), 3);
    assert_int_equal(s.recs[0].seq, 500);
    assert_memory_equal(s.recs[0].data, "rec-500x", 8);
    assert_int_equal(s.recs[2].seq, 502);
    free(s.recs);
    /* AT_TIMESTAMP: the first record at/after t2 is the first of the second batch. */
    assert_int_equal(stm_shard_seek_time(sh, t2), 300);
    assert_int_equal(stm_shard_seek_time(sh, 0), 0);
    assert_int_equal(stm_shard_seek_time(sh, t2 + 3600000), 600);
    /* max_bytes stops a read early, but never before one record. */
    s = (test_sink){0};
    assert_int_equal(stm_shard_read(log, "s", 0, 0, 100, 2500, test_collect, &s, &e), 2);
    free(s.recs);
    stm_log_close(log);
    test_dir_remove();
}

static void segments_roll_at_the_configured_size(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 1);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 3500, "pipe", 500);
    stm_shard *sh = test_shard(log, "s", 0);
    assert_true(sh->n_segs >= 3);
    for (size_t i = 0; i < sh->n_segs; i++) {
        assert_true(sh->segs[i]->size <= 1024 * 1024);
        if (i) assert_int_equal(sh->segs[i]->first_seq, sh->segs[i - 1]->last_seq + 1);
    }
    char idx[600];
    stm_segment_path(sh->dir, 1, "idx", idx, sizeof idx);
    assert_int_equal(access(idx, F_OK), 0);
    size_t n_segs = sh->n_segs;
    stm_log_close(log);

    log = test_open();
    sh = test_shard(log, "s", 0);
    assert_int_equal(sh->n_segs, n_segs);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 3500);
    for (size_t i = 0; i < s.n; i++) {
        char want[32];
        snprintf(want, sizeof want, "rec-%zu", i + 1);
        assert_int_equal(s.recs[i].seq, i + 1);
        assert_memory_equal(s.recs[i].data, want, strlen(want));
    }
    free(s.recs);
    /* Reads that start in the middle of a later segment land on the right record. */
    s = (test_sink){0};
    uint64_t mid = sh->segs[1]->first_seq + 7;
    assert_int_equal(stm_shard_read(log, "s", 0, mid - 1, 1, SIZE_MAX, test_collect, &s, &e), 1);
    assert_int_equal(s.recs[0].seq, mid);
    free(s.recs);
    stm_log_close(log);
    test_dir_remove();
}

static void retention_trims_whole_old_segments(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "none", 1);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 3000, NULL, 500);
    stm_shard *sh = test_shard(log, "s", 0);
    size_t n = sh->n_segs;
    assert_true(n >= 3);
    /* Nothing is past 24 hours yet. */
    assert_int_equal(stm_log_trim(log, sp_clock_wall_ms()), 0);
    uint64_t tail_first = sh->segs[n - 1]->first_seq;
    char first_path[600];
    snprintf(first_path, sizeof first_path, "%s", sh->segs[0]->path);
    /* A day and a bit later, every segment but the one being written goes. */
    assert_int_equal(stm_log_trim(log, sp_clock_wall_ms() + 25LL * 3600 * 1000), n - 1);
    assert_int_equal(sh->n_segs, 1);
    assert_int_not_equal(access(first_path, F_OK), 0);
    assert_int_equal(stm_shard_trim_horizon(sh), tail_first - 1);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 3000 - (tail_first - 1));
    assert_int_equal(s.recs[0].seq, tail_first);
    free(s.recs);
    stm_log_close(log);
    /* And the trimmed log reopens as it was left. */
    log = test_open();
    assert_int_equal(stm_shard_trim_horizon(test_shard(log, "s", 0)), tail_first - 1);
    stm_log_close(log);
    test_dir_remove();
}

static void origin_positions_survive_reopen_and_rolls(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "interval", 1);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 50, "pipe-a", 10);
    /* pipe-b writes enough to roll twice: pipe-a's last record is now two segments back. */
    put_many(log, "s", 1000, 2500, "pipe-b", 250);
    assert_true(test_shard(log, "s", 0)->n_segs >= 3);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe-a"), 50);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe-b"), 3499);
    assert_int_equal(stm_origin_position(log, "s", 0, "nobody"), 0);
    stm_log_close(log);
    log = test_open();
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe-a"), 50);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe-b"), 3499);
    put_many(log, "s", 51, 1, "pipe-a", 1);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe-a"), 51);
    stm_log_close(log);
    test_dir_remove();
}

typedef struct writer_arg {
    stm_log *log;
    int id;
} writer_arg;

static void *writer(void *arg)
{
    writer_arg *w = arg;
    char tag[16];
    snprintf(tag, sizeof tag, "w%d", w->id);
    for (int i = 0; i < 50; i++) put_many(w->log, "s", w->id * 100000 + i * 4, 4, tag, 4);
    return NULL;
}

static void concurrent_appenders_share_group_commits(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    pthread_t t[4];
    writer_arg a[4];
    for (int i = 0; i < 4; i++) {
        a[i] = (writer_arg){log, i + 1};
        pthread_create(&t[i], NULL, writer, &a[i]);
    }
    for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 800);
    /* Positions are 1..800 with no gap; each writer's records are in its own order. */
    int last[5] = {0};
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(s.recs[i].seq, i + 1);
        int v = atoi(s.recs[i].data + 4);
        int w = v / 100000;
        assert_true(w >= 1 && w <= 4);
        assert_true(v % 100000 >= last[w]);
        last[w] = v % 100000;
    }
    free(s.recs);
    for (int i = 1; i <= 4; i++) {
        char tag[16];
        snprintf(tag, sizeof tag, "w%d", i);
        assert_int_equal(stm_origin_position(log, "s", 0, tag), (uint64_t)i * 100000 + 199);
    }
    stm_log_close(log);
    test_dir_remove();
}

static void a_put_of_500_records_is_one_write(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    stm_shard *sh = test_shard(log, "s", 0);
    uint64_t commits = sh->n_commits, writes = sh->n_writes;
    put_many(log, "s", 1, 500, NULL, 500);
    assert_int_equal(sh->n_commits - commits, 1);
    assert_int_equal(sh->n_writes - writes, 1);
    stm_log_close(log);
    test_dir_remove();
}

static void a_failed_write_changes_nothing(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 10, "pipe", 10);
    stm_shard *sh = test_shard(log, "s", 0);
    uint64_t size = sh->segs[0]->size;
    /* The file may grow by half a record: the next write is torn, then refused. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = size + REC_BYTES / 2;
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    char data[REC_BYTES];
    stm_put p[3];
    for (int i = 0; i < 3; i++)
        p[i] = (stm_put){.partition_key = "k", .data = data,
                         .len = test_data(data, sizeof data, "bad", i), .origin = "pipe",
                         .origin_pos = 100 + (uint64_t)i};
    stm_put_result r[3];
    size_t w = 99;
    assert_false(stm_put_records(log, "s", p, 3, r, &w, &e));
    assert_int_equal(w, 0);
    assert_string_equal(r[0].seq_str, "");
    assert_int_equal(e.status, 500);
    setrlimit(RLIMIT_FSIZE, &old);
    /* Nothing of the failed batch is visible, indexed, or counted as an origin high. */
    assert_int_equal(sh->segs[0]->size, size);
    struct stat st;
    assert_int_equal(stat(sh->segs[0]->path, &st), 0);
    assert_int_equal((uint64_t)st.st_size, size);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 10);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 10);
    free(s.recs);
    /* Appends go on, and a reopen finds the same records. */
    put_many(log, "s", 11, 2, "pipe", 2);
    stm_log_close(log);
    log = test_open();
    s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 12);
    assert_memory_equal(s.recs[11].data, "rec-12", 6);
    free(s.recs);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 12);
    stm_log_close(log);
    test_dir_remove();
}

static bool shard_dirty(stm_shard *sh)
{
    pthread_mutex_lock(&sh->mu);
    bool d = sh->dirty;
    pthread_mutex_unlock(&sh->mu);
    return d;
}

static void interval_policy_syncs_in_the_background(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream slow = test_cfg("slow", 1, "interval", 64), fast = slow;
    slow.fsync_interval_ms = 60000;
    fast.name = (char *)"fast";
    fast.fsync_interval_ms = 20;
    assert_true(stm_stream_ensure(log, &slow, &e));
    assert_true(stm_stream_ensure(log, &fast, &e));
    put_many(log, "slow", 1, 1, NULL, 1);
    put_many(log, "fast", 1, 1, NULL, 1);
    assert_true(shard_dirty(test_shard(log, "fast", 0)));
    /* The fast stream is synced within a few of its intervals; the slow one waits its own. */
    for (int i = 0; i < 300 && shard_dirty(test_shard(log, "fast", 0)); i++) sp_sleep_ms(10);
    assert_false(shard_dirty(test_shard(log, "fast", 0)));
    assert_true(shard_dirty(test_shard(log, "slow", 0)));
    stm_log_close(log);
    test_dir_remove();
}

static stm_fsync_policy policy_of(stm_log *log, const char *name)
{
    sp_err e = {0};
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, &e);
    assert_non_null(st);
    stm_fsync_policy p = st->policy.fsync;
    pthread_rwlock_unlock(&log->lock);
    return p;
}

/* A stream whose configuration names no fsync policy follows server.durability: fsync mode
 * syncs each group commit before answering (batch), relaxed every interval; an explicit
 * policy wins; in fsync mode a stream the API created earlier with interval is upgraded. */
static void durability_picks_the_fsync_policy(void **state)
{
    (void)state;
    test_dir_new();
    sp_err e = {0};
    stm_log *log = stm_log_open(test_dir, SP_DURABILITY_RELAXED, &e);
    assert_non_null(log);
    sp_cfg_stream plain = test_cfg("plain", 1, NULL, 64), loose = test_cfg("loose", 1, "none", 64);
    assert_true(stm_stream_ensure(log, &plain, &e));
    assert_true(stm_stream_ensure(log, &loose, &e));
    assert_int_equal(policy_of(log, "plain"), STM_FSYNC_INTERVAL);
    stm_log_close(log);
    log = stm_log_open(test_dir, SP_DURABILITY_FSYNC, &e);
    assert_non_null(log);
    assert_int_equal(policy_of(log, "plain"), STM_FSYNC_BATCH);
    assert_true(stm_stream_ensure(log, &plain, &e));
    assert_true(stm_stream_ensure(log, &loose, &e));
    assert_int_equal(policy_of(log, "plain"), STM_FSYNC_BATCH);
    assert_int_equal(policy_of(log, "loose"), STM_FSYNC_NONE);
    put_many(log, "plain", 1, 1, NULL, 1);
    assert_false(shard_dirty(test_shard(log, "plain", 0))); /* synced before the answer */
    stm_log_close(log);
    test_dir_remove();
}

static void split_and_merge_keep_lineage_and_records(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 2, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 20, NULL, 20);
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, "s", &e);
    stm_u128 mid = ((stm_u128)1 << 126);
    assert_true(stm_shard_split_locked(log, st, 0, mid, &e));
    assert_false(stm_shard_split_locked(log, st, 0, mid, &e));  /* closed now */
    assert_string_equal(e.code, "ResourceInUseException");
    sp_err_clear(&e);
    assert_false(stm_shard_merge_locked(log, st, 2, 1, &e));     /* not adjacent */
    assert_string_equal(e.code, "InvalidArgumentException");
    sp_err_clear(&e);
    assert_true(stm_shard_merge_locked(log, st, 3, 1, &e));
    pthread_rwlock_unlock(&log->lock);
    stm_shard_info info[8];
    assert_int_equal(stm_shard_list(log, "s", info, 8, &e), 5);
    assert_false(info[0].open);
    assert_false(info[1].open);
    assert_true(info[2].open && !info[3].open && info[4].open);
    uint64_t closed_last = info[0].last_seq;
    stm_log_close(log);

    log = test_open();
    st = stm_stream_find(log, "s", &e);
    assert_int_equal(st->n_shards, 5);
    assert_int_equal(st->shards[2]->parent, 0);
    assert_int_equal(st->shards[4]->parent, 3);
    assert_int_equal(st->shards[4]->adjacent_parent, 1);
    assert_true(st->shards[4]->hash_end == STM_U128_MAX);
    assert_true(st->shards[4]->hash_start == mid);
    /* Closed parents keep their records; new records go to the children. */
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, closed_last);
    free(s.recs);
    put_many(log, "s", 100, 50, NULL, 50);
    assert_int_equal(stm_shard_read(log, "s", 0, closed_last, 10, SIZE_MAX, test_collect,
                                    &s, &e), 0);
    int in_children = 0;
    for (int i = 2; i <= 4; i += 2) {
        s = test_read_all(log, "s", i, 0);
        in_children += (int)s.n;
        free(s.recs);
    }
    assert_int_equal(in_children, 50);
    stm_log_close(log);
    test_dir_remove();
}

static void checkpoints_are_durable(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    assert_true(stm_checkpoint_set(log, "s", "delivery", 0, 1234, &e));
    assert_false(stm_checkpoint_set(log, "missing", "delivery", 0, 1, &e));
    stm_log_close(log);
    log = test_open();
    assert_int_equal(stm_checkpoint_get(log, "s", "delivery", 0), 1234);
    assert_int_equal(stm_checkpoint_get(log, "s", "other", 0), 0);
    stm_log_close(log);
    test_dir_remove();
}

static void wait_returns_on_append_or_timeout(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "none", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    uint64_t g = stm_stream_wait(log, "s", 12345, 0);
    uint64_t t0 = sp_clock_mono_ns();
    assert_int_equal(stm_stream_wait(log, "s", g, 50), g);
    assert_true(sp_clock_mono_ns() - t0 >= 45 * 1000000ULL);
    put_many(log, "s", 1, 1, NULL, 1);
    assert_int_not_equal(stm_stream_wait(log, "s", g, 1000), g);
    stm_log_close(log);
    test_dir_remove();
}

/* The pipe's append keeps positions only: no SequenceNumber string is formatted, the
 * positions and shards are those stm_put_records gives. */
static void positions_only_append_formats_no_strings(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 2, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    stm_put p[4];
    const char *keys[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++) p[i] = (stm_put){.partition_key = keys[i], .data = "x", .len = 1};
    stm_put_result r[4], q[4];
    memset(r, 'z', sizeof r);
    size_t w;
    assert_true(stm_put_records_positions(log, "s", p, 4, r, &w, &e));
    assert_int_equal(w, 4);
    assert_true(stm_put_records(log, "s", p, 4, q, &w, &e));
    for (int i = 0; i < 4; i++) {
        assert_string_equal(r[i].seq_str, "");
        assert_int_equal(r[i].shard_index, q[i].shard_index);
        assert_true(r[i].seq < q[i].seq);
        int shard;
        uint64_t seq;
        int64_t epoch;
        assert_true(stm_seq_parse(q[i].seq_str, &epoch, &shard, &seq));
        assert_int_equal(seq, q[i].seq);
    }
    stm_log_close(log);
    test_dir_remove();
}

static bool sync_refused(void *arg)
{
    (*(int *)arg)++;
    return false;
}

/* A failed fdatasync (fsync: batch) answers the service's 500, publishes nothing of the pass
 * (readers and origin highs stay where they were), and the shard refuses appends until a
 * restart, which finds on disk whatever the kernel kept. */
static void a_failed_sync_publishes_nothing(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 1, "batch", 64);
    assert_true(stm_stream_ensure(log, &c, &e));
    put_many(log, "s", 1, 5, "pipe", 5);
    stm_shard *sh = test_shard(log, "s", 0);
    uint64_t last = stm_shard_last_seq(sh);
    int calls = 0;
    sh->sync_hook = sync_refused;
    sh->sync_hook_arg = &calls;
    char data[REC_BYTES];
    stm_put p = {.partition_key = "k", .data = data, .len = test_data(data, sizeof data, "x", 6),
                 .origin = "pipe", .origin_pos = 6};
    stm_put_result r;
    size_t w = 99;
    assert_false(stm_put_records(log, "s", &p, 1, &r, &w, &e));
    assert_int_equal(calls, 1);
    assert_int_equal(w, 0);
    assert_int_equal(e.status, 500);
    assert_string_equal(e.code, "InternalFailure");
    assert_int_equal(stm_shard_last_seq(sh), last);
    assert_int_equal(stm_origin_position(log, "s", 0, "pipe"), 5);
    test_sink s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 5);
    free(s.recs);
    /* Refused without touching the disk, even once syncs would work again. */
    sh->sync_hook = NULL;
    sp_err_clear(&e);
    assert_false(stm_put_records(log, "s", &p, 1, &r, &w, &e));
    assert_int_equal(e.status, 500);
    assert_int_equal(calls, 1);
    stm_log_close(log);
    log = test_open();
    s = test_read_all(log, "s", 0, 0);
    assert_int_equal(s.n, 6);  /* the kernel kept it here; a power loss may not have */
    free(s.recs);
    put_many(log, "s", 7, 1, "pipe", 1);
    stm_log_close(log);
    test_dir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(positions_only_append_formats_no_strings),
        cmocka_unit_test(a_failed_sync_publishes_nothing),
        cmocka_unit_test(seeks_use_the_sparse_index),
        cmocka_unit_test(segments_roll_at_the_configured_size),
        cmocka_unit_test(retention_trims_whole_old_segments),
        cmocka_unit_test(origin_positions_survive_reopen_and_rolls),
        cmocka_unit_test(concurrent_appenders_share_group_commits),
        cmocka_unit_test(a_put_of_500_records_is_one_write),
        cmocka_unit_test(interval_policy_syncs_in_the_background),
        cmocka_unit_test(durability_picks_the_fsync_policy),
        cmocka_unit_test(a_failed_write_changes_nothing),
        cmocka_unit_test(split_and_merge_keep_lineage_and_records),
        cmocka_unit_test(checkpoints_are_durable),
        cmocka_unit_test(wait_returns_on_append_or_timeout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
