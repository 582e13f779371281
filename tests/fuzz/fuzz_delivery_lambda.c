/* Fuzz target: a Lambda function's response to a Firehose invocation of four records (ids
 * "0".."3"), as the handler process posts it to the Runtime API. The contract check must
 * accept or reject it as a whole, and an accepted response must leave every record Ok,
 * Dropped or failed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_lambda.h"

enum { N = 4 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dlv_rec recs[N] = {0};
    size_t idx[N];
    for (size_t i = 0; i < N; i++) {
        dlv_rec_set_data(&recs[i], "{\"a\":1}", 7);
        idx[i] = i;
    }
    sp_err e = {0};
    bool ok = dlv_lambda_apply((const char *)data, size, recs, idx, N, &e);
    for (size_t i = 0; i < N; i++) {
        if (!ok && (recs[i].result != DLV_REC_OK || recs[i].len != 7)) abort();
        if (!ok && !e.code[0]) abort();
        dlv_rec_clear(&recs[i]);
    }
    return 0;
}
