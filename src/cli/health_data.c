/* What the health document says about the data itself, so `salespipe status` (and the
 * dashboard) answer "is my data loaded?": items and changes per table, records per stream and
 * shard, the delivery backlog, and each crawler's last run with the tables it made. Read from
 * the stages' own answers (DescribeTable, the shard list, the crawler's run record). */
#include "catalog/catalog.h"
#include "engine.h"
#include "lake/lake.h"
#include "stream/stream.h"
#include "table/table.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* {"<table>": {"items", "changes"}} from DescribeTable's ItemCount and the stream's last seq. */
static json_t *tables_data(cli_engine *en)
{
    const sp_config *cfg = cli_engine_config(en);
    json_t *out = json_object();
    const sp_op *describe = sp_op_find(tbl_ddb_ops, "DescribeTable", strlen("DescribeTable"));
    for (size_t i = 0; describe && i < cfg->n_tables; i++) {
        const char *name = cfg->tables[i].name;
        json_t *req = json_pack("{s:s}", "TableName", name);
        sp_err e = {0};
        json_t *d = describe->fn(cli_engine_tables(en), req, &e);
        json_decref(req);
        json_t *t = json_pack("{s:I, s:I}", "items",
                              json_integer_value(json_object_get(json_object_get(d, "Table"),
                                                                 "ItemCount")),
                              "changes", (json_int_t)tbl_stream_last_seq(cli_engine_tables(en), name));
        json_decref(d);
        json_object_set_new(out, name, t);
    }
    return out;
}

/* {"<stream>": {"records", "shards": {"<shardId>": {"records", "open"}}}}. */
static json_t *streams_data(cli_engine *en)
{
    const sp_config *cfg = cli_engine_config(en);
    stm_log *log = cli_engine_stream(en);
    json_t *out = json_object();
    for (size_t i = 0; log && i < cfg->n_streams; i++) {
        const char *name = cfg->streams[i].name;
        sp_err e = {0};
        int n = stm_shard_list(log, name, NULL, 0, &e);
        if (n <= 0) continue;
        stm_shard_info *shards = calloc((size_t)n, sizeof *shards);
        if (!shards) continue;
        n = stm_shard_list(log, name, shards, n, &e);
        json_t *per = json_object();
        uint64_t total = 0;
        for (int s = 0; s < n; s++) {
            uint64_t end = stm_shard_end(log, name, shards[s].index);
            total += end;
            json_object_set_new(per, shards[s].shard_id,
                                json_pack("{s:I, s:b}", "records", (json_int_t)end, "open",
                                          shards[s].open));
        }
        free(shards);
        json_object_set_new(out, name, json_pack("{s:I, s:o}", "records", (json_int_t)total,
                                                 "shards", per));
    }
    return out;
}

/* {"<crawler>": {"last_crawl", "last_status", "tables"}}; "never" before the first run. */
static json_t *crawlers_data(cli_engine *en)
{
    const sp_config *cfg = cli_engine_config(en);
    cat_catalog *cat = cli_engine_catalog(en);
    json_t *out = json_object();
    for (size_t i = 0; cat && i < cfg->n_crawlers; i++) {
        sp_err e = {0};
        json_t *run = cat_crawler_last_run(cat, cfg->crawlers[i].name, &e);
        json_t *last = json_object_get(run, "LastCrawl");
        json_t *start = json_object_get(last, "StartTime");
        json_t *c = json_object();
        if (json_is_integer(start)) {
            time_t t = (time_t)(json_integer_value(start) / 1000);
            struct tm tm;
            char iso[32];
            gmtime_r(&t, &tm);
            strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
            json_object_set_new(c, "last_crawl", json_string(iso));
            json_object_set(c, "last_crawl_ms", start);
        } else json_object_set_new(c, "last_crawl", json_string(last ? "?" : "never"));
        const char *status = json_string_value(json_object_get(last, "Status"));
        json_object_set_new(c, "last_status", json_string(status ? status : "-"));
        json_t *tables = cat_table_list(cat, cfg->crawlers[i].database, &e);
        json_object_set_new(c, "database", json_string(cfg->crawlers[i].database));
        json_object_set_new(c, "tables", json_integer((json_int_t)json_array_size(tables)));
        json_decref(tables);
        json_decref(run);
        json_object_set_new(out, cfg->crawlers[i].name, c);
    }
    return out;
}

/* Records of a delivery stream's Kinesis source not yet in the lake: per shard, the shard's
 * end minus the checkpoint in <data>/delivery/<name>/state.json (the delivery stream's
 * durable state, {"checkpoints": ["<position>", ...]} in shard order), so the figure
 * survives restarts, unlike the per-run counters. -1 when unknown. */
static json_int_t delivery_backlog(cli_engine *en, const sp_cfg_delivery *d)
{
    stm_log *log = cli_engine_stream(en);
    if (!log || !d->source_stream) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/delivery/%s/state.json", cli_engine_data_dir(en), d->name);
    json_t *state = json_load_file(path, 0, NULL);
    json_t *cps = json_object_get(state, "checkpoints");
    sp_err e = {0};
    int n = stm_shard_list(log, d->source_stream, NULL, 0, &e);
    json_int_t backlog = 0;
    for (int s = 0; s < n; s++) {
        const char *cp = json_string_value(json_array_get(cps, (size_t)s));
        uint64_t held = cp ? strtoull(cp, NULL, 10) : 0, end = stm_shard_end(log, d->source_stream, s);
        if (end > held) backlog += (json_int_t)(end - held);
    }
    json_decref(state);
    return n < 0 ? -1 : backlog;
}

typedef struct bucket_count {
    json_int_t objects, bytes;
} bucket_count;

static bool count_object(void *arg, const lake_object_info *o)
{
    bucket_count *c = arg;
    c->objects++;
    c->bytes += (json_int_t)o->size;
    return true;
}

/* {"<bucket>": {"objects", "bytes"}}: what the lake holds (a walk of the bucket). */
static json_t *buckets_data(cli_engine *en)
{
    const sp_config *cfg = cli_engine_config(en);
    json_t *out = json_object();
    for (size_t i = 0; cli_engine_lake(en) && i < cfg->n_buckets; i++) {
        bucket_count c = {0};
        sp_err e = {0};
        lake_object_list(cli_engine_lake(en), cfg->buckets[i].name, "", count_object, &c, &e);
        json_object_set_new(out, cfg->buckets[i].name,
                            json_pack("{s:I, s:I}", "objects", c.objects, "bytes", c.bytes));
    }
    return out;
}

void cli_engine_health_data(cli_engine *en, json_t *services)
{
    json_t *svc;
    if ((svc = json_object_get(services, "dynamodb")))
        json_object_set_new(svc, "tables", tables_data(en));
    if ((svc = json_object_get(services, "kinesis")))
        json_object_set_new(svc, "streams", streams_data(en));
    if ((svc = json_object_get(services, "s3")))
        json_object_set_new(svc, "buckets", buckets_data(en));
    if ((svc = json_object_get(services, "catalog")))
        json_object_set_new(svc, "crawlers", crawlers_data(en));
    if ((svc = json_object_get(services, "firehose"))) {
        cli_progress p;
        cli_engine_progress(en, &p);
        const sp_config *cfg = cli_engine_config(en);
        json_t *streams = json_object_get(svc, "delivery_streams");
        json_int_t total = 0;
        for (size_t i = 0; i < cfg->n_deliveries; i++) {
            json_int_t b = delivery_backlog(en, &cfg->deliveries[i]);
            json_t *d = json_object_get(streams, cfg->deliveries[i].name);
            if (b >= 0 && d) json_object_set_new(d, "backlog_records", json_integer(b));
            if (b > 0) total += b;
        }
        json_object_set_new(svc, "backlog_records", json_integer(total));
        json_object_set_new(svc, "objects", json_integer((json_int_t)p.objects));
        json_object_set_new(svc, "failed_records", json_integer((json_int_t)p.failed));
    }
}
