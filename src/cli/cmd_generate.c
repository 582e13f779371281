/* salespipe generate: the seed's mock data generator, through the DynamoDB API of a running
 * salespipe (or any DynamoDB endpoint), or --in-process on the data dir: then every stage
 * runs in this process and the command returns once the changes have reached the lake. */
#include "cli_int.h"
#include "engine.h"
#include "gen/gen.h"
#include "table/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double GEN_SEED_RATE = 1.0 / 3.0; /* the seed script: one order every 3 s */

static void print_progress(void *arg, const gen_stats *st)
{
    cli_meter_update(arg, (uint64_t)(st->puts + st->updates + st->deletes));
}

enum { GEN_DRAIN_TIMEOUT_MS = 60000 };

static json_t *in_process_sink(void *ctx, const char *op, json_t *request, sp_err *e)
{
    const sp_op *o = sp_op_find(tbl_ddb_ops, op, strlen(op));
    return o->fn(cli_engine_tables(ctx), request, e);
}

/* Runs the generator against the stages opened in this process, then waits for the lake. */
static bool generate_in_process(const cli_common *common, const gen_options *opt,
                                cli_meter *meter, gen_stats *st, sp_err *e)
{
    sp_config *cfg = cli_config_load(common);
    if (!cfg) {
        sp_err_invalid(e, "bad configuration");
        return false;
    }
    cli_engine *en = cli_engine_open(cfg, common->data_dir, e);
    bool ok = en && cli_engine_start_workers(en, e) &&
              gen_run(opt, in_process_sink, en, print_progress, meter, st, e);
    for (int waited = 0; ok; waited += 100) {
        cli_progress p;
        cli_engine_progress(en, &p);
        if (p.drained) break;
        if (waited >= GEN_DRAIN_TIMEOUT_MS) {
            sp_err_internal(e, "the changes did not reach the lake within %d s",
                            GEN_DRAIN_TIMEOUT_MS / 1000);
            ok = false;
        }
        sp_sleep_ms(100);
    }
    cli_engine_close(en);
    sp_config_destroy(cfg);
    return ok;
}

int cli_cmd_generate(const cli_common *common, int argc, char **argv)
{
    bool in_process = false;
    gen_options opt = {.table = "OrdersRawTable", .events = 100, .rate = GEN_SEED_RATE,
                       .mix_insert = 1, .seed = (uint64_t)sp_clock_wall_ms()};
    const char *endpoint = "http://127.0.0.1:4566";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
        if (!strcmp(a, "--in-process")) {
            in_process = true;
            continue;
        }
        if (!strcmp(a, "--endpoint") && v) endpoint = v;
        else if (!strcmp(a, "--events") && v) ok = (opt.events = atol(v)) > 0;
        else if (!strcmp(a, "--rate") && v) ok = (opt.rate = atof(v)) >= 0;
        else if (!strcmp(a, "--mix") && v) ok = gen_mix_parse(v, &opt);
        else if (!strcmp(a, "--seed") && v) opt.seed = strtoull(v, NULL, 10);
        else if (!strcmp(a, "--table") && v) opt.table = v;
        else ok = false;
        if (!ok) {
            fprintf(stderr, "usage: salespipe generate [--endpoint URL] [--events N] [--rate R "
                            "(per second, 0: unpaced)] [--mix insert:update:delete] [--seed S] "
                            "[--table T] [--in-process]\n");
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    sp_err e = {0};
    gen_stats st;
    cli_meter meter;
    cli_meter_init(&meter, "generate (requests)", (uint64_t)opt.events);
    if (in_process) {
        bool ok = generate_in_process(common, &opt, &meter, &st, &e);
        cli_meter_finish(&meter, (uint64_t)(st.puts + st.updates + st.deletes));
        printf("generated %ld requests in %.2fs: put %ld, update %ld, delete %ld%s\n",
               st.puts + st.updates + st.deletes, st.seconds, st.puts, st.updates, st.deletes,
               ok ? "; all changes are in the lake" : "");
        if (!ok) cli_report("generate", &e);
        return ok ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    }
    /* Credentials as the AWS tools take them; any pair works against an open server. */
    const char *key = getenv("AWS_ACCESS_KEY_ID"), *secret = getenv("AWS_SECRET_ACCESS_KEY");
    gen_http_sink *sink = gen_http_sink_new(endpoint, key ? key : "test",
                                            secret ? secret : "test", &e);
    if (!sink) {
        cli_report("generate", &e);
        return CLI_EXIT_FAILED;
    }
    bool ok = gen_run(&opt, gen_http_sink_send, sink, print_progress, &meter, &st, &e);
    cli_meter_finish(&meter, (uint64_t)(st.puts + st.updates + st.deletes));
    gen_http_sink_destroy(sink);
    printf("generated %ld requests in %.2fs: put %ld, update %ld, delete %ld\n",
           st.puts + st.updates + st.deletes, st.seconds, st.puts, st.updates, st.deletes);
    if (!ok) {
        cli_report("generate", &e);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}
