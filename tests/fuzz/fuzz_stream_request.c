/* Fuzz target: Kinesis request bodies. The input is "<Operation>\n<body>"; the body goes
 * through the same JSON parse the API does and into the operation against a real log (in a
 * temporary directory, with one two-shard stream), so validation, base64, iterators and
 * sequence-number decoding all see hostile input. Every answer must be a response or an
 * AWS-shaped error, never both and never neither. */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream/stm_int.h"

static stm_log *log_;
static char dir[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

/* Closes the log and removes its temporary directory. */
static void close_log(void)
{
    stm_log_close(log_);
    nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!log_) {
        sp_log_set_level(SP_LOG_OFF);
        snprintf(dir, sizeof dir, "/tmp/fuzz-kinesis-XXXXXX");
        if (!mkdtemp(dir)) abort();
        sp_err e = {0};
        log_ = stm_log_open(dir, SP_DURABILITY_RELAXED, &e);
        sp_cfg_stream c = {(char *)"s", 2, 24, (char *)"none", 200, 1};
        if (!log_ || !stm_stream_ensure(log_, &c, &e)) abort();
        atexit(close_log);
    }
    const uint8_t *nl = memchr(data, '\n', size);
    if (!nl) return 0;
    const sp_op *op = sp_op_find(stm_kinesis_ops, (const char *)data, (size_t)(nl - data));
    if (!op) return 0;
    const char *body = (const char *)nl + 1;
    size_t len = size - (size_t)(nl + 1 - data);
    sp_err e = {0};
    json_t *req = sp_json_parse(len ? body : "{}", len ? len : 2, &e);
    if (!req) return 0;
    if (json_is_object(req)) {
        json_t *resp = op->fn(log_, req, &e);
        if ((resp != NULL) == sp_err_failed(&e)) abort();
        if (!resp && (e.status < 400 || !e.code[0])) abort();
        json_decref(resp);
    }
    json_decref(req);
    return 0;
}
