/* Kafka as a pipe target (the pipe's dst_* seam, src/pipe/pipe_int.h).
 *
 * Exactly once, in the runner's notation (src/pipe/runner.c): the runner needs (I1) that each
 * partition holds this pipe's records routed to it as a prefix, in source order, and that
 * dst_origin_position answers H[p], the highest source position the partition holds.
 *   - A batch is produced inside one transaction by an idempotent producer: per partition
 *     the records land in produce order without gaps or duplicates, and a batch is visible to
 *     read_committed readers all or nothing. That gives (I1).
 *   - Every record carries CONN_KAFKA_HDR_ORIGIN (the pipe) and CONN_KAFKA_HDR_POS (its source
 *     position). H[p] is read back from the partition's last visible record of the pipe, with
 *     the same isolation (read_committed) the delivery source reads with, so "held" means
 *     exactly "what the next stage will see".
 *   - A transaction a killed process left open is settled before anything is read back:
 *     every (re)start of the producer calls init_transactions with the pipe's
 *     transactional.id, which fences the old producer and completes or aborts its
 *     transaction. Any failed put throws the producer away, so the next put or read back
 *     starts with that settling step.
 *   - A read back that fails leaves the partition "unknown": puts to it are refused until a
 *     read back succeeds (the runner forgets H and asks again after a failed put), so a
 *     wrong H can never cause a duplicate.
 * librdkafka 2.0's mock cluster accepts transactions but does not hide aborted records from
 * read_committed readers; there the argument still holds, because what the read back sees is
 * what the delivery sees (aborted records then count as held, once).
 */
#include "kafka_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    TARGET_READBACK_WINDOW = 64,         /* offsets read back first; grows x8 per step */
    TARGET_QUEUE_FULL_WAIT_MS = 100,
    TARGET_DELIVERY_POLL_MS = 100,
    TARGET_REFUSAL_GRACE_MS = 500,       /* reports awaited after a refusal (see below) */
    TARGET_TXN_ID_MAX = 128,
};

typedef struct delivery_slot {
    int32_t partition;
    int64_t offset;
    rd_kafka_resp_err_t err;
} delivery_slot;

struct conn_kafka_target {
    conn_kafka_config cfg;
    char *pipe;
    char txn_id[TARGET_TXN_ID_MAX];
    rd_kafka_t *producer;                /* NULL: to be (re)started with init_transactions */
    rd_kafka_topic_t *prkt;
    rd_kafka_t *reader;                  /* legacy consumer for read backs */
    rd_kafka_topic_t *rrkt;
    int32_t n_parts;                     /* 0: not known yet */
    bool *known;                         /* per partition: H was read since the producer started */
    size_t n_known;
    conn_kafka_book book;
};

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk, (void)opaque;
    delivery_slot *slot = m->_private;
    if (!slot) return;
    slot->partition = m->partition;
    slot->offset = m->offset;
    slot->err = m->err;
}

static void producer_drop(conn_kafka_target *t)
{
    if (!t->producer) return;
    rd_kafka_purge(t->producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(t->producer, 0);
    if (t->prkt) rd_kafka_topic_destroy(t->prkt);
    rd_kafka_destroy(t->producer);
    t->producer = NULL;
    t->prkt = NULL;
    if (t->n_known) memset(t->known, 0, t->n_known * sizeof *t->known);
}

static bool fail(conn_kafka_target *t, sp_err *e)
{
    conn_kafka_book_error(&t->book, e);
    return false;
}

/* Starts the producer and settles what a previous one left (see above). */
static bool producer_ready(conn_kafka_target *t, sp_err *e)
{
    if (t->producer) return true;
    const char *pairs[] = {"enable.idempotence", "true", "transactional.id", t->txn_id,
                           "acks", "all", NULL};
    rd_kafka_conf_t *conf = conn_kafka_conf_new(t->cfg.brokers, pairs, e);
    if (!conf) return fail(t, e);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    char errstr[CONN_KAFKA_ERRSTR_MAX];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        conn_kafka_err(e, "producer", errstr);
        return fail(t, e);
    }
    rd_kafka_error_t *err = rd_kafka_init_transactions(rk, CONN_KAFKA_TXN_TIMEOUT_MS);
    if (err) {
        conn_kafka_err(e, "init_transactions", rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
        rd_kafka_destroy(rk);
        return fail(t, e);
    }
    t->producer = rk;
    t->prkt = rd_kafka_topic_new(rk, t->cfg.topic, NULL);
    return true;
}

static bool reader_ready(conn_kafka_target *t, sp_err *e)
{
    if (t->reader) return true;
    const char *pairs[] = {"isolation.level", "read_committed", "enable.partition.eof", "true",
                           "enable.auto.commit", "false", NULL};
    rd_kafka_conf_t *conf = conn_kafka_conf_new(t->cfg.brokers, pairs, e);
    if (!conf) return fail(t, e);
    char errstr[CONN_KAFKA_ERRSTR_MAX];
    t->reader = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!t->reader) {
        rd_kafka_conf_destroy(conf);
        conn_kafka_err(e, "consumer", errstr);
        return fail(t, e);
    }
    t->rrkt = rd_kafka_topic_new(t->reader, t->cfg.topic, NULL);
    return true;
}

/* The topic's partition count (cached once known). */
static bool partitions_known(conn_kafka_target *t, sp_err *e)
{
    if (t->n_parts > 0) return true;
    if (!reader_ready(t, e)) return false;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(t->reader, 0, t->rrkt, &md, CONN_KAFKA_TIMEOUT_MS);
    if (err) {
        conn_kafka_err(e, "metadata", rd_kafka_err2str(err));
        return fail(t, e);
    }
    int32_t n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
    rd_kafka_resp_err_t terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_metadata_destroy(md);
    if (n <= 0) {
        sp_err_set(e, 404, "ResourceNotFoundException", "Kafka topic '%s' is not available: %s",
                   t->cfg.topic, terr ? rd_kafka_err2str(terr) : "no partitions");
        return fail(t, e);
    }
    t->n_parts = n;
    if ((size_t)n > t->n_known) {
        t->known = realloc(t->known, (size_t)n * sizeof *t->known);
        memset(t->known + t->n_known, 0, ((size_t)n - t->n_known) * sizeof *t->known);
        t->n_known = (size_t)n;
    }
    return true;
}

conn_kafka_target *conn_kafka_target_new(const conn_kafka_config *cfg, const char *pipe,
                                         sp_err *e)
{
    (void)e;
    conn_kafka_target *t = calloc(1, sizeof *t);
    t->cfg.brokers = strdup(cfg->brokers);
    t->cfg.topic = strdup(cfg->topic);
    t->pipe = strdup(pipe);
    snprintf(t->txn_id, sizeof t->txn_id, "salespipe-%s", pipe);
    conn_kafka_book_init(&t->book);
    t->book.s.lag = -1;
    return t;
}

void conn_kafka_target_destroy(conn_kafka_target *t)
{
    if (!t) return;
    producer_drop(t);
    if (t->rrkt) rd_kafka_topic_destroy(t->rrkt);
    if (t->reader) rd_kafka_destroy(t->reader);
    conn_kafka_config_clear(&t->cfg);
    conn_kafka_book_clear(&t->book);
    free(t->known);
    free(t->pipe);
    free(t);
}

int conn_kafka_target_partition(void *dst, const char *topic, const char *key, sp_err *e)
{
    conn_kafka_target *t = dst;
    (void)topic;
    if (!partitions_known(t, e)) return -1;
    /* Kafka's default partitioner (Java's murmur2), so other producers agree on a key. */
    return rd_kafka_msg_partitioner_murmur2(NULL, key, strlen(key), t->n_parts, NULL, NULL);
}

/* Polls until every record of the batch has its delivery report; false (e set) once one is
 * refused, or when they do not all come within the transaction timeout. commit_transaction
 * would wait for them too, but librdkafka 2.0 lets it wait out its whole timeout after a
 * refusal that dropped the topic's partitions (TOPIC_AUTHORIZATION_FAILED): the records queued
 * for them get no report until then. After a refusal the reports still coming are given a
 * moment, so the error kept is the refusal rather than a record purged because of it. */
static bool deliveries_settled(conn_kafka_target *t, const delivery_slot *slots, size_t n,
                               sp_err *e)
{
    uint64_t now = sp_clock_mono_ns();
    uint64_t deadline = now + (uint64_t)CONN_KAFKA_TXN_TIMEOUT_MS * 1000000u;
    rd_kafka_resp_err_t refused = RD_KAFKA_RESP_ERR_NO_ERROR;
    size_t pending;
    for (;;) {
        pending = 0;
        for (size_t i = 0; i < n; i++) {
            rd_kafka_resp_err_t r = slots[i].err;
            if (r == RD_KAFKA_RESP_ERR__IN_PROGRESS) pending++;
            else if (r && (!refused || refused == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                           refused == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT))
                refused = r;
        }
        if (pending == 0 || now >= deadline) break;
        if (refused && deadline - now > TARGET_REFUSAL_GRACE_MS * 1000000ull)
            deadline = now + TARGET_REFUSAL_GRACE_MS * 1000000ull;
        rd_kafka_poll(t->producer, TARGET_DELIVERY_POLL_MS); /* returns at the first report */
        now = sp_clock_mono_ns();
    }
    if (refused) {
        conn_kafka_err(e, "delivery", rd_kafka_err2str(refused));
        return false;
    }
    if (pending) {
        sp_err_set(e, 503, "ServiceUnavailableException",
                   "Kafka %s: %zu of %zu record(s) not acknowledged within %d ms", t->cfg.topic,
                   pending, n, CONN_KAFKA_TXN_TIMEOUT_MS);
        return false;
    }
    return true;
}

/* Reads partition p's offsets [start, end) and keeps the highest position of this pipe.
 * false (e set) if the partition could not be read. */
static bool scan(conn_kafka_target *t, int32_t p, int64_t start, int64_t end, const char *origin,
                 uint64_t *best, bool *found, sp_err *e)
{
    if (rd_kafka_consume_start(t->rrkt, p, start) == -1) {
        conn_kafka_err(e, "read back", rd_kafka_err2str(rd_kafka_last_error()));
        return false;
    }
    bool ok = true;
    size_t olen = strlen(origin);
    for (;;) {
        rd_kafka_message_t *m = rd_kafka_consume(t->rrkt, p, CONN_KAFKA_TIMEOUT_MS);
        if (!m) {
            sp_err_set(e, 503, "ServiceUnavailableException",
                       "Kafka read back of %s[%d]: no answer within %d ms", t->cfg.topic, p,
                       CONN_KAFKA_TIMEOUT_MS);
            ok = false;
            break;
        }
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err) {
            conn_kafka_err(e, "read back", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            ok = false;
            break;
        }
        bool past = m->offset >= end - 1;
        rd_kafka_headers_t *h = NULL;
        const void *ov, *pv;
        size_t osz, psz;
        uint64_t pos;
        if (m->offset < end && !rd_kafka_message_headers(m, &h) &&
            !rd_kafka_header_get_last(h, CONN_KAFKA_HDR_ORIGIN, &ov, &osz) && osz == olen &&
            !memcmp(ov, origin, olen) &&
            !rd_kafka_header_get_last(h, CONN_KAFKA_HDR_POS, &pv, &psz) &&
            conn_kafka_pos_parse(pv, psz, &pos) && (!*found || pos > *best)) {
            *best = pos;
            *found = true;
        }
        rd_kafka_message_destroy(m);
        if (past) break;
    }
    rd_kafka_consume_stop(t->rrkt, p);
    return ok;
}

uint64_t conn_kafka_target_origin_position(void *dst, const char *topic, int partition,
                                           const char *origin)
{
    conn_kafka_target *t = dst;
    (void)topic;
    sp_err e = {0};
    /* settle first: a transaction left open must be resolved before its records are judged */
    if (!producer_ready(t, &e) || !reader_ready(t, &e) || !partitions_known(t, &e)) return 0;
    if (partition < 0 || partition >= t->n_parts) return 0;
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(t->reader, t->cfg.topic, partition,
                                                               &lo, &hi, CONN_KAFKA_TIMEOUT_MS);
    if (err) {
        conn_kafka_err(&e, "read back", rd_kafka_err2str(err));
        fail(t, &e);
        return 0;
    }
    uint64_t best = 0;
    bool found = false;
    int64_t end = hi, window = TARGET_READBACK_WINDOW;
    while (end > lo && !found) {
        int64_t start = end - window > lo ? end - window : lo;
        if (!scan(t, partition, start, end, origin, &best, &found, &e)) {
            fail(t, &e);
            return 0;
        }
        end = start;
        window *= 8;
    }
    t->known[partition] = true;
    return best;
}

bool conn_kafka_target_put(void *dst, const char *topic, const stm_put *recs, size_t n,
                           stm_put_result *out, size_t *written, sp_err *e)
{
    conn_kafka_target *t = dst;
    (void)topic;
    *written = 0;
    for (size_t i = 0; i < n; i++) out[i].seq_str[0] = '\0';
    if (n == 0) return true;
    if (!producer_ready(t, e) || !partitions_known(t, e)) return false;
    delivery_slot *slots = calloc(n, sizeof *slots);
    rd_kafka_error_t *err = NULL;
    const char *what = "produce";
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        int32_t p = conn_kafka_target_partition(t, topic, recs[i].partition_key, e);
        if (p < 0) ok = false;
        else if (!t->known[p]) {
            sp_err_set(e, 503, "ServiceUnavailableException",
                       "Kafka %s[%d]: the highest source position it holds is not known since "
                       "the producer started (read back first)", t->cfg.topic, p);
            ok = false;
        }
        slots[i].partition = p;
        slots[i].offset = -1;
        slots[i].err = RD_KAFKA_RESP_ERR__IN_PROGRESS;
    }
    if (ok && (err = rd_kafka_begin_transaction(t->producer))) what = "begin_transaction", ok = false;
    for (size_t i = 0; i < n && ok; i++) {
        char pos[CONN_KAFKA_POS_DIGITS_MAX + 1];
        size_t plen = conn_kafka_pos_format(recs[i].origin_pos, pos);
        const char *origin = recs[i].origin ? recs[i].origin : t->pipe;
        for (;;) {
            rd_kafka_headers_t *h = rd_kafka_headers_new(2);
            rd_kafka_header_add(h, CONN_KAFKA_HDR_ORIGIN, -1, origin, (ssize_t)strlen(origin));
            rd_kafka_header_add(h, CONN_KAFKA_HDR_POS, -1, pos, (ssize_t)plen);
            rd_kafka_resp_err_t r = rd_kafka_producev(
                t->producer, RD_KAFKA_V_RKT(t->prkt), RD_KAFKA_V_PARTITION(slots[i].partition),
                RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                RD_KAFKA_V_KEY(recs[i].partition_key, strlen(recs[i].partition_key)),
                RD_KAFKA_V_VALUE((void *)recs[i].data, recs[i].len), RD_KAFKA_V_HEADERS(h),
                RD_KAFKA_V_OPAQUE(&slots[i]), RD_KAFKA_V_END);
            if (r == RD_KAFKA_RESP_ERR_NO_ERROR) break;
            rd_kafka_headers_destroy(h);
            if (r != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                conn_kafka_err(e, "produce", rd_kafka_err2str(r));
                ok = false;
                break;
            }
            rd_kafka_poll(t->producer, TARGET_QUEUE_FULL_WAIT_MS);
        }
    }
    if (ok) ok = deliveries_settled(t, slots, n, e);
    if (ok && (err = rd_kafka_commit_transaction(t->producer, CONN_KAFKA_TXN_TIMEOUT_MS)))
        what = "commit_transaction", ok = false;
    if (err) {
        conn_kafka_err(e, what, rd_kafka_error_string(err));
        rd_kafka_error_destroy(err);
    }
    if (!ok) {
        /* Whatever state the transaction is in, the next producer's init_transactions
         * fences this one and aborts it, and the runner reads back before it puts again.
         * No abort_transaction here: it waits for requests still in flight to a broker
         * that may be the reason for the failure. */
        producer_drop(t);
        t->n_parts = 0;
        free(slots);
        return fail(t, e);
    }
    for (size_t i = 0; i < n; i++) {
        out[i].shard_index = slots[i].partition;
        out[i].seq = (uint64_t)slots[i].offset + 1;
        snprintf(out[i].seq_str, sizeof out[i].seq_str, "%lld", (long long)slots[i].offset);
    }
    *written = n;
    free(slots);
    conn_kafka_book_records(&t->book, n);
    return true;
}

void conn_kafka_target_stats(conn_kafka_target *t, conn_kafka_stats *out)
{
    conn_kafka_book_get(&t->book, out);
}

json_t *conn_kafka_target_health(void *dst)
{
    conn_kafka_target *t = dst;
    conn_kafka_stats st;
    conn_kafka_book_get(&t->book, &st);
    return conn_kafka_stats_json(&st, &t->cfg, false);
}
