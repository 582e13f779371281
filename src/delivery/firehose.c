/* The Firehose JSON 1.1 API (target prefix Firehose_20150804, error __type without namespace):
 * CreateDeliveryStream, DescribeDeliveryStream, ListDeliveryStreams, DeleteDeliveryStream,
 * UpdateDestination (VersionId counts them), PutRecord and PutRecordBatch, the tag
 * operations, and Start/StopDeliveryStreamEncryption refused (no KMS here). Records put are fsynced into the stream's Direct PUT log
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
    json_t *tag_list = json_object_get(req, "Tags");
    json_t *tags = json_object();
    if (tag_list && !dlv_tags_merge(tags, tag_list, e)) {
        json_decref(tags);
        return NULL;
    }
    json_t *enc = json_object_get(req, "DeliveryStreamEncryptionConfigurationInput");
    if (enc && !json_is_null(enc)) {
        json_decref(tags);
        dlv_invalid(e, "DeliveryStreamEncryptionConfigurationInput: salespipe does not offer "
                       "server-side encryption of delivery streams");
        return NULL;
    }
    dlv_def *d = dlv_def_from_request(req, e);
    if (!d) {
        json_decref(tags);
        return NULL;
    }
    char arn[256];
    snprintf(arn, sizeof arn, "arn:aws:firehose:%s:%s:deliverystream/%s", DLV_REGION,
             DLV_ACCOUNT, d->name);
    char name[DLV_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", d->name);
    if (!dlv_service_add(ctx, d, e)) {
        json_decref(tags);
        return NULL;
    }
    dlv_entry *en = json_object_size(tags) ? dlv_service_find(ctx, name) : NULL;
    if (en) {
        sp_err te = {0};
        if (!dlv_tags_save(en->dir, tags, &te)) sp_warn("delivery stream %s: %s", name, te.msg);
        dlv_service_release(ctx, en);
    }
    json_decref(tags);
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
            bool direct = !en->def->source_stream && !en->def->remote_source;
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
    char current[32];
    snprintf(current, sizeof current, "%lld", dlv_def_version(en->def));
    if (!sp_err_failed(e) && strcmp(version, current))
        sp_err_set(e, 400, "ConcurrentModificationException",
                   "CurrentDeliveryStreamVersionId %.40s is not the delivery stream's version %s",
                   version, current);
    else if (!sp_err_failed(e))
        d = dlv_def_update(en->def, upd, e);
    if (d) {
        /* Firehose's VersionId counts destination updates; the object keys keep the
         * version of salespipe's key layout (DLV_VERSION). */
        d->version = dlv_def_version(en->def) + 1;
        d->updated_ms = sp_clock_wall_ms();
    }
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

/* ---- tags and encryption ---------------------------------------------------------------- */

static json_t *op_tag(void *ctx, json_t *req, sp_err *e)
{
    dlv_service *s = ctx;
    json_t *list = sp_json_array(req, "Tags", true, e);
    if (!list) return NULL;
    dlv_entry *en = find(s, req, e);
    if (!en) return NULL;
    pthread_mutex_lock(&s->update_mu);
    json_t *tags = dlv_tags_load(en->dir);
    bool ok = dlv_tags_merge(tags, list, e) && dlv_tags_save(en->dir, tags, e);
    pthread_mutex_unlock(&s->update_mu);
    json_decref(tags);
    dlv_service_release(s, en);
    return ok ? json_object() : NULL;
}

static json_t *op_untag(void *ctx, json_t *req, sp_err *e)
{
    dlv_service *s = ctx;
    json_t *keys = sp_json_array(req, "TagKeys", true, e);
    if (!keys) return NULL;
    if (json_array_size(keys) < 1 || json_array_size(keys) > DLV_TAGS_MAX) {
        dlv_invalid(e, "TagKeys must have 1 to %d keys", DLV_TAGS_MAX);
        return NULL;
    }
    size_t i;
    json_t *k;
    json_array_foreach(keys, i, k)
        if (!json_is_string(k) || !dlv_tag_key_valid(json_string_value(k))) {
            dlv_invalid(e, "TagKeys[%zu] is not a valid tag key", i);
            return NULL;
        }
    dlv_entry *en = find(s, req, e);
    if (!en) return NULL;
    pthread_mutex_lock(&s->update_mu);
    json_t *tags = dlv_tags_load(en->dir);
    json_array_foreach(keys, i, k) json_object_del(tags, json_string_value(k));
    bool ok = dlv_tags_save(en->dir, tags, e);
    pthread_mutex_unlock(&s->update_mu);
    json_decref(tags);
    dlv_service_release(s, en);
    return ok ? json_object() : NULL;
}

static json_t *op_list_tags(void *ctx, json_t *req, sp_err *e)
{
    dlv_service *s = ctx;
    const char *start = sp_json_str(req, "ExclusiveStartTagKey", false, e);
    long long limit = sp_json_int(req, "Limit", false, DLV_TAGS_MAX, e);
    if (sp_err_failed(e)) return NULL;
    if (limit < 1 || limit > DLV_TAGS_MAX) {
        dlv_invalid(e, "Limit %lld is not between 1 and %d", limit, DLV_TAGS_MAX);
        return NULL;
    }
    if (start && !dlv_tag_key_valid(start)) {
        dlv_invalid(e, "ExclusiveStartTagKey is not a valid tag key");
        return NULL;
    }
    dlv_entry *en = find(s, req, e);
    if (!en) return NULL;
    pthread_mutex_lock(&s->update_mu);
    json_t *tags = dlv_tags_load(en->dir);
    pthread_mutex_unlock(&s->update_mu);
    dlv_service_release(s, en);
    size_t n = 0;
    const char **keys = calloc(json_object_size(tags) + 1, sizeof *keys);
    const char *key;
    json_t *v;
    json_object_foreach(tags, key, v) if (!start || strcmp(key, start) > 0) keys[n++] = key;
    qsort(keys, n, sizeof *keys, by_name);
    json_t *list = json_array();
    for (size_t i = 0; i < n && i < (size_t)limit; i++)
        json_array_append_new(list, json_pack("{s:s, s:O}", "Key", keys[i], "Value",
                                              json_object_get(tags, keys[i])));
    json_t *out = json_pack("{s:o, s:b}", "Tags", list, "HasMoreTags", n > (size_t)limit);
    free(keys);
    json_decref(tags);
    return out;
}

/* Server-side encryption with KMS keys is not offered: both calls are refused after the
 * stream is found, so a client learns it plainly instead of seeing ENABLING forever. */
static json_t *op_encryption(void *ctx, json_t *req, sp_err *e)
{
    dlv_entry *en = find(ctx, req, e);
    if (!en) return NULL;
    dlv_service_release(ctx, en);
    dlv_invalid(e, "salespipe does not offer server-side encryption of delivery streams "
                   "(no KMS); DeliveryStreamEncryptionConfiguration stays DISABLED");
    return NULL;
}

const sp_op dlv_firehose_ops[] = {
    {"CreateDeliveryStream", op_create},
    {"DescribeDeliveryStream", op_describe},
    {"ListDeliveryStreams", op_list},
    {"DeleteDeliveryStream", op_delete},
    {"PutRecord", op_put_record},
    {"PutRecordBatch", op_put_record_batch},
    {"UpdateDestination", op_update},      /* fuzz seeds pick ops by index: add below */
    {"TagDeliveryStream", op_tag},
    {"UntagDeliveryStream", op_untag},
    {"ListTagsForDeliveryStream", op_list_tags},
    {"StartDeliveryStreamEncryption", op_encryption},
    {"StopDeliveryStreamEncryption", op_encryption},
    {NULL, NULL},
};
