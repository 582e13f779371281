/* lambda: a Lambda function runs unchanged in a child process behind the Runtime API
 * ({type: lambda, function: NAME or arn:aws:lambda:...:function:NAME, retries: 3,
 * timeout_seconds: 60}). The function is <data>/delivery/lambda/NAME.py:lambda_handler, with
 * an optional <data>/delivery/lambda/NAME.json for MemorySize, Timeout and Environment; the
 * reference is checked by core/lambda_fn.h, the file is resolved inside that directory only
 * (lambda_runtime.c). timeout_seconds is Firehose's own wait, a cap on the function's Timeout.
 * OK records are sent in invocations under 6 MB; an invocation that errors, times out,
 * crashes, breaks the contract or finds no function is retried with backoff, and after the
 * last retry its records fail into the error output with the reason and the attempts made.
 * Stream definitions written before "function" existed carry "arn", read the same way; a
 * bare "handler" path is refused. */
#include "dlv_lambda.h"

#include <fcntl.h>
#include <libgen.h>
#include "core/lambda_fn.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    LAMBDA_RETRIES_MAX = 300,
    LAMBDA_TIMEOUT_S_MAX = 900,            /* Lambda's own maximum */
    LAMBDA_BACKOFF_MS = 100,               /* doubles per retry */
    LAMBDA_BACKOFF_MAX_MS = 5000,
    LAMBDA_RECORD_OVERHEAD = 512,          /* JSON around one record in the event */
};
static const char BOOTSTRAP_NAME[] = "lambda_bootstrap.py";
static const char LAMBDA_DIR[] = "lambda";

typedef struct lambda_proc {
    dlv_lambda_rt *rt;
    char *arn;
    int retries;
    int timeout_ms;
    const dlv_proc_env *env;
    uint64_t invocations;
} lambda_proc;

/* The delivery dir: env->data_dir is <data>/delivery/<stream>. */
static char *delivery_dir(const dlv_proc_env *env)
{
    char *copy = strdup(env->data_dir ? env->data_dir : ".");
    char *parent = strdup(dirname(copy));
    free(copy);
    return parent;
}

static bool write_bootstrap(const char *path, sp_err *e)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.%d.tmp", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    size_t len = strlen(dlv_lambda_bootstrap_py);
    bool ok = fd >= 0 && write(fd, dlv_lambda_bootstrap_py, len) == (ssize_t)len;
    if (fd >= 0) ok = close(fd) == 0 && ok;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) {
        unlink(tmp);
        sp_err_internal(e, "cannot write the lambda bootstrap '%s'", path);
    }
    return ok;
}

static void *lambda_create(const json_t *params, const dlv_proc_env *env, sp_err *e)
{
    const char *ref = sp_json_str(params, "function", false, e);
    if (!ref && !sp_err_failed(e)) ref = sp_json_str(params, "arn", false, e);
    long long retries = sp_json_int(params, "retries", false, DLV_LAMBDA_RETRIES_DEFAULT, e);
    long long timeout = sp_json_int(params, "timeout_seconds", false,
                                    DLV_LAMBDA_TIMEOUT_S_DEFAULT, e);
    if (sp_err_failed(e)) return NULL;
    if (!ref) {
        sp_err_invalid(e, "a lambda processor needs function: NAME or its ARN (code in "
                          "<data>/delivery/lambda/NAME.py)");
        return NULL;
    }
    sp_lambda_fn fn;
    if (!sp_lambda_fn_parse(ref, &fn, e)) return NULL;
    if (retries < 0 || retries > LAMBDA_RETRIES_MAX || timeout < 1 ||
        timeout > LAMBDA_TIMEOUT_S_MAX) {
        sp_err_invalid(e, "retries must be 0-%d and timeout_seconds 1-%d", LAMBDA_RETRIES_MAX,
                       LAMBDA_TIMEOUT_S_MAX);
        return NULL;
    }
    char *dir = delivery_dir(env);
    sp_str path, fn_dir, fn_arn;
    sp_str_init(&path, NULL, 0, SP_STR_NO_MAX);
    sp_str_init(&fn_dir, NULL, 0, SP_STR_NO_MAX);
    sp_str_init(&fn_arn, NULL, 0, SP_STR_NO_MAX);
    sp_str_appendf(&path, "%s/%s", dir, BOOTSTRAP_NAME);
    sp_str_appendf(&fn_dir, "%s/%s", dir, LAMBDA_DIR);
    if (fn.arn[0]) sp_str_puts(&fn_arn, fn.arn);
    else sp_str_appendf(&fn_arn, "arn:aws:lambda:%s:%s:function:%s", DLV_REGION, DLV_ACCOUNT,
                        fn.name);
    lambda_proc *p = NULL;
    if (write_bootstrap(path.buf, e)) {
        dlv_lambda_rt *rt = dlv_lambda_rt_new(fn_dir.buf, path.buf, fn.name, fn_arn.buf, e);
        if (rt) {
            p = calloc(1, sizeof *p);
            p->rt = rt;
            p->arn = strdup(fn_arn.buf);
            p->retries = (int)retries;
            p->timeout_ms = (int)(timeout * 1000);
            p->env = env;
        }
    }
    free(dir);
    sp_str_release(&path);
    sp_str_release(&fn_dir);
    sp_str_release(&fn_arn);
    return p;
}

/* One invocation of idx[0..n) with retries; on final failure the records fail. */
static void invoke_batch(lambda_proc *p, dlv_rec *recs, const size_t *idx, size_t n)
{
    sp_err e = {0};
    int attempts = 0;
    unsigned backoff = LAMBDA_BACKOFF_MS;
    for (int attempt = 0; attempt <= p->retries; attempt++) {
        attempts++;
        sp_err_clear(&e);
        char inv[40];
        snprintf(inv, sizeof inv, "%s-%llu", p->env->stream_name,
                 (unsigned long long)++p->invocations);
        json_t *ev = dlv_lambda_event(recs, idx, n, inv, p->env->stream_arn, p->env->source_arn);
        size_t len;
        char *text = sp_json_dump(ev, &len);
        json_decref(ev);
        size_t out_len = 0;
        char *out = dlv_lambda_rt_invoke(p->rt, text, len, p->timeout_ms, &out_len, &e);
        free(text);
        bool ok = out && dlv_lambda_apply(out, out_len, recs, idx, n, &e);
        free(out);
        if (ok) {
            for (size_t i = 0; i < n; i++) recs[idx[i]].attempts = attempts;
            return;
        }
        sp_warn("lambda '%s' attempt %d of %d: %s", p->arn, attempts, p->retries + 1, e.msg);
        if (attempt < p->retries) {
            sp_sleep_ms(backoff);
            backoff = backoff * 2 > LAMBDA_BACKOFF_MAX_MS ? LAMBDA_BACKOFF_MAX_MS : backoff * 2;
        }
    }
    for (size_t i = 0; i < n; i++) {
        dlv_rec *x = &recs[idx[i]];
        dlv_rec_fail(x, e.code, "%s", e.msg);
        x->attempts = attempts;
        free(x->lambda_arn);
        x->lambda_arn = strdup(p->arn);
    }
}

static void lambda_process(void *self, dlv_rec *recs, size_t n)
{
    lambda_proc *p = self;
    size_t *idx = malloc((n + 1) * sizeof *idx);
    size_t k = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        if (recs[i].result != DLV_REC_OK) continue;
        size_t cost = sp_base64_encoded_len(recs[i].len) + LAMBDA_RECORD_OVERHEAD;
        if (k > 0 && bytes + cost > DLV_LAMBDA_PAYLOAD_MAX) {
            invoke_batch(p, recs, idx, k);
            k = bytes = 0;
        }
        idx[k++] = i;
        bytes += cost;
    }
    if (k > 0) invoke_batch(p, recs, idx, k);
    /* Records marked failed by the function itself carry the function too. */
    for (size_t i = 0; i < n; i++)
        if (recs[i].result == DLV_REC_FAILED && !recs[i].lambda_arn &&
            !strcmp(recs[i].err_code, DLV_LAMBDA_ERR_FAILED_STATUS))
            recs[i].lambda_arn = strdup(p->arn);
    free(idx);
}

static void lambda_destroy(void *self)
{
    lambda_proc *p = self;
    dlv_lambda_rt_destroy(p->rt);
    free(p->arn);
    free(p);
}

const dlv_processor_class dlv_proc_lambda = {
    .type = "lambda",
    .description = "a Python Lambda handler behind the Runtime API, Firehose's record contract",
    .create = lambda_create,
    .process = lambda_process,
    .destroy = lambda_destroy,
};
