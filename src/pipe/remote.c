/* A pipe whose source or target is a remote service: the configuration's mappings checked
 * and turned into the names and ARNs the pipe shows, and the runner's I/O (pip_io) with the
 * connectors of conn/ in place of the embedded table stream or log. The connectors do the
 * work (and hold the exactly-once reasoning, see conn/kin_target.c); this file only plugs
 * them in. */
#include "conn/conn.h"
#include "pipe_int.h"

#include <stdlib.h>
#include <string.h>

static const char *const TARGET_KINDS[] = {"kinesis", NULL};
static const char *const SOURCE_KINDS[] = {"dynamodb-streams", NULL};

struct pip_remote {
    conn_kin_target *target;
    conn_ddb_source *source;
    char *dir, *pipe;          /* where the pipe's durable checkpoint is (store.c) */
};

/* The source's reads, told first how far the pipe's durable checkpoint is, so the
 * connector's journal keeps only what a restart can ask for. */
static long remote_src_read(void *ctx, const char *table, uint64_t after_seq, size_t max,
                            tbl_stream_fn fn, void *arg, sp_err *e)
{
    pip_remote *c = ctx;
    uint64_t durable;
    if (pip_checkpoint_load(c->dir, c->pipe, &durable) && durable <= after_seq)
        conn_ddb_source_set_floor(c->source, durable);
    return conn_ddb_source_read(c->source, table, after_seq, max, fn, arg, e);
}

static bool remote_src_wait(void *ctx, const char *table, uint64_t after_seq, int timeout_ms)
{
    return conn_ddb_source_wait(((pip_remote *)ctx)->source, table, after_seq, timeout_ms);
}

static uint64_t remote_src_last_seq(void *ctx, const char *table)
{
    return conn_ddb_source_last_seq(((pip_remote *)ctx)->source, table);
}

bool pip_config_check(const void *pipe_cfg, const char **key, sp_err *e)
{
    const sp_cfg_pipe *c = pipe_cfg;
    if (!conn_remote_config_check(c->target, "target", TARGET_KINDS, e)) {
        *key = "target";
        return false;
    }
    if (!conn_remote_config_check(c->source, "source", SOURCE_KINDS, e)) {
        *key = "source";
        return false;
    }
    return true;
}

static const char *member(const json_t *m, const char *k)
{
    return json_string_value(json_object_get(m, k));
}

bool pip_remote_apply(pip_def *d, const sp_cfg_pipe *cfg)
{
    char arn[PIP_ARN_MAX + 1];
    if (conn_remote_kind(cfg->target)) {
        d->remote_target = json_deep_copy(cfg->target);
        d->target_stream = strdup(member(cfg->target, "stream"));
        snprintf(arn, sizeof arn, "arn:aws:kinesis:%s:%s:stream/%s", member(cfg->target, "region"),
                 PIP_ACCOUNT, d->target_stream);
        d->target_arn = strdup(arn);
    }
    if (!conn_remote_kind(cfg->source)) return false;
    d->remote_source = json_deep_copy(cfg->source);
    const char *table = member(cfg->source, "table"), *sarn = member(cfg->source, "stream_arn");
    if (sarn) {
        /* arn:aws:dynamodb:R:A:table/T/stream/LABEL */
        const char *t = strstr(sarn, ":table/");
        const char *end = t ? strstr(t + 7, "/stream/") : NULL;
        d->source_table = t && end ? strndup(t + 7, (size_t)(end - t - 7)) : strdup("?");
        d->source_arn = strdup(sarn);
    } else {
        d->source_table = strdup(table);
        snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s/stream/remote",
                 member(cfg->source, "region"), PIP_ACCOUNT, table);
        d->source_arn = strdup(arn);
    }
    return true;
}

void pip_remote_inherit(pip_def *d, const sp_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n_pipes; i++) {
        const sp_cfg_pipe *c = &cfg->pipes[i];
        if (strcmp(c->name, d->name)) continue;
        const char *stream = member(c->target, "stream"), *table = member(c->source, "table");
        if (conn_remote_kind(c->target) && !d->remote_target && stream &&
            !strcmp(stream, d->target_stream))
            d->remote_target = json_deep_copy(c->target);
        if (conn_remote_kind(c->source) && !d->remote_source &&
            (!table || !strcmp(table, d->source_table)))
            d->remote_source = json_deep_copy(c->source);
    }
}

bool pip_remote_io(const pip_def *d, const char *dir, const pip_io *base, pip_io *out,
                   pip_remote **conn, sp_err *e)
{
    *out = *base;
    *conn = NULL;
    if (!d->remote_target && !d->remote_source) return true;
    pip_remote *c = calloc(1, sizeof *c);
    char path[4096];
    if (d->remote_target) {
        snprintf(path, sizeof path, "%s/%s.kinesis-target.json", dir, d->name);
        if (!(c->target = conn_kin_target_new(d->remote_target, path, e))) goto bad;
        out->dst = c->target;
        out->dst_put = conn_kin_target_put;
        out->dst_shard_for_key = conn_kin_target_shard_for_key;
        out->dst_origin_position = conn_kin_target_origin_position;
    }
    if (d->remote_source) {
        snprintf(path, sizeof path, "%s/%s.ddb-source.json", dir, d->name);
        if (!(c->source = conn_ddb_source_new(d->remote_source, path, e))) goto bad;
        c->dir = strdup(dir);
        c->pipe = strdup(d->name);
        out->src = c;
        out->src_wait = remote_src_wait;
        out->src_read = remote_src_read;
        out->src_last_seq = remote_src_last_seq;
    }
    *conn = c;
    return true;
bad:
    pip_remote_free(c);
    return false;
}

void pip_remote_free(pip_remote *c)
{
    if (!c) return;
    conn_kin_target_destroy(c->target);
    conn_ddb_source_destroy(c->source);
    free(c->dir);
    free(c->pipe);
    free(c);
}

json_t *pip_remote_health(pip_remote *c)
{
    if (!c) return NULL;
    json_t *j = json_object();
    if (c->target) json_object_set_new(j, "target", conn_kin_target_health(c->target));
    if (c->source) json_object_set_new(j, "source", conn_ddb_source_health(c->source));
    return j;
}
