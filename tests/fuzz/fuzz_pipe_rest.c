/* Fuzz target: the Pipes REST API (pip_rest_handle) as the aws cli calls it, on a pipe stage
 * over a real table and Kinesis log in a temporary data dir (workers not started). Input:
 * "<METHOD> <path>[?<query>]\n<body>". Every request must get an answer with a valid HTTP
 * status, whatever the path, query and JSON body. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "fuzz_rest_input.h"
#include "pipe/pipe.h"

static pip_engine *pipes;
static tbl_db *tables;
static stm_log *log_;
static sp_config *cfg;
static char root[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    pip_engine_close(pipes);
    stm_log_close(log_);
    tbl_db_close(tables);
    sp_config_destroy(cfg);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *no_header(const sp_http_req *req, const char *name)
{
    (void)req, (void)name;
    return NULL;
}

static void setup(void)
{
    sp_log_set_level(SP_LOG_OFF);
    sp_err e = {0};
    snprintf(root, sizeof root, "/tmp/fuzz-pipe-XXXXXX");
    if (!mkdtemp(root)) abort();
    char dir[128];
    cfg = sp_config_defaults(&e);
    snprintf(dir, sizeof dir, "%s/table", root);
    tables = cfg && sp_fs_mkdirs(dir, &e) ? tbl_db_open(dir, SP_DURABILITY_RELAXED, &e) : NULL;
    if (!tables || !tbl_table_ensure(tables, &cfg->tables[0], &e)) abort();
    snprintf(dir, sizeof dir, "%s/stream", root);
    log_ = stm_log_open(dir, SP_DURABILITY_RELAXED, &e);
    if (!log_ || !stm_stream_ensure(log_, &cfg->streams[0], &e)) abort();
    snprintf(dir, sizeof dir, "%s/pipe", root);
    pipes = pip_engine_open(dir, cfg, tables, log_, &e);
    if (!pipes) {
        fprintf(stderr, "fuzz setup: %s\n", e.msg);
        abort();
    }
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!pipes) setup();
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *body;
    sp_http_req req = fuzz_rest_request(text, "/v1/pipes", &body);
    req.body = body ? body : "";
    req.body_len = body ? size - (size_t)(body - text) : 0;
    req.header = no_header;
    sp_http_resp resp = {0};
    if (pip_rest_handle(pipes, &req, &resp) && (resp.status < 100 || resp.status > 599)) abort();
    sp_http_resp_clear(&resp);
    free(text);
    return 0;
}
