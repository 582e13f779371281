/* salespipe serve: every stage plus the HTTP endpoint, until SIGINT or SIGTERM. Signals are
 * taken synchronously (sigwait) so shutdown runs on the main thread in a defined order. */
#include "cli_int.h"
#include "engine.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 127.0.0.0/8 is loopback; anything else (0.0.0.0 included) can be reached from outside. */
static bool bind_is_loopback(const char *bind)
{
    struct in_addr a;
    return inet_pton(AF_INET, bind, &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

/* HTTP worker threads when the config says 0 and durability is fsync: a writer's thread
 * waits for the fsync of its commit, and only writers waiting at once can share one (group
 * commit), so a pool of one thread per core would cap a group at the core count. Measured on
 * 2 cores with 16 connections: ~2 PutItems per table fsync with 2 threads, ~12 with 16. */
enum { CLI_FSYNC_MIN_THREADS = 16 };

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
        else if (!strcmp(argv[i], "--durability") && has_value &&
                 cli_durability_override(cfg, argv[i + 1]))
            i++;
        else {
            fprintf(stderr, "usage: salespipe serve [--bind ADDR] [--port N] "
                            "[--durability fsync|relaxed] [--config F] [--data-dir D]\n");
            sp_config_destroy(cfg);
            return CLI_EXIT_USAGE;
        }
    }
    sp_durability durability = SP_DURABILITY_FSYNC;
    sp_durability_parse(cfg->server.durability, &durability);
    if (opt.threads == 0 && durability == SP_DURABILITY_FSYNC) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        opt.threads = cores > CLI_FSYNC_MIN_THREADS ? (int)cores : CLI_FSYNC_MIN_THREADS;
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

    /* Said before binding, so it is on record even when the bind then fails. */
    if (!bind_is_loopback(opt.bind))
        sp_warn("binding %s, which is not a loopback address: the endpoint will be reachable "
                "from the network%s", opt.bind,
                opt.n_credentials ? "" : " and, with no credentials configured, accepts "
                                         "unsigned requests from anyone");
    sp_err e = {0};
    cli_engine *en = cli_engine_open(cfg, common->data_dir, &e);
    if (!en || !cli_engine_start_workers(en, &e) || !cli_engine_listen(en, &opt, &e)) {
        cli_report("serve", &e);
        cli_engine_close(en);
        sp_config_destroy(cfg);
        return CLI_EXIT_FAILED;
    }
    sp_info("salespipe listening on http://%s:%d (data dir %s); %s", opt.bind,
            cli_engine_port(en), common->data_dir,
            opt.n_credentials ? "requests must be signed (SigV4)" : "requests are not authenticated");
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
