/* conn/kafka internals shared by the target and the source: librdkafka configuration, the
 * error bookkeeping behind conn_kafka_stats. Private to src/conn/kafka_*.c. */
#ifndef SP_CONN_KAFKA_INT_H
#define SP_CONN_KAFKA_INT_H

#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>

enum {
    CONN_KAFKA_ERRSTR_MAX = 512,
    CONN_KAFKA_TIMEOUT_MS = 10000,       /* one broker round trip we wait for */
    CONN_KAFKA_TXN_TIMEOUT_MS = 30000,   /* init/commit/abort of a transaction */
};

/* Counters and the last error, shared with the status thread. */
typedef struct conn_kafka_book {
    pthread_mutex_t mu;
    conn_kafka_stats s;
} conn_kafka_book;

void conn_kafka_book_init(conn_kafka_book *b);
void conn_kafka_book_clear(conn_kafka_book *b);
/* Counts an error and keeps e's message as the last one. */
void conn_kafka_book_error(conn_kafka_book *b, const sp_err *e);
void conn_kafka_book_records(conn_kafka_book *b, uint64_t n);
void conn_kafka_book_lag(conn_kafka_book *b, int64_t lag);
void conn_kafka_book_get(conn_kafka_book *b, conn_kafka_stats *out);

/* A new configuration with bootstrap.servers and the given (key, value) pairs
 * (NULL-terminated); NULL with e set if librdkafka refuses one. Caller owns. */
rd_kafka_conf_t *conn_kafka_conf_new(const char *brokers, const char *const *pairs, sp_err *e);

/* librdkafka's log lines, routed to sp_log (its errors as warnings, the rest as debug). */
void conn_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/* Sets e (503, retriable) to "Kafka <what>: <librdkafka's message>". */
void conn_kafka_err(sp_err *e, const char *what, const char *msg);

#endif
