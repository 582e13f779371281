/* A Kafka topic as a runner's source (conn/kafka.h does the work): partitions are shards,
 * positions are offset + 1, and the runner's durable checkpoints are committed to the
 * consumer group for visibility. */
#include "dlv_int.h"

dlv_source dlv_kafka_source(conn_kafka_source *k)
{
    return (dlv_source){.ctx = k, .shard_count = conn_kafka_source_partitions,
                        .read = conn_kafka_source_read, .wait = conn_kafka_source_wait,
                        .end = conn_kafka_source_end, .destroy = conn_kafka_source_destroy,
                        .arn = NULL, .committed = conn_kafka_source_commit};
}
