/* A remote Kinesis stream as a runner's source: the connector of conn/kin_source.c (which
 * keeps the mapping between the runner's positions and the remote's sequence numbers, see
 * there) behind the dlv_source operations. */
#include "conn/conn.h"
#include "dlv_int.h"

#include <stdio.h>

static const char *const SOURCE_KINDS[] = {"kinesis", NULL};

bool dlv_source_config_check(const json_t *cfg, sp_err *e)
{
    return conn_remote_config_check(cfg, "source", SOURCE_KINDS, e);
}

bool dlv_remote_source(const json_t *cfg, const char *dir, dlv_source *out, sp_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/kinesis-source.json", dir);
    conn_kin_source *k = conn_kin_source_new(cfg, path, e);
    if (!k) return false;
    *out = (dlv_source){.ctx = k, .shard_count = conn_kin_source_shard_count,
                        .read = conn_kin_source_read, .wait = conn_kin_source_wait,
                        .destroy = conn_kin_source_destroy, .arn = conn_kin_source_arn(k),
                        .ready = conn_kin_source_ready,
                        .checkpointed = conn_kin_source_checkpointed,
                        .health = conn_kin_source_health};
    return true;
}
