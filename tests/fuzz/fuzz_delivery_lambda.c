/* Fuzz target: what the lambda processor takes from outside. (1) A Lambda function's response
 * to a Firehose invocation of four records (ids "0".."3"), as the handler process posts it to
 * the Runtime API: the contract check must accept or reject it as a whole, and an accepted
 * response must leave every record Ok, Dropped or failed. (2) The same bytes as a function
 * reference (a LambdaArn): an accepted one must yield a name of 1-64 [A-Za-z0-9_-] (nothing a
 * path could be made of), a qualifier of the same alphabet or $LATEST, and the ARN exactly as
 * given; a refused one an InvalidArgumentException. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/lambda_fn.h"
#include "delivery/dlv_lambda.h"

enum { N = 4 };

static bool only_name_chars(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static void check_reference(const uint8_t *data, size_t size)
{
    char *ref = strndup((const char *)data, size);
    sp_lambda_fn fn;
    sp_err e = {0};
    if (sp_lambda_fn_parse(ref, &fn, &e)) {
        size_t n = strlen(fn.name);
        if (n < 1 || n > SP_LAMBDA_NAME_MAX || !only_name_chars(fn.name)) abort();
        if (strcmp(fn.qualifier, "$LATEST") && !only_name_chars(fn.qualifier)) abort();
        if (fn.arn[0] ? strcmp(fn.arn, ref) || strncmp(ref, "arn:", 4)
                      : strcmp(fn.name, ref))
            abort();
        if (strchr(ref, '/') || strchr(ref, '.')) abort();
    } else if (e.status != 400 || strcmp(e.code, "InvalidArgumentException") || fn.name[0]) {
        abort();
    }
    free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_reference(data, size);
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
