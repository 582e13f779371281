/* The scan threads, kept between queries: a lake scan's workers (qry_scan.c) run as jobs on
 * threads of one process-wide pool instead of threads created and joined per scan. A thread
 * that finishes a job waits for the next one (at most QRY_POOL_IDLE_MAX wait; any beyond
 * that exit), so a query in a running server does not pay for thread creation, fresh stacks
 * (page faults, and munmap/madvise when they go) or a fresh jansson arena and query-cache
 * connection (both stay with the thread: qry_scan_thread_release frees them when the
 * thread ends). When every thread is busy a job gets a new thread; when none can be made,
 * qry_pool_run fails and the scan produces inline.
 *
 * The threads not inside a job end at process exit (an atexit handler registered with the
 * first thread) and it waits for them, so leak checkers see everything freed.
 *
 * Locality: any thread may submit jobs; each job runs on exactly one pool thread. The
 * pool's state is under its one mutex.
 */
#include "qry_int.h"

#include <pthread.h>
#include <stdlib.h>

/* Idle threads kept: two scans' worth of QRY_SCAN_WORKERS_MAX (a join reads two tables). */
enum { QRY_POOL_IDLE_MAX = 8 };

typedef struct pool_thread {
    struct pool_thread *next;   /* on the idle list */
    pthread_t thread;
    pthread_cond_t wake;
    void (*fn)(void *);         /* the job handed to this thread; NULL: none yet */
    void (*done)(void *);       /* called with arg once the thread is idle again; may be NULL */
    void *arg;
    bool quit;
} pool_thread;

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_changed = PTHREAD_COND_INITIALIZER;
static pool_thread *idle;       /* waiting for a job */
static size_t n_idle, n_threads, n_busy; /* n_busy: threads inside a job's fn */
static bool exit_registered, shutting_down;

static void *pool_main(void *arg)
{
    pool_thread *t = arg;
    pthread_mutex_lock(&pool_mu);
    for (;;) {
        while (!t->fn && !t->quit) pthread_cond_wait(&t->wake, &pool_mu);
        if (!t->fn) break; /* quit */
        void (*fn)(void *) = t->fn, (*done)(void *) = t->done;
        void *job = t->arg;
        t->fn = t->done = NULL;
        t->arg = NULL;
        pthread_mutex_unlock(&pool_mu);
        fn(job);
        pthread_mutex_lock(&pool_mu);
        n_busy--;
        /* idle before done() tells the submitter, so its next job finds this thread */
        bool stay = !t->quit && !shutting_down && n_idle < QRY_POOL_IDLE_MAX;
        if (stay) {
            t->next = idle;
            idle = t;
            n_idle++;
        }
        pthread_mutex_unlock(&pool_mu);
        if (done) done(job);
        pthread_mutex_lock(&pool_mu);
        if (!stay) break;
        pthread_cond_broadcast(&pool_changed); /* idle now: pool_exit may be waiting */
    }
    pthread_mutex_unlock(&pool_mu);
    qry_scan_thread_release();
    pthread_cond_destroy(&t->wake);
    free(t);
    pthread_mutex_lock(&pool_mu);
    n_threads--;
    pthread_cond_broadcast(&pool_changed);
    pthread_mutex_unlock(&pool_mu);
    return NULL;
}

/* atexit: ends every thread that is not inside a job, and waits until they have ended
 * (their cache connections and arenas freed). A job still running at exit (exit() called
 * from elsewhere mid-query) is not waited for: it could wait on a consumer that is gone. */
static void pool_exit(void)
{
    pthread_mutex_lock(&pool_mu);
    shutting_down = true;
    for (;;) {
        while (idle) {
            pool_thread *t = idle;
            idle = t->next;
            n_idle--;
            t->quit = true;
            pthread_cond_signal(&t->wake);
        }
        if (n_threads <= n_busy) break;
        pthread_cond_wait(&pool_changed, &pool_mu);
    }
    pthread_mutex_unlock(&pool_mu);
}

bool qry_pool_run(void (*fn)(void *), void (*done)(void *), void *arg)
{
    pthread_mutex_lock(&pool_mu);
    if (shutting_down) {
        pthread_mutex_unlock(&pool_mu);
        return false;
    }
    pool_thread *t = idle;
    if (t) {
        idle = t->next;
        n_idle--;
        t->next = NULL;
        t->fn = fn;
        t->done = done;
        t->arg = arg;
        n_busy++;
        pthread_cond_signal(&t->wake);
        pthread_mutex_unlock(&pool_mu);
        return true;
    }
    t = calloc(1, sizeof *t);
    if (!t) abort();
    pthread_cond_init(&t->wake, NULL);
    t->fn = fn;
    t->done = done;
    t->arg = arg;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    bool ok = pthread_create(&t->thread, &attr, pool_main, t) == 0;
    pthread_attr_destroy(&attr);
    if (ok) {
        n_threads++;
        n_busy++;
        if (!exit_registered) exit_registered = atexit(pool_exit) == 0;
    } else {
        pthread_cond_destroy(&t->wake);
        free(t);
    }
    pthread_mutex_unlock(&pool_mu);
    return ok;
}

size_t qry_pool_threads(void)
{
    pthread_mutex_lock(&pool_mu);
    size_t n = n_threads;
    pthread_mutex_unlock(&pool_mu);
    return n;
}
