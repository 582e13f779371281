/* Unit tests for the configuration (core/config.c): the defaults are the seed pipeline's
 * resources; every kind of bad file is refused with "<file>:<line>: <key>: <what>" and no
 * config; `defaults: seed` keeps the seed's sections; and printing round-trips: what
 * sp_config_to_yaml writes parses back to an equal configuration. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

static sp_config *parse(const char *yaml, sp_err *e)
{
    sp_err_clear(e);
    return sp_config_parse("t.yaml", yaml, strlen(yaml), e);
}

/* Parses yaml expecting failure with exactly the message want. */
static void expect_error(const char *yaml, const char *want)
{
    sp_err e;
    sp_config *cfg = parse(yaml, &e);
    if (cfg || strcmp(e.msg, want) != 0)
        fail_msg("config:\n%s\nwant error: %s\ngot: %s", yaml, want, cfg ? "(success)" : e.msg);
    assert_int_equal(e.status, 400);
    assert_string_equal(e.code, "InvalidConfiguration");
}

/* ---- equality, field by field (so printing cannot hide a lost field) -------------------- */

static bool str_eq(const char *a, const char *b) { return (!a && !b) || (a && b && !strcmp(a, b)); }
static bool json_eq(const json_t *a, const json_t *b) { return (!a && !b) || json_equal(a, b); }

#define EQ_S(f) if (!str_eq(a->f, b->f)) fail_msg("%s differs: '%s' vs '%s'", #f, a->f ? a->f : "(null)", b->f ? b->f : "(null)")
#define EQ_I(f) if (a->f != b->f) fail_msg("%s differs: %lld vs %lld", #f, (long long)a->f, (long long)b->f)
#define EQ_J(f) if (!json_eq(a->f, b->f)) fail_msg("%s differs", #f)

static void config_assert_equal(const sp_config *x, const sp_config *y)
{
    {
        const sp_cfg_server *a = &x->server, *b = &y->server;
        EQ_S(bind); EQ_I(port); EQ_I(max_body_kb); EQ_I(threads); EQ_S(log_level); EQ_I(query_timeout_seconds);
    }
    assert_int_equal(x->n_tables, y->n_tables);
    for (size_t i = 0; i < x->n_tables; i++) {
        const sp_cfg_table *a = &x->tables[i], *b = &y->tables[i];
        EQ_S(name); EQ_S(hash_key); EQ_S(hash_key_type); EQ_S(range_key); EQ_S(range_key_type);
        EQ_S(stream_view_type); EQ_I(stream_retention_hours);
    }
    assert_int_equal(x->n_streams, y->n_streams);
    for (size_t i = 0; i < x->n_streams; i++) {
        const sp_cfg_stream *a = &x->streams[i], *b = &y->streams[i];
        EQ_S(name); EQ_I(shard_count); EQ_I(retention_hours); EQ_S(fsync);
        EQ_I(fsync_interval_ms); EQ_I(segment_mb);
    }
    assert_int_equal(x->n_pipes, y->n_pipes);
    for (size_t i = 0; i < x->n_pipes; i++) {
        const sp_cfg_pipe *a = &x->pipes[i], *b = &y->pipes[i];
        EQ_S(name); EQ_S(source_table); EQ_S(target_stream); EQ_S(starting_position);
        EQ_I(batch_size); EQ_I(batching_window_seconds); EQ_S(partition_key_path); EQ_J(filters);
    }
    assert_int_equal(x->n_deliveries, y->n_deliveries);
    for (size_t i = 0; i < x->n_deliveries; i++) {
        const sp_cfg_delivery *a = &x->deliveries[i], *b = &y->deliveries[i];
        EQ_S(name); EQ_S(source_stream); EQ_S(bucket); EQ_S(prefix); EQ_S(error_output_prefix);
        EQ_I(buffer_size_mb); EQ_I(buffer_interval_seconds); EQ_S(compression);
        EQ_I(append_delimiter); EQ_J(processors); EQ_J(dynamic_partitioning);
    }
    assert_int_equal(x->n_buckets, y->n_buckets);
    for (size_t i = 0; i < x->n_buckets; i++) {
        const sp_cfg_bucket *a = &x->buckets[i], *b = &y->buckets[i];
        EQ_S(name);
    }
    assert_int_equal(x->n_classifiers, y->n_classifiers);
    for (size_t i = 0; i < x->n_classifiers; i++) {
        const sp_cfg_classifier *a = &x->classifiers[i], *b = &y->classifiers[i];
        EQ_S(name); EQ_S(json_path);
    }
    assert_int_equal(x->n_crawlers, y->n_crawlers);
    for (size_t i = 0; i < x->n_crawlers; i++) {
        const sp_cfg_crawler *a = &x->crawlers[i], *b = &y->crawlers[i];
        EQ_S(name); EQ_S(database); EQ_S(bucket); EQ_S(path); EQ_S(classifier);
        EQ_S(schema_change_policy);
    }
    assert_int_equal(x->n_credentials, y->n_credentials);
    for (size_t i = 0; i < x->n_credentials; i++) {
        const sp_cfg_credential *a = &x->credentials[i], *b = &y->credentials[i];
        EQ_S(access_key_id); EQ_S(secret_access_key); EQ_J(allow);
    }
}

/* Prints cfg, parses the text back, and checks the result equals cfg. */
static void assert_round_trips(const sp_config *cfg)
{
    char *yaml = sp_config_to_yaml(cfg, SP_CONFIG_SECRETS_SHOWN);
    assert_non_null(yaml);
    sp_err e = {0};
    sp_config *back = sp_config_parse("printed.yaml", yaml, strlen(yaml), &e);
    if (!back) fail_msg("printed config does not parse: %s\n%s", e.msg, yaml);
    config_assert_equal(cfg, back);
    char *again = sp_config_to_yaml(back, SP_CONFIG_SECRETS_SHOWN);
    /* Same text apart from the first line, which names the source. */
    assert_string_equal(strchr(yaml, '\n'), strchr(again, '\n'));
    free(again);
    free(yaml);
    sp_config_destroy(back);
}

/* ---- defaults --------------------------------------------------------------------------- */

static void defaults_are_the_seed_pipeline(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = sp_config_defaults(&e);
    assert_non_null(cfg);
    assert_string_equal(cfg->source, "(seed defaults)");
    assert_string_equal(cfg->server.bind, "127.0.0.1");
    assert_int_equal(cfg->server.port, 4566);
    assert_int_equal(cfg->server.query_timeout_seconds, 300); /* QRY_TIMEOUT_DEFAULT_SECONDS */

    const sp_cfg_table *t = sp_config_table(cfg, "OrdersRawTable");
    assert_non_null(t);
    assert_string_equal(t->hash_key, "orderid");
    assert_string_equal(t->hash_key_type, "S");
    assert_null(t->range_key);
    assert_string_equal(t->stream_view_type, "NEW_AND_OLD_IMAGES");

    assert_non_null(sp_config_stream(cfg, "kinesis-for-sales-data"));
    assert_int_equal(cfg->n_pipes, 1);
    assert_string_equal(cfg->pipes[0].name, "orders-cdc-pipe");
    assert_string_equal(cfg->pipes[0].source_table, "OrdersRawTable");
    assert_string_equal(cfg->pipes[0].target_stream, "kinesis-for-sales-data");
    assert_string_equal(cfg->pipes[0].starting_position, "TRIM_HORIZON");

    const sp_cfg_delivery *d = sp_config_delivery(cfg, "sales-delivery-stream");
    assert_non_null(d);
    assert_string_equal(d->source_stream, "kinesis-for-sales-data");
    assert_string_equal(d->bucket, "kinesis-firehose-destination-yb");
    assert_true(json_is_array(d->processors));
    assert_string_equal(json_string_value(json_object_get(json_array_get(d->processors, 0),
                                                          "type")), "dynamodb-cdc");
    assert_true(d->buffer_size_mb >= 1 && d->buffer_size_mb <= 128);
    assert_true(d->buffer_interval_seconds >= 0 && d->buffer_interval_seconds <= 900);

    assert_int_equal(cfg->n_buckets, 1);
    assert_string_equal(cfg->buckets[0].name, "kinesis-firehose-destination-yb");
    assert_non_null(sp_config_classifier(cfg, "sales-json-classifier"));
    const sp_cfg_crawler *c = sp_config_crawler(cfg, "sales-crawler");
    assert_non_null(c);
    assert_string_equal(c->database, "sales_db");
    assert_string_equal(c->bucket, "kinesis-firehose-destination-yb");
    assert_string_equal(c->classifier, "sales-json-classifier");

    assert_null(sp_config_table(cfg, "Nope"));
    assert_null(sp_config_table(cfg, NULL));
    sp_config_destroy(cfg);
}

static void defaults_round_trip(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = sp_config_defaults(&e);
    assert_non_null(cfg);
    assert_round_trips(cfg);
    sp_config_destroy(cfg);
}

/* ---- a full file ------------------------------------------------------------------------ */

static const char full_yaml[] =
    "server:\n"
    "  port: 0\n"
    "  log_level: debug\n"
    "tables:\n"
    "  - name: Orders\n"
    "    hash_key: pk\n"
    "    hash_key_type: N\n"
    "    range_key: sk\n"
    "    range_key_type: B\n"
    "    stream_view_type: KEYS_ONLY\n"
    "  - name: Plain\n"
    "    hash_key: id\n"
    "streams:\n"
    "  - {name: s1, shard_count: 4, fsync: batch}\n"
    "pipes:\n"
    "  - name: p1\n"
    "    source_table: Orders\n"
    "    target_stream: s1\n"
    "    starting_position: LATEST\n"
    "    batch_size: 10000\n"
    "    partition_key_path: $.dynamodb.Keys.pk.N\n"
    "    filters:\n"
    "      - eventName: [INSERT, MODIFY]\n"
    "        dynamodb:\n"
    "          NewImage:\n"
    "            price: {N: [{numeric: ['>', 100]}]}\n"
    "            code: ['007', \"12\", 12, 1.5, -3, true, null, ~, '']\n"
    "delivery_streams:\n"
    "  - name: d1\n"
    "    source_stream: s1\n"
    "    bucket: lake-b\n"
    "    prefix: \"data/!{timestamp:yyyy}/ # not a comment: 'q' \\\"dq\\\"\\n\"\n"
    "    error_output_prefix: 'errors/!{firehose:error-output-type}/'\n"
    "    compression: GZIP\n"
    "    append_delimiter: yes\n"
    "    buffer_interval_seconds: 0\n"
    "    processors: [{type: jq, query: '.a | {b: .}'}, {type: lambda, function: x}]\n"
    "    dynamic_partitioning: {queries: {customer: .customer_id}}\n"
    "  - name: direct\n"
    "    bucket: lake-b\n"
    "buckets:\n"
    "  - name: lake-b\n"
    "classifiers:\n"
    "  - name: c1\n"
    "    json_path: $.records[*]\n"
    "crawlers:\n"
    "  - name: cr\n"
    "    database: db\n"
    "    bucket: lake-b\n"
    "    path: data/\n"
    "    classifier: c1\n"
    "    schema_change_policy: LOG\n";

static void full_file_parses_every_field(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = parse(full_yaml, &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_string_equal(cfg->source, "t.yaml");
    assert_int_equal(cfg->server.port, 0);
    assert_string_equal(cfg->server.log_level, "debug");
    assert_string_equal(cfg->server.bind, "127.0.0.1"); /* server starts from the defaults */
    assert_int_equal(cfg->n_tables, 2);
    assert_string_equal(cfg->tables[0].range_key, "sk");
    assert_string_equal(cfg->tables[0].range_key_type, "B");
    assert_null(cfg->tables[1].stream_view_type);
    assert_int_equal(cfg->tables[1].stream_retention_hours, 24);
    assert_int_equal(cfg->streams[0].shard_count, 4);
    assert_string_equal(cfg->streams[0].fsync, "batch");
    assert_int_equal(cfg->pipes[0].batch_size, 10000);
    assert_string_equal(cfg->pipes[0].partition_key_path, "$.dynamodb.Keys.pk.N");

    /* YAML scalars become JSON by their look: quoted stays a string. */
    json_t *code = json_object_get(json_object_get(json_object_get(json_object_get(
        json_array_get(cfg->pipes[0].filters, 0), "dynamodb"), "NewImage"), "code"), "");
    (void)code;
    json_t *want = json_loads(
        "[{\"eventName\":[\"INSERT\",\"MODIFY\"],\"dynamodb\":{\"NewImage\":{"
        "\"price\":{\"N\":[{\"numeric\":[\">\",100]}]},"
        "\"code\":[\"007\",\"12\",12,1.5,-3,true,null,null,\"\"]}}}]", 0, NULL);
    assert_non_null(want);
    assert_true(json_equal(cfg->pipes[0].filters, want));
    json_decref(want);

    const sp_cfg_delivery *d = sp_config_delivery(cfg, "d1");
    assert_string_equal(d->prefix, "data/!{timestamp:yyyy}/ # not a comment: 'q' \"dq\"\n");
    assert_string_equal(d->error_output_prefix, "errors/!{firehose:error-output-type}/");
    assert_true(d->append_delimiter);
    assert_int_equal(d->buffer_interval_seconds, 0);
    assert_int_equal(d->buffer_size_mb, 5);
    assert_int_equal(json_array_size(d->processors), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(d->processors, 0),
                                                          "query")), ".a | {b: .}");
    const sp_cfg_delivery *direct = sp_config_delivery(cfg, "direct");
    assert_null(direct->source_stream);
    assert_string_equal(direct->compression, "UNCOMPRESSED");
    assert_false(direct->append_delimiter);
    assert_string_equal(cfg->classifiers[0].json_path, "$.records[*]");
    assert_string_equal(cfg->crawlers[0].schema_change_policy, "LOG");
    sp_config_destroy(cfg);
}

static void full_file_round_trips(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = parse(full_yaml, &e);
    assert_non_null(cfg);
    assert_round_trips(cfg);
    sp_config_destroy(cfg);
}

static void sections_absent_from_file_are_empty(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = parse("buckets:\n  - name: only\n", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_buckets, 1);
    assert_int_equal(cfg->n_tables, 0);
    assert_int_equal(cfg->n_pipes, 0);
    assert_int_equal(cfg->n_crawlers, 0);
    assert_round_trips(cfg);
    sp_config_destroy(cfg);

    cfg = parse("", &e); /* an empty file: no resources, default server */
    assert_non_null(cfg);
    assert_int_equal(cfg->n_tables + cfg->n_streams + cfg->n_buckets, 0);
    assert_int_equal(cfg->server.port, 4566);
    sp_config_destroy(cfg);

    cfg = parse("tables:\nstreams: []\n", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_tables + cfg->n_streams, 0);
    sp_config_destroy(cfg);
}

static void strange_strings_round_trip(void **state)
{
    (void)state;
    /* Characters YAML will not take raw, or would fold as line breaks, must be escaped when
     * printed; numbers-looking strings must stay strings and vice versa. */
    const char *yaml =
        "buckets: [{name: b}]\n"
        "delivery_streams:\n"
        "  - name: \"d\\x7f\\x85\\u2028\\u2029\\ufeff\\x01\\t\\x9f\\u00e9\\U0001F600\\\\\\\"'\"\n"
        "    bucket: b\n"
        "    prefix: \"a\\0b\"\n"
        "    processors:\n"
        "      - type: jq\n"
        "        q: \"\\0\\x7f\\x85\\u2028 \\U0001F600 \\\" \\\\ \\r\\n\"\n"
        "        nums: [0x10, 1e999, +5, -0.5e-3, 1., inf, -nan, 1e5, 12abc, 007, '1', \"2.0\"]\n"
        "        \"key: with # stuff\": {\"\": [], nested: [[{}]]}\n";
    sp_err e = {0};
    sp_config *cfg = parse(yaml, &e);
    if (!cfg) fail_msg("%s", e.msg);
    const sp_cfg_delivery *d = &cfg->deliveries[0];
    assert_string_equal(d->name, "d\x7f\xc2\x85\xe2\x80\xa8\xe2\x80\xa9\xef\xbb\xbf\x01\t"
                                 "\xc2\x9f\xc3\xa9\xf0\x9f\x98\x80\\\"'");
    assert_string_equal(d->prefix, "a"); /* a C string ends at NUL */
    json_t *proc = json_array_get(d->processors, 0);
    json_t *q = json_object_get(proc, "q");
    assert_int_equal(json_string_length(q), 19);
    assert_memory_equal(json_string_value(q), "\0\x7f\xc2\x85\xe2\x80\xa8 \xf0\x9f\x98\x80 \" \\ \r\n", 19);
    json_t *want = json_loads("[\"0x10\", \"1e999\", 5, -0.0005, 1.0, \"inf\", \"-nan\", 100000.0,"
                              " \"12abc\", 7, \"1\", \"2.0\"]", 0, NULL);
    assert_true(json_equal(json_object_get(proc, "nums"), want));
    json_decref(want);
    assert_round_trips(cfg);
    sp_config_destroy(cfg);
}

static void defaults_seed_keeps_seed_sections(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = parse("defaults: seed\n"
                           "server: {port: 8000}\n"
                           "buckets:\n  - name: kinesis-firehose-destination-yb\n"
                           "  - name: extra\n", &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_int_equal(cfg->server.port, 8000);
    assert_int_equal(cfg->n_buckets, 2); /* replaced by the file's section */
    assert_non_null(sp_config_table(cfg, "OrdersRawTable"));
    assert_non_null(sp_config_crawler(cfg, "sales-crawler"));
    assert_int_equal(cfg->n_pipes, 1);
    assert_round_trips(cfg);
    sp_config_destroy(cfg);

    cfg = parse("defaults: none\n", &e);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_tables, 0);
    sp_config_destroy(cfg);
}

/* ---- errors: file, line, key ------------------------------------------------------------ */

static void unknown_key(void **state)
{
    (void)state;
    expect_error("tables:\n  - name: T\n    hash_key: k\n    colour: red\n",
                 "t.yaml:4: tables[0].colour: unknown key");
    expect_error("server:\n  prot: 1\n", "t.yaml:2: server.prot: unknown key");
    expect_error("tabels: []\n", "t.yaml:1: tabels: unknown section");
}

static void wrong_type(void **state)
{
    (void)state;
    expect_error("server:\n  port: [1, 2]\n", "t.yaml:2: server.port: must be a single value");
    expect_error("server:\n  port: eighty\n", "t.yaml:2: server.port: 'eighty' is not an integer");
    expect_error("server:\n  port: 80.5\n", "t.yaml:2: server.port: '80.5' is not an integer");
    expect_error("server:\n  port: \n", "t.yaml:2: server.port: '' is not an integer");
    expect_error("buckets:\n  - name: b\ndelivery_streams:\n  - name: d\n    bucket: b\n"
                 "    append_delimiter: maybe\n",
                 "t.yaml:6: delivery_streams[0].append_delimiter: 'maybe' is not true or false");
    expect_error("tables: {name: T}\n", "t.yaml:1: tables: must be a list");
    expect_error("tables:\n  - just-a-name\n", "t.yaml:2: tables[0]: must be a mapping");
    expect_error("server: 8080\n", "t.yaml:1: server: must be a mapping");
    expect_error("- a\n- b\n", "t.yaml:1: (top): the document must be a mapping");
    expect_error("{[a]: 1}\n", "t.yaml:1: (top): keys must be plain names");
    expect_error("streams:\n  - name: s\n"
                 "pipes:\n  - name: p\n    source_table: t\n    target_stream: s\n"
                 "    filters: {eventName: INSERT}\n",
                 "t.yaml:7: pipes[0].filters: must be a list");
}

static void out_of_range(void **state)
{
    (void)state;
    expect_error("tables: [{name: T, hash_key: k, stream_view_type: NEW_IMAGE}]\n"
                 "streams: [{name: s}]\n"
                 "pipes:\n  - name: p\n    source_table: T\n    target_stream: s\n"
                 "    batch_size: 0\n",
                 "t.yaml:7: pipes[0].batch_size: must be between 1 and 10000, got 0");
    expect_error("server:\n  port: 65536\n",
                 "t.yaml:2: server.port: must be between 0 and 65535, got 65536");
    expect_error("server:\n  port: -1\n",
                 "t.yaml:2: server.port: must be between 0 and 65535, got -1");
    expect_error("server:\n  query_timeout_seconds: -5\n",
                 "t.yaml:2: server.query_timeout_seconds: must be between 0 and 86400, got -5");
    expect_error("server:\n  query_timeout_seconds: 86401\n",
                 "t.yaml:2: server.query_timeout_seconds: must be between 0 and 86400, got 86401");
    expect_error("server:\n  port: 99999999999999999999999\n",
                 "t.yaml:2: server.port: '99999999999999999999999' is not an integer");
    expect_error("buckets: [{name: b}]\n"
                 "delivery_streams:\n  - name: d\n    bucket: b\n    buffer_size_mb: 129\n",
                 "t.yaml:5: delivery_streams[0].buffer_size_mb: must be between 1 and 128, got 129");
}

static void bad_choice(void **state)
{
    (void)state;
    expect_error("tables:\n  - name: T\n    hash_key: k\n    hash_key_type: X\n",
                 "t.yaml:4: tables[0].hash_key_type: 'X' is not one of S|N|B");
    expect_error("server: {log_level: loud}\n",
                 "t.yaml:1: server.log_level: 'loud' is not one of debug|info|warn|error|off");
    expect_error("defaults: everything\n",
                 "t.yaml:1: defaults: 'everything' is not one of seed|none");
    expect_error("defaults: [seed]\n", "t.yaml:1: defaults: must be seed or none");
}

static void required_and_empty_names(void **state)
{
    (void)state;
    expect_error("tables:\n  - name: T\n", "t.yaml:2: tables[0].hash_key: is required");
    expect_error("buckets:\n  - {}\n", "t.yaml:2: buckets[0].name: is required");
    expect_error("buckets:\n  - name: ''\n", "t.yaml:2: buckets[0].name: must not be empty");
}

static void duplicates(void **state)
{
    (void)state;
    expect_error("buckets:\n  - name: a\n  - name: b\n  - name: a\n",
                 "t.yaml:4: buckets[2]: duplicate name 'a'");
    expect_error("tables:\n  - name: T\n    hash_key: a\n    hash_key: b\n",
                 "t.yaml:4: tables[0].hash_key: duplicate key");
    expect_error("buckets: []\nbuckets: [{name: x}]\n", "t.yaml:2: buckets: duplicate section");
}

static void dangling_references(void **state)
{
    (void)state;
    expect_error("tables: [{name: T, hash_key: k, stream_view_type: NEW_IMAGE}]\n"
                 "streams: [{name: s}]\n"
                 "pipes:\n  - name: p\n    target_stream: s\n    source_table: Nope\n",
                 "t.yaml:6: pipes[0].source_table: 'Nope' is not a configured table");
    expect_error("tables: [{name: T, hash_key: k}]\n"
                 "streams: [{name: s}]\n"
                 "pipes:\n  - name: p\n    source_table: T\n    target_stream: s\n",
                 "t.yaml:5: pipes[0].source_table: table 'T' has no stream_view_type");
    expect_error("tables: [{name: T, hash_key: k, stream_view_type: NEW_IMAGE}]\n"
                 "pipes:\n  - name: p\n    source_table: T\n    target_stream: gone\n",
                 "t.yaml:5: pipes[0].target_stream: 'gone' is not a configured stream");
    expect_error("buckets: [{name: b}]\n"
                 "delivery_streams:\n  - name: d\n    bucket: b\n    source_stream: s\n",
                 "t.yaml:5: delivery_streams[0].source_stream: 's' is not a configured stream");
    expect_error("delivery_streams:\n  - name: d\n    bucket: nob\n",
                 "t.yaml:3: delivery_streams[0].bucket: 'nob' is not a configured bucket");
    expect_error("buckets: [{name: b}]\n"
                 "delivery_streams:\n  - name: d\n    bucket: b\n    processors: {type: jq}\n",
                 "t.yaml:5: delivery_streams[0].processors: must be a list");
    expect_error("buckets: [{name: b}]\n"
                 "crawlers:\n  - name: c\n    database: db\n    bucket: b\n    classifier: x\n",
                 "t.yaml:6: crawlers[0].classifier: 'x' is not a configured classifier");
    expect_error("crawlers:\n  - name: c\n    database: db\n    bucket: b\n",
                 "t.yaml:4: crawlers[0].bucket: 'b' is not a configured bucket");
    /* A seed resource left dangling by the file: the line is the `defaults: seed` that
     * brought it in. */
    expect_error("\ndefaults: seed\nstreams: []\n",
                 "t.yaml:2: pipes[0].target_stream: 'kinesis-for-sales-data' is not a "
                 "configured stream");
}

static void invalid_yaml(void **state)
{
    (void)state;
    sp_err e;
    static const char *bad[] = {
        "tables: [\n", "a: b: c\n", "key: 'unterminated\n", "\t- tab\n", "a: &x 1\nb: *y\n",
        "a:\n  - 1\n b: 2\n",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        assert_null(parse(bad[i], &e));
        assert_string_equal(e.code, "InvalidConfiguration");
        assert_memory_equal(e.msg, "t.yaml:", 7);
        assert_non_null(strstr(e.msg, ": not valid YAML: "));
    }
    assert_null(parse("\n\nkey: [1, 2\n", &e));
    assert_memory_equal(e.msg, "t.yaml:4: not valid YAML", 24);
}

static void aliases_cannot_blow_up(void **state)
{
    (void)state;
    /* Ten levels of ten aliases would be 10^10 nodes if expanded. */
    sp_str y;
    sp_str_init(&y, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&y, "streams: [{name: s}]\n"
                    "tables: [{name: T, hash_key: k, stream_view_type: NEW_IMAGE}]\n"
                    "pipes:\n  - name: p\n    source_table: T\n    target_stream: s\n"
                    "    filters:\n"
                    "      - &a0 [1,1,1,1,1,1,1,1,1,1]\n");
    for (int i = 1; i <= 10; i++) {
        sp_str_appendf(&y, "      - &a%d [", i);
        for (int k = 0; k < 10; k++) sp_str_appendf(&y, "%s*a%d", k ? "," : "", i - 1);
        sp_str_puts(&y, "]\n");
    }
    char *text = sp_str_finish(&y, NULL);
    sp_err e;
    sp_config *cfg = parse(text, &e);
    assert_null(cfg);
    assert_string_equal(e.code, "InvalidConfiguration");
    assert_memory_equal(e.msg, "t.yaml:8: pipes[0].filters: cannot be read as a value", 52);
    free(text);
    /* ...while a modest alias is fine. */
    cfg = parse("streams: [{name: s}]\n"
                "tables: [{name: T, hash_key: k, stream_view_type: NEW_IMAGE}]\n"
                "pipes:\n  - name: p\n    source_table: T\n    target_stream: s\n"
                "    filters: [&f {eventName: [INSERT]}, *f]\n", &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_int_equal(json_array_size(cfg->pipes[0].filters), 2);
    sp_config_destroy(cfg);
}

static void load_reads_a_file_and_names_it(void **state)
{
    (void)state;
    char path[] = "/tmp/sp_config_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "buckets:\n  - name: from-file\n  - name: 7\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    sp_err e = {0};
    sp_config *cfg = sp_config_load(path, &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_string_equal(cfg->source, path);
    assert_string_equal(cfg->buckets[1].name, "7");
    sp_config_destroy(cfg);

    fd = open(path, O_WRONLY | O_TRUNC);
    assert_true(fd >= 0);
    text = "buckets:\n  - nom: x\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    assert_null(sp_config_load(path, &e));
    char want[128];
    snprintf(want, sizeof want, "%s:2: buckets[0].nom: unknown key", path);
    assert_string_equal(e.msg, want);
    unlink(path);

    sp_err_clear(&e);
    assert_null(sp_config_load("/nonexistent/salespipe.yaml", &e));
    assert_string_equal(e.code, "InvalidConfiguration");
    assert_string_equal(e.msg, "/nonexistent/salespipe.yaml: cannot open: No such file or directory");
}

/* ---- credentials ------------------------------------------------------------------------ */

static const char credentials_yaml[] =
    "defaults: seed\n"
    "credentials:\n"
    "  - access_key_id: AKIDPIPEROLE\n"
    "    secret_access_key: \"pipe/secret+key\"\n"
    "    allow: [\"dynamodb:Describe*\", \"dynamodb:GetRecords\", \"kinesis:PutRecord*\"]\n"
    "  - access_key_id: AKIDADMIN\n"
    "    secret_access_key: admin-secret\n";

static void credentials_parse_and_round_trip(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_config *cfg = parse(credentials_yaml, &e);
    if (!cfg) fail_msg("%s", e.msg);
    assert_int_equal(cfg->n_credentials, 2);
    const sp_cfg_credential *pipe = sp_config_credential(cfg, "AKIDPIPEROLE");
    assert_non_null(pipe);
    assert_string_equal(pipe->secret_access_key, "pipe/secret+key");
    assert_int_equal(json_array_size(pipe->allow), 3);
    assert_string_equal(json_string_value(json_array_get(pipe->allow, 2)), "kinesis:PutRecord*");
    const sp_cfg_credential *admin = sp_config_credential(cfg, "AKIDADMIN");
    assert_non_null(admin);
    assert_null(admin->allow); /* absent: every action */
    assert_null(sp_config_credential(cfg, "AKIDNOBODY"));
    assert_null(sp_config_credential(cfg, NULL));
    assert_round_trips(cfg);
    sp_config_destroy(cfg);

    /* The seed has no credentials: the endpoint stays open unless a file adds some. */
    cfg = sp_config_defaults(&e);
    assert_int_equal(cfg->n_credentials, 0);
    sp_config_destroy(cfg);
}

static void credentials_refused(void **state)
{
    (void)state;
    expect_error("credentials:\n  - access_key_id: A\n",
                 "t.yaml:2: credentials[0].secret_access_key: is required");
    expect_error("credentials:\n  - {access_key_id: A, secret_access_key: s}\n"
                 "  - {access_key_id: A, secret_access_key: t}\n",
                 "t.yaml:3: credentials[1]: duplicate name 'A'");
    expect_error("credentials:\n  - access_key_id: A/B\n    secret_access_key: s\n",
                 "t.yaml:2: credentials[0].access_key_id: must be 1 to 128 printable characters "
                 "without spaces, '/', ',' or '='");
    expect_error("credentials:\n  - access_key_id: A\n    secret_access_key: s\n"
                 "    allow: [dynamodb]\n",
                 "t.yaml:4: credentials[0].allow[0]: must be \"*\" or \"service:Action\" "
                 "(e.g. \"dynamodb:*\", \"s3:GetObject\")");
    expect_error("credentials:\n  - access_key_id: A\n    secret_access_key: s\n"
                 "    allow: [\"s3:Get\", 7]\n",
                 "t.yaml:4: credentials[0].allow[1]: must be \"*\" or \"service:Action\" "
                 "(e.g. \"dynamodb:*\", \"s3:GetObject\")");
    expect_error("credentials:\n  - access_key_id: A\n    secret_access_key: s\n"
                 "    allow: {dynamodb: yes}\n",
                 "t.yaml:4: credentials[0].allow: must be a list");
}

static bool no_odd_shards(const void *item, const char **key, sp_err *e)
{
    const sp_cfg_stream *st = item;
    if (st->shard_count % 2 == 0) return true;
    *key = "shard_count";
    sp_err_invalid(e, "must be even, got %lld", st->shard_count);
    return false;
}

/* A module's check runs over every item of its section after parsing and is reported like a
 * parse error: file, the line of the key, section[i].key. */
static void module_checks_name_file_line_and_key(void **state)
{
    (void)state;
    static const sp_cfg_check checks[] = {{"streams", no_odd_shards}, {0}};
    static const char yaml[] = "streams:\n  - name: a\n    shard_count: 2\n"
                               "  - name: b\n    retention_hours: 48\n    shard_count: 3\n";
    sp_err e = {0};
    assert_null(sp_config_parse_checked("m.yaml", yaml, sizeof yaml - 1, checks, &e));
    assert_string_equal(e.msg, "m.yaml:6: streams[1].shard_count: must be even, got 3");
    sp_err ok = {0};
    sp_config *cfg = sp_config_parse("m.yaml", yaml, sizeof yaml - 1, &ok);
    assert_non_null(cfg);                       /* without the check: accepted */
    sp_config_destroy(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(module_checks_name_file_line_and_key),
        cmocka_unit_test(defaults_are_the_seed_pipeline),
        cmocka_unit_test(defaults_round_trip),
        cmocka_unit_test(full_file_parses_every_field),
        cmocka_unit_test(full_file_round_trips),
        cmocka_unit_test(sections_absent_from_file_are_empty),
        cmocka_unit_test(strange_strings_round_trip),
        cmocka_unit_test(defaults_seed_keeps_seed_sections),
        cmocka_unit_test(unknown_key),
        cmocka_unit_test(wrong_type),
        cmocka_unit_test(out_of_range),
        cmocka_unit_test(bad_choice),
        cmocka_unit_test(required_and_empty_names),
        cmocka_unit_test(duplicates),
        cmocka_unit_test(dangling_references),
        cmocka_unit_test(invalid_yaml),
        cmocka_unit_test(aliases_cannot_blow_up),
        cmocka_unit_test(load_reads_a_file_and_names_it),
        cmocka_unit_test(credentials_parse_and_round_trip),
        cmocka_unit_test(credentials_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
