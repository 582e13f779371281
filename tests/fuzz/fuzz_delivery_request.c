/* Fuzz target: Firehose API requests. The first byte picks the operation, the rest is the
 * JSON body, run against a real delivery service (a Direct PUT stream on a temporary data dir,
 * no workers), so request validation, CreateDeliveryStream's mapping of destinations,
 * processors and prefixes, and PutRecord(Batch)'s decoding all see hostile input. Every
 * answer must be a response or an AWS-shaped error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>

#include "delivery/delivery.h"

static dlv_service *svc;
static lake *lk;
static sp_config *cfg;
static char root[64];

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    dlv_service_close(svc);
    lake_close(lk);
    sp_config_destroy(cfg);
    nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static const char CONFIG[] = "buckets:\n  - name: fuzz-bucket\n"
                             "delivery_streams:\n  - name: fuzz-direct\n    bucket: fuzz-bucket\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!svc) {
        sp_log_set_level(SP_LOG_OFF);
        sp_err e = {0};
        snprintf(root, sizeof root, "/tmp/fuzz-delivery-XXXXXX");
        if (!mkdtemp(root)) abort();
        char dir[128];
        snprintf(dir, sizeof dir, "%s/lake", root);
        cfg = sp_config_parse("fuzz", CONFIG, strlen(CONFIG), &e);
        lk = cfg ? lake_open(dir, &e) : NULL;
        snprintf(dir, sizeof dir, "%s/delivery", root);
        svc = lk ? dlv_service_open(dir, cfg, lk, NULL, &e) : NULL;
        if (!svc) {
            fprintf(stderr, "fuzz setup: %s\n", e.msg);
            abort();
        }
        atexit(cleanup);
    }
    if (size < 1) return 0;
    size_t n_ops = 0;
    while (dlv_firehose_ops[n_ops].name) n_ops++;
    const sp_op *op = &dlv_firehose_ops[data[0] % n_ops];
    sp_err e = {0};
    json_t *req = sp_json_parse((const char *)data + 1, size - 1, &e);
    if (!req) return 0;
    json_t *resp = op->fn(svc, req, &e);
    if (!resp && (e.status < 400 || !e.code[0])) abort();   /* failures are AWS-shaped */
    json_decref(resp);
    json_decref(req);
    return 0;
}
