/* delivery internals shared between the files of src/delivery/: the definition of a delivery
 * stream, the record as it travels through processors, the processor class, key rendering,
 * buffering decisions, compression, the Direct PUT log, the durable state with its intent and
 * the runner. Not for use outside the module (tests included through this header). */
#ifndef DLV_INT_H
#define DLV_INT_H

#include "core/hist.h"
#include "delivery.h"

#include <pthread.h>

/* ---- AWS limits and defaults (Firehose developer guide / API reference) ------------------- */
enum {
    DLV_BUFFER_MB_MIN = 1, DLV_BUFFER_MB_MAX = 128, DLV_BUFFER_MB_DEFAULT = 5,
    DLV_INTERVAL_S_MIN = 0, DLV_INTERVAL_S_MAX = 900, DLV_INTERVAL_S_DEFAULT = 300,
    DLV_BATCH_MAX_RECORDS = 500,                 /* PutRecordBatch */
    DLV_BATCH_MAX_BYTES = 4 * 1024 * 1024,       /* PutRecordBatch request, 4 MiB */
    DLV_RECORD_MAX_BYTES = 1000 * 1024,          /* one record, 1000 KiB */
    DLV_NAME_MAX = 64,                           /* DeliveryStreamName 1..64 [a-zA-Z0-9_.-] */
    DLV_PREFIX_MAX = 1024,                       /* Prefix / ErrorOutputPrefix */
    DLV_LAMBDA_PAYLOAD_MAX = 6 * 1024 * 1024,    /* Lambda synchronous invocation payload */
    DLV_LAMBDA_RETRIES_DEFAULT = 3,
    DLV_LAMBDA_TIMEOUT_S_DEFAULT = 60,
    DLV_PARTITION_KEY_MAX = 512,                 /* a rendered partition key value */
    DLV_KEY_MAX = 1024,                          /* S3 object key */
};
#define DLV_VERSION "1"                          /* <stream name>-<version>- in object keys */
enum {
    DLV_TAGS_MAX = 50,                           /* tags per delivery stream */
    DLV_TAG_KEY_MAX = 128, DLV_TAG_VALUE_MAX = 256,
};
#define DLV_REGION "us-east-1"
#define DLV_ACCOUNT "000000000000"

/* ---- definition ----------------------------------------------------------------------------- */

typedef enum { DLV_COMP_NONE, DLV_COMP_GZIP, DLV_COMP_ZSTD } dlv_compression;

/* Record format conversion settings (convert.c), parsed from the destination's
 * DataFormatConversionConfiguration; NULL on a definition when it is absent or disabled. */
typedef struct dlv_conversion dlv_conversion;

/* A delivery stream as configured or created through the API. Everything owned. */
typedef struct dlv_def {
    char *name;
    char *source_stream;        /* the embedded Kinesis stream read; NULL: Direct PUT or remote */
    char *bucket;
    char *prefix;               /* "" = Firehose default */
    char *error_prefix;         /* "" = Firehose default */
    long long size_mb;
    long long interval_s;
    dlv_compression compression;
    bool append_delimiter;
    json_t *processors;         /* normalised chain [{type:..., ...}] (never NULL) */
    int64_t created_ms;
    int64_t updated_ms;         /* last UpdateDestination; 0: never */
    long long version;          /* VersionId: 1 at creation, +1 per UpdateDestination */
    bool from_api;              /* persisted under <dir>/streams/ */
    json_t *destination;        /* ExtendedS3DestinationConfiguration as described (never NULL) */
    dlv_conversion *conversion; /* from destination.DataFormatConversionConfiguration, or NULL */
    json_t *sink;               /* the configuration's destination ({kind: s3, ...}), or NULL:
                                 * the embedded lake */
    json_t *remote_source;      /* the configuration's source ({kind: kinesis|kafka, ...}), or
                                 * NULL */
} dlv_def;

/* From the configuration (processors copied, dynamic_partitioning appended as a metadata
 * processor). Caller frees with dlv_def_free. */
dlv_def *dlv_def_from_config(const sp_cfg_delivery *cfg, sp_err *e);
/* From a CreateDeliveryStream request (validated: 400 InvalidArgumentException). */
dlv_def *dlv_def_from_request(const json_t *req, sp_err *e);
/* Every rule of a definition being made (what CreateDeliveryStream checks). */
bool dlv_def_validate(dlv_def *d, sp_err *e);
/* UpdateDestination: a new definition, cur with the destination update applied (borrowed),
 * validated as a create is; NULL with 400 InvalidArgumentException. Caller frees. */
dlv_def *dlv_def_update(const dlv_def *cur, const json_t *update, sp_err *e);
/* Persistent form and back (round trip of dlv_def_from_request's result). New ref / owned. */
json_t *dlv_def_to_json(const dlv_def *d);
dlv_def *dlv_def_from_json(const json_t *j, sp_err *e);
/* DeliveryStreamDescription for DescribeDeliveryStream. New ref. */
json_t *dlv_def_describe(const dlv_def *d);
void dlv_def_free(dlv_def *d);
bool dlv_compression_parse(const char *name, dlv_compression *out);
const char *dlv_compression_name(dlv_compression c);
/* Object-name extension of a compression: "", ".gz", ".zst". */
const char *dlv_compression_ext(dlv_compression c);
bool dlv_name_valid(const char *name);
/* VersionId of d (1 for a definition that never had one). */
long long dlv_def_version(const dlv_def *d);

/* ---- tags (tags.c) -------------------------------------------------------------------------- */

/* A stream's tags, {"key": "value"}, kept in <stream dir>/tags.json. load: a new object ({}
 * when there is none). save: atomic. The caller serialises changes (the service's
 * update_mu). */
json_t *dlv_tags_load(const char *dir);
bool dlv_tags_save(const char *dir, const json_t *tags, sp_err *e);
/* Checks a Firehose Tag list ([{"Key","Value"}], borrowed; 1..DLV_TAGS_MAX) and merges it
 * into tags (changed). 400 InvalidArgumentException naming the bad tag. */
bool dlv_tags_merge(json_t *tags, const json_t *list, sp_err *e);
/* Checks a TagKey (1..128 characters of letters, digits, white space and _.:/=+-@%, not
 * starting with aws:). */
bool dlv_tag_key_valid(const char *key);

/* ---- record format conversion (convert.c) ------------------------------------------------ */

/* Firehose: with record format conversion the buffer size is at least 64 MiB. */
enum { DLV_CONVERSION_BUFFER_MB_MIN = 64 };
#define DLV_ERROR_TYPE_CONVERSION "format-conversion-failed"
#define DLV_ERR_CONVERSION "DataFormatConversion.MalformedData"
#define DLV_ERR_SCHEMA "DataFormatConversion.InvalidSchema"
#define DLV_PARQUET_EXT ".parquet"

/* Validates a DataFormatConversionConfiguration (borrowed; NULL or Enabled false: *out NULL)
 * with 400 InvalidArgumentException naming the member; OrcSerDe is refused naming what is
 * supported. Caller frees *out. */
bool dlv_conversion_parse(const json_t *dfcc, dlv_conversion **out, sp_err *e);
void dlv_conversion_free(dlv_conversion *c);
const char *dlv_conversion_database(const dlv_conversion *c);
const char *dlv_conversion_table(const dlv_conversion *c);
/* The schema table a configuration's `format: parquet` uses when schema_table is empty:
 * "<stream>_schema", lower case, '-' and '.' as '_'. */
void dlv_default_schema_table(const char *stream, char *out, size_t size);
/* The warning about Firehose's 64 MiB minimum buffer for conversion, or NULL. Static text. */
const char *dlv_conversion_buffer_warning(const dlv_def *d);

/* One Parquet object being made from records. */
typedef struct dlv_converter dlv_converter;
/* For schema columns [[name, glue type], ...] (borrowed); c borrowed for the converter's life.
 * NULL with e set when a column type cannot be written. */
dlv_converter *dlv_converter_new(const dlv_conversion *c, const json_t *columns, sp_err *e);
/* Adds one record (JSON text); false with e naming the problem (the record is not added). */
bool dlv_converter_add(dlv_converter *v, const char *data, size_t len, sp_err *e);
size_t dlv_converter_rows(const dlv_converter *v);
/* The object's bytes (caller frees); the converter is spent. */
char *dlv_converter_finish(dlv_converter *v, size_t *len, sp_err *e);
void dlv_converter_destroy(dlv_converter *v);

/* ---- records -------------------------------------------------------------------------------- */

typedef enum { DLV_REC_OK, DLV_REC_DROPPED, DLV_REC_FAILED } dlv_result;

enum { DLV_ERR_CODE_MAX = 64, DLV_SEQ_MAX = 64 };

/* !{firehose:error-output-type} of a record whose object key could not be made (dynamic
 * partitioning failures), and the errorCode of its error record. */
#define DLV_ERROR_TYPE_PARTITIONING "partitioning-failed"
/* The record's partition object holds a Lambda's metadata.partitionKeys under this prefix
 * (the MetadataExtraction keys under their plain names), so the two namespaces of a prefix
 * (!{partitionKeyFromLambda:k} / !{partitionKeyFromQuery:k}) never read each other's keys. */
#define DLV_LAMBDA_KEY_PREFIX "partitionKeyFromLambda:"
#define DLV_ERR_INVALID_PREFIX "DynamicPartitioning.InvalidPrefix"
#define DLV_ERR_INVALID_KEY "DynamicPartitioning.InvalidObjectKey"

/* A record on its way through the processors. raw is what was read from the source; data is
 * the current output (replaced by each processor). All pointers owned by the record. */
typedef struct dlv_rec {
    int shard;
    uint64_t seq;
    char seq_str[DLV_SEQ_MAX];
    int64_t arrival_ms;
    char *partition_key;        /* the source's partition key ("" for Direct PUT) */
    char *raw;
    size_t raw_len;
    char *data;
    size_t len;
    dlv_result result;
    int attempts;
    char err_code[DLV_ERR_CODE_MAX];
    char *err_msg;
    const char *error_type;     /* !{firehose:error-output-type} of a failure (static) */
    char *lambda_arn;           /* set when a lambda failed the record */
    json_t *partition;          /* {name: string} from metadata extraction, or NULL */
} dlv_rec;

/* Replaces the record's output (takes a copy). */
void dlv_rec_set_data(dlv_rec *r, const void *data, size_t len);
/* Marks the record failed with an error code and message (error type processing-failed). */
void dlv_rec_fail(dlv_rec *r, const char *code, const char *fmt, ...) SP_PRINTF(3, 4);
void dlv_rec_clear(dlv_rec *r);

/* ---- processors ----------------------------------------------------------------------------- */

/* What a processor may know about where it runs. Borrowed for the processor's lifetime. */
typedef struct dlv_proc_env {
    const char *stream_name;
    const char *stream_arn;
    const char *source_arn;     /* Kinesis stream ARN or NULL */
    const char *data_dir;       /* <data>/delivery/<stream>, the stream's own directory */
} dlv_proc_env;

/* A processor class; one static struct per file, listed in proc_registry.c. process() sets the
 * result of each OK record (replace data, drop or fail it) and never fails the batch as a
 * whole. Records that are not OK on entry are left alone. Must be deterministic for a given
 * input, or the redo of an intent writes different objects (see runner.c). */
typedef struct dlv_processor_class {
    const char *type;           /* "dynamodb-cdc", "jq", "lambda", "metadata" */
    const char *description;
    void *(*create)(const json_t *params, const dlv_proc_env *env, sp_err *e);
    void (*process)(void *self, dlv_rec *recs, size_t n);
    void (*destroy)(void *self);
} dlv_processor_class;

extern const dlv_processor_class dlv_proc_cdc;
extern const dlv_processor_class dlv_proc_jq;
extern const dlv_processor_class dlv_proc_lambda;
extern const dlv_processor_class dlv_proc_metadata;

const dlv_processor_class *dlv_processor_find(const char *type);

typedef struct dlv_chain dlv_chain;
/* Builds the chain from a normalised processors array (borrowed). env is borrowed. */
dlv_chain *dlv_chain_new(const json_t *processors, const dlv_proc_env *env, sp_err *e);
void dlv_chain_run(dlv_chain *c, dlv_rec *recs, size_t n);
void dlv_chain_destroy(dlv_chain *c);

/* The dynamodb-cdc transformation of one record, for tests and the fuzz target: returns the
 * output line (with '\n'; caller frees) or NULL with e set. */
char *dlv_cdc_transform(const char *data, size_t len, size_t *out_len, sp_err *e);
/* The same through an output tree dumped with sp_json_dump_shortest: the reference the line
 * written straight from the record must equal byte for byte (and the same errors). */
char *dlv_cdc_transform_tree(const char *data, size_t len, size_t *out_len, sp_err *e);
/* The line read straight from the record's text (core/json_scan.h), or NULL when that path
 * declines the record (then the jansson path below writes it, or fails): when not NULL it
 * equals what dlv_cdc_transform_jansson returns, byte for byte. */
char *dlv_cdc_transform_scan(const char *data, size_t len, size_t *out_len);
/* The line through jansson's tree only (line_emit, or the reference for merging records). */
char *dlv_cdc_transform_jansson(const char *data, size_t len, size_t *out_len, sp_err *e);
/* Unmarshals one DynamoDB attribute value ({"S":"x"}, {"N":"1"}, ...). New ref or NULL+e. */
json_t *dlv_cdc_unmarshal(const json_t *av, sp_err *e);

/* libjq behind a small interface: a compiled program run over JSON text, in a worker process
 * with a time budget per record and no access to the environment (jq.c). Not thread-safe: one
 * per processor instance. */
typedef struct dlv_jq dlv_jq;
enum { DLV_JQ_BUDGET_MS = 1000 };   /* one record's evaluation; past it the record fails */
/* Checks program's syntax (400 InvalidArgumentException with jq's message); the worker starts
 * on the first run. */
dlv_jq *dlv_jq_new(const char *program, sp_err *e);
/* Runs the program on the JSON text in; *outputs receives a new array of the outputs as
 * compact JSON text (strings). false with e when the input is not JSON, jq fails, or the
 * program exceeds its budget (then the worker is killed and the next run starts another). */
bool dlv_jq_run(dlv_jq *q, const char *in, size_t len, json_t **outputs, sp_err *e);
void dlv_jq_destroy(dlv_jq *q);

/* ---- keys and prefixes ---------------------------------------------------------------------- */

/* Everything a prefix can refer to. partition may be NULL. */
typedef struct dlv_key_ctx {
    int64_t time_ms;            /* approximate arrival of the oldest record in the object */
    const char *random;         /* !{firehose:random-string} (from the intent) */
    const char *error_type;     /* !{firehose:error-output-type}, NULL outside error output */
    const json_t *partition;    /* !{partitionKeyFromQuery:name} / FromLambda values */
    bool sample;                /* checking without data: partition keys render as "p" */
} dlv_key_ctx;

/* Renders a prefix with Firehose's namespaces into out. A prefix without any !{...} gets the
 * default "YYYY/MM/dd/HH/" appended (so "" renders as the default). Returns false with e set
 * (400 InvalidArgumentException) on an unknown namespace, a bad timestamp pattern or a
 * missing partition key. */
bool dlv_prefix_render(const char *prefix, const dlv_key_ctx *kc, sp_str *out, sp_err *e);
/* Checks a prefix's syntax without data. */
bool dlv_prefix_check(const char *prefix, bool error_output, sp_err *e);
/* Firehose's rules for a destination's Prefix and ErrorOutputPrefix, checked where a delivery
 * stream is defined (CreateDeliveryStream, UpdateDestination, the configuration): syntax and
 * namespaces (timestamp, firehose, partitionKeyFromQuery/-Lambda), at most DLV_PREFIX_MAX
 * characters, error-output-type only in ErrorOutputPrefix and required there when it has
 * expressions, ErrorOutputPrefix required when Prefix has expressions, partition keys in
 * Prefix exactly when dynamic partitioning is on; and each prefix, rendered with sample values
 * and the stream's object name, must be a key the lake accepts (lake_key_valid: no "." or
 * ".." or empty segment, no leading '/', no backslash or control character). On failure: 400
 * InvalidArgumentException and *field = "Prefix" or "ErrorOutputPrefix". stream may be NULL. */
bool dlv_prefixes_validate(const char *prefix, const char *error_prefix,
                           bool dynamic_partitioning, const char *stream, const char **field,
                           sp_err *e);
/* The error output prefix actually used: ErrorOutputPrefix, or Firehose's default
 * "processing-failed/YYYY/MM/dd/HH/" when it is empty. Renders into out. */
bool dlv_error_prefix_render(const char *error_prefix, const dlv_key_ctx *kc, sp_str *out,
                             sp_err *e);
/* "<name>-1-YYYY-MM-DD-HH-MM-SS-<uuid><ext>" appended to out. */
void dlv_key_suffix(sp_str *out, const char *stream, int64_t time_ms, const char *uuid,
                    const char *ext);
/* A uuid (8-4-4-4-12 hex) derived deterministically from seed and salt. out >= 37 bytes. */
void dlv_uuid_derive(const char *seed, const char *salt, char out[37]);
/* A fresh random uuid. */
void dlv_uuid_random(char out[37]);

/* ---- buffering ------------------------------------------------------------------------------ */

/* The decision of one moment: flush now, or wait at most wait_ms for more. */
typedef struct dlv_buffer_state {
    size_t bytes;               /* buffered */
    size_t records;
    uint64_t opened_ns;         /* monotonic time the first buffered record was read */
    bool source_drained;        /* the last read returned everything available */
    bool closing;               /* the service is stopping: flush what there is */
} dlv_buffer_state;

typedef struct dlv_buffer_decision {
    bool flush;
    int wait_ms;                /* when not flushing: how long to wait for more */
} dlv_buffer_decision;

dlv_buffer_decision dlv_buffer_decide(const dlv_buffer_state *b, long long size_mb,
                                      long long interval_s, uint64_t now_ns);
/* Read budget left before the size hint is reached. */
size_t dlv_buffer_room(const dlv_buffer_state *b, long long size_mb);

/* ---- compression ---------------------------------------------------------------------------- */

/* Compresses data into a new buffer (caller frees); NONE copies. NULL with e on failure. */
char *dlv_compress(dlv_compression c, const void *data, size_t len, size_t *out_len, sp_err *e);

/* ---- sources -------------------------------------------------------------------------------- */

/* Where a runner reads: the Direct PUT log or a Kinesis stream. Positions are opaque uint64
 * per shard, increasing; 0 is "before the first record". */
typedef struct dlv_source {
    void *ctx;
    int (*shard_count)(void *ctx, sp_err *e);
    long (*read)(void *ctx, int shard, uint64_t after, size_t max, size_t max_bytes,
                 stm_record_fn fn, void *arg, sp_err *e);
    uint64_t (*wait)(void *ctx, uint64_t seen, int timeout_ms);
    void (*destroy)(void *ctx);  /* frees ctx when the runner goes; NULL: borrowed */
    /* Optional (Direct PUT): the position just past the last record of the shard. */
    uint64_t (*end)(void *ctx, int shard);
    /* Optional (Direct PUT): when everything up to pos is consumed and the log is large,
     * empties it and, while appends are still held off, calls rebase(arg) so the consumer
     * restarts its checkpoint at 0. Returns whether it did. */
    bool (*compact)(void *ctx, uint64_t pos, bool (*rebase)(void *arg), void *arg);
    const char *arn;            /* source ARN for processors, NULL for Direct PUT */
    /* Optional (Kinesis after resharding): whether shard may be read now, given the reader's
     * last positions per shard (n of them): a child waits until its parents are drained, so
     * a key's records keep their order across a split or merge. */
    bool (*ready)(void *ctx, int shard, const uint64_t *read_pos, int n);
    /* Optional (remote sources): the runner made checkpoint[0..n) durable in its state
     * (state.c stays the truth, nothing here is read back by the runner). One hook for what
     * every remote source does with that news: positions below are never asked for again
     * (Kinesis prunes and writes its anchors), and the source's own tools may show it (Kafka
     * commits the moved partitions to the consumer group). Both are the same event, so there
     * is one hook (Kafka's former per-shard `committed` is this one). And the connector's
     * health for status (new ref), the same shape for every kind (conn_health_json's). */
    void (*checkpointed)(void *ctx, const uint64_t *checkpoint, int n);
    json_t *(*health)(void *ctx);
} dlv_source;

/* The Direct PUT log: one append-only file of framed records (length, CRC32C, arrival, data);
 * a record's position is the byte offset just past it, so a checkpoint is a file offset and
 * reading needs no index. Appends are fsynced before they are acknowledged. */
typedef struct dlv_direct dlv_direct;
dlv_direct *dlv_direct_open(const char *path, sp_err *e);
void dlv_direct_close(dlv_direct *d);
/* Appends n records (all or nothing) and fsyncs; positions[i] receives each end offset. */
bool dlv_direct_append(dlv_direct *d, const void *const *data, const size_t *lens, size_t n,
                       uint64_t *positions, sp_err *e);
/* The log as a one-shard source (ctx is d, borrowed). */
dlv_source dlv_direct_source(dlv_direct *d);
/* Logs larger than this are emptied once fully delivered (dlv_source.compact). */
void dlv_direct_set_compact_bytes(dlv_direct *d, uint64_t bytes);
/* Reads records after position after, as stm_shard_read does. */
long dlv_direct_read(dlv_direct *d, uint64_t after, size_t max, size_t max_bytes,
                     stm_record_fn fn, void *arg, sp_err *e);

/* A Kinesis stream of the stream module as a source (log borrowed, the name copied). */
dlv_source dlv_kinesis_source(stm_log *log, const char *stream);
/* A remote source named by the configuration's source ({kind: kinesis|kafka, ...},
 * borrowed), with its state (Kinesis: shard table and anchors) in dir, for delivery stream
 * name (source_remote.c). false with e when there are no credentials or its state is
 * unreadable. */
bool dlv_remote_source(const json_t *cfg, const char *dir, const char *name, dlv_source *out,
                       sp_err *e);
/* Checks a delivery stream's source mapping of the configuration. */
bool dlv_source_config_check(const json_t *cfg, sp_err *e);

/* ---- sinks -------------------------------------------------------------------------------- */

/* Where a runner writes objects: the embedded lake (sink_lake.c) or a remote S3-compatible
 * service (sink_s3.c). Both calls must be idempotent under the same key, since the runner's
 * redo of an intent (runner.c) puts the same keys again after a crash; remove of an absent key
 * succeeds. Called from the runner's thread only. */
typedef struct dlv_sink {
    void *ctx;
    const char *kind;            /* "lake", "s3" */
    /* Stores len bytes of data (borrowed) under bucket/key, whole or not at all. */
    bool (*put)(void *ctx, const char *bucket, const char *key, const void *data, size_t len,
                sp_err *e);
    bool (*remove)(void *ctx, const char *bucket, const char *key, sp_err *e);
    /* Where the objects go, for status ("lake", "s3 http://127.0.0.1:9000 (eu-west-1)").
     * Borrowed from ctx. */
    const char *(*describe)(void *ctx);
    void (*destroy)(void *ctx);  /* frees ctx when the runner goes */
    /* Optional (remote sinks): calls in flight or to come end by deadline_ns (monotonic), so
     * a stopping runner is not held by an unresponsive service. Called from another thread
     * than put/remove. */
    void (*hurry)(void *ctx, uint64_t deadline_ns);
} dlv_sink;

/* The embedded lake as a sink (lk borrowed). */
dlv_sink dlv_sink_lake(lake *lk);

/* Multipart upload above this size; parts of this size (S3: parts 5 MiB..5 GiB except the
 * last, at most 10 000 of them). */
enum {
    DLV_S3_MULTIPART_THRESHOLD_MB_DEFAULT = 8,
    DLV_S3_PART_MB_DEFAULT = 8,
    DLV_S3_PART_MB_MIN = 5,
    DLV_S3_PART_MB_MAX = 5120,
    DLV_S3_PARTS_MAX = 10000,
    DLV_S3_BUCKET_MIN = 3, DLV_S3_BUCKET_MAX = 63,
};
/* Checks a destination mapping of the configuration ({kind: lake|s3, ...}); on failure e
 * names the member and what it must be. */
bool dlv_sink_config_check(const json_t *dest, sp_err *e);
/* A remote S3-compatible service as a sink, from a checked destination (borrowed): path-style
 * requests, PutObject below the threshold, multipart upload above it (aborted on failure).
 * NULL with e when there are no credentials. */
bool dlv_sink_s3_new(const json_t *dest, dlv_sink *out, sp_err *e);

/* ---- durable state (checkpoints + intent) --------------------------------------------------- */

typedef struct dlv_range {
    uint64_t after;             /* exclusive */
    uint64_t upto;              /* inclusive; == after: nothing from this shard */
} dlv_range;

/* Per-shard arrays are sized from the source's actual shard count (dlv_state_shards), so a
 * stream with any number of shards the stream module allows (STM_SHARDS_PER_STREAM_MAX open,
 * STM_SHARDS_WITH_LINEAGE_MAX with closed ones) is read whole. */
typedef struct dlv_state {
    int n_shards;
    uint64_t *checkpoint;       /* n_shards entries, owned */
    bool has_intent;
    dlv_range *range;           /* n_shards entries, owned */
    char uuid[37];              /* seed of every object key of the batch */
    json_t *keys;               /* object keys written by the batch (array) or NULL */
} dlv_state;

/* Grows the state to n shards (new ones at checkpoint 0 with empty ranges); never shrinks.
 * false (e set) when n is beyond STM_SHARDS_WITH_LINEAGE_MAX. */
bool dlv_state_shards(dlv_state *st, int n, sp_err *e);
/* Loads <path> (a missing file is the empty state). Caller clears with dlv_state_clear. */
bool dlv_state_load(const char *path, dlv_state *st, sp_err *e);
/* tmp + fsync + rename + fsync(dir). */
bool dlv_state_save(const char *path, const dlv_state *st, sp_err *e);
void dlv_state_clear(dlv_state *st);

/* ---- runner --------------------------------------------------------------------------------- */

typedef struct dlv_counters {
    uint64_t records_in, records_out, records_dropped, records_failed;
    uint64_t sink_errors;       /* failed puts/removes of the sink (each retried by a redo) */
    char sink_last_error[SP_ERR_MSG_MAX]; /* the sink's last error as the remote said it */
    uint64_t objects, error_objects, bytes_out, flushes, redos;
    bool holding;               /* records buffered or an intent open */
    sp_hist freshness;          /* ms from a record's arrival in the source to its object */
    int n_shards;
    char last_error[SP_ERR_MSG_MAX];
} dlv_counters;

typedef struct dlv_runner dlv_runner;
/* A runner for def (borrowed; must outlive it) over src, writing into sink (both taken: the
 * runner calls their destroy, also on failure), with state files in dir. Does not start a
 * thread. */
dlv_runner *dlv_runner_new(const dlv_def *def, dlv_source src, dlv_sink sink, const char *dir,
                           sp_err *e);
/* The sink's kind and description (borrowed from the runner). */
const char *dlv_runner_sink_kind(const dlv_runner *r);
const char *dlv_runner_sink_describe(const dlv_runner *r);
/* The source connector's health (new ref), or NULL for an embedded source. Any thread. */
json_t *dlv_runner_source_health(const dlv_runner *r);
/* Where format conversion finds its schema (borrowed; the service's, set before start). */
void dlv_runner_set_schema_source(dlv_runner *r, const dlv_schema_source *src);
/* Redoes an open intent, then runs the loop in a new thread. */
bool dlv_runner_start(dlv_runner *r, sp_err *e);
/* Asks the thread to flush and stop, joins it, frees. */
void dlv_runner_destroy(dlv_runner *r);
void dlv_runner_counters(dlv_runner *r, dlv_counters *out);
/* True when nothing is held and every shard's checkpoint is at the source's current end
 * (sources without an end op: when nothing is held). */
bool dlv_runner_caught_up(dlv_runner *r);
/* One synchronous step for tests: redo any intent, read what is there and flush it all. */
bool dlv_runner_flush_all(dlv_runner *r, sp_err *e);

/* 400 InvalidArgumentException, Firehose's shape for a bad request (def.c). */
void dlv_invalid(sp_err *e, const char *fmt, ...) SP_PRINTF(2, 3);

#endif
