/* libjq as the delivery stage uses it (the jq processor and dynamic partitioning's
 * MetadataExtraction, the language Firehose uses for partitioning queries): compile once, run
 * per record, collect every output as compact JSON text.
 *
 * Budget and containment. Programs come from outside (CreateDeliveryStream), and libjq 1.6
 * (Debian 12's) has no step counter and no interrupt: jq_next runs until the program yields,
 * so `def f: f; f` or `[range(1e9)]` never come back, and a C builtin such as `"x" * 1e9`
 * cannot be stopped from inside at all. Halting it from a watchdog thread (jq_halt on a
 * running jq_state) is a data race and still leaves the builtins; longjmp out of a signal
 * handler leaves the jq_state and the allocator inconsistent. So the program runs in a worker
 * process: this binary re-executed (/proc/self/exe) with an empty environment, cwd "/", no
 * descriptors but its socket and stderr, an address-space limit (not under ASan, which
 * reserves terabytes) and no core dumps. The stage sends one record at a time over a
 * socketpair and waits at most DLV_JQ_BUDGET_MS for the answer; past it the worker is
 * killed, the record fails with a budget error and a fresh worker takes the next record. The
 * worker is started on the first record and after each kill, and is recognised by a
 * constructor that looks at argv before main runs (so unit tests and fuzz targets linking
 * this file get it too). On top of the empty environment, the program is compiled inside a
 * prelude that redefines whatever reads the process or the file system (env, $ENV, input,
 * inputs, input_filename, debug, stderr, get_search_list, modulemeta, halt, halt_error) and
 * makes import/include impossible (they are only valid at the very start of a program, and
 * the prelude comes first); the library search path is empty and, without HOME, libjq does
 * not read ~/.jq. The stage also compiles the program once itself so that a syntax error is
 * reported when the stream is created; that compile never runs anything (libjq does read the
 * server's ~/.jq for it, whose definitions the worker does not have: a program relying on
 * them compiles here and fails its records there). */
#include "dlv_int.h"

#include <errno.h>
#include <fcntl.h>
#include <jq.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

enum {
    JQ_FRAME_MAX = DLV_LAMBDA_PAYLOAD_MAX,    /* a record or an answer: Lambda's payload cap */
    JQ_START_MS = 10000,                      /* a fresh worker must answer the compile */
    JQ_WORKER_AS_MB = 1024,                   /* the worker's address space (non-ASan) */
    JQ_WORKER_NOFILE = 16,
    JQ_WORKER_FD = 3,                         /* the worker's end of the socket */
};
/* AddressSanitizer reserves terabytes of address space: no RLIMIT_AS under it. */
#if defined(__SANITIZE_ADDRESS__)
#define JQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JQ_ASAN 1
#endif
#endif
#ifndef JQ_ASAN
#define JQ_ASAN 0
#endif

static const char WORKER_ARG[] = "--salespipe-internal-jq-worker";
static const char SELF_EXE[] = "/proc/self/exe";

/* Ends with an open parenthesis: the program follows on the same line (so jq's line numbers
 * stay the user's) and a newline and ")" close it. */
static const char PRELUDE[] =
    "def env: {}; def input: error(\"input is not available\"); def inputs: empty; "
    "def input_filename: null; def input_line_number: 0; def debug: .; def stderr: .; "
    "def get_search_list: []; def get_prog_origin: null; def get_jq_origin: null; "
    "def modulemeta: error(\"modules are not available\"); "
    "def halt: error(\"halt is not available\"); def halt_error: error(\"halt is not available\"); "
    "def halt_error($c): error(\"halt is not available\"); "
    "{} as $ENV | (";
static const char POSTLUDE[] = "\n)";

struct dlv_jq {
    char *program;             /* prelude + program + postlude */
    pid_t worker;              /* -1: none running */
    int fd;                    /* our end of the socket */
    int budget_ms;
};

/* ---- both sides: frames are a 4-byte big-endian length and that many bytes ------------- */

/* Writes all of buf before the deadline (mono ns; 0: none). */
static bool send_all(int fd, const void *buf, size_t len, uint64_t deadline)
{
    const char *p = buf;
    while (len > 0) {
        if (deadline) {
            uint64_t now = sp_clock_mono_ns();
            if (now >= deadline) return false;
            struct pollfd pf = {.fd = fd, .events = POLLOUT};
            int r = poll(&pf, 1, (int)((deadline - now) / 1000000 + 1));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
        }
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | (deadline ? MSG_DONTWAIT : 0));
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool recv_all(int fd, void *buf, size_t len, uint64_t deadline)
{
    char *p = buf;
    while (len > 0) {
        if (deadline) {
            uint64_t now = sp_clock_mono_ns();
            if (now >= deadline) return false;
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            int r = poll(&pf, 1, (int)((deadline - now) / 1000000 + 1));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return false;
        }
        ssize_t n = recv(fd, p, len, deadline ? MSG_DONTWAIT : 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool frame_send(int fd, const char *data, size_t len, uint64_t deadline)
{
    unsigned char h[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8), (unsigned char)len};
    return len <= JQ_FRAME_MAX && send_all(fd, h, 4, deadline) &&
           send_all(fd, data, len, deadline);
}

/* A frame (caller frees, NUL-terminated), or NULL on EOF, error, oversize or deadline. */
static char *frame_recv(int fd, size_t *len, uint64_t deadline)
{
    unsigned char h[4];
    if (!recv_all(fd, h, 4, deadline)) return NULL;
    size_t n = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
    if (n > JQ_FRAME_MAX) return NULL;
    char *buf = malloc(n + 1);
    if (!recv_all(fd, buf, n, deadline)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* ---- libjq ---------------------------------------------------------------------------------- */

typedef struct jq_ctx {
    jq_state *jq;
    char msg[SP_ERR_MSG_MAX];
} jq_ctx;

static void on_error(void *arg, jv err)
{
    jq_ctx *c = arg;
    jv s = jv_get_kind(err) == JV_KIND_STRING ? jv_copy(err) : jv_dump_string(jv_copy(err), 0);
    if (!c->msg[0]) snprintf(c->msg, sizeof c->msg, "%s", jv_string_value(s));
    jv_free(s);
    jv_free(err);
}

/* Compiles the wrapped program; false with c->msg on a syntax error. */
static bool jq_ctx_init(jq_ctx *c, const char *wrapped)
{
    c->msg[0] = '\0';
    c->jq = jq_init();
    if (!c->jq) {
        snprintf(c->msg, sizeof c->msg, "cannot initialise jq");
        return false;
    }
    jq_set_error_cb(c->jq, on_error, c);
    jq_set_attr(c->jq, jv_string("JQ_LIBRARY_PATH"), jv_array());
    if (!jq_compile(c->jq, wrapped)) {
        if (!c->msg[0]) snprintf(c->msg, sizeof c->msg, "syntax error");
        return false;
    }
    return true;
}

/* The jv of a jansson value. Numbers are doubles on both sides (the input is decoded with
 * JSON_DECODE_INT_AS_REAL), the only number jq 1.6 has. */
static jv jv_of_json(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        jv o = jv_object();
        const char *k;
        size_t klen;
        json_t *x;
        json_object_keylen_foreach((json_t *)v, k, klen, x) o =
            jv_object_set(o, jv_string_sized(k, (int)klen), jv_of_json(x));
        return o;
    }
    case JSON_ARRAY: {
        jv a = jv_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) a = jv_array_append(a, jv_of_json(x));
        return a;
    }
    case JSON_STRING: return jv_string_sized(json_string_value(v), (int)json_string_length(v));
    case JSON_INTEGER: return jv_number((double)json_integer_value(v));
    case JSON_REAL: return jv_number(json_real_value(v));
    case JSON_TRUE: return jv_true();
    case JSON_FALSE: return jv_false();
    case JSON_NULL: break;
    }
    return jv_null();
}

/* One record through the program: {"ok": [outputs as compact JSON text]} or {"error": msg}.
 * New ref. The record is decoded by jansson, not by jq's own parser: libjq 1.6 leaks a string
 * on some malformed input ('{"a" "b"}'), and records come from outside. */
static json_t *jq_ctx_run(jq_ctx *c, const char *in, size_t len)
{
    json_error_t je;
    json_t *doc = json_loadb(in, len, JSON_DECODE_ANY | JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL,
                             &je);
    if (!doc) {
        char msg[SP_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "record is not JSON: %s", je.text);
        return json_pack("{s:s}", "error", msg);
    }
    jv input = jv_of_json(doc);
    json_decref(doc);
    c->msg[0] = '\0';
    jq_start(c->jq, input, 0);
    json_t *outs = json_array();
    size_t total = 0;
    for (;;) {
        jv r = jq_next(c->jq);
        if (jv_is_valid(r)) {
            jv text = jv_dump_string(r, 0);
            total += (size_t)jv_string_length_bytes(jv_copy(text));
            json_array_append_new(outs, json_string(jv_string_value(text)));
            jv_free(text);
            if (total > JQ_FRAME_MAX / 2) {
                json_decref(outs);
                char msg[SP_ERR_MSG_MAX];
                snprintf(msg, sizeof msg, "jq: the outputs exceed %d bytes", JQ_FRAME_MAX / 2);
                return json_pack("{s:s}", "error", msg);
            }
            continue;
        }
        if (jv_invalid_has_msg(jv_copy(r))) {
            jv msg = jv_invalid_get_msg(r);
            jv s = jv_get_kind(msg) == JV_KIND_STRING ? msg : jv_dump_string(msg, 0);
            json_t *err = json_pack("{s:s+}", "error", "jq: ", jv_string_value(s));
            jv_free(s);
            json_decref(outs);
            return err;
        }
        jv_free(r);
        break;
    }
    return json_pack("{s:o}", "ok", outs);
}

/* ---- the worker ----------------------------------------------------------------------------- */

/* Frames in on fd: the wrapped program, then records; frames out: the compile's answer
 * ({"ok":[]} or {"error":...}), then one answer per record. Never returns. */
static void worker_main(int fd)
{
    size_t len;
    char *program = frame_recv(fd, &len, 0);
    if (!program) _exit(0);
    jq_ctx c;
    bool ok = jq_ctx_init(&c, program);
    free(program);
    json_t *ans = ok ? json_pack("{s:[]}", "ok") : json_pack("{s:s}", "error", c.msg);
    for (;;) {
        char *text = sp_json_dump(ans, &len);
        json_decref(ans);
        bool sent = frame_send(fd, text, len, 0);
        free(text);
        if (!sent || !ok) _exit(0);
        char *rec = frame_recv(fd, &len, 0);
        if (!rec) _exit(0);     /* the stage closed the socket */
        ans = jq_ctx_run(&c, rec, len);
        free(rec);
    }
}

/* Runs before main in every binary that links this file: the worker is this binary with
 * WORKER_ARG as its only argument (glibc passes argc/argv to constructors). */
__attribute__((constructor)) static void jq_worker_probe(int argc, char **argv)
{
    if (argc == 2 && argv && argv[1] && !strcmp(argv[1], WORKER_ARG)) worker_main(JQ_WORKER_FD);
}

/* ---- the stage's side ----------------------------------------------------------------------- */

static void worker_stop(dlv_jq *q)
{
    if (q->fd >= 0) close(q->fd);
    q->fd = -1;
    if (q->worker > 0) {
        kill(q->worker, SIGKILL);
        while (waitpid(q->worker, NULL, 0) < 0 && errno == EINTR) {}
    }
    q->worker = -1;
}

static void set_limit(int resource, rlim_t value)
{
    struct rlimit r = {value, value};
    (void)setrlimit(resource, &r);
}

/* Starts a worker and has it compile the program. */
static bool worker_start(dlv_jq *q, sp_err *e)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
        sp_err_internal(e, "jq: cannot create a socket pair: %s", strerror(errno));
        return false;
    }
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    char *argv[] = {"salespipe-jq", (char *)WORKER_ARG, NULL};
    char *envp[] = {NULL};
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 1);
        }
        if (sv[1] == JQ_WORKER_FD ? fcntl(sv[1], F_SETFD, 0) < 0
                                  : dup2(sv[1], JQ_WORKER_FD) < 0)
            _exit(126);
        if (chdir("/") != 0) _exit(126);
        syscall(SYS_close_range, JQ_WORKER_FD + 1u, ~0u, 0u);
        if (!JQ_ASAN) set_limit(RLIMIT_AS, (rlim_t)JQ_WORKER_AS_MB << 20);
        set_limit(RLIMIT_NOFILE, JQ_WORKER_NOFILE);
        set_limit(RLIMIT_CORE, 0);
        execve(SELF_EXE, argv, envp);
        _exit(127);
    }
    int fork_errno = errno;
    if (devnull >= 0) close(devnull);
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        sp_err_internal(e, "jq: cannot start a worker: %s", strerror(fork_errno));
        return false;
    }
    q->worker = pid;
    q->fd = sv[0];
    uint64_t deadline = sp_clock_mono_ns() + JQ_START_MS * 1000000ull;
    size_t len;
    char *ans = frame_send(q->fd, q->program, strlen(q->program), deadline)
                    ? frame_recv(q->fd, &len, deadline)
                    : NULL;
    json_t *j = ans ? json_loadb(ans, len, 0, NULL) : NULL;
    free(ans);
    const char *err = json_string_value(json_object_get(j, "error"));
    bool ok = json_is_array(json_object_get(j, "ok"));
    if (!ok) sp_err_invalid(e, "jq: %s", err ? err : "the worker did not start");
    json_decref(j);
    if (!ok) worker_stop(q);
    return ok;
}

dlv_jq *dlv_jq_new(const char *program, sp_err *e)
{
    sp_str w;
    sp_str_init(&w, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&w, "%s%s%s", PRELUDE, program, POSTLUDE);
    /* The syntax check, here and now; the program never runs in this process. */
    jq_ctx c;
    bool ok = jq_ctx_init(&c, w.buf);
    if (c.jq) jq_teardown(&c.jq);
    if (!ok) {
        sp_err_set(e, 400, "InvalidArgumentException", "jq program '%.200s' does not compile: %s",
                   program, c.msg);
        sp_str_release(&w);
        return NULL;
    }
    dlv_jq *q = calloc(1, sizeof *q);
    q->program = sp_str_finish(&w, NULL);
    q->worker = -1;
    q->fd = -1;
    q->budget_ms = DLV_JQ_BUDGET_MS;
    return q;
}

bool dlv_jq_run(dlv_jq *q, const char *in, size_t len, json_t **outputs, sp_err *e)
{
    *outputs = NULL;
    if (len > JQ_FRAME_MAX) {
        sp_err_invalid(e, "jq: the record exceeds %d bytes", JQ_FRAME_MAX);
        return false;
    }
    if (q->worker <= 0 && !worker_start(q, e)) return false;
    uint64_t deadline = sp_clock_mono_ns() + (uint64_t)q->budget_ms * 1000000ull;
    size_t alen;
    char *ans = frame_send(q->fd, in, len, deadline) ? frame_recv(q->fd, &alen, deadline) : NULL;
    if (!ans) {
        /* Past the budget, or the worker died (out of memory): a fresh one for the next. */
        int status = 0;
        bool died = waitpid(q->worker, &status, WNOHANG) == q->worker;
        if (died) q->worker = -1;
        worker_stop(q);
        if (died)
            sp_err_invalid(e, "jq: the program stopped (%s %d) before answering, out of memory "
                           "or over a limit", WIFSIGNALED(status) ? "signal" : "exit status",
                           WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        else
            sp_err_invalid(e, "jq: the program exceeded its time budget of %d ms for one "
                           "record and was stopped", q->budget_ms);
        return false;
    }
    json_t *j = json_loadb(ans, alen, 0, NULL);
    free(ans);
    json_t *ok = json_object_get(j, "ok");
    const char *err = json_string_value(json_object_get(j, "error"));
    if (!json_is_array(ok)) {
        sp_err_invalid(e, "%s", err ? err : "jq: the worker's answer is not understood");
        json_decref(j);
        return false;
    }
    *outputs = json_incref(ok);
    json_decref(j);
    return true;
}

void dlv_jq_destroy(dlv_jq *q)
{
    if (!q) return;
    worker_stop(q);
    free(q->program);
    free(q);
}
