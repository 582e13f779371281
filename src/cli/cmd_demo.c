/* salespipe demo: the main job. Every stage on the embedded seed defaults, orders generated
 * in process (inserts, overwrites, updates, deletes), live per-stage counts until every
 * change is in the lake, then the crawler, the crawled schema, the sample queries, and a
 * check that the table rebuilt from the lake equals the table. Exit 0 only if it does. */
#include "catalog/catalog.h"
#include "cli_int.h"
#include "engine.h"
#include "gen/gen.h"
#include "lake/lake.h"
#include "query/query.h"
#include "table/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { DEMO_DEFAULT_EVENTS = 3000, DEMO_DRAIN_TIMEOUT_S = 60, DEMO_TICK_MS = 100 };

/* The README's sample queries. "current" rebuilds the table from its changes: per orderid
 * the latest change (sequence numbers order them), unless that change is a REMOVE. */
#define DEMO_CURRENT                                                                          \
    "WITH current AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY orderid "      \
    "ORDER BY sequence_number DESC) AS rn FROM sales_db.kinesis_firehose_destination_yb) "    \
    "WHERE rn = 1 AND cdc_event_type <> 'REMOVE') "

static const struct demo_query {
    const char *title;
    const char *sql;
} demo_queries[] = {
    {"orders per product (current state)",
     DEMO_CURRENT "SELECT product_name, count(*) AS orders FROM current GROUP BY product_name "
                  "ORDER BY product_name"},
    {"revenue per product (current state)",
     DEMO_CURRENT "SELECT product_name, round(sum(price * quantity), 2) AS revenue FROM current "
                  "GROUP BY product_name ORDER BY revenue DESC"},
    {"CDC events per type",
     "SELECT cdc_event_type, count(*) AS events FROM sales_db.kinesis_firehose_destination_yb "
     "GROUP BY cdc_event_type ORDER BY cdc_event_type"},
    {"the table rebuilt from its changes (first 5 orders)",
     DEMO_CURRENT "SELECT orderid, product_name, quantity, price FROM current "
                  "ORDER BY CAST(orderid AS bigint) LIMIT 5"},
};

static const char demo_state_count_sql[] = DEMO_CURRENT "SELECT count(*) FROM current";

typedef struct demo {
    cli_engine *en;
    cli_progress base;        /* positions before this run: counts shown are this run's */
    bool tty;
    uint64_t started_ns;
    uint64_t last_print_ns;
} demo;

/* The generator's sink: DynamoDB operations called in process, no HTTP. */
static json_t *demo_sink(void *ctx, const char *op, json_t *request, sp_err *e)
{
    const sp_op *o = sp_op_find(tbl_ddb_ops, op, strlen(op));
    return o->fn(cli_engine_tables(ctx), request, e);
}

/* Progress of this run: the table, pipe and stream positions are cumulative over the data
 * dir's life, so the positions before the run are taken off. */
static void demo_progress(demo *d, cli_progress *p)
{
    cli_engine_progress(d->en, p);
    p->table_changes -= d->base.table_changes;
    p->piped -= d->base.piped;
    p->stream_records -= d->base.stream_records;
}

static void demo_print_progress(demo *d, const char *phase, bool force)
{
    uint64_t now = sp_clock_mono_ns();
    uint64_t every = d->tty ? 100000000ull : 1000000000ull;
    if (!force && now - d->last_print_ns < every) return;
    d->last_print_ns = now;
    cli_progress p;
    demo_progress(d, &p);
    double t = (double)(now - d->started_ns) / 1e9;
    fprintf(stdout,
            "%s[%5.1fs] %-9s table changes %6llu | piped %6llu | stream %6llu | delivered %6llu "
            "| objects %4llu | lag %6llu%s",
            d->tty ? "\r" : "", t, phase, (unsigned long long)p.table_changes,
            (unsigned long long)p.piped, (unsigned long long)p.stream_records,
            (unsigned long long)p.delivered, (unsigned long long)p.objects,
            (unsigned long long)(p.table_changes > p.delivered ? p.table_changes - p.delivered : 0),
            d->tty ? "   " : "\n");
    fflush(stdout);
}

static void demo_gen_progress(void *arg, const gen_stats *st)
{
    (void)st;
    demo_print_progress(arg, "generate", false);
}

static bool demo_wait_drained(demo *d, double *seconds)
{
    uint64_t start = sp_clock_mono_ns();
    for (;;) {
        cli_progress p;
        cli_engine_progress(d->en, &p);
        if (p.drained) break;
        if (sp_clock_mono_ns() - start > (uint64_t)DEMO_DRAIN_TIMEOUT_S * 1000000000ull) {
            demo_print_progress(d, "drain", true);
            fprintf(stdout, "\nthe pipeline did not drain within %d s\n", DEMO_DRAIN_TIMEOUT_S);
            return false;
        }
        demo_print_progress(d, "drain", false);
        sp_sleep_ms(DEMO_TICK_MS);
    }
    demo_print_progress(d, "drained", true);
    if (d->tty) fputc('\n', stdout);
    *seconds = (double)(sp_clock_mono_ns() - start) / 1e9;
    return true;
}

static bool demo_crawl(demo *d, const sp_config *cfg, cat_crawl_report *rep, sp_err *e)
{
    const sp_cfg_crawler *cr = sp_config_crawler(cfg, "sales-crawler");
    if (!cr) {
        sp_err_invalid(e, "the configuration has no crawler 'sales-crawler'");
        return false;
    }
    const sp_cfg_classifier *cl = cr->classifier ? sp_config_classifier(cfg, cr->classifier) : NULL;
    if (!cat_crawl(cli_engine_catalog(d->en), cli_engine_lake(d->en), cr, cl, rep, e)) return false;
    printf("\ncrawler %s: %zu objects read, %zu tables created, %zu partitions added (%.2f s)\n",
           cr->name, rep->objects_read, rep->tables_created, rep->partitions_added, rep->seconds);
    cat_table *t = cat_table_get(cli_engine_catalog(d->en), cr->database,
                                 "kinesis_firehose_destination_yb", e);
    if (!t) return false;
    printf("table %s.%s  (%s)\n", t->database, t->name, t->location);
    for (size_t i = 0; i < t->n_columns; i++)
        printf("  %-20s %s\n", t->columns[i].name, t->columns[i].type);
    for (size_t i = 0; i < t->n_partition_keys; i++)
        printf("  %-20s %s (partition)\n", t->partition_keys[i].name, t->partition_keys[i].type);
    cat_table_destroy(t);
    return true;
}

static bool demo_queries_run(demo *d, sp_err *e)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(demo_queries); i++) {
        printf("\n-- %s\n%s\n", demo_queries[i].title, demo_queries[i].sql);
        qry_result *r = qry_exec(cli_engine_catalog(d->en), cli_engine_lake(d->en), "sales_db",
                                 demo_queries[i].sql, NULL, e);
        if (!r) return false;
        qry_result_print(r, QRY_FORMAT_TABLE, stdout);
        qry_result_destroy(r);
    }
    return true;
}

/* Items in the table now, counted through the DynamoDB API (Scan, Select COUNT, paginated). */
static long demo_table_count(demo *d, sp_err *e)
{
    const sp_op *scan = sp_op_find(tbl_ddb_ops, "Scan", 4);
    long count = 0;
    json_t *start = NULL;
    do {
        json_t *req = json_pack("{s:s, s:s}", "TableName", "OrdersRawTable", "Select", "COUNT");
        if (start) json_object_set_new(req, "ExclusiveStartKey", start);
        json_t *resp = scan->fn(cli_engine_tables(d->en), req, e);
        json_decref(req);
        if (!resp) return -1;
        count += (long)json_integer_value(json_object_get(resp, "Count"));
        start = json_incref(json_object_get(resp, "LastEvaluatedKey"));
        json_decref(resp);
    } while (start);
    return count;
}

static long demo_rebuilt_count(demo *d, sp_err *e)
{
    qry_result *r = qry_exec(cli_engine_catalog(d->en), cli_engine_lake(d->en), "sales_db",
                             demo_state_count_sql, NULL, e);
    if (!r) return -1;
    long n = r->n_rows == 1 && r->cells[0] ? atol(r->cells[0]) : -1;
    qry_result_destroy(r);
    return n;
}

int cli_cmd_demo(const cli_common *common, int argc, char **argv)
{
    gen_options opt = {.table = "OrdersRawTable", .events = DEMO_DEFAULT_EVENTS, .rate = 0,
                       .mix_insert = 7, .mix_update = 2, .mix_delete = 1,
                       .seed = (uint64_t)sp_clock_wall_ms()};
    const char *durability = NULL;
    const char *format = "json";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (!strcmp(a, "--events") && v) ok = (opt.events = atol(v)) > 0;
        else if (!strcmp(a, "--rate") && v) ok = (opt.rate = atof(v)) >= 0;
        else if (!strcmp(a, "--seed") && v) opt.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--mix") && v) ok = gen_mix_parse(v, &opt);
        else if (!strcmp(a, "--durability") && v) {
            sp_durability d;
            ok = sp_durability_parse(v, &d);
            durability = v;
        } else if (!strcmp(a, "--format") && v)
            ok = !strcmp(format = v, "json") || !strcmp(v, "parquet");
        else ok = false;
        if (!ok) {
            fprintf(stderr, "usage: salespipe demo [--events N] [--rate R] [--mix I:U:D] "
                            "[--seed S] [--durability fsync|relaxed] [--format json|parquet] "
                            "[--data-dir D]\n");
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    if (durability) cli_durability_override(cfg, durability);
    if (!strcmp(format, "parquet")) {
        /* The seed's delivery stream converts to Parquet (the config's `format: parquet`);
         * its schema table is made from the dynamodb-cdc columns (engine.c). */
        for (size_t i = 0; i < cfg->n_deliveries; i++)
            if (!strcmp(cfg->deliveries[i].name, "sales-delivery-stream")) {
                free(cfg->deliveries[i].format);
                cfg->deliveries[i].format = strdup("parquet");
                if (!cfg->deliveries[i].format) abort();
            }
    }
    demo d = {.tty = isatty(STDOUT_FILENO), .started_ns = sp_clock_mono_ns()};
    sp_err e = {0};
    int rc = CLI_EXIT_FAILED;
    printf("salespipe demo: the seed pipeline on one machine, data dir %s\n"
           "  OrdersRawTable -> stream -> orders-cdc-pipe -> kinesis-for-sales-data -> "
           "sales-delivery-stream (dynamodb-cdc%s) -> s3://kinesis-firehose-destination-yb -> "
           "sales-crawler -> sales_db\n\n",
           common->data_dir, strcmp(format, "parquet") ? "" : ", Parquet");
    d.en = cli_engine_open(cfg, common->data_dir, &e);
    if (!d.en) goto out;
    cli_engine_progress(d.en, &d.base);
    if (!cli_engine_start_workers(d.en, &e)) goto out;

    gen_stats st;
    if (!gen_run(&opt, demo_sink, d.en, demo_gen_progress, &d, &st, &e)) goto out;
    demo_print_progress(&d, "generated", true);
    if (d.tty) fputc('\n', stdout);
    double drain_s = 0;
    if (!demo_wait_drained(&d, &drain_s)) {
        sp_err_internal(&e, "changes did not reach the lake in time");
        goto out;
    }
    double pipeline_s = (double)(sp_clock_mono_ns() - d.started_ns) / 1e9;

    cat_crawl_report rep = {0};
    bool crawled = demo_crawl(&d, cfg, &rep, &e);
    cat_crawl_report_clear(&rep);
    if (!crawled || !demo_queries_run(&d, &e)) goto out;

    long table_items = demo_table_count(&d, &e);
    long rebuilt = table_items < 0 ? -1 : demo_rebuilt_count(&d, &e);
    if (rebuilt < 0) goto out;
    cli_progress p;
    demo_progress(&d, &p);
    long requests = st.puts + st.updates + st.deletes;
    /* As in DynamoDB, a delete of a missing key and an overwrite with the same item write no
     * stream record: say why the two counts differ when they do. */
    const char *why_fewer = (unsigned long long)requests != p.table_changes
        ? "; deletes of missing keys and identical overwrites change nothing, as in DynamoDB" : "";
    printf("\nsummary\n"
           "  requests generated     %ld (put %ld, update %ld, delete %ld) in %.2f s\n"
           "  table changes          %llu (stream records of OrdersRawTable, this run%s)\n"
           "  delivered to the lake  %llu records in %llu object%s, %llu failed\n"
           "  pipeline               %.2f s from first order to last object (drain %.2f s)\n"
           "  table items            %ld; rebuilt from the lake: %ld -> %s\n"
           "  total                  %.2f s\n"
           "  files                  %s/lake/kinesis-firehose-destination-yb/ (objects), "
           "%s/catalog/ (catalog)\n",
           requests, st.puts, st.updates, st.deletes, st.seconds,
           (unsigned long long)p.table_changes, why_fewer, (unsigned long long)p.delivered,
           (unsigned long long)p.objects, p.objects == 1 ? "" : "s",
           (unsigned long long)p.failed, pipeline_s, drain_s,
           table_items, rebuilt, table_items == rebuilt ? "equal" : "DIFFERENT",
           (double)(sp_clock_mono_ns() - d.started_ns) / 1e9, common->data_dir, common->data_dir);
    rc = table_items == rebuilt ? CLI_EXIT_OK : CLI_EXIT_FAILED;
out:
    if (rc != CLI_EXIT_OK && sp_err_failed(&e)) cli_report("demo", &e);
    cli_engine_close(d.en);
    sp_config_destroy(cfg);
    return rc;
}
