/* The runner: one thread per delivery stream that reads its source into a bounded buffer,
 * flushes by the buffering hints, and delivers each batch exactly once.
 *
 * Why exactly once. The state file (state.c) holds, per source shard, the checkpoint: the
 * last position whose records are in the lake. A batch is delivered in four durable steps:
 *   1. intent: the state is saved with the batch's input range per shard (checkpoint, upto]
 *      and a fresh uuid, before anything is written to the lake;
 *   2. the records are processed and grouped into objects whose keys derive only from the
 *      intent's uuid and the records themselves (times are the records' arrival times,
 *      random strings and per-object uuids are hashes of the intent uuid and the group);
 *      the keys are added to the intent (union with any keys a previous attempt recorded);
 *   3. each object is put through the sink (dlv_sink: the lake writes tmp + fsync + rename,
 *      S3 a PutObject or a multipart upload; either way an object is whole or absent, and a
 *      put under an existing key replaces it);
 *   4. the state is saved with checkpoints advanced to upto and no intent.
 * A crash before 1 leaves the checkpoints where they were: the batch is read again later,
 * nothing of it is in the lake. A crash after 4 is done. A crash between 1 and 4 leaves the
 * intent, and on start the runner redoes exactly that range before reading anything new: the
 * same records give the same keys, so objects written before the crash are overwritten, not
 * duplicated; keys recorded by an earlier attempt that the redo does not produce (a
 * processor that answered differently, e.g. a Lambda that timed out once) are deleted. So
 * every source record ends in exactly one object or error object. The source keeps records
 * until they are checkpointed (Direct PUT log, Kinesis retention), which the redo relies on.
 */
#include "core/failpoint.h"
#include "dlv_int.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum {
    RUNNER_READ_MAX_RECORDS = 10000,
    RUNNER_WAIT_SLICE_MS = 200,      /* longest sleep before re-checking the stop flag */
    RUNNER_STOP_BUFFERS = 4,         /* buffers flushed at most while stopping */
    RUNNER_RETRY_MS = 1000,          /* after a failed delivery (lake full, source error) */
    RANDOM_STRING_LEN = 11,          /* !{firehose:random-string} */
    RUNNER_STOP_GRACE_MS = 15000,    /* a remote sink's last flush when stopping; then it is
                                      * cut and the batch is redone on the next start */
};

struct dlv_runner {
    const dlv_def *def;
    dlv_source src;
    dlv_sink sink;
    char *state_path;
    char *stream_arn;
    dlv_proc_env env;
    dlv_chain *chain;
    dlv_state st;
    const dlv_schema_source *schema; /* record format conversion's table lookup, or NULL */

    dlv_rec *recs;
    size_t n, cap;
    dlv_buffer_state buf;
    uint64_t *read_pos;              /* st.n_shards entries: last position read per shard */
    int n_read_pos;
    int next_shard;                  /* where the next fill starts reading */

    pthread_t thread;
    bool started;
    atomic_bool stop;
    pthread_mutex_t mu;              /* guards counters and the published checkpoints */
    dlv_counters c;
    uint64_t *pub_checkpoint;        /* c.n_shards entries: st.checkpoint as last published */
    int pub_cap;
};

/* ---- buffer ------------------------------------------------------------------------------ */

typedef struct read_arg {
    dlv_runner *r;
    uint64_t upto;                   /* stop after this position (redo); UINT64_MAX: no limit */
    uint64_t last;
} read_arg;

static bool collect(void *arg, const stm_record *rec)
{
    read_arg *a = arg;
    dlv_runner *r = a->r;
    if (rec->seq > a->upto) return false;
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->recs = realloc(r->recs, r->cap * sizeof *r->recs);
    }
    dlv_rec *x = &r->recs[r->n++];
    memset(x, 0, sizeof *x);
    x->shard = rec->shard_index;
    x->seq = rec->seq;
    snprintf(x->seq_str, sizeof x->seq_str, "%s", rec->seq_str ? rec->seq_str : "");
    x->arrival_ms = rec->arrival_ms;
    x->partition_key = strdup(rec->partition_key ? rec->partition_key : "");
    x->raw = malloc(rec->len + 1);
    memcpy(x->raw, rec->data, rec->len);
    x->raw[rec->len] = '\0';
    x->raw_len = rec->len;
    if (r->buf.records == 0) r->buf.opened_ns = sp_clock_mono_ns();
    r->buf.records++;
    r->buf.bytes += rec->len;
    a->last = rec->seq;
    return rec->seq < a->upto;
}

static void buffer_reset(dlv_runner *r)
{
    for (size_t i = 0; i < r->n; i++) dlv_rec_clear(&r->recs[i]);
    r->n = 0;
    r->buf.records = r->buf.bytes = 0;
}

/* Makes the positions visible to other threads (progress, health). */
static void publish(dlv_runner *r)
{
    pthread_mutex_lock(&r->mu);
    r->c.holding = r->n > 0 || r->st.has_intent;
    if (r->pub_cap < r->st.n_shards) {
        r->pub_checkpoint = realloc(r->pub_checkpoint,
                                    (size_t)r->st.n_shards * sizeof *r->pub_checkpoint);
        r->pub_cap = r->st.n_shards;
    }
    r->c.n_shards = r->st.n_shards;
    if (r->st.n_shards)
        memcpy(r->pub_checkpoint, r->st.checkpoint,
               (size_t)r->st.n_shards * sizeof *r->pub_checkpoint);
    pthread_mutex_unlock(&r->mu);
}

static void note_error(dlv_runner *r, const sp_err *e)
{
    pthread_mutex_lock(&r->mu);
    snprintf(r->c.last_error, sizeof r->c.last_error, "%s", e->msg);
    pthread_mutex_unlock(&r->mu);
}

static void note_sink_error(dlv_runner *r, const sp_err *e)
{
    pthread_mutex_lock(&r->mu);
    r->c.sink_errors++;
    snprintf(r->c.sink_last_error, sizeof r->c.sink_last_error, "%s", e->msg);
    pthread_mutex_unlock(&r->mu);
}

/* Sizes read_pos to the state's shards (new shards start unread). */
static void read_pos_fit(dlv_runner *r)
{
    if (r->n_read_pos >= r->st.n_shards) return;
    r->read_pos = realloc(r->read_pos, (size_t)r->st.n_shards * sizeof *r->read_pos);
    for (int i = r->n_read_pos; i < r->st.n_shards; i++) r->read_pos[i] = 0;
    r->n_read_pos = r->st.n_shards;
}

/* Makes the state know every shard of the source. */
static bool sync_shards(dlv_runner *r, sp_err *e)
{
    int n = r->src.shard_count(r->src.ctx, e);
    if (n < 0 || !dlv_state_shards(&r->st, n, e)) return false;
    read_pos_fit(r);
    for (int i = 0; i < r->st.n_shards; i++) {
        /* Only after a Direct PUT compaction interrupted by a crash (see direct.c). */
        if (r->src.end && !r->st.has_intent && r->st.checkpoint[i] > r->src.end(r->src.ctx, i)) {
            sp_warn("delivery stream '%s': checkpoint past the end of an emptied log; from 0",
                    r->def->name);
            r->st.checkpoint[i] = r->read_pos[i] = 0;
        }
        if (r->read_pos[i] < r->st.checkpoint[i]) r->read_pos[i] = r->st.checkpoint[i];
    }
    return true;
}

static bool rebase(void *arg)
{
    dlv_runner *r = arg;
    r->st.checkpoint[0] = r->read_pos[0] = 0;
    sp_err e = {0};
    if (!dlv_state_save(r->state_path, &r->st, &e)) sp_warn("%s", e.msg);
    return true;
}

/* Empties a fully delivered Direct PUT log (one shard, nothing buffered beyond it). */
static void compact(dlv_runner *r)
{
    if (r->src.compact && r->st.n_shards == 1 && r->n == 0 && !r->st.has_intent &&
        r->src.compact(r->src.ctx, r->st.checkpoint[0], rebase, r))
        sp_info("delivery stream '%s': Direct PUT log delivered and emptied", r->def->name);
}

/* Reads what the buffer has room for, shard by shard. *drained: nothing more is waiting. */
static bool fill(dlv_runner *r, bool *drained, sp_err *e)
{
    *drained = true;
    if (!sync_shards(r, e)) return false;
    /* Start where the last full buffer stopped, so with more shards than one buffer holds
     * every shard gets its turn. */
    int n = r->st.n_shards;
    for (int k = 0; k < n; k++) {
        int s = (r->next_shard + k) % n;
        size_t room = dlv_buffer_room(&r->buf, r->def->size_mb);
        if (room == 0) {
            r->next_shard = s;
            *drained = false;
            break;
        }
        if (r->src.ready && !r->src.ready(r->src.ctx, s, r->read_pos, n)) continue;
        read_arg a = {.r = r, .upto = UINT64_MAX, .last = 0};
        long got = r->src.read(r->src.ctx, s, r->read_pos[s], RUNNER_READ_MAX_RECORDS, room,
                               collect, &a, e);
        if (got < 0) return false;
        if (got > 0) {
            r->read_pos[s] = a.last;
            *drained = false;                 /* maybe more: the next read says */
        }
    }
    return true;
}

/* ---- objects ----------------------------------------------------------------------------- */

typedef struct group {
    char *id;                        /* partition JSON, or error type */
    bool error;
    const char *error_type;
    size_t *members;
    size_t n, cap;
    int64_t oldest_ms;
} group;

static group *group_get(group **gs, size_t *ng, const char *id, bool error)
{
    for (size_t i = 0; i < *ng; i++)
        if ((*gs)[i].error == error && !strcmp((*gs)[i].id, id)) return &(*gs)[i];
    *gs = realloc(*gs, (*ng + 1) * sizeof **gs);
    group *g = &(*gs)[(*ng)++];
    memset(g, 0, sizeof *g);
    g->id = strdup(id);
    g->error = error;
    g->oldest_ms = INT64_MAX;
    return g;
}

static void group_add(group *g, size_t i, int64_t arrival_ms)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 16;
        g->members = realloc(g->members, g->cap * sizeof *g->members);
    }
    g->members[g->n++] = i;
    if (arrival_ms < g->oldest_ms) g->oldest_ms = arrival_ms;
}

/* Firehose's error record: one JSON line per failed record. */
static void error_line(sp_str *out, const dlv_rec *x, int64_t now_ms)
{
    char *b64 = malloc(sp_base64_encoded_len(x->raw_len) + 1);
    sp_base64_encode(x->raw, x->raw_len, b64);
    json_t *j = json_pack("{s:i, s:I, s:s, s:s, s:I, s:s}", "attemptsMade",
                          x->attempts > 0 ? x->attempts : 1, "arrivalTimestamp",
                          (json_int_t)x->arrival_ms, "errorCode", x->err_code, "errorMessage",
                          x->err_msg ? x->err_msg : "", "attemptEndingTimestamp",
                          (json_int_t)now_ms, "rawData", b64);
    if (x->lambda_arn) json_object_set_new(j, "lambdaArn", json_string(x->lambda_arn));
    free(b64);
    size_t n;
    char *text = sp_json_dump(j, &n);
    sp_str_append(out, text, n);
    sp_str_putc(out, '\n');
    free(text);
    json_decref(j);
}

typedef struct object {
    char *key;
    char *body;
    size_t len;
} object;

static bool key_known(const json_t *keys, const char *k)
{
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) if (!strcmp(json_string_value(v), k)) return true;
    return false;
}

void dlv_runner_set_schema_source(dlv_runner *r, const dlv_schema_source *src)
{
    r->schema = src;
}

/* The conversion schema of this batch, or NULL after failing every OK record into the
 * error output (a missing or unwritable table is a property of the batch as Firehose sees
 * it; a redo looks again). */
static json_t *conversion_schema(dlv_runner *r)
{
    const dlv_conversion *c = r->def->conversion;
    sp_err e = {0};
    json_t *cols = NULL;
    if (r->schema && r->schema->fn)
        cols = r->schema->fn(r->schema->ctx, dlv_conversion_database(c),
                             dlv_conversion_table(c), &e);
    else
        sp_err_invalid(&e, "no Glue catalog to read the schema from");
    if (cols && !json_array_size(cols)) {
        json_decref(cols);
        cols = NULL;
        sp_err_invalid(&e, "the table has no columns");
    }
    if (cols) return cols;
    for (size_t i = 0; i < r->n; i++) {
        dlv_rec *x = &r->recs[i];
        if (x->result != DLV_REC_OK) continue;
        dlv_rec_fail(x, DLV_ERR_SCHEMA, "SchemaConfiguration %s.%s: %s",
                     dlv_conversion_database(c), dlv_conversion_table(c), e.msg);
        x->error_type = DLV_ERROR_TYPE_CONVERSION;
    }
    return NULL;
}

/* The Parquet object of a group: the records that fit the schema; each one that does not
 * fails alone into the error output. NULL (no object) when none fits. */
static char *convert_group(dlv_runner *r, const group *g, const json_t *cols, size_t *len)
{
    sp_err e = {0};
    dlv_converter *v = dlv_converter_new(r->def->conversion, cols, &e);
    for (size_t m = 0; m < g->n; m++) {
        dlv_rec *x = &r->recs[g->members[m]];
        sp_err_clear(&e);
        if (!v || !dlv_converter_add(v, x->data, x->len, &e)) {
            dlv_rec_fail(x, v ? DLV_ERR_CONVERSION : DLV_ERR_SCHEMA, "%s", e.msg);
            x->error_type = DLV_ERROR_TYPE_CONVERSION;
        }
    }
    char *body = NULL;
    if (v && dlv_converter_rows(v)) {
        sp_err_clear(&e);
        body = dlv_converter_finish(v, len, &e);
        if (!body) sp_warn("delivery stream '%s': %s", r->def->name, e.msg);
    }
    dlv_converter_destroy(v);
    return body;
}

/* Processes the buffered records (which must be exactly the intent's range) and writes their
 * objects, then closes the intent. Steps 2-4 of the argument at the top. */
static bool deliver(dlv_runner *r, sp_err *e)
{
    const dlv_def *d = r->def;
    for (size_t i = 0; i < r->n; i++) {
        dlv_rec *x = &r->recs[i];
        dlv_rec_set_data(x, x->raw, x->raw_len);
        x->result = DLV_REC_OK;
        json_decref(x->partition); /* the processors (metadata, lambda) set it afresh */
        x->partition = NULL;
    }
    dlv_chain_run(r->chain, r->recs, r->n);
    /* Conversion runs after the processors, as on Firehose. */
    json_t *schema_cols = d->conversion ? conversion_schema(r) : NULL;

    group *gs = NULL;
    size_t ng = 0;
    for (size_t i = 0; i < r->n; i++) {
        dlv_rec *x = &r->recs[i];
        if (x->result != DLV_REC_OK) continue;
        char *pid = x->partition ? json_dumps(x->partition, JSON_COMPACT | JSON_SORT_KEYS)
                                 : strdup("");
        group_add(group_get(&gs, &ng, pid, false), i, x->arrival_ms);
        free(pid);
    }
    /* Render the good objects' prefixes first: a record whose partition keys do not make a
     * valid prefix fails into the error output instead. */
    object *objs = NULL;
    size_t nobj = 0;
    const char *ext = dlv_compression_ext(d->compression);
    const char *data_ext = d->conversion ? DLV_PARQUET_EXT : ext;
    int64_t now = sp_clock_wall_ms();
    bool ok = true;
    for (size_t gi = 0; gi < ng; gi++) {
        group *g = &gs[gi];
        if (g->error) continue;
        char uuid[37], rnd[37];
        dlv_uuid_derive(r->st.uuid, g->id, uuid);
        dlv_uuid_derive(uuid, "random-string", rnd);
        char random[RANDOM_STRING_LEN + 1];
        for (int k = 0, o = 0; o < RANDOM_STRING_LEN; k++)
            if (rnd[k] != '-') random[o++] = rnd[k];
        random[RANDOM_STRING_LEN] = '\0';
        dlv_key_ctx kc = {.time_ms = g->oldest_ms, .random = random,
                          .partition = r->recs[g->members[0]].partition};
        sp_str key;
        sp_str_init(&key, NULL, 0, DLV_KEY_MAX + 1);
        sp_err ke = {0};
        const char *code = DLV_ERR_INVALID_PREFIX;
        bool key_ok = dlv_prefix_render(d->prefix, &kc, &key, &ke);
        if (key_ok) {
            dlv_key_suffix(&key, d->name, g->oldest_ms, uuid, data_ext);
            /* The lake's one key check, before anything is written: a key it refuses is a
             * property of these records (deterministic, so a redo decides the same), not a
             * failure of the write, which is retried. */
            code = DLV_ERR_INVALID_KEY;
            key_ok = !sp_str_failed(&key) && lake_key_valid(key.buf, &ke);
            if (sp_str_failed(&key))
                sp_err_set(&ke, 400, "KeyTooLongError", "Object key is longer than %d bytes",
                           DLV_KEY_MAX);
        }
        if (!key_ok) {
            for (size_t m = 0; m < g->n; m++) {
                dlv_rec *x = &r->recs[g->members[m]];
                dlv_rec_fail(x, code, "%s", ke.msg);
                x->error_type = DLV_ERROR_TYPE_PARTITIONING;
            }
            sp_str_release(&key);
            continue;
        }
        char *converted = NULL;
        size_t converted_len = 0;
        if (d->conversion) {
            converted = convert_group(r, g, schema_cols, &converted_len);
            if (!converted) {
                sp_str_release(&key);
                continue;
            }
        }
        sp_str body;
        sp_str_init(&body, NULL, 0, SP_STR_NO_MAX);
        for (size_t m = 0; m < g->n && !converted; m++) {
            dlv_rec *x = &r->recs[g->members[m]];
            sp_str_append(&body, x->data, x->len);
            if (d->append_delimiter) sp_str_putc(&body, '\n');
        }
        objs = realloc(objs, (nobj + 1) * sizeof *objs);
        objs[nobj].key = sp_str_finish(&key, NULL);
        if (converted) {
            sp_str_release(&body);
            objs[nobj].body = converted;
            objs[nobj].len = converted_len;
        } else {
            objs[nobj].body = sp_str_finish(&body, &objs[nobj].len);
        }
        assert(objs[nobj].key);
        nobj++;
    }
    size_t first_error_obj = nobj;
    for (size_t i = 0; i < r->n; i++) {
        dlv_rec *x = &r->recs[i];
        if (x->result != DLV_REC_FAILED) continue;
        group_add(group_get(&gs, &ng, x->error_type ? x->error_type : "processing-failed", true),
                  i, x->arrival_ms);
    }
    for (size_t gi = 0; gi < ng; gi++) {
        group *g = &gs[gi];
        if (!g->error) continue;
        char uuid[37];
        dlv_uuid_derive(r->st.uuid, g->id, uuid);
        dlv_key_ctx kc = {.time_ms = g->oldest_ms, .random = uuid, .error_type = g->id};
        sp_str key, body;
        sp_str_init(&key, NULL, 0, DLV_KEY_MAX + 1);
        if (!dlv_error_prefix_render(d->error_prefix, &kc, &key, e)) {
            sp_str_release(&key);
            ok = false;
            goto out;
        }
        dlv_key_suffix(&key, d->name, g->oldest_ms, uuid, ext);
        sp_str_init(&body, NULL, 0, SP_STR_NO_MAX);
        for (size_t m = 0; m < g->n; m++) error_line(&body, &r->recs[g->members[m]], now);
        objs = realloc(objs, (nobj + 1) * sizeof *objs);
        objs[nobj].key = sp_str_finish(&key, NULL);
        objs[nobj].body = sp_str_finish(&body, &objs[nobj].len);
        nobj++;
    }

    /* Step 2: the keys join the intent before any object is written. */
    json_t *old = r->st.keys, *keys = old ? json_copy(old) : json_array();
    for (size_t i = 0; i < nobj; i++)
        if (!key_known(keys, objs[i].key)) json_array_append_new(keys, json_string(objs[i].key));
    r->st.keys = keys;
    json_decref(old);
    if (!dlv_state_save(r->state_path, &r->st, e)) {
        ok = false;
        goto out;
    }
    /* Step 3. */
    size_t bytes = 0;
    for (size_t i = 0; i < nobj && ok; i++) {
        size_t zlen;
        char *z = dlv_compress(d->compression, objs[i].body, objs[i].len, &zlen, e);
        ok = z && r->sink.put(r->sink.ctx, d->bucket, objs[i].key, z, zlen, e);
        if (z && !ok) note_sink_error(r, e);
        bytes += zlen;
        free(z);
    }
    size_t i;
    json_t *k;
    json_array_foreach(r->st.keys, i, k) {
        bool produced = false;
        for (size_t o = 0; o < nobj && !produced; o++)
            produced = !strcmp(objs[o].key, json_string_value(k));
        sp_err de = {0};
        if (ok && !produced && !r->sink.remove(r->sink.ctx, d->bucket, json_string_value(k), &de)) {
            note_sink_error(r, &de);
            *e = de;
            ok = false;
        }
    }
    if (!ok) goto out;
    sp_failpoint("delivery.objects-written");
    /* Step 4. */
    for (int s = 0; s < r->st.n_shards; s++)
        if (r->st.range[s].upto > r->st.checkpoint[s]) r->st.checkpoint[s] = r->st.range[s].upto;
    r->st.has_intent = false;
    json_decref(r->st.keys);
    r->st.keys = NULL;
    if (!dlv_state_save(r->state_path, &r->st, e)) {
        r->st.has_intent = true;     /* still open on disk: redo it */
        ok = false;
        goto out;
    }
    if (r->src.checkpointed) r->src.checkpointed(r->src.ctx, r->st.checkpoint, r->st.n_shards);
    pthread_mutex_lock(&r->mu);
    r->c.flushes++;
    r->c.records_in += r->n;
    for (size_t x = 0; x < r->n; x++) {
        if (r->recs[x].result == DLV_REC_OK) r->c.records_out++;
        else if (r->recs[x].result == DLV_REC_DROPPED) r->c.records_dropped++;
        else r->c.records_failed++;
    }
    int64_t visible_ms = sp_clock_wall_ms();
    for (size_t x = 0; x < r->n; x++)
        if (r->recs[x].result == DLV_REC_OK)
            sp_hist_add(&r->c.freshness, (double)(visible_ms - r->recs[x].arrival_ms));
    r->c.objects += first_error_obj;
    r->c.error_objects += nobj - first_error_obj;
    r->c.bytes_out += bytes;
    pthread_mutex_unlock(&r->mu);
out:
    json_decref(schema_cols);
    for (size_t o = 0; o < nobj; o++) {
        free(objs[o].key);
        free(objs[o].body);
    }
    free(objs);
    for (size_t gi = 0; gi < ng; gi++) {
        free(gs[gi].id);
        free(gs[gi].members);
    }
    free(gs);
    return ok;
}

/* Step 1 for the buffered records, then deliver. */
static bool flush(dlv_runner *r, sp_err *e)
{
    if (r->n == 0) return true;
    r->st.has_intent = true;
    for (int s = 0; s < r->st.n_shards; s++) {
        r->st.range[s].after = r->st.checkpoint[s];
        r->st.range[s].upto = r->read_pos[s];
    }
    dlv_uuid_random(r->st.uuid);
    json_decref(r->st.keys);
    r->st.keys = NULL;
    if (!dlv_state_save(r->state_path, &r->st, e)) {
        r->st.has_intent = false;
        return false;
    }
    sp_failpoint("delivery.intent-written");
    bool ok = deliver(r, e);
    buffer_reset(r);
    if (ok) compact(r);
    publish(r);
    return ok;
}

/* Reads exactly the open intent's range and delivers it again. */
static bool redo(dlv_runner *r, sp_err *e)
{
    if (!r->st.has_intent) return true;
    buffer_reset(r);
    read_pos_fit(r);
    for (int s = 0; s < r->st.n_shards; s++) {
        uint64_t pos = r->st.range[s].after, upto = r->st.range[s].upto;
        while (pos < upto) {
            read_arg a = {.r = r, .upto = upto, .last = pos};
            long got = r->src.read(r->src.ctx, s, pos, RUNNER_READ_MAX_RECORDS, SIZE_MAX, collect,
                                   &a, e);
            if (got < 0) return false;
            if (got == 0 || a.last == pos) {
                sp_err_internal(e, "redo of '%s': shard %d ends before position %llu",
                                r->def->name, s, (unsigned long long)upto);
                buffer_reset(r);
                return false;
            }
            pos = a.last;
        }
        r->read_pos[s] = upto;
    }
    sp_info("delivery stream '%s': redoing an interrupted batch of %zu records", r->def->name,
            r->n);
    bool ok = deliver(r, e);
    buffer_reset(r);
    if (ok) {
        pthread_mutex_lock(&r->mu);
        r->c.redos++;
        pthread_mutex_unlock(&r->mu);
    }
    publish(r);
    return ok;
}

/* ---- lifecycle --------------------------------------------------------------------------- */

dlv_runner *dlv_runner_new(const dlv_def *def, dlv_source src, dlv_sink sink, const char *dir,
                           sp_err *e)
{
    dlv_runner *r = calloc(1, sizeof *r);
    r->def = def;
    r->src = src;
    r->sink = sink;
    pthread_mutex_init(&r->mu, NULL);
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&s, "%s/state.json", dir);
    r->state_path = sp_str_finish(&s, NULL);
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&s, "arn:aws:firehose:%s:%s:deliverystream/%s", DLV_REGION, DLV_ACCOUNT,
                   def->name);
    r->stream_arn = sp_str_finish(&s, NULL);
    r->env = (dlv_proc_env){.stream_name = def->name, .stream_arn = r->stream_arn,
                            .source_arn = src.arn, .data_dir = dir};
    if (!dlv_state_load(r->state_path, &r->st, e) ||
        !(r->chain = dlv_chain_new(def->processors, &r->env, e))) {
        dlv_runner_destroy(r);
        return NULL;
    }
    read_pos_fit(r);
    publish(r);
    return r;
}

static void *run(void *arg)
{
    dlv_runner *r = arg;
    uint64_t gen = 0;
    for (;;) {
        bool stopping = atomic_load(&r->stop);
        sp_err e = {0};
        if (r->st.has_intent && !redo(r, &e)) {
            note_error(r, &e);
            sp_warn("delivery stream '%s': %s", r->def->name, e.msg);
            if (stopping) break;
            sp_sleep_ms(RUNNER_RETRY_MS);
            continue;
        }
        if (stopping) {
            /* Flush what is held and what the source already has, so a record acknowledged
             * just before the stop reaches the lake now rather than at the next start; a
             * large backlog is left for the next start (at most RUNNER_STOP_BUFFERS). */
            bool drained = false;
            for (int round = 0; !drained && round < RUNNER_STOP_BUFFERS; round++) {
                if (!fill(r, &drained, &e) || (r->n > 0 && !flush(r, &e))) {
                    note_error(r, &e);
                    sp_warn("delivery stream '%s': %s (the batch is redone on start)",
                            r->def->name, e.msg);
                    break;
                }
            }
            break;
        }
        gen = r->src.wait(r->src.ctx, gen, 0);
        bool drained = true;
        if (!fill(r, &drained, &e)) {
            note_error(r, &e);
            buffer_reset(r);
            for (int s = 0; s < r->st.n_shards; s++) r->read_pos[s] = r->st.checkpoint[s];
            if (stopping) break;
            sp_sleep_ms(RUNNER_RETRY_MS);
            continue;
        }
        r->buf.source_drained = drained;
        r->buf.closing = false;
        publish(r);
        dlv_buffer_decision dec =
            dlv_buffer_decide(&r->buf, r->def->size_mb, r->def->interval_s, sp_clock_mono_ns());
        if (dec.flush) {
            if (!flush(r, &e)) {
                note_error(r, &e);
                sp_warn("delivery stream '%s': %s (will redo)", r->def->name, e.msg);
                sp_sleep_ms(RUNNER_RETRY_MS);
            }
            continue;
        }
        if (dec.wait_ms > 0)
            gen = r->src.wait(r->src.ctx, gen,
                              dec.wait_ms < RUNNER_WAIT_SLICE_MS ? dec.wait_ms
                                                                 : RUNNER_WAIT_SLICE_MS);
    }
    buffer_reset(r);
    return NULL;
}

bool dlv_runner_start(dlv_runner *r, sp_err *e)
{
    if (pthread_create(&r->thread, NULL, run, r) != 0) {
        sp_err_internal(e, "cannot start the worker of '%s'", r->def->name);
        return false;
    }
    r->started = true;
    return true;
}

bool dlv_runner_flush_all(dlv_runner *r, sp_err *e)
{
    if (!redo(r, e)) return false;
    for (;;) {
        bool drained;
        if (!fill(r, &drained, e)) return false;
        if (r->n == 0) return true;
        if (!flush(r, e)) return false;
    }
}

bool dlv_runner_caught_up(dlv_runner *r)
{
    dlv_counters c;
    dlv_runner_counters(r, &c);
    if (c.holding) return false;
    /* Without an end there is nothing to compare with; and a remote source's shard_count
     * is a remote call on the runner's own connection, which this thread must not make. */
    if (!r->src.end) return true;
    sp_err e = {0};
    int n = r->src.shard_count(r->src.ctx, &e);
    if (n < 0) return false;
    bool caught_up = true;
    pthread_mutex_lock(&r->mu);
    for (int i = 0; i < n && r->src.end && caught_up; i++)
        caught_up = (i < r->c.n_shards ? r->pub_checkpoint[i] : 0) >= r->src.end(r->src.ctx, i);
    pthread_mutex_unlock(&r->mu);
    return caught_up;
}

const char *dlv_runner_sink_kind(const dlv_runner *r) { return r->sink.kind; }

const char *dlv_runner_sink_describe(const dlv_runner *r)
{
    return r->sink.describe ? r->sink.describe(r->sink.ctx) : r->sink.kind;
}

json_t *dlv_runner_source_health(const dlv_runner *r)
{
    return r->src.health ? r->src.health(r->src.ctx) : NULL;
}

void dlv_runner_counters(dlv_runner *r, dlv_counters *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->c;
    pthread_mutex_unlock(&r->mu);
}

void dlv_runner_destroy(dlv_runner *r)
{
    if (!r) return;
    if (r->started) {
        atomic_store(&r->stop, true);
        if (r->sink.hurry)
            r->sink.hurry(r->sink.ctx,
                          sp_clock_mono_ns() + (uint64_t)RUNNER_STOP_GRACE_MS * 1000000ull);
        pthread_join(r->thread, NULL);
    }
    buffer_reset(r);
    free(r->recs);
    free(r->read_pos);
    free(r->pub_checkpoint);
    dlv_chain_destroy(r->chain);
    dlv_state_clear(&r->st);
    pthread_mutex_destroy(&r->mu);
    if (r->src.destroy) r->src.destroy(r->src.ctx);
    if (r->sink.destroy) r->sink.destroy(r->sink.ctx);
    free(r->state_path);
    free(r->stream_arn);
    free(r);
}
