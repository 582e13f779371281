/* Stream metadata and consumer checkpoints on disk: <dir>/.streams.json (streams, shards with
 * hash ranges and lineage, retention, storage policy) and <dir>/<stream>/.checkpoints.json,
 * each replaced atomically (temp file, fsync, rename, fsync of the directory). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"
#include "stm_int.h"

/* <dir>/<name> replaced atomically with doc. */
static bool write_atomic(const char *dir, const char *name, const json_t *doc, sp_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return sp_fs_write_json_atomic(path, doc, e);
}

static const char *policy_name(stm_fsync_policy p)
{
    return p == STM_FSYNC_BATCH ? "batch" : p == STM_FSYNC_NONE ? "none" : "interval";
}

bool stm_meta_save(stm_log *log, sp_err *e)
{
    json_t *streams = json_array();
    for (size_t i = 0; i < log->n_streams; i++) {
        stm_stream *st = log->streams[i];
        json_t *shards = json_array();
        for (size_t j = 0; j < st->n_shards; j++) {
            stm_shard *sh = st->shards[j];
            char a[40], b[40];
            stm_u128_format(sh->hash_start, a);
            stm_u128_format(sh->hash_end, b);
            json_array_append_new(shards, json_pack(
                "{s:i, s:s, s:s, s:i, s:i, s:b, s:I}", "index", sh->index, "start", a,
                "end", b, "parent", sh->parent, "adjacent_parent", sh->adjacent_parent,
                "open", sh->open, "created_ms", (json_int_t)sh->created_ms));
        }
        json_array_append_new(streams, json_pack(
            "{s:s, s:I, s:b, s:I, s:s, s:I, s:I, s:o}", "name", st->name, "created_ms",
            (json_int_t)st->created_ms, "on_demand", st->on_demand, "retention_hours",
            (json_int_t)st->retention_hours, "fsync", policy_name(st->policy.fsync),
            "fsync_interval_ms", (json_int_t)st->fsync_interval_ms, "segment_bytes",
            (json_int_t)st->policy.segment_bytes, "shards", shards));
        json_object_set(json_array_get(streams, json_array_size(streams) - 1), "tags",
                        st->tags);
    }
    json_t *doc = json_pack("{s:i, s:o}", "version", 1, "streams", streams);
    bool ok = write_atomic(log->dir, ".streams.json", doc, e);
    json_decref(doc);
    return ok;
}

static stm_fsync_policy policy_parse(const char *s)
{
    if (s && !strcmp(s, "batch")) return STM_FSYNC_BATCH;
    if (s && !strcmp(s, "none")) return STM_FSYNC_NONE;
    return STM_FSYNC_INTERVAL;
}

static void stream_free_partial(stm_stream *st)
{
    for (size_t j = 0; j < st->n_shards; j++) stm_shard_close(st->shards[j], false);
    free(st->shards);
    free(st->name);
    free(st->dir);
    pthread_mutex_destroy(&st->ckpt_mu);
    json_decref(st->checkpoints);
    json_decref(st->tags);
    free(st);
}

bool stm_meta_load(stm_log *log, sp_err *e)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.streams.json", log->dir);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    if (!doc) {
        if (access(path, F_OK) != 0) return true;  /* a new log */
        sp_err_internal(e, "cannot read '%s': %s (line %d)", path, je.text, je.line);
        return false;
    }
    json_t *streams = json_object_get(doc, "streams");
    size_t i;
    json_t *js;
    bool ok = true;
    json_array_foreach(streams, i, js) {
        const char *name = json_string_value(json_object_get(js, "name"));
        json_t *shards = json_object_get(js, "shards");
        if (!name || !stm_stream_name_valid(name) || !json_is_array(shards)) {
            sp_err_internal(e, "'%s': stream %zu is malformed", path, i);
            ok = false;
            break;
        }
        stm_stream *st = calloc(1, sizeof *st);
        st->name = strdup(name);
        char dir[4096];
        snprintf(dir, sizeof dir, "%s/%s", log->dir, name);
        st->dir = strdup(dir);
        pthread_mutex_init(&st->ckpt_mu, NULL);
        json_t *tags = json_object_get(js, "tags");
        st->tags = json_is_object(tags) ? json_deep_copy(tags) : json_object();
        st->created_ms = json_integer_value(json_object_get(js, "created_ms"));
        st->on_demand = json_is_true(json_object_get(js, "on_demand"));
        st->retention_hours = json_integer_value(json_object_get(js, "retention_hours"));
        st->policy.fsync = policy_parse(json_string_value(json_object_get(js, "fsync")));
        st->fsync_interval_ms = json_integer_value(json_object_get(js, "fsync_interval_ms"));
        st->last_sync_ns = sp_clock_mono_ns();
        st->policy.segment_bytes =
            (uint64_t)json_integer_value(json_object_get(js, "segment_bytes"));
        size_t n = json_array_size(shards);
        st->shards = calloc(n ? n : 1, sizeof *st->shards);
        for (size_t j = 0; j < n && ok; j++) {
            json_t *jsh = json_array_get(shards, j);
            int index = (int)json_integer_value(json_object_get(jsh, "index"));
            stm_shard *sh = stm_shard_open(dir, index, e);
            if (!sh) {
                ok = false;
                break;
            }
            st->shards[st->n_shards++] = sh;
            const char *a = json_string_value(json_object_get(jsh, "start"));
            const char *b = json_string_value(json_object_get(jsh, "end"));
            if (!a || !b || !stm_u128_parse(a, &sh->hash_start) ||
                !stm_u128_parse(b, &sh->hash_end)) {
                sp_err_internal(e, "'%s': shard %d of '%s' has a bad hash range", path, index,
                                name);
                ok = false;
                break;
            }
            sh->parent = (int)json_integer_value(json_object_get(jsh, "parent"));
            sh->adjacent_parent = (int)json_integer_value(json_object_get(jsh, "adjacent_parent"));
            sh->open = json_is_true(json_object_get(jsh, "open"));
            sh->created_ms = json_integer_value(json_object_get(jsh, "created_ms"));
        }
        if (!ok) {
            stream_free_partial(st);
            break;
        }
        stm_checkpoints_load(st);
        stm_stream **g = realloc(log->streams, (log->n_streams + 1) * sizeof *g);
        log->streams = g;
        log->streams[log->n_streams++] = st;
    }
    json_decref(doc);
    return ok;
}

bool stm_checkpoints_load(stm_stream *st)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.checkpoints.json", st->dir);
    json_t *doc = json_load_file(path, 0, NULL);
    st->checkpoints = json_is_object(doc) ? doc : json_object();
    if (doc && !json_is_object(doc)) json_decref(doc);
    return true;
}

bool stm_checkpoint_set(stm_log *log, const char *stream, const char *consumer, int shard_index,
                        uint64_t seq, sp_err *e)
{
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, e);
    bool ok = st != NULL;
    if (ok) {
        pthread_mutex_lock(&st->ckpt_mu);
        json_t *c = json_object_get(st->checkpoints, consumer);
        if (!c) json_object_set_new(st->checkpoints, consumer, c = json_object());
        char key[16];
        snprintf(key, sizeof key, "%d", shard_index);
        json_object_set_new(c, key, json_integer((json_int_t)seq));
        ok = write_atomic(st->dir, ".checkpoints.json", st->checkpoints, e);
        pthread_mutex_unlock(&st->ckpt_mu);
    }
    pthread_rwlock_unlock(&log->lock);
    return ok;
}

uint64_t stm_checkpoint_get(stm_log *log, const char *stream, const char *consumer,
                            int shard_index)
{
    sp_err e = {0};
    uint64_t v = 0;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, stream, &e);
    if (st) {
        pthread_mutex_lock(&st->ckpt_mu);
        char key[16];
        snprintf(key, sizeof key, "%d", shard_index);
        v = (uint64_t)json_integer_value(
            json_object_get(json_object_get(st->checkpoints, consumer), key));
        pthread_mutex_unlock(&st->ckpt_mu);
    }
    pthread_rwlock_unlock(&log->lock);
    return v;
}
