/* A Kinesis stream of the stream module as a runner's source: shards by index, positions are
 * the shard's record positions (stm_record.seq), waiting is the stream's append generation. */
#include "dlv_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct kin_source {
    stm_log *log;
    char *stream;
    char arn[256];
} kin_source;

static int kin_shards(void *ctx, sp_err *e)
{
    kin_source *k = ctx;
    return stm_shard_list(k->log, k->stream, NULL, 0, e);
}

static long kin_read(void *ctx, int shard, uint64_t after, size_t max, size_t max_bytes,
                     stm_record_fn fn, void *arg, sp_err *e)
{
    kin_source *k = ctx;
    return stm_shard_read(k->log, k->stream, shard, after, max, max_bytes, fn, arg, e);
}

static uint64_t kin_wait(void *ctx, uint64_t seen, int timeout_ms)
{
    kin_source *k = ctx;
    return stm_stream_wait(k->log, k->stream, seen, timeout_ms);
}

static uint64_t kin_end(void *ctx, int shard)
{
    kin_source *k = ctx;
    return stm_shard_end(k->log, k->stream, shard);
}

static bool kin_ready(void *ctx, int shard, const uint64_t *read_pos, int n)
{
    kin_source *k = ctx;
    int parents[2];
    if (!stm_shard_parents(k->log, k->stream, shard, parents)) return true;
    for (int i = 0; i < 2; i++) {
        int p = parents[i];
        if (p >= 0 && p < n && read_pos[p] < stm_shard_end(k->log, k->stream, p)) return false;
    }
    return true;
}

static void kin_destroy(void *ctx)
{
    kin_source *k = ctx;
    free(k->stream);
    free(k);
}

dlv_source dlv_kinesis_source(stm_log *log, const char *stream)
{
    kin_source *k = calloc(1, sizeof *k);
    k->log = log;
    k->stream = strdup(stream);
    snprintf(k->arn, sizeof k->arn, "arn:aws:kinesis:%s:%s:stream/%s", DLV_REGION, DLV_ACCOUNT,
             stream);
    return (dlv_source){.ctx = k, .shard_count = kin_shards, .read = kin_read, .wait = kin_wait,
                        .end = kin_end, .destroy = kin_destroy, .arn = k->arn,
                        .ready = kin_ready};
}
