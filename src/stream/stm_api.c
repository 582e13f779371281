/* Kinesis_20131202 control-plane operations (streams, shards, retention, resharding) and
 * the operation table. Requests are validated the way Kinesis does it: shape constraints
 * give ValidationException, semantic problems InvalidArgumentException, missing resources
 * ResourceNotFoundException, and nothing changes unless the whole request is good. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stm_api_int.h"

void stm_api_invalid(sp_err *e, const char *value, const char *member, const char *constraint)
{
    if (value)
        sp_err_set(e, 400, "ValidationException",
                   "1 validation error detected: Value '%.200s' at '%s' failed to satisfy "
                   "constraint: %s", value, member, constraint);
    else
        sp_err_set(e, 400, "ValidationException",
                   "1 validation error detected: Value null at '%s' failed to satisfy "
                   "constraint: %s", member, constraint);
}

const char *stm_api_str(json_t *req, const char *key, const char *member, bool required,
                        size_t min, size_t max, sp_err *e)
{
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) {
        if (required) stm_api_invalid(e, NULL, member, "Member must not be null");
        return NULL;
    }
    if (!json_is_string(v)) {
        sp_err_set(e, 400, "SerializationException", "%s must be a string", key);
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    char c[96];
    if (n < min) {
        snprintf(c, sizeof c, "Member must have length greater than or equal to %zu", min);
        stm_api_invalid(e, s, member, c);
        return NULL;
    }
    if (n > max) {
        snprintf(c, sizeof c, "Member must have length less than or equal to %zu", max);
        stm_api_invalid(e, s, member, c);
        return NULL;
    }
    if (strlen(s) != n) {
        sp_err_set(e, 400, "SerializationException", "%s contains a NUL character", key);
        return NULL;
    }
    return s;
}

long long stm_api_int(json_t *req, const char *key, const char *member, bool required,
                      long long min, long long max, long long fallback, sp_err *e)
{
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v)) {
        if (required) stm_api_invalid(e, NULL, member, "Member must not be null");
        return fallback;
    }
    if (!json_is_number(v)) {
        sp_err_set(e, 400, "SerializationException", "%s must be a number", key);
        return fallback;
    }
    double d = json_number_value(v);
    long long x = d >= 9.2e18 ? 9200000000000000000LL : d <= -9.2e18 ? -9200000000000000000LL
                                                                     : (long long)d;
    char c[96], val[32];
    snprintf(val, sizeof val, "%lld", x);
    if (x < min) {
        snprintf(c, sizeof c, "Member must have value greater than or equal to %lld", min);
        stm_api_invalid(e, val, member, c);
        return fallback;
    }
    if (x > max) {
        snprintf(c, sizeof c, "Member must have value less than or equal to %lld", max);
        stm_api_invalid(e, val, member, c);
        return fallback;
    }
    return x;
}

const char *stm_api_stream_name(json_t *req, sp_err *e)
{
    const char *name = stm_api_str(req, "StreamName", "streamName", false, 1,
                                   STM_STREAM_NAME_MAX, e);
    if (sp_err_failed(e)) return NULL;
    if (!name) {
        const char *arn = stm_api_str(req, "StreamARN", "streamARN", false, 1, 2048, e);
        if (sp_err_failed(e)) return NULL;
        const char *slash = arn ? strstr(arn, ":stream/") : NULL;
        if (!arn) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Either StreamName or StreamARN should be provided.");
            return NULL;
        }
        if (!slash) {
            stm_api_invalid(e, arn, "streamARN", "Member must satisfy regular expression "
                            "pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+");
            return NULL;
        }
        name = slash + 8;
    }
    if (!stm_stream_name_valid(name)) {
        stm_api_invalid(e, name, "streamName",
                        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+");
        return NULL;
    }
    return name;
}

void stm_api_arn(const char *name, char *out, size_t size)
{
    snprintf(out, size, "arn:aws:kinesis:%s:%s:stream/%s", STM_REGION, STM_ACCOUNT, name);
}

json_t *stm_api_shard_json(stm_stream *st, stm_shard *sh)
{
    char a[40], b[40], start[STM_SEQ_STR_MAX], end[STM_SEQ_STR_MAX];
    stm_u128_format(sh->hash_start, a);
    stm_u128_format(sh->hash_end, b);
    stm_seq_format(st->created_ms, sh->index, 0, sh->created_ms ? sh->created_ms : st->created_ms,
                   start);
    json_t *range = json_pack("{s:s}", "StartingSequenceNumber", start);
    if (!sh->open) {
        stm_seq_format(st->created_ms, sh->index, stm_shard_last_seq(sh),
                       sh->last_seq_arrival_ms ? sh->last_seq_arrival_ms : sh->created_ms, end);
        json_object_set_new(range, "EndingSequenceNumber", json_string(end));
    }
    json_t *j = json_pack("{s:s, s:{s:s, s:s}, s:o}", "ShardId", sh->id, "HashKeyRange",
                          "StartingHashKey", a, "EndingHashKey", b, "SequenceNumberRange", range);
    if (sh->parent >= 0)
        json_object_set_new(j, "ParentShardId", json_string(st->shards[sh->parent]->id));
    if (sh->adjacent_parent >= 0)
        json_object_set_new(j, "AdjacentParentShardId",
                            json_string(st->shards[sh->adjacent_parent]->id));
    return j;
}

static json_t *stream_mode(const stm_stream *st)
{
    return json_pack("{s:s}", "StreamMode", st->on_demand ? "ON_DEMAND" : "PROVISIONED");
}

bool stm_account_shards_allow(const stm_log *log, long long more, sp_err *e)
{
    long long now = stm_account_open_shards(log);
    if (more <= 0 || now + more <= log->opt.account_shard_limit) return true;
    sp_err_set(e, 400, "LimitExceededException",
               "This request would exceed the shard limit for the account %s in %s. Current "
               "shard count for the account: %lld. Limit: %lld. Number of additional shards "
               "that would have resulted from this request: %lld. Refer to the AWS Service "
               "Limits page (http://docs.aws.amazon.com/general/latest/gr/aws_service_limits.html) "
               "for current limits and how to request higher limits.", STM_ACCOUNT, STM_REGION,
               now, log->opt.account_shard_limit, more);
    return false;
}

/* ---- CreateStream / DeleteStream -------------------------------------------------------- */

static json_t *op_create_stream(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    json_t *mode = json_object_get(req, "StreamModeDetails");
    bool on_demand = false;
    if (mode) {
        const char *m = stm_api_str(mode, "StreamMode", "streamModeDetails.streamMode", true, 1,
                                    32, e);
        if (!m) return NULL;
        if (strcmp(m, "ON_DEMAND") && strcmp(m, "PROVISIONED")) {
            stm_api_invalid(e, m, "streamModeDetails.streamMode",
                            "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]");
            return NULL;
        }
        on_demand = !strcmp(m, "ON_DEMAND");
    }
    long long shards = stm_api_int(req, "ShardCount", "shardCount", !on_demand, 1, 100000,
                                   STM_ON_DEMAND_SHARDS, e);
    if (sp_err_failed(e)) return NULL;
    pthread_rwlock_rdlock(&log->lock);
    sp_err exists = {0};
    bool allowed = stm_stream_find(log, name, &exists) || stm_ghost_find(log, name) ||
                   stm_account_shards_allow(log, shards, e);
    pthread_rwlock_unlock(&log->lock);
    if (!allowed) return NULL;
    if (shards > STM_SHARDS_PER_STREAM_MAX) {
        sp_err_set(e, 400, "LimitExceededException",
                   "This request would exceed the shard limit for the account %s in %s. "
                   "Current shard limit for account %s in %s is %d.", STM_ACCOUNT, STM_REGION,
                   STM_ACCOUNT, STM_REGION, STM_SHARDS_PER_STREAM_MAX);
        return NULL;
    }
    stm_policy pol;
    long long interval;
    stm_policy_default(log, &pol, &interval);
    pthread_rwlock_wrlock(&log->lock);
    sp_err ignore = {0};
    stm_stream *st = NULL;
    if (stm_stream_find(log, name, &ignore) || stm_ghost_find(log, name))
        sp_err_set(e, 400, "ResourceInUseException",
                   "Stream %s under account %s already exists.", name, STM_ACCOUNT);
    else if (stm_account_shards_allow(log, shards, e))
        st = stm_stream_create_locked(log, name, (int)shards, on_demand,
                                      STM_RETENTION_MIN_HOURS, &pol, interval, e);
    if (st) stm_stream_begin(log, st, STM_CREATING);
    pthread_rwlock_unlock(&log->lock);
    return st ? json_object() : NULL;
}

static json_t *op_delete_stream(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    int64_t created = st ? st->created_ms : 0;
    long long retention = st ? st->retention_hours : 0;
    bool on_demand = st && st->on_demand;
    bool ok = st && stm_stream_delete_locked(log, name, e);
    if (ok) stm_ghost_add(log, name, created, retention, on_demand);
    pthread_rwlock_unlock(&log->lock);
    return ok ? json_object() : NULL;
}

/* ---- Describe / List -------------------------------------------------------------------- */

static json_t *op_describe_stream(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    long long limit = stm_api_int(req, "Limit", "limit", false, 1, STM_DESCRIBE_SHARDS_MAX,
                                  STM_DESCRIBE_SHARDS_DEFAULT, e);
    const char *start = stm_api_str(req, "ExclusiveStartShardId", "exclusiveStartShardId",
                                    false, 1, 128, e);
    if (sp_err_failed(e)) return NULL;
    int after = start ? stm_shard_id_parse(start) : -1;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    json_t *out = NULL;
    const stm_ghost *g = st ? NULL : stm_ghost_find(log, name);
    if (g) {
        /* DELETING: the description without shards, as Kinesis shows it */
        sp_err_clear(e);
        char arn[256];
        stm_api_arn(g->name, arn, sizeof arn);
        out = json_pack("{s:{s:s, s:s, s:s, s:{s:s}, s:[], s:b, s:I, s:f, s:[{s:[]}], s:s}}",
                        "StreamDescription", "StreamName", g->name, "StreamARN", arn,
                        "StreamStatus", "DELETING", "StreamModeDetails", "StreamMode",
                        g->on_demand ? "ON_DEMAND" : "PROVISIONED", "Shards", "HasMoreShards",
                        false, "RetentionPeriodHours", (json_int_t)g->retention_hours,
                        "StreamCreationTimestamp", (double)(g->created_ms / 1000),
                        "EnhancedMonitoring", "ShardLevelMetrics", "EncryptionType", "NONE");
    }
    if (st) {
        json_t *shards = json_array();
        bool more = false;
        stm_status status = stm_stream_status(st, sp_clock_wall_ms());
        /* CREATING: no shards yet, as Kinesis shows it */
        for (size_t i = 0; status != STM_CREATING && i < st->n_shards; i++) {
            if ((int)i <= after) continue;
            if ((long long)json_array_size(shards) >= limit) {
                more = true;
                break;
            }
            json_array_append_new(shards, stm_api_shard_json(st, st->shards[i]));
        }
        char arn[256];
        stm_api_arn(st->name, arn, sizeof arn);
        out = json_pack("{s:{s:s, s:s, s:s, s:o, s:o, s:b, s:I, s:f, s:[{s:[]}], s:s}}",
                        "StreamDescription", "StreamName", st->name, "StreamARN", arn,
                        "StreamStatus", stm_status_name(status), "StreamModeDetails",
                        stream_mode(st), "Shards", shards, "HasMoreShards", more, "RetentionPeriodHours",
                        (json_int_t)st->retention_hours, "StreamCreationTimestamp",
                        (double)(st->created_ms / 1000), "EnhancedMonitoring",
                        "ShardLevelMetrics", "EncryptionType", "NONE");
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}

static json_t *op_describe_stream_summary(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    json_t *out = NULL;
    const stm_ghost *g = st ? NULL : stm_ghost_find(log, name);
    if (g) {
        sp_err_clear(e);
        char arn[256];
        stm_api_arn(g->name, arn, sizeof arn);
        out = json_pack("{s:{s:s, s:s, s:s, s:{s:s}, s:I, s:f, s:[{s:[]}], s:s, s:i, s:i}}",
                        "StreamDescriptionSummary", "StreamName", g->name, "StreamARN", arn,
                        "StreamStatus", "DELETING", "StreamModeDetails", "StreamMode",
                        g->on_demand ? "ON_DEMAND" : "PROVISIONED",
                        "RetentionPeriodHours", (json_int_t)g->retention_hours,
                        "StreamCreationTimestamp", (double)(g->created_ms / 1000),
                        "EnhancedMonitoring", "ShardLevelMetrics", "EncryptionType", "NONE",
                        "OpenShardCount", 0, "ConsumerCount", 0);
    }
    if (st) {
        int open = 0;
        stm_status status = stm_stream_status(st, sp_clock_wall_ms());
        for (size_t i = 0; status != STM_CREATING && i < st->n_shards; i++)
            open += st->shards[i]->open;
        char arn[256];
        stm_api_arn(st->name, arn, sizeof arn);
        out = json_pack("{s:{s:s, s:s, s:s, s:o, s:I, s:f, s:[{s:[]}], s:s, s:i, s:i}}",
                        "StreamDescriptionSummary", "StreamName", st->name, "StreamARN", arn,
                        "StreamStatus", stm_status_name(status), "StreamModeDetails",
                        stream_mode(st),
                        "RetentionPeriodHours", (json_int_t)st->retention_hours,
                        "StreamCreationTimestamp", (double)(st->created_ms / 1000),
                        "EnhancedMonitoring", "ShardLevelMetrics", "EncryptionType", "NONE",
                        "OpenShardCount", open, "ConsumerCount", 0);
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((*(stm_stream *const *)a)->name, (*(stm_stream *const *)b)->name);
}

static json_t *op_list_streams(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    long long limit = stm_api_int(req, "Limit", "limit", false, 1, STM_LIST_STREAMS_MAX,
                                  STM_LIST_STREAMS_DEFAULT, e);
    const char *start = stm_api_str(req, "ExclusiveStartStreamName", "exclusiveStartStreamName",
                                    false, 1, STM_STREAM_NAME_MAX, e);
    const char *token = stm_api_str(req, "NextToken", "nextToken", false, 1, 1048576, e);
    if (sp_err_failed(e)) return NULL;
    if (token) start = token;
    pthread_rwlock_rdlock(&log->lock);
    size_t n = log->n_streams;
    stm_stream **sorted = malloc((n ? n : 1) * sizeof *sorted);
    memcpy(sorted, log->streams, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_names);
    json_t *names = json_array(), *summaries = json_array();
    bool more = false;
    for (size_t i = 0; i < n; i++) {
        stm_stream *st = sorted[i];
        if (start && strcmp(st->name, start) <= 0) continue;
        if ((long long)json_array_size(names) >= limit) {
            more = true;
            break;
        }
        char arn[256];
        stm_api_arn(st->name, arn, sizeof arn);
        json_array_append_new(names, json_string(st->name));
        json_array_append_new(summaries, json_pack(
            "{s:s, s:s, s:s, s:o, s:f}", "StreamName", st->name, "StreamARN", arn,
            "StreamStatus", stm_status_name(stm_stream_status(st, sp_clock_wall_ms())),
            "StreamModeDetails", stream_mode(st),
            "StreamCreationTimestamp", (double)(st->created_ms / 1000)));
    }
    pthread_rwlock_unlock(&log->lock);
    free(sorted);
    json_t *out = json_pack("{s:o, s:b, s:o}", "StreamNames", names, "HasMoreStreams", more,
                            "StreamSummaries", summaries);
    size_t k = json_array_size(names);
    if (more && k)
        json_object_set(out, "NextToken", json_array_get(names, k - 1));
    return out;
}

static json_t *op_list_shards(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *token = stm_api_str(req, "NextToken", "nextToken", false, 1, 1048576, e);
    if (sp_err_failed(e)) return NULL;
    const char *name = NULL;
    char tok_stream[STM_STREAM_NAME_MAX + 1] = "";
    int after = -1;
    if (token) {
        if (json_object_get(req, "StreamName") || json_object_get(req, "StreamARN")) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "NextToken and StreamName cannot be provided together.");
            return NULL;
        }
        /* Our tokens are "<shard index>/<stream name>". */
        char *end;
        long v = strtol(token, &end, 10);
        if (end == token || *end != '/' || v < -1 || strlen(end + 1) > STM_STREAM_NAME_MAX ||
            !stm_stream_name_valid(end + 1)) {
            sp_err_set(e, 400, "InvalidArgumentException", "Invalid NextToken.");
            return NULL;
        }
        after = (int)v;
        snprintf(tok_stream, sizeof tok_stream, "%s", end + 1);
        name = tok_stream;
    } else {
        if (!json_is_string(json_object_get(req, "StreamName")) &&
            !json_is_string(json_object_get(req, "StreamARN"))) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Either NextToken or StreamName should be provided.");
            return NULL;
        }
        name = stm_api_stream_name(req, e);
        if (!name) return NULL;
        const char *start = stm_api_str(req, "ExclusiveStartShardId", "exclusiveStartShardId",
                                        false, 1, 128, e);
        if (sp_err_failed(e)) return NULL;
        if (start) after = stm_shard_id_parse(start);
    }
    long long max = stm_api_int(req, "MaxResults", "maxResults", false, 1, STM_LIST_SHARDS_MAX,
                                STM_LIST_SHARDS_DEFAULT, e);
    if (sp_err_failed(e)) return NULL;
    bool only_open = false;
    json_t *filter = json_object_get(req, "ShardFilter");
    if (filter) {
        const char *type = stm_api_str(filter, "Type", "shardFilter.type", true, 1, 64, e);
        if (!type) return NULL;
        only_open = !strcmp(type, "AT_LATEST");
    }
    pthread_rwlock_rdlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    json_t *out = NULL;
    if (st) {
        json_t *shards = json_array();
        int last = after;
        bool more = false;
        for (size_t i = 0; i < st->n_shards; i++) {
            if ((int)i <= after || (only_open && !st->shards[i]->open)) continue;
            if ((long long)json_array_size(shards) >= max) {
                more = true;
                break;
            }
            json_array_append_new(shards, stm_api_shard_json(st, st->shards[i]));
            last = (int)i;
        }
        out = json_pack("{s:o}", "Shards", shards);
        if (more) {
            char tok[200];
            snprintf(tok, sizeof tok, "%d/%s", last, st->name);
            json_object_set_new(out, "NextToken", json_string(tok));
        }
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}

/* ---- retention -------------------------------------------------------------------------- */

static json_t *change_retention(stm_log *log, json_t *req, bool increase, sp_err *e)
{
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    long long hours = stm_api_int(req, "RetentionPeriodHours", "retentionPeriodHours", true,
                                  1, 1000000, 0, e);
    if (sp_err_failed(e)) return NULL;
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    bool ok = st != NULL && stm_stream_require_active(st, e);
    if (ok && hours < STM_RETENTION_MIN_HOURS) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Minimum allowed retention period is %d hours. Requested retention period "
                   "(%lld hours) is too short.", STM_RETENTION_MIN_HOURS, hours);
        ok = false;
    } else if (ok && hours > STM_RETENTION_MAX_HOURS) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Maximum allowed retention period is %d hours. Requested retention period "
                   "(%lld hours) is too long.", STM_RETENTION_MAX_HOURS, hours);
        ok = false;
    } else if (ok && increase && hours < st->retention_hours) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Requested retention period (%lld hours) for stream %s can not be shorter "
                   "than existing retention period (%lld hours). Use DecreaseRetentionPeriod "
                   "API.", hours, name, st->retention_hours);
        ok = false;
    } else if (ok && !increase && hours > st->retention_hours) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Requested retention period (%lld hours) for stream %s can not be longer "
                   "than existing retention period (%lld hours). Use IncreaseRetentionPeriod "
                   "API.", hours, name, st->retention_hours);
        ok = false;
    }
    if (ok) {
        long long old = st->retention_hours;
        st->retention_hours = hours;
        if (!stm_meta_save(log, e)) st->retention_hours = old, ok = false;
    }
    pthread_rwlock_unlock(&log->lock);
    return ok ? json_object() : NULL;
}

static json_t *op_increase_retention(void *ctx, json_t *req, sp_err *e)
{
    return change_retention(ctx, req, true, e);
}

static json_t *op_decrease_retention(void *ctx, json_t *req, sp_err *e)
{
    return change_retention(ctx, req, false, e);
}

/* ---- resharding ------------------------------------------------------------------------- */

/* The shard a resharding request names, resolved as Kinesis does; -2 when the member is
 * missing (e set), -1 when it names no shard ("Could not find shard ..." set). */
static int req_shard(json_t *req, const char *key, const char *member, const char *stream,
                     sp_err *e)
{
    const char *id = stm_api_str(req, key, member, true, 1, 128, e);
    if (!id) return -2;
    int idx = stm_shard_id_resolve(id);
    if (idx < 0)
        sp_err_set(e, 400, "ResourceNotFoundException",
                   "Could not find shard %s in stream %s under account %s.", id, stream,
                   STM_ACCOUNT);
    return idx;
}

/* The stream for a resharding request, and each named shard within it. */
static stm_stream *reshard_stream(stm_log *log, const char *name, const int *idx, int n,
                                  sp_err *e)
{
    stm_stream *st = stm_stream_find(log, name, e);
    if (st && !stm_stream_require_active(st, e)) st = NULL;
    for (int i = 0; st && i < n; i++)
        if (idx[i] >= (int)st->n_shards) {
            char id[STM_SHARD_ID_MAX];
            stm_shard_id_format(idx[i], id);
            sp_err_set(e, 400, "ResourceNotFoundException",
                       "Could not find shard %s in stream %s under account %s.", id, name,
                       STM_ACCOUNT);
            st = NULL;
        }
    return st;
}

static json_t *op_split_shard(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    const char *key = stm_api_str(req, "NewStartingHashKey", "newStartingHashKey", true, 1,
                                  STM_HASH_KEY_DIGITS_MAX, e);
    if (!key) return NULL;
    int idx = req_shard(req, "ShardToSplit", "shardToSplit", name, e);
    if (idx < 0) return NULL;
    stm_u128 h;
    bool too_big = false;
    if (!stm_u128_parse(key, &h)) {
        /* digits past 2^128 - 1 pass the model's pattern: out of every shard's range */
        if (*key < '1' || *key > '9' || strspn(key, "0123456789") != strlen(key)) {
            stm_api_invalid(e, key, "newStartingHashKey",
                            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})");
            return NULL;
        }
        h = STM_U128_MAX;
        too_big = true;
    }
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = reshard_stream(log, name, &idx, 1, e);
    bool ok = st != NULL;
    if (ok) {
        stm_shard *p = st->shards[idx];
        if (too_big || h <= p->hash_start + 1 || h >= p->hash_end) {
            char a[40], b[40];
            stm_u128_format(p->hash_start, a);
            stm_u128_format(p->hash_end, b);
            sp_err_set(e, 400, "InvalidArgumentException",
                       "NewStartingHashKey %s used in SplitShard() on shard %s in stream %s "
                       "under account %s is not both greater than one plus the shard's "
                       "StartingHashKey %s and less than the shard's EndingHashKey %s.", key,
                       p->id, name, STM_ACCOUNT, a, b);
            ok = false;
        }
    }
    ok = ok && stm_account_shards_allow(log, 1, e) && stm_shard_split_locked(log, st, idx, h, e);
    if (ok) stm_stream_begin(log, st, STM_UPDATING);
    pthread_rwlock_unlock(&log->lock);
    return ok ? json_object() : NULL;
}

static json_t *op_merge_shards(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    if (!stm_api_str(req, "ShardToMerge", "shardToMerge", true, 1, 128, e) ||
        !stm_api_str(req, "AdjacentShardToMerge", "adjacentShardToMerge", true, 1, 128, e))
        return NULL;
    int idx[2];
    idx[0] = req_shard(req, "ShardToMerge", "shardToMerge", name, e);
    if (idx[0] < 0) return NULL;
    idx[1] = req_shard(req, "AdjacentShardToMerge", "adjacentShardToMerge", name, e);
    if (idx[1] < 0) return NULL;
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = reshard_stream(log, name, idx, 2, e);
    bool ok = st != NULL;
    if (ok) {
        /* Kinesis wants the pair in hash order: the first one's end meets the second's start */
        stm_shard *x = st->shards[idx[0]], *y = st->shards[idx[1]];
        if (x->hash_end == STM_U128_MAX || x->hash_end + 1 != y->hash_start) {
            sp_err_set(e, 400, "InvalidArgumentException",
                       "Shards %s and %s in stream %s under account %s are not an adjacent "
                       "pair of shards eligible for merging", x->id, y->id, name, STM_ACCOUNT);
            ok = false;
        }
    }
    ok = ok && stm_shard_merge_locked(log, st, idx[0], idx[1], e);
    if (ok) stm_stream_begin(log, st, STM_UPDATING);
    pthread_rwlock_unlock(&log->lock);
    return ok ? json_object() : NULL;
}

/* UpdateShardCount with UNIFORM_SCALING, done as Kinesis does it: splits of the widest open
 * shards (at their middle) or merges of the narrowest adjacent pairs, one at a time, so
 * every new shard has its parent (and adjacent parent) and readers follow the lineage. */
static int open_shards(const stm_stream *st)
{
    int n = 0;
    for (size_t i = 0; i < st->n_shards; i++) n += st->shards[i]->open;
    return n;
}

static bool reshape_step(stm_log *log, stm_stream *st, bool up, sp_err *e)
{
    int best = -1, best_adj = -1;
    stm_u128 best_w = 0;
    for (size_t i = 0; i < st->n_shards; i++) {
        stm_shard *x = st->shards[i];
        if (!x->open) continue;
        if (up) {
            stm_u128 w = x->hash_end - x->hash_start;
            if (w >= 2 && (best < 0 || w > best_w)) best = (int)i, best_w = w;
            continue;
        }
        for (size_t j = 0; j < st->n_shards && x->hash_end != STM_U128_MAX; j++) {
            stm_shard *y = st->shards[j];
            if (!y->open || x->hash_end + 1 != y->hash_start) continue;
            stm_u128 w = y->hash_end - x->hash_start;
            if (best < 0 || w < best_w) best = (int)i, best_adj = (int)j, best_w = w;
        }
    }
    if (best < 0) {
        sp_err_set(e, 400, "InvalidArgumentException",
                   "Stream %s under account %s cannot be rescaled any further.", st->name,
                   STM_ACCOUNT);
        return false;
    }
    if (up) {
        stm_shard *x = st->shards[best];
        return stm_shard_split_locked(log, st, best,
                                      x->hash_start + (x->hash_end - x->hash_start) / 2 + 1, e);
    }
    return stm_shard_merge_locked(log, st, best, best_adj, e);
}

static json_t *op_update_shard_count(void *ctx, json_t *req, sp_err *e)
{
    stm_log *log = ctx;
    const char *name = stm_api_stream_name(req, e);
    if (!name) return NULL;
    long long target = stm_api_int(req, "TargetShardCount", "targetShardCount", true, 1,
                                   100000, 0, e);
    const char *scaling = stm_api_str(req, "ScalingType", "scalingType", true, 1, 64, e);
    if (sp_err_failed(e)) return NULL;
    if (strcmp(scaling, "UNIFORM_SCALING")) {
        stm_api_invalid(e, scaling, "scalingType",
                        "Member must satisfy enum value set: [UNIFORM_SCALING]");
        return NULL;
    }
    pthread_rwlock_wrlock(&log->lock);
    stm_stream *st = stm_stream_find(log, name, e);
    if (st && !stm_stream_require_active(st, e)) st = NULL;
    json_t *out = NULL;
    int current = st ? open_shards(st) : 0;
    if (st && !stm_account_shards_allow(log, target - current, e)) {
        /* e set */
    } else if (st && (target > 2LL * current || 2 * target < current ||
               target > STM_SHARDS_PER_STREAM_MAX)) {
        sp_err_set(e, 400, "LimitExceededException",
                   "UpdateShardCount on stream %s under account %s failed: the target shard "
                   "count %lld is more than double or less than half of the current open "
                   "shard count %d, or above the shard limit %d.", name, STM_ACCOUNT, target,
                   current, STM_SHARDS_PER_STREAM_MAX);
    } else if (st) {
        bool ok = true;
        while (ok && open_shards(st) != target) ok = reshape_step(log, st, target > current, e);
        if (ok) stm_stream_begin(log, st, STM_UPDATING);
        if (ok) {
            char arn[256];
            stm_api_arn(st->name, arn, sizeof arn);
            out = json_pack("{s:s, s:i, s:I, s:s}", "StreamName", st->name,
                            "CurrentShardCount", current, "TargetShardCount",
                            (json_int_t)target, "StreamARN", arn);
        }
    }
    pthread_rwlock_unlock(&log->lock);
    return out;
}

const sp_op stm_kinesis_ops[] = {
    {"CreateStream", op_create_stream},
    {"DeleteStream", op_delete_stream},
    {"DescribeStream", op_describe_stream},
    {"DescribeStreamSummary", op_describe_stream_summary},
    {"ListStreams", op_list_streams},
    {"ListShards", op_list_shards},
    {"PutRecord", stm_op_put_record},
    {"PutRecords", stm_op_put_records},
    {"GetShardIterator", stm_op_get_shard_iterator},
    {"GetRecords", stm_op_get_records},
    {"IncreaseStreamRetentionPeriod", op_increase_retention},
    {"DecreaseStreamRetentionPeriod", op_decrease_retention},
    {"SplitShard", op_split_shard},
    {"MergeShards", op_merge_shards},
    {"UpdateShardCount", op_update_shard_count},
    {"AddTagsToStream", stm_op_add_tags},
    {"ListTagsForStream", stm_op_list_tags},
    {"RemoveTagsFromStream", stm_op_remove_tags},
    {NULL, NULL},
};
