/* The AWS Lambda Runtime API, served to one child process per lambda processor: a small
 * libmicrohttpd server on 127.0.0.1 (thread per connection, so invocation/next can block
 * until there is an invocation), and the child: /usr/bin/python3 running the bootstrap with
 * AWS_LAMBDA_RUNTIME_API and _HANDLER set. An invocation is one slot guarded by a mutex: the
 * invoker queues the event and waits for the response, an error, the child's death or the
 * timeout; a timeout or death kills the child (a fresh one starts on the next invoke), and a
 * late answer carries a stale request id and is refused. */
#include "dlv_lambda.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char PYTHON[] = "/usr/bin/python3";
static const char PREFIX[] = "/2018-06-01/runtime";
enum {
    RT_BODY_MAX = DLV_LAMBDA_PAYLOAD_MAX + 64 * 1024,
    RT_POLL_MS = 100,                 /* how often the invoker checks the child */
    RT_NEXT_WAIT_MS = 1000,           /* invocation/next re-checks the stop flag this often */
    RT_INIT_TIMEOUT_MS = 10000,       /* a (re)started child must ask for work within this */
};

typedef enum { SLOT_EMPTY, SLOT_QUEUED, SLOT_TAKEN, SLOT_DONE } slot_state;

struct dlv_lambda_rt {
    char *handler, *bootstrap, *fn_name, *fn_arn;
    struct MHD_Daemon *daemon;
    int port;
    pid_t child;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool stopping;
    slot_state state;
    char request_id[48];
    uint64_t counter;
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
    if (strncmp(url, PREFIX, strlen(PREFIX)))
        return reply(c, 404, "{\"errorType\":\"NotFound\"}", rt, false);
    const char *path = url + strlen(PREFIX);
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

dlv_lambda_rt *dlv_lambda_rt_new(const char *handler, const char *bootstrap_path,
                                 const char *function_name, const char *function_arn, sp_err *e)
{
    dlv_lambda_rt *rt = calloc(1, sizeof *rt);
    rt->handler = strdup(handler);
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

static void child_kill(dlv_lambda_rt *rt)
{
    if (rt->child <= 0) return;
    kill(rt->child, SIGKILL);
    while (waitpid(rt->child, NULL, 0) < 0 && errno == EINTR) {}
    rt->child = -1;
}

/* fork + exec with everything prepared before the fork (only async-signal-safe calls in the
 * child). The child dies with us (PR_SET_PDEATHSIG) and writes its stdout to our stderr. */
static bool child_start(dlv_lambda_rt *rt, sp_err *e)
{
    size_t n_env = 0;
    while (environ[n_env]) n_env++;
    char **envp = calloc(n_env + 8, sizeof *envp);
    size_t k = 0;
    for (size_t i = 0; i < n_env; i++)
        if (strncmp(environ[i], "AWS_LAMBDA_RUNTIME_API=", 23) && strncmp(environ[i], "_HANDLER=", 9))
            envp[k++] = environ[i];
    char api[64], handler[4200], fname[128], region[64];
    snprintf(api, sizeof api, "AWS_LAMBDA_RUNTIME_API=127.0.0.1:%d", rt->port);
    snprintf(handler, sizeof handler, "_HANDLER=%s", rt->handler);
    snprintf(fname, sizeof fname, "AWS_LAMBDA_FUNCTION_NAME=%s", rt->fn_name);
    snprintf(region, sizeof region, "AWS_REGION=%s", DLV_REGION);
    envp[k++] = api;
    envp[k++] = handler;
    envp[k++] = fname;
    envp[k++] = region;
    envp[k] = NULL;
    char *argv[] = {(char *)PYTHON, "-u", rt->bootstrap, NULL};
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(2, 1);
        execve(PYTHON, argv, envp);
        _exit(127);
    }
    free(envp);
    if (pid < 0) {
        sp_err_set(e, 500, DLV_LAMBDA_ERR_CRASH, "cannot start %s: %s", PYTHON, strerror(errno));
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

    pthread_mutex_lock(&rt->mu);
    snprintf(rt->request_id, sizeof rt->request_id, "%08x-%016llx", (unsigned)getpid(),
             (unsigned long long)++rt->counter);
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
            fail = DLV_LAMBDA_ERR_CRASH;
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
        sp_err_set(e, 500, fail, "handler '%s' did not load: %s", rt->handler,
                   json_string_value(json_object_get(err, "errorMessage")) ?: rt->init_error);
        json_decref(err);
    } else if (!strcmp(fail, DLV_LAMBDA_ERR_TIMEOUT)) {
        sp_err_set(e, 500, fail, "handler '%s' did not answer within %d ms", rt->handler,
                   timeout_ms);
    } else {
        sp_err_set(e, 500, fail, "handler process '%s' exited during the invocation", rt->handler);
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
    free(rt->handler);
    free(rt->bootstrap);
    free(rt->fn_name);
    free(rt->fn_arn);
    free(rt);
}
