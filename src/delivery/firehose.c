/* The Firehose JSON 1.1 API (target prefix Firehose_20150804, error __type without namespace):
 * CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams, DeleteDeliveryStream,
 * UpdateDestination, PutRecord and PutRecordBatch. Records put are fsynced into the stream's Direct PUT log
 * before the answer, so an acknowledged record is never lost. */
#include "dlv_svc.h"

#include <stdlib.h>
#include <string.h>

enum { LIST_LIMIT_DEFAULT = 10, LIST_LIMIT_MAX = 10000 };


static dlv_entry *find(dlv_service *s, const json_t *req, sp_err *e)
{
    const char *name = sp_json_str(req, "DeliveryStreamName", true, e);
    if (!name) return NULL;
    dlv_entry *en = dlv_service_find(s, name);
    if (!en)
        sp_err_set(e, 400, "ResourceNotFoundException", "Firehose %s under account %s not found.",
                   name, DLV_ACCOUNT);
    return en;
}

static json_t *op_create(void *ctx, json_t *req, sp_err *e)
{
    dlv_def *d = dlv_def_from_request(req, e);
    if (!d) return NULL;
    char arn[256];
    snprintf(arn, sizeof arn, "arn:aws:firehose:%s:%s:deliverystream/%s", DLV_REGION,
             DLV_ACCOUNT, d->name);
    if (!dlv_service_add(ctx, d, e)) return NULL;
    return json_pack("{s:s}", "DeliveryStreamARN", arn);
}

static json_t *op_describe(void *ctx, json_t *req, sp_err *e)
{
    dlv_entry *en = find(ctx, req, e);
    if (!en) return NULL;
    json_t *out = json_pack("{s:o}", "DeliveryStreamDescription", dlv_def_describe(en->def));
    dlv_service_release(ctx, en);
    return out;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static json_t *op_list(void *ctx, json_t *req, sp_err *e)
{
    long long limit = sp_json_int(req, "Limit", false, LIST_LIMIT_DEFAULT, e);
    const char *type = sp_json_str(req, "DeliveryStreamType", false, e);
    const char *start = sp_json_str(req, "ExclusiveStartDeliveryStreamName", false, e);
    if (sp_err_failed(e)) return NULL;
    if (limit < 1 || limit > LIST_LIMIT_MAX) {
        dlv_invalid(e, "Limit %lld is not between 1 and %d", limit, LIST_LIMIT_MAX);
        return NULL;
    }
    json_t *all = dlv_service_names(ctx);
    size_t n = json_array_size(all), k = 0;
    const char **names = calloc(n + 1, sizeof *names);
    for (size_t i = 0; i < n; i++) {
        const char *name = json_string_value(json_array_get(all, i));
        if (start && strcmp(name, start) <= 0) continue;
        if (type) {
            dlv_entry *en = dlv_service_find(ctx, name);
            if (!en) continue;
            bool direct = en->def->source_stream == NULL;
            dlv_service_release(ctx, en);
            if (direct != !strcmp(type, "DirectPut")) continue;
        }
        names[k++] = name;
    }
    qsort(names, k, sizeof *names, by_name);
    json_t *out = json_array();
    for (size_t i = 0; i < k && i < (size_t)limit; i++)
        json_array_append_new(out, json_string(names[i]));
    json_t *res = json_pack("{s:o, s:b}", "DeliveryStreamNames", out, "HasMoreDeliveryStreams",
                            k > (size_t)limit);
    free(names);
    json_decref(all);
    return res;
}

static json_t *op_delete(void *ctx, json_t *req, sp_err *e)
{
    const char *name = sp_json_str(req, "DeliveryStreamName", true, e);
    if (!name || !dlv_service_remove(ctx, name, e)) return NULL;
    return json_object();
}

static const char DESTINATION_ID[] = "destinationId-000000000001";

/* UpdateDestination (the one S3 destination each stream has). */
static json_t *op_update(void *ctx, json_t *req, sp_err *e)
{
    const char *version = sp_json_str(req, "CurrentDeliveryStreamVersionId", true, e);
    const char *dest = version ? sp_json_str(req, "DestinationId", true, e) : NULL;
    json_t *upd = dest ? sp_json_object(req, "ExtendedS3DestinationUpdate", false, e) : NULL;
    if (dest && !upd && !sp_err_failed(e))
        upd = sp_json_object(req, "S3DestinationUpdate", false, e);
    if (sp_err_failed(e)) return NULL;
    if (!upd) {
        dlv_invalid(e, "UpdateDestination needs ExtendedS3DestinationUpdate (the only "
                       "destination salespipe has is its lake)");
        return NULL;
    }
    dlv_entry *en = find(ctx, req, e);
    if (!en) return NULL;
    dlv_def *d = NULL;
    if (strcmp(dest, DESTINATION_ID))
        dlv_invalid(e, "DestinationId '%s' is not %s, the destination of %s", dest,
                    DESTINATION_ID, en->def->name);
    else if (strcmp(version, DLV_VERSION))
        sp_err_set(e, 400, "ConcurrentModificationException",
                   "CurrentDeliveryStreamVersionId %s is not the delivery stream's version %s",
                   version, DLV_VERSION);
    else
        d = dlv_def_update(en->def, upd, e);
    bool ok = d && dlv_service_update(ctx, en, d, e);
    dlv_service_release(ctx, en);
    return ok ? json_object() : NULL;
}

/* Decodes Records[i].Data into a new buffer (caller frees). */
static char *record_data(const json_t *rec, const char *what, size_t *len, sp_err *e)
{
    if (!json_is_object(rec)) {
        dlv_invalid(e, "%s must be an object", what);
        return NULL;
    }
    const char *b64 = sp_json_str(rec, "Data", true, e);
    if (!b64) {
        sp_err_wrap(e, what);
        return NULL;
    }
    size_t n = strlen(b64);
    char *data = malloc(sp_base64_decoded_max(n) + 1);
    long got = sp_base64_decode(b64, n, data);
    if (got < 0) {
        free(data);
        sp_err_set(e, 400, "SerializationException", "%s.Data is not valid base64", what);
        return NULL;
    }
    if ((size_t)got > DLV_RECORD_MAX_BYTES) {
        free(data);
        dlv_invalid(e, "%s.Data is %ld bytes; a record may have at most %d", what, got,
                DLV_RECORD_MAX_BYTES);
        return NULL;
    }
    *len = (size_t)got;
    return data;
}

static json_t *record_id(const dlv_def *d, uint64_t pos)
{
    char id[64];
    snprintf(id, sizeof id, "%08x%024llu", sp_crc32c(0, d->name, strlen(d->name)),
             (unsigned long long)pos);
    return json_string(id);
}

/* The shared body of PutRecord and PutRecordBatch: validates everything before appending
 * anything, so a bad request changes nothing. */
static bool put(dlv_service *s, const json_t *req, const json_t *records, uint64_t *pos,
                dlv_entry **out, sp_err *e)
{
    dlv_entry *en = find(s, req, e);
    if (!en) return false;
    size_t n = json_array_size(records), total = 0;
    char **data = calloc(n, sizeof *data);
    size_t *lens = calloc(n, sizeof *lens);
    bool ok = true;
    if (!en->direct) {
        dlv_invalid(e, "This operation is not permitted on KinesisStreamAsSource delivery stream "
                   "type.");
        ok = false;
    }
    for (size_t i = 0; ok && i < n; i++) {
        char what[32];
        snprintf(what, sizeof what, "Records[%zu]", i);
        data[i] = record_data(json_array_get(records, i), what, &lens[i], e);
        ok = data[i] != NULL;
        total += lens[i];
    }
    if (ok && total > DLV_BATCH_MAX_BYTES) {
        dlv_invalid(e, "records total %zu bytes; a request may carry at most %d", total,
                DLV_BATCH_MAX_BYTES);
        ok = false;
    }
    if (ok) ok = dlv_direct_append(en->direct, (const void *const *)data, lens, n, pos, e);
    for (size_t i = 0; i < n; i++) free(data[i]);
    free(data);
    free(lens);
    if (!ok) {
        dlv_service_release(s, en);
        return false;
    }
    *out = en;
    return true;
}

static json_t *op_put_record(void *ctx, json_t *req, sp_err *e)
{
    json_t *rec = sp_json_object(req, "Record", true, e);
    if (!rec) return NULL;
    json_t *one = json_pack("[O]", rec);
    uint64_t pos;
    dlv_entry *en;
    bool ok = put(ctx, req, one, &pos, &en, e);
    json_decref(one);
    if (!ok) return NULL;
    json_t *out = json_pack("{s:o, s:b}", "RecordId", record_id(en->def, pos), "Encrypted", false);
    dlv_service_release(ctx, en);
    return out;
}

static json_t *op_put_record_batch(void *ctx, json_t *req, sp_err *e)
{
    json_t *recs = sp_json_array(req, "Records", true, e);
    if (!recs) return NULL;
    size_t n = json_array_size(recs);
    if (n < 1 || n > DLV_BATCH_MAX_RECORDS) {
        dlv_invalid(e, "Records has %zu entries; it must have 1 to %d", n, DLV_BATCH_MAX_RECORDS);
        return NULL;
    }
    uint64_t *pos = calloc(n, sizeof *pos);
    dlv_entry *en;
    if (!put(ctx, req, recs, pos, &en, e)) {
        free(pos);
        return NULL;
    }
    json_t *responses = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(responses, json_pack("{s:o}", "RecordId", record_id(en->def, pos[i])));
    free(pos);
    dlv_service_release(ctx, en);
    return json_pack("{s:i, s:b, s:o}", "FailedPutCount", 0, "Encrypted", false,
                     "RequestResponses", responses);
}

const sp_op dlv_firehose_ops[] = {
    {"CreateDeliveryStream", op_create},
    {"DescribeDeliveryStream", op_describe},
    {"ListDeliveryStreams", op_list},
    {"DeleteDeliveryStream", op_delete},
    {"PutRecord", op_put_record},
    {"PutRecordBatch", op_put_record_batch},
    {"UpdateDestination", op_update},      /* last: fuzz seeds pick ops by index */
    {NULL, NULL},
};
