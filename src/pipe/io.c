/* The runner's default I/O: the table stream as source, the stream log as target (remote.c
 * puts connectors in their place). Kept apart from runner.c so the runner can be tested against a
 * fake log that fails on purpose. */
#include "pipe_int.h"

static bool src_wait(void *src, const char *table, uint64_t after_seq, int timeout_ms)
{
    return tbl_stream_wait(src, table, after_seq, timeout_ms);
}

static long src_read(void *src, const char *table, uint64_t after_seq, size_t max,
                     tbl_stream_fn fn, void *arg, sp_err *e)
{
    return tbl_stream_read(src, table, after_seq, max, fn, arg, e);
}

static uint64_t src_last_seq(void *src, const char *table) { return tbl_stream_last_seq(src, table); }

static bool dst_put(void *dst, const char *stream, const stm_put *recs, size_t n,
                    stm_put_result *out, size_t *written, sp_err *e)
{
    return stm_put_records_positions(dst, stream, recs, n, out, written, e);  /* no strings */
}

static int dst_shard_for_key(void *dst, const char *stream, const char *partition_key, sp_err *e)
{
    return stm_shard_for_key(dst, stream, partition_key, NULL, e);
}

static uint64_t dst_origin_position(void *dst, const char *stream, int shard, const char *origin)
{
    return stm_origin_position(dst, stream, shard, origin);
}

pip_io pip_io_default(tbl_db *tables, stm_log *log)
{
    return (pip_io){
        .src = tables,
        .src_wait = src_wait,
        .src_read = src_read,
        .src_last_seq = src_last_seq,
        .dst = log,
        .dst_put = dst_put,
        .dst_shard_for_key = dst_shard_for_key,
        .dst_origin_position = dst_origin_position,
    };
}
