/* A remote Kinesis stream (AWS, kinesalite, another salespipe) as a delivery stream's source.
 *
 * The delivery runner counts per shard index in uint64 positions and keeps its checkpoints
 * and batch intents in those (delivery/runner.c); a redo after a crash reads exactly the
 * range (after, upto] of an intent again. Remote shards name records by decimal sequence
 * numbers. So this source:
 *   - gives shards indexes in the order it first sees them (ListShards), and writes the table
 *     (id, parents) to its state file before a record of a new shard is handed out, so an
 *     index means the same shard after a restart;
 *   - numbers the records of each shard 1, 2, ... as it hands them out. A shard's content
 *     does not change, so counting from a known point always gives the same numbers;
 *   - keeps anchors (conn_seq_map): after each read the last record handed out; when the
 *     runner reports a durable checkpoint (conn_kin_source_checkpointed), anchors below it
 *     are dropped and the map is written (fsynced). A restart looks up the anchor at or below
 *     the checkpoint (normally exactly at it), asks for AFTER_SEQUENCE_NUMBER of its sequence
 *     number and counts forward the difference, so positions resume where they were. Position
 *     0 is the shard's first record's predecessor: the first sequence number handed out is
 *     kept (AT_SEQUENCE_NUMBER), and until then TRIM_HORIZON is the start.
 * Lineage: a child shard is ready only when each parent it names is closed and read to its
 * end (GetRecords gave no NextShardIterator), so a key's changes keep their order across a
 * split or merge. An iterator that expired (ExpiredIteratorException, 5 minutes unused) is
 * fetched again after the last sequence number handed out; throttling
 * (ProvisionedThroughputExceededException) is retried with backoff by the client and
 * otherwise reported, and the runner reads again later. MillisBehindLatest is the lag shown.
 */
#include "conn.h"
#include "core/fs.h"

#include <stdlib.h>
#include <string.h>

enum {
    KS_POLL_MS = 200,                /* Kinesis: 5 GetRecords per second per shard */
    KS_ITERATOR_MAX = 4096,
};
/* ListShards again at most this often once a shard has closed (its children appear). */
#define KS_RELIST_NS 2000000000ull

#define KIN_TARGET "Kinesis_20131202."
#define KIN_JSON "application/x-amz-json-1.1"

typedef struct ks_shard {
    conn_kin_shard s;
    char first[CONN_KIN_SEQ_MAX + 1];   /* the sequence number of position 1, "" unknown */
    conn_seq_map anchors;
    /* where the open iterator stands */
    bool positioned;
    uint64_t pos;                        /* the last position handed out (or skipped to) */
    char seq[CONN_KIN_SEQ_MAX + 1];      /* its sequence number ("" = before the first) */
    char *iterator;                      /* NULL with ended: read to the end of a closed shard */
    conn_kin_batch ahead;                /* fetched, not yet handed out */
    size_t ahead_next;
    bool ended;
    uint64_t end_pos;
    int64_t millis_behind;
} ks_shard;

struct conn_kin_source {
    conn_aws *c;
    char *stream;
    char *path;
    char arn[512];
    char describe[700];
    ks_shard *shards;
    int n;
    bool got_any;                        /* a read since the last wait handed something out */
    bool listed;
    uint64_t listed_ns;
    conn_health h;
};

static json_t *call(void *ctx, const char *op, json_t *body, sp_err *e)
{
    conn_kin_source *k = ctx;
    char what[800];
    snprintf(what, sizeof what, "Kinesis stream '%s' at %s", k->stream,
             conn_aws_describe(k->c));
    return conn_health_call(k->c, &k->h, KIN_TARGET, KIN_JSON, op, body, what,
                            "ExpiredIteratorException", e);
}

/* ---- the state file -------------------------------------------------------------------- */

static bool state_save(conn_kin_source *k, sp_err *e)
{
    json_t *shards = json_array();
    for (int i = 0; i < k->n; i++) {
        ks_shard *s = &k->shards[i];
        json_array_append_new(shards, json_pack("{s:s, s:s, s:s, s:s, s:o}", "id", s->s.id,
                                                "parent", s->s.parent, "adjacent_parent",
                                                s->s.adjacent_parent, "first", s->first,
                                                "anchors", conn_seq_map_to_json(&s->anchors)));
    }
    json_t *j = json_pack("{s:s, s:o}", "stream", k->stream, "shards", shards);
    bool ok = sp_fs_write_json_atomic(k->path, j, e);
    json_decref(j);
    return ok;
}

static bool state_load(conn_kin_source *k, sp_err *e)
{
    json_error_t je;
    json_t *j = json_load_file(k->path, 0, &je);
    if (!j) {
        FILE *f = fopen(k->path, "r");
        if (!f) return true;
        fclose(f);
        sp_err_internal(e, "Kinesis source state is unreadable: %s", je.text);
        return false;
    }
    size_t i;
    json_t *x;
    bool ok = true;
    json_array_foreach(json_object_get(j, "shards"), i, x) {
        k->shards = realloc(k->shards, (size_t)(k->n + 1) * sizeof *k->shards);
        ks_shard *s = &k->shards[k->n++];
        memset(s, 0, sizeof *s);
        s->millis_behind = -1;
#define CP(dst, key) snprintf(dst, sizeof dst, "%s", json_string_value(json_object_get(x, key)) ? json_string_value(json_object_get(x, key)) : "")
        CP(s->s.id, "id");
        CP(s->s.parent, "parent");
        CP(s->s.adjacent_parent, "adjacent_parent");
        CP(s->first, "first");
#undef CP
        if (ok && !conn_seq_map_from_json(&s->anchors, json_object_get(x, "anchors"), e)) ok = false;
    }
    json_decref(j);
    if (!ok) sp_err_wrap(e, "Kinesis source state");
    return ok;
}

/* ---- shards ---------------------------------------------------------------------------- */

static int find(conn_kin_source *k, const char *id)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->shards[i].s.id, id)) return i;
    return -1;
}

int conn_kin_source_shard_count(void *ctx, sp_err *e)
{
    conn_kin_source *k = ctx;
    if (k->listed && k->n > 0) {
        /* a new shard appears only when a shard closes: look again then */
        bool any_ended = false;
        for (int i = 0; i < k->n; i++) any_ended |= k->shards[i].ended;
        if (!any_ended || sp_clock_mono_ns() - k->listed_ns < KS_RELIST_NS) return k->n;
    }
    conn_kin_shard *got = NULL;
    size_t n = 0;
    bool ok = conn_kin_list_shards(call, k, k->stream, &got, &n, e);
    bool added = false;
    for (size_t i = 0; ok && i < n; i++) {
        int x = find(k, got[i].id);
        if (x < 0) {
            k->shards = realloc(k->shards, (size_t)(k->n + 1) * sizeof *k->shards);
            x = k->n++;
            memset(&k->shards[x], 0, sizeof k->shards[x]);
            k->shards[x].millis_behind = -1;
            added = true;
        }
        k->shards[x].s = got[i];
    }
    free(got);
    if (ok && added && !state_save(k, e)) ok = false;
    if (!ok) return -1;
    k->listed = true;
    k->listed_ns = sp_clock_mono_ns();
    return k->n;
}

bool conn_kin_source_ready(void *ctx, int shard, const uint64_t *read_pos, int n)
{
    conn_kin_source *k = ctx;
    const ks_shard *s = &k->shards[shard];
    const char *parents[2] = {s->s.parent, s->s.adjacent_parent};
    for (int i = 0; i < 2; i++) {
        int p = *parents[i] ? find(k, parents[i]) : -1;
        if (p < 0) continue;             /* not listed any more: past retention */
        if (!k->shards[p].ended || p >= n || read_pos[p] < k->shards[p].end_pos) return false;
    }
    return true;
}

/* ---- reading --------------------------------------------------------------------------- */

static void drop_iterator(ks_shard *s)
{
    free(s->iterator);
    s->iterator = NULL;
    conn_kin_batch_clear(&s->ahead);
    s->ahead_next = 0;
    s->positioned = false;
}

/* An iterator just after (pos, seq): AFTER_SEQUENCE_NUMBER seq, or the shard's start. */
static bool iterator_at(conn_kin_source *k, ks_shard *s, uint64_t pos, const char *seq, sp_err *e)
{
    drop_iterator(s);
    json_t *req = json_pack("{s:s, s:s}", "StreamName", k->stream, "ShardId", s->s.id);
    if (*seq) {
        json_object_set_new(req, "ShardIteratorType", json_string("AFTER_SEQUENCE_NUMBER"));
        json_object_set_new(req, "StartingSequenceNumber", json_string(seq));
    } else if (*s->first) {
        json_object_set_new(req, "ShardIteratorType", json_string("AT_SEQUENCE_NUMBER"));
        json_object_set_new(req, "StartingSequenceNumber", json_string(s->first));
    } else {
        json_object_set_new(req, "ShardIteratorType", json_string("TRIM_HORIZON"));
    }
    json_t *r = call(k, "GetShardIterator", req, e);
    if (!r) return false;
    const json_t *it = json_object_get(r, "ShardIterator");
    bool ok = json_is_string(it) && json_string_length(it) > 0 &&
              json_string_length(it) <= KS_ITERATOR_MAX;
    if (ok) {
        s->iterator = strdup(json_string_value(it));
        s->positioned = true;
        s->pos = pos;
        snprintf(s->seq, sizeof s->seq, "%s", seq);
    } else {
        sp_err_set(e, 502, "InvalidResponse", "GetShardIterator: the answer has no ShardIterator");
        e->retriable = true;
        conn_health_error(&k->h, e);
    }
    json_decref(r);
    return ok;
}

/* Fills s->ahead from the iterator (one GetRecords); an expired iterator is fetched again
 * after the last sequence number handed out. */
static bool fetch(conn_kin_source *k, ks_shard *s, size_t limit, sp_err *e)
{
    for (int attempt = 0;; attempt++) {
        json_t *r = call(k, "GetRecords", json_pack("{s:s, s:I}", "ShardIterator", s->iterator,
                                                    "Limit", (json_int_t)limit), e);
        if (!r && !strcmp(e->code, "ExpiredIteratorException") && attempt == 0) {
            uint64_t pos = s->pos;
            char seq[CONN_KIN_SEQ_MAX + 1];
            snprintf(seq, sizeof seq, "%s", s->seq);
            *e = (sp_err){0};
            if (!iterator_at(k, s, pos, seq, e)) return false;
            continue;
        }
        if (!r) return false;
        conn_kin_batch_clear(&s->ahead);
        s->ahead_next = 0;
        bool ok = conn_kin_records_parse(r, &s->ahead, e);
        json_decref(r);
        if (!ok) {
            conn_health_error(&k->h, e);
            return false;
        }
        free(s->iterator);
        s->iterator = s->ahead.next_iterator;
        s->ahead.next_iterator = NULL;
        s->millis_behind = s->ahead.millis_behind;
        if (!s->iterator && s->ahead.n == 0) {
            s->ended = true;
            s->end_pos = s->pos;
        }
        int64_t worst = -1;
        for (int i = 0; i < k->n; i++)
            if (k->shards[i].millis_behind > worst) worst = k->shards[i].millis_behind;
        pthread_mutex_lock(&k->h.mu);
        k->h.millis_behind = worst;
        pthread_mutex_unlock(&k->h.mu);
        return true;
    }
}

/* Takes the next record from ahead (fetching when empty); NULL at the current end. */
static const conn_kin_record *next_record(conn_kin_source *k, ks_shard *s, size_t limit,
                                          bool *failed, sp_err *e)
{
    if (s->ahead_next >= s->ahead.n) {
        if (!s->iterator) {              /* closed and read to its end */
            s->ended = true;
            s->end_pos = s->pos;
            return NULL;
        }
        if (!fetch(k, s, limit, e)) {
            *failed = true;
            return NULL;
        }
        if (s->ahead.n == 0) return NULL;
    }
    const conn_kin_record *x = &s->ahead.recs[s->ahead_next++];
    s->pos++;
    snprintf(s->seq, sizeof s->seq, "%s", x->seq);
    return x;
}

/* Places the shard's iterator just after position after (see the top of the file). */
static bool position(conn_kin_source *k, ks_shard *s, uint64_t after, sp_err *e)
{
    if (s->positioned && s->pos == after) return true;
    const conn_seq_anchor *a = conn_seq_map_floor(&s->anchors, after);
    if (!iterator_at(k, s, a ? a->pos : 0, a ? a->seq : "", e)) return false;
    while (s->pos < after) {
        bool failed = false;
        size_t want = after - s->pos < CONN_KIN_GET_LIMIT_MAX ? (size_t)(after - s->pos)
                                                              : CONN_KIN_GET_LIMIT_MAX;
        const conn_kin_record *x = next_record(k, s, want, &failed, e);
        if (failed) return false;
        if (!x) {
            sp_err_set(e, 409, "PositionLost",
                       "shard %s of Kinesis stream '%s' ends at position %llu, before the "
                       "checkpoint %llu (records past retention?)", s->s.id, k->stream,
                       (unsigned long long)s->pos, (unsigned long long)after);
            conn_health_error(&k->h, e);
            drop_iterator(s);
            return false;
        }
    }
    return true;
}

long conn_kin_source_read(void *ctx, int shard, uint64_t after, size_t max, size_t max_bytes,
                          stm_record_fn fn, void *arg, sp_err *e)
{
    conn_kin_source *k = ctx;
    if (shard < 0 || shard >= k->n) {
        sp_err_internal(e, "Kinesis source: no shard %d", shard);
        return -1;
    }
    ks_shard *s = &k->shards[shard];
    if (s->ended && s->pos == after && s->positioned) return 0;
    if (!position(k, s, after, e)) return -1;
    long got = 0;
    size_t bytes = 0;
    size_t limit = max < CONN_KIN_GET_LIMIT_MAX ? max : CONN_KIN_GET_LIMIT_MAX;
    while ((size_t)got < max && (got == 0 || bytes < max_bytes)) {
        /* fetch at most once per read: an empty answer means "nothing now" */
        if (s->ahead_next >= s->ahead.n && got > 0) break;
        bool failed = false;
        const conn_kin_record *x = next_record(k, s, limit, &failed, e);
        if (failed) {
            if (got > 0) {                /* hand out what there is; the error comes back */
                *e = (sp_err){0};
                break;
            }
            return -1;
        }
        if (!x) break;
        if (s->pos == 1 && !*s->first) {
            snprintf(s->first, sizeof s->first, "%s", x->seq);
            sp_err se = {0};
            if (!state_save(k, &se)) {   /* position 0 must mean the same after a restart */
                s->first[0] = 0;
                drop_iterator(s);
                *e = se;
                return -1;
            }
        }
        stm_record rec = {.shard_index = shard, .seq = s->pos, .seq_str = x->seq,
                          .arrival_ms = x->arrival_ms, .partition_key = x->partition_key,
                          .data = x->data, .len = x->len};
        got++;
        bytes += x->len;
        if (!fn(arg, &rec)) break;
    }
    if (got > 0) {
        conn_seq_map_add(&s->anchors, s->pos, s->seq);
        k->got_any = true;
        pthread_mutex_lock(&k->h.mu);
        k->h.records += (uint64_t)got;
        pthread_mutex_unlock(&k->h.mu);
    }
    return got;
}

uint64_t conn_kin_source_wait(void *ctx, uint64_t seen, int timeout_ms)
{
    conn_kin_source *k = ctx;
    if (!k->got_any && timeout_ms > 0) sp_sleep_ms(timeout_ms < KS_POLL_MS ? (unsigned)timeout_ms : KS_POLL_MS);
    k->got_any = false;
    return seen + 1;
}

void conn_kin_source_checkpointed(void *ctx, const uint64_t *checkpoint, int n)
{
    conn_kin_source *k = ctx;
    for (int i = 0; i < n && i < k->n; i++) conn_seq_map_prune(&k->shards[i].anchors, checkpoint[i]);
    sp_err e = {0};
    if (!state_save(k, &e)) conn_health_error(&k->h, &e); /* older anchors stay valid */
}

json_t *conn_kin_source_health(void *ctx)
{
    conn_kin_source *k = ctx;
    return conn_health_json(&k->h, "kinesis", k->describe);
}

const char *conn_kin_source_arn(void *ctx) { return ((conn_kin_source *)ctx)->arn; }

conn_kin_source *conn_kin_source_new(const json_t *cfg, const char *state_path, sp_err *e)
{
    conn_aws *c = conn_remote_client(cfg, "kinesis", e);
    if (!c) return NULL;
    conn_kin_source *k = calloc(1, sizeof *k);
    k->c = c;
    k->stream = strdup(json_string_value(json_object_get(cfg, "stream")));
    k->path = strdup(state_path);
    snprintf(k->arn, sizeof k->arn, "arn:aws:kinesis:%s:000000000000:stream/%s",
             json_string_value(json_object_get(cfg, "region")), k->stream);
    snprintf(k->describe, sizeof k->describe, "%s stream %s", conn_aws_describe(c), k->stream);
    conn_health_init(&k->h);
    if (!state_load(k, e)) {
        conn_kin_source_destroy(k);
        return NULL;
    }
    return k;
}

void conn_kin_source_destroy(void *ctx)
{
    conn_kin_source *k = ctx;
    if (!k) return;
    for (int i = 0; i < k->n; i++) {
        drop_iterator(&k->shards[i]);
        conn_seq_map_clear(&k->shards[i].anchors);
    }
    free(k->shards);
    conn_aws_destroy(k->c);
    pthread_mutex_destroy(&k->h.mu);
    free(k->stream);
    free(k->path);
    free(k);
}
