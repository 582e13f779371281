/* Fuzz target: Firehose API requests. The first byte picks the operation, the rest is the
 * JSON body, run against a real delivery service (a Direct PUT stream on a temporary data dir,
 * no workers), so request validation, CreateDeliveryStream's mapping of destinations,
 * processors and prefixes, UpdateDestination, and PutRecord(Batch)'s decoding all see
 * hostile input. Every answer must be a response or an AWS-shaped error.
 *
 * The prefix validator (dlv_prefixes_validate) is also driven directly: the body's
 * "Prefix" and "ErrorOutputPrefix" strings (any bytes) with the dynamic-partitioning flag
 * from the second byte; when it accepts, rendering the prefixes with sample and hostile
 * partition values must either fail cleanly or give a key the lake's key check can judge,
 * and an accepted static prefix must always render to a key the lake accepts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>

#include "delivery/dlv_int.h"

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

static void fuzz_prefixes(const uint8_t *data, size_t size)
{
    sp_err e = {0};
    json_t *req = size > 2 ? sp_json_parse((const char *)data + 2, size - 2, &e) : NULL;
    if (!req) return;
    const char *prefix = json_string_value(json_object_get(req, "Prefix"));
    const char *err_prefix = json_string_value(json_object_get(req, "ErrorOutputPrefix"));
    bool dp = data[1] & 1;
    const char *field = NULL;
    sp_err ve = {0};
    bool ok = dlv_prefixes_validate(prefix, err_prefix, dp, "fuzz-direct", &field, &ve);
    if (!ok && (ve.status != 400 || strcmp(ve.code, "InvalidArgumentException") || !field))
        abort();
    if (ok) {
        /* Partition values from the body's "Values" object (hostile strings), else "v". */
        json_t *vals = json_object_get(req, "Values");
        json_t *part = json_is_object(vals) ? json_incref(vals) : json_object();
        dlv_key_ctx kc = {.time_ms = 1700000000000LL, .random = "abcdefghijk",
                          .error_type = "partitioning-failed", .partition = part};
        sp_str key;
        sp_str_init(&key, NULL, 0, DLV_KEY_MAX + 1);
        sp_err re = {0};
        if (dlv_prefix_render(prefix, &kc, &key, &re)) {
            dlv_key_suffix(&key, "fuzz-direct", kc.time_ms, "00000000-0000-4000-8000-000000000000",
                           "");
            sp_err ke = {0};
            bool valid = sp_str_failed(&key) || lake_key_valid(key.buf, &ke) ||
                         !strcmp(ke.code, "KeyTooLongError"); /* timestamps vary in width */
            /* No expression depends on data: the validator's verdict is the lake's. */
            if (!valid && prefix && !strstr(prefix, "!{partitionKeyFrom")) abort();
        }
        sp_str_release(&key);
        sp_str_init(&key, NULL, 0, SP_STR_NO_MAX);
        if (!dlv_error_prefix_render(err_prefix, &kc, &key, &re)) abort();
        dlv_key_suffix(&key, "fuzz-direct", kc.time_ms, "00000000-0000-4000-8000-000000000000", "");
        sp_err ke = {0};
        if (!lake_key_valid(key.buf, &ke) && strcmp(ke.code, "KeyTooLongError"))
            abort();                              /* error keys never depend on data */
        sp_str_release(&key);
        json_decref(part);
    }
    json_decref(req);
}

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
        /* A stream of the API, which UpdateDestination may change (the configuration's may
         * not be). */
        json_t *c = json_pack("{s:s, s:{s:s, s:s}}", "DeliveryStreamName", "fuzz-api",
                              "ExtendedS3DestinationConfiguration", "RoleARN",
                              "arn:aws:iam::1:role/r", "BucketARN", "arn:aws:s3:::fuzz-bucket");
        json_t *r = dlv_firehose_ops[0].fn(svc, c, &e);
        if (!r) {
            fprintf(stderr, "fuzz setup: %s\n", e.msg);
            abort();
        }
        json_decref(r);
        json_decref(c);
    }
    if (size < 1) return 0;
    fuzz_prefixes(data, size);
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
