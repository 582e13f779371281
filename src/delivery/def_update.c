/* UpdateDestination on a delivery stream's definition: the ExtendedS3DestinationUpdate (or
 * S3DestinationUpdate) applied over a copy of the current definition, then checked with every
 * rule CreateDeliveryStream applies (prefixes included), so an update can never make a
 * definition that a create would have refused. What salespipe can change on a running stream:
 * Prefix, ErrorOutputPrefix, BufferingHints, CompressionFormat and
 * DataFormatConversionConfiguration (RoleARN, the same BucketARN,
 * EncryptionConfiguration and CloudWatchLoggingOptions are accepted and kept, as on create). */
#include "dlv_int.h"

#include <string.h>

static const char *const KEPT[] = {"RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix",
                                   "BufferingHints", "CompressionFormat",
                                   "EncryptionConfiguration", "CloudWatchLoggingOptions",
                                   "DataFormatConversionConfiguration"};
static const char BUCKET_ARN[] = "arn:aws:s3:::";

static bool kept(const char *key)
{
    for (size_t i = 0; i < SP_ARRAY_LEN(KEPT); i++)
        if (!strcmp(KEPT[i], key)) return true;
    return false;
}

static bool set_str(char **slot, const json_t *upd, const char *key, sp_err *e)
{
    const char *v = sp_json_str(upd, key, false, e);
    if (sp_err_failed(e)) return false;
    if (v) {
        free(*slot);
        *slot = strdup(v);
    }
    return true;
}

dlv_def *dlv_def_update(const dlv_def *cur, const json_t *upd, sp_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)upd, key, v) {
        if (kept(key)) continue;
        if (!strcmp(key, "DynamicPartitioningConfiguration"))
            dlv_invalid(e, "dynamic partitioning cannot be changed on an existing delivery "
                           "stream; create a new one");
        else
            dlv_invalid(e, "UpdateDestination: %s cannot be changed on a running delivery "
                           "stream in salespipe (Prefix, ErrorOutputPrefix, BufferingHints, "
                           "CompressionFormat and DataFormatConversionConfiguration can)", key);
        return NULL;
    }
    const char *bucket = sp_json_str(upd, "BucketARN", false, e);
    if (sp_err_failed(e)) return NULL;
    if (bucket && (strncmp(bucket, BUCKET_ARN, strlen(BUCKET_ARN)) ||
                   strcmp(bucket + strlen(BUCKET_ARN), cur->bucket))) {
        dlv_invalid(e, "BucketARN '%s' is not arn:aws:s3:::%s: the bucket of a delivery stream "
                       "cannot be changed in salespipe", bucket, cur->bucket);
        return NULL;
    }
    json_t *j = dlv_def_to_json(cur);
    dlv_def *d = dlv_def_from_json(j, e);
    json_decref(j);
    if (!d) return NULL;
    d->from_api = cur->from_api;
    d->sink = cur->sink ? json_deep_copy(cur->sink) : NULL;
    d->remote_source = cur->remote_source ? json_deep_copy(cur->remote_source) : NULL;
    if (!set_str(&d->prefix, upd, "Prefix", e) ||
        !set_str(&d->error_prefix, upd, "ErrorOutputPrefix", e))
        goto fail;
    json_t *bh = sp_json_object(upd, "BufferingHints", false, e);
    if (sp_err_failed(e)) goto fail;
    if (bh) {
        d->size_mb = sp_json_int(bh, "SizeInMBs", false, d->size_mb, e);
        d->interval_s = sp_json_int(bh, "IntervalInSeconds", false, d->interval_s, e);
        if (sp_err_failed(e)) goto fail;
    }
    const char *comp = sp_json_str(upd, "CompressionFormat", false, e);
    if (sp_err_failed(e)) goto fail;
    if (comp && !dlv_compression_parse(comp, &d->compression)) {
        dlv_invalid(e, "CompressionFormat '%s' is not supported (UNCOMPRESSED, GZIP, ZSTD)", comp);
        goto fail;
    }
    json_object_update(d->destination, (json_t *)upd);
    if (!dlv_def_validate(d, e)) goto fail;
    return d;
fail:
    dlv_def_free(d);
    return NULL;
}
