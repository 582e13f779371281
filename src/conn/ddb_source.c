/* The DynamoDB Streams of a remote table (AWS, or another salespipe: dynalite has no Streams)
 * as a pipe's source: ListStreams (by table) or a configured stream ARN, DescribeStream for
 * the shards and their lineage, GetShardIterator / GetRecords; each record is handed to the
 * pipe as its JSON text, the shape the embedded table stream gives, so filters and partition
 * keys work unchanged.
 *
 * Positions. The pipe counts its source in one uint64 sequence and its exactly-once argument
 * (pipe/runner.c) needs the record at a position to be the same one every time it is read,
 * also after a crash. A stream has several shards, children open after their parents close,
 * and several shards may be open at once, so the order records are taken in is a choice, and
 * a choice made again after a restart could differ. So the choice is written down: before
 * records are handed out, a segment {lo, hi, shard, first, last} (positions lo..hi are the
 * records of shard from sequence number first to last, in order) is appended to a journal
 * that is replaced atomically and fsynced. Reading after a position below the journal's end
 * reads the segment again (AT_SEQUENCE_NUMBER first, counting); reading at the end takes new
 * records from the next ready shard (round robin) after its cursor (the last sequence number
 * handed out of it). A shard is ready when each parent it names is closed and read to its end
 * (GetRecords gave no NextShardIterator), so a key's changes keep their order across
 * lineage. Segments at or below the pipe's durable checkpoint are dropped
 * (conn_ddb_source_set_floor), so the journal stays short.
 */
#include "conn.h"
#include "core/fs.h"

#include <stdlib.h>
#include <string.h>

enum {
    DS_POLL_MS = 250,                /* DynamoDB Streams: 4-5 reads per second per shard */
    DS_GET_LIMIT_MAX = 1000,         /* GetRecords Limit 1..1000 */
    DS_ITERATOR_MAX = 2048,
};
#define DS_RELIST_NS 2000000000ull    /* DescribeStream again at most this often */
#define DS_TARGET "DynamoDBStreams_20120810."
#define DS_JSON "application/x-amz-json-1.0"

typedef struct ds_segment {
    uint64_t lo, hi;
    char shard[CONN_KIN_SHARD_ID_MAX + 1];
    char first[CONN_KIN_SEQ_MAX + 1], last[CONN_KIN_SEQ_MAX + 1];
} ds_segment;

typedef struct ds_shard {
    conn_kin_shard s;
    char cursor[CONN_KIN_SEQ_MAX + 1];   /* last sequence number handed out, "" none */
    bool done;                           /* closed and read to its end */
    bool listed;                         /* in the last DescribeStream */
    char *iterator;                      /* cached, standing just after cursor */
} ds_shard;

struct conn_ddb_source {
    conn_aws *c;
    char *table;                         /* NULL when the ARN is configured */
    char arn[1100];
    char *path;
    char describe[1400];
    uint64_t end;                        /* highest position handed out (or journaled) */
    uint64_t floor;
    ds_segment *segs;
    size_t n_segs;
    ds_shard *shards;
    size_t n_shards;
    size_t next_shard;
    uint64_t listed_ns;
    bool idle;                           /* the last read at the end found nothing */
    conn_health h;
};

static json_t *call(conn_ddb_source *d, const char *op, json_t *body, sp_err *e)
{
    char what[1300];
    snprintf(what, sizeof what, "DynamoDB stream of '%s' at %s", d->table ? d->table : d->arn,
             conn_aws_describe(d->c));
    return conn_health_call(d->c, &d->h, DS_TARGET, DS_JSON, op, body, what,
                            "ExpiredIteratorException", e);
}

/* ---- the journal ----------------------------------------------------------------------- */

static ds_shard *shard_get(conn_ddb_source *d, const char *id, bool add)
{
    for (size_t i = 0; i < d->n_shards; i++)
        if (!strcmp(d->shards[i].s.id, id)) return &d->shards[i];
    if (!add) return NULL;
    d->shards = realloc(d->shards, (d->n_shards + 1) * sizeof *d->shards);
    ds_shard *s = &d->shards[d->n_shards++];
    memset(s, 0, sizeof *s);
    snprintf(s->s.id, sizeof s->s.id, "%s", id);
    return s;
}

static bool journal_save(conn_ddb_source *d, sp_err *e)
{
    json_t *segs = json_array(), *cursors = json_object(), *done = json_array();
    for (size_t i = 0; i < d->n_segs; i++) {
        const ds_segment *g = &d->segs[i];
        json_array_append_new(segs, json_pack("{s:I, s:I, s:s, s:s, s:s}", "lo", (json_int_t)g->lo,
                                              "hi", (json_int_t)g->hi, "shard", g->shard, "first",
                                              g->first, "last", g->last));
    }
    for (size_t i = 0; i < d->n_shards; i++) {
        if (d->shards[i].cursor[0])
            json_object_set_new(cursors, d->shards[i].s.id, json_string(d->shards[i].cursor));
        if (d->shards[i].done) json_array_append_new(done, json_string(d->shards[i].s.id));
    }
    json_t *j = json_pack("{s:s, s:I, s:o, s:o, s:o}", "stream_arn", d->arn, "end",
                          (json_int_t)d->end, "segments", segs, "cursors", cursors, "done", done);
    bool ok = sp_fs_write_json_atomic(d->path, j, e);
    json_decref(j);
    return ok;
}

#define CP(dst, v) snprintf(dst, sizeof dst, "%s", json_string_value(v) ? json_string_value(v) : "")

static bool journal_load(conn_ddb_source *d, sp_err *e)
{
    json_error_t je;
    json_t *j = json_load_file(d->path, 0, &je);
    if (!j) {
        FILE *f = fopen(d->path, "r");
        if (!f) return true;
        fclose(f);
        sp_err_internal(e, "DynamoDB Streams source journal is unreadable: %s", je.text);
        return false;
    }
    if (!d->arn[0]) CP(d->arn, json_object_get(j, "stream_arn"));
    d->end = (uint64_t)json_integer_value(json_object_get(j, "end"));
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(j, "segments"), i, x) {
        d->segs = realloc(d->segs, (d->n_segs + 1) * sizeof *d->segs);
        ds_segment *g = &d->segs[d->n_segs++];
        g->lo = (uint64_t)json_integer_value(json_object_get(x, "lo"));
        g->hi = (uint64_t)json_integer_value(json_object_get(x, "hi"));
        CP(g->shard, json_object_get(x, "shard"));
        CP(g->first, json_object_get(x, "first"));
        CP(g->last, json_object_get(x, "last"));
    }
    const char *id;
    json_object_foreach(json_object_get(j, "cursors"), id, x) CP(shard_get(d, id, true)->cursor, x);
    json_array_foreach(json_object_get(j, "done"), i, x)
        if (json_is_string(x)) shard_get(d, json_string_value(x), true)->done = true;
    json_decref(j);
    return true;
}

/* ---- the stream and its shards --------------------------------------------------------- */

static bool find_stream(conn_ddb_source *d, sp_err *e)
{
    if (d->arn[0]) return true;
    json_t *r = call(d, "ListStreams", json_pack("{s:s}", "TableName", d->table), e);
    if (!r) return false;
    const json_t *streams = json_object_get(r, "Streams"), *x;
    size_t i;
    json_array_foreach(streams, i, x) {
        const char *a = json_string_value(json_object_get(x, "StreamArn"));
        if (a && strlen(a) < sizeof d->arn) snprintf(d->arn, sizeof d->arn, "%s", a);
    }
    json_decref(r);
    if (!d->arn[0]) {
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "ListStreams: table '%s' at %s has no stream (enable its StreamSpecification)",
                   d->table, conn_aws_describe(d->c));
        conn_health_error(&d->h, e);
        return false;
    }
    return true;
}

static bool list_shards(conn_ddb_source *d, sp_err *e)
{
    if (d->n_shards && sp_clock_mono_ns() - d->listed_ns < DS_RELIST_NS) return true;
    if (!find_stream(d, e)) return false;
    char *start = NULL;
    conn_kin_shard *got = NULL;
    size_t n = 0;
    bool ok = true;
    do {
        json_t *req = json_pack("{s:s}", "StreamArn", d->arn);
        if (start) json_object_set_new(req, "ExclusiveStartShardId", json_string(start));
        json_t *r = call(d, "DescribeStream", req, e);
        free(start);
        start = NULL;
        const json_t *desc = json_object_get(r, "StreamDescription");
        ok = r && conn_kin_shards_parse(json_object_get(desc, "Shards"), &got, &n, e);
        const json_t *last = json_object_get(desc, "LastEvaluatedShardId");
        if (ok && json_is_string(last)) start = strdup(json_string_value(last));
        json_decref(r);
    } while (ok && start);
    free(start);
    for (size_t i = 0; ok && i < n; i++) {
        ds_shard *x = shard_get(d, got[i].id, true);
        x->s = got[i];
        x->listed = true;
    }
    free(got);
    if (ok) d->listed_ns = sp_clock_mono_ns();
    return ok;
}

static bool shard_ready(conn_ddb_source *d, const ds_shard *s)
{
    if (s->done || !s->listed) return false;
    const ds_shard *p = s->s.parent[0] ? shard_get(d, s->s.parent, false) : NULL;
    return !p || p->done || !p->listed;       /* an unlisted parent is past retention */
}

/* ---- reading --------------------------------------------------------------------------- */

static char *iterator(conn_ddb_source *d, const char *shard, const char *type, const char *seq,
                      sp_err *e)
{
    json_t *req = json_pack("{s:s, s:s, s:s}", "StreamArn", d->arn, "ShardId", shard,
                            "ShardIteratorType", type);
    if (seq) json_object_set_new(req, "SequenceNumber", json_string(seq));
    json_t *r = call(d, "GetShardIterator", req, e);
    if (!r) return NULL;
    const json_t *it = json_object_get(r, "ShardIterator");
    char *out = json_is_string(it) && json_string_length(it) > 0 &&
                        json_string_length(it) <= DS_ITERATOR_MAX
                    ? strdup(json_string_value(it)) : NULL;
    json_decref(r);
    if (!out) {
        sp_err_set(e, 502, "InvalidResponse", "GetShardIterator: the answer has no ShardIterator");
        e->retriable = true;
        conn_health_error(&d->h, e);
    }
    return out;
}

static bool get_records(conn_ddb_source *d, const char *it, size_t limit, conn_kin_batch *b,
                        sp_err *e)
{
    json_t *r = call(d, "GetRecords", json_pack("{s:s, s:I}", "ShardIterator", it, "Limit",
                                                (json_int_t)limit), e);
    if (!r) return false;
    bool ok = conn_ddb_records_parse(r, b, e);
    json_decref(r);
    if (!ok) conn_health_error(&d->h, e);
    return ok;
}

static bool hand_out(const conn_kin_record *x, uint64_t pos, tbl_stream_fn fn, void *arg)
{
    tbl_stream_record rec = {.seq = pos, .created_ms = x->arrival_ms, .json = x->data,
                             .json_len = x->len};
    return fn(arg, &rec);
}

/* Positions after..: from the segment that holds after+1, read again. */
static long reread(conn_ddb_source *d, uint64_t after, size_t max, tbl_stream_fn fn, void *arg,
                   sp_err *e)
{
    const ds_segment *g = NULL;
    for (size_t i = 0; i < d->n_segs && !g; i++)
        if (d->segs[i].lo <= after + 1 && after + 1 <= d->segs[i].hi) g = &d->segs[i];
    if (!g) {
        sp_err_set(e, 409, "PositionLost", "DynamoDB Streams source: position %llu is not in "
                   "the journal (below its floor %llu?)", (unsigned long long)after,
                   (unsigned long long)d->floor);
        conn_health_error(&d->h, e);
        return -1;
    }
    ds_segment seg = *g;
    char *it = iterator(d, seg.shard, "AT_SEQUENCE_NUMBER", seg.first, e);
    uint64_t pos = seg.lo - 1;
    long got = 0;
    bool go = true;
    while (it && go && pos < seg.hi) {
        conn_kin_batch b;
        if (!get_records(d, it, DS_GET_LIMIT_MAX, &b, e)) {
            free(it);
            return -1;
        }
        free(it);
        it = b.next_iterator;
        b.next_iterator = NULL;
        for (size_t i = 0; i < b.n && go && pos < seg.hi; i++) {
            pos++;
            if (pos <= after) continue;
            if (pos == seg.hi && strcmp(b.recs[i].seq, seg.last)) {
                sp_err_set(e, 409, "PositionLost", "DynamoDB Streams source: shard %s no longer "
                           "holds what position %llu was (%s, now %s)", seg.shard,
                           (unsigned long long)pos, seg.last, b.recs[i].seq);
                conn_health_error(&d->h, e);
                conn_kin_batch_clear(&b);
                free(it);
                return -1;
            }
            got++;
            go = hand_out(&b.recs[i], pos, fn, arg) && (size_t)got < max;
        }
        bool empty = b.n == 0;
        conn_kin_batch_clear(&b);
        if (empty && pos < seg.hi) break;
    }
    free(it);
    if (got == 0 && pos < seg.hi) {
        sp_err_set(e, 503, "Unavailable", "DynamoDB Streams source: shard %s gave nothing back "
                   "for positions %llu..%llu yet", seg.shard, (unsigned long long)after + 1,
                   (unsigned long long)seg.hi);
        e->retriable = true;
        return -1;
    }
    return got;
}

/* New records from the next ready shard. */
static long read_new(conn_ddb_source *d, size_t max, tbl_stream_fn fn, void *arg, sp_err *e)
{
    if (!list_shards(d, e)) return -1;
    for (size_t k = 0; k < d->n_shards; k++) {
        ds_shard *s = &d->shards[(d->next_shard + k) % d->n_shards];
        if (!shard_ready(d, s)) continue;
        for (int attempt = 0; attempt < 2; attempt++) {
            if (!s->iterator)
                s->iterator = s->cursor[0] ? iterator(d, s->s.id, "AFTER_SEQUENCE_NUMBER", s->cursor, e)
                                           : iterator(d, s->s.id, "TRIM_HORIZON", NULL, e);
            if (!s->iterator) return -1;
            conn_kin_batch b;
            size_t limit = max < DS_GET_LIMIT_MAX ? max : DS_GET_LIMIT_MAX;
            if (!get_records(d, s->iterator, limit, &b, e)) {
                free(s->iterator);
                s->iterator = NULL;
                if (!strcmp(e->code, "ExpiredIteratorException") && attempt == 0) {
                    *e = (sp_err){0};
                    continue;
                }
                return -1;
            }
            pthread_mutex_lock(&d->h.mu);
            d->h.millis_behind = b.millis_behind;
            pthread_mutex_unlock(&d->h.mu);
            if (b.n == 0) {
                free(s->iterator);
                s->iterator = b.next_iterator;
                b.next_iterator = NULL;
                bool closed = !s->iterator;
                conn_kin_batch_clear(&b);
                if (closed) {
                    s->done = true;
                    if (!journal_save(d, e)) return -1;
                }
                break;                    /* nothing here now: the next shard */
            }
            d->segs = realloc(d->segs, (d->n_segs + 1) * sizeof *d->segs);
            ds_segment *g = &d->segs[d->n_segs++];
            g->lo = d->end + 1;
            g->hi = d->end + b.n;
            snprintf(g->shard, sizeof g->shard, "%s", s->s.id);
            snprintf(g->first, sizeof g->first, "%s", b.recs[0].seq);
            snprintf(g->last, sizeof g->last, "%s", b.recs[b.n - 1].seq);
            char old_cursor[sizeof s->cursor];
            memcpy(old_cursor, s->cursor, sizeof old_cursor);
            memcpy(s->cursor, g->last, sizeof s->cursor);
            uint64_t old_end = d->end;
            d->end = g->hi;
            if (!journal_save(d, e)) {    /* nothing is handed out before it is written */
                d->n_segs--;
                d->end = old_end;
                memcpy(s->cursor, old_cursor, sizeof s->cursor);
                free(s->iterator);
                s->iterator = NULL;
                conn_kin_batch_clear(&b);
                return -1;
            }
            free(s->iterator);
            s->iterator = b.next_iterator;
            b.next_iterator = NULL;
            d->next_shard = (size_t)(s - d->shards) + 1;
            long got = 0;
            for (size_t i = 0; i < b.n; i++) {
                got++;
                if (!hand_out(&b.recs[i], old_end + i + 1, fn, arg)) break;
            }
            pthread_mutex_lock(&d->h.mu);
            d->h.records += b.n;
            pthread_mutex_unlock(&d->h.mu);
            conn_kin_batch_clear(&b);
            return got;
        }
    }
    return 0;
}

long conn_ddb_source_read(void *ctx, const char *table, uint64_t after_seq, size_t max,
                          tbl_stream_fn fn, void *arg, sp_err *e)
{
    conn_ddb_source *d = ctx;
    (void)table;
    if (max == 0) return 0;
    if (after_seq > d->end) {
        sp_err_set(e, 409, "PositionLost", "DynamoDB Streams source: the pipe is at position "
                   "%llu but the journal ends at %llu", (unsigned long long)after_seq,
                   (unsigned long long)d->end);
        conn_health_error(&d->h, e);
        return -1;
    }
    if (!find_stream(d, e)) return -1;
    long got = after_seq < d->end ? reread(d, after_seq, max, fn, arg, e)
                                  : read_new(d, max, fn, arg, e);
    d->idle = got == 0;
    return got;
}

bool conn_ddb_source_wait(void *ctx, const char *table, uint64_t after_seq, int timeout_ms)
{
    conn_ddb_source *d = ctx;
    (void)table;
    if (after_seq < d->end || !d->idle) return true;
    sp_sleep_ms(timeout_ms < DS_POLL_MS ? (unsigned)timeout_ms : DS_POLL_MS);
    return true;
}

uint64_t conn_ddb_source_last_seq(void *ctx, const char *table)
{
    (void)table;
    return ((conn_ddb_source *)ctx)->end;
}

void conn_ddb_source_set_floor(conn_ddb_source *d, uint64_t floor)
{
    if (floor <= d->floor) return;
    d->floor = floor;
    size_t keep = 0;
    for (size_t i = 0; i < d->n_segs; i++)
        if (d->segs[i].hi > floor) d->segs[keep++] = d->segs[i];
    d->n_segs = keep;                    /* written with the next segment */
}

json_t *conn_ddb_source_health(conn_ddb_source *d)
{
    return conn_health_json(&d->h, "dynamodb-streams", d->describe);
}

conn_ddb_source *conn_ddb_source_new(const json_t *cfg, const char *state_path, sp_err *e)
{
    conn_aws *c = conn_remote_client(cfg, "dynamodb", e);
    if (!c) return NULL;
    conn_ddb_source *d = calloc(1, sizeof *d);
    d->c = c;
    const char *table = json_string_value(json_object_get(cfg, "table"));
    const char *arn = json_string_value(json_object_get(cfg, "stream_arn"));
    d->table = table ? strdup(table) : NULL;
    if (arn) snprintf(d->arn, sizeof d->arn, "%s", arn);
    d->path = strdup(state_path);
    snprintf(d->describe, sizeof d->describe, "%s %s %s", conn_aws_describe(c),
             table ? "table" : "stream", table ? table : arn);
    conn_health_init(&d->h);
    if (!journal_load(d, e)) {
        conn_ddb_source_destroy(d);
        return NULL;
    }
    return d;
}

void conn_ddb_source_destroy(conn_ddb_source *d)
{
    if (!d) return;
    for (size_t i = 0; i < d->n_shards; i++) free(d->shards[i].iterator);
    free(d->shards);
    free(d->segs);
    conn_aws_destroy(d->c);
    pthread_mutex_destroy(&d->h.mu);
    free(d->table);
    free(d->path);
    free(d);
}
