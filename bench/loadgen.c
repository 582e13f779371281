/* sp_loadgen: a small keep-alive HTTP/1.1 load generator for the benchmarks. N connections,
 * each on its own thread, send POST requests whose bodies are taken in turn from a file (one
 * body per line) for a fixed duration, and the totals are printed as one JSON object:
 *   {"requests":…, "errors":…, "seconds":…, "rps":…, "p50_ms":…, "p99_ms":…, "bytes_sent":…,
 *    "start_mono":…, "end_mono":…}
 * (start_mono/end_mono: CLOCK_MONOTONIC seconds, the clock of Python's time.monotonic(), so
 * a driving script can line the run up with what it observes). Used against salespipe, the
 * peers (dynalite, kinesalite) and the HTTP floor (sp_floor) in the same run.
 *
 * --target - : each body line is "X-Amz-Target<TAB>body" (a mix of operations).
 * --rate R   : requests are due at start + i/R over all connections (open loop while the
 *              server keeps up; a connection that falls behind sends as soon as it can).
 * --ack-log F: with --max-requests, writes "i ack_mono status" per request i (body i mod the
 *              number of bodies) to F at the end, for latency from answer to lake.
 *
 * usage: sp_loadgen --port P --target X-Amz-Target|- --bodies FILE [--connections N]
 *                   [--seconds S] [--content-type T] [--max-requests M] [--rate R]
 *                   [--ack-log FILE] */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

enum { LAT_BUCKETS = 100000 }; /* latency histogram in 10 µs steps up to 1 s */

typedef struct loadgen {
    int port;
    const char *target, *content_type;
    char **bodies;
    char **targets;               /* per body with --target -, else NULL */
    size_t n_bodies;
    double rate, start;           /* --rate (0: as fast as answered), start time */
    double *ack;                  /* --ack-log: answer time of request i (max_requests of them) */
    int *ack_status;
    double seconds;
    long max_requests;
    atomic_long next_body;
    atomic_long requests, errors, bytes_sent;
    atomic_long lat[LAT_BUCKETS + 1];
    volatile int stop;
} loadgen;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Reads one HTTP response; returns the status or -1 when the connection broke. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        ssize_t r = read(fd, buf + have, cap - have - 1);
        if (r <= 0) return -1;
        have += (size_t)r;
        buf[have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (!end && have >= cap - 1) return -1;
    }
    int status = atoi(buf + 9);
    long len = 0;
    for (char *h = strcasestr(buf, "\ncontent-length:"); h && h < end; h = NULL)
        len = atol(h + 16);
    size_t body_have = have - (size_t)(end + 4 - buf);
    while ((long)body_have < len) {
        ssize_t r = read(fd, buf, cap - 1);
        if (r <= 0) return -1;
        body_have += (size_t)r;
    }
    return status;
}

static void *worker(void *arg)
{
    loadgen *lg = arg;
    int fd = connect_to(lg->port);
    size_t cap = 1 << 20;
    char *buf = malloc(cap);
    char head[512];
    while (fd >= 0 && !lg->stop) {
        long i = atomic_fetch_add(&lg->next_body, 1);
        if (lg->max_requests && i >= lg->max_requests) break;
        const char *body = lg->bodies[(size_t)i % lg->n_bodies];
        const char *target = lg->targets ? lg->targets[(size_t)i % lg->n_bodies] : lg->target;
        size_t blen = strlen(body);
        if (lg->rate > 0) {
            double wait = lg->start + (double)i / lg->rate - now_s();
            if (wait > 0) {
                struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        int hlen = snprintf(head, sizeof head,
                            "POST / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Amz-Target: %s\r\n"
                            "Content-Type: %s\r\nAuthorization: AWS4-HMAC-SHA256 "
                            "Credential=test/20260101/us-east-1/x/aws4_request, "
                            "SignedHeaders=host, Signature=0\r\nX-Amz-Date: 20260101T000000Z\r\n"
                            "Content-Length: %zu\r\n\r\n",
                            lg->port, target, lg->content_type, blen);
        double t0 = now_s();
        struct iovec iov[2] = {{head, (size_t)hlen}, {(void *)body, blen}};
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
        if (sendmsg(fd, &mh, MSG_NOSIGNAL) != (ssize_t)(hlen + (int)blen)) break;
        int status = read_response(fd, buf, cap);
        if (status < 0) break;
        double t1 = now_s(), ms = (t1 - t0) * 1000.0;
        if (lg->ack) {
            lg->ack[i] = t1;
            lg->ack_status[i] = status;
        }
        long b = (long)(ms * 100.0);
        atomic_fetch_add(&lg->lat[b > LAT_BUCKETS ? LAT_BUCKETS : b], 1);
        atomic_fetch_add(&lg->requests, 1);
        atomic_fetch_add(&lg->bytes_sent, (long)blen);
        if (status != 200) atomic_fetch_add(&lg->errors, 1);
    }
    if (fd >= 0) close(fd);
    free(buf);
    return NULL;
}

static double percentile(loadgen *lg, double p)
{
    long total = 0, seen = 0;
    for (int i = 0; i <= LAT_BUCKETS; i++) total += lg->lat[i];
    for (int i = 0; i <= LAT_BUCKETS; i++) {
        seen += lg->lat[i];
        if (total && (double)seen >= p * (double)total) return i / 100.0;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static loadgen lg = {.content_type = "application/x-amz-json-1.0", .seconds = 5};
    const char *bodies_path = NULL, *ack_path = NULL;
    int connections = 8;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port")) lg.port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--target")) lg.target = argv[i + 1];
        else if (!strcmp(argv[i], "--bodies")) bodies_path = argv[i + 1];
        else if (!strcmp(argv[i], "--connections")) connections = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) lg.seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--content-type")) lg.content_type = argv[i + 1];
        else if (!strcmp(argv[i], "--max-requests")) lg.max_requests = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate")) lg.rate = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--ack-log")) ack_path = argv[i + 1];
    }
    if (!lg.port || !lg.target || !bodies_path || connections < 1 || lg.rate < 0 ||
        (ack_path && lg.max_requests <= 0)) {
        fprintf(stderr, "usage: sp_loadgen --port P --target T|- --bodies FILE [--connections N] "
                        "[--seconds S] [--content-type T] [--max-requests M] [--rate R] "
                        "[--ack-log FILE (needs --max-requests)]\n");
        return 2;
    }
    bool per_line = !strcmp(lg.target, "-");
    FILE *f = fopen(bodies_path, "r");
    if (!f) {
        perror(bodies_path);
        return 2;
    }
    size_t cap = 1024;
    lg.bodies = malloc(cap * sizeof *lg.bodies);
    if (per_line) lg.targets = malloc(cap * sizeof *lg.targets);
    char *line = NULL;
    size_t lcap = 0;
    ssize_t n;
    bool bad_line = false;
    while ((n = getline(&line, &lcap, f)) > 0) {
        if (line[n - 1] == '\n') line[--n] = '\0';
        if (!n) continue;
        if (lg.n_bodies == cap) {
            lg.bodies = realloc(lg.bodies, (cap *= 2) * sizeof *lg.bodies);
            if (per_line) lg.targets = realloc(lg.targets, cap * sizeof *lg.targets);
        }
        if (per_line) {
            char *tab = strchr(line, '\t');
            if (!tab) {
                fprintf(stderr, "%s: line %zu has no TARGET<TAB> (--target -)\n", bodies_path,
                        lg.n_bodies + 1);
                bad_line = true;
                break;
            }
            *tab = '\0';
            lg.targets[lg.n_bodies] = strdup(line);
            lg.bodies[lg.n_bodies++] = strdup(tab + 1);
        } else {
            lg.bodies[lg.n_bodies++] = strdup(line);
        }
    }
    free(line);
    fclose(f);
    if (bad_line) {
        for (size_t i = 0; i < lg.n_bodies; i++) {
            free(lg.bodies[i]);
            free(lg.targets[i]);
        }
        free(lg.bodies);
        free(lg.targets);
        return 2;
    }
    if (!lg.n_bodies) {
        free(lg.bodies);
        free(lg.targets);
        fprintf(stderr, "%s: no bodies\n", bodies_path);
        return 2;
    }
    if (ack_path) {
        lg.ack = calloc((size_t)lg.max_requests, sizeof *lg.ack);
        lg.ack_status = calloc((size_t)lg.max_requests, sizeof *lg.ack_status);
    }
    pthread_t *t = calloc((size_t)connections, sizeof *t);
    double start = lg.start = now_s();
    for (int i = 0; i < connections; i++) pthread_create(&t[i], NULL, worker, &lg);
    while (now_s() - start < lg.seconds) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (lg.max_requests && lg.requests + lg.errors >= lg.max_requests) break;
    }
    lg.stop = 1;
    for (int i = 0; i < connections; i++) pthread_join(t[i], NULL);
    double end = now_s(), secs = end - start;
    printf("{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.2f,"
           "\"p99_ms\":%.2f,\"bytes_sent\":%ld,\"start_mono\":%.6f,\"end_mono\":%.6f}\n",
           (long)lg.requests, (long)lg.errors, secs, (double)lg.requests / secs,
           percentile(&lg, 0.5), percentile(&lg, 0.99), (long)lg.bytes_sent, start, end);
    if (ack_path) {
        FILE *a = fopen(ack_path, "w");
        if (!a) {
            perror(ack_path);
            return 1;
        }
        for (long i = 0; i < lg.max_requests; i++)
            if (lg.ack_status[i]) fprintf(a, "%ld %.6f %d\n", i, lg.ack[i], lg.ack_status[i]);
        fclose(a);
        free(lg.ack);
        free(lg.ack_status);
    }
    for (size_t i = 0; i < lg.n_bodies; i++) {
        free(lg.bodies[i]);
        if (lg.targets) free(lg.targets[i]);
    }
    free(lg.bodies);
    free(lg.targets);
    free(t);
    return lg.requests > 0 ? 0 : 1;
}
