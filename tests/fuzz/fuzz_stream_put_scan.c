/* Differential fuzz target for the PutRecords hot-path scanner (src/stream/stm_scan_put.c)
 * against the ordinary path it stands in for. The input is a request body. Whenever the
 * scanner takes it: jansson must parse it (with the API's flags) into an object, the Kinesis
 * model check must pass it, stm_put_batch_from_json must validate it, and both batches must
 * hold the same stream and the same records (data bytes, partition key, explicit hash key)
 * in the same order. So the scanner never takes what jansson (or the model, or the
 * operation) refuses, and what it takes it reads as they do. DESIGN.md makes this the
 * condition of the scanner's existence. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_model.h"
#include "stream/stm_scan_put.h"

static void fuzz_fail(const char *what, const uint8_t *data, size_t size)
{
    int shown = size > 2000 ? 2000 : (int)size;
    fprintf(stderr, "fuzz_stream_put_scan: %s\ninput: %.*s\n", what, shown, (const char *)data);
    abort();
}

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    stm_put_batch fast;
    if (!stm_scan_put((const char *)data, size, &fast)) {
        if (fast.recs || fast.blob || fast.text || fast.n)
            fuzz_fail("refusal left state", data, size);
        return 0;
    }
    sp_err e = {0};
    json_t *req = sp_json_parse(size ? (const char *)data : "{}", size ? size : 2, &e);
    if (!req) fuzz_fail("scanner took what jansson refuses", data, size);
    if (!json_is_object(req)) fuzz_fail("scanner took a body that is not an object", data, size);
    size_t len = 0;
    char *invalid = api_model_check(&api_model_kinesis, "PutRecords", req, &len);
    if (invalid) {
        fprintf(stderr, "model: %s\n", invalid);
        fuzz_fail("scanner took what the model check refuses", data, size);
    }
    stm_put_batch slow;
    if (!stm_put_batch_from_json(req, &slow, &e)) {
        fprintf(stderr, "operation: %s: %s\n", e.code, e.msg);
        fuzz_fail("scanner took what the operation refuses", data, size);
    }
    if (strcmp(fast.stream, slow.stream)) fuzz_fail("stream names differ", data, size);
    if (fast.n != slow.n) fuzz_fail("record counts differ", data, size);
    if (fast.bytes != slow.bytes) fuzz_fail("batch sizes differ", data, size);
    for (size_t i = 0; i < fast.n; i++) {
        const stm_put *a = &fast.recs[i], *b = &slow.recs[i];
        if (a->len != b->len || (a->len && memcmp(a->data, b->data, a->len)))
            fuzz_fail("record data differs", data, size);
        if (strcmp(a->partition_key, b->partition_key))
            fuzz_fail("partition keys differ", data, size);
        if (!same_str(a->explicit_hash_key, b->explicit_hash_key))
            fuzz_fail("explicit hash keys differ", data, size);
        if (a->origin || b->origin) fuzz_fail("origin set", data, size);
    }
    stm_put_batch_clear(&slow);
    stm_put_batch_clear(&fast);
    json_decref(req);
    return 0;
}
