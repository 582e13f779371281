/* A delivery stream's definition: from the configuration, from a CreateDeliveryStream request
 * (validated, with Firehose's processors mapped onto salespipe's), to and from the JSON kept
 * under <data>/delivery/streams/ for streams created at run time, and as the
 * DeliveryStreamDescription of DescribeDeliveryStream.
 *
 * Lambda convention: a Lambda processor's LambdaArn names a function (a bare name or
 * arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>], checked by core/lambda_fn.h
 * and nothing else), which runs <data>/delivery/lambda/<name>.py:lambda_handler. Anything
 * else, a path above all, is refused with InvalidArgumentException. */
#include "conn/conn.h"
#include "dlv_int.h"
#include "core/lambda_fn.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char BUCKET_ARN_PREFIX[] = "arn:aws:s3:::";


void dlv_invalid(sp_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sp_err_setv(e, 400, "InvalidArgumentException", fmt, ap);
    va_end(ap);
}

bool dlv_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n < 1 || n > DLV_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i])) return false;
    return true;
}

bool dlv_compression_parse(const char *name, dlv_compression *out)
{
    if (!name || !strcmp(name, "UNCOMPRESSED")) *out = DLV_COMP_NONE;
    else if (!strcmp(name, "GZIP")) *out = DLV_COMP_GZIP;
    else if (!strcmp(name, "ZSTD")) *out = DLV_COMP_ZSTD;
    else return false;
    return true;
}

const char *dlv_compression_name(dlv_compression c)
{
    return c == DLV_COMP_GZIP ? "GZIP" : c == DLV_COMP_ZSTD ? "ZSTD" : "UNCOMPRESSED";
}

const char *dlv_compression_ext(dlv_compression c)
{
    return c == DLV_COMP_GZIP ? ".gz" : c == DLV_COMP_ZSTD ? ".zst" : "";
}

void dlv_def_free(dlv_def *d)
{
    if (!d) return;
    free(d->name);
    free(d->source_stream);
    free(d->bucket);
    free(d->prefix);
    free(d->error_prefix);
    json_decref(d->processors);
    json_decref(d->destination);
    json_decref(d->sink);
    json_decref(d->remote_source);
    dlv_conversion_free(d->conversion);
    free(d);
}

static char *dup_or(const char *s, const char *fallback)
{
    return strdup(s ? s : fallback);
}

/* Dynamic partitioning is on: a metadata processor (config dynamic_partitioning, API
 * MetadataExtraction) or DynamicPartitioningConfiguration.Enabled in the destination. */
static bool dynamic_partitioning_on(const dlv_def *d)
{
    size_t i;
    json_t *p;
    json_array_foreach(d->processors, i, p)
        if (!strcmp(json_string_value(json_object_get(p, "type")) ?: "", "metadata")) return true;
    json_t *dp = json_object_get(d->destination, "DynamicPartitioningConfiguration");
    return json_is_true(json_object_get(dp, "Enabled"));
}

/* Checks what every definition must satisfy, whatever it came from. strict_prefixes: the
 * full prefix rules (dlv_prefixes_validate) of a stream being defined; a stream persisted by
 * an earlier build is reloaded under the syntax check only (its records whose key the lake
 * refuses go to the error output, see runner.c). */
static bool def_check(dlv_def *d, bool strict_prefixes, sp_err *e)
{
    if (!dlv_name_valid(d->name)) {
        dlv_invalid(e, "DeliveryStreamName '%s' must be 1-%d characters of [a-zA-Z0-9_.-]", d->name,
                DLV_NAME_MAX);
        return false;
    }
    if (!lake_bucket_name_valid(d->bucket)) {
        dlv_invalid(e, "bucket '%s' is not a valid S3 bucket name", d->bucket);
        return false;
    }
    if (d->size_mb < DLV_BUFFER_MB_MIN || d->size_mb > DLV_BUFFER_MB_MAX) {
        dlv_invalid(e, "BufferingHints.SizeInMBs %lld is not between %d and %d", d->size_mb,
                DLV_BUFFER_MB_MIN, DLV_BUFFER_MB_MAX);
        return false;
    }
    if (d->interval_s < DLV_INTERVAL_S_MIN || d->interval_s > DLV_INTERVAL_S_MAX) {
        dlv_invalid(e, "BufferingHints.IntervalInSeconds %lld is not between %d and %d",
                d->interval_s, DLV_INTERVAL_S_MIN, DLV_INTERVAL_S_MAX);
        return false;
    }
    dlv_conversion_free(d->conversion);
    d->conversion = NULL;
    if (!dlv_conversion_parse(json_object_get(d->destination, "DataFormatConversionConfiguration"),
                              &d->conversion, e))
        return false;
    if (d->conversion && d->compression != DLV_COMP_NONE) {
        dlv_invalid(e, "CompressionFormat must be UNCOMPRESSED when DataFormatConversion is "
                       "enabled (Parquet compresses its pages: ParquetSerDe.Compression)");
        return false;
    }
    const char *field;
    if (strict_prefixes ? !dlv_prefixes_validate(d->prefix, d->error_prefix,
                                                 dynamic_partitioning_on(d), d->name, &field, e)
                        : !dlv_prefix_check(d->prefix, false, e) ||
                              !dlv_prefix_check(d->error_prefix, true, e))
        return false;
    bool has_meta = false;
    size_t i;
    json_t *p;
    json_array_foreach(d->processors, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        if (!dlv_processor_find(type)) {
            dlv_invalid(e, "processor %zu: unknown type '%s'", i, type ? type : "(none)");
            return false;
        }
        if (!strcmp(type, "metadata")) has_meta = true;
    }
    if (strstr(d->prefix, "!{partitionKeyFromQuery:") && !has_meta) {
        dlv_invalid(e, "Prefix uses partitionKeyFromQuery but no MetadataExtraction processor "
                   "(dynamic partitioning) is configured");
        return false;
    }
    bool has_lambda = false;
    json_array_foreach(d->processors, i, p)
        has_lambda |= !strcmp(json_string_value(json_object_get(p, "type")) ?: "", "lambda");
    if (strstr(d->prefix, "!{partitionKeyFromLambda:") && !has_lambda) {
        dlv_invalid(e, "Prefix uses partitionKeyFromLambda but no Lambda processor returns "
                       "partition keys");
        return false;
    }
    if (strstr(d->prefix, "!{") && !*d->error_prefix) {
        dlv_invalid(e, "ErrorOutputPrefix is required when Prefix contains expressions");
        return false;
    }
    return true;
}

void dlv_default_schema_table(const char *stream, char *out, size_t size)
{
    snprintf(out, size, "%s_schema", stream);
    for (char *p = out; *p; p++)
        if (*p == '-' || *p == '.') *p = '_';
        else *p = (char)tolower((unsigned char)*p);
}

bool dlv_def_validate(dlv_def *d, sp_err *e)
{
    return def_check(d, true, e);
}

bool dlv_config_check(const void *delivery_cfg, const char **key, sp_err *e)
{
    const sp_cfg_delivery *c = delivery_cfg;
    const char *field = NULL;
    if (!dlv_sink_config_check(c->destination, e)) {
        *key = "destination";
        return false;
    }
    if (!dlv_source_config_check(c->source, e)) {
        *key = "source";
        return false;
    }
    if (dlv_prefixes_validate(c->prefix, c->error_output_prefix, c->dynamic_partitioning != NULL,
                              c->name, &field, e))
        return true;
    *key = field && !strcmp(field, "ErrorOutputPrefix") ? "error_output_prefix" : "prefix";
    return false;
}

static json_t *synth_destination(const dlv_def *d)
{
    return json_pack("{s:s, s:s+, s:s, s:s, s:{s:I, s:I}, s:s, s:{s:s}}", "RoleARN",
                     "arn:aws:iam::" DLV_ACCOUNT ":role/salespipe", "BucketARN",
                     BUCKET_ARN_PREFIX, d->bucket, "Prefix", d->prefix, "ErrorOutputPrefix",
                     d->error_prefix, "BufferingHints", "SizeInMBs", (json_int_t)d->size_mb,
                     "IntervalInSeconds", (json_int_t)d->interval_s, "CompressionFormat",
                     dlv_compression_name(d->compression), "EncryptionConfiguration",
                     "NoEncryptionConfig", "NoEncryption");
}

dlv_def *dlv_def_from_config(const sp_cfg_delivery *c, sp_err *e)
{
    dlv_def *d = calloc(1, sizeof *d);
    d->name = dup_or(c->name, "");
    d->source_stream = c->source_stream ? strdup(c->source_stream) : NULL;
    /* A remote destination names its own bucket; the lake's is the stream's bucket. */
    const char *dest_bucket = json_string_value(json_object_get(c->destination, "bucket"));
    d->sink = c->destination ? json_deep_copy(c->destination) : NULL;
    d->remote_source = conn_remote_kind(c->source) ? json_deep_copy(c->source) : NULL;
    d->bucket = dup_or(dest_bucket ? dest_bucket : c->bucket, "");
    d->prefix = dup_or(c->prefix, "");
    d->error_prefix = dup_or(c->error_output_prefix, "");
    d->size_mb = c->buffer_size_mb;
    d->interval_s = c->buffer_interval_seconds;
    d->append_delimiter = c->append_delimiter;
    d->processors = c->processors ? json_deep_copy(c->processors) : json_array();
    d->created_ms = sp_clock_wall_ms();
    if (!dlv_compression_parse(c->compression, &d->compression)) {
        dlv_invalid(e, "delivery stream '%s': compression '%s' is not UNCOMPRESSED, GZIP or ZSTD",
                d->name, c->compression);
        dlv_def_free(d);
        return NULL;
    }
    if (c->dynamic_partitioning) {
        json_t *q = json_object_get(c->dynamic_partitioning, "queries");
        json_array_append_new(d->processors, json_pack("{s:s, s:O}", "type", "metadata",
                                                       "queries", q ? q : json_null()));
    }
    d->destination = synth_destination(d);
    if (c->format && !strcmp(c->format, "parquet")) {
        /* The configuration's parquet switch is the API's DataFormatConversionConfiguration. */
        char table[DLV_NAME_MAX + 16];
        const char *t = c->schema_table;
        if (!t || !*t) {
            dlv_default_schema_table(d->name, table, sizeof table);
            t = table;
        }
        json_object_set_new(d->destination, "DataFormatConversionConfiguration",
                            json_pack("{s:b, s:{s:s, s:s, s:s}, s:{s:{s:{}}},"
                                      " s:{s:{s:{s:s}}}}",
                                      "Enabled", true, "SchemaConfiguration", "DatabaseName",
                                      c->schema_database ? c->schema_database : "sales_db",
                                      "TableName", t, "RoleARN",
                                      "arn:aws:iam::" DLV_ACCOUNT ":role/salespipe",
                                      "InputFormatConfiguration", "Deserializer",
                                      "OpenXJsonSerDe", "OutputFormatConfiguration",
                                      "Serializer", "ParquetSerDe", "Compression",
                                      c->parquet_compression ? c->parquet_compression
                                                             : "SNAPPY"));
    }
    if (!def_check(d, true, e)) {
        sp_err_wrap(e, d->name);
        dlv_def_free(d);
        return NULL;
    }
    return d;
}

static const char *param(const json_t *proc, const char *name)
{
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(proc, "Parameters"), i, p)
        if (!strcmp(json_string_value(json_object_get(p, "ParameterName")) ?: "", name))
            return json_string_value(json_object_get(p, "ParameterValue"));
    return NULL;
}

/* Firehose's Processors onto salespipe's chain: Lambdas first, then metadata extraction,
 * as Firehose runs them. */
static bool map_processors(dlv_def *d, const json_t *pc, sp_err *e)
{
    if (!pc || !sp_json_bool(pc, "Enabled", false, e)) return !sp_err_failed(e);
    json_t *procs = sp_json_array(pc, "Processors", false, e);
    if (sp_err_failed(e)) return false;
    json_t *meta = NULL;
    size_t i;
    json_t *p;
    json_array_foreach(procs, i, p) {
        const char *type = json_string_value(json_object_get(p, "Type"));
        if (!type) {
            dlv_invalid(e, "ProcessingConfiguration.Processors[%zu].Type is required", i);
            goto fail;
        }
        if (!strcmp(type, "Lambda")) {
            const char *arn = param(p, "LambdaArn");
            const char *retries = param(p, "NumberOfRetries");
            if (!arn || !*arn) {
                dlv_invalid(e, "Lambda processor needs the LambdaArn parameter");
                goto fail;
            }
            sp_lambda_fn fn;
            if (!sp_lambda_fn_parse(arn, &fn, e)) {
                sp_err_wrap(e, "LambdaArn");
                goto fail;
            }
            json_t *l = json_pack("{s:s, s:s, s:I}", "type", "lambda", "function", arn,
                                  "retries",
                                  (json_int_t)(retries ? atoll(retries)
                                                       : DLV_LAMBDA_RETRIES_DEFAULT));
            json_array_append_new(d->processors, l);
        } else if (!strcmp(type, "MetadataExtraction")) {
            const char *q = param(p, "MetadataExtractionQuery");
            if (!q || !*q) {
                dlv_invalid(e, "MetadataExtraction processor needs MetadataExtractionQuery");
                goto fail;
            }
            json_decref(meta);
            meta = json_pack("{s:s, s:s}", "type", "metadata", "query", q);
        } else if (!strcmp(type, "AppendDelimiterToRecord")) {
            d->append_delimiter = true;
        } else {
            dlv_invalid(e, "processor type '%s' is not supported (Lambda, MetadataExtraction, "
                       "AppendDelimiterToRecord)", type);
            goto fail;
        }
    }
    if (meta) json_array_append_new(d->processors, meta);
    return true;
fail: /* a metadata processor seen before the bad one is not the definition's yet */
    json_decref(meta);
    return false;
}

dlv_def *dlv_def_from_request(const json_t *req, sp_err *e)
{
    const char *name = sp_json_str(req, "DeliveryStreamName", true, e);
    const char *type = sp_json_str(req, "DeliveryStreamType", false, e);
    json_t *ks = sp_json_object(req, "KinesisStreamSourceConfiguration", false, e);
    json_t *dst = sp_json_object(req, "ExtendedS3DestinationConfiguration", false, e);
    if (!dst && !sp_err_failed(e)) dst = sp_json_object(req, "S3DestinationConfiguration", false, e);
    if (sp_err_failed(e)) return NULL;
    if (!dst) {
        dlv_invalid(e, "ExtendedS3DestinationConfiguration is required (the only destination "
                   "salespipe has is its lake)");
        return NULL;
    }
    dlv_def *d = calloc(1, sizeof *d);
    d->name = strdup(name);
    d->processors = json_array();
    d->created_ms = sp_clock_wall_ms();
    d->from_api = true;
    d->destination = json_deep_copy(dst);
    if (!type || !strcmp(type, "DirectPut")) {
        if (ks) {
            dlv_invalid(e, "KinesisStreamSourceConfiguration needs DeliveryStreamType "
                       "KinesisStreamAsSource");
            goto fail;
        }
    } else if (!strcmp(type, "KinesisStreamAsSource")) {
        const char *arn = ks ? sp_json_str(ks, "KinesisStreamARN", true, e) : NULL;
        const char *slash = arn ? strstr(arn, ":stream/") : NULL;
        if (!slash) {
            if (!sp_err_failed(e))
                dlv_invalid(e, "KinesisStreamAsSource needs KinesisStreamSourceConfiguration."
                           "KinesisStreamARN arn:aws:kinesis:<region>:<account>:stream/<name>");
            goto fail;
        }
        d->source_stream = strdup(slash + strlen(":stream/"));
    } else {
        dlv_invalid(e, "DeliveryStreamType '%s' is not DirectPut or KinesisStreamAsSource", type);
        goto fail;
    }
    const char *bucket_arn = sp_json_str(dst, "BucketARN", true, e);
    if (!bucket_arn) goto fail;
    if (strncmp(bucket_arn, BUCKET_ARN_PREFIX, strlen(BUCKET_ARN_PREFIX))) {
        dlv_invalid(e, "BucketARN '%s' is not arn:aws:s3:::<bucket>", bucket_arn);
        goto fail;
    }
    d->bucket = strdup(bucket_arn + strlen(BUCKET_ARN_PREFIX));
    d->prefix = strdup(sp_json_str(dst, "Prefix", false, e) ?: "");
    d->error_prefix = strdup(sp_json_str(dst, "ErrorOutputPrefix", false, e) ?: "");
    json_t *bh = sp_json_object(dst, "BufferingHints", false, e);
    d->size_mb = bh ? sp_json_int(bh, "SizeInMBs", false, DLV_BUFFER_MB_DEFAULT, e)
                    : DLV_BUFFER_MB_DEFAULT;
    d->interval_s = bh ? sp_json_int(bh, "IntervalInSeconds", false, DLV_INTERVAL_S_DEFAULT, e)
                       : DLV_INTERVAL_S_DEFAULT;
    const char *comp = sp_json_str(dst, "CompressionFormat", false, e);
    if (sp_err_failed(e)) goto fail;
    if (!dlv_compression_parse(comp, &d->compression)) {
        dlv_invalid(e, "CompressionFormat '%s' is not supported (UNCOMPRESSED, GZIP, ZSTD)", comp);
        goto fail;
    }
    if (!map_processors(d, sp_json_object(dst, "ProcessingConfiguration", false, e), e))
        goto fail;
    json_t *dp = sp_json_object(dst, "DynamicPartitioningConfiguration", false, e);
    if (sp_err_failed(e)) goto fail;
    bool dp_on = dp && sp_json_bool(dp, "Enabled", false, e);
    bool has_meta = false;
    size_t i;
    json_t *p;
    json_array_foreach(d->processors, i, p)
        has_meta |= !strcmp(json_string_value(json_object_get(p, "type")), "metadata");
    if (has_meta && !dp_on) {
        dlv_invalid(e, "MetadataExtraction needs DynamicPartitioningConfiguration.Enabled");
        goto fail;
    }
    if (!def_check(d, true, e)) goto fail;
    return d;
fail:
    dlv_def_free(d);
    return NULL;
}

json_t *dlv_def_to_json(const dlv_def *d)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:O, s:I, s:O}", "name",
                          d->name, "bucket", d->bucket, "prefix", d->prefix, "error_prefix",
                          d->error_prefix, "size_mb", (json_int_t)d->size_mb, "interval_s",
                          (json_int_t)d->interval_s, "compression",
                          dlv_compression_name(d->compression), "append_delimiter",
                          d->append_delimiter, "processors", d->processors, "created_ms",
                          (json_int_t)d->created_ms, "destination", d->destination);
    json_object_set_new(j, "version", json_integer(dlv_def_version(d)));
    if (d->updated_ms) json_object_set_new(j, "updated_ms", json_integer(d->updated_ms));
    if (d->source_stream) json_object_set_new(j, "source_stream", json_string(d->source_stream));
    return j;
}

dlv_def *dlv_def_from_json(const json_t *j, sp_err *e)
{
    dlv_def *d = calloc(1, sizeof *d);
    d->name = strdup(sp_json_str(j, "name", true, e) ?: "");
    const char *src = sp_json_str(j, "source_stream", false, e);
    d->source_stream = src ? strdup(src) : NULL;
    d->bucket = strdup(sp_json_str(j, "bucket", true, e) ?: "");
    d->prefix = strdup(sp_json_str(j, "prefix", false, e) ?: "");
    d->error_prefix = strdup(sp_json_str(j, "error_prefix", false, e) ?: "");
    d->size_mb = sp_json_int(j, "size_mb", true, 0, e);
    d->interval_s = sp_json_int(j, "interval_s", true, 0, e);
    d->append_delimiter = sp_json_bool(j, "append_delimiter", false, e);
    d->created_ms = sp_json_int(j, "created_ms", false, 0, e);
    d->updated_ms = sp_json_int(j, "updated_ms", false, 0, e);
    d->version = sp_json_int(j, "version", false, 1, e);
    json_t *procs = sp_json_array(j, "processors", false, e);
    d->processors = procs ? json_deep_copy(procs) : json_array();
    json_t *dst = sp_json_object(j, "destination", false, e);
    d->from_api = true;
    const char *comp = sp_json_str(j, "compression", false, e);
    if (!sp_err_failed(e) && !dlv_compression_parse(comp, &d->compression))
        dlv_invalid(e, "compression '%s' is unknown", comp);
    if (!sp_err_failed(e)) d->destination = dst ? json_deep_copy(dst) : synth_destination(d);
    if (sp_err_failed(e) || !def_check(d, false, e)) {
        dlv_def_free(d);
        return NULL;
    }
    return d;
}

long long dlv_def_version(const dlv_def *d) { return d->version > 0 ? d->version : 1; }

json_t *dlv_def_describe(const dlv_def *d)
{
    char version[32];
    snprintf(version, sizeof version, "%lld", dlv_def_version(d));
    json_t *ext = json_deep_copy(d->destination);
    json_t *synth = synth_destination(d);
    /* What the stream really does, over whatever the request said. */
    json_object_set(ext, "BufferingHints", json_object_get(synth, "BufferingHints"));
    json_object_set(ext, "CompressionFormat", json_object_get(synth, "CompressionFormat"));
    json_object_set(ext, "Prefix", json_object_get(synth, "Prefix"));
    json_object_set(ext, "ErrorOutputPrefix", json_object_get(synth, "ErrorOutputPrefix"));
    json_object_set(ext, "BucketARN", json_object_get(synth, "BucketARN"));
    if (!json_object_get(ext, "RoleARN"))
        json_object_set(ext, "RoleARN", json_object_get(synth, "RoleARN"));
    if (!json_object_get(ext, "EncryptionConfiguration"))
        json_object_set(ext, "EncryptionConfiguration",
                        json_object_get(synth, "EncryptionConfiguration"));
    json_t *dest = json_pack("{s:s, s:o, s:o}", "DestinationId", "destinationId-000000000001",
                             "ExtendedS3DestinationDescription", ext, "S3DestinationDescription",
                             synth);
    json_t *desc = json_pack("{s:s, s:s+, s:s, s:s, s:s, s:f, s:[o], s:b}", "DeliveryStreamName",
                             d->name, "DeliveryStreamARN",
                             "arn:aws:firehose:" DLV_REGION ":" DLV_ACCOUNT ":deliverystream/",
                             d->name, "DeliveryStreamStatus", "ACTIVE", "DeliveryStreamType",
                             d->source_stream || d->remote_source ? "KinesisStreamAsSource"
                                                                  : "DirectPut",
                             "VersionId", version, "CreateTimestamp",
                             (double)d->created_ms / 1000.0, "Destinations", dest,
                             "HasMoreDestinations", false);
    /* server-side encryption of the stream is not offered (StartDeliveryStreamEncryption
     * is refused), which Firehose describes as DISABLED */
    json_object_set_new(desc, "DeliveryStreamEncryptionConfiguration",
                        json_pack("{s:s}", "Status", "DISABLED"));
    if (d->updated_ms)
        json_object_set_new(desc, "LastUpdateTimestamp", json_real((double)d->updated_ms / 1000.0));
    if (d->source_stream) {
        json_t *src = json_pack("{s:{s:s+, s:s, s:f}}", "KinesisStreamSourceDescription",
                                "KinesisStreamARN",
                                "arn:aws:kinesis:" DLV_REGION ":" DLV_ACCOUNT ":stream/",
                                d->source_stream, "RoleARN",
                                "arn:aws:iam::" DLV_ACCOUNT ":role/salespipe",
                                "DeliveryStartTimestamp", (double)d->created_ms / 1000.0);
        json_object_set_new(desc, "Source", src);
    }
    return desc;
}
