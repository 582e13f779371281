/* Kafka as a delivery source (the dlv_source seam, src/delivery/dlv_int.h).
 *
 * Partitions are shards and a record's position is its offset + 1, so position 0 is "before
 * the first record" as the runner expects, and a checkpoint p resumes at offset p. Each
 * partition is read with librdkafka's simple (assign-only) consumer API: the runner's
 * checkpoint (state.c) says where to start, never the group; a read after a position other
 * than where the partition's fetcher stands re-positions it, which is how a redo re-reads
 * an intent's exact range. Reads are read_committed, the isolation the pipe target reads
 * back with. The group only receives commits, for lag in Kafka's own tools.
 */
#include "kafka_int.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    SOURCE_READ_WAIT_MS = 5000,          /* a partition known to hold records answers within */
    SOURCE_POLL_MS = 20,                 /* wait(): how often the partitions are looked at */
    SOURCE_GROUP_MAX = CONN_KAFKA_GROUP_MAX + 1,
};

typedef struct part {
    bool started;
    int64_t next;                        /* offset the fetcher delivers next */
    rd_kafka_message_t *held;            /* consumed but not delivered (over the read's budget) */
    int64_t last_data;                   /* position of the last record seen; -1: none */
    bool at_eof;                         /* the last consume reached the end */
    int64_t eof_at;                      /* where (past any commit markers after last_data) */
    uint64_t committed;                  /* the position last committed to the group */
} part;

struct conn_kafka_source {
    conn_kafka_config cfg;
    char *name;
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    /* Learned once, by whichever thread asks first (the runner, or the health thread through
     * dlv_runner_caught_up); parts_mu guards that first fill, the array never moves after. */
    pthread_mutex_t parts_mu;
    part *parts;
    _Atomic int32_t n_parts;
    uint64_t delivered;                  /* records handed to the runner (a generation part) */
    conn_kafka_book book;
};

conn_kafka_source *conn_kafka_source_new(const conn_kafka_config *cfg, const char *name,
                                         sp_err *e)
{
    char group[SOURCE_GROUP_MAX];
    snprintf(group, sizeof group, "%s", cfg->group ? cfg->group : "");
    if (!cfg->group) snprintf(group, sizeof group, "salespipe-%s", name);
    const char *pairs[] = {"group.id", group, "isolation.level", "read_committed",
                           "enable.partition.eof", "true", "enable.auto.commit", "false",
                           "enable.auto.offset.store", "false", NULL};
    rd_kafka_conf_t *conf = conn_kafka_conf_new(cfg->brokers, pairs, e);
    if (!conf) return NULL;
    char errstr[CONN_KAFKA_ERRSTR_MAX];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        rd_kafka_conf_destroy(conf);
        conn_kafka_err(e, "consumer", errstr);
        return NULL;
    }
    conn_kafka_source *s = calloc(1, sizeof *s);
    s->cfg.brokers = strdup(cfg->brokers);
    s->cfg.topic = strdup(cfg->topic);
    s->cfg.group = strdup(group);
    s->name = strdup(name);
    s->rk = rk;
    s->rkt = rd_kafka_topic_new(rk, cfg->topic, NULL);
    conn_kafka_book_init(&s->book);
    pthread_mutex_init(&s->parts_mu, NULL);
    return s;
}

void conn_kafka_source_destroy(void *src)
{
    conn_kafka_source *s = src;
    if (!s) return;
    for (int32_t p = 0; p < s->n_parts; p++) {
        if (s->parts[p].held) rd_kafka_message_destroy(s->parts[p].held);
        if (s->parts[p].started) rd_kafka_consume_stop(s->rkt, p);
    }
    rd_kafka_topic_destroy(s->rkt);
    rd_kafka_destroy(s->rk);
    conn_kafka_config_clear(&s->cfg);
    conn_kafka_book_clear(&s->book);
    free(s->parts);
    pthread_mutex_destroy(&s->parts_mu);
    free(s->name);
    free(s);
}

static int failed(conn_kafka_source *s, sp_err *e)
{
    conn_kafka_book_error(&s->book, e);
    return -1;
}

static int partitions_learn(conn_kafka_source *s, sp_err *e);

int conn_kafka_source_partitions(void *src, sp_err *e)
{
    conn_kafka_source *s = src;
    if (s->n_parts > 0) return s->n_parts;
    pthread_mutex_lock(&s->parts_mu);
    int n = partitions_learn(s, e);
    pthread_mutex_unlock(&s->parts_mu);
    return n;
}

/* The topic's partition count from the brokers' metadata, once; under parts_mu. */
static int partitions_learn(conn_kafka_source *s, sp_err *e)
{
    if (s->n_parts > 0) return s->n_parts;
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t err = rd_kafka_metadata(s->rk, 0, s->rkt, &md, CONN_KAFKA_TIMEOUT_MS);
    if (err) {
        conn_kafka_err(e, "metadata", rd_kafka_err2str(err));
        return failed(s, e);
    }
    int32_t n = md->topic_cnt == 1 && !md->topics[0].err ? md->topics[0].partition_cnt : 0;
    rd_kafka_resp_err_t terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_NO_ERROR;
    rd_kafka_metadata_destroy(md);
    if (n <= 0) {
        sp_err_set(e, 404, "ResourceNotFoundException", "Kafka topic '%s' is not available: %s",
                   s->cfg.topic, terr ? rd_kafka_err2str(terr) : "no partitions");
        return failed(s, e);
    }
    s->parts = calloc((size_t)n, sizeof *s->parts);
    for (int32_t p = 0; p < n; p++) s->parts[p].last_data = -1;
    s->n_parts = n; /* published after the array is filled */
    return n;
}

/* Puts partition p's fetcher at offset off. */
static bool position(conn_kafka_source *s, int32_t p, int64_t off, sp_err *e)
{
    part *pt = &s->parts[p];
    if (pt->started && pt->next == off) return true;
    if (pt->held) rd_kafka_message_destroy(pt->held);
    pt->held = NULL;
    if (pt->started) rd_kafka_consume_stop(s->rkt, p);
    pt->started = false;
    if (rd_kafka_consume_start(s->rkt, p, off) == -1) {
        conn_kafka_err(e, "consume_start", rd_kafka_err2str(rd_kafka_last_error()));
        return false;
    }
    pt->started = true;
    pt->next = off;
    pt->last_data = off; /* everything up to position off is behind the fetcher */
    pt->at_eof = false;
    return true;
}

/* The partition's end as the fetcher last saw it (read_committed: the last stable offset). */
static int64_t high_mark(conn_kafka_source *s, int32_t p)
{
    int64_t lo = -1, hi = -1;
    if (rd_kafka_get_watermark_offsets(s->rk, s->cfg.topic, p, &lo, &hi) || hi < 0) return -1;
    return hi;
}

/* Whether partition pt, whose end is hi, may hold records past what was read. A transaction's
 * commit marker takes an offset of its own, so a partition read to its end still has
 * hi > next; only an end past where the fetcher last reached it is news. */
static bool part_has_more(const part *pt, int64_t hi)
{
    return hi > pt->next && !(pt->at_eof && hi <= pt->eof_at);
}

long conn_kafka_source_read(void *src, int partition, uint64_t after, size_t max,
                            size_t max_bytes, stm_record_fn fn, void *arg, sp_err *e)
{
    conn_kafka_source *s = src;
    if (conn_kafka_source_partitions(s, e) < 0) return -1;
    if (partition < 0 || partition >= s->n_parts) {
        sp_err_internal(e, "Kafka topic '%s' has no partition %d", s->cfg.topic, partition);
        return -1;
    }
    part *pt = &s->parts[partition];
    if (!position(s, partition, (int64_t)after, e)) return failed(s, e);
    long got = 0;
    size_t bytes = 0;
    /* Wait for records only when the partition is known to hold some past `after`: right
     * after a (re)positioning, for a redo, and when its end moved since the fetcher last
     * reached it (waiting at a commit marker would cost every idle partition the whole wait
     * on every round). */
    int64_t hi = high_mark(s, partition);
    int wait_ms = hi < 0 || part_has_more(pt, hi) ? SOURCE_READ_WAIT_MS : 0;
    while ((size_t)got < max) {
        rd_kafka_message_t *m = pt->held;
        pt->held = NULL;
        if (!m) m = rd_kafka_consume(s->rkt, partition, got ? 0 : wait_ms);
        if (!m) break;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            pt->at_eof = true;
            pt->eof_at = m->offset;
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err) {
            conn_kafka_err(e, "consume", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            return failed(s, e);
        }
        if (got > 0 && bytes + m->len > max_bytes) {
            pt->held = m;
            break;
        }
        pt->at_eof = false;
        char seq[CONN_KAFKA_POS_DIGITS_MAX + 1];
        conn_kafka_pos_format((uint64_t)m->offset, seq);
        rd_kafka_timestamp_type_t tt;
        int64_t ts = rd_kafka_message_timestamp(m, &tt);
        char *key = m->key ? strndup(m->key, m->key_len) : NULL;
        stm_record rec = {.shard_index = partition, .seq = (uint64_t)m->offset + 1,
                          .seq_str = seq, .arrival_ms = ts >= 0 ? ts : sp_clock_wall_ms(),
                          .partition_key = key ? key : "", .data = m->payload, .len = m->len};
        pt->next = m->offset + 1;
        pt->last_data = m->offset + 1;
        bool more = fn(arg, &rec);
        free(key);
        rd_kafka_message_destroy(m);
        got++;
        bytes += rec.len;
        if (!more) break;
    }
    s->delivered += (uint64_t)got;
    conn_kafka_book_records(&s->book, (uint64_t)got);
    int64_t lag = 0;
    for (int32_t p = 0; p < s->n_parts; p++) {
        int64_t h = high_mark(s, p);
        if (s->parts[p].started && part_has_more(&s->parts[p], h)) lag += h - s->parts[p].next;
    }
    conn_kafka_book_lag(&s->book, lag);
    return got;
}

/* The sum of the partitions' ends plus what was delivered: it moves when anything arrives. */
static uint64_t generation(conn_kafka_source *s)
{
    uint64_t g = s->delivered;
    for (int32_t p = 0; p < s->n_parts; p++) {
        int64_t h = high_mark(s, p);
        if (h > 0) g += (uint64_t)h;
    }
    return g;
}

uint64_t conn_kafka_source_wait(void *src, uint64_t seen, int timeout_ms)
{
    conn_kafka_source *s = src;
    uint64_t g = generation(s);
    for (int waited = 0; g == seen && waited < timeout_ms; waited += SOURCE_POLL_MS) {
        sp_sleep_ms(SOURCE_POLL_MS);
        g = generation(s);
    }
    return g;
}

uint64_t conn_kafka_source_end(void *src, int partition)
{
    conn_kafka_source *s = src;
    /* Never below the truth: the runner takes a checkpoint past the end for an emptied log. */
    if (partition < 0 || partition >= s->n_parts) return UINT64_MAX;
    part *pt = &s->parts[partition];
    int64_t hi = high_mark(s, partition), lo;
    if (hi < 0 && rd_kafka_query_watermark_offsets(s->rk, s->cfg.topic, partition, &lo, &hi,
                                                   CONN_KAFKA_TIMEOUT_MS))
        return UINT64_MAX;
    /* At the end the last record read is the end (with transactions the partition's last
     * offsets may be commit markers, which are never records). */
    if (pt->started && !pt->held && !part_has_more(pt, hi) && pt->last_data >= 0)
        return (uint64_t)pt->last_data;
    return hi > 0 ? (uint64_t)hi : 0;
}

void conn_kafka_source_commit(void *src, int partition, uint64_t pos)
{
    conn_kafka_source *s = src;
    if (pos == 0) return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, s->cfg.topic, partition)->offset = (int64_t)pos;
    rd_kafka_resp_err_t err = rd_kafka_commit(s->rk, l, 1);
    rd_kafka_topic_partition_list_destroy(l);
    if (err) {
        sp_err e = {0};
        conn_kafka_err(&e, "offset commit", rd_kafka_err2str(err));
        conn_kafka_book_error(&s->book, &e);
    }
}

void conn_kafka_source_checkpointed(void *src, const uint64_t *checkpoint, int n)
{
    conn_kafka_source *s = src;
    for (int p = 0; p < n && p < s->n_parts; p++)
        if (checkpoint[p] != s->parts[p].committed) {
            conn_kafka_source_commit(s, p, checkpoint[p]);
            s->parts[p].committed = checkpoint[p];
        }
}

void conn_kafka_source_stats(conn_kafka_source *s, conn_kafka_stats *out)
{
    conn_kafka_book_get(&s->book, out);
}

json_t *conn_kafka_source_health(void *src)
{
    conn_kafka_source *s = src;
    conn_kafka_stats st;
    conn_kafka_book_get(&s->book, &st);
    return conn_kafka_stats_json(&st, &s->cfg, true);
}
