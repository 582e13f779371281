/* A remote Kinesis stream (AWS, kinesalite, another salespipe) as a pipe's target: PutRecords
 * in requests of at most 500 records / 5 MiB, failed entries (FailedRecordCount, ErrorCode per
 * entry) sent again with backoff, and the pipe's exactly-once hand-off kept across kill -9.
 *
 * Why a journal. The embedded log tags every record with the pipe's source position, so the
 * pipe asks it "the highest source position you hold" (dst_origin_position) and resumes after
 * it. Remote Kinesis keeps no such tag and has no transactions; what it does give is a total
 * order per shard with sequence numbers, and reads after a given sequence number. So the
 * target keeps a journal (one small file, replaced atomically and fsynced) of:
 *   D  "done": every record of the pipe with source position <= D is in the stream;
 *   P  "sent": no record with position > P was ever sent (P >= D);
 *   L  for each shard, a sequence number such that every record of the pipe with position
 *      > D that is in the shard lies after L[shard] (absent: from the trim horizon).
 * P is raised and written *before* a request carries a record above the old P; D and L are
 * advanced in memory after a put succeeds and are written with the next raise of P (a journal
 * that lags is still true: a lower D and an earlier L only widen what is looked at).
 *
 * dst_origin_position answers D for every shard, so the runner skips what is surely there.
 * When P > D (a crash, or a put that failed part way, perhaps after the remote accepted
 * entries whose answer was lost), the records with positions in (D, P] may or may not be in
 * the stream. Before the next put the target reads every shard after L (GetShardIterator
 * AFTER_SEQUENCE_NUMBER, GetRecords to the end) and keeps a digest of each (partition key,
 * data) found ("landed"). The runner hands the same source records again (its filters, keys
 * and record text are deterministic, and each stream record text carries its own eventID and
 * SequenceNumber, so two different records never match); a record in (D, P] whose digest is in
 * the landed set is taken out of it and reported written without being sent, any other is
 * sent. Once a put succeeds with D >= P nothing is uncertain: L moves to the newest sequence
 * number seen per shard and the landed set is dropped. Reading is needed only after a crash
 * or a failure and covers only what came after L, so it stays small.
 *
 * Order per key: a request never holds one partition key twice (conn_kin_put_chunk), and the
 * failed entries of a request are sent again before the next request, so a key's changes
 * land in source order even when Kinesis refuses some entries of a request. What is not
 * covered: a request still in flight inside the remote after the restart has finished its
 * reading (seconds after a kill -9 this does not happen with the endpoints we test against),
 * and a stream resharded while a journal is open (closed shards are read too, so this only
 * costs reading).
 */
#include "conn.h"
#include "core/failpoint.h"
#include "core/fs.h"

#include <stdlib.h>
#include <string.h>

enum {
    KT_PUT_ROUNDS = 8,               /* PutRecords rounds for the failed entries of a request */
    KT_ENTRY_BACKOFF_BASE_MS = 100,
    KT_ENTRY_BACKOFF_CAP_MS = 2000,
    KT_DIGEST = 65,                  /* SHA-256 hex + NUL */
};

#define KIN_TARGET "Kinesis_20131202."
#define KIN_JSON "application/x-amz-json-1.1"

/* ---- the landed set -------------------------------------------------------------------- */

typedef struct landed_entry {
    char digest[KT_DIGEST];
    int shard;
    char seq[CONN_KIN_SEQ_MAX + 1];
    bool taken;
} landed_entry;

struct conn_kin_landed {
    landed_entry *v;
    size_t n, cap, live;
};

static void digest_of(const char *pk, const void *data, size_t len, char out[KT_DIGEST])
{
    size_t kl = strlen(pk);
    char *buf = malloc(kl + 1 + len + 1);
    memcpy(buf, pk, kl + 1);
    if (len) memcpy(buf + kl + 1, data, len);
    conn_sha256_hex(buf, kl + 1 + len, out);
    free(buf);
}

conn_kin_landed *conn_kin_landed_new(void) { return calloc(1, sizeof(conn_kin_landed)); }

void conn_kin_landed_destroy(conn_kin_landed *l)
{
    if (!l) return;
    free(l->v);
    free(l);
}

void conn_kin_landed_add(conn_kin_landed *l, const char *pk, const void *data, size_t len,
                         int shard, const char *seq)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
    }
    landed_entry *x = &l->v[l->n++];
    digest_of(pk, data, len, x->digest);
    x->shard = shard;
    snprintf(x->seq, sizeof x->seq, "%s", seq);
    x->taken = false;
    l->live++;
}

bool conn_kin_landed_take(conn_kin_landed *l, const char *pk, const void *data, size_t len,
                          int *shard, char *seq)
{
    if (!l || l->live == 0) return false;
    char d[KT_DIGEST];
    digest_of(pk, data, len, d);
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].taken && !strcmp(l->v[i].digest, d)) {
            l->v[i].taken = true;
            l->live--;
            *shard = l->v[i].shard;
            memcpy(seq, l->v[i].seq, strlen(l->v[i].seq) + 1);
            return true;
        }
    return false;
}

size_t conn_kin_landed_count(const conn_kin_landed *l) { return l ? l->live : 0; }

/* ---- requests -------------------------------------------------------------------------- */

size_t conn_kin_put_chunk(const stm_put *recs, size_t n)
{
    size_t bytes = 0, i = 0;
    for (; i < n && i < CONN_KIN_PUT_RECORDS_MAX; i++) {
        size_t b = recs[i].len + strlen(recs[i].partition_key);
        if (i > 0 && bytes + b > CONN_KIN_PUT_BYTES_MAX) break;
        bool repeat = false;
        for (size_t j = 0; j < i && !repeat; j++)
            repeat = !strcmp(recs[j].partition_key, recs[i].partition_key);
        if (repeat) break;
        bytes += b;
    }
    return i > 0 ? i : (n > 0);
}

/* ---- the target ------------------------------------------------------------------------ */

typedef struct kt_shard {
    conn_kin_shard s;
    char last[CONN_KIN_SEQ_MAX + 1]; /* L: "" = from the trim horizon */
    char seen[CONN_KIN_SEQ_MAX + 1]; /* newest sequence number seen since L */
} kt_shard;

struct conn_kin_target {
    conn_aws *c;
    char *stream;
    char *path;                      /* the journal */
    uint64_t done, sent;             /* D, P */
    kt_shard *shards;
    size_t n_shards;
    bool listed;                     /* shards fetched from the remote */
    bool uncertain;                  /* P > D or a put failed: read before the next put */
    conn_kin_landed *landed;
    conn_health h;
    uint64_t rnd;
};

static int shard_index(conn_kin_target *t, const char *id, bool add)
{
    for (size_t i = 0; i < t->n_shards; i++)
        if (!strcmp(t->shards[i].s.id, id)) return (int)i;
    if (!add) return -1;
    t->shards = realloc(t->shards, (t->n_shards + 1) * sizeof *t->shards);
    kt_shard *x = &t->shards[t->n_shards];
    memset(x, 0, sizeof *x);
    snprintf(x->s.id, sizeof x->s.id, "%s", id);
    return (int)t->n_shards++;
}

static bool journal_load(conn_kin_target *t, sp_err *e)
{
    json_error_t je;
    json_t *j = json_load_file(t->path, 0, &je);
    if (!j) {
        FILE *f = fopen(t->path, "r");
        if (!f) return true;                         /* no journal yet */
        fclose(f);
        sp_err_internal(e, "Kinesis target journal is unreadable: %s", je.text);
        return false;
    }
    t->done = (uint64_t)json_integer_value(json_object_get(j, "done"));
    t->sent = (uint64_t)json_integer_value(json_object_get(j, "sent"));
    const char *id;
    json_t *v;
    json_object_foreach(json_object_get(j, "shards"), id, v) {
        int i = shard_index(t, id, true);
        snprintf(t->shards[i].last, sizeof t->shards[i].last, "%s", json_string_value(v) ? json_string_value(v) : "");
    }
    json_decref(j);
    t->uncertain = t->sent > t->done;
    return true;
}

static bool journal_save(conn_kin_target *t, uint64_t sent, sp_err *e)
{
    json_t *shards = json_object();
    for (size_t i = 0; i < t->n_shards; i++)
        if (t->shards[i].last[0])
            json_object_set_new(shards, t->shards[i].s.id, json_string(t->shards[i].last));
    json_t *j = json_pack("{s:I, s:I, s:o}", "done", (json_int_t)t->done, "sent", (json_int_t)sent,
                          "shards", shards);
    bool ok = sp_fs_write_json_atomic(t->path, j, e);
    json_decref(j);
    return ok;
}

static json_t *call(void *ctx, const char *op, json_t *body, sp_err *e)
{
    conn_kin_target *t = ctx;
    char what[300];
    snprintf(what, sizeof what, "Kinesis stream '%s' at %s", t->stream,
             conn_aws_describe(t->c));
    return conn_health_call(t->c, &t->h, KIN_TARGET, KIN_JSON, op, body, what, NULL, e);
}

/* Fetches the shard list (ListShards, paged). */
static bool list_shards(conn_kin_target *t, sp_err *e)
{
    conn_kin_shard *got = NULL;
    size_t n = 0;
    bool ok = conn_kin_list_shards(call, t, t->stream, &got, &n, e);
    for (size_t i = 0; ok && i < n; i++) {
        int x = shard_index(t, got[i].id, true);
        t->shards[x].s = got[i];
    }
    free(got);
    if (ok) t->listed = true;
    return ok;
}

/* Reads shard x after its L to the end, adding what it finds to the landed set. */
static bool read_shard(conn_kin_target *t, int x, sp_err *e)
{
    kt_shard *sh = &t->shards[x];
    json_t *req = json_pack("{s:s, s:s, s:s}", "StreamName", t->stream, "ShardId", sh->s.id,
                            "ShardIteratorType", sh->last[0] ? "AFTER_SEQUENCE_NUMBER" : "TRIM_HORIZON");
    if (sh->last[0]) json_object_set_new(req, "StartingSequenceNumber", json_string(sh->last));
    json_t *r = call(t, "GetShardIterator", req, e);
    if (!r) return false;
    char *it = json_is_string(json_object_get(r, "ShardIterator"))
                   ? strdup(json_string_value(json_object_get(r, "ShardIterator"))) : NULL;
    json_decref(r);
    bool ok = true;
    while (ok && it) {
        r = call(t, "GetRecords", json_pack("{s:s, s:i}", "ShardIterator", it, "Limit",
                                            CONN_KIN_GET_LIMIT_MAX), e);
        free(it);
        it = NULL;
        conn_kin_batch b;
        ok = r && conn_kin_records_parse(r, &b, e);
        json_decref(r);
        if (!ok) break;
        for (size_t i = 0; i < b.n; i++) {
            conn_kin_landed_add(t->landed, b.recs[i].partition_key, b.recs[i].data, b.recs[i].len,
                                x, b.recs[i].seq);
            if (conn_kin_seq_cmp(b.recs[i].seq, sh->seen) > 0)
                snprintf(sh->seen, sizeof sh->seen, "%s", b.recs[i].seq);
        }
        bool at_end = b.n == 0 && b.millis_behind <= 0;
        if (!at_end && b.next_iterator) it = strdup(b.next_iterator);
        conn_kin_batch_clear(&b);
    }
    free(it);
    return ok;
}

/* Lists the shards if needed and, when something is uncertain, rebuilds the landed set. */
static bool ready(conn_kin_target *t, sp_err *e)
{
    if (!t->listed && !list_shards(t, e)) return false;
    if (!t->uncertain) return true;
    if (!list_shards(t, e)) return false;
    conn_kin_landed_destroy(t->landed);
    t->landed = conn_kin_landed_new();
    for (size_t i = 0; i < t->n_shards; i++) t->shards[i].seen[0] = 0;
    for (size_t i = 0; i < t->n_shards; i++)
        if (!read_shard(t, (int)i, e)) return false;
    t->uncertain = false;
    return true;
}

static unsigned next_backoff(conn_kin_target *t, int round)
{
    t->rnd ^= t->rnd << 13;
    t->rnd ^= t->rnd >> 7;
    t->rnd ^= t->rnd << 17;
    return conn_retry_backoff_ms(round, KT_ENTRY_BACKOFF_BASE_MS, KT_ENTRY_BACKOFF_CAP_MS, t->rnd);
}

/* Puts recs[idx[0..m)] (one request's worth), sending refused entries again with backoff. */
static bool put_request(conn_kin_target *t, const stm_put *recs, const size_t *idx, size_t m,
                        stm_put_result *out, size_t *landed, sp_err *e)
{
    size_t *todo = malloc(m * sizeof *todo), n_todo = m;
    memcpy(todo, idx, m * sizeof *todo);
    bool ok = true;
    for (int round = 0; ok && n_todo > 0; round++) {
        if (round >= KT_PUT_ROUNDS) {
            ok = false;
            break;
        }
        if (round > 0) {
            sp_sleep_ms(next_backoff(t, round));
            pthread_mutex_lock(&t->h.mu);
            t->h.retried_records += n_todo;
            pthread_mutex_unlock(&t->h.mu);
        }
        json_t *arr = json_array();
        for (size_t k = 0; k < n_todo; k++) {
            const stm_put *p = &recs[todo[k]];
            char *b64 = malloc(sp_base64_encoded_len(p->len) + 1);
            sp_base64_encode(p->data, p->len, b64);
            json_array_append_new(arr, json_pack("{s:s, s:s}", "Data", b64, "PartitionKey",
                                                 p->partition_key));
            free(b64);
        }
        json_t *r = call(t, "PutRecords", json_pack("{s:s, s:o}", "StreamName", t->stream,
                                                    "Records", arr), e);
        const json_t *res = json_object_get(r, "Records");
        if (!r || !json_is_array(res) || json_array_size(res) != n_todo) {
            if (r) {
                sp_err_set(e, 502, "InvalidResponse",
                           "PutRecords: the answer does not have one result per record");
                e->retriable = true;
                conn_health_error(&t->h, e);
            }
            json_decref(r);
            ok = false;
            break;
        }
        size_t keep = 0;
        for (size_t k = 0; k < n_todo; k++) {
            const json_t *x = json_array_get(res, k);
            const char *code = json_string_value(json_object_get(x, "ErrorCode"));
            const char *sid = json_string_value(json_object_get(x, "ShardId"));
            const char *seq = json_string_value(json_object_get(x, "SequenceNumber"));
            if (code || !sid || !seq || strlen(sid) > CONN_KIN_SHARD_ID_MAX ||
                strlen(seq) > CONN_KIN_SEQ_MAX) {
                const char *msg = json_string_value(json_object_get(x, "ErrorMessage"));
                sp_err_set(e, 500, code ? code : "InvalidResponse", "PutRecords: %s: %s",
                           code ? code : "InvalidResponse",
                           msg ? msg : "an entry has neither ErrorCode nor ShardId/SequenceNumber");
                e->retriable = true;
                todo[keep++] = todo[k];
                continue;
            }
            int si = shard_index(t, sid, true);
            stm_put_result *o = &out[todo[k]];
            o->shard_index = si;
            o->seq = recs[todo[k]].origin_pos;
            snprintf(o->seq_str, sizeof o->seq_str, "%.*s", (int)sizeof o->seq_str - 1, seq);
            if (conn_kin_seq_cmp(seq, t->shards[si].seen) > 0)
                snprintf(t->shards[si].seen, sizeof t->shards[si].seen, "%s", seq);
            (*landed)++;
        }
        if (keep) {
            char what[SP_ERR_MSG_MAX];
            snprintf(what, sizeof what, "%zu of %zu entries refused", keep, n_todo);
            sp_err_wrap(e, what);
            if (round + 1 >= KT_PUT_ROUNDS) conn_health_error(&t->h, e);
        }
        n_todo = keep;
        json_decref(r);
    }
    free(todo);
    return ok;
}

bool conn_kin_target_put(void *ctx, const char *stream, const stm_put *recs, size_t n,
                         stm_put_result *out, size_t *written, sp_err *e)
{
    conn_kin_target *t = ctx;
    (void)stream;
    *written = 0;
    if (n == 0) return true;
    if (!ready(t, e)) {
        t->uncertain = t->uncertain || t->sent > t->done;
        return false;
    }
    uint64_t top = 0;
    size_t *send = malloc(n * sizeof *send), n_send = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof out[i]);
        out[i].shard_index = -1;
        if (recs[i].origin_pos > top) top = recs[i].origin_pos;
        char seq[CONN_KIN_SEQ_MAX + 1];
        int shard;
        if (recs[i].origin_pos > t->done && recs[i].origin_pos <= t->sent &&
            conn_kin_landed_take(t->landed, recs[i].partition_key, recs[i].data, recs[i].len,
                                 &shard, seq)) {
            out[i].shard_index = shard;
            out[i].seq = recs[i].origin_pos;
            pthread_mutex_lock(&t->h.mu);
            t->h.recovered_records++;
            pthread_mutex_unlock(&t->h.mu);
            snprintf(out[i].seq_str, sizeof out[i].seq_str, "%.*s", (int)sizeof out[i].seq_str - 1, seq);
            (*written)++;
            continue;
        }
        send[n_send++] = i;
    }
    bool ok = true;
    if (n_send > 0 && top > t->sent) {          /* the journal first: see above */
        if (!journal_save(t, top, e)) ok = false;
        else t->sent = top;
        sp_failpoint("kinesis-target.journal-written");
    }
    stm_put *chunk = malloc((n_send ? n_send : 1) * sizeof *chunk);
    for (size_t off = 0; ok && off < n_send;) {
        for (size_t k = off; k < n_send; k++) chunk[k - off] = recs[send[k]];
        size_t m = conn_kin_put_chunk(chunk, n_send - off);
        ok = put_request(t, recs, send + off, m, out, written, e);
        off += m;
        if (ok) sp_failpoint("kinesis-target.request-put");
    }
    free(chunk);
    free(send);
    pthread_mutex_lock(&t->h.mu);
    t->h.records += *written;
    pthread_mutex_unlock(&t->h.mu);
    if (!ok) {
        t->uncertain = true;                     /* what landed is read back before the next put */
        return false;
    }
    if (top > t->done) t->done = top;
    if (t->done >= t->sent) {
        for (size_t i = 0; i < t->n_shards; i++)
            if (conn_kin_seq_cmp(t->shards[i].seen, t->shards[i].last) > 0)
                memcpy(t->shards[i].last, t->shards[i].seen, sizeof t->shards[i].last);
        conn_kin_landed_destroy(t->landed);
        t->landed = NULL;
    }
    return true;
}

int conn_kin_target_shard_for_key(void *ctx, const char *stream, const char *pk, sp_err *e)
{
    conn_kin_target *t = ctx;
    (void)stream;
    if (!t->listed && !list_shards(t, e)) return -1;
    unsigned __int128 h = conn_kin_hash_key(pk);
    for (size_t i = 0; i < t->n_shards; i++) {
        const conn_kin_shard *s = &t->shards[i].s;
        if (s->has_range && !s->closed && h >= s->hash_lo && h <= s->hash_hi) return (int)i;
    }
    /* a shard list that does not cover the key (resharding under way): any index will do,
     * since every shard answers D */
    return 0;
}

uint64_t conn_kin_target_origin_position(void *ctx, const char *stream, int shard,
                                         const char *origin)
{
    (void)stream, (void)shard, (void)origin;
    return ((conn_kin_target *)ctx)->done;
}

conn_kin_target *conn_kin_target_new(const json_t *cfg, const char *state_path, sp_err *e)
{
    conn_aws *c = conn_remote_client(cfg, "kinesis", e);
    if (!c) return NULL;
    conn_kin_target *t = calloc(1, sizeof *t);
    t->c = c;
    t->stream = strdup(json_string_value(json_object_get(cfg, "stream")));
    t->path = strdup(state_path);
    t->rnd = (uint64_t)sp_clock_mono_ns() | 1;
    conn_health_init(&t->h);
    if (!journal_load(t, e)) {
        conn_kin_target_destroy(t);
        return NULL;
    }
    return t;
}

void conn_kin_target_destroy(conn_kin_target *t)
{
    if (!t) return;
    if (t->sent <= t->done && t->done > 0) {     /* keep what is known, so a restart reads less */
        sp_err e = {0};
        journal_save(t, t->sent, &e);
    }
    conn_aws_destroy(t->c);
    conn_kin_landed_destroy(t->landed);
    pthread_mutex_destroy(&t->h.mu);
    free(t->shards);
    free(t->stream);
    free(t->path);
    free(t);
}

json_t *conn_kin_target_health(conn_kin_target *t)
{
    char d[600];
    snprintf(d, sizeof d, "%s stream %s", conn_aws_describe(t->c), t->stream);
    return conn_health_json(&t->h, "kinesis", d);
}
