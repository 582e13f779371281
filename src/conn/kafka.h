/* conn/kafka: Kafka as a pipe target and as a delivery source, through librdkafka.
 *
 * The target implements the pipe's hand-off contract (pip_io's dst_* in src/pipe/pipe_int.h):
 * a batch is produced in one Kafka transaction by an idempotent producer whose
 * transactional.id is per pipe; every record carries the pipe name and the source position
 * in headers (CONN_KAFKA_HDR_ORIGIN, CONN_KAFKA_HDR_POS), and the highest source position a
 * partition holds is read back from the partition's last visible record (read_committed)
 * after init_transactions has settled any transaction a previous (killed) producer left open.
 * So the target itself remembers what it holds, as the embedded log does.
 *
 * The source implements the delivery's dlv_source contract: partitions are shards, a
 * record's position is its offset + 1 (0: before the first record), reads are
 * read_committed, partitions are assigned explicitly and positioned from the delivery's own
 * checkpoint (state.c stays the truth); offsets are also committed to the group for
 * visibility in Kafka tools.
 *
 * Thread contract: a target or a source is used by one thread at a time (the runner that owns
 * it); conn_kafka_*_stats may be called from any thread.
 */
#ifndef SP_CONN_KAFKA_H
#define SP_CONN_KAFKA_H

#include "core/core.h"
#include "stream/stream.h"

/* Kafka's own limits (kafka/common/internals/Topic.java). */
enum {
    CONN_KAFKA_TOPIC_MAX = 249,
    CONN_KAFKA_BROKERS_MAX = 4096,
    CONN_KAFKA_GROUP_MAX = 255,
    CONN_KAFKA_ORIGIN_MAX = 64,      /* = the pipe name limit */
    CONN_KAFKA_POS_DIGITS_MAX = 20,  /* a uint64 in decimal */
};

/* Record headers written by the target, read back by it and by nobody else. */
#define CONN_KAFKA_HDR_ORIGIN "salespipe-origin"
#define CONN_KAFKA_HDR_POS "salespipe-position"

/* {kind: kafka, brokers: "host:port,...", topic: T, group?: G} as configured. */
typedef struct conn_kafka_config {
    char *brokers;
    char *topic;
    char *group;                     /* source only; NULL: "salespipe-<delivery stream>" */
} conn_kafka_config;

/* Validates a `target:` (source false) or `source:` (source true) mapping (borrowed) and
 * fills out (owned: conn_kafka_config_clear). false with a message naming the key, and *key
 * set to it ("brokers") or NULL for the whole mapping. */
bool conn_kafka_config_parse(const json_t *map, bool source, conn_kafka_config *out,
                             const char **key, sp_err *e);
void conn_kafka_config_clear(conn_kafka_config *c);

/* The position header's value: decimal digits only, no sign, no leading zero (but "0"),
 * at most UINT64_MAX. false for anything else. val is borrowed, not NUL-terminated. */
bool conn_kafka_pos_parse(const void *val, size_t len, uint64_t *out);
/* Writes pos in that form into buf (at least CONN_KAFKA_POS_DIGITS_MAX + 1); returns length. */
size_t conn_kafka_pos_format(uint64_t pos, char *buf);

/* What status and the metrics show of a connector. */
typedef struct conn_kafka_stats {
    uint64_t records;                /* produced (target) or read (source) */
    uint64_t errors;
    int64_t lag;                     /* source: records the partitions hold beyond what was
                                      * read; target: -1 (the pipe's own lag says it) */
    char last_error[SP_ERR_MSG_MAX]; /* "" if none yet */
} conn_kafka_stats;

/* The connectors' health as every remote stage shows it in status and /metrics (conn.h's
 * conn_health_json shape: kind, endpoint, errors, last_error, records) plus topic and, for a
 * source, lag_records. New reference. */
json_t *conn_kafka_stats_json(const conn_kafka_stats *s, const conn_kafka_config *cfg,
                              bool source);

/* ---- the pipe target ------------------------------------------------------------------ */

typedef struct conn_kafka_target conn_kafka_target;

/* A target for pipe (its name: transactional.id "salespipe-<pipe>", origin header). Connects
 * lazily, so a broker that is down at start only delays the pipe. cfg is copied. Caller owns:
 * conn_kafka_target_destroy. */
conn_kafka_target *conn_kafka_target_new(const conn_kafka_config *cfg, const char *pipe,
                                         sp_err *e);
void conn_kafka_target_destroy(conn_kafka_target *t);
/* pip_io.dst_put: produces recs in one transaction, each to the partition its key maps to
 * (murmur2, Kafka's default partitioner), all or nothing: on failure *written is 0 and e
 * carries the broker's message. out[i].shard_index is the partition, out[i].seq the offset + 1.
 * dst is the target; topic must be its topic. */
bool conn_kafka_target_put(void *dst, const char *topic, const stm_put *recs, size_t n,
                           stm_put_result *out, size_t *written, sp_err *e);
/* pip_io.dst_shard_for_key: the partition of a key, or -1 with e set. */
int conn_kafka_target_partition(void *dst, const char *topic, const char *key, sp_err *e);
/* pip_io.dst_origin_position: the highest source position of origin held by the partition.
 * When it cannot be read it answers 0 and the target refuses puts to that partition until a
 * later read succeeds, so a wrong answer can never lead to a duplicate. */
uint64_t conn_kafka_target_origin_position(void *dst, const char *topic, int partition,
                                           const char *origin);
void conn_kafka_target_stats(conn_kafka_target *t, conn_kafka_stats *out);
/* conn_kafka_stats_json of the target (new reference); any thread. */
json_t *conn_kafka_target_health(void *dst);

/* ---- the delivery source -------------------------------------------------------------- */

typedef struct conn_kafka_source conn_kafka_source;

/* A source for delivery stream name. cfg copied. Caller owns: conn_kafka_source_destroy. */
conn_kafka_source *conn_kafka_source_new(const conn_kafka_config *cfg, const char *name,
                                         sp_err *e);
void conn_kafka_source_destroy(void *src);
/* dlv_source.shard_count: the topic's partition count, or -1 with e set. */
int conn_kafka_source_partitions(void *src, sp_err *e);
/* dlv_source.read: up to max records (about max_bytes) of partition after position after,
 * in offset order; waits briefly for records the partition is known to hold. */
long conn_kafka_source_read(void *src, int partition, uint64_t after, size_t max,
                            size_t max_bytes, stm_record_fn fn, void *arg, sp_err *e);
/* dlv_source.wait: returns a generation that changes when any partition grows. */
uint64_t conn_kafka_source_wait(void *src, uint64_t seen, int timeout_ms);
/* dlv_source.end: the position just past the partition's last readable record. */
uint64_t conn_kafka_source_end(void *src, int partition);
/* Commits pos (everything <= pos delivered) of partition to the group, for visibility only
 * (asynchronous; failures are counted, not returned). */
void conn_kafka_source_commit(void *src, int partition, uint64_t pos);
/* dlv_source.checkpointed: the runner made checkpoint[0..n) durable; each partition whose
 * checkpoint moved is committed to the group (conn_kafka_source_commit). */
void conn_kafka_source_checkpointed(void *src, const uint64_t *checkpoint, int n);
void conn_kafka_source_stats(conn_kafka_source *s, conn_kafka_stats *out);
/* conn_kafka_stats_json of the source (new reference); any thread. */
json_t *conn_kafka_source_health(void *src);

#endif
