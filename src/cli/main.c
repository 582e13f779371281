/* The command table and the options every subcommand shares. Each subcommand lives in its
 * own cmd_<name>.c file. */
#include "cli.h"
#include "cli_int.h"
#include "delivery/delivery.h"
#include "pipe/pipe.h"
#include "query/query.h"
#include "stream/stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
    {"demo", "demo [--events N] [--rate R] [--mix I:U:D] [--seed S] [--durability fsync|relaxed] [--format json|parquet]",
     "the main job: the whole pipeline on sample orders, crawl, queries, summary", cli_cmd_demo},
    {"serve", "serve [--bind A] [--port N] [--durability fsync|relaxed] [--allow-unauthenticated-remote]",
     "run every stage and the AWS-compatible HTTP endpoint until SIGINT/SIGTERM", cli_cmd_serve},
    {"generate", "generate [--endpoint URL | --in-process] [--events N] [--rate R] ...",
     "the seed's mock order generator, through the DynamoDB API", cli_cmd_generate},
    {"status", "status [--endpoint URL | --offline]",
     "per-stage counts, lag and freshness of a running serve, or of the data dir",
     cli_cmd_status},
    {"config", "config", "print the effective configuration as YAML", cli_cmd_config},
    {"export", "export cloudformation [--output FILE]",
     "the configured pipeline as an AWS CloudFormation template (docs/scale.md)", cli_cmd_export},
    /* [catalog/query] */
    {"crawl", "crawl [--crawler NAME]", "run the crawler(s) over the lake into the catalog",
     cli_cmd_crawl},
    {"query", "query \"SQL\" [--format table|csv|json] [--database D] [--stats]",
     "run an Athena-style SQL query over the catalog", cli_cmd_query},
    {"ddl", "ddl [--database D]", "print the catalog as Athena DDL", cli_cmd_ddl},
};

/* [perf] Benchmark drivers: runnable, but left out of the usage text. */
static const cli_command hidden_commands[] = {
    {"bench-cdc", "bench-cdc [--events N] [--threads T] [--batch B] [--mix I:U:D] "
                  "[--durability D] [--generate-only]",
     "the in-process driver of bench/03_cdc_e2e.py: changes/s through every stage",
     cli_cmd_bench_cdc},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: salespipe <command> [--data-dir D] [--config F] [--log-level L] "
                 "[options]\n\ncommands:\n");
    for (size_t i = 0; i < SP_ARRAY_LEN(commands); i++)
        fprintf(out, "  %-62s %s\n", commands[i].usage, commands[i].summary);
    fprintf(out, "\nData dir: --data-dir, else $SALESPIPE_DATA_DIR, else ./salespipe-data.\n");
}

/* The rules of each module that core's config maps cannot express, checked at load time so a
 * bad file is refused with its line before anything starts. */
static const sp_cfg_check config_checks[] = {
    {"streams", stm_config_check},
    {"pipes", pip_config_check},
    {"delivery_streams", dlv_config_check},
    {"pipes", pip_config_check},
    {0},
};

sp_config *cli_config_load(const cli_common *common)
{
    sp_err e = {0};
    sp_config *cfg = common->config ? sp_config_load_checked(common->config, config_checks, &e)
                                    : sp_config_defaults(&e);
    if (!cfg) fprintf(stderr, "salespipe: bad configuration: %s\n", e.msg);
    return cfg;
}

bool cli_durability_override(sp_config *cfg, const char *value)
{
    sp_durability d;
    char *copy = sp_durability_parse(value, &d) ? strdup(value) : NULL;
    if (!copy) return false;
    free(cfg->server.durability);
    cfg->server.durability = copy;
    return true;
}

void cli_report(const char *cmd, const sp_err *e)
{
    fprintf(stderr, "salespipe %s: %s%s%s\n", cmd, e->code, e->code[0] ? ": " : "", e->msg);
}

/* Takes the common options out of argv (anywhere after the subcommand name). */
static int take_common(cli_common *c, int *argc, char **argv)
{
    int w = 1;
    for (int r = 1; r < *argc; r++) {
        const char *a = argv[r];
        const char **slot = !strcmp(a, "--data-dir")    ? &c->data_dir
                            : !strcmp(a, "--config")    ? &c->config
                            : !strcmp(a, "--log-level") ? &c->log_level
                                                        : NULL;
        if (!slot) {
            argv[w++] = argv[r];
            continue;
        }
        if (r + 1 >= *argc) {
            fprintf(stderr, "salespipe: %s needs a value\n", a);
            return -1;
        }
        *slot = argv[++r];
    }
    *argc = w;
    argv[w] = NULL;
    return 0;
}

int cli_main(int argc, char **argv)
{
    qry_init(); /* before any thread touches jansson */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const cli_command *cmd = NULL;
    for (size_t i = 0; i < SP_ARRAY_LEN(commands); i++)
        if (!strcmp(argv[1], commands[i].name)) cmd = &commands[i];
    for (size_t i = 0; i < SP_ARRAY_LEN(hidden_commands); i++)
        if (!strcmp(argv[1], hidden_commands[i].name)) cmd = &hidden_commands[i];
    if (!cmd) {
        fprintf(stderr, "salespipe: unknown command '%s'\n", argv[1]);
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: salespipe %s [--data-dir D] [--config F] [--log-level L]\n\n%s\n",
                   cmd->usage, cmd->summary);
            return CLI_EXIT_OK;
        }
    cli_common common = {0};
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    if (take_common(&common, &sub_argc, sub_argv) != 0) return CLI_EXIT_USAGE;
    if (!common.data_dir) common.data_dir = getenv("SALESPIPE_DATA_DIR");
    if (!common.data_dir) common.data_dir = "./salespipe-data";
    if (common.log_level) {
        sp_log_level level;
        if (!sp_log_level_parse(common.log_level, &level)) {
            fprintf(stderr, "salespipe: --log-level must be debug, info, warn, error or off\n");
            return CLI_EXIT_USAGE;
        }
        sp_log_set_level(level);
    }
    return cmd->run(&common, sub_argc, sub_argv);
}
