/* config: the resources salespipe runs (tables, streams, pipes, delivery streams, buckets,
 * classifiers, crawlers) and the server settings, read from YAML (salespipe.yaml) or taken
 * from the seed pipeline's defaults when there is no file.
 *
 * Each resource kind is a plain struct described by a config map (key, type, default,
 * offset, description) in config.c: the map is both the parser and the documentation, and
 * `salespipe config` prints the effective configuration through it.
 *
 * With a file, each section present in the file replaces that section of the defaults;
 * absent sections keep the seed's resources only when the file says `defaults: seed`
 * (otherwise they are empty). `server` always starts from the defaults.
 */
#ifndef SP_CONFIG_H
#define SP_CONFIG_H

#include "core.h"

typedef struct sp_cfg_server {
    char *bind;
    long long port;
    long long max_body_kb;    /* request bodies over this get 413 */
    long long threads;        /* 0 = from the core count */
    char *log_level;
    long long query_timeout_seconds; /* per query; 0 = no limit */
    /* Host header names accepted besides loopback and the bind address (array of strings):
     * the names clients use when the endpoint is bound beyond loopback. */
    json_t *hostnames;
    /* Origins browsers may call the endpoint from (array: "http://host:port", "*"). */
    json_t *cors_allowed_origins;
    char *durability;         /* fsync | relaxed (sp_durability_parse) */
    /* Listeners of their own for services, as AWS gives each its endpoint: an object
     * {"kinesis": 4567, "dynamodb": 4568} (integers 0..65535, 0: any free port). */
    json_t *service_ports;
    /* How long API-made resources stay in their transient states (CREATING, UPDATING,
     * DELETING) before the next; 0: they are ACTIVE (or gone) at once. */
    long long status_transition_ms;
    /* Kinesis's per-account shard quota: open shards of all streams together. */
    long long kinesis_account_shard_limit;
} sp_cfg_server;

/* What an acknowledged write survives (server.durability). FSYNC: it is on disk before the
 * answer (a power loss keeps it); RELAXED: it is in the OS (a process crash keeps it, a power
 * loss may not). Either way sequence numbers are never handed out twice. */
typedef enum { SP_DURABILITY_FSYNC, SP_DURABILITY_RELAXED } sp_durability;

/* "fsync" or "relaxed" into *out; false (out untouched) for anything else, NULL included. */
bool sp_durability_parse(const char *s, sp_durability *out);

typedef struct sp_cfg_table {
    char *name;
    char *hash_key;
    char *hash_key_type;      /* S | N | B */
    char *range_key;          /* NULL: hash-only table */
    char *range_key_type;
    char *stream_view_type;   /* NEW_IMAGE | OLD_IMAGE | NEW_AND_OLD_IMAGES | KEYS_ONLY | NULL */
    long long stream_retention_hours;
} sp_cfg_table;

typedef struct sp_cfg_stream {
    char *name;
    long long shard_count;
    long long retention_hours;
    char *fsync;              /* batch | interval | none; NULL: from server.durability */
    long long fsync_interval_ms;
    long long segment_mb;
} sp_cfg_stream;

typedef struct sp_cfg_pipe {
    char *name;
    char *source_table;
    char *target_stream;      /* NULL when target is set */
    char *starting_position;  /* TRIM_HORIZON | LATEST */
    long long batch_size;     /* 1..10000 */
    long long batching_window_seconds; /* 0..300 */
    char *partition_key_path; /* JSON path into the record; NULL: the table's hash key */
    json_t *filters;          /* array of EventBridge patterns (objects), or NULL */
    json_t *source;           /* {kind: dynamodb-streams, endpoint, region, table|stream_arn, ...}
                               * or NULL: source_table's embedded stream (conn_remote_config_check) */
    json_t *target;           /* {kind: kinesis, endpoint, region, stream, ...}, {kind: kafka,
                               * brokers, topic} or NULL: the embedded target_stream */
} sp_cfg_pipe;

typedef struct sp_cfg_delivery {
    char *name;
    char *source_stream;      /* NULL: Direct PUT (or source) */
    char *bucket;
    char *prefix;
    char *error_output_prefix;
    long long buffer_size_mb;         /* 1..128 */
    long long buffer_interval_seconds;/* 0..900 */
    char *compression;        /* UNCOMPRESSED | GZIP | ZSTD */
    bool append_delimiter;
    json_t *processors;       /* array of {type: dynamodb-cdc|jq|lambda, ...params} */
    json_t *dynamic_partitioning; /* {queries: {name: jq}} or NULL */
    char *format;             /* json | parquet (record format conversion) */
    char *schema_database;    /* parquet: Glue database of the schema table */
    char *schema_table;       /* parquet: Glue table whose columns are the schema; "" = default */
    char *parquet_compression;/* parquet: SNAPPY | GZIP | UNCOMPRESSED | ZSTD */
    json_t *destination;      /* {kind: lake|s3, endpoint, region, bucket, ...} or NULL: lake;
                               * checked by the delivery module (dlv_config_check) */
    json_t *source;           /* {kind: kinesis, endpoint, region, stream, ...}, {kind: kafka,
                               * brokers, topic, group?} or NULL: the embedded source_stream
                               * (or Direct PUT); checked by conn_remote_config_check */
} sp_cfg_delivery;

typedef struct sp_cfg_bucket {
    char *name;
} sp_cfg_bucket;

typedef struct sp_cfg_classifier {
    char *name;
    char *json_path;
} sp_cfg_classifier;

typedef struct sp_cfg_crawler {
    char *name;
    char *database;
    char *bucket;
    char *path;               /* key prefix inside the bucket; "" = whole bucket */
    char *classifier;
    char *schema_change_policy; /* UPDATE_IN_DATABASE | LOG */
} sp_cfg_crawler;

/* A key the HTTP endpoint accepts when any are configured (SigV4); allow lists IAM-style
 * actions ("dynamodb:*", "kinesis:PutRecord", "s3:GetObject"), NULL: every action. */
typedef struct sp_cfg_credential {
    char *access_key_id;
    char *secret_access_key;
    json_t *allow;            /* array of strings, or NULL */
} sp_cfg_credential;

typedef struct sp_config {
    char *source;             /* file path, or "(seed defaults)" */
    sp_cfg_server server;
    sp_cfg_table *tables;            size_t n_tables;
    sp_cfg_stream *streams;          size_t n_streams;
    sp_cfg_pipe *pipes;              size_t n_pipes;
    sp_cfg_delivery *deliveries;     size_t n_deliveries;
    sp_cfg_bucket *buckets;          size_t n_buckets;
    sp_cfg_classifier *classifiers;  size_t n_classifiers;
    sp_cfg_crawler *crawlers;        size_t n_crawlers;
    /* None: the endpoint accepts every request unsigned (the default). */
    sp_cfg_credential *credentials;  size_t n_credentials;
} sp_config;

/* The seed pipeline's resources (DESIGN.md). Caller owns the result: sp_config_destroy. */
sp_config *sp_config_defaults(sp_err *e);
/* Reads a YAML file. On failure returns NULL and e names the file, line and key
 * ("salespipe.yaml:12: pipes[0].batch_size: must be between 1 and 10000"). */
sp_config *sp_config_load(const char *path, sp_err *e);
/* Same, from a buffer; name is used in messages. */
sp_config *sp_config_parse(const char *name, const char *yaml, size_t len, sp_err *e);

/* A module's own check of one resource of a section (the rules core/ cannot know: the stream
 * module's shard limit, the delivery module's prefix rules). item points at the section's
 * struct (sp_cfg_stream, sp_cfg_delivery, ...). On failure it sets e (the message says what is
 * wrong, without the file) and *key to the offending field ("prefix"), or leaves it NULL for
 * the whole item. */
typedef bool (*sp_cfg_check_fn)(const void *item, const char **key, sp_err *e);
typedef struct sp_cfg_check {
    const char *section;      /* "streams", "delivery_streams", ... */
    sp_cfg_check_fn fn;
} sp_cfg_check;
/* sp_config_load / sp_config_parse, then the checks ({0}-terminated, borrowed) over every
 * resource of their section; a failure is reported like a parse error, with file, line and
 * "section[i].key". */
sp_config *sp_config_load_checked(const char *path, const sp_cfg_check *checks, sp_err *e);
sp_config *sp_config_parse_checked(const char *name, const char *yaml, size_t len,
                                   const sp_cfg_check *checks, sp_err *e);
/* Whether sp_config_to_yaml writes secrets (secret keys, session tokens, passwords) as they
 * are, so that the text parses back to the same configuration, or masked for a person to read. */
typedef enum { SP_CONFIG_SECRETS_HIDDEN, SP_CONFIG_SECRETS_SHOWN } sp_config_secrets;
/* Writes the configuration as YAML; caller frees the string. */
char *sp_config_to_yaml(const sp_config *cfg, sp_config_secrets secrets);
void sp_config_destroy(sp_config *cfg);

/* Lookups by name; NULL if absent. Borrowed from cfg. */
const sp_cfg_table *sp_config_table(const sp_config *cfg, const char *name);
const sp_cfg_stream *sp_config_stream(const sp_config *cfg, const char *name);
const sp_cfg_delivery *sp_config_delivery(const sp_config *cfg, const char *name);
const sp_cfg_crawler *sp_config_crawler(const sp_config *cfg, const char *name);
const sp_cfg_classifier *sp_config_classifier(const sp_config *cfg, const char *name);
const sp_cfg_credential *sp_config_credential(const sp_config *cfg, const char *access_key_id);

#endif
