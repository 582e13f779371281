/* salespipe serve: every stage plus the HTTP endpoint, until SIGINT or SIGTERM. Signals are
 * taken synchronously (sigwait) so shutdown runs on the main thread in a defined order. */
#include "cli_int.h"
#include "engine.h"
#include "api/api_daemon.h"

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

/* The strings of a JSON array of strings as a new array (strings borrowed from j). */
static const char **string_list(const json_t *j, size_t *n)
{
    *n = 0;
    const char **out = calloc(json_array_size(j) + 1, sizeof *out);
    if (!out) return NULL;
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) if (json_string_value(v)) out[(*n)++] = json_string_value(v);
    return out;
}

#define SERVE_USAGE "usage: salespipe serve [--bind ADDR] [--port N] [--service-port SERVICE=N]... " \
                    "[--durability fsync|relaxed] [--allow-unauthenticated-remote] [--config F] " \
                    "[--data-dir D]\n" \
                    "  --service-port kinesis=4567: a port of its own for a service (kinesis, " \
                    "dynamodb), as AWS has one endpoint per service; repeatable\n"

enum { SERVE_MAX_SERVICE_PORTS = 2 }; /* kinesis, dynamodb */

/* Sets (or replaces) a service's port in ports[*n]; false when the service has no own port
 * or the port is not a number 0..65535. name is borrowed. */
static bool service_port_set(api_service_port *ports, size_t *n, const char *name, size_t name_len,
                             const char *port_text)
{
    char *end = NULL;
    long port = strtol(port_text, &end, 10);
    if (!*port_text || *end || port < 0 || port > 65535) return false;
    char svc[16];
    if (name_len == 0 || name_len >= sizeof svc) return false;
    memcpy(svc, name, name_len);
    svc[name_len] = '\0';
    if (!api_server_service_known(svc)) return false;
    const char *canon = !strcmp(svc, "kinesis") ? "kinesis" : "dynamodb"; /* static storage */
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(ports[i].service, canon)) {
            ports[i].port = (int)port;
            return true;
        }
    if (*n >= SERVE_MAX_SERVICE_PORTS) return false;
    ports[(*n)++] = (api_service_port){.service = canon, .port = (int)port};
    return true;
}

int cli_cmd_serve(const cli_common *common, int argc, char **argv)
{
    sp_config *cfg = cli_config_load(common);
    if (!cfg) return CLI_EXIT_USAGE;
    size_t n_hosts = 0, n_origins = 0;
    const char **hosts = string_list(cfg->server.hostnames, &n_hosts);
    const char **origins = string_list(cfg->server.cors_allowed_origins, &n_origins);
    api_options opt = {
        .bind = cfg->server.bind,
        .port = (int)cfg->server.port,
        .max_body = (size_t)cfg->server.max_body_kb * 1024,
        .threads = (int)cfg->server.threads,
        .credentials = cfg->credentials,
        .n_credentials = cfg->n_credentials,
        .hostnames = hosts,
        .n_hostnames = n_hosts,
        .cors_origins = origins,
        .n_cors_origins = n_origins,
        .data_dir = common->data_dir,
    };
    api_service_port ports[SERVE_MAX_SERVICE_PORTS];
    size_t n_ports = 0;
    const char *svc_name;
    json_t *svc_port;
    json_object_foreach(cfg->server.service_ports, svc_name, svc_port) {
        char text[24];
        snprintf(text, sizeof text, "%lld", (long long)json_integer_value(svc_port));
        service_port_set(ports, &n_ports, svc_name, strlen(svc_name), text); /* checked */
    }
    bool allow_open_remote = false;
    int rc = CLI_EXIT_OK;
    for (int i = 1; i < argc && rc == CLI_EXIT_OK; i++) {
        bool has_value = i + 1 < argc;
        if (!strcmp(argv[i], "--bind") && has_value) opt.bind = argv[++i];
        else if (!strcmp(argv[i], "--port") && has_value) opt.port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--allow-unauthenticated-remote")) allow_open_remote = true;
        else if (!strcmp(argv[i], "--service-port") && has_value && strchr(argv[i + 1], '=') &&
                 service_port_set(ports, &n_ports, argv[i + 1], strcspn(argv[i + 1], "="),
                                  strchr(argv[i + 1], '=') + 1))
            i++;
        else if (!strcmp(argv[i], "--durability") && has_value &&
                 cli_durability_override(cfg, argv[i + 1]))
            i++;
        else {
            fputs(SERVE_USAGE, stderr);
            rc = CLI_EXIT_USAGE;
        }
    }
    /* Beyond loopback, anyone who can reach the port could drive every API: that takes
     * credentials, or the user saying in so many words that it is what they want. */
    struct in_addr any;
    bool ipv4 = inet_pton(AF_INET, opt.bind, &any) == 1; /* else the listen reports it */
    if (rc == CLI_EXIT_OK && ipv4 && !bind_is_loopback(opt.bind) && !opt.n_credentials &&
        !allow_open_remote) {
        fprintf(stderr, "salespipe serve: refusing to bind %s, which is not a loopback address, "
                        "without credentials: anyone who can reach it could read and change "
                        "every table, stream, pipe and object. Configure `credentials:` (SigV4 "
                        "keys) in the config, or pass --allow-unauthenticated-remote if the "
                        "network is trusted.\n", opt.bind);
        rc = CLI_EXIT_USAGE;
    }
    for (size_t i = 0; i < n_ports && rc == CLI_EXIT_OK; i++)
        if (ports[i].port && ports[i].port == opt.port) {
            fprintf(stderr, "salespipe serve: the %s port %d is the main port; give it a port "
                            "of its own\n", ports[i].service, ports[i].port);
            rc = CLI_EXIT_USAGE;
        }
    opt.service_ports = ports;
    opt.n_service_ports = n_ports;
    if (rc != CLI_EXIT_OK) {
        free(hosts);
        free(origins);
        sp_config_destroy(cfg);
        return rc;
    }
    sp_durability durability = SP_DURABILITY_FSYNC;
    sp_durability_parse(cfg->server.durability, &durability);
    /* With fsync, a pool large enough for writers to share commits (api_daemon.h). */
    opt.threads = (int)api_daemon_threads(opt.threads, durability == SP_DURABILITY_FSYNC);
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
                "from the network%s; clients must use %s or a name in server.hostnames as "
                "Host", opt.bind,
                opt.n_credentials ? "" : " and, with no credentials configured "
                                         "(--allow-unauthenticated-remote), accepts unsigned "
                                         "requests from anyone",
                strcmp(opt.bind, "0.0.0.0") ? opt.bind : "a loopback address");
    sp_err e = {0};
    cli_engine *en = cli_engine_open(cfg, common->data_dir, &e);
    if (!en || !cli_engine_start_workers(en, &e) || !cli_engine_listen(en, &opt, &e)) {
        cli_report("serve", &e);
        cli_engine_close(en);
        free(hosts);
        free(origins);
        sp_config_destroy(cfg);
        return CLI_EXIT_FAILED;
    }
    sp_info("salespipe listening on http://%s:%d (data dir %s); %s", opt.bind,
            cli_engine_port(en), common->data_dir,
            opt.n_credentials ? "requests must be signed (SigV4)" : "requests are not authenticated");
    /* A line on stdout that scripts can wait for. */
    printf("ready port=%d\n", cli_engine_port(en));
    for (size_t i = 0; i < n_ports; i++) {
        int port = cli_engine_service_port(en, ports[i].service);
        sp_info("%s's own endpoint on http://%s:%d", ports[i].service, opt.bind, port);
        printf("service-port %s=%d\n", ports[i].service, port);
    }
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    sp_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    cli_engine_close(en);
    free(hosts);
    free(origins);
    sp_config_destroy(cfg);
    return CLI_EXIT_OK;
}
