/* Configuration: YAML (libyaml's document API) mapped onto plain structs through one config
 * map per resource kind. The seed pipeline's defaults are themselves a YAML document parsed
 * by the same code, so the defaults can never drift from what the parser accepts. */
#include "config.h"
#include "lambda_fn.h"

#include <assert.h>
#include <errno.h>
#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* ---- the config maps -------------------------------------------------------------------- */

/* CFG_JSON_LIST / CFG_JSON_MAP: any YAML subtree, kept as JSON, that must be a list / a
 * mapping. */
typedef enum { CFG_STR, CFG_INT, CFG_BOOL, CFG_JSON_LIST, CFG_JSON_MAP } cfg_type;

/* Structured values (filters, processors) are small; aliases could expand a short file into
 * billions of nodes, so a value may not exceed these. */
enum { CFG_JSON_MAX_NODES = 100000, CFG_JSON_MAX_DEPTH = 64 };

/* IAM access key ids are at most 128 characters; an action is "service:Action". */
enum { CFG_ACCESS_KEY_MAX = 128, CFG_ACTION_MAX = 256 };

/* A DNS name is at most 253 characters; an origin is a scheme, "://" and such a name:port. */
enum { CFG_HOSTNAME_MAX = 253, CFG_ORIGIN_MAX = 300 };

typedef struct cfg_entry {
    cfg_type type;
    const char *key;
    const char *def;          /* default as text; NULL: no default (optional or required) */
    size_t offset;
    bool required;
    long long min, max;       /* CFG_INT bounds */
    const char *choices;      /* CFG_STR: "A|B|C" allowed values, NULL: any */
    const char *desc;
    /* Printed by `salespipe config` only when this sibling (string) key is set: a sort key
     * type means nothing without a sort key. NULL: always applies. */
    const char *applies_with;
} cfg_entry;

#define STR(k, d, st, f, req, ch, ds) {CFG_STR, k, d, offsetof(st, f), req, 0, 0, ch, ds, NULL}
#define INT(k, d, st, f, lo, hi, ds) {CFG_INT, k, d, offsetof(st, f), false, lo, hi, NULL, ds, NULL}
#define BOOL(k, d, st, f, ds) {CFG_BOOL, k, d, offsetof(st, f), false, 0, 0, NULL, ds, NULL}
#define JSON_LIST(k, st, f, ds) {CFG_JSON_LIST, k, NULL, offsetof(st, f), false, 0, 0, NULL, ds, NULL}
#define JSON_MAP(k, st, f, ds) {CFG_JSON_MAP, k, NULL, offsetof(st, f), false, 0, 0, NULL, ds, NULL}

static const cfg_entry server_map[] = {
    STR("bind", "127.0.0.1", sp_cfg_server, bind, false, NULL, "address the HTTP endpoint binds"),
    INT("port", "4566", sp_cfg_server, port, 0, 65535, "HTTP port (0: any free port)"),
    INT("max_body_kb", "16384", sp_cfg_server, max_body_kb, 1, 1 << 20,
        "request bodies larger than this are refused with 413"),
    INT("threads", "0", sp_cfg_server, threads, 0, 256,
        "HTTP worker threads, 0: core count (at least 16 with durability fsync, so that "
        "writers waiting for an fsync can share it)"),
    STR("log_level", "info", sp_cfg_server, log_level, false, "debug|info|warn|error|off",
        "log verbosity"),
    /* = QRY_TIMEOUT_DEFAULT_SECONDS (query/query.h); Athena's DML timeout is 30 minutes */
    INT("query_timeout_seconds", "300", sp_cfg_server, query_timeout_seconds, 0, 86400,
        "a query (Athena API, salespipe query) running longer fails with a timeout, 0: none"),
    {CFG_JSON_LIST, "hostnames", "[]", offsetof(sp_cfg_server, hostnames), false, 0, 0, NULL,
     "Host names accepted besides loopback and the bind address (DNS rebinding guard)", NULL},
    {CFG_JSON_LIST, "cors_allowed_origins", "[]", offsetof(sp_cfg_server, cors_allowed_origins),
     false, 0, 0, NULL, "Origins browsers may call from, e.g. \"http://localhost:3000\"; \"*\": any",
     NULL},
    STR("durability", "fsync", sp_cfg_server, durability, false, "fsync|relaxed",
        "fsync: an acknowledged write is on disk (survives a power loss); relaxed: it survives "
        "a process crash, not a power loss"),
    {CFG_JSON_MAP, "service_ports", "{}", offsetof(sp_cfg_server, service_ports), false, 0, 0,
     NULL, "a port of its own per service, as AWS has one endpoint per service, e.g. "
     "{kinesis: 4567, dynamodb: 4568}; there a request naming no operation gets that service's "
     "answer", NULL},
    INT("status_transition_ms", "0", sp_cfg_server, status_transition_ms, 0, 3600000,
        "how long tables and streams created, updated or deleted through the API stay "
        "CREATING / UPDATING / DELETING, as AWS's do for a while (0: ACTIVE, or gone, at once); "
        "those of this file are ACTIVE at once"),
    /* = STM_ACCOUNT_SHARDS_DEFAULT (stream/stream.h): AWS's default in us-east-1 */
    INT("kinesis_account_shard_limit", "500", sp_cfg_server, kinesis_account_shard_limit, 1,
        1000000, "Kinesis shard quota of the account: open shards of all streams together"),
    {0},
};

static const cfg_entry table_map[] = {
    STR("name", NULL, sp_cfg_table, name, true, NULL, "table name"),
    STR("hash_key", NULL, sp_cfg_table, hash_key, true, NULL, "partition key attribute"),
    STR("hash_key_type", "S", sp_cfg_table, hash_key_type, false, "S|N|B", "partition key type"),
    STR("range_key", NULL, sp_cfg_table, range_key, false, NULL, "sort key attribute"),
    {CFG_STR, "range_key_type", "S", offsetof(sp_cfg_table, range_key_type), false, 0, 0, "S|N|B",
     "sort key type", "range_key"},
    STR("stream_view_type", NULL, sp_cfg_table, stream_view_type, false,
        "NEW_IMAGE|OLD_IMAGE|NEW_AND_OLD_IMAGES|KEYS_ONLY", "table stream; absent: no stream"),
    INT("stream_retention_hours", "24", sp_cfg_table, stream_retention_hours, 1, 8760,
        "how long table stream records are kept"),
    {0},
};

static const cfg_entry stream_map[] = {
    STR("name", NULL, sp_cfg_stream, name, true, NULL, "Kinesis stream name"),
    /* The upper bound is the stream module's (stm_config_check): one limit, one constant. */
    INT("shard_count", "1", sp_cfg_stream, shard_count, INT_MIN, INT_MAX, "number of shards"),
    INT("retention_hours", "24", sp_cfg_stream, retention_hours, 24, 8760, "retention period"),
    STR("fsync", NULL, sp_cfg_stream, fsync, false, "batch|interval|none",
        "when appends reach the disk: every group commit, every interval, or never (OS); "
        "absent: batch with server.durability fsync, interval with relaxed"),
    INT("fsync_interval_ms", "200", sp_cfg_stream, fsync_interval_ms, 1, 60000,
        "fsync period for fsync: interval"),
    INT("segment_mb", "64", sp_cfg_stream, segment_mb, 1, 1024, "segment file size"),
    {0},
};

static const cfg_entry pipe_map[] = {
    STR("name", NULL, sp_cfg_pipe, name, true, NULL, "pipe name"),
    STR("source_table", NULL, sp_cfg_pipe, source_table, false, NULL,
        "table whose stream is read (required unless source names a remote stream)"),
    STR("target_stream", NULL, sp_cfg_pipe, target_stream, false, NULL,
        "Kinesis stream written (required unless target names a remote one)"),
    STR("starting_position", "TRIM_HORIZON", sp_cfg_pipe, starting_position, false,
        "TRIM_HORIZON|LATEST", "where a new pipe starts reading"),
    INT("batch_size", "100", sp_cfg_pipe, batch_size, 1, 10000, "records per batch"),
    INT("batching_window_seconds", "0", sp_cfg_pipe, batching_window_seconds, 0, 300,
        "longest wait to fill a batch"),
    STR("partition_key_path", NULL, sp_cfg_pipe, partition_key_path, false, NULL,
        "JSON path of the target partition key; absent: the table's hash key value"),
    JSON_LIST("filters", sp_cfg_pipe, filters, "EventBridge patterns; a record matching none is skipped"),
    JSON_MAP("source", sp_cfg_pipe, source,
             "a remote source: {kind: dynamodb-streams, endpoint: URL, region: R, table: T (or "
             "stream_arn: ARN)}; absent: source_table's stream"),
    JSON_MAP("target", sp_cfg_pipe, target,
             "a remote target: {kind: kinesis, endpoint: URL, region: R, stream: S} (optional: "
             "access_key_id/secret_access_key, profile, max_attempts, timeout_seconds) or "
             "{kind: kafka, brokers: \"host:port,...\", topic: T}; absent: target_stream"),
    {0},
};

static const cfg_entry delivery_map[] = {
    STR("name", NULL, sp_cfg_delivery, name, true, NULL, "delivery stream name"),
    STR("source_stream", NULL, sp_cfg_delivery, source_stream, false, NULL,
        "Kinesis stream read; absent: Direct PUT (or source)"),
    STR("bucket", NULL, sp_cfg_delivery, bucket, false, NULL,
        "lake bucket the objects go to (required unless destination names a remote one)"),
    STR("prefix", "", sp_cfg_delivery, prefix, false, NULL, "S3 key prefix (Firehose namespaces)"),
    STR("error_output_prefix", "", sp_cfg_delivery, error_output_prefix, false, NULL,
        "S3 key prefix for failed records"),
    INT("buffer_size_mb", "5", sp_cfg_delivery, buffer_size_mb, 1, 128, "flush at this size"),
    INT("buffer_interval_seconds", "300", sp_cfg_delivery, buffer_interval_seconds, 0, 900,
        "flush at this age"),
    STR("compression", "UNCOMPRESSED", sp_cfg_delivery, compression, false,
        "UNCOMPRESSED|GZIP|ZSTD", "object compression"),
    BOOL("append_delimiter", "false", sp_cfg_delivery, append_delimiter,
         "append a newline to each record"),
    JSON_LIST("processors", sp_cfg_delivery, processors,
         "processing chain: [{type: dynamodb-cdc|jq|lambda, ...}]; lambda: {function: NAME or "
         "ARN} runs <data>/delivery/lambda/NAME.py"),
    JSON_MAP("dynamic_partitioning", sp_cfg_delivery, dynamic_partitioning,
         "{queries: {name: jq expression}} for !{partitionKeyFromQuery:name}"),
    STR("format", "json", sp_cfg_delivery, format, false, "json|parquet",
        "object format: parquet converts records (Firehose record format conversion)"),
    STR("schema_database", "sales_db", sp_cfg_delivery, schema_database, false, NULL,
        "parquet: Glue database of the schema table"),
    STR("schema_table", "", sp_cfg_delivery, schema_table, false, NULL,
        "parquet: Glue table whose columns are the output schema; empty: <name>_schema "
        "(made from the dynamodb-cdc columns when missing)"),
    STR("parquet_compression", "SNAPPY", sp_cfg_delivery, parquet_compression, false,
        "SNAPPY|GZIP|UNCOMPRESSED|ZSTD", "parquet: page compression"),
    JSON_MAP("destination", sp_cfg_delivery, destination,
             "where objects go: absent or {kind: lake} = the embedded lake; {kind: s3, "
             "endpoint: URL, region: R, bucket: B} = any S3-compatible service (optional: "
             "access_key_id/secret_access_key, profile, multipart_threshold_mb, part_size_mb, "
             "max_attempts, timeout_seconds)"),
    JSON_MAP("source", sp_cfg_delivery, source,
             "a remote source: {kind: kinesis, endpoint: URL, region: R, stream: S} (optional "
             "as for destination) or {kind: kafka, brokers: \"host:port,...\", topic: T, "
             "group: G}; absent: source_stream"),
    {0},
};

static const cfg_entry bucket_map[] = {
    STR("name", NULL, sp_cfg_bucket, name, true, NULL, "bucket name"),
    {0},
};

static const cfg_entry classifier_map[] = {
    STR("name", NULL, sp_cfg_classifier, name, true, NULL, "classifier name"),
    STR("json_path", "$", sp_cfg_classifier, json_path, false, NULL, "JsonPath selecting records"),
    {0},
};

static const cfg_entry crawler_map[] = {
    STR("name", NULL, sp_cfg_crawler, name, true, NULL, "crawler name"),
    STR("database", NULL, sp_cfg_crawler, database, true, NULL, "catalog database"),
    STR("bucket", NULL, sp_cfg_crawler, bucket, true, NULL, "bucket crawled"),
    STR("path", "", sp_cfg_crawler, path, false, NULL, "key prefix crawled"),
    STR("classifier", NULL, sp_cfg_crawler, classifier, false, NULL, "custom JSON classifier"),
    STR("schema_change_policy", "UPDATE_IN_DATABASE", sp_cfg_crawler, schema_change_policy, false,
        "UPDATE_IN_DATABASE|LOG", "what a recrawl does with a changed schema"),
    {0},
};

/* IAM caps access key ids at 128 characters. */
static const cfg_entry credential_map[] = {
    STR("access_key_id", NULL, sp_cfg_credential, access_key_id, true, NULL,
        "access key id clients sign with (SigV4)"),
    STR("secret_access_key", NULL, sp_cfg_credential, secret_access_key, true, NULL,
        "its secret"),
    JSON_LIST("allow", sp_cfg_credential, allow,
              "actions this key may call, e.g. [\"dynamodb:*\", \"s3:GetObject\"]; absent: all"),
    {0},
};

typedef struct cfg_section {
    const char *key;
    const cfg_entry *map;
    size_t item_size;
    size_t array_offset;
    size_t count_offset;
} cfg_section;

#define SECTION(k, m, T, arr, cnt) \
    {k, m, sizeof(T), offsetof(sp_config, arr), offsetof(sp_config, cnt)}

static const cfg_section sections[] = {
    SECTION("tables", table_map, sp_cfg_table, tables, n_tables),
    SECTION("streams", stream_map, sp_cfg_stream, streams, n_streams),
    SECTION("pipes", pipe_map, sp_cfg_pipe, pipes, n_pipes),
    SECTION("delivery_streams", delivery_map, sp_cfg_delivery, deliveries, n_deliveries),
    SECTION("buckets", bucket_map, sp_cfg_bucket, buckets, n_buckets),
    SECTION("classifiers", classifier_map, sp_cfg_classifier, classifiers, n_classifiers),
    SECTION("crawlers", crawler_map, sp_cfg_crawler, crawlers, n_crawlers),
    SECTION("credentials", credential_map, sp_cfg_credential, credentials, n_credentials),
};

/* The seed pipeline (DESIGN.md, "Fixed interfaces"). */
static const char seed_yaml[] =
    "tables:\n"
    "  - name: OrdersRawTable\n"
    "    hash_key: orderid\n"
    "    hash_key_type: S\n"
    "    stream_view_type: NEW_AND_OLD_IMAGES\n"
    "streams:\n"
    "  - name: kinesis-for-sales-data\n"
    "    shard_count: 2\n"
    "pipes:\n"
    "  - name: orders-cdc-pipe\n"
    "    source_table: OrdersRawTable\n"
    "    target_stream: kinesis-for-sales-data\n"
    "    batch_size: 500\n"
    "delivery_streams:\n"
    "  - name: sales-delivery-stream\n"
    "    source_stream: kinesis-for-sales-data\n"
    "    bucket: kinesis-firehose-destination-yb\n"
    "    buffer_interval_seconds: 1\n"
    "    processors:\n"
    "      - type: dynamodb-cdc\n"
    "buckets:\n"
    "  - name: kinesis-firehose-destination-yb\n"
    "classifiers:\n"
    "  - name: sales-json-classifier\n"
    "    json_path: $\n"
    "crawlers:\n"
    "  - name: sales-crawler\n"
    "    database: sales_db\n"
    "    bucket: kinesis-firehose-destination-yb\n"
    "    classifier: sales-json-classifier\n";

/* ---- YAML walking ----------------------------------------------------------------------- */

typedef struct cfg_parse {
    yaml_document_t doc;
    const char *name;
    sp_err *e;
    const yaml_node_t *defaults_node; /* the `defaults: seed` value, if any */
    size_t json_nodes;                /* nodes converted for the current value */
} cfg_parse;

static void cfg_fail(cfg_parse *p, const yaml_node_t *n, const char *path, const char *fmt, ...)
    SP_PRINTF(4, 5);
static void cfg_fail(cfg_parse *p, const yaml_node_t *n, const char *path, const char *fmt, ...)
{
    if (sp_err_failed(p->e)) return;
    char what[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Resources taken from the seed have no line of their own: blame `defaults: seed`. */
    if (!n) n = p->defaults_node;
    if (n)
        sp_err_set(p->e, 400, "InvalidConfiguration", "%s:%lu: %s: %s", p->name,
                   (unsigned long)n->start_mark.line + 1, path, what);
    else
        sp_err_set(p->e, 400, "InvalidConfiguration", "%s: %s: %s", p->name, path, what);
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool scalar_is_plain(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

/* Whether a plain scalar reads as a decimal number: [+-]digits[.digits][e[+-]digits]
 * (nothing strtod would also take, like hex floats or "inf"); *is_int when it has neither
 * fraction nor exponent. */
static bool looks_decimal(const char *s, bool *is_int)
{
    if (*s == '-' || *s == '+') s++;
    if (!isdigit((unsigned char)*s)) return false;
    while (isdigit((unsigned char)*s)) s++;
    *is_int = true;
    if (*s == '.') {
        *is_int = false;
        for (s++; isdigit((unsigned char)*s);) s++;
    }
    if (*s == 'e' || *s == 'E') {
        *is_int = false;
        s++;
        if (*s == '-' || *s == '+') s++;
        if (!isdigit((unsigned char)*s)) return false;
        while (isdigit((unsigned char)*s)) s++;
    }
    return *s == '\0';
}

/* YAML subtree to JSON: plain scalars that read as numbers, booleans or null become those;
 * everything else is a string. */
static json_t *node_to_json(cfg_parse *p, yaml_node_t *n, int depth)
{
    if (!n || depth > CFG_JSON_MAX_DEPTH || ++p->json_nodes > CFG_JSON_MAX_NODES) return NULL;
    switch (n->type) {
    case YAML_SCALAR_NODE: {
        const char *s = scalar(n);
        if (scalar_is_plain(n)) {
            if (!strcmp(s, "true")) return json_true();
            if (!strcmp(s, "false")) return json_false();
            if (!strcmp(s, "null") || !strcmp(s, "~") || !*s) return json_null();
            bool is_int;
            if (looks_decimal(s, &is_int)) {
                errno = 0;
                long long ll = strtoll(s, NULL, 10);
                if (is_int && !errno) return json_integer(ll);
                double d = strtod(s, NULL);
                if (isfinite(d)) return json_real(d); /* else (1e999) it stays a string */
            }
        }
        return json_stringn(s, n->data.scalar.length);
    }
    case YAML_SEQUENCE_NODE: {
        json_t *a = json_array();
        for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top;
             it++) {
            json_t *v = node_to_json(p, yaml_document_get_node(&p->doc, *it), depth + 1);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case YAML_MAPPING_NODE: {
        json_t *o = json_object();
        for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
             pr++) {
            const char *k = scalar(yaml_document_get_node(&p->doc, pr->key));
            json_t *v = node_to_json(p, yaml_document_get_node(&p->doc, pr->value), depth + 1);
            if (!k || !v) {
                json_decref(v);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, k, v);
        }
        return o;
    }
    default: return NULL;
    }
}

static bool choice_ok(const char *choices, const char *v)
{
    size_t n = strlen(v);
    for (const char *c = choices; *c;) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && !strncmp(c, v, n)) return true;
        if (!bar) break;
        c = bar + 1;
    }
    return false;
}

/* Sets one field from text (a YAML scalar or a map default). */
static void entry_set_text(cfg_parse *p, const cfg_entry *en, void *item, const char *text,
                           const yaml_node_t *n, const char *path)
{
    char *field = (char *)item + en->offset;
    switch (en->type) {
    case CFG_STR:
        if (en->choices && !choice_ok(en->choices, text)) {
            cfg_fail(p, n, path, "'%s' is not one of %s", text, en->choices);
            return;
        }
        free(*(char **)field);
        *(char **)field = strdup(text);
        break;
    case CFG_INT: {
        char *end;
        errno = 0;
        long long v = strtoll(text, &end, 10);
        if (!*text || *end || errno) {
            cfg_fail(p, n, path, "'%s' is not an integer", text);
            return;
        }
        if (v < en->min || v > en->max) {
            cfg_fail(p, n, path, "must be between %lld and %lld, got %lld", en->min, en->max, v);
            return;
        }
        *(long long *)field = v;
        break;
    }
    case CFG_BOOL:
        if (!strcmp(text, "true") || !strcmp(text, "yes")) *(bool *)field = true;
        else if (!strcmp(text, "false") || !strcmp(text, "no")) *(bool *)field = false;
        else cfg_fail(p, n, path, "'%s' is not true or false", text);
        break;
    case CFG_JSON_LIST:
    case CFG_JSON_MAP:
        /* Only defaults come here as text (a file's values are YAML subtrees). */
        json_decref(*(json_t **)field);
        *(json_t **)field = json_loads(text, 0, NULL);
        break;
    }
}

static void item_apply_defaults(cfg_parse *p, const cfg_entry *map, void *item)
{
    for (const cfg_entry *en = map; en->key; en++)
        if (en->def) entry_set_text(p, en, item, en->def, NULL, en->key);
}

/* Whether a pair before pr in mapping n has the scalar key k. */
static bool pair_key_seen_before(cfg_parse *p, const yaml_node_t *n, const yaml_node_pair_t *pr,
                                 const char *k)
{
    for (const yaml_node_pair_t *q = n->data.mapping.pairs.start; q < pr; q++) {
        const char *qk = scalar(yaml_document_get_node(&p->doc, q->key));
        if (qk && !strcmp(qk, k)) return true;
    }
    return false;
}

/* The value of key in mapping n (borrowed from the document), or NULL. */
static yaml_node_t *mapping_value(cfg_parse *p, const yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE) return NULL;
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
         pr++) {
        const char *k = scalar(yaml_document_get_node(&p->doc, pr->key));
        if (k && !strcmp(k, key)) return yaml_document_get_node(&p->doc, pr->value);
    }
    return NULL;
}

/* Where the file says section[index].key (the value, else the item), for messages about
 * references; NULL when the section came from the seed defaults. Borrowed. */
static const yaml_node_t *doc_field(cfg_parse *p, const char *section, size_t index,
                                    const char *key)
{
    yaml_node_t *list = mapping_value(p, yaml_document_get_root_node(&p->doc), section);
    if (!list || list->type != YAML_SEQUENCE_NODE) return NULL;
    if (index >= (size_t)(list->data.sequence.items.top - list->data.sequence.items.start))
        return NULL;
    yaml_node_t *item = yaml_document_get_node(&p->doc, list->data.sequence.items.start[index]);
    yaml_node_t *v = mapping_value(p, item, key);
    return v ? v : item;
}

/* Fills item from a YAML mapping through map; path names the item in messages. */
static void item_parse(cfg_parse *p, const cfg_entry *map, void *item, yaml_node_t *n,
                       const char *path)
{
    char kpath[200];
    if (n->type != YAML_MAPPING_NODE) {
        cfg_fail(p, n, path, "must be a mapping");
        return;
    }
    item_apply_defaults(p, map, item);
    for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn = yaml_document_get_node(&p->doc, pr->key);
        yaml_node_t *vn = yaml_document_get_node(&p->doc, pr->value);
        const char *k = scalar(kn);
        snprintf(kpath, sizeof kpath, "%s.%s", path, k ? k : "?");
        const cfg_entry *en = map;
        while (en->key && (!k || strcmp(en->key, k))) en++;
        if (!en->key) {
            cfg_fail(p, kn, kpath, "unknown key");
            return;
        }
        if (pair_key_seen_before(p, n, pr, k)) {
            cfg_fail(p, kn, kpath, "duplicate key");
            return;
        }
        if (en->type == CFG_JSON_LIST || en->type == CFG_JSON_MAP) {
            json_t **field = (json_t **)((char *)item + en->offset);
            json_decref(*field);
            p->json_nodes = 0;
            *field = node_to_json(p, vn, 0);
            if (!*field)
                cfg_fail(p, vn, kpath, "cannot be read as a value (more than %d levels or %d "
                         "elements, or not UTF-8)", CFG_JSON_MAX_DEPTH, CFG_JSON_MAX_NODES);
            else if (en->type == CFG_JSON_LIST && !json_is_array(*field))
                cfg_fail(p, vn, kpath, "must be a list");
            else if (en->type == CFG_JSON_MAP && !json_is_object(*field))
                cfg_fail(p, vn, kpath, "must be a mapping");
        } else if (!scalar(vn)) {
            cfg_fail(p, vn, kpath, "must be a single value");
        } else {
            entry_set_text(p, en, item, scalar(vn), vn, kpath);
        }
        if (sp_err_failed(p->e)) return;
    }
    for (const cfg_entry *en = map; en->key; en++) {
        if (!en->required || en->type != CFG_STR) continue;
        const char *v = *(char **)((char *)item + en->offset);
        if (!v || !*v) {
            snprintf(kpath, sizeof kpath, "%s.%s", path, en->key);
            const yaml_node_t *at = mapping_value(p, n, en->key);
            cfg_fail(p, at ? at : n, kpath, v ? "must not be empty" : "is required");
            return;
        }
    }
}

static void item_free(const cfg_entry *map, void *item)
{
    for (const cfg_entry *en = map; en->key; en++) {
        char *field = (char *)item + en->offset;
        if (en->type == CFG_STR) free(*(char **)field);
        if (en->type == CFG_JSON_LIST || en->type == CFG_JSON_MAP)
            json_decref(*(json_t **)field);
    }
}

static void section_clear(sp_config *cfg, const cfg_section *s)
{
    char **arr = (char **)((char *)cfg + s->array_offset);
    size_t *count = (size_t *)((char *)cfg + s->count_offset);
    for (size_t i = 0; i < *count; i++) item_free(s->map, *arr + i * s->item_size);
    free(*arr);
    *arr = NULL;
    *count = 0;
}

static void section_parse(cfg_parse *p, sp_config *cfg, const cfg_section *s, yaml_node_t *n)
{
    section_clear(cfg, s);
    if (n->type == YAML_SCALAR_NODE && !*scalar(n)) return; /* "tables:" with nothing */
    if (n->type != YAML_SEQUENCE_NODE) {
        cfg_fail(p, n, s->key, "must be a list");
        return;
    }
    size_t count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    char *arr = calloc(count ? count : 1, s->item_size);
    *(char **)((char *)cfg + s->array_offset) = arr;
    char path[120];
    for (size_t i = 0; i < count; i++) {
        *(size_t *)((char *)cfg + s->count_offset) = i + 1;
        snprintf(path, sizeof path, "%s[%zu]", s->key, i);
        yaml_node_t *in = yaml_document_get_node(&p->doc, n->data.sequence.items.start[i]);
        item_parse(p, s->map, arr + i * s->item_size, in, path);
        if (sp_err_failed(p->e)) return;
        const char *name = *(char **)(arr + i * s->item_size); /* name is every map's first */
        for (size_t j = 0; j < i; j++) {
            if (!strcmp(*(char **)(arr + j * s->item_size), name)) {
                cfg_fail(p, in, path, "duplicate name '%s'", name);
                return;
            }
        }
    }
}

static bool bucket_exists(const sp_config *cfg, const char *name)
{
    for (size_t i = 0; name && i < cfg->n_buckets; i++)
        if (!strcmp(cfg->buckets[i].name, name)) return true;
    return false;
}

/* A credential's key id must fit the Authorization header's Credential=<id>/<scope>, and each
 * allow entry must read as "*" or "service:Action" (wildcards allowed in either part). */
static void credential_check(cfg_parse *p, const sp_cfg_credential *c, size_t i)
{
    char path[120];
    const char *id = c->access_key_id;
    size_t idlen = strlen(id);
    bool id_ok = idlen <= CFG_ACCESS_KEY_MAX;
    for (const char *ch = id; id_ok && *ch; ch++)
        id_ok = (unsigned char)*ch > 0x20 && (unsigned char)*ch < 0x7f && !strchr("/,=", *ch);
    if (!id_ok) {
        snprintf(path, sizeof path, "credentials[%zu].access_key_id", i);
        cfg_fail(p, doc_field(p, "credentials", i, "access_key_id"), path,
                 "must be 1 to %d printable characters without spaces, '/', ',' or '='",
                 CFG_ACCESS_KEY_MAX);
        return;
    }
    size_t k;
    json_t *a;
    json_array_foreach(c->allow, k, a) {
        const char *v = json_string_value(a);
        const char *colon = v ? strchr(v, ':') : NULL;
        bool ok = v && strlen(v) <= CFG_ACTION_MAX &&
                  (!strcmp(v, "*") || (colon && colon > v && colon[1] && !strchr(colon + 1, ':')));
        for (const char *ch = v; ok && *ch; ch++) ok = (unsigned char)*ch > 0x20 && *ch != 0x7f;
        if (!ok) {
            snprintf(path, sizeof path, "credentials[%zu].allow[%zu]", i, k);
            cfg_fail(p, doc_field(p, "credentials", i, "allow"), path,
                     "must be \"*\" or \"service:Action\" (e.g. \"dynamodb:*\", "
                     "\"s3:GetObject\")");
            return;
        }
    }
}

/* The node of delivery_streams[i].processors[k].key (or the nearest node that exists). */
static const yaml_node_t *processor_field(cfg_parse *p, size_t i, size_t k, const char *key)
{
    const yaml_node_t *list = doc_field(p, "delivery_streams", i, "processors");
    if (!list || list->type != YAML_SEQUENCE_NODE ||
        k >= (size_t)(list->data.sequence.items.top - list->data.sequence.items.start))
        return list;
    yaml_node_t *item = yaml_document_get_node(&p->doc, list->data.sequence.items.start[k]);
    yaml_node_t *v = mapping_value(p, item, key);
    return v ? v : item;
}

/* A lambda processor names its function (lambda_fn.h); a handler path is no longer taken:
 * only code under <data>/delivery/lambda/ runs. */
static void lambda_processors_check(cfg_parse *p, const sp_cfg_delivery *d, size_t i)
{
    char path[160];
    size_t k;
    json_t *proc;
    json_array_foreach(d->processors, k, proc) {
        if (strcmp(json_string_value(json_object_get(proc, "type")) ?: "", "lambda")) continue;
        if (json_object_get(proc, "handler")) {
            snprintf(path, sizeof path, "delivery_streams[%zu].processors[%zu].handler", i, k);
            cfg_fail(p, processor_field(p, i, k, "handler"), path,
                     "handler paths are not accepted; put the code in "
                     "<data>/delivery/lambda/NAME.py and set function: NAME (or its ARN)");
            return;
        }
        sp_err le = {0};
        const json_t *fn = json_object_get(proc, "function");
        if (!json_is_string(fn) || !sp_lambda_fn_parse(json_string_value(fn), &(sp_lambda_fn){0},
                                                       &le)) {
            snprintf(path, sizeof path, "delivery_streams[%zu].processors[%zu].function", i, k);
            cfg_fail(p, processor_field(p, i, k, "function"), path, "%s",
                     json_is_string(fn) ? le.msg
                                        : "is required: a Lambda function name or ARN");
            return;
        }
    }
}

/* Where the file says server.<key>, for messages; NULL without a server section. */
static const yaml_node_t *server_field(cfg_parse *p, const char *key)
{
    yaml_node_t *srv = mapping_value(p, yaml_document_get_root_node(&p->doc), "server");
    return mapping_value(p, srv, key);
}

/* server.hostnames: DNS names or IP literals (no port, no scheme). server.cors_allowed_origins:
 * "*", "null" or "scheme://host[:port]" exactly as browsers send Origin (no path). */
static void server_check(cfg_parse *p, const sp_cfg_server *srv)
{
    char path[120];
    size_t i;
    json_t *v;
    json_array_foreach(srv->hostnames, i, v) {
        const char *h = json_string_value(v);
        size_t n = h ? strlen(h) : 0;
        bool ok = n > 0 && n <= CFG_HOSTNAME_MAX;
        size_t colons = 0;
        for (size_t k = 0; ok && k < n; k++) {
            ok = isalnum((unsigned char)h[k]) || strchr("-._[]:", h[k]);
            colons += h[k] == ':';
        }
        /* One colon is a port ("name:4566"), which a Host name here never carries; an IPv6
         * literal has at least two. */
        if (colons == 1) ok = false;
        if (!ok) {
            snprintf(path, sizeof path, "server.hostnames[%zu]", i);
            cfg_fail(p, server_field(p, "hostnames"), path,
                     "must be a host name or IP address (letters, digits, '-', '.', or an IPv6 "
                     "literal), without scheme or port");
            return;
        }
    }
    const char *svc;
    json_object_foreach(srv->service_ports, svc, v) {
        bool known = !strcmp(svc, "kinesis") || !strcmp(svc, "dynamodb");
        json_int_t port = json_is_integer(v) ? json_integer_value(v) : -1;
        if (!known || port < 0 || port > 65535 || (port && port == srv->port)) {
            snprintf(path, sizeof path, "server.service_ports.%.40s", svc);
            cfg_fail(p, server_field(p, "service_ports"), path,
                     !known ? "names no service with a port of its own (kinesis, dynamodb)"
                     : port < 0 || port > 65535 ? "must be a port number, 0..65535 (0: any free port)"
                                                : "must differ from server.port");
            return;
        }
    }
    json_array_foreach(srv->cors_allowed_origins, i, v) {
        const char *o = json_string_value(v);
        const char *sep = o ? strstr(o, "://") : NULL;
        bool ok = o && (!strcmp(o, "*") || !strcmp(o, "null") ||
                        (sep && sep > o && sep[3] && !strchr(sep + 3, '/') &&
                         strlen(o) <= CFG_ORIGIN_MAX));
        for (const char *c = o; ok && *c; c++) ok = (unsigned char)*c > 0x20 && *c != 0x7f;
        if (!ok) {
            snprintf(path, sizeof path, "server.cors_allowed_origins[%zu]", i);
            cfg_fail(p, server_field(p, "cors_allowed_origins"), path,
                     "must be \"*\", \"null\" or an origin as browsers send it, "
                     "\"scheme://host[:port]\" with no path (e.g. \"http://localhost:3000\")");
            return;
        }
    }
}

/* A delivery stream whose destination is not the embedded lake (its kind is checked by the
 * delivery module). */
static bool remote_destination(const sp_cfg_delivery *d)
{
    const char *kind = json_string_value(json_object_get(d->destination, "kind"));
    return kind && strcmp(kind, "lake");
}

/* A stage named by a {kind: ...} mapping that is not the embedded one (the members are
 * checked by the module that runs it). */
static bool remote_stage(const json_t *m)
{
    const char *kind = json_string_value(json_object_get(m, "kind"));
    return kind && strcmp(kind, "embedded");
}

/* Checks the references between resources (a pipe's table exists, ...); a message names the
 * referring field ("pipes[0].source_table") at its line. */
static void config_check_refs(cfg_parse *p, sp_config *cfg)
{
    char path[120];
#define REF_FAIL(sec, i, key, ...)                                               \
    do {                                                                         \
        snprintf(path, sizeof path, "%s[%zu].%s", sec, i, key);                  \
        cfg_fail(p, doc_field(p, sec, i, key), path, __VA_ARGS__);               \
    } while (0)
    for (size_t i = 0; i < cfg->n_pipes && !sp_err_failed(p->e); i++) {
        const sp_cfg_pipe *pi = &cfg->pipes[i];
        const sp_cfg_table *t = pi->source_table ? sp_config_table(cfg, pi->source_table) : NULL;
        if (remote_stage(pi->source) && pi->source_table)
            REF_FAIL("pipes", i, "source_table", "names a table while source names a remote "
                     "stream; keep one of them");
        else if (remote_stage(pi->target) && pi->target_stream)
            REF_FAIL("pipes", i, "target_stream", "names a stream while target names a remote "
                     "one; keep one of them");
        else if (!remote_stage(pi->source) && !pi->source_table)
            REF_FAIL("pipes", i, "source_table", "is required (or a remote source)");
        else if (!remote_stage(pi->target) && !pi->target_stream)
            REF_FAIL("pipes", i, "target_stream", "is required (or a remote target)");
        else if (!remote_stage(pi->source) && !t)
            REF_FAIL("pipes", i, "source_table", "'%s' is not a configured table",
                     pi->source_table);
        else if (!remote_stage(pi->source) && !t->stream_view_type)
            REF_FAIL("pipes", i, "source_table", "table '%s' has no stream_view_type", t->name);
        else if (!remote_stage(pi->target) && !sp_config_stream(cfg, pi->target_stream))
            REF_FAIL("pipes", i, "target_stream", "'%s' is not a configured stream",
                     pi->target_stream);
    }
    for (size_t i = 0; i < cfg->n_deliveries && !sp_err_failed(p->e); i++) {
        const sp_cfg_delivery *d = &cfg->deliveries[i];
        if (remote_stage(d->source) && d->source_stream)
            REF_FAIL("delivery_streams", i, "source_stream", "names a stream while source names a "
                     "remote one; keep one of them");
        else if (d->source_stream && !sp_config_stream(cfg, d->source_stream))
            REF_FAIL("delivery_streams", i, "source_stream", "'%s' is not a configured stream",
                     d->source_stream);
        else if (remote_destination(d))
            lambda_processors_check(p, d, i);
        else if (!d->bucket)
            REF_FAIL("delivery_streams", i, "bucket",
                     "is required (the lake bucket objects go to), unless destination names a "
                     "remote one");
        else if (!bucket_exists(cfg, d->bucket))
            REF_FAIL("delivery_streams", i, "bucket", "'%s' is not a configured bucket",
                     d->bucket);
        else
            lambda_processors_check(p, d, i);
    }
    for (size_t i = 0; i < cfg->n_crawlers && !sp_err_failed(p->e); i++) {
        const sp_cfg_crawler *c = &cfg->crawlers[i];
        if (!bucket_exists(cfg, c->bucket))
            REF_FAIL("crawlers", i, "bucket", "'%s' is not a configured bucket", c->bucket);
        else if (c->classifier && !sp_config_classifier(cfg, c->classifier))
            REF_FAIL("crawlers", i, "classifier", "'%s' is not a configured classifier",
                     c->classifier);
    }
    for (size_t i = 0; i < cfg->n_credentials && !sp_err_failed(p->e); i++)
        credential_check(p, &cfg->credentials[i], i);
    if (!sp_err_failed(p->e)) server_check(p, &cfg->server);
#undef REF_FAIL
}

/* Runs the modules' checks over every resource of their section; a failure names the file,
 * the line of the offending field and section[i].key, as parse errors do. */
static void config_run_checks(cfg_parse *p, sp_config *cfg, const sp_cfg_check *checks)
{
    for (const sp_cfg_check *c = checks; c && c->section && !sp_err_failed(p->e); c++) {
        const cfg_section *s = NULL;
        for (size_t i = 0; i < SP_ARRAY_LEN(sections); i++)
            if (!strcmp(sections[i].key, c->section)) s = &sections[i];
        assert(s);
        if (!s) continue;
        char *items = *(char **)((char *)cfg + s->array_offset);
        size_t n = *(size_t *)((char *)cfg + s->count_offset);
        for (size_t i = 0; i < n && !sp_err_failed(p->e); i++) {
            const char *key = NULL;
            sp_err ce = {0};
            if (c->fn(items + i * s->item_size, &key, &ce)) continue;
            char path[200];
            snprintf(path, sizeof path, "%s[%zu]%s%s", s->key, i, key ? "." : "",
                     key ? key : "");
            cfg_fail(p, key ? doc_field(p, s->key, i, key) : NULL, path, "%s", ce.msg);
        }
    }
}

static sp_config *config_from_yaml(const char *name, const char *yaml, size_t len,
                                   bool seed_sections, const sp_cfg_check *checks, sp_err *e)
{
    sp_config *cfg = calloc(1, sizeof *cfg);
    cfg->source = strdup(name);
    cfg_parse p = {.name = name, .e = e};
    item_apply_defaults(&p, server_map, &cfg->server);

    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, len);
    /* yaml_parser_load initialises the document itself (and deletes it on failure). */
    if (!yaml_parser_load(&parser, &p.doc)) {
        sp_err_set(e, 400, "InvalidConfiguration", "%s:%lu: not valid YAML: %s", name,
                   (unsigned long)parser.problem_mark.line + 1,
                   parser.problem ? parser.problem : "parse error");
        yaml_parser_delete(&parser);
        sp_config_destroy(cfg);
        return NULL;
    }
    yaml_parser_delete(&parser);

    yaml_node_t *root = yaml_document_get_root_node(&p.doc);
    bool use_seed = seed_sections;
    if (root && root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             pr < root->data.mapping.pairs.top; pr++) {
            const char *k = scalar(yaml_document_get_node(&p.doc, pr->key));
            yaml_node_t *vn = yaml_document_get_node(&p.doc, pr->value);
            const char *v = scalar(vn);
            if (!k || strcmp(k, "defaults")) continue;
            if (!v) {
                cfg_fail(&p, vn, "defaults", "must be seed or none");
            } else if (!strcmp(v, "seed")) {
                use_seed = true;
                p.defaults_node = vn;
            } else if (strcmp(v, "none")) {
                cfg_fail(&p, vn, "defaults", "'%s' is not one of seed|none", v);
            }
        }
    } else if (root && !(root->type == YAML_SCALAR_NODE && !*scalar(root))) {
        cfg_fail(&p, root, "(top)", "the document must be a mapping");
    }
    if (use_seed && !seed_sections && !sp_err_failed(e)) {
        sp_config *seed = sp_config_defaults(e);
        if (seed) {
            for (size_t i = 0; i < SP_ARRAY_LEN(sections); i++) {
                const cfg_section *s = &sections[i];
                memcpy((char *)cfg + s->array_offset, (char *)seed + s->array_offset,
                       sizeof(void *));
                memcpy((char *)cfg + s->count_offset, (char *)seed + s->count_offset,
                       sizeof(size_t));
                memset((char *)seed + s->array_offset, 0, sizeof(void *));
                memset((char *)seed + s->count_offset, 0, sizeof(size_t));
            }
            sp_config_destroy(seed);
        }
    }
    if (root && root->type == YAML_MAPPING_NODE) {
        for (yaml_node_pair_t *pr = root->data.mapping.pairs.start;
             pr < root->data.mapping.pairs.top && !sp_err_failed(e); pr++) {
            yaml_node_t *kn = yaml_document_get_node(&p.doc, pr->key);
            yaml_node_t *vn = yaml_document_get_node(&p.doc, pr->value);
            const char *k = scalar(kn);
            if (!k) {
                cfg_fail(&p, kn, "(top)", "keys must be plain names");
                break;
            }
            if (pair_key_seen_before(&p, root, pr, k)) {
                cfg_fail(&p, kn, k, "duplicate section");
                break;
            }
            if (!strcmp(k, "defaults")) continue;
            if (!strcmp(k, "server")) {
                item_parse(&p, server_map, &cfg->server, vn, "server");
                continue;
            }
            size_t i = 0;
            while (i < SP_ARRAY_LEN(sections) && strcmp(sections[i].key, k)) i++;
            if (i == SP_ARRAY_LEN(sections)) cfg_fail(&p, kn, k, "unknown section");
            else section_parse(&p, cfg, &sections[i], vn);
        }
    }
    if (!sp_err_failed(e)) config_check_refs(&p, cfg);
    if (!sp_err_failed(e)) config_run_checks(&p, cfg, checks);
    yaml_document_delete(&p.doc);
    if (sp_err_failed(e)) {
        sp_config_destroy(cfg);
        return NULL;
    }
    return cfg;
}

sp_config *sp_config_defaults(sp_err *e)
{
    sp_config *cfg = config_from_yaml("(seed defaults)", seed_yaml, sizeof seed_yaml - 1, true, NULL, e);
    return cfg;
}

sp_config *sp_config_parse(const char *name, const char *yaml, size_t len, sp_err *e)
{
    return config_from_yaml(name, yaml, len, false, NULL, e);
}

sp_config *sp_config_parse_checked(const char *name, const char *yaml, size_t len,
                                   const sp_cfg_check *checks, sp_err *e)
{
    return config_from_yaml(name, yaml, len, false, checks, e);
}

sp_config *sp_config_load(const char *path, sp_err *e)
{
    return sp_config_load_checked(path, NULL, e);
}

sp_config *sp_config_load_checked(const char *path, const sp_cfg_check *checks, sp_err *e)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sp_err_set(e, 400, "InvalidConfiguration", "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    sp_str s;
    sp_str_init(&s, NULL, 0, 16u << 20);
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) sp_str_append(&s, buf, n);
    bool read_failed = ferror(f) || sp_str_failed(&s);
    fclose(f);
    if (read_failed) {
        sp_str_release(&s);
        sp_err_set(e, 400, "InvalidConfiguration", "%s: cannot read (or larger than 16 MiB)",
                   path);
        return NULL;
    }
    sp_config *cfg = config_from_yaml(path, s.buf ? s.buf : "", s.len, false, checks, e);
    sp_str_release(&s);
    return cfg;
}

void sp_config_destroy(sp_config *cfg)
{
    if (!cfg) return;
    item_free(server_map, &cfg->server);
    for (size_t i = 0; i < SP_ARRAY_LEN(sections); i++) section_clear(cfg, &sections[i]);
    free(cfg->source);
    free(cfg);
}

/* ---- printing --------------------------------------------------------------------------- */

/* Appends s (len bytes, valid UTF-8) as a YAML double-quoted scalar that libyaml reads back
 * as exactly s: characters YAML does not allow raw in a stream (C0/C1 controls, DEL), the
 * ones it would fold as line breaks (NEL, U+2028/9) and the BOM are written as escapes. */
static void yaml_quoted(sp_str *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    sp_str_putc(out, '"');
    while (p < end) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            sp_str_putc(out, '\\');
            sp_str_putc(out, (char)c);
            p++;
            continue;
        }
        if (c >= 0x20 && c < 0x7f) {
            sp_str_putc(out, (char)c);
            p++;
            continue;
        }
        if (c < 0x80 || (c & 0xe0) == 0x80 || c >= 0xf8) { /* control, or not a lead byte */
            sp_str_appendf(out, "\\x%02X", c);
            p++;
            continue;
        }
        size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
        if ((size_t)(end - p) < n) n = (size_t)(end - p);
        unsigned cp = c & (0x7fu >> n);
        for (size_t i = 1; i < n; i++) cp = (cp << 6) | (p[i] & 0x3fu);
        bool raw = (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) ||
                   cp >= 0x10000;
        if (cp == 0xfeff || cp == 0x2028 || cp == 0x2029) raw = false;
        if (raw) sp_str_append(out, p, n);
        else sp_str_appendf(out, "\\u%04X", cp & 0xffffu);
        p += n;
    }
    sp_str_putc(out, '"');
}

/* A secret shorter than this is printed as stars alone (AWS secret keys are 40 characters). */
#define CFG_SECRET_SHOWN_MIN_LEN 16

/* Members whose value is a secret: an AWS secret key or session token (credentials, remote
 * destinations, sources and targets), and any password. */
static bool key_is_secret(const char *k)
{
    size_t n = strlen(k);
    return !strcmp(k, "secret_access_key") || !strcmp(k, "session_token") ||
           (n >= 8 && !strcmp(k + n - 8, "password"));
}

/* A secret as `aws configure list` shows one: stars and, for a long one, its last four
 * characters (enough to tell two keys apart, too few to use). */
static void secret_masked(sp_str *out, const char *v)
{
    size_t n = strlen(v);
    char tail[5] = "";
    if (n >= CFG_SECRET_SHOWN_MIN_LEN) {
        const char *t = v + n - 4;
        bool printable = true;
        for (int i = 0; i < 4; i++) printable &= t[i] >= 0x21 && t[i] < 0x7f;
        if (printable) memcpy(tail, t, 5);
    }
    sp_str_appendf(out, "\"****************%s\"", tail);
}

/* Appends a JSON value in YAML flow style that node_to_json reads back as an equal value:
 * strings always quoted (so "12" stays a string), numbers as jansson prints them (reals keep
 * a '.' or an exponent, so 1.0 stays a real). */
static void yaml_flow(sp_str *out, const json_t *v, sp_config_secrets secrets)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *m;
        bool first = true;
        sp_str_putc(out, '{');
        json_object_foreach((json_t *)v, k, m) {
            sp_str_puts(out, first ? "" : ", ");
            yaml_quoted(out, k, strlen(k));
            sp_str_puts(out, ": ");
            if (secrets == SP_CONFIG_SECRETS_HIDDEN && json_is_string(m) && key_is_secret(k))
                secret_masked(out, json_string_value(m));
            else
                yaml_flow(out, m, secrets);
            first = false;
        }
        sp_str_putc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *m;
        sp_str_putc(out, '[');
        json_array_foreach(v, i, m) {
            sp_str_puts(out, i ? ", " : "");
            yaml_flow(out, m, secrets);
        }
        sp_str_putc(out, ']');
        break;
    }
    case JSON_STRING: yaml_quoted(out, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER:
    case JSON_REAL: {
        char *num = json_dumps(v, JSON_ENCODE_ANY);
        sp_str_puts(out, num ? num : "null");
        free(num);
        break;
    }
    case JSON_TRUE: sp_str_puts(out, "true"); break;
    case JSON_FALSE: sp_str_puts(out, "false"); break;
    case JSON_NULL: sp_str_puts(out, "null"); break;
    }
}

/* True when the string key `key` of map is set in item. */
static bool entry_is_set(const cfg_entry *map, const void *item, const char *key)
{
    for (const cfg_entry *en = map; en->key; en++)
        if (!strcmp(en->key, key))
            return en->type == CFG_STR && *(char *const *)((const char *)item + en->offset);
    return false;
}

static void item_print(sp_str *out, const cfg_entry *map, const void *item, const char *first,
                       const char *rest, sp_config_secrets secrets)
{
    const char *lead = first;
    for (const cfg_entry *en = map; en->key; en++) {
        const char *field = (const char *)item + en->offset;
        if (en->applies_with && !entry_is_set(map, item, en->applies_with)) continue;
        switch (en->type) {
        case CFG_STR:
            if (!*(char *const *)field) continue;
            sp_str_appendf(out, "%s%s: ", lead, en->key);
            if (secrets == SP_CONFIG_SECRETS_HIDDEN && key_is_secret(en->key))
                secret_masked(out, *(char *const *)field);
            else
                yaml_quoted(out, *(char *const *)field, strlen(*(char *const *)field));
            break;
        case CFG_INT: sp_str_appendf(out, "%s%s: %lld", lead, en->key, *(const long long *)field); break;
        case CFG_BOOL:
            sp_str_appendf(out, "%s%s: %s", lead, en->key, *(const bool *)field ? "true" : "false");
            break;
        case CFG_JSON_LIST:
        case CFG_JSON_MAP: {
            const json_t *v = *(json_t *const *)field;
            if (!v) continue;
            sp_str_appendf(out, "%s%s: ", lead, en->key);
            yaml_flow(out, v, secrets);
            break;
        }
        }
        sp_str_appendf(out, "    # %s\n", en->desc);
        lead = rest;
    }
}

char *sp_config_to_yaml(const sp_config *cfg, sp_config_secrets secrets)
{
    sp_str out;
    sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
    /* The source is a path; keep a strange one from breaking out of the comment. */
    sp_str_puts(&out, "# effective configuration (from ");
    for (const char *c = cfg->source; *c; c++) sp_str_putc(&out, (unsigned char)*c < 0x20 ? '?' : *c);
    sp_str_puts(&out, ")\nserver:\n");
    item_print(&out, server_map, &cfg->server, "  ", "  ", secrets);
    for (size_t i = 0; i < SP_ARRAY_LEN(sections); i++) {
        const cfg_section *s = &sections[i];
        const char *arr = *(char *const *)((const char *)cfg + s->array_offset);
        size_t count = *(const size_t *)((const char *)cfg + s->count_offset);
        sp_str_appendf(&out, "%s:%s\n", s->key, count ? "" : " []");
        for (size_t j = 0; j < count; j++)
            item_print(&out, s->map, arr + j * s->item_size, "  - ", "    ", secrets);
    }
    return sp_str_finish(&out, NULL);
}

/* ---- lookups ---------------------------------------------------------------------------- */

#define FIND(arr, n, name)                                                 \
    do {                                                                   \
        for (size_t i_ = 0; name && i_ < (n); i_++)                        \
            if (!strcmp((arr)[i_].name, name)) return &(arr)[i_];          \
        return NULL;                                                       \
    } while (0)

bool sp_durability_parse(const char *s, sp_durability *out)
{
    if (s && !strcmp(s, "fsync")) *out = SP_DURABILITY_FSYNC;
    else if (s && !strcmp(s, "relaxed")) *out = SP_DURABILITY_RELAXED;
    else return false;
    return true;
}

const sp_cfg_table *sp_config_table(const sp_config *c, const char *name)
{ FIND(c->tables, c->n_tables, name); }
const sp_cfg_stream *sp_config_stream(const sp_config *c, const char *name)
{ FIND(c->streams, c->n_streams, name); }
const sp_cfg_delivery *sp_config_delivery(const sp_config *c, const char *name)
{ FIND(c->deliveries, c->n_deliveries, name); }
const sp_cfg_crawler *sp_config_crawler(const sp_config *c, const char *name)
{ FIND(c->crawlers, c->n_crawlers, name); }
const sp_cfg_classifier *sp_config_classifier(const sp_config *c, const char *name)
{ FIND(c->classifiers, c->n_classifiers, name); }
const sp_cfg_credential *sp_config_credential(const sp_config *c, const char *access_key_id)
{
    for (size_t i = 0; access_key_id && i < c->n_credentials; i++)
        if (!strcmp(c->credentials[i].access_key_id, access_key_id)) return &c->credentials[i];
    return NULL;
}
