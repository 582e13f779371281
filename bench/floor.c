/* sp_floor: the HTTP floor of the benchmarks. A libmicrohttpd daemon started with exactly the
 * flags and options of salespipe's endpoint (src/api/api_daemon.h: polling-thread pool, epoll,
 * connection limit, idle timeout, the same pool-size rule for the same durability setting)
 * that reads every request body and answers every POST with a fixed `{}` (200,
 * application/x-amz-json-1.0). Whatever a salespipe request costs above what sp_loadgen
 * measures against this is salespipe's own work; the floor itself is the most any server on
 * this HTTP stack could answer on this machine.
 *
 * usage: sp_floor [--port P] [--threads N] [--durability fsync|relaxed]
 * Prints `ready port=P threads=N` on stdout once listening (like `salespipe serve`), then
 * serves until SIGINT or SIGTERM. Anything but POST gets 405. */
#include "api_daemon.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char FLOOR_BODY[] = "{}";

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct MHD_Response *ok = cls;
    (void)url;
    (void)version;
    (void)upload_data;
    static int seen; /* any non-NULL marker: the first call of a request sees *con_cls NULL */
    if (!*con_cls) {
        *con_cls = &seen;
        return MHD_YES; /* headers only; the body (if any) comes in the next calls */
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* read and dropped */
        return MHD_YES;
    }
    if (strcmp(method, "POST") != 0) {
        struct MHD_Response *r =
            MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return ret;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, ok);
}

int main(int argc, char **argv)
{
    int port = 0, threads = 0;
    bool fsync = true; /* salespipe's default durability */
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--durability") && !strcmp(argv[i + 1], "relaxed")) fsync = false;
        else if (!strcmp(argv[i], "--durability") && !strcmp(argv[i + 1], "fsync")) fsync = true;
        else {
            fprintf(stderr, "usage: sp_floor [--port P] [--threads N] "
                            "[--durability fsync|relaxed]\n");
            return 2;
        }
    }
    if (argc % 2 == 0 || port < 0 || port > 65535 || threads < 0) {
        fprintf(stderr, "usage: sp_floor [--port P] [--threads N] [--durability fsync|relaxed]\n");
        return 2;
    }
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL); /* before the daemon's threads start */
    signal(SIGPIPE, SIG_IGN);

    /* One response shared by every request (libmicrohttpd counts its references). */
    struct MHD_Response *ok = MHD_create_response_from_buffer(
        sizeof FLOOR_BODY - 1, (void *)FLOOR_BODY, MHD_RESPMEM_PERSISTENT);
    if (!ok) return 1;
    MHD_add_response_header(ok, "Content-Type", "application/x-amz-json-1.0");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    unsigned pool = api_daemon_threads(threads, fsync);
    struct MHD_OptionItem common[API_DAEMON_OPTIONS];
    api_daemon_options(common, &addr, pool);
    struct MHD_Daemon *d = MHD_start_daemon(API_DAEMON_FLAGS, 0, NULL, NULL, on_access, ok,
                                            MHD_OPTION_ARRAY, common, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "sp_floor: cannot listen on 127.0.0.1:%d\n", port);
        MHD_destroy_response(ok);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("ready port=%u threads=%u\n", info ? info->port : (unsigned)port, pool);
    fflush(stdout);
    int sig;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    MHD_destroy_response(ok);
    return 0;
}
