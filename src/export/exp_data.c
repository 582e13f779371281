/* The change-capture half: the DynamoDB table and its stream, the Kinesis stream, and the
 * EventBridge Pipe that carries the one into the other, with the pipe's role. */
#include "exp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table is on-demand: salespipe has no capacity to translate, and on-demand needs no
 * guess (docs/scale.md has the arithmetic for provisioned capacity). */
static const char TABLE_BILLING_MODE[] = "PAY_PER_REQUEST";
/* A pipe starts RUNNING, as salespipe's pipes do. */
static const char PIPE_DESIRED_STATE[] = "RUNNING";

bool exp_table_add(exp_tpl *t, const sp_cfg_table *tb, sp_err *e)
{
    (void)e;
    json_t *keys = json_pack("[{s:s, s:s}]", "AttributeName", tb->hash_key, "KeyType", "HASH");
    json_t *attrs = json_pack("[{s:s, s:s}]", "AttributeName", tb->hash_key, "AttributeType",
                              tb->hash_key_type ? tb->hash_key_type : "S");
    if (tb->range_key) {
        json_array_append_new(keys, json_pack("{s:s, s:s}", "AttributeName", tb->range_key,
                                              "KeyType", "RANGE"));
        json_array_append_new(attrs, json_pack("{s:s, s:s}", "AttributeName", tb->range_key,
                                               "AttributeType",
                                               tb->range_key_type ? tb->range_key_type : "S"));
    }
    json_t *props = json_pack("{s:s, s:s, s:o, s:o}", "TableName", tb->name, "BillingMode",
                              TABLE_BILLING_MODE, "KeySchema", keys, "AttributeDefinitions",
                              attrs);
    if (tb->stream_view_type)
        json_object_set_new(props, "StreamSpecification",
                            json_pack("{s:s}", "StreamViewType", tb->stream_view_type));
    exp_resource_add(t, exp_id(t, "Table", tb->name), "AWS::DynamoDB::Table", props);
    return true;
}

bool exp_stream_add(exp_tpl *t, const sp_cfg_stream *st, sp_err *e)
{
    (void)e;
    json_t *props = json_pack("{s:s, s:I, s:I, s:{s:s}}", "Name", st->name, "ShardCount",
                              (json_int_t)st->shard_count, "RetentionPeriodHours",
                              (json_int_t)st->retention_hours, "StreamModeDetails",
                              "StreamMode", "PROVISIONED");
    exp_resource_add(t, exp_id(t, "Stream", st->name), "AWS::Kinesis::Stream", props);
    return true;
}

/* The EventBridge patterns, each as the JSON text Pipes takes in FilterCriteria.Filters. */
static json_t *filter_criteria(const json_t *filters)
{
    json_t *list = json_array();
    size_t i;
    json_t *f;
    json_array_foreach(filters, i, f) {
        char *text = json_dumps(f, JSON_COMPACT | JSON_ENCODE_ANY);
        json_array_append_new(list, json_pack("{s:s}", "Pattern", text ? text : "{}"));
        free(text);
    }
    return json_pack("{s:o}", "Filters", list);
}

bool exp_pipe_add(exp_tpl *t, const sp_cfg_pipe *p, size_t index, sp_err *e)
{
    const sp_cfg_table *tb = sp_config_table(t->cfg, p->source_table);
    if (!tb || !tb->stream_view_type || !sp_config_stream(t->cfg, p->target_stream)) {
        exp_fail(e, "pipes", index, "source_table", "needs a configured table with a stream "
                 "and a configured target stream");
        return false;
    }
    const char *table_id = exp_id(t, "Table", tb->name);
    const char *stream_id = exp_id(t, "Stream", p->target_stream);
    const char *role_id = exp_id(t, "PipeRole", p->name);
    /* salespipe's default partition key is the hash key's value; Pipes needs it spelled out
     * as the path to that value in the stream record. */
    char path[600];
    const char *key = p->partition_key_path;
    if (!key || !*key) {
        snprintf(path, sizeof path, "$.dynamodb.Keys.%s.%s", tb->hash_key,
                 tb->hash_key_type ? tb->hash_key_type : "S");
        key = path;
    }
    static const char *const stream_read[] = {"dynamodb:DescribeStream", "dynamodb:GetRecords",
                                              "dynamodb:GetShardIterator",
                                              "dynamodb:ListStreams", NULL};
    static const char *const log_write[] = {"kinesis:PutRecord", "kinesis:PutRecords", NULL};
    json_t *statements = json_array();
    json_array_append_new(statements, exp_allow(stream_read, exp_getatt(table_id, "StreamArn")));
    json_array_append_new(statements, exp_allow(log_write, exp_getatt(stream_id, "Arn")));
    exp_role_add(t, role_id, "pipes.amazonaws.com", "pipe-source-and-target", statements, NULL);

    json_t *ddb = json_pack("{s:s, s:I, s:I}", "StartingPosition", p->starting_position,
                            "BatchSize", (json_int_t)p->batch_size,
                            "MaximumBatchingWindowInSeconds",
                            (json_int_t)p->batching_window_seconds);
    json_t *source = json_pack("{s:o}", "DynamoDBStreamParameters", ddb);
    if (p->filters && json_array_size(p->filters))
        json_object_set_new(source, "FilterCriteria", filter_criteria(p->filters));
    json_t *props = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:{s:{s:s}}}", "Name", p->name,
                              "DesiredState", PIPE_DESIRED_STATE, "RoleArn",
                              exp_getatt(role_id, "Arn"), "Source",
                              exp_getatt(table_id, "StreamArn"), "Target",
                              exp_getatt(stream_id, "Arn"), "SourceParameters", source,
                              "TargetParameters", "KinesisStreamParameters", "PartitionKey", key);
    exp_resource_add(t, exp_id(t, "Pipe", p->name), "AWS::Pipes::Pipe", props);
    return true;
}
