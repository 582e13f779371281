/* The runner: one worker thread per running pipe, moving table stream records to the target
 * Kinesis stream exactly once.
 *
 * Exactly once. Notation: the source is the table stream, records r with strictly increasing
 * r.seq; route(r) is the target shard r's partition key maps to; every record the pipe
 * appends carries origin tag = pipe name and origin_pos = r.seq; H[s] is the highest
 * origin_pos of this pipe in shard s (stm_origin_position, kept durable by the log with the
 * records themselves); C is the pipe's checkpoint file.
 *
 *   (I1) The pipe handles source records in seq order, and appends the records routed to one
 *        shard in that order (stm_put_records keeps input order per shard). Whatever a crash
 *        tears off, each shard s therefore holds this pipe's records for s as a prefix, in
 *        seq order, of the records routed to s that passed the filter: every passing r with
 *        route(r) = s and r.seq <= H[s] is in s, none with r.seq > H[s] is.
 *   (I2) C is only ever saved after every record <= C was appended (or filtered out, or
 *        failed permanently: both decided by the record alone, so deciding again gives the
 *        same answer). C is a soft checkpoint: it may lag behind what was appended.
 *
 *   On start (and after any failed append) the runner reloads H from the log and resumes
 *   after C. A record r > C is skipped when r.seq <= H[route(r)], since by (I1) it is already
 *   in its shard, and appended otherwise, since by (I1) it is not. Records <= C are in the
 *   log by (I2). So after a crash at any point no record is lost and none is appended twice.
 *   Filters and routing must be deterministic for this: they are pure functions of the
 *   record and the definition; a definition change (UpdatePipe) first stops the runner,
 *   which saves an exact C, so the new definition only ever applies to records > C. Routing
 *   changes by resharding are outside the argument (salespipe does not reshard under a
 *   running pipe).
 *
 * Dead letters (DeadLetterConfig). A record is refused when it cannot be a Kinesis record
 *   (no usable partition key, over 1 MiB, not JSON), when it is older than
 *   MaximumRecordAgeInSeconds, or when its batch failed more than MaximumRetryAttempts
 *   times; a refused record goes to the DLQ (dlq.c) with the reason, or, with no DLQ, is
 *   dropped as Pipes drops it. D is the set of records with a DLQ message, M the DLQ high
 *   mark (durable, saved before any message above it is written, so every r in D has
 *   r.seq <= M).
 *
 *   (I3) A record is refused only if it is not in its shard: after a failure the runner
 *        reloads H from the log first, and a refused record r with a route is refused only
 *        when r.seq > H[route(r)].
 *   (I4) Within a batch, the DLQ messages are written (M first, then the messages) before
 *        any of the batch's appends, and a record gets a message only if r.seq > C and it is
 *        not in D.
 *
 *   On resume a record r > C is skipped when r.seq <= H[route(r)] (in its shard, or, by (I4)
 *   and (I1), refused with a message written before that shard's later appends), skipped
 *   when r.seq <= M and r is in D (one stat), and decided afresh otherwise; so whatever the
 *   moment of a crash, each record ends in exactly one of: the target, the DLQ, filtered out.
 *   A decision that depends on time (age, retries) is taken once: once its message exists the
 *   record is never appended, and a message torn by a crash does not exist (atomic rename),
 *   so the record is decided again.
 */
#include "core/failpoint.h"
#include "core/json_scan.h"
#include "pipe_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum {
    PIP_WAIT_MS = 200,                    /* how long one tbl_stream_wait may block */
    PIP_RETRY_MS = 500,                   /* back-off after a failed append */
    PIP_CHECKPOINT_INTERVAL_MS = 1000,    /* at most one checkpoint write per interval */
    PIP_PUT_CHUNK = 500,                  /* Kinesis PutRecords: records per call */
    PIP_BATCH_BYTES_MAX = 6 * 1024 * 1024,/* EventBridge Pipes: 6 MB batch payload */
    PIP_KINESIS_RECORD_MAX = 1024 * 1024, /* Kinesis: 1 MiB per record */
    PIP_WINDOW_POLL_MS = 50,
    PIP_REASON_MAX = 512,
    /* After appending a batch smaller than BatchSize, the next append waits until this long
     * after it, so a trickle of small table commits becomes one log append (and, under
     * durability fsync, one fdatasync) per interval instead of one per commit. Only under
     * load: an idle pipe appends a record as soon as it is read. */
    PIP_COALESCE_MS = 2,
};

struct pip_runner {
    pip_def *def;
    pip_filter *filter;
    char *dir;
    char *hash_key;
    pip_io io;
    pip_counters *counters;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop;
    _Atomic uint64_t checkpoint;   /* C, in memory */
    uint64_t saved_checkpoint;     /* C, on disk */
    uint64_t last_save_ns;

    uint64_t *high;                /* H[s]; valid where high_known[s] */
    bool *high_known;
    size_t n_high;
    uint64_t dlq_high;             /* M, as saved */
    uint64_t small_append_ns;      /* when the last batch smaller than BatchSize was
                                    * appended; 0: the last one was full, or none */
};

/* ---- one batch -------------------------------------------------------------------------- */

typedef struct pip_item {
    uint64_t seq;
    int64_t created_ms;
    char *json;
    size_t len;
} pip_item;

typedef struct pip_batch {
    pip_item *items;
    size_t n, cap, bytes;
} pip_batch;

static bool batch_collect(void *arg, const tbl_stream_record *rec)
{
    pip_batch *b = arg;
    if (b->n > 0 && b->bytes + rec->json_len > PIP_BATCH_BYTES_MAX) return false;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 64;
        b->items = realloc(b->items, b->cap * sizeof *b->items);
    }
    b->items[b->n++] = (pip_item){rec->seq, rec->created_ms, strndup(rec->json, rec->json_len),
                                  rec->json_len};
    b->bytes += rec->json_len;
    return true;
}

static void batch_clear(pip_batch *b)
{
    for (size_t i = 0; i < b->n; i++) free(b->items[i].json);
    free(b->items);
    memset(b, 0, sizeof *b);
}

/* ---- H[s] ------------------------------------------------------------------------------- */

static void high_forget(pip_runner *r)
{
    if (r->n_high) memset(r->high_known, 0, r->n_high * sizeof *r->high_known);
}

static uint64_t *high_slot(pip_runner *r, int shard)
{
    size_t s = (size_t)shard;
    if (s >= r->n_high) {
        size_t n = s + 1;
        r->high = realloc(r->high, n * sizeof *r->high);
        r->high_known = realloc(r->high_known, n * sizeof *r->high_known);
        memset(r->high_known + r->n_high, 0, (n - r->n_high) * sizeof *r->high_known);
        r->n_high = n;
    }
    if (!r->high_known[s]) {
        r->high[s] = r->io.dst_origin_position(r->io.dst, r->def->target_stream, shard, r->def->name);
        r->high_known[s] = true;
    }
    return &r->high[s];
}

/* ---- partition keys --------------------------------------------------------------------- */

/* A JSON value as partition key text: strings as they are, typed DynamoDB values ({"S":..})
 * by their single member, anything else compact JSON. Returns a heap string or NULL. */
static char *key_text(const json_t *v)
{
    if (json_is_object(v) && json_object_size(v) == 1) {
        const json_t *inner = json_object_iter_value(json_object_iter((json_t *)v));
        if (json_is_string(inner)) v = inner;
    }
    if (json_is_string(v)) return strdup(json_string_value(v));
    if (!v || json_is_null(v)) return NULL;
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* The record's partition key (heap) or NULL with e set. Default: the value of the table's
 * hash key; unknown hash key: the item's key values joined by '|' in attribute-name order, so
 * all changes of one item still go to one shard. */
static char *partition_key(const pip_runner *r, const json_t *rec, sp_err *e)
{
    const char *pk = r->def->partition_key;
    char *key = NULL;
    if (pk && pk[0] == '$') {
        key = key_text(pip_path_eval(pk, rec));
    } else if (pk) {
        key = strdup(pk);
    } else {
        const json_t *keys = json_object_get(json_object_get(rec, "dynamodb"), "Keys");
        if (r->hash_key) {
            key = key_text(json_object_get(keys, r->hash_key));
        } else if (json_object_size(keys) > 0) {
            const char *names[16];
            size_t n = 0;
            const char *name;
            json_t *v;
            json_object_foreach((json_t *)keys, name, v) if (n < SP_ARRAY_LEN(names)) names[n++] = name;
            for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
                    const char *t = names[j];
                    names[j] = names[j - 1];
                    names[j - 1] = t;
                }
            sp_str s;
            sp_str_init(&s, NULL, 0, PIP_PARTITION_KEY_MAX + 1);
            for (size_t i = 0; i < n; i++) {
                char *part = key_text(json_object_get(keys, names[i]));
                if (i) sp_str_putc(&s, '|');
                sp_str_puts(&s, part ? part : "");
                free(part);
            }
            key = sp_str_finish(&s, NULL);
        }
    }
    if (!key || !*key || strlen(key) > PIP_PARTITION_KEY_MAX) {
        sp_err_invalid(e, "record has no usable partition key (%s)",
                       !key || !*key ? "missing or empty" : "longer than 256 characters");
        free(key);
        return NULL;
    }
    return key;
}

/* The record's partition key read straight from its text (core/json_scan.h), with no tree:
 * only for a pipe without filters whose key is the table's hash key (the default) or a
 * constant, and only when the text is one jansson loads, already names its eventSourceARN
 * (as the embedded table's records do: then the record is appended as it is) and yields a
 * usable key. Returns the key (heap) or NULL: then the record takes the jansson path
 * (batch_move), which decides everything else and gives every reason. */
static char *scan_partition_key(const pip_runner *r, const pip_item *it)
{
    const char *pk = r->def->partition_key;
    if (json_array_size(r->def->filters) > 0 || (pk && pk[0] == '$') || (!pk && !r->hash_key))
        return NULL;
    if (!sp_jscan_valid(it->json, it->len)) return NULL;
    const char *rec = it->json, *k, *v, *ddb = NULL;
    while (*rec != '{') rec++;                      /* past leading whitespace */
    size_t klen;
    bool arn = false;
    sp_jscan_iter iter;
    sp_jscan_iter_init(&iter, rec);
    while (sp_jscan_iter_member(&iter, &k, &klen, &v)) {
        if (klen == 14 && !memcmp(k, "eventSourceARN", 14)) arn = true;
        else if (klen == 8 && !memcmp(k, "dynamodb", 8)) ddb = v;
    }
    if (!arn) return NULL;
    if (pk) return *pk && strlen(pk) <= PIP_PARTITION_KEY_MAX ? strdup(pk) : NULL;
    const char *keys = ddb && *ddb == '{' ? sp_jscan_member(ddb, "Keys") : NULL;
    v = keys && *keys == '{' ? sp_jscan_member(keys, r->hash_key) : NULL;
    /* key_text: a typed value ({"S":"x"}) by its single string member, or a string */
    if (v && *v == '{' && sp_jscan_count(v) == 1) {
        sp_jscan_iter_init(&iter, v);
        sp_jscan_iter_member(&iter, &k, &klen, &v);
    }
    const char *text;
    size_t len;
    if (!v || *v != '"' || !sp_jscan_plain_string(v, &text, &len) || len == 0 ||
        len > PIP_PARTITION_KEY_MAX)
        return NULL;
    return strndup(text, len);
}

/* ---- the worker ------------------------------------------------------------------------- */

static void counter_add(_Atomic uint64_t *c, uint64_t n) { atomic_fetch_add(c, n); }

/* Appends puts[0..n) in chunks, advancing H as records land. */
static bool append_all(pip_runner *r, const stm_put *puts, size_t n, sp_err *e)
{
    stm_put_result out[PIP_PUT_CHUNK];
    for (size_t off = 0; off < n; off += PIP_PUT_CHUNK) {
        size_t m = n - off < PIP_PUT_CHUNK ? n - off : PIP_PUT_CHUNK, written = 0;
        if (!r->io.dst_put(r->io.dst, r->def->target_stream, puts + off, m, out, &written, e)) {
            counter_add(&r->counters->written, written);
            return false;
        }
        for (size_t i = 0; i < m; i++) *high_slot(r, out[i].shard_index) = puts[off + i].origin_pos;
        counter_add(&r->counters->written, m);
        sp_failpoint("pipe.appended");
    }
    return true;
}

typedef enum { REC_APPEND, REC_FILTERED, REC_REFUSED } rec_fate;

/* The jansson path of one record: parses it, applies the filters, finds its partition key
 * (*key, heap) and, when the record does not name its eventSourceARN, adds it (*text: the
 * record's new text, heap). REC_REFUSED: reason (PIP_REASON_MAX bytes) says why. */
static rec_fate tree_read(const pip_runner *r, const pip_item *it, char **key, char **text,
                          char *reason)
{
    json_error_t je;
    /* The tree in this thread's jansson arena (sp_json_arena_begin): freed below, so the
     * arena starts over for each record; what is added later (the eventSourceARN member,
     * the dumped text) comes from malloc. */
    sp_json_arena_begin();
    json_t *rec = json_loadb(it->json, it->len, JSON_ALLOW_NUL, &je); /* "a\u0000b" */
    sp_json_arena_end();
    if (!rec) {
        snprintf(reason, PIP_REASON_MAX, "stream record is not JSON (%s)", je.text);
        return REC_REFUSED;
    }
    if (!pip_filter_pass(r->filter, rec)) {
        json_decref(rec);
        return REC_FILTERED;
    }
    sp_err ke = {0};
    *key = partition_key(r, rec, &ke);
    if (*key && !json_object_get(rec, "eventSourceARN")) {
        json_object_set_new(rec, "eventSourceARN", json_string(r->def->source_arn));
        *text = json_dumps(rec, JSON_COMPACT);
    }
    json_decref(rec);
    if (!*key) {
        snprintf(reason, PIP_REASON_MAX, "%s", ke.msg);
        return REC_REFUSED;
    }
    return REC_APPEND;
}

/* A refused record: its item and why. */
typedef struct pip_refusal {
    const pip_item *it;
    char reason[PIP_REASON_MAX];
} pip_refusal;

/* Writes the batch's refused records to the DLQ (M first; a message written before a crash
 * is written again, the same); with no DLQ, drops them with a warning. false (e set) if a
 * write failed. */
static bool dead_letter(pip_runner *r, const pip_refusal *refused, size_t n, sp_err *e)
{
    if (n == 0) return true;
    if (!r->def->dlq_arn) {
        sp_warn("pipe %s: %zu record(s) dropped (no DeadLetterConfig), first %" PRIu64 ": %s",
                r->def->name, n, refused[0].it->seq, refused[0].reason);
        return true;
    }
    uint64_t top = refused[n - 1].it->seq;
    if (top > r->dlq_high || r->dlq_high == UINT64_MAX) {
        if (!pip_dlq_high_save(r->dir, r->def->name, top, e)) return false;
        r->dlq_high = top;
    }
    for (size_t i = 0; i < n; i++) {
        const pip_item *it = refused[i].it;
        if (!pip_dlq_write(r->dir, r->def, it->seq, it->json, it->len, refused[i].reason, e))
            return false;
    }
    sp_failpoint("pipe.dead_lettered");
    return true;
}

/* Filters, routes, de-duplicates and appends one batch; refused records go to the DLQ first
 * (see the argument above). give_up: the batch failed more than MaximumRetryAttempts times,
 * so every record not yet in its shard is refused with last_error. false (e set) on a
 * failure worth retrying: nothing about the batch is then assumed, C is not advanced. */
static bool batch_move(pip_runner *r, pip_batch *b, bool give_up, const char *last_error,
                       sp_err *e)
{
    stm_put *puts = calloc(b->n ? b->n : 1, sizeof *puts);
    char **owned = calloc(b->n ? b->n * 2 : 1, sizeof *owned);
    pip_refusal *refused = calloc(b->n ? b->n : 1, sizeof *refused);
    size_t n_puts = 0, n_owned = 0, n_refused = 0;
    uint64_t read = 0, filtered = 0, dups = 0;
    int64_t now_ms = sp_clock_wall_ms();
    bool ok = true;
    for (size_t i = 0; i < b->n && ok; i++) {
        pip_item *it = &b->items[i];
        read++;
        /* a record with a DLQ message (decided before a crash) is done */
        if (it->seq <= r->dlq_high && pip_dlq_has(r->dir, r->def->name, it->seq)) {
            dups++;
            continue;
        }
        char *key = scan_partition_key(r, it), *text = NULL;
        char *reason = refused[n_refused].reason;
        rec_fate fate = key ? REC_APPEND : tree_read(r, it, &key, &text, reason);
        if (text) owned[n_owned++] = text;
        const char *data = text ? text : it->json;
        size_t len = text ? strlen(text) : it->len;
        if (fate == REC_FILTERED) {
            filtered++;
            continue;
        }
        if (fate == REC_APPEND && len > PIP_KINESIS_RECORD_MAX) {
            free(key);
            snprintf(reason, PIP_REASON_MAX, "record is %zu bytes, over Kinesis' %d", len,
                     PIP_KINESIS_RECORD_MAX);
            fate = REC_REFUSED;
        }
        if (fate == REC_REFUSED) {
            refused[n_refused++].it = it;
            continue;
        }
        owned[n_owned++] = key;
        sp_err se = {0};
        int shard = r->io.dst_shard_for_key(r->io.dst, r->def->target_stream, key,
                                            give_up ? &se : e);
        if (shard < 0 && !give_up) {
            ok = false;
            break;
        }
        if (shard >= 0 && it->seq <= *high_slot(r, shard)) { /* already in its shard: see above */
            dups++;
            continue;
        }
        if (give_up || (r->def->max_age_s >= 0 &&
                        now_ms - it->created_ms > (int64_t)r->def->max_age_s * 1000)) {
            refused[n_refused].it = it;
            if (give_up)
                snprintf(refused[n_refused++].reason, PIP_REASON_MAX,
                         "the target refused the record %ld time(s) (MaximumRetryAttempts %ld): %s",
                         r->def->max_retries + 1, r->def->max_retries, last_error);
            else
                snprintf(refused[n_refused++].reason, PIP_REASON_MAX,
                         "the record is older than MaximumRecordAgeInSeconds (%ld)",
                         r->def->max_age_s);
            continue;
        }
        puts[n_puts++] = (stm_put){.partition_key = key, .data = data, .len = len,
                                   .origin = r->def->name, .origin_pos = it->seq};
    }
    if (ok) ok = dead_letter(r, refused, n_refused, e); /* (I4): before the appends */
    if (ok) ok = append_all(r, puts, n_puts, e);
    if (ok) {
        counter_add(&r->counters->read, read);
        counter_add(&r->counters->filtered, filtered);
        counter_add(&r->counters->duplicates_skipped, dups);
        counter_add(r->def->dlq_arn ? &r->counters->dead_lettered : &r->counters->failed,
                    n_refused);
    }
    for (size_t i = 0; i < n_owned; i++) free(owned[i]);
    free(owned);
    free(puts);
    free(refused);
    return ok;
}

static void checkpoint_flush(pip_runner *r, bool force)
{
    uint64_t c = atomic_load(&r->checkpoint), now = sp_clock_mono_ns();
    if (c == r->saved_checkpoint) return;
    if (!force && now - r->last_save_ns < (uint64_t)PIP_CHECKPOINT_INTERVAL_MS * 1000000u) return;
    sp_err e = {0};
    if (pip_checkpoint_save(r->dir, r->def->name, c, &e)) r->saved_checkpoint = c;
    else sp_warn("pipe %s: %s", r->def->name, e.msg); /* soft: H keeps us exact meanwhile */
    r->last_save_ns = now;
}

static void sleep_unless_stopped(pip_runner *r, unsigned ms)
{
    for (unsigned t = 0; t < ms && !atomic_load(&r->stop); t += PIP_WINDOW_POLL_MS)
        sp_sleep_ms(PIP_WINDOW_POLL_MS);
}

/* MaximumBatchingWindowInSeconds: wait for a full batch, or until the window closes. */
static void batching_window(pip_runner *r, uint64_t after)
{
    uint64_t deadline = sp_clock_mono_ns() + (uint64_t)r->def->window_s * 1000000000u;
    while (!atomic_load(&r->stop) && sp_clock_mono_ns() < deadline &&
           r->io.src_last_seq(r->io.src, r->def->source_table) - after < (uint64_t)r->def->batch_size)
        sp_sleep_ms(PIP_WINDOW_POLL_MS);
}

static void *runner_main(void *arg)
{
    pip_runner *r = arg;
    bool failing = false;
    long attempts = 0;                      /* failed tries of the current batch */
    size_t limit = (size_t)r->def->batch_size;
    char last_error[SP_ERR_MSG_MAX] = "";
    high_forget(r);
    while (!atomic_load(&r->stop)) {
        uint64_t c = atomic_load(&r->checkpoint);
        if (!r->io.src_wait(r->io.src, r->def->source_table, c, PIP_WAIT_MS)) {
            checkpoint_flush(r, false);
            continue;
        }
        if (r->def->window_s > 0) {
            batching_window(r, c);
        } else if (r->small_append_ns) {
            uint64_t due = r->small_append_ns + (uint64_t)PIP_COALESCE_MS * 1000000u,
                     now = sp_clock_mono_ns();
            if (now < due) sp_sleep_ms((unsigned)((due - now + 999999u) / 1000000u));
        }
        pip_batch b = {0};
        sp_err e = {0};
        long got = r->io.src_read(r->io.src, r->def->source_table, c, limit, batch_collect, &b,
                                  &e);
        bool give_up = r->def->max_retries >= 0 && attempts > r->def->max_retries;
        bool ok = got >= 0 && batch_move(r, &b, give_up, last_error, &e);
        if (ok && b.n > 0) atomic_store(&r->checkpoint, b.items[b.n - 1].seq);
        r->small_append_ns = ok && b.n > 0 && b.n < limit ? sp_clock_mono_ns() : 0;
        batch_clear(&b);
        if (!ok) {
            if (!failing) sp_warn("pipe %s: %s; retrying", r->def->name, e.msg);
            failing = true;
            if (got >= 0) attempts++; /* a failed read is the source's, not the batch's */
            snprintf(last_error, sizeof last_error, "%s", e.msg);
            /* AUTOMATIC_BISECT: retry the first half, down to one record */
            if (r->def->bisect && limit > 1) limit = (limit + 1) / 2;
            high_forget(r); /* the log is the truth about what landed */
            sleep_unless_stopped(r, PIP_RETRY_MS);
            continue;
        }
        attempts = 0;
        limit = (size_t)r->def->batch_size;
        if (failing) sp_info("pipe %s: recovered", r->def->name);
        failing = false;
        checkpoint_flush(r, false);
    }
    checkpoint_flush(r, true);
    return NULL;
}

/* ---- lifecycle -------------------------------------------------------------------------- */

pip_runner *pip_runner_new(const pip_def *def, const char *dir, const char *hash_key,
                           const pip_io *io, pip_counters *counters, sp_err *e)
{
    pip_filter *filter = pip_filter_new(def->filters, e);
    if (!filter) return NULL;
    uint64_t c = 0;
    if (!pip_checkpoint_load(dir, def->name, &c)) {
        /* A new pipe: fix its starting position durably now, so LATEST means "from the
         * moment it was created" even across a restart. */
        c = def->latest ? io->src_last_seq(io->src, def->source_table) : 0;
        if (!pip_checkpoint_save(dir, def->name, c, e)) {
            pip_filter_destroy(filter);
            return NULL;
        }
    }
    pip_runner *r = calloc(1, sizeof *r);
    r->def = pip_def_clone(def);
    r->filter = filter;
    r->dir = strdup(dir);
    r->hash_key = hash_key ? strdup(hash_key) : NULL;
    r->io = *io;
    r->counters = counters;
    atomic_init(&r->stop, false);
    atomic_init(&r->checkpoint, c);
    r->saved_checkpoint = c;
    r->dlq_high = pip_dlq_high_load(dir, def->name);
    return r;
}

bool pip_runner_start(pip_runner *r, sp_err *e)
{
    if (r->thread_started) return true;
    atomic_store(&r->stop, false);
    if (pthread_create(&r->thread, NULL, runner_main, r) != 0) {
        sp_err_internal(e, "pipe %s: cannot start its worker thread", r->def->name);
        return false;
    }
    r->thread_started = true;
    return true;
}

void pip_runner_stop(pip_runner *r)
{
    if (!r || !r->thread_started) return;
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    r->thread_started = false;
}

bool pip_runner_running(const pip_runner *r) { return r && r->thread_started; }

uint64_t pip_runner_checkpoint(const pip_runner *r) { return atomic_load(&r->checkpoint); }

void pip_runner_destroy(pip_runner *r)
{
    if (!r) return;
    pip_runner_stop(r);
    pip_filter_destroy(r->filter);
    pip_def_free(r->def);
    free(r->dir);
    free(r->hash_key);
    free(r->high);
    free(r->high_known);
    free(r);
}
