/* stream: Kinesis Data Streams as a durable, sharded, append-only log.
 *
 * Each shard is a sequence of segment files under <dir>/<stream>/<shard>/; a record is framed
 * with length, CRC32C, sequence number, arrival time, partition key, explicit hash key, an
 * optional origin tag and the data. The Kinesis JSON 1.1 API is the operation table
 * stm_kinesis_ops; in-process producers (the pipe) and consumers (delivery) use the calls
 * below without HTTP.
 *
 * Origins make producers idempotent: a producer that tags its records with (origin name,
 * origin position) can ask, after a crash, the highest position of its own that each shard
 * holds, and skip what is already there. The log keeps these high-water marks durable with
 * the records (recovered on open).
 *
 * On disk (under the dir given to stm_log_open): .streams.json (streams, shards with hash
 * ranges and parent/child lineage, retention, storage policy; replaced atomically),
 * <stream>/.checkpoints.json, and per shard <stream>/<shard-id>/<first-seq>.seg segment
 * files with a header carrying the shard's origin highs as of that segment, plus a .idx
 * sparse index beside each sealed segment (rebuilt if missing). Opening scans only each
 * shard's last segment. Retention deletes whole segments whose newest record is older than
 * the stream's retention period (checked on open and every minute).
 *
 * Sequence numbers are 40-digit decimal strings "49" + stream creation seconds (10 digits)
 * + shard index (8) + position (20): fixed width, so they order the same as strings and as
 * numbers, and they decode back to (shard, position).
 *
 * Thread safety: a stm_log may be used from any number of threads at once.
 */
#ifndef SP_STREAM_H
#define SP_STREAM_H

#include "core/config.h"
#include "core/core.h"

typedef struct stm_log stm_log;

/* Opens (creating) the log under dir, recovering every shard (a torn tail is cut at the last
 * good record and logged). Caller closes with stm_log_close, which syncs. With durability
 * SP_DURABILITY_FSYNC every stream whose configuration does not say otherwise fsyncs each
 * group commit before PutRecord(s) answers (fsync: batch); RELAXED defaults to fsync: interval. */
stm_log *stm_log_open(const char *dir, sp_durability durability, sp_err *e);
void stm_log_close(stm_log *log);

/* Account-level behaviour of the Kinesis API, set once after stm_log_open (before serving). */
typedef struct stm_log_options {
    /* Open shards across all streams (Kinesis's per-account shard quota); 0: the default,
     * STM_ACCOUNT_SHARDS_DEFAULT. CreateStream, SplitShard and UpdateShardCount refuse to
     * go beyond it with LimitExceededException. */
    long long account_shard_limit;
    /* How long a stream made through the API is CREATING, a resharded one UPDATING, a
     * deleted one DELETING (server.status_transition_ms); 0: ACTIVE / gone at once. */
    long long status_transition_ms;
} stm_log_options;

void stm_log_set_options(stm_log *log, const stm_log_options *o);

/* Creates the configured stream if it does not exist. An existing one keeps its shards and
 * retention (those belong to the API: SplitShard, IncreaseStreamRetentionPeriod, ...); its
 * storage settings (fsync, fsync_interval_ms, segment_mb) follow the configuration. cfg is
 * borrowed. */
bool stm_stream_ensure(stm_log *log, const sp_cfg_stream *cfg, sp_err *e);

/* The configuration check of one streams[] entry (an sp_cfg_check_fn over sp_cfg_stream):
 * shard_count within 1..STM_SHARDS_PER_STREAM_MAX. */
bool stm_config_check(const void *stream_cfg, const char **key, sp_err *e);

/* Kinesis_20131202.* operations; ctx is the stm_log. */
extern const sp_op stm_kinesis_ops[];
/* The fast paths of stm_kinesis_ops (PutRecords' common shape, stm_scan_put.c). */
extern const sp_raw_op stm_kinesis_raw_ops[];

/* ---- shards ----------------------------------------------------------------------------- */

enum {
    /* Kinesis: open shards per stream (the default account quota salespipe mirrors). The ONE
     * shard limit of the program: CreateStream, SplitShard and the configuration's
     * streams[].shard_count are checked against it, and every stage that reads a stream sizes
     * its per-shard state from the stream's actual shard count (never a smaller array). */
    STM_SHARDS_PER_STREAM_MAX = 1024,
    /* Open and closed shards together (lineage kept after splits and merges). */
    STM_SHARDS_WITH_LINEAGE_MAX = STM_SHARDS_PER_STREAM_MAX * 8,
    STM_SHARD_ID_MAX = 32,
    STM_SEQ_STR_MAX = 64,
    /* Kinesis's default shard quota per account in us-east-1 (also us-west-2, eu-west-1;
     * 200 in the other regions): stm_log_options.account_shard_limit's default. */
    STM_ACCOUNT_SHARDS_DEFAULT = 500,
};

typedef struct stm_shard_info {
    int index;                       /* stable position in the stream's shard list */
    char shard_id[STM_SHARD_ID_MAX]; /* "shardId-000000000000" */
    bool open;                       /* false once split or merged */
    uint64_t last_seq;               /* highest record position in the shard, 0 if empty */
} stm_shard_info;

/* Fills up to max shards (open and closed) in index order; returns how many the stream has,
 * or -1 with e set (404 ResourceNotFoundException). */
int stm_shard_list(stm_log *log, const char *stream, stm_shard_info *out, int max, sp_err *e);
/* The highest record position in shard shard_index (0 if empty, or if the stream or shard
 * does not exist). O(1): for consumers that check many shards. */
uint64_t stm_shard_end(stm_log *log, const char *stream, int shard_index);
/* The shard's parents after a split or merge (parents[0] the parent, parents[1] the adjacent
 * parent of a merge), -1 where there is none; false if the stream or shard does not exist.
 * A reader that keeps order per key reads a child only once its parents are drained. */
bool stm_shard_parents(stm_log *log, const char *stream, int shard_index, int parents[2]);

/* ---- producers -------------------------------------------------------------------------- */

typedef struct stm_put {
    const char *partition_key;     /* 1..256 chars */
    const char *explicit_hash_key; /* decimal 128-bit, or NULL: MD5 of the partition key */
    const void *data;
    size_t len;
    const char *origin;            /* producer tag (<= 64 chars), or NULL */
    uint64_t origin_pos;           /* the producer's position of this record */
} stm_put;

typedef struct stm_put_result {
    int shard_index;
    uint64_t seq;                  /* position within the shard */
    char seq_str[STM_SEQ_STR_MAX]; /* Kinesis SequenceNumber */
} stm_put_result;

/* Appends n records, each to the shard its hash key falls in, preserving their order per
 * shard; group-committed (one write and at most one fsync per shard, per the stream's fsync
 * policy). All or nothing is not promised across shards; per record, out[i] says where it
 * went. Returns false with e set on failure (then out[] of records already written is
 * filled and *written says how many, in input order; out[i].seq_str is "" for every record
 * that was not written). recs and out are borrowed; nothing is kept after the call.
 *
 * Durability (the stream's `fsync` setting): `batch` fdatasyncs the shard's segment before
 * the call returns (and before readers can see the records); `interval` returns once the
 * records are written to the file and a background thread fdatasyncs every
 * fsync_interval_ms (a power loss may lose that window; a process crash loses nothing);
 * `none` leaves it to the kernel (and to stm_log_close). Under `batch` a failed fdatasync
 * fails the call with 500 InternalFailure, publishes nothing of that group commit, and the
 * shard refuses appends until the log is reopened. */
bool stm_put_records(stm_log *log, const char *stream, const stm_put *recs, size_t n,
                     stm_put_result *out, size_t *written, sp_err *e);
/* stm_put_records for callers that keep positions only (the pipe): out[i].shard_index and
 * out[i].seq are filled, out[i].seq_str stays "" (formatting it is ~3 % of a drain). */
bool stm_put_records_positions(stm_log *log, const char *stream, const stm_put *recs, size_t n,
                               stm_put_result *out, size_t *written, sp_err *e);
/* The shard a partition key (or explicit hash key) maps to among the open shards. */
int stm_shard_for_key(stm_log *log, const char *stream, const char *partition_key,
                      const char *explicit_hash_key, sp_err *e);
/* Highest origin_pos appended to the shard with this origin tag; 0 if none. */
uint64_t stm_origin_position(stm_log *log, const char *stream, int shard_index,
                             const char *origin);

/* ---- consumers -------------------------------------------------------------------------- */

typedef struct stm_record {
    int shard_index;
    uint64_t seq;
    const char *seq_str;
    int64_t arrival_ms;
    const char *partition_key;
    const void *data;
    size_t len;
} stm_record;

/* Return false to stop early. Everything in rec is borrowed for the callback's duration. */
typedef bool (*stm_record_fn)(void *arg, const stm_record *rec);

/* Calls fn for up to max records (and about max_bytes of data) of the shard with
 * seq > after_seq, in order. Returns the number delivered or -1 with e set. */
long stm_shard_read(stm_log *log, const char *stream, int shard_index, uint64_t after_seq,
                    size_t max, size_t max_bytes, stm_record_fn fn, void *arg, sp_err *e);
/* Waits until any shard of the stream gets a record after the given generation or timeout;
 * returns the stream's current append generation (a counter bumped by every append). */
uint64_t stm_stream_wait(stm_log *log, const char *stream, uint64_t seen_generation,
                         int timeout_ms);

/* Durable per-consumer checkpoints kept with the log. */
bool stm_checkpoint_set(stm_log *log, const char *stream, const char *consumer, int shard_index,
                        uint64_t seq, sp_err *e);
uint64_t stm_checkpoint_get(stm_log *log, const char *stream, const char *consumer,
                            int shard_index);

#endif
