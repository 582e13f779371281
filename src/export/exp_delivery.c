/* The delivery half: the bucket, the Firehose delivery stream (buffering, prefixes,
 * compression, processors, dynamic partitioning, Parquet conversion) and the Lambda functions
 * its processors become, with the roles of the stream and of each function.
 *
 * salespipe's processor chain maps onto Firehose's: the builtin dynamodb-cdc becomes a Python
 * Lambda shipped inline (exp_cdc_py.c), a `lambda` processor naming a function becomes a
 * function whose code the deployer points at (two template parameters), one naming an ARN is
 * used as it is, and dynamic_partitioning queries become the MetadataExtraction processor
 * (jq, as Firehose runs it). Firehose runs one Lambda per stream, has no jq transformation or
 * ZSTD objects, and no zero buffering with dynamic partitioning: a configuration using those
 * is refused with the key that says so. */
#include "exp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Python runtime the inline handler is written for. */
static const char LAMBDA_RUNTIME[] = "python3.12";
static const char CDC_HANDLER[] = "index.handler";
/* Firehose waits for a processor Lambda up to its timeout; one minute is ample for the
 * ~1 MB batches Firehose sends (its default Lambda buffer) and far below the 15 minute cap. */
enum { LAMBDA_TIMEOUT_SECONDS = 60, LAMBDA_MEMORY_MB = 256 };
/* Lambda function names are at most 64 characters. */
enum { LAMBDA_NAME_MAX = 64 };
/* The columns dynamodb-cdc writes for the seed's table (as cli/engine.c makes the default
 * Parquet schema table). */
static const char *const CDC_COLUMNS[][2] = {
    {"orderid", "string"}, {"product_name", "string"}, {"quantity", "bigint"},
    {"price", "double"}, {"cdc_event_type", "string"}, {"creation_datetime", "string"},
    {"sequence_number", "string"}};

bool exp_bucket_add(exp_tpl *t, const sp_cfg_bucket *b, sp_err *e)
{
    (void)e;
    json_t *props = json_pack("{s:s, s:{s:b, s:b, s:b, s:b}}", "BucketName", b->name,
                              "PublicAccessBlockConfiguration", "BlockPublicAcls", 1,
                              "BlockPublicPolicy", 1, "IgnorePublicAcls", 1,
                              "RestrictPublicBuckets", 1);
    exp_resource_add(t, exp_id(t, "Bucket", b->name), "AWS::S3::Bucket", props);
    return true;
}

/* A role Lambda assumes: CloudWatch Logs only (the AWS managed basic execution policy). */
static void lambda_role_add(exp_tpl *t, const char *role_id)
{
    exp_role_add(t, role_id, "lambda.amazonaws.com", "", NULL,
                 json_pack("[o]", exp_sub("arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                          "AWSLambdaBasicExecutionRole")));
}

static json_t *lambda_props(exp_tpl *t, const char *name, const char *role_id, const char *handler,
                            json_t *code)
{
    lambda_role_add(t, role_id);
    return json_pack("{s:s, s:s, s:s, s:o, s:o, s:i, s:i}", "FunctionName", name, "Runtime",
                     LAMBDA_RUNTIME, "Handler", handler, "Role", exp_getatt(role_id, "Arn"),
                     "Code", code, "Timeout", LAMBDA_TIMEOUT_SECONDS, "MemorySize",
                     LAMBDA_MEMORY_MB);
}

/* The builtin processor as a function with the inline handler; returns its ARN. */
static json_t *cdc_function_add(exp_tpl *t, const sp_cfg_delivery *d)
{
    char name[LAMBDA_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s-dynamodb-cdc", d->name);
    const char *fn_id = exp_id(t, "CdcFunction", d->name);
    json_t *props = lambda_props(t, name, exp_id(t, "CdcFunctionRole", d->name), CDC_HANDLER,
                                 json_pack("{s:s}", "ZipFile", exp_cdc_handler_source()));
    exp_resource_add(t, fn_id, "AWS::Lambda::Function", props);
    return exp_getatt(fn_id, "Arn");
}

/* A user's Lambda processor: an ARN is used as it is; a name becomes a function whose zip
 * the deployer names with two parameters (salespipe runs <data>/delivery/lambda/NAME.py, so
 * the zip holds NAME.py and the handler is NAME.lambda_handler, as salespipe calls it). */
static json_t *user_function_add(exp_tpl *t, const char *fn)
{
    if (!strncmp(fn, "arn:", 4)) return json_string(fn);
    const char *fn_id = exp_id(t, "Function", fn);
    if (json_object_get(t->resources, fn_id)) return exp_getatt(fn_id, "Arn");
    char bucket_param[EXP_LOGICAL_ID_MAX + 16], key_param[EXP_LOGICAL_ID_MAX + 16], handler[300];
    snprintf(bucket_param, sizeof bucket_param, "%sCodeS3Bucket", fn_id);
    snprintf(key_param, sizeof key_param, "%sCodeS3Key", fn_id);
    snprintf(handler, sizeof handler, "%s.lambda_handler", fn);
    json_object_set_new(t->parameters, bucket_param,
                        json_pack("{s:s, s:s+}", "Type", "String", "Description",
                                  "S3 bucket holding the zip of Lambda function ", fn));
    json_object_set_new(t->parameters, key_param,
                        json_pack("{s:s, s:s++}", "Type", "String", "Description",
                                  "S3 key of the zip (containing ", fn, ".py) of the function"));
    json_t *code = json_pack("{s:o, s:o}", "S3Bucket", exp_ref(bucket_param), "S3Key",
                             exp_ref(key_param));
    json_t *props = lambda_props(t, fn, exp_id(t, "FunctionRole", fn), handler, code);
    exp_resource_add(t, fn_id, "AWS::Lambda::Function", props);
    return exp_getatt(fn_id, "Arn");
}

/* The dynamic_partitioning queries ({name: jq}) as Firehose's one MetadataExtractionQuery:
 * a jq object whose members are the queries ({"name": (expr), ...}). */
static char *metadata_query(const json_t *queries)
{
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_putc(&s, '{');
    const char *k;
    json_t *q;
    bool first = true;
    json_object_foreach((json_t *)queries, k, q) {
        json_t *key = json_string(k);
        char *quoted = json_dumps(key, JSON_ENCODE_ANY);
        sp_str_appendf(&s, "%s%s: (%s)", first ? "" : ", ", quoted ? quoted : "\"\"",
                       json_string_value(q) ? json_string_value(q) : "null");
        free(quoted);
        json_decref(key);
        first = false;
    }
    sp_str_putc(&s, '}');
    return sp_str_finish(&s, NULL);
}

static json_t *param(const char *name, json_t *value)
{
    return json_pack("{s:s, s:o}", "ParameterName", name, "ParameterValue", value);
}

/* The processors of d as Firehose's ProcessingConfiguration.Processors; *lambda_arn gets the
 * (new) ARN of its Lambda, NULL for none. */
static json_t *processors(exp_tpl *t, const sp_cfg_delivery *d, size_t index, json_t **lambda_arn,
                          sp_err *e)
{
    json_t *list = json_array();
    *lambda_arn = NULL;
    size_t i;
    json_t *p;
    char key[64];
    json_array_foreach(d->processors, i, p) {
        const char *type = json_string_value(json_object_get(p, "type"));
        snprintf(key, sizeof key, "processors[%zu].type", i);
        if (!type || (strcmp(type, "dynamodb-cdc") && strcmp(type, "lambda"))) {
            exp_fail(e, "delivery_streams", index, key,
                     "'%s' has no Firehose counterpart (Firehose transforms records only "
                     "with a Lambda: use type lambda, or dynamodb-cdc)", type ? type : "(none)");
            break;
        }
        if (*lambda_arn) {
            exp_fail(e, "delivery_streams", index, key,
                     "a second Lambda processor: a Firehose stream runs one Lambda");
            break;
        }
        if (!strcmp(type, "dynamodb-cdc")) {
            *lambda_arn = cdc_function_add(t, d);
        } else {
            const char *fn = json_string_value(json_object_get(p, "function"));
            if (!fn) {
                snprintf(key, sizeof key, "processors[%zu].function", i);
                exp_fail(e, "delivery_streams", index, key, "a Lambda function name or ARN is "
                         "required");
                break;
            }
            *lambda_arn = user_function_add(t, fn);
        }
        json_array_append_new(list, json_pack("{s:s, s:[o]}", "Type", "Lambda", "Parameters",
                                              param("LambdaArn", json_deep_copy(*lambda_arn))));
    }
    if (sp_err_failed(e)) {
        json_decref(list);
        json_decref(*lambda_arn);
        *lambda_arn = NULL;
        return NULL;
    }
    json_t *queries = json_object_get(d->dynamic_partitioning, "queries");
    if (json_is_object(queries) && json_object_size(queries)) {
        char *q = metadata_query(queries);
        json_array_append_new(list, json_pack("{s:s, s:[o, o]}", "Type", "MetadataExtraction",
                                              "Parameters",
                                              param("MetadataExtractionQuery", json_string(q)),
                                              param("JsonParsingEngine", json_string("JQ-1.6"))));
        free(q);
    }
    if (d->append_delimiter)
        json_array_append_new(list, json_pack("{s:s}", "Type", "AppendDelimiterToRecord"));
    return list;
}

/* Glue ARNs of the catalog, a database and a table, for the conversion's schema lookup. */
static json_t *glue_table_arns(const char *db_name, const char *table_name)
{
    char *db = exp_sub_literal(db_name), *table = exp_sub_literal(table_name);
    json_t *arns = json_pack("[o, o, o]",
                     exp_sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:catalog"),
                     exp_sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
                             "database/%s", db),
                     exp_sub("arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:"
                             "table/%s/%s", db, table));
    free(db);
    free(table);
    return arns;
}

/* The default schema table (<stream>_schema, lowercase) of a parquet stream that runs
 * dynamodb-cdc first: its columns, as salespipe makes it on start. */
static const char *schema_table_add(exp_tpl *t, const char *db, const char *table)
{
    json_t *cols = json_array();
    for (size_t c = 0; c < SP_ARRAY_LEN(CDC_COLUMNS); c++)
        json_array_append_new(cols, json_pack("{s:s, s:s}", "Name", CDC_COLUMNS[c][0], "Type",
                                              CDC_COLUMNS[c][1]));
    json_t *props = json_pack(
        "{s:o, s:o, s:{s:s, s:s, s:{s:s}, s:{s:o, s:s, s:s, s:{s:s}}}}", "CatalogId",
        exp_ref("AWS::AccountId"), "DatabaseName", exp_ref(exp_id(t, "Database", db)),
        "TableInput", "Name", table, "TableType", "EXTERNAL_TABLE", "Parameters",
        "classification", "parquet", "StorageDescriptor", "Columns", cols, "InputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat", "OutputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat", "SerdeInfo",
        "SerializationLibrary", "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe");
    const char *id = exp_id(t, "SchemaTable", table);
    exp_resource_add(t, id, "AWS::Glue::Table", props);
    return id;
}

/* Record format conversion to Parquet; NULL with e set when it cannot be expressed.
 * *schema_id gets the id of the schema table the template makes, NULL when the deployer
 * provides the table. */
static json_t *conversion(exp_tpl *t, const sp_cfg_delivery *d, size_t index, const char *role_id,
                          json_t *statements, const char **schema_id, sp_err *e)
{
    *schema_id = NULL;
    const char *pc = d->parquet_compression ? d->parquet_compression : "SNAPPY";
    if (strcmp(pc, "SNAPPY") && strcmp(pc, "GZIP") && strcmp(pc, "UNCOMPRESSED")) {
        exp_fail(e, "delivery_streams", index, "parquet_compression", "'%s' is not one Firehose "
                 "writes (SNAPPY, GZIP or UNCOMPRESSED)", pc);
        return NULL;
    }
    const char *db = d->schema_database ? d->schema_database : "sales_db";
    char table[300];
    if (d->schema_table && *d->schema_table) {
        snprintf(table, sizeof table, "%s", d->schema_table);
    } else {
        snprintf(table, sizeof table, "%s_schema", d->name);
        for (char *c = table; *c; c++)
            *c = *c == '-' || *c == '.' ? '_' : (char)tolower((unsigned char)*c);
        const char *first = json_string_value(json_object_get(json_array_get(d->processors, 0),
                                                              "type"));
        if (first && !strcmp(first, "dynamodb-cdc")) *schema_id = schema_table_add(t, db, table);
    }
    static const char *const glue_read[] = {"glue:GetTable", "glue:GetTableVersion",
                                            "glue:GetTableVersions", NULL};
    json_array_append_new(statements, exp_allow(glue_read, glue_table_arns(db, table)));
    return json_pack("{s:b, s:{s:o, s:o, s:s, s:s, s:o}, s:{s:{s:{}}}, s:{s:{s:{s:s}}}}",
                     "Enabled", 1, "SchemaConfiguration", "CatalogId", exp_ref("AWS::AccountId"),
                     "Region", exp_ref("AWS::Region"), "DatabaseName", db, "TableName", table,
                     "RoleARN", exp_getatt(role_id, "Arn"), "InputFormatConfiguration",
                     "Deserializer", "OpenXJsonSerDe", "OutputFormatConfiguration", "Serializer",
                     "ParquetSerDe", "Compression", pc);
}

bool exp_delivery_add(exp_tpl *t, const sp_cfg_delivery *d, size_t index, sp_err *e)
{
    const char *comp = d->compression ? d->compression : "UNCOMPRESSED";
    bool parquet = d->format && !strcmp(d->format, "parquet");
    if (strcmp(comp, "UNCOMPRESSED") && strcmp(comp, "GZIP")) {
        exp_fail(e, "delivery_streams", index, "compression", "'%s' is not a format Firehose "
                 "writes to S3 (UNCOMPRESSED or GZIP)", comp);
        return false;
    }
    if (d->dynamic_partitioning && d->buffer_interval_seconds == 0) {
        exp_fail(e, "delivery_streams", index, "buffer_interval_seconds", "0 (zero buffering) "
                 "is not available on Firehose with dynamic partitioning");
        return false;
    }
    const char *role_id = exp_id(t, "DeliveryRole", d->name);
    const char *bucket_id = exp_id(t, "Bucket", d->bucket);
    json_t *lambda_arn = NULL;
    json_t *procs = processors(t, d, index, &lambda_arn, e);
    if (!procs) return false;

    static const char *const s3_write[] = {"s3:AbortMultipartUpload", "s3:GetBucketLocation",
                                           "s3:GetObject", "s3:ListBucket",
                                           "s3:ListBucketMultipartUploads", "s3:PutObject", NULL};
    static const char *const log_read[] = {"kinesis:DescribeStream", "kinesis:GetShardIterator",
                                           "kinesis:GetRecords", "kinesis:ListShards", NULL};
    static const char *const invoke[] = {"lambda:InvokeFunction",
                                         "lambda:GetFunctionConfiguration", NULL};
    json_t *statements = json_array();
    json_array_append_new(statements,
                          exp_allow(s3_write, json_pack("[o, o]", exp_getatt(bucket_id, "Arn"),
                                                        exp_sub("${%s.Arn}/*", bucket_id))));
    json_t *dest = json_pack("{s:o, s:o, s:{s:I, s:I}, s:s}", "BucketARN",
                             exp_getatt(bucket_id, "Arn"), "RoleARN", exp_getatt(role_id, "Arn"),
                             "BufferingHints", "SizeInMBs", (json_int_t)d->buffer_size_mb,
                             "IntervalInSeconds", (json_int_t)d->buffer_interval_seconds,
                             "CompressionFormat", comp);
    if (d->prefix && *d->prefix) json_object_set_new(dest, "Prefix", json_string(d->prefix));
    if (d->error_output_prefix && *d->error_output_prefix)
        json_object_set_new(dest, "ErrorOutputPrefix", json_string(d->error_output_prefix));
    if (json_array_size(procs))
        json_object_set_new(dest, "ProcessingConfiguration",
                            json_pack("{s:b, s:O}", "Enabled", 1, "Processors", procs));
    json_decref(procs);
    if (lambda_arn) json_array_append_new(statements, exp_allow(invoke, lambda_arn));
    if (d->dynamic_partitioning)
        json_object_set_new(dest, "DynamicPartitioningConfiguration",
                            json_pack("{s:b}", "Enabled", 1));
    const char *schema_id = NULL;
    if (parquet) {
        json_t *conv = conversion(t, d, index, role_id, statements, &schema_id, e);
        if (!conv) {
            json_decref(statements);
            json_decref(dest);
            return false;
        }
        json_object_set_new(dest, "DataFormatConversionConfiguration", conv);
    }
    json_t *props = json_pack("{s:s, s:s, s:o}", "DeliveryStreamName", d->name,
                              "DeliveryStreamType",
                              d->source_stream ? "KinesisStreamAsSource" : "DirectPut",
                              "ExtendedS3DestinationConfiguration", dest);
    if (d->source_stream) {
        const char *stream_id = exp_id(t, "Stream", d->source_stream);
        json_array_append_new(statements, exp_allow(log_read, exp_getatt(stream_id, "Arn")));
        json_object_set_new(props, "KinesisStreamSourceConfiguration",
                            json_pack("{s:o, s:o}", "KinesisStreamARN",
                                      exp_getatt(stream_id, "Arn"), "RoleARN",
                                      exp_getatt(role_id, "Arn")));
    }
    exp_role_add(t, role_id, "firehose.amazonaws.com", "delivery-source-processor-destination",
                 statements, NULL);
    const char *id = exp_id(t, "DeliveryStream", d->name);
    exp_resource_add(t, id, "AWS::KinesisFirehose::DeliveryStream", props);
    /* The schema table is named, not referenced: order its creation explicitly. */
    if (schema_id)
        json_object_set_new(json_object_get(t->resources, id), "DependsOn", json_string(schema_id));
    return true;
}
