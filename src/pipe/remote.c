/* A pipe whose source or target is a remote service: the configuration's mappings checked
 * and turned into the names and ARNs the pipe shows, and the runner's I/O (pip_io) with the
 * connectors of conn/ in place of the embedded table stream or log. One table per role says
 * which kinds there are and how each is opened; everything else (health, freeing, the names)
 * is the same for every kind. The connectors do the work (and hold the exactly-once
 * reasoning, see conn/kin_target.c and conn/kafka.h); this file only plugs them in. */
#include "conn/conn.h"
#include "conn/kafka.h"
#include "pipe_int.h"

#include <stdlib.h>
#include <string.h>

struct pip_remote {
    void *target, *source;               /* the connectors (NULL: embedded) */
    void (*target_free)(void *);
    void (*source_free)(void *);
    json_t *(*target_health)(void *);
    json_t *(*source_health)(void *);
    char *dir, *pipe;                    /* where the pipe's durable checkpoint is (store.c) */
};

/* ---- targets ------------------------------------------------------------------------------ */

static void kin_target_free(void *t) { conn_kin_target_destroy(t); }
static json_t *kin_target_health(void *t) { return conn_kin_target_health(t); }

static bool kinesis_target(pip_remote *c, const pip_def *d, pip_io *io, sp_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.kinesis-target.json", c->dir, d->name);
    if (!(c->target = conn_kin_target_new(d->remote_target, path, e))) return false;
    c->target_free = kin_target_free;
    c->target_health = kin_target_health;
    io->dst_put = conn_kin_target_put;
    io->dst_shard_for_key = conn_kin_target_shard_for_key;
    io->dst_origin_position = conn_kin_target_origin_position;
    return true;
}

static void kafka_target_free(void *t) { conn_kafka_target_destroy(t); }

/* The target remembers what it holds in the topic itself (conn/kafka.h): no journal file. */
static bool kafka_target(pip_remote *c, const pip_def *d, pip_io *io, sp_err *e)
{
    conn_kafka_config kc;
    const char *key;
    if (!conn_kafka_config_parse(d->remote_target, false, &kc, &key, e)) return false;
    c->target = conn_kafka_target_new(&kc, d->name, e);
    conn_kafka_config_clear(&kc);
    if (!c->target) return false;
    c->target_free = kafka_target_free;
    c->target_health = conn_kafka_target_health;
    io->dst_put = conn_kafka_target_put;
    io->dst_shard_for_key = conn_kafka_target_partition;
    io->dst_origin_position = conn_kafka_target_origin_position;
    return true;
}

/* ---- sources ------------------------------------------------------------------------------ */

/* The source's reads, told first how far the pipe's durable checkpoint is, so the
 * connector's journal keeps only what a restart can ask for. */
static long ddb_src_read(void *ctx, const char *table, uint64_t after_seq, size_t max,
                         tbl_stream_fn fn, void *arg, sp_err *e)
{
    pip_remote *c = ctx;
    uint64_t durable;
    if (pip_checkpoint_load(c->dir, c->pipe, &durable) && durable <= after_seq)
        conn_ddb_source_set_floor(c->source, durable);
    return conn_ddb_source_read(c->source, table, after_seq, max, fn, arg, e);
}

static bool ddb_src_wait(void *ctx, const char *table, uint64_t after_seq, int timeout_ms)
{
    return conn_ddb_source_wait(((pip_remote *)ctx)->source, table, after_seq, timeout_ms);
}

static uint64_t ddb_src_last_seq(void *ctx, const char *table)
{
    return conn_ddb_source_last_seq(((pip_remote *)ctx)->source, table);
}

static void ddb_source_free(void *s) { conn_ddb_source_destroy(s); }
static json_t *ddb_source_health(void *s) { return conn_ddb_source_health(s); }

static bool ddb_source(pip_remote *c, const pip_def *d, pip_io *io, sp_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.ddb-source.json", c->dir, d->name);
    if (!(c->source = conn_ddb_source_new(d->remote_source, path, e))) return false;
    c->source_free = ddb_source_free;
    c->source_health = ddb_source_health;
    io->src = c;
    io->src_wait = ddb_src_wait;
    io->src_read = ddb_src_read;
    io->src_last_seq = ddb_src_last_seq;
    return true;
}

/* ---- the kinds ---------------------------------------------------------------------------- */

typedef struct stage_kind {
    const char *kind;
    /* Opens the connector into c and puts its operations into io (the runner's). */
    bool (*open)(pip_remote *c, const pip_def *d, pip_io *io, sp_err *e);
    /* The ARN the pipe shows for it: "%s" gets the region (or brokers), then the name. */
    const char *arn_format;
    const char *region_member;
} stage_kind;

static const stage_kind TARGETS[] = {
    {"kinesis", kinesis_target, "arn:aws:kinesis:%s:" PIP_ACCOUNT ":stream/%s", "region"},
    {"kafka", kafka_target, "kafka://%s/%s", "brokers"},
};
static const stage_kind SOURCES[] = {
    {"dynamodb-streams", ddb_source, "arn:aws:dynamodb:%s:" PIP_ACCOUNT ":table/%s/stream/remote",
     "region"},
};
static const char *const TARGET_KINDS[] = {"kinesis", "kafka", NULL};
static const char *const SOURCE_KINDS[] = {"dynamodb-streams", NULL};

static const stage_kind *kind_of(const stage_kind *kinds, size_t n, const json_t *cfg)
{
    const char *k = conn_remote_kind(cfg);
    for (size_t i = 0; k && i < n; i++)
        if (!strcmp(kinds[i].kind, k)) return &kinds[i];
    return NULL;
}
#define TARGET_OF(cfg) kind_of(TARGETS, SP_ARRAY_LEN(TARGETS), cfg)
#define SOURCE_OF(cfg) kind_of(SOURCES, SP_ARRAY_LEN(SOURCES), cfg)

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

static char *arn_of(const stage_kind *k, const json_t *cfg, const char *name)
{
    char arn[PIP_ARN_MAX + 1];
    snprintf(arn, sizeof arn, k->arn_format, member(cfg, k->region_member), name);
    return strdup(arn);
}

bool pip_remote_apply(pip_def *d, const sp_cfg_pipe *cfg)
{
    const stage_kind *t = TARGET_OF(cfg->target), *s = SOURCE_OF(cfg->source);
    if (t) {
        d->remote_target = json_deep_copy(cfg->target);
        d->target_stream = strdup(conn_remote_name(cfg->target));
        d->target_arn = arn_of(t, cfg->target, d->target_stream);
    }
    if (!s) return false;
    d->remote_source = json_deep_copy(cfg->source);
    const char *sarn = member(cfg->source, "stream_arn");
    if (sarn) {
        /* arn:aws:dynamodb:R:A:table/T/stream/LABEL */
        const char *tb = strstr(sarn, ":table/");
        const char *end = tb ? strstr(tb + 7, "/stream/") : NULL;
        d->source_table = tb && end ? strndup(tb + 7, (size_t)(end - tb - 7)) : strdup("?");
        d->source_arn = strdup(sarn);
    } else {
        d->source_table = strdup(conn_remote_name(cfg->source));
        d->source_arn = arn_of(s, cfg->source, d->source_table);
    }
    return true;
}

void pip_remote_inherit(pip_def *d, const sp_config *cfg)
{
    for (size_t i = 0; cfg && i < cfg->n_pipes; i++) {
        const sp_cfg_pipe *c = &cfg->pipes[i];
        if (strcmp(c->name, d->name)) continue;
        const char *stream = conn_remote_name(c->target), *table = member(c->source, "table");
        if (TARGET_OF(c->target) && !d->remote_target && stream &&
            !strcmp(stream, d->target_stream))
            d->remote_target = json_deep_copy(c->target);
        if (SOURCE_OF(c->source) && !d->remote_source &&
            (!table || !strcmp(table, d->source_table)))
            d->remote_source = json_deep_copy(c->source);
    }
}

bool pip_remote_io(const pip_def *d, const char *dir, const pip_io *base, pip_io *out,
                   pip_remote **conn, sp_err *e)
{
    *out = *base;
    *conn = NULL;
    const stage_kind *t = TARGET_OF(d->remote_target), *s = SOURCE_OF(d->remote_source);
    if (!t && !s) return true;
    pip_remote *c = calloc(1, sizeof *c);
    c->dir = strdup(dir);
    c->pipe = strdup(d->name);
    if ((t && !t->open(c, d, out, e)) || (s && !s->open(c, d, out, e))) {
        pip_remote_free(c);
        *out = *base;
        return false;
    }
    if (t) out->dst = c->target;
    *conn = c;
    return true;
}

void pip_remote_free(pip_remote *c)
{
    if (!c) return;
    if (c->target) c->target_free(c->target);
    if (c->source) c->source_free(c->source);
    free(c->dir);
    free(c->pipe);
    free(c);
}

json_t *pip_remote_health(pip_remote *c)
{
    if (!c) return NULL;
    json_t *j = json_object();
    if (c->target) json_object_set_new(j, "target", c->target_health(c->target));
    if (c->source) json_object_set_new(j, "source", c->source_health(c->source));
    return j;
}
