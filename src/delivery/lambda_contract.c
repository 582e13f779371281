/* Firehose's Lambda contract. The event carries invocationId, deliveryStreamArn,
 * sourceKinesisStreamArn (Kinesis sources), region and records [{recordId,
 * approximateArrivalTimestamp, data (base64), kinesisRecordMetadata}]; the response must
 * answer every recordId exactly once with result Ok (and base64 data), Dropped or
 * ProcessingFailed. A response that breaks the contract fails the whole invocation (it is
 * retried, then its records go to the error output), as in Firehose. An Ok record may carry
 * metadata.partitionKeys ({"name": "value"}, dynamic partitioning's
 * !{partitionKeyFromLambda:name}); they are kept in the record's partition object under
 * DLV_LAMBDA_KEY_PREFIX "name", beside the MetadataExtraction keys. A record whose
 * partitionKeys are not an object of scalars fails into the error output as
 * partitioning-failed. */
#include "dlv_lambda.h"

#include <stdlib.h>
#include <string.h>

json_t *dlv_lambda_event(const dlv_rec *recs, const size_t *idx, size_t n, const char *invocation_id,
                         const char *stream_arn, const char *source_arn)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const dlv_rec *r = &recs[idx[i]];
        char id[32];
        snprintf(id, sizeof id, "%zu", idx[i]);
        char *b64 = malloc(sp_base64_encoded_len(r->len) + 1);
        sp_base64_encode(r->data, r->len, b64);
        json_t *rec = json_pack("{s:s, s:I, s:s}", "recordId", id, "approximateArrivalTimestamp",
                                (json_int_t)r->arrival_ms, "data", b64);
        free(b64);
        if (source_arn) {
            char shard[32];
            snprintf(shard, sizeof shard, "shardId-%012d", r->shard);
            json_object_set_new(rec, "kinesisRecordMetadata",
                                json_pack("{s:s, s:s, s:I, s:s, s:i}", "shardId", shard,
                                          "partitionKey", r->partition_key ? r->partition_key : "",
                                          "approximateArrivalTimestamp",
                                          (json_int_t)r->arrival_ms, "sequenceNumber", r->seq_str,
                                          "subsequenceNumber", 0));
        }
        json_array_append_new(list, rec);
    }
    json_t *ev = json_pack("{s:s, s:s, s:s, s:o}", "invocationId", invocation_id,
                           "deliveryStreamArn", stream_arn, "region", DLV_REGION, "records", list);
    if (source_arn) json_object_set_new(ev, "sourceKinesisStreamArn", json_string(source_arn));
    return ev;
}

static void contract(sp_err *e, const char *code, const char *fmt, ...) SP_PRINTF(3, 4);
static void contract(sp_err *e, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 500, code, fmt, ap);
    va_end(ap);
}

/* Merges an Ok record's metadata.partitionKeys (borrowed) into its partition object. */
static void lambda_keys_apply(dlv_rec *x, const json_t *keys)
{
    const char *k;
    json_t *v;
    bool ok = json_is_object(keys) && json_object_size(keys) <= DLV_LAMBDA_KEYS_MAX;
    if (ok) json_object_foreach((json_t *)keys, k, v)
        ok = ok && *k && strlen(k) < DLV_PARTITION_KEY_MAX &&
             (json_is_string(v) || json_is_number(v) || json_is_boolean(v));
    if (!ok) {
        dlv_rec_fail(x, DLV_LAMBDA_ERR_PARTITION_KEYS,
                     "metadata.partitionKeys must be an object of at most %d named scalar values",
                     DLV_LAMBDA_KEYS_MAX);
        x->error_type = DLV_ERROR_TYPE_PARTITIONING;
        return;
    }
    if (!x->partition) x->partition = json_object();
    json_object_foreach((json_t *)keys, k, v) {
        char name[DLV_PARTITION_KEY_MAX + sizeof DLV_LAMBDA_KEY_PREFIX];
        snprintf(name, sizeof name, "%s%s", DLV_LAMBDA_KEY_PREFIX, k);
        json_object_set(x->partition, name, v);
    }
}

/* Position of id among the sent indexes, or -1. */
static long find_id(const char *id, const size_t *idx, size_t n)
{
    char *end;
    if (!id || !*id || *id == '-' || *id == '+' || *id == ' ') return -1;
    unsigned long long v = strtoull(id, &end, 10);
    if (*end) return -1;
    for (size_t i = 0; i < n; i++)
        if (idx[i] == v) return (long)i;
    return -1;
}

bool dlv_lambda_apply(const char *body, size_t len, dlv_rec *recs, const size_t *idx, size_t n,
                      sp_err *e)
{
    json_error_t je;
    json_t *resp = json_loadb(body, len, 0, &je);
    json_t *list = json_object_get(resp, "records");
    bool ok = false;
    char *seen = calloc(n + 1, 1);
    long *pos = NULL;
    if (!resp) {
        contract(e, DLV_LAMBDA_ERR_JSON, "response is not JSON: %s", je.text);
        goto out;
    }
    if (!json_is_array(list)) {
        contract(e, DLV_LAMBDA_ERR_JSON, "response has no 'records' array");
        goto out;
    }
    size_t m = json_array_size(list);
    pos = calloc(m + 1, sizeof *pos);
    for (size_t i = 0; i < m; i++) {
        json_t *r = json_array_get(list, i);
        const char *id = json_string_value(json_object_get(r, "recordId"));
        const char *result = json_string_value(json_object_get(r, "result"));
        long p = find_id(id, idx, n);
        if (p < 0) {
            contract(e, DLV_LAMBDA_ERR_MISSING_ID, "response record %zu has an unknown recordId '%.40s'",
                     i, id ? id : "(none)");
            goto out;
        }
        if (seen[p]) {
            contract(e, DLV_LAMBDA_ERR_DUP_ID, "recordId '%s' is answered twice", id);
            goto out;
        }
        seen[p] = 1;
        pos[i] = p;
        if (!result || (strcmp(result, "Ok") && strcmp(result, "Dropped") &&
                        strcmp(result, "ProcessingFailed"))) {
            contract(e, DLV_LAMBDA_ERR_JSON, "recordId '%s': result must be Ok, Dropped or "
                     "ProcessingFailed", id);
            goto out;
        }
        const char *data = json_string_value(json_object_get(r, "data"));
        if (!strcmp(result, "Ok")) {
            size_t dl = data ? strlen(data) : 0;
            char *tmp = malloc(sp_base64_decoded_max(dl) + 1);
            long got = data ? sp_base64_decode(data, dl, tmp) : -1;
            free(tmp);
            if (got < 0) {
                contract(e, DLV_LAMBDA_ERR_JSON, "recordId '%s': data is missing or not base64",
                         id);
                goto out;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!seen[i]) {
            contract(e, DLV_LAMBDA_ERR_MISSING_ID, "the response has no result for recordId '%zu'",
                     idx[i]);
            goto out;
        }
    /* Valid as a whole: apply. */
    for (size_t i = 0; i < m; i++) {
        json_t *r = json_array_get(list, i);
        dlv_rec *x = &recs[idx[pos[i]]];
        const char *result = json_string_value(json_object_get(r, "result"));
        if (!strcmp(result, "Ok")) {
            const char *data = json_string_value(json_object_get(r, "data"));
            size_t dl = strlen(data);
            char *buf = malloc(sp_base64_decoded_max(dl) + 1);
            long got = sp_base64_decode(data, dl, buf);
            dlv_rec_set_data(x, buf, (size_t)got);
            free(buf);
            json_t *keys = json_object_get(json_object_get(r, "metadata"), "partitionKeys");
            if (keys && !json_is_null(keys)) lambda_keys_apply(x, keys);
        } else if (!strcmp(result, "Dropped")) {
            x->result = DLV_REC_DROPPED;
        } else {
            dlv_rec_fail(x, DLV_LAMBDA_ERR_FAILED_STATUS,
                         "the Lambda function marked the record ProcessingFailed");
        }
    }
    ok = true;
out:
    free(seen);
    free(pos);
    json_decref(resp);
    return ok;
}
