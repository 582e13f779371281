/* The AWS Lambda Runtime API, served to one child process per lambda processor: a small
 * libmicrohttpd server on 127.0.0.1 (thread per connection, so invocation/next can block
 * until there is an invocation), and the child: /usr/bin/python3 -I running the bootstrap.
 * An invocation is one slot guarded by a mutex: the invoker queues the event and waits for the
 * response, an error, the child's death or the timeout; a timeout or death kills the child (a
 * fresh one starts on the next invoke), and a late answer carries a stale request id and is
 * refused.
 *
 * Containment. Only <lambda_dir>/<name>.py runs, found by realpath and refused when it
 * resolves outside lambda_dir (a symlink out) or is not a regular file; a missing function
 * fails with ResourceNotFoundException, nothing else is searched. The child gets a clean
 * environment (the Lambda variables, PATH, LANG, TZ and the function's own Environment),
 * cwd = lambda_dir, rlimits (address space from MemorySize plus the interpreter's headroom,
 * CPU time re-armed before each invocation, open files, file size, processes, no core), no
 * inherited descriptors but stdin (/dev/null) and stdout/stderr (our stderr). Every URL of
 * the Runtime API carries a random per-child token as its first path segment (the child gets
 * it inside AWS_LAMBDA_RUNTIME_API, "127.0.0.1:<port>/<token>", which a runtime client
 * concatenates with /2018-06-01/runtime/...), and each invocation a random request id
 * (getrandom, UUID form): another local process can neither take an event nor answer one. */
#include "dlv_lambda.h"
#include "core/lambda_fn.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char PYTHON[] = "/usr/bin/python3";
static const char PREFIX[] = "/2018-06-01/runtime";
static const char ENV_PATH[] = "PATH=/usr/local/bin:/usr/bin:/bin";
static const char ENV_LANG[] = "LANG=C.UTF-8";
static const char ENV_TZ[] = "TZ=:UTC";
enum {
    RT_BODY_MAX = DLV_LAMBDA_PAYLOAD_MAX + 64 * 1024,
    RT_POLL_MS = 100,                 /* how often the invoker checks the child */
    RT_NEXT_WAIT_MS = 1000,           /* invocation/next re-checks the stop flag this often */
    RT_INIT_TIMEOUT_MS = 10000,       /* a (re)started child must ask for work within this */
    RT_CONNECTIONS_MAX = 16,          /* the child needs one or two at a time */
    RT_CONFIG_MAX = 64 * 1024,        /* <name>.json */
    RT_ENV_SLOTS = 16,                /* the Lambda variables we set */
    RT_AS_HEADROOM_MB = 256,          /* python3 itself maps ~25 MB; shared libraries, arenas */
    RT_NOFILE = 1024,                 /* Lambda: 1024 file descriptors */
    RT_FSIZE_MB = 512,                /* Lambda: 512 MB of /tmp */
    RT_NPROC = 1024,                  /* Lambda: 1024 processes/threads */
    RT_CPU_SLACK_S = 2,               /* CPU seconds over the timeout before SIGXCPU */
    RT_UUID_LEN = 36,
};

typedef enum { SLOT_EMPTY, SLOT_QUEUED, SLOT_TAKEN, SLOT_DONE } slot_state;

struct dlv_lambda_rt {
    char *lambda_dir, *bootstrap, *fn_name, *fn_arn;
    struct MHD_Daemon *daemon;
    int port;
    pid_t child;
    int fn_timeout_ms;                /* the running child's function Timeout */
    int fn_memory_mb;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
    slot_state state;
    char token[RT_UUID_LEN + 1];      /* the running child's; "" when none */
    char request_id[RT_UUID_LEN + 1];
    char *event;
    size_t event_len;
    int64_t deadline_ms;
    int timeout_ms;
    uint64_t taken_ns;                /* when the child took the event: the timeout starts */
    char *result;
    size_t result_len;
    bool result_is_error;
    char *init_error;
};

typedef struct upload {
    sp_str body;
    bool too_big;
} upload;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body,
                             dlv_lambda_rt *rt, bool invocation)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    if (invocation) {
        char deadline[32];
        snprintf(deadline, sizeof deadline, "%lld", (long long)rt->deadline_ms);
        MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", rt->request_id);
        MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
        MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", rt->fn_arn);
        MHD_add_response_header(r, "Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000");
    }
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* GET invocation/next: blocks until an event is queued (or the runtime stops). */
static enum MHD_Result next(dlv_lambda_rt *rt, struct MHD_Connection *c)
{
    pthread_mutex_lock(&rt->mu);
    while (!rt->stopping && rt->state != SLOT_QUEUED) {
        struct timespec ts;
        sp_clock_deadline(&ts, RT_NEXT_WAIT_MS);
        pthread_cond_timedwait(&rt->cond, &rt->mu, &ts);
    }
    if (rt->stopping) {
        pthread_mutex_unlock(&rt->mu);
        return reply(c, 500, "{\"errorType\":\"Runtime.Stopping\"}", rt, false);
    }
    rt->state = SLOT_TAKEN;
    rt->taken_ns = sp_clock_mono_ns();
    rt->deadline_ms = sp_clock_wall_ms() + rt->timeout_ms;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rt->event_len, rt->event, MHD_RESPMEM_MUST_COPY);
    char deadline[32];
    snprintf(deadline, sizeof deadline, "%lld", (long long)rt->deadline_ms);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Lambda-Runtime-Aws-Request-Id", rt->request_id);
    MHD_add_response_header(r, "Lambda-Runtime-Deadline-Ms", deadline);
    MHD_add_response_header(r, "Lambda-Runtime-Invoked-Function-Arn", rt->fn_arn);
    pthread_mutex_unlock(&rt->mu);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* POST invocation/{id}/response|error and init/error. */
static enum MHD_Result answer(dlv_lambda_rt *rt, struct MHD_Connection *c, const char *path,
                              upload *u)
{
    if (u->too_big)
        return reply(c, 413, "{\"errorType\":\"RequestEntityTooLarge\"}", rt, false);
    pthread_mutex_lock(&rt->mu);
    if (!strcmp(path, "/init/error")) {
        free(rt->init_error);
        rt->init_error = strdup(u->body.buf ? u->body.buf : "");
        pthread_cond_broadcast(&rt->cond);
        pthread_mutex_unlock(&rt->mu);
        return reply(c, 202, "{\"status\":\"OK\"}", rt, false);
    }
    static const char INV[] = "/invocation/";
    const char *id = path + strlen(INV);
    const char *slash = strncmp(path, INV, strlen(INV)) ? NULL : strchr(id, '/');
    bool is_error = slash && !strcmp(slash, "/error");
    bool ok = slash && (is_error || !strcmp(slash, "/response")) && rt->state == SLOT_TAKEN &&
              (size_t)(slash - id) == strlen(rt->request_id) &&
              !strncmp(id, rt->request_id, (size_t)(slash - id));
    if (!ok) {
        pthread_mutex_unlock(&rt->mu);
        return reply(c, 400, "{\"errorType\":\"InvalidRequestID\"}", rt, false);
    }
    free(rt->result);
    rt->result = sp_str_finish(&u->body, &rt->result_len);
    if (!rt->result) rt->result = strdup("");
    rt->result_is_error = is_error;
    rt->state = SLOT_DONE;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->mu);
    return reply(c, 202, "{\"status\":\"OK\"}", rt, false);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *data_size, void **con_cls)
{
    (void)version;
    dlv_lambda_rt *rt = cls;
    if (!*con_cls) {
        /* Refused before any body is taken: a request without the child's token. */
        pthread_mutex_lock(&rt->mu);
        bool allowed = rt->token[0] && url[0] == '/' &&
                       !strncmp(url + 1, rt->token, RT_UUID_LEN) &&
                       !strncmp(url + 1 + RT_UUID_LEN, PREFIX, strlen(PREFIX));
        pthread_mutex_unlock(&rt->mu);
        if (!allowed)
            return reply(c, 403, "{\"errorType\":\"AccessDenied\",\"errorMessage\":"
                                 "\"not the runtime of this function\"}", rt, false);
        upload *u = calloc(1, sizeof *u);
        sp_str_init(&u->body, NULL, 0, RT_BODY_MAX);
        *con_cls = u;
        return MHD_YES;
    }
    upload *u = *con_cls;
    if (*data_size) {
        sp_str_append(&u->body, data, *data_size);
        if (sp_str_failed(&u->body)) u->too_big = true;
        *data_size = 0;
        return MHD_YES;
    }
    const char *path = url + 1 + RT_UUID_LEN + strlen(PREFIX);
    if (!strcmp(method, "GET") && !strcmp(path, "/invocation/next")) return next(rt, c);
    if (!strcmp(method, "POST")) return answer(rt, c, path, u);
    return reply(c, 404, "{\"errorType\":\"NotFound\"}", rt, false);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    upload *u = *con_cls;
    if (!u) return;
    sp_str_release(&u->body);
    free(u);
    *con_cls = NULL;
}

dlv_lambda_rt *dlv_lambda_rt_new(const char *lambda_dir, const char *bootstrap_path,
                                 const char *function_name, const char *function_arn, sp_err *e)
{
    dlv_lambda_rt *rt = calloc(1, sizeof *rt);
    rt->lambda_dir = strdup(lambda_dir);
    rt->bootstrap = strdup(bootstrap_path);
    rt->fn_name = strdup(function_name);
    rt->fn_arn = strdup(function_arn);
    rt->child = -1;
    pthread_mutex_init(&rt->mu, NULL);
    pthread_cond_init(&rt->cond, NULL);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    rt->daemon = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                      MHD_USE_ERROR_LOG,
                                  0, NULL, NULL, on_access, rt, MHD_OPTION_SOCK_ADDR, &addr,
                                  MHD_OPTION_NOTIFY_COMPLETED, on_completed, rt,
                                  MHD_OPTION_CONNECTION_LIMIT, (unsigned)RT_CONNECTIONS_MAX,
                                  MHD_OPTION_END);
    if (!rt->daemon) {
        sp_err_internal(e, "lambda runtime: cannot listen on 127.0.0.1");
        dlv_lambda_rt_destroy(rt);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(rt->daemon, MHD_DAEMON_INFO_BIND_PORT);
    rt->port = info ? info->port : 0;
    return rt;
}

/* A random UUID (version 4 form) from the kernel's generator; false when it has none to give. */
static bool uuid_new(char out[RT_UUID_LEN + 1])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, RT_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return true;
}

static void child_kill(dlv_lambda_rt *rt)
{
    pthread_mutex_lock(&rt->mu);
    rt->token[0] = '\0';
    pthread_mutex_unlock(&rt->mu);
    if (rt->child <= 0) return;
    kill(rt->child, SIGKILL);
    while (waitpid(rt->child, NULL, 0) < 0 && errno == EINTR) {}
    rt->child = -1;
}

/* realpath(dir/file), kept only when it lies inside root (itself a realpath) and is a regular
 * file. Returns NULL with errno ENOENT (absent) or EACCES (outside, or not a file). Caller
 * frees. */
static char *resolve_inside(const char *root, const char *file)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", root, file) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    char *real = realpath(path, NULL);
    if (!real) return NULL;
    size_t n = strlen(root);
    struct stat st;
    if (strncmp(real, root, n) || real[n] != '/' || stat(real, &st) || !S_ISREG(st.st_mode)) {
        free(real);
        errno = EACCES;
        return NULL;
    }
    return real;
}

/* Lambda reserves these names; a function's Environment may not set them. */
static bool env_reserved(const char *k)
{
    static const char *const reserved[] = {
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR"};
    for (size_t i = 0; i < SP_ARRAY_LEN(reserved); i++)
        if (!strcmp(k, reserved[i])) return true;
    return false;
}

/* Lambda's EnvironmentVariableName: [a-zA-Z]([a-zA-Z0-9_])+ */
static bool env_name_valid(const char *k)
{
    if (!((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z')) || !k[1]) return false;
    for (const char *c = k + 1; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return false;
    return true;
}

/* The function's configuration, <name>.json beside its code (optional): MemorySize, Timeout,
 * Environment.Variables as in Lambda's CreateFunction. Fills *memory_mb, *timeout_s and *vars
 * (new ref, an object; empty without a file). */
static bool fn_config_load(const char *root, const char *name, int *memory_mb, int *timeout_s,
                           json_t **vars, sp_err *e)
{
    *memory_mb = DLV_LAMBDA_MEMORY_MB_DEFAULT;
    *timeout_s = DLV_LAMBDA_FN_TIMEOUT_S_DEFAULT;
    *vars = json_object();
    char file[SP_LAMBDA_NAME_MAX + 8];
    snprintf(file, sizeof file, "%s.json", name);
    char *path = resolve_inside(root, file);
    if (!path) {
        if (errno == ENOENT) return true;
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CONFIG, "the configuration of function %s (%s) is "
                   "not a file inside the function directory", name, file);
        return false;
    }
    json_error_t je;
    json_t *cfg = NULL;
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size <= RT_CONFIG_MAX) cfg = json_load_file(path, 0, &je);
    free(path);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CONFIG, "%s is not a JSON object of at most %d bytes",
                   file, RT_CONFIG_MAX);
        return false;
    }
    long long mem = sp_json_int(cfg, "MemorySize", false, DLV_LAMBDA_MEMORY_MB_DEFAULT, e);
    long long to = sp_json_int(cfg, "Timeout", false, DLV_LAMBDA_FN_TIMEOUT_S_DEFAULT, e);
    json_t *env = sp_json_object(cfg, "Environment", false, e);
    json_t *v = env ? sp_json_object(env, "Variables", false, e) : NULL;
    if (!sp_err_failed(e) && (mem < DLV_LAMBDA_MEMORY_MB_MIN || mem > DLV_LAMBDA_MEMORY_MB_MAX))
        sp_err_invalid(e, "MemorySize %lld is not between %d and %d", mem,
                       DLV_LAMBDA_MEMORY_MB_MIN, DLV_LAMBDA_MEMORY_MB_MAX);
    if (!sp_err_failed(e) && (to < 1 || to > DLV_LAMBDA_FN_TIMEOUT_S_MAX))
        sp_err_invalid(e, "Timeout %lld is not between 1 and %d", to,
                       DLV_LAMBDA_FN_TIMEOUT_S_MAX);
    const char *k;
    json_t *x;
    size_t total = 0;
    json_object_foreach(v, k, x) {
        if (sp_err_failed(e)) break;
        total += strlen(k) + strlen(json_string_value(x) ?: "");
        if (!json_is_string(x) || !env_name_valid(k) || env_reserved(k))
            sp_err_invalid(e, "Environment.Variables.%.64s: names are [a-zA-Z][a-zA-Z0-9_]+, "
                           "not reserved by Lambda, values strings", k);
        else if (total > DLV_LAMBDA_ENV_MAX)
            sp_err_invalid(e, "Environment.Variables exceed %d bytes", DLV_LAMBDA_ENV_MAX);
        else
            json_object_set(*vars, k, x);
    }
    json_decref(cfg);
    if (sp_err_failed(e)) {
        sp_err_wrap(e, file);
        snprintf(e->code, sizeof e->code, "%s", DLV_LAMBDA_ERR_CONFIG);
        return false;
    }
    *memory_mb = (int)mem;
    *timeout_s = (int)to;
    return true;
}

/* The child's whole environment as "K=V" strings in one sp_str, NUL-separated; envp points
 * into it. */
static char **child_env(dlv_lambda_rt *rt, const char *root, const json_t *vars, sp_str *buf)
{
    size_t n = 0;
    size_t offs[RT_ENV_SLOTS + 1];
    size_t n_vars = json_object_size(vars);
    size_t *var_offs = calloc(n_vars + 1, sizeof *var_offs);
#define ENV_ADD(...)                                                                       \
    do {                                                                                   \
        offs[n++] = buf->len;                                                              \
        sp_str_appendf(buf, __VA_ARGS__);                                                  \
        sp_str_putc(buf, '\0');                                                            \
    } while (0)
    ENV_ADD("AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d/%s", rt->port, rt->token);
    ENV_ADD("_HANDLER=%s.lambda_handler", rt->fn_name);
    ENV_ADD("AWS_LAMBDA_FUNCTION_NAME=%s", rt->fn_name);
    ENV_ADD("AWS_LAMBDA_FUNCTION_VERSION=$LATEST");
    ENV_ADD("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=%d", rt->fn_memory_mb);
    ENV_ADD("AWS_REGION=%s", DLV_REGION);
    ENV_ADD("AWS_DEFAULT_REGION=%s", DLV_REGION);
    ENV_ADD("LAMBDA_TASK_ROOT=%s", root);
    ENV_ADD("%s", ENV_PATH);
    ENV_ADD("%s", ENV_LANG);
    ENV_ADD("%s", ENV_TZ);
#undef ENV_ADD
    assert(n <= RT_ENV_SLOTS);
    size_t k = 0;
    const char *key;
    json_t *x;
    json_object_foreach((json_t *)vars, key, x) {
        var_offs[k++] = buf->len;
        sp_str_appendf(buf, "%s=%s", key, json_string_value(x));
        sp_str_putc(buf, '\0');
    }
    char **envp = calloc(n + k + 1, sizeof *envp);
    for (size_t i = 0; i < n; i++) envp[i] = buf->buf + offs[i];
    for (size_t i = 0; i < k; i++) envp[n + i] = buf->buf + var_offs[i];
    free(var_offs);
    return envp;
}

static void set_limit(int resource, rlim_t value)
{
    struct rlimit r = {value, value};
    (void)setrlimit(resource, &r);
}

/* CPU seconds the child has used (/proc/<pid>/stat utime + stime); 0 when unreadable. */
static long child_cpu_s(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');   /* the command name may hold spaces */
    unsigned long long utime = 0, stime = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                     &stime) != 2)
        return 0;
    long hz = sysconf(_SC_CLK_TCK);
    return (long)((utime + stime) / (unsigned long long)(hz > 0 ? hz : 100));
}

/* Re-arms the child's CPU limit: what it has used plus this invocation's timeout. A child
 * that burns CPU on several threads faster than the wall clock dies of SIGXCPU. */
static void child_cpu_arm(pid_t pid, int timeout_ms)
{
    rlim_t soft = (rlim_t)(child_cpu_s(pid) + timeout_ms / 1000 + 1 + RT_CPU_SLACK_S);
    struct rlimit r = {soft, soft + RT_CPU_SLACK_S};
    (void)prlimit(pid, RLIMIT_CPU, &r, NULL);
}

/* Resolves the function, reads its configuration and starts the child: fork + exec with
 * everything prepared before the fork (only async-signal-safe calls in the child). The child
 * dies with us (PR_SET_PDEATHSIG) and writes its stdout to our stderr. */
static bool child_start(dlv_lambda_rt *rt, sp_err *e)
{
    char *root = realpath(rt->lambda_dir, NULL);
    char file[SP_LAMBDA_NAME_MAX + 8];
    snprintf(file, sizeof file, "%s.py", rt->fn_name);
    char *code = root ? resolve_inside(root, file) : NULL;
    if (!code) {
        if (root && errno != ENOENT)
            sp_err_set(e, 404, DLV_LAMBDA_ERR_NOT_FOUND, "Function not found: %s (lambda/%s "
                       "is not a file inside the function directory)", rt->fn_arn, file);
        else
            sp_err_set(e, 404, DLV_LAMBDA_ERR_NOT_FOUND, "Function not found: %s (no "
                       "lambda/%s)", rt->fn_arn, file);
        free(root);
        return false;
    }
    free(code);
    int timeout_s;
    json_t *vars;
    if (!fn_config_load(root, rt->fn_name, &rt->fn_memory_mb, &timeout_s, &vars, e)) {
        json_decref(vars);
        free(root);
        return false;
    }
    rt->fn_timeout_ms = timeout_s * 1000;
    char token[RT_UUID_LEN + 1];
    if (!uuid_new(token)) {
        json_decref(vars);
        free(root);
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CRASH, "no random bytes for the runtime token");
        return false;
    }
    pthread_mutex_lock(&rt->mu);
    memcpy(rt->token, token, sizeof token);
    pthread_mutex_unlock(&rt->mu);

    sp_str env;
    sp_str_init(&env, NULL, 0, SP_STR_NO_MAX);
    char **envp = child_env(rt, root, vars, &env);
    json_decref(vars);
    rlim_t as = ((rlim_t)rt->fn_memory_mb + RT_AS_HEADROOM_MB) << 20;
    rlim_t cpu = (rlim_t)(RT_INIT_TIMEOUT_MS / 1000 + timeout_s + RT_CPU_SLACK_S);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    char *argv[] = {(char *)PYTHON, "-I", "-u", rt->bootstrap, NULL};
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(2, 1);
        if (chdir(root) != 0) _exit(126);
        set_limit(RLIMIT_AS, as);
        set_limit(RLIMIT_CPU, cpu);
        set_limit(RLIMIT_NOFILE, RT_NOFILE);
        set_limit(RLIMIT_FSIZE, (rlim_t)RT_FSIZE_MB << 20);
        set_limit(RLIMIT_NPROC, RT_NPROC);
        set_limit(RLIMIT_CORE, 0);
        syscall(SYS_close_range, 3u, ~0u, 0u);
        execve(PYTHON, argv, envp);
        _exit(127);
    }
    int fork_errno = errno;
    if (devnull >= 0) close(devnull);
    free(envp);
    sp_str_release(&env);
    free(root);
    if (pid < 0) {
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CRASH, "cannot start %s: %s", PYTHON,
                   strerror(fork_errno));
        return false;
    }
    rt->child = pid;
    return true;
}

char *dlv_lambda_rt_invoke(dlv_lambda_rt *rt, const char *event, size_t len, int timeout_ms,
                           size_t *out_len, sp_err *e)
{
    pthread_mutex_lock(&rt->mu);
    free(rt->init_error);
    rt->init_error = NULL;
    pthread_mutex_unlock(&rt->mu);
    if (rt->child <= 0 && !child_start(rt, e)) return NULL;
    if (rt->fn_timeout_ms < timeout_ms) timeout_ms = rt->fn_timeout_ms;
    char request_id[RT_UUID_LEN + 1];
    if (!uuid_new(request_id)) {
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CRASH, "no random bytes for a request id");
        return NULL;
    }
    child_cpu_arm(rt->child, timeout_ms);

    pthread_mutex_lock(&rt->mu);
    memcpy(rt->request_id, request_id, sizeof request_id);
    free(rt->event);
    rt->event = malloc(len + 1);
    memcpy(rt->event, event, len);
    rt->event_len = len;
    rt->timeout_ms = timeout_ms;
    rt->deadline_ms = sp_clock_wall_ms() + timeout_ms;
    rt->state = SLOT_QUEUED;
    pthread_cond_broadcast(&rt->cond);
    /* Like Lambda, the timeout covers the invocation, not the cold start before it. */
    uint64_t queued = sp_clock_mono_ns();
    char *out = NULL;
    const char *fail = NULL;
    for (;;) {
        if (rt->state == SLOT_DONE) break;
        if (rt->init_error) {
            fail = DLV_LAMBDA_ERR_INIT;
            break;
        }
        int status;
        if (waitpid(rt->child, &status, WNOHANG) == rt->child) {
            rt->child = -1;
            fail = WIFSIGNALED(status) && WTERMSIG(status) == SIGXCPU ? DLV_LAMBDA_ERR_TIMEOUT
                                                                       : DLV_LAMBDA_ERR_CRASH;
            break;
        }
        uint64_t now = sp_clock_mono_ns();
        if ((rt->state == SLOT_QUEUED && now - queued >= RT_INIT_TIMEOUT_MS * 1000000ull) ||
            (rt->state == SLOT_TAKEN && now - rt->taken_ns >= (uint64_t)timeout_ms * 1000000ull)) {
            fail = DLV_LAMBDA_ERR_TIMEOUT;
            break;
        }
        struct timespec ts;
        sp_clock_deadline(&ts, RT_POLL_MS);
        pthread_cond_timedwait(&rt->cond, &rt->mu, &ts);
    }
    if (!fail && !rt->result_is_error) {
        out = rt->result;
        *out_len = rt->result_len;
        rt->result = NULL;
    } else if (!fail) {
        json_t *err = json_loadb(rt->result, rt->result_len, 0, NULL);
        sp_err_set(e, 500, DLV_LAMBDA_ERR_FUNCTION, "%s: %s",
                   json_string_value(json_object_get(err, "errorType")) ?: "Error",
                   json_string_value(json_object_get(err, "errorMessage")) ?: "(no message)");
        json_decref(err);
    } else if (!strcmp(fail, DLV_LAMBDA_ERR_INIT)) {
        json_t *err = json_loads(rt->init_error, 0, NULL);
        sp_err_set(e, 500, fail, "function %s did not load: %s", rt->fn_name,
                   json_string_value(json_object_get(err, "errorMessage")) ?: rt->init_error);
        json_decref(err);
    } else if (!strcmp(fail, DLV_LAMBDA_ERR_TIMEOUT)) {
        sp_err_set(e, 500, fail, "%s: Task timed out after %.2f seconds", rt->fn_arn,
                   timeout_ms / 1000.0);
    } else {
        sp_err_set(e, 500, fail, "function %s: the process exited during the invocation",
                   rt->fn_name);
    }
    rt->state = SLOT_EMPTY;
    rt->request_id[0] = '\0';
    free(rt->result);
    rt->result = NULL;
    pthread_mutex_unlock(&rt->mu);
    if (fail) child_kill(rt);          /* a fresh process for the next attempt */
    return out;
}

void dlv_lambda_rt_destroy(dlv_lambda_rt *rt)
{
    if (!rt) return;
    pthread_mutex_lock(&rt->mu);
    rt->stopping = true;
    pthread_cond_broadcast(&rt->cond);
    pthread_mutex_unlock(&rt->mu);
    child_kill(rt);
    if (rt->daemon) MHD_stop_daemon(rt->daemon);
    pthread_mutex_destroy(&rt->mu);
    pthread_cond_destroy(&rt->cond);
    free(rt->event);
    free(rt->result);
    free(rt->init_error);
    free(rt->lambda_dir);
    free(rt->bootstrap);
    free(rt->fn_name);
    free(rt->fn_arn);
    free(rt);
}
