/* salespipe serve: every stage plus the HTTP endpoint, until SIGINT or SIGTERM. Signals are
 * taken synchronously (sigwait) so shutdown runs on the main thread in a defined order. */
#include "cli_int.h"
#include "engine.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_cmd_serve(const cli_common *common, int argc, char **argv)
{
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    api_options opt = {
        .bind = cfg->server.bind,
        .port = (int)cfg->server.port,
        .max_body = (size_t)cfg->server.max_body_kb * 1024,
        .threads = (int)cfg->server.threads,
        .credentials = cfg->credentials,
        .n_credentials = cfg->n_credentials,
    };
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--bind") && has_value) opt.bind = argv[++i];
        else if (!strcmp(argv[i], "--port") && has_value) opt.port = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: salespipe serve [--bind ADDR] [--port N] [--config F] "
                            "[--data-dir D]\n");
            sp_config_destroy(cfg);
            return CLI_EXIT_USAGE;
        }
    }
    if (!common->log_level) {
        sp_log_level level;
        if (sp_log_level_parse(cfg->server.log_level, &level)) sp_log_set_level(level);
    }

    /* Block the signals before any thread starts so only sigwait below receives them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    sp_err e = {0};
    cli_engine *en = cli_engine_open(cfg, common->data_dir, &e);
    if (!en || !cli_engine_start_workers(en, &e) || !cli_engine_listen(en, &opt, &e)) {
        cli_report("serve", &e);
        cli_engine_close(en);
        sp_config_destroy(cfg);
        return CLI_EXIT_FAILED;
    }
    sp_info("salespipe listening on http://%s:%d (data dir %s)%s", opt.bind,
            cli_engine_port(en), common->data_dir,
            strcmp(opt.bind, "127.0.0.1") ? " -- not loopback: reachable from the network" : "");
    /* A line on stdout that scripts can wait for. */
    printf("ready port=%d\n", cli_engine_port(en));
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    sp_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    cli_engine_close(en);
    sp_config_destroy(cfg);
    return CLI_EXIT_OK;
}
