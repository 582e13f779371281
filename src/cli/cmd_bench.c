/* salespipe bench-cdc: the in-process driver of bench/03_cdc_e2e.py and bench/08_memory.py.
 * Every stage opened on the configuration (seed defaults unless --config), T generator
 * threads calling the DynamoDB operations in process (no HTTP), then a wait until every
 * change is in the lake. Prints one JSON object and nothing else: events, table changes,
 * delivered records, objects, generate and end-to-end seconds, changes/s and peak RSS.
 * --generate-only skips the wait (to build a backlog with a configuration without pipes).
 * --batch B sends the generator's puts and deletes as BatchWriteItem calls of up to B, so
 * one table transaction carries up to B changes (updates still go one by one, in order).
 * --mix I:U:D changes the seed's 7:2:1 puts:updates:deletes (bench/08_memory.py builds its
 * backlog with 9:0:1, so every BatchWriteItem is full).
 * Hidden: not in the usage text, it exists for the benchmarks. */
#include "cli_int.h"
#include "engine.h"
#include "gen/gen.h"
#include "table/table.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    BENCH_THREADS_MAX = 64,
    BENCH_DRAIN_TIMEOUT_S = 600,
    BENCH_TICK_MS = 2,
    BENCH_METER_TICK_MS = 100,   /* the progress line polls the stages this often */
    BENCH_BATCH_MAX = 25,        /* BatchWriteItem: 25 requests per call */
};

typedef struct bench_worker {
    pthread_t thread;
    cli_engine *en;
    gen_options opt;
    gen_stats stats;
    sp_err e;
    bool ok;
    atomic_bool done;               /* set by the thread as it ends */
    /* --batch: puts and deletes gathered into one BatchWriteItem (one transaction) */
    long batch_max;
    json_t *batch;                  /* array of WriteRequests */
    char batch_keys[BENCH_BATCH_MAX][16];
} bench_worker;

/* Generators share the orderid space, so an update or delete of an order another thread
 * just removed fails its condition: a normal answer (no change is written; changes are
 * counted from the table stream, not from requests), not a reason to stop. */
/* Runs one DynamoDB operation in process. request is borrowed; returns the response (the
 * caller's) or NULL with e set. */
static json_t *bench_call(bench_worker *w, const char *op, json_t *request, sp_err *e)
{
    const sp_op *o = sp_op_find(tbl_ddb_ops, op, strlen(op));
    return o->fn(cli_engine_tables(w->en), request, e);
}

/* Sends the gathered puts and deletes as one BatchWriteItem; w->batch starts afresh. */
static bool bench_batch_flush(bench_worker *w, sp_err *e)
{
    size_t n = json_array_size(w->batch);
    if (!n) return true;
    json_t *req = json_pack("{s:{s:o}}", "RequestItems", "OrdersRawTable", w->batch);
    w->batch = json_array();
    json_t *resp = bench_call(w, "BatchWriteItem", req, e);
    json_decref(req);
    if (!resp) return false;
    bool all = json_object_size(json_object_get(resp, "UnprocessedItems")) == 0;
    json_decref(resp);
    if (!all) sp_err_internal(e, "BatchWriteItem left items unprocessed");
    return all;
}

/* Puts and deletes join the batch (a key already in it sends the batch first: BatchWriteItem
 * refuses duplicate keys); an update sends the batch first, so per key the order holds.
 * request is borrowed (the batch takes its own references); returns a new response. */
static json_t *bench_batch_sink(bench_worker *w, const char *op, json_t *request, sp_err *e)
{
    bool put = !strcmp(op, "PutItem"), del = !strcmp(op, "DeleteItem");
    if (!put && !del) return bench_batch_flush(w, e) ? bench_call(w, op, request, e) : NULL;
    json_t *item = json_object_get(request, put ? "Item" : "Key");
    const char *id =
        json_string_value(json_object_get(json_object_get(item, "orderid"), "S"));
    size_t n = json_array_size(w->batch);
    for (size_t i = 0; id && i < n; i++)
        if (!strcmp(w->batch_keys[i], id)) {
            if (!bench_batch_flush(w, e)) return NULL;
            break;
        }
    n = json_array_size(w->batch);
    snprintf(w->batch_keys[n], sizeof w->batch_keys[n], "%s", id ? id : "");
    json_array_append_new(w->batch, json_pack("{s:{s:O}}",
                                              put ? "PutRequest" : "DeleteRequest",
                                              put ? "Item" : "Key", item));
    if ((long)json_array_size(w->batch) >= w->batch_max && !bench_batch_flush(w, e)) return NULL;
    return json_object();
}

static json_t *bench_sink(void *ctx, const char *op, json_t *request, sp_err *e)
{
    bench_worker *w = ctx;
    json_t *resp = w->batch_max > 1 ? bench_batch_sink(w, op, request, e)
                                    : bench_call(w, op, request, e);
    if (!resp && !strcmp(e->code, "ConditionalCheckFailedException")) {
        sp_err_clear(e);
        resp = json_object();
    }
    return resp;
}

static void *bench_worker_run(void *arg)
{
    bench_worker *w = arg;
    w->batch = json_array();
    w->ok = gen_run(&w->opt, bench_sink, w, NULL, NULL, &w->stats, &w->e);
    if (w->ok) w->ok = bench_batch_flush(w, &w->e);
    json_decref(w->batch);
    atomic_store(&w->done, true);
    return NULL;
}

/* Peak resident set of this process in KiB (VmHWM), 0 if unknown. */
static long bench_vmhwm_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return 0;
    char line[256];
    long kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atol(line + 6);
    fclose(f);
    return kb;
}

int cli_cmd_bench_cdc(const cli_common *common, int argc, char **argv)
{
    long events = 100000, threads = 2, batch = 1;
    bool generate_only = false;
    uint64_t seed = 1;
    const char *durability = NULL;
    gen_options mix = {.mix_insert = 7, .mix_update = 2, .mix_delete = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true;
        if (!strcmp(a, "--generate-only")) {
            generate_only = true;
            continue;
        }
        if (!strcmp(a, "--events") && v) ok = (events = atol(v)) > 0;
        else if (!strcmp(a, "--threads") && v)
            ok = (threads = atol(v)) > 0 && threads <= BENCH_THREADS_MAX;
        else if (!strcmp(a, "--seed") && v) seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--mix") && v) ok = gen_mix_parse(v, &mix);
        else if (!strcmp(a, "--batch") && v)
            ok = (batch = atol(v)) > 0 && batch <= BENCH_BATCH_MAX;
        else if (!strcmp(a, "--durability") && v) {
            sp_durability d;
            ok = sp_durability_parse(v, &d);
            durability = v;
        } else ok = false;
        if (!ok) {
            fprintf(stderr, "usage: salespipe bench-cdc [--events N] [--threads T] [--batch B] "
                            "[--mix I:U:D] [--seed S] [--durability fsync|relaxed] "
                            "[--generate-only] "
                            "[--config F] [--data-dir D]\n");
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    if (durability) cli_durability_override(cfg, durability);
    sp_err e = {0};
    int rc = CLI_EXIT_FAILED;
    bench_worker *w = calloc((size_t)threads, sizeof *w);
    cli_engine *en = cli_engine_open(cfg, common->data_dir, &e);
    if (!w || !en || !cli_engine_start_workers(en, &e)) goto out;
    cli_progress before;
    cli_engine_progress(en, &before);

    uint64_t start = sp_clock_mono_ns();
    long started = 0;
    for (long t = 0; t < threads; t++) {
        w[t].en = en;
        w[t].batch_max = batch;
        w[t].opt = (gen_options){.table = "OrdersRawTable", .events = events / threads +
                                 (t < events % threads), .mix_insert = mix.mix_insert,
                                 .mix_update = mix.mix_update, .mix_delete = mix.mix_delete,
                                 .seed = seed + (uint64_t)t};
        if (pthread_create(&w[t].thread, NULL, bench_worker_run, &w[t]) != 0) break;
        started++;
    }
    bool gen_ok = started == threads;
    /* The changes committed so far against the events asked for, while the threads run. */
    cli_meter meter;
    cli_meter_init(&meter, "bench-cdc (changes)", (uint64_t)events);
    for (long t = 0; meter.tty && t < started; t++) {
        while (!atomic_load(&w[t].done)) {
            cli_progress now;
            cli_engine_progress(en, &now);
            cli_meter_update(&meter, now.table_changes - before.table_changes);
            sp_sleep_ms(BENCH_METER_TICK_MS);
        }
    }
    for (long t = 0; t < started; t++) {
        pthread_join(w[t].thread, NULL);
        if (!w[t].ok && gen_ok) {
            e = w[t].e;
            gen_ok = false;
        }
    }
    if (!gen_ok) {
        if (!sp_err_failed(&e)) sp_err_internal(&e, "cannot start generator threads");
        goto out;
    }
    double gen_s = (double)(sp_clock_mono_ns() - start) / 1e9;
    cli_progress p;
    cli_engine_progress(en, &p);
    cli_meter_finish(&meter, p.table_changes - before.table_changes);
    while (!generate_only && !p.drained) {
        if (sp_clock_mono_ns() - start > (uint64_t)BENCH_DRAIN_TIMEOUT_S * 1000000000ull) {
            sp_err_internal(&e, "the pipeline did not drain within %d s", BENCH_DRAIN_TIMEOUT_S);
            goto out;
        }
        sp_sleep_ms(BENCH_TICK_MS);
        cli_engine_progress(en, &p);
    }
    double total_s = (double)(sp_clock_mono_ns() - start) / 1e9;
    uint64_t changes = p.table_changes - before.table_changes;
    uint64_t tw, tg, ts;    /* group sizes: writes per group commit, per WAL sync */
    tbl_db_commit_stats(cli_engine_tables(en), &tw, &tg, &ts);
    printf("{\"events\":%ld,\"threads\":%ld,\"batch\":%ld,\"changes\":%llu,\"delivered\":%llu,"
           "\"objects\":%llu,\"failed\":%llu,\"generate_s\":%.3f,\"total_s\":%.3f,"
           "\"changes_per_s\":%.1f,\"vmhwm_kb\":%ld,\"durability\":\"%s\","
           "\"table_writes\":%llu,\"table_group_commits\":%llu,\"table_wal_syncs\":%llu}\n",
           events, threads, batch, (unsigned long long)changes,
           (unsigned long long)(p.delivered - before.delivered),
           (unsigned long long)(p.objects - before.objects), (unsigned long long)p.failed, gen_s,
           total_s, total_s > 0 ? (double)changes / total_s : 0.0, bench_vmhwm_kb(),
           cfg->server.durability, (unsigned long long)tw, (unsigned long long)tg,
           (unsigned long long)ts);
    rc = CLI_EXIT_OK;
out:
    if (rc != CLI_EXIT_OK && sp_err_failed(&e)) cli_report("bench-cdc", &e);
    cli_engine_close(en);
    free(w);
    sp_config_destroy(cfg);
    return rc;
}
