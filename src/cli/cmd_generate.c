/* salespipe generate: the seed's mock data generator, through the DynamoDB API of a running
 * salespipe (or any DynamoDB endpoint). */
#include "cli_int.h"
#include "gen/gen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double GEN_SEED_RATE = 1.0 / 3.0; /* the seed script: one order every 3 s */

static void print_progress(void *arg, const gen_stats *st)
{
    long done = st->puts + st->updates + st->deletes;
    long total = *(long *)arg;
    if (done % 100 == 0 || done == total || total <= 100)
        fprintf(stderr, "generate: %ld/%ld (put %ld, update %ld, delete %ld)\n", done, total,
                st->puts, st->updates, st->deletes);
}

int cli_cmd_generate(const cli_common *common, int argc, char **argv)
{
    (void)common;
    gen_options opt = {.table = "OrdersRawTable", .events = 100, .rate = GEN_SEED_RATE,
                       .mix_insert = 1, .seed = (uint64_t)sp_clock_wall_ms()};
    const char *endpoint = "http://127.0.0.1:4566";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = v != NULL;
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
                            "[--table T]\n");
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    sp_err e = {0};
    gen_http_sink *sink = gen_http_sink_new(endpoint, &e);
    if (!sink) {
        cli_report("generate", &e);
        return CLI_EXIT_FAILED;
    }
    gen_stats st;
    bool ok = gen_run(&opt, gen_http_sink_send, sink, print_progress, &opt.events, &st, &e);
    gen_http_sink_destroy(sink);
    printf("generated %ld requests in %.2fs: put %ld, update %ld, delete %ld\n",
           st.puts + st.updates + st.deletes, st.seconds, st.puts, st.updates, st.deletes);
    if (!ok) {
        cli_report("generate", &e);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}
