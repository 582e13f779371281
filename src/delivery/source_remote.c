/* A remote stream as a runner's source, whatever its kind: one table says which kinds a
 * delivery stream reads and how each opens its connector behind the dlv_source operations.
 * Kinesis (conn/kin_source.c) keeps the mapping between the runner's positions and the
 * remote's sequence numbers in its own state file; Kafka (conn/kafka.h) maps partitions to
 * shards and offset + 1 to positions and needs no file. Both hear of the runner's durable
 * checkpoints through `checkpointed` and show their health the same way. */
#include "conn/conn.h"
#include "conn/kafka.h"
#include "dlv_int.h"

#include <stdio.h>
#include <string.h>

static bool kinesis_source(const json_t *cfg, const char *dir, const char *name,
                           dlv_source *out, sp_err *e)
{
    (void)name;
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

static bool kafka_source(const json_t *cfg, const char *dir, const char *name,
                         dlv_source *out, sp_err *e)
{
    (void)dir;
    conn_kafka_config kc;
    const char *key;
    if (!conn_kafka_config_parse(cfg, true, &kc, &key, e)) return false;
    conn_kafka_source *k = conn_kafka_source_new(&kc, name, e);
    conn_kafka_config_clear(&kc);
    if (!k) return false;
    *out = (dlv_source){.ctx = k, .shard_count = conn_kafka_source_partitions,
                        .read = conn_kafka_source_read, .wait = conn_kafka_source_wait,
                        .end = conn_kafka_source_end, .destroy = conn_kafka_source_destroy,
                        .arn = NULL, .checkpointed = conn_kafka_source_checkpointed,
                        .health = conn_kafka_source_health};
    return true;
}

static const struct {
    const char *kind;
    bool (*open)(const json_t *cfg, const char *dir, const char *name, dlv_source *out,
                 sp_err *e);
} SOURCES[] = {
    {"kinesis", kinesis_source},
    {"kafka", kafka_source},
};
static const char *const SOURCE_KINDS[] = {"kinesis", "kafka", NULL};

bool dlv_source_config_check(const json_t *cfg, sp_err *e)
{
    return conn_remote_config_check(cfg, "source", SOURCE_KINDS, e);
}

bool dlv_remote_source(const json_t *cfg, const char *dir, const char *name, dlv_source *out,
                       sp_err *e)
{
    const char *kind = conn_remote_kind(cfg);
    for (size_t i = 0; kind && i < SP_ARRAY_LEN(SOURCES); i++)
        if (!strcmp(SOURCES[i].kind, kind)) return SOURCES[i].open(cfg, dir, name, out, e);
    sp_err_invalid(e, "source.kind '%s' is not one a delivery stream reads", kind ? kind : "");
    return false;
}
