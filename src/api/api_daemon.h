/* The libmicrohttpd daemon settings of salespipe's HTTP endpoint, in one place: the daemon
 * flags, the option list (listen address, worker pool, connection limit, idle timeout) and
 * the worker-pool size rule. server.c starts its daemon with them, and so does the HTTP floor
 * of the benchmarks (bench/floor.c, a responder answering `{}` to every POST), so the floor
 * measures libmicrohttpd configured exactly as salespipe runs it and nothing else.
 *
 * Header-only (static inline) on purpose: the floor links libmicrohttpd only, not salespipe's
 * libraries, and must not drift from the server when an option changes here. */
#ifndef SP_API_DAEMON_H
#define SP_API_DAEMON_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

enum {
    API_CONNECTION_LIMIT = 1000,     /* concurrent connections the daemon accepts */
    API_CONNECTION_TIMEOUT_S = 120,  /* an idle keep-alive connection is closed after this */
    /* Worker threads when none are configured and durability is fsync: a Kinesis append's
     * thread waits for the fsync of its batch (stream/), and only appends waiting at once can
     * share one, so a pool of one thread per core would cap a group at the core count.
     * DynamoDB writes no longer hold a thread (their answers wait in suspended connections,
     * core/ack.h); put-item alone runs cheaper with a pool of 2 (~105-138 us of CPU per
     * PutItem against ~125-160 with 16 on 2 cores: fewer wake-ups, as resumed connections
     * share a thread), so this floor can drop once Kinesis appends defer the same way. */
    API_FSYNC_MIN_THREADS = 16,
    API_MIN_THREADS = 2,             /* otherwise one per core, at least this many */
    API_DAEMON_OPTIONS = 5,          /* entries api_daemon_options writes, MHD_OPTION_END included */
};

/* A pool of internal polling threads (MHD_OPTION_THREAD_POOL_SIZE below), each on epoll;
 * errors to the external logger the caller passes (or stderr); connections may be suspended
 * (a write's answer waits for its sync without holding the thread, core/ack.h). */
#define API_DAEMON_FLAGS (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | \
                          MHD_ALLOW_SUSPEND_RESUME)

/* The worker pool size for `configured` threads (0: not configured) under the durability
 * setting (fsync true: answered writes wait for the disk). */
static inline unsigned api_daemon_threads(int configured, bool fsync)
{
    if (configured > 0) return (unsigned)configured;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long floor = fsync ? API_FSYNC_MIN_THREADS : API_MIN_THREADS;
    return (unsigned)(cores > floor ? cores : floor);
}

/* Fills out[] with the daemon's options, ending with MHD_OPTION_END, for
 * MHD_start_daemon(API_DAEMON_FLAGS, ..., MHD_OPTION_ARRAY, out, <caller's callbacks>,
 * MHD_OPTION_END). addr is borrowed and must live until MHD_start_daemon returns. */
static inline void api_daemon_options(struct MHD_OptionItem out[API_DAEMON_OPTIONS],
                                      const struct sockaddr_in *addr, unsigned threads)
{
    out[0] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, (void *)addr};
    out[1] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE, (intptr_t)threads, NULL};
    out[2] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                     (intptr_t)API_CONNECTION_LIMIT, NULL};
    out[3] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                     (intptr_t)API_CONNECTION_TIMEOUT_S, NULL};
    out[4] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
}

#endif
