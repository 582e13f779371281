/* pipe internals: pipe definitions, their persistence, the partition-key JSON path, and the
 * per-pipe runner. Private to src/pipe/. */
#ifndef SP_PIPE_INT_H
#define SP_PIPE_INT_H

#include <stdatomic.h>

#include "pipe.h"

/* AWS limits the Pipes API enforces (botocore pipes 2015-10-07). */
enum {
    PIP_NAME_MAX = 64,
    PIP_DESCRIPTION_MAX = 512,
    PIP_ARN_MAX = 1600,
    PIP_BATCH_SIZE_MIN = 1,
    PIP_BATCH_SIZE_MAX = 10000,            /* the Pipes API reference (older botocore models: 1000) */
    PIP_RETRIES_MAX = 10000,               /* MaximumRetryAttempts -1 (forever) .. 10000 */
    PIP_RECORD_AGE_MAX_S = 604800,         /* MaximumRecordAgeInSeconds -1 (forever) .. 7 days */
    PIP_SQS_QUEUE_NAME_MAX = 80,
    PIP_BATCH_SIZE_DEFAULT = 100,
    PIP_WINDOW_MAX_S = 300,
    PIP_PARTITION_KEY_MAX = 256,
    PIP_LIST_LIMIT_MAX = 100,
    PIP_TAGS_MAX = 50, PIP_TAG_KEY_MAX = 128, PIP_TAG_VALUE_MAX = 256,
};

/* The one region and account salespipe plays. */
#define PIP_REGION "us-east-1"
#define PIP_ACCOUNT "000000000000"

/* ---- definitions (def.c) ---------------------------------------------------------------- */

typedef struct pip_def {
    char *name;
    char *description;        /* may be NULL */
    char *source_arn;         /* DynamoDB stream ARN */
    char *source_table;       /* from source_arn */
    char *target_arn;         /* Kinesis stream ARN; kafka://<brokers>/<topic> for Kafka */
    char *target_stream;      /* from target_arn; the topic for a Kafka target */
    char *role_arn;
    bool running;             /* DesiredState RUNNING (else STOPPED) */
    bool latest;              /* StartingPosition LATEST (else TRIM_HORIZON) */
    long batch_size;
    long window_s;            /* MaximumBatchingWindowInSeconds */
    char *partition_key;      /* "$.json.path" or a static key; NULL: the item's key */
    json_t *filters;          /* array of pattern strings; NULL: none */
    json_t *tags;             /* object; NULL: none */
    char *dlq_arn;            /* DeadLetterConfig.Arn (arn:aws:sqs:...); NULL: none */
    long max_retries;         /* MaximumRetryAttempts; -1: retry until it works */
    long max_age_s;           /* MaximumRecordAgeInSeconds; -1: no limit */
    bool bisect;              /* OnPartialBatchItemFailure AUTOMATIC_BISECT */
    int64_t created_ms, modified_ms;
    json_t *remote_source;    /* the configuration's {kind: dynamodb-streams, ...} or NULL */
    json_t *remote_target;    /* the configuration's {kind: kinesis|kafka, ...} or NULL */
} pip_def;

/* Builds a definition from a CreatePipe body (base NULL; name from the path) or applies an
 * UpdatePipe body to a copy of base. Validates shapes, ranges, ARNs and filter patterns but
 * not whether the table or stream exist. req is borrowed. Caller owns the result. */
pip_def *pip_def_parse(const char *name, const json_t *req, const pip_def *base, sp_err *e);
/* From the YAML config (validated by config.c; patterns are validated here). */
pip_def *pip_def_from_config(const sp_cfg_pipe *cfg, sp_err *e);
/* The DescribePipe shape without CurrentState (also the persisted form). New reference. */
json_t *pip_def_to_json(const pip_def *d);
pip_def *pip_def_clone(const pip_def *d);
void pip_def_free(pip_def *d);
bool pip_name_valid(const char *name);
/* "arn:aws:pipes:<region>:<account>:pipe/<name>" into out. */
void pip_def_arn(const pip_def *d, char *out, size_t size);

/* ---- partition key paths (path.c) ------------------------------------------------------- */

/* Checks "$.a.b[0]['c d']" syntax; false with a ValidationException naming the problem. */
bool pip_path_check(const char *path, sp_err *e);
/* The value at path in doc (borrowed), or NULL if absent. path must have passed the check. */
const json_t *pip_path_eval(const char *path, const json_t *doc);

/* ---- the dead-letter queue (dlq.c) ------------------------------------------------------ */

/* The pipe's DLQ high mark: no message exists above it (0 when there is none; UINT64_MAX
 * when it cannot be read, so everything is checked). save is durable. */
uint64_t pip_dlq_high_load(const char *dir, const char *pipe);
bool pip_dlq_high_save(const char *dir, const char *pipe, uint64_t seq, sp_err *e);
void pip_dlq_high_remove(const char *dir, const char *pipe);
/* Whether record seq of the pipe has a message. */
bool pip_dlq_has(const char *dir, const char *pipe, uint64_t seq);
/* Writes the message of record seq (record: its JSON text, borrowed) with reason, durably. */
bool pip_dlq_write(const char *dir, const pip_def *d, uint64_t seq, const char *record,
                   size_t len, const char *reason, sp_err *e);

/* ---- persistence (store.c) -------------------------------------------------------------- */

/* <dir>/pipes.json: {"pipes":[<pip_def_to_json>...],"deleted":["name"...]}. Load returns a
 * new reference ({} shaped when the file does not exist) or NULL with e set. */
json_t *pip_store_load(const char *dir, sp_err *e);
/* Atomically replaces the file (temp, fsync, rename). doc is borrowed. */
bool pip_store_save(const char *dir, const json_t *doc, sp_err *e);
/* The pipe's checkpoint: all source records <= *seq are handled. false if there is none. */
bool pip_checkpoint_load(const char *dir, const char *pipe, uint64_t *seq);
/* Durable (temp, fsync, rename). */
bool pip_checkpoint_save(const char *dir, const char *pipe, uint64_t seq, sp_err *e);
void pip_checkpoint_remove(const char *dir, const char *pipe);

/* ---- runner (runner.c) ------------------------------------------------------------------ */

typedef struct pip_counters {
    _Atomic uint64_t read, filtered, written, failed, duplicates_skipped, dead_lettered;
} pip_counters;

/* What a runner reads from and writes to: the table stream and the stream log by default
 * (pip_io_default), a fake in the runner's unit tests. Same contracts as the table.h and
 * stream.h functions they stand for. */
typedef struct pip_io {
    void *src;
    bool (*src_wait)(void *src, const char *table, uint64_t after_seq, int timeout_ms);
    long (*src_read)(void *src, const char *table, uint64_t after_seq, size_t max,
                     tbl_stream_fn fn, void *arg, sp_err *e);
    uint64_t (*src_last_seq)(void *src, const char *table);
    void *dst;
    bool (*dst_put)(void *dst, const char *stream, const stm_put *recs, size_t n,
                    stm_put_result *out, size_t *written, sp_err *e);
    int (*dst_shard_for_key)(void *dst, const char *stream, const char *partition_key,
                             sp_err *e);
    uint64_t (*dst_origin_position)(void *dst, const char *stream, int shard, const char *origin);
} pip_io;

/* io.c */
pip_io pip_io_default(tbl_db *tables, stm_log *log);

/* ---- remote sources and targets (remote.c) --------------------------------------------- */

/* Copies cfg's remote source/target into d and fills the names and ARNs they imply (target:
 * target_stream and target_arn; source: source_table and source_arn). Returns whether the
 * source is remote (the caller fills the embedded one otherwise). */
bool pip_remote_apply(pip_def *d, const sp_cfg_pipe *cfg);
/* A pipe saved through the API (pipes.json keeps the Pipes API shape, which has no place for
 * an endpoint) takes the remote source/target of the configured pipe of the same name when
 * they name the same table and stream. */
void pip_remote_inherit(pip_def *d, const sp_config *cfg);
/* The runner's I/O for d: base with the source and/or target replaced by connectors when d
 * names remote ones; *conn receives what must be freed with pip_remote_free after the
 * runner. dir is the pipe stage's directory (the connectors' journals live there). */
typedef struct pip_remote pip_remote;
bool pip_remote_io(const pip_def *d, const char *dir, const pip_io *base, pip_io *out,
                   pip_remote **conn, sp_err *e);
void pip_remote_free(pip_remote *c);
/* {target: {...}, source: {...}} of the connectors' health, or NULL when there are none. */
json_t *pip_remote_health(pip_remote *c);


typedef struct pip_runner pip_runner;

/* Prepares a runner for def (copied): compiles its filters and loads its checkpoint, or
 * creates one at the starting position. hash_key names the table's hash key attribute (for
 * the default partition key; NULL: all key values). io is copied; what it points to, dir and
 * counters are borrowed and must outlive the runner. Caller owns: pip_runner_destroy. */
pip_runner *pip_runner_new(const pip_def *def, const char *dir, const char *hash_key,
                           const pip_io *io, pip_counters *counters, sp_err *e);
bool pip_runner_start(pip_runner *r, sp_err *e);
/* Stops the worker (if running) after its current batch; saves the checkpoint. */
void pip_runner_stop(pip_runner *r);
bool pip_runner_running(const pip_runner *r);
uint64_t pip_runner_checkpoint(const pip_runner *r);
/* Stops and frees. */
void pip_runner_destroy(pip_runner *r);

/* ---- registry operations behind the REST API (engine.c) ------------------------------- */

/* Each takes the engine lock, returns the operation's response body (a new reference) or
 * NULL with e set (ValidationException 400, NotFoundException 404, ConflictException 409).
 * Borrowed arguments. */
json_t *pip_engine_create(pip_engine *en, const char *name, const json_t *req, sp_err *e);
json_t *pip_engine_describe(pip_engine *en, const char *name, sp_err *e);
json_t *pip_engine_update(pip_engine *en, const char *name, const json_t *req, sp_err *e);
json_t *pip_engine_delete(pip_engine *en, const char *name, sp_err *e);
json_t *pip_engine_set_desired(pip_engine *en, const char *name, bool running, sp_err *e);
/* TagResource: merges tags (an object of strings, validated here: 1-50 in all, keys 1-128,
 * values 0-256 characters, no aws: keys) into the pipe's, persisted. UntagResource: removes
 * the keys (array of strings). Both answer {}. */
json_t *pip_engine_tag(pip_engine *en, const char *name, const json_t *tags, sp_err *e);
json_t *pip_engine_untag(pip_engine *en, const char *name, const json_t *keys, sp_err *e);
bool pip_tag_key_valid(const char *key);

typedef struct pip_list_query {
    const char *name_prefix, *source_prefix, *target_prefix; /* NULL: any */
    const char *desired_state, *current_state;               /* NULL: any */
    const char *next_token;                                  /* the last name already listed */
    long limit;
} pip_list_query;
json_t *pip_engine_list(pip_engine *en, const pip_list_query *q, sp_err *e);

#endif
