/* The engine: opens the stages so that each finds what it reads from already open (table,
 * stream, lake, delivery, pipe, catalog), registers their APIs, runs their workers, and
 * closes them in reverse.
 *
 * Each stage has its own block in the struct, in open, in listen, in close and in health,
 * marked with the stage's name, so stages are wired in independently. */
#include "engine.h"

#include <ftw.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api/api_model.h"
#include "catalog/catalog.h"
#include "core/fs.h"
#include "dash/dash.h"
#include "delivery/delivery.h"
#include "lake/lake.h"
#include "pipe/pipe.h"
#include "query/query.h"
#include "stream/stream.h"
#include "table/table.h"

enum { ENGINE_DISK_REFRESH_MS = 5000 }; /* sizes on disk are walked at most this often */

struct cli_engine {
    const sp_config *cfg;
    char *data_dir;
    api_server *server;
    bool workers_started;   /* pipes and delivery streams run (else: a read-only view) */
    pthread_mutex_t disk_mu;
    int64_t disk_at_ms;
    uint64_t disk_bytes[6];

    /* [table] */
    tbl_db *tables;
    api_service ddb_service, ddb_streams_service;

    /* [stream] */
    stm_log *stream;
    api_service kinesis;

    /* [pipe] */
    pip_engine *pipes;
    api_route pipes_route;

    /* [delivery] */
    dlv_service *delivery;
    api_service firehose_api;

    /* [lake] */
    lake *lake;
    api_route s3_route;

    /* [catalog/query] */
    cat_catalog *catalog;
    cat_glue *glue;
    api_service glue_service;
    qry_athena *athena;
    api_service athena_service;

    /* [dash] */
    dash *dash;
    api_route dash_route;
};

/* "<data_dir>/<name>" into buf. */
static const char *sub_dir(const cli_engine *en, const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s", en->data_dir, name);
    return buf;
}

/* The schema of record format conversion: the Glue table's columns (delivery's schema
 * source). A connection of its own per call, since it runs on a delivery worker's thread. */
static json_t *engine_schema(void *ctx, const char *database, const char *table, sp_err *e)
{
    cli_engine *en = ctx;
    cat_catalog *cat = cat_catalog_reopen(en->catalog, e);
    if (!cat) return NULL;
    cat_table *t = cat_table_get(cat, database, table, e);
    json_t *cols = NULL;
    if (t) {
        cols = json_array();
        for (size_t i = 0; i < t->n_columns; i++)
            json_array_append_new(cols, json_pack("[ss]", t->columns[i].name,
                                                  t->columns[i].type));
        cat_table_destroy(t);
    }
    cat_catalog_close(cat);
    return cols;
}

/* The columns the builtin dynamodb-cdc processor writes for the seed's table (DESIGN.md). */
static const char *const CDC_COLUMNS[][2] = {
    {"orderid", "string"}, {"product_name", "string"}, {"quantity", "bigint"},
    {"price", "double"}, {"cdc_event_type", "string"}, {"creation_datetime", "string"},
    {"sequence_number", "string"}};

/* A configured `format: parquet` delivery stream with no schema_table names
 * <stream>_schema; when that table is missing and the stream runs the dynamodb-cdc processor,
 * it is made from the processor's columns, so one configuration key switches the seed's
 * pipeline to Parquet. */
static bool engine_ensure_schema_tables(cli_engine *en, sp_err *e)
{
    for (size_t i = 0; i < en->cfg->n_deliveries; i++) {
        const sp_cfg_delivery *d = &en->cfg->deliveries[i];
        if (!d->format || strcmp(d->format, "parquet") || (d->schema_table && *d->schema_table))
            continue;
        const char *first = json_string_value(
            json_object_get(json_array_get(d->processors, 0), "type"));
        if (!first || strcmp(first, "dynamodb-cdc")) continue;
        char name[128];
        snprintf(name, sizeof name, "%s_schema", d->name);
        for (char *p = name; *p; p++)
            if (*p == '-' || *p == '.') *p = '_';
        const char *db = d->schema_database ? d->schema_database : "sales_db";
        sp_err ge = {0};
        cat_table *have = cat_table_get(en->catalog, db, name, &ge);
        if (have) {
            cat_table_destroy(have);
            continue;
        }
        json_t *dbj = cat_database_get(en->catalog, db, &ge);
        if (dbj) json_decref(dbj);
        else if (!cat_database_create(en->catalog, db, NULL, e)) return false;
        cat_column cols[SP_ARRAY_LEN(CDC_COLUMNS)];
        json_t *jcols = json_array();
        for (size_t c = 0; c < SP_ARRAY_LEN(CDC_COLUMNS); c++) {
            cols[c].name = (char *)CDC_COLUMNS[c][0];
            cols[c].type = (char *)CDC_COLUMNS[c][1];
            json_array_append_new(jcols, json_pack("{s:s, s:s}", "Name", CDC_COLUMNS[c][0],
                                                   "Type", CDC_COLUMNS[c][1]));
        }
        cat_table t = {.database = (char *)db, .name = name, .bucket = "", .prefix = "",
                       .location = "", .classification = "parquet", .json_path = "$",
                       .serde = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
                       .columns = cols, .n_columns = SP_ARRAY_LEN(CDC_COLUMNS)};
        t.parameters = json_pack("{s:s}", "classification", "parquet");
        json_t *input = json_pack(
            "{s:s, s:s, s:{s:s}, s:{s:o, s:s, s:s, s:{s:s}}}", "Name", name, "TableType",
            "EXTERNAL_TABLE", "Parameters", "classification", "parquet", "StorageDescriptor",
            "Columns", jcols, "InputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", "OutputFormat",
            "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", "SerdeInfo",
            "SerializationLibrary", t.serde);
        bool ok = cat_table_put(en->catalog, &t, input, true, e);
        json_decref(input);
        json_decref(t.parameters);
        if (!ok) return false;
    }
    return true;
}

static bool engine_open_stages(cli_engine *en, sp_err *e)
{
    char dir[4096];
    const sp_config *cfg = en->cfg;

    /* [table] */
    if (!sp_fs_mkdirs(sub_dir(en, "table", dir, sizeof dir), e)) return false;
    sp_durability durability = SP_DURABILITY_FSYNC;
    sp_durability_parse(cfg->server.durability, &durability); /* validated by the config */
    en->tables = tbl_db_open(dir, durability, e);
    if (!en->tables) return false;
    for (size_t i = 0; i < cfg->n_tables; i++)
        if (!tbl_table_ensure(en->tables, &cfg->tables[i], e)) return false;
    /* After the configured tables, which are ACTIVE at once. */
    tbl_db_set_status_ms(en->tables, cfg->server.status_transition_ms);

    /* [stream] */
    en->stream = stm_log_open(sub_dir(en, "stream", dir, sizeof dir), durability, e);
    if (!en->stream) return false;
    stm_log_set_options(en->stream, &(stm_log_options){
        .account_shard_limit = cfg->server.kinesis_account_shard_limit,
        .status_transition_ms = cfg->server.status_transition_ms});
    for (size_t i = 0; i < cfg->n_streams; i++)
        if (!stm_stream_ensure(en->stream, &cfg->streams[i], e)) return false;

    /* [lake] */
    en->lake = lake_open(sub_dir(en, "lake", dir, sizeof dir), e);
    if (!en->lake) return false;
    for (size_t i = 0; i < cfg->n_buckets; i++)
        if (!lake_bucket_create(en->lake, cfg->buckets[i].name, e)) return false;

    /* [delivery] */
    en->delivery = dlv_service_open(sub_dir(en, "delivery", dir, sizeof dir), cfg, en->lake,
                                    en->stream, e);
    if (!en->delivery) return false;

    /* [pipe] */
    en->pipes = pip_engine_open(sub_dir(en, "pipe", dir, sizeof dir), cfg, en->tables, en->stream, e);
    if (!en->pipes) return false;

    /* [catalog/query] */
    en->catalog = cat_catalog_open(sub_dir(en, "catalog", dir, sizeof dir), e);
    if (!en->catalog) return false;
    if (!engine_ensure_schema_tables(en, e)) return false;
    dlv_service_set_schema_source(en->delivery, engine_schema, en);

    return true;
}

cli_engine *cli_engine_open(const sp_config *cfg, const char *data_dir, sp_err *e)
{
    if (!sp_fs_mkdirs(data_dir, e)) return NULL;
    cli_engine *en = calloc(1, sizeof *en);
    pthread_mutex_init(&en->disk_mu, NULL);
    en->cfg = cfg;
    en->data_dir = strdup(data_dir);
    if (!engine_open_stages(en, e)) {
        cli_engine_close(en);
        return NULL;
    }
    return en;
}

bool cli_engine_listen(cli_engine *en, const api_options *opt, sp_err *e)
{
    en->server = api_server_new(opt);
    api_server_set_health(en->server, cli_engine_health, en);
    api_server_set_metrics(en->server, cli_engine_metrics, en);

    /* [dash] first, so /_salespipe/ never reaches the S3 routes */
    en->dash = dash_new(&(dash_sources){.cfg = en->cfg, .tables = en->tables,
                                        .stream = en->stream, .lake = en->lake,
                                        .catalog = en->catalog, .health = cli_engine_health,
                                        .health_arg = en});
    en->dash_route = (api_route){.name = "dash", .fn = dash_handle, .ctx = en->dash};
    api_server_add_route(en->server, &en->dash_route);

    /* [table] */
    en->ddb_service = (api_service){
        .name = "dynamodb",
        .target_prefix = "DynamoDB_20120810",
        .error_namespace = "com.amazonaws.dynamodb.v20120810#",
        .content_type = "application/x-amz-json-1.0",
        .ops = tbl_ddb_ops,
        .ctx = en->tables,
        .model = &api_model_dynamodb,
    };
    en->ddb_streams_service = en->ddb_service;
    en->ddb_streams_service.model = NULL;
    en->ddb_streams_service.name = "dynamodbstreams";
    en->ddb_streams_service.target_prefix = "DynamoDBStreams_20120810";
    en->ddb_streams_service.ops = tbl_streams_ops;
    api_server_add_service(en->server, &en->ddb_service);
    api_server_add_service(en->server, &en->ddb_streams_service);

    /* [stream] */
    en->kinesis = (api_service){"kinesis", "Kinesis_20131202", "", "application/x-amz-json-1.1",
                                stm_kinesis_ops, en->stream, &api_model_kinesis, true,
                                stm_kinesis_raw_ops};
    api_server_add_service(en->server, &en->kinesis);

    /* [pipe] */
    en->pipes_route = (api_route){.name = "pipes", .fn = pip_rest_handle, .ctx = en->pipes};
    api_server_add_route(en->server, &en->pipes_route);

    /* [delivery] */
    en->firehose_api = (api_service){"firehose", "Firehose_20150804", "",
                                     "application/x-amz-json-1.1", dlv_firehose_ops,
                                     en->delivery, NULL, false, NULL};
    api_server_add_service(en->server, &en->firehose_api);

    /* [lake] */
    en->s3_route = (api_route){.name = "s3", .fn = lake_s3_handle, .ctx = en->lake};
    api_server_add_route(en->server, &en->s3_route);

    /* [catalog/query] */
    /* The Glue and Athena endpoints (and their crawl/query threads) exist only while
     * serving, so an engine that is not listening stays a read-only view. */
    en->glue = cat_glue_new(en->cfg, en->catalog, en->lake, e);
    en->athena = en->glue ? qry_athena_new(en->catalog, en->lake,
                                               en->cfg->server.query_timeout_seconds, e) : NULL;
    if (!en->athena) {
        api_server_destroy(en->server);
        en->server = NULL;
        return false;
    }
    en->glue_service = (api_service){.name = "glue", .target_prefix = "AWSGlue",
                                     .error_namespace = "",
                                     .content_type = "application/x-amz-json-1.1",
                                     .ops = cat_glue_ops, .ctx = en->glue};
    api_server_add_service(en->server, &en->glue_service);
    en->athena_service = (api_service){.name = "athena", .target_prefix = "AmazonAthena",
                                       .error_namespace = "",
                                       .content_type = "application/x-amz-json-1.1",
                                       .ops = qry_athena_ops, .ctx = en->athena};
    api_server_add_service(en->server, &en->athena_service);

    if (!api_server_start(en->server, e)) {
        api_server_destroy(en->server);
        en->server = NULL;
        return false;
    }
    return true;
}

int cli_engine_port(const cli_engine *en) { return en->server ? api_server_port(en->server) : 0; }

int cli_engine_service_port(const cli_engine *en, const char *service)
{
    return en->server ? api_server_service_port(en->server, service) : 0;
}

static uint64_t du_total;

static int du_add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F) du_total += (uint64_t)st->st_blocks * 512u;
    return 0;
}

/* Bytes a directory tree occupies on disk (0 if it does not exist). */
static uint64_t dir_bytes(const char *dir)
{
    static pthread_mutex_t du_mu = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&du_mu); /* nftw has no context argument */
    du_total = 0;
    nftw(dir, du_add, 16, FTW_PHYS);
    uint64_t n = du_total;
    pthread_mutex_unlock(&du_mu);
    return n;
}

/* A stage runs only when its API is served (serving) or, for the pipes and delivery
 * streams, when their workers run; an engine opened read-only (status --offline) shows what
 * it holds but never running=true. Resources inside a collection follow their service. */
static void mark_running(json_t *services, bool serving, bool workers)
{
    const char *name;
    json_t *svc;
    json_object_foreach(services, name, svc) {
        bool worker_stage = !strcmp(name, "pipes") || !strcmp(name, "firehose");
        bool may_run = serving || (worker_stage && workers);
        if (may_run) continue;
        if (json_object_get(svc, "running")) json_object_set_new(svc, "running", json_false());
        const char *field;
        json_t *coll;
        json_object_foreach(svc, field, coll) {
            const char *res;
            json_t *r;
            if (!json_is_object(coll)) continue;
            json_object_foreach(coll, res, r)
                if (json_is_object(r) && json_object_get(r, "running"))
                    json_object_set_new(r, "running", json_false());
        }
    }
}

json_t *cli_engine_health(void *engine)
{
    cli_engine *en = engine;
    json_t *services = json_object();
    json_t *http = json_pack("{s:b}", "running", en->server != NULL);
    /* The worker pool, so a benchmark can check the HTTP floor runs the same (bench/floor.c). */
    if (en->server)
        json_object_set_new(http, "threads", json_integer(api_server_threads(en->server)));
    json_object_set_new(services, "http", http);

    /* [table] */
    json_t *ddb = json_pack("{s:b}", "running", en->tables != NULL);
    if (en->tables) {
        uint64_t writes, groups, syncs;
        tbl_db_commit_stats(en->tables, &writes, &groups, &syncs);
        json_object_set_new(ddb, "writes", json_integer((json_int_t)writes));
        json_object_set_new(ddb, "group_commits", json_integer((json_int_t)groups));
        json_object_set_new(ddb, "wal_syncs", json_integer((json_int_t)syncs));
    }
    json_object_set_new(services, "dynamodb", ddb);
    json_object_set_new(services, "dynamodbstreams",
                        json_pack("{s:b}", "running", en->tables != NULL));

    /* [stream] */
    json_object_set_new(services, "kinesis", json_pack("{s:b}", "running", en->stream != NULL));

    /* [pipe] */
    if (en->pipes) json_object_set_new(services, "pipes", pip_engine_health(en->pipes));

    /* [delivery] */
    if (en->delivery) json_object_set_new(services, "firehose", dlv_service_health(en->delivery));

    /* [lake] */
    json_object_set_new(services, "s3", json_pack("{s:b}", "running", en->lake != NULL));

    /* [catalog/query] */
    json_object_set_new(services, "catalog", json_pack("{s:b}", "running", en->catalog != NULL));
    json_object_set_new(services, "glue", json_pack("{s:b}", "running", en->glue != NULL));
    json_object_set_new(services, "athena", json_pack("{s:b}", "running", en->athena != NULL));

    cli_engine_health_data(en, services);
    mark_running(services, en->server != NULL, en->workers_started);

    /* Sizes on disk, per stage directory; walking the lake is not free, so the sizes are
     * refreshed at most every ENGINE_DISK_REFRESH_MS. */
    static const struct { const char *service, *dir; } disk[] = {
        {"dynamodb", "table"}, {"kinesis", "stream"}, {"pipes", "pipe"},
        {"firehose", "delivery"}, {"s3", "lake"}, {"catalog", "catalog"},
    };
    _Static_assert(SP_ARRAY_LEN(disk) == SP_ARRAY_LEN(en->disk_bytes), "one size per stage");
    pthread_mutex_lock(&en->disk_mu);
    int64_t now = sp_clock_wall_ms();
    bool refresh = !en->disk_at_ms || now - en->disk_at_ms >= ENGINE_DISK_REFRESH_MS;
    for (size_t i = 0; i < SP_ARRAY_LEN(disk); i++) {
        char dir[4096];
        if (refresh) en->disk_bytes[i] = dir_bytes(sub_dir(en, disk[i].dir, dir, sizeof dir));
        json_t *svc = json_object_get(services, disk[i].service);
        if (svc) json_object_set_new(svc, "disk_bytes", json_integer((json_int_t)en->disk_bytes[i]));
    }
    if (refresh) en->disk_at_ms = now;
    pthread_mutex_unlock(&en->disk_mu);
    return json_pack("{s:s, s:o, s:s}", "status", "ok", "services", services, "data_dir",
                     en->data_dir);
}

void cli_engine_close(cli_engine *en)
{
    if (!en) return;
    /* The endpoint goes first so no request reaches a closing stage. */
    api_server_destroy(en->server);
    en->server = NULL;

    /* [dash] */
    dash_destroy(en->dash);
    en->dash = NULL;

    /* [pipe] */
    pip_engine_close(en->pipes);
    en->pipes = NULL;

    /* [delivery] */
    dlv_service_close(en->delivery); /* workers flush into the lake, which closes after */
    en->delivery = NULL;

    /* [catalog/query] */
    /* the crawl and query threads finish before the catalog and lake they use close */
    qry_athena_destroy(en->athena);
    en->athena = NULL;
    cat_glue_destroy(en->glue);
    en->glue = NULL;
    cat_catalog_close(en->catalog);
    en->catalog = NULL;

    /* [lake] */
    lake_close(en->lake);

    /* [stream] */
    stm_log_close(en->stream);

    /* [table] */
    tbl_db_close(en->tables);

    pthread_mutex_destroy(&en->disk_mu);
    free(en->data_dir);
    free(en);
}

bool cli_engine_start_workers(cli_engine *en, sp_err *e)
{
    (void)en;
    (void)e;

    /* [pipe] */
    if (en->pipes && !pip_engine_start(en->pipes, e)) return false;

    /* [delivery] */
    if (en->delivery && !dlv_service_start(en->delivery, e)) return false;

    en->workers_started = true;
    return true;
}

struct tbl_db *cli_engine_tables(const cli_engine *en) { return en->tables; }
struct stm_log *cli_engine_stream(const cli_engine *en) { return en->stream; }
const sp_config *cli_engine_config(const cli_engine *en) { return en->cfg; }
const char *cli_engine_data_dir(const cli_engine *en) { return en->data_dir; }
struct lake *cli_engine_lake(const cli_engine *en) { return en->lake; }
struct cat_catalog *cli_engine_catalog(const cli_engine *en) { return en->catalog; }

void cli_engine_progress(cli_engine *en, cli_progress *out)
{
    memset(out, 0, sizeof *out);
    const sp_config *cfg = en->cfg;

    /* [table] */
    for (size_t i = 0; i < cfg->n_tables; i++)
        if (cfg->tables[i].stream_view_type)
            out->table_changes += tbl_stream_last_seq(en->tables, cfg->tables[i].name);

    /* [stream] */
    for (size_t i = 0; i < cfg->n_streams; i++) {
        sp_err e = {0};
        int n = stm_shard_list(en->stream, cfg->streams[i].name, NULL, 0, &e);
        for (int s = 0; s < n; s++)
            out->stream_records += stm_shard_end(en->stream, cfg->streams[i].name, s);
    }

    /* [pipe] */
    bool pipes_idle = true;
    json_t *pipes = en->pipes ? pip_engine_health(en->pipes) : NULL;
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get(pipes, "pipes"), name, p) {
        uint64_t lag = (uint64_t)json_integer_value(json_object_get(p, "lag_records"));
        out->piped += (uint64_t)json_integer_value(json_object_get(p, "checkpoint"));
        if (lag) pipes_idle = false;
    }
    json_decref(pipes);

    /* [delivery] */
    bool delivery_idle = true;
    if (en->delivery) {
        dlv_progress dp;
        dlv_service_progress(en->delivery, &dp);
        out->delivered += dp.delivered;
        out->objects += dp.objects;
        out->failed += dp.failed;
        delivery_idle = dp.idle;
    }

    out->drained = pipes_idle && delivery_idle;
}
