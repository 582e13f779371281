/* Pipe definitions: parsing and validating CreatePipe/UpdatePipe bodies (and the persisted
 * and configured forms) into pip_def, and back into the DescribePipe shape.
 *
 * Only what salespipe runs is accepted: a DynamoDB stream source, a Kinesis stream target,
 * FilterCriteria, DynamoDBStreamParameters and KinesisStreamParameters. Anything else (an
 * enrichment, an SQS source, an input template) is refused with a ValidationException rather
 * than silently ignored.
 */
#include "pipe_int.h"

#include <stdlib.h>
#include <string.h>

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

bool pip_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PIP_NAME_MAX) return false;
    for (const char *c = name; *c; c++)
        if (!strchr(".-_", *c) && !(*c >= 'A' && *c <= 'Z') && !(*c >= 'a' && *c <= 'z') &&
            !(*c >= '0' && *c <= '9'))
            return false;
    return true;
}

void pip_def_arn(const pip_def *d, char *out, size_t size)
{
    snprintf(out, size, "arn:aws:pipes:%s:%s:pipe/%s", PIP_REGION, PIP_ACCOUNT, d->name);
}

/* The resource part of "arn:<partition>:<service>:<region>:<account>:<resource>" when the
 * service matches; NULL otherwise. Borrowed from arn. */
static const char *arn_resource(const char *arn, const char *service)
{
    if (strncmp(arn, "arn:aws", 7)) return NULL;
    const char *p = strchr(arn + 4, ':');
    if (!p) return NULL;
    size_t n = strlen(service);
    if (strncmp(p + 1, service, n) || p[1 + n] != ':') return NULL;
    p += 1 + n + 1;                    /* region */
    if (!(p = strchr(p, ':'))) return NULL;
    if (!(p = strchr(p + 1, ':'))) return NULL; /* account */
    return p + 1;
}

/* "table/<name>/stream/<label>" -> name */
static char *source_table_of(const char *arn, sp_err *e)
{
    const char *res = arn_resource(arn, "dynamodb");
    const char *slash = res && !strncmp(res, "table/", 6) ? strchr(res + 6, '/') : NULL;
    if (!slash || strncmp(slash, "/stream/", 8) || !slash[8] || slash == res + 6) {
        sp_err_invalid(e, "Source '%s' is not a DynamoDB stream ARN "
                          "(arn:aws:dynamodb:<region>:<account>:table/<table>/stream/<label>); "
                          "salespipe pipes read DynamoDB streams only", arn);
        return NULL;
    }
    return strndup(res + 6, (size_t)(slash - (res + 6)));
}

/* "stream/<name>" -> name */
static char *target_stream_of(const char *arn, sp_err *e)
{
    const char *res = arn_resource(arn, "kinesis");
    if (!res || strncmp(res, "stream/", 7) || !res[7] || strchr(res + 7, '/')) {
        sp_err_invalid(e, "Target '%s' is not a Kinesis stream ARN "
                          "(arn:aws:kinesis:<region>:<account>:stream/<name>); salespipe pipes "
                          "write Kinesis streams only", arn);
        return NULL;
    }
    return strdup(res + 7);
}

/* Refuses members of obj other than the allowed ones (NULL-terminated list). */
static bool only_members(const json_t *obj, const char *where, const char *const *allowed,
                         sp_err *e)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a && !ok; a++) ok = !strcmp(*a, key);
        if (!ok && !json_is_null(v)) {
            sp_err_invalid(e, "%s.%s is not supported by salespipe", where, key);
            return false;
        }
    }
    return true;
}

static bool parse_filters(pip_def *d, const json_t *fc, sp_err *e)
{
    static const char *const fc_members[] = {"Filters", NULL};
    if (!only_members(fc, "SourceParameters.FilterCriteria", fc_members, e)) return false;
    json_t *filters = sp_json_array(fc, "Filters", false, e);
    if (sp_err_failed(e)) return false;
    json_t *patterns = json_array();
    for (size_t i = 0; filters && i < json_array_size(filters); i++) {
        json_t *f = json_array_get(filters, i);
        const char *p = json_is_object(f) ? sp_json_str(f, "Pattern", false, e) : NULL;
        if (sp_err_failed(e) || !json_is_object(f)) {
            if (!sp_err_failed(e)) sp_err_invalid(e, "FilterCriteria.Filters[%zu] must be an object", i);
            json_decref(patterns);
            return false;
        }
        if (p) json_array_append_new(patterns, json_string(p));
    }
    pip_filter *check = pip_filter_new(patterns, e);
    if (!check) {
        json_decref(patterns);
        return false;
    }
    pip_filter_destroy(check);
    json_decref(d->filters);
    d->filters = json_array_size(patterns) ? patterns : NULL;
    if (!d->filters) json_decref(patterns);
    return true;
}

/* "arn:aws:sqs:<region>:<account>:<queue>", queue 1-80 of [A-Za-z0-9_-] (+ ".fifo"). */
static bool sqs_arn_valid(const char *arn)
{
    const char *q = arn_resource(arn, "sqs");
    if (!q) return false;
    size_t n = strlen(q);
    if (n > 5 && !strcmp(q + n - 5, ".fifo")) n -= 5;
    if (n < 1 || n > PIP_SQS_QUEUE_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr("_-", q[i]) && !(q[i] >= 'A' && q[i] <= 'Z') && !(q[i] >= 'a' && q[i] <= 'z') &&
            !(q[i] >= '0' && q[i] <= '9'))
            return false;
    return true;
}

/* DeadLetterConfig, MaximumRetryAttempts, MaximumRecordAgeInSeconds and
 * OnPartialBatchItemFailure of DynamoDBStreamParameters (create and update alike). */
static bool parse_failure_handling(pip_def *d, const json_t *ddb, sp_err *e)
{
    json_t *dlc = sp_json_object(ddb, "DeadLetterConfig", false, e);
    long long retries = sp_json_int(ddb, "MaximumRetryAttempts", false, d->max_retries, e);
    long long age = sp_json_int(ddb, "MaximumRecordAgeInSeconds", false, d->max_age_s, e);
    const char *bisect = sp_json_str(ddb, "OnPartialBatchItemFailure", false, e);
    if (sp_err_failed(e)) return false;
    if (retries < -1 || retries > PIP_RETRIES_MAX) {
        sp_err_invalid(e, "MaximumRetryAttempts %lld is not between -1 and %d", retries,
                       PIP_RETRIES_MAX);
        return false;
    }
    if (age < -1 || age > PIP_RECORD_AGE_MAX_S) {
        sp_err_invalid(e, "MaximumRecordAgeInSeconds %lld is not between -1 and %d", age,
                       PIP_RECORD_AGE_MAX_S);
        return false;
    }
    if (bisect && *bisect && strcmp(bisect, "AUTOMATIC_BISECT")) {
        sp_err_invalid(e, "OnPartialBatchItemFailure '%.40s' is not AUTOMATIC_BISECT", bisect);
        return false;
    }
    if (dlc) {
        static const char *const dlc_members[] = {"Arn", NULL};
        if (!only_members(dlc, "DynamoDBStreamParameters.DeadLetterConfig", dlc_members, e))
            return false;
        const char *arn = sp_json_str(dlc, "Arn", false, e);
        if (sp_err_failed(e)) return false;
        if (arn && *arn && (strlen(arn) > PIP_ARN_MAX || !sqs_arn_valid(arn))) {
            sp_err_invalid(e, "DeadLetterConfig.Arn '%.200s' is not an SQS queue ARN "
                              "(arn:aws:sqs:<region>:<account>:<queue>); salespipe keeps a "
                              "pipe's dead-letter queue as local files in its data directory",
                           arn);
            return false;
        }
        free(d->dlq_arn);
        d->dlq_arn = arn && *arn ? strdup(arn) : NULL; /* {} or "" removes it */
    }
    d->max_retries = (long)retries;
    d->max_age_s = (long)age;
    if (bisect) d->bisect = *bisect != '\0';
    return true;
}

static bool parse_source_params(pip_def *d, const json_t *sp, bool create, sp_err *e)
{
    static const char *const sp_members[] = {"FilterCriteria", "DynamoDBStreamParameters", NULL};
    static const char *const ddb_members[] = {"StartingPosition", "BatchSize",
                                              "MaximumBatchingWindowInSeconds",
                                              "DeadLetterConfig", "MaximumRetryAttempts",
                                              "MaximumRecordAgeInSeconds",
                                              "OnPartialBatchItemFailure", NULL};
    if (!only_members(sp, "SourceParameters", sp_members, e)) return false;
    json_t *fc = sp_json_object(sp, "FilterCriteria", false, e);
    if (sp_err_failed(e) || (fc && !parse_filters(d, fc, e))) return false;
    json_t *ddb = sp_json_object(sp, "DynamoDBStreamParameters", false, e);
    if (sp_err_failed(e)) return false;
    if (!ddb) return true;
    if (!only_members(ddb, "SourceParameters.DynamoDBStreamParameters", ddb_members, e))
        return false;
    const char *pos = sp_json_str(ddb, "StartingPosition", false, e);
    if (pos) {
        if (!create) {
            sp_err_invalid(e, "StartingPosition cannot be changed by UpdatePipe");
            return false;
        }
        if (strcmp(pos, "TRIM_HORIZON") && strcmp(pos, "LATEST")) {
            /* EventBridge Pipes' DynamoDBStreamStartPosition has no AT_TIMESTAMP (that is
             * Kinesis sources' only), so it is refused here as Pipes refuses it */
            sp_err_invalid(e, "StartingPosition '%.40s' is not TRIM_HORIZON or LATEST, the "
                              "positions of a DynamoDB stream source", pos);
            return false;
        }
        d->latest = !strcmp(pos, "LATEST");
    }
    long long batch = sp_json_int(ddb, "BatchSize", false, d->batch_size, e);
    long long window = sp_json_int(ddb, "MaximumBatchingWindowInSeconds", false, d->window_s, e);
    if (sp_err_failed(e)) return false;
    if (batch < PIP_BATCH_SIZE_MIN || batch > PIP_BATCH_SIZE_MAX) {
        sp_err_invalid(e, "BatchSize %lld is not between %d and %d", batch, PIP_BATCH_SIZE_MIN,
                       PIP_BATCH_SIZE_MAX);
        return false;
    }
    if (window < 0 || window > PIP_WINDOW_MAX_S) {
        sp_err_invalid(e, "MaximumBatchingWindowInSeconds %lld is not between 0 and %d", window,
                       PIP_WINDOW_MAX_S);
        return false;
    }
    d->batch_size = (long)batch;
    d->window_s = (long)window;
    return parse_failure_handling(d, ddb, e);
}

static bool set_partition_key(pip_def *d, const char *key, sp_err *e)
{
    if (key && !*key) key = NULL;
    if (key && strlen(key) > PIP_PARTITION_KEY_MAX) {
        sp_err_invalid(e, "PartitionKey is longer than %d characters", PIP_PARTITION_KEY_MAX);
        return false;
    }
    if (key && key[0] == '$' && !pip_path_check(key, e)) return false;
    free(d->partition_key);
    d->partition_key = dup_or_null(key);
    return true;
}

static bool parse_target_params(pip_def *d, const json_t *tp, sp_err *e)
{
    static const char *const tp_members[] = {"KinesisStreamParameters", NULL};
    static const char *const k_members[] = {"PartitionKey", NULL};
    if (!only_members(tp, "TargetParameters", tp_members, e)) return false;
    json_t *k = sp_json_object(tp, "KinesisStreamParameters", false, e);
    if (sp_err_failed(e)) return false;
    if (!k) return true;
    if (!only_members(k, "TargetParameters.KinesisStreamParameters", k_members, e)) return false;
    const char *key = sp_json_str(k, "PartitionKey", true, e);
    return !sp_err_failed(e) && set_partition_key(d, key, e);
}

static bool set_arn(char **arn, char **name, const char *value, char *(*parse)(const char *, sp_err *),
                    sp_err *e)
{
    if (strlen(value) > PIP_ARN_MAX) {
        sp_err_invalid(e, "ARN is longer than %d characters", PIP_ARN_MAX);
        return false;
    }
    char *n = parse(value, e);
    if (!n) return false;
    free(*arn);
    free(*name);
    *arn = strdup(value);
    *name = n;
    return true;
}

pip_def *pip_def_parse(const char *name, const json_t *req, const pip_def *base, sp_err *e)
{
    static const char *const members[] = {"Name", "Description", "DesiredState", "Source",
                                          "SourceParameters", "Target", "TargetParameters",
                                          "RoleArn", "Tags", "CreationTime", "LastModifiedTime",
                                          "Arn", "CurrentState", NULL};
    if (!pip_name_valid(name)) {
        sp_err_invalid(e, "Name '%.80s' must be 1-%d characters of A-Z a-z 0-9 . - _", name,
                       PIP_NAME_MAX);
        return NULL;
    }
    if (!json_is_object(req)) {
        sp_err_invalid(e, "request body must be a JSON object");
        return NULL;
    }
    if (!only_members(req, "Pipe", members, e)) return NULL;
    pip_def *d;
    if (base) {
        d = pip_def_clone(base);
    } else {
        d = calloc(1, sizeof *d);
        d->name = strdup(name);
        d->running = true;
        d->batch_size = PIP_BATCH_SIZE_DEFAULT;
        d->max_retries = -1;
        d->max_age_s = -1;
    }
    const char *desc = sp_json_str(req, "Description", false, e);
    const char *state = sp_json_str(req, "DesiredState", false, e);
    const char *source = sp_json_str(req, "Source", !base, e);
    const char *target = sp_json_str(req, "Target", !base, e);
    const char *role = sp_json_str(req, "RoleArn", !base, e);
    json_t *sp = sp_json_object(req, "SourceParameters", false, e);
    json_t *tp = sp_json_object(req, "TargetParameters", false, e);
    json_t *tags = sp_json_object(req, "Tags", false, e);
    if (sp_err_failed(e)) goto bad;
    if (desc && strlen(desc) > PIP_DESCRIPTION_MAX) {
        sp_err_invalid(e, "Description is longer than %d characters", PIP_DESCRIPTION_MAX);
        goto bad;
    }
    if (state && strcmp(state, "RUNNING") && strcmp(state, "STOPPED")) {
        sp_err_invalid(e, "DesiredState '%s' is not RUNNING or STOPPED", state);
        goto bad;
    }
    if (base && source && strcmp(source, base->source_arn)) {
        sp_err_invalid(e, "Source cannot be changed; delete and create the pipe");
        goto bad;
    }
    if (!base && !set_arn(&d->source_arn, &d->source_table, source, source_table_of, e)) goto bad;
    if (target && !set_arn(&d->target_arn, &d->target_stream, target, target_stream_of, e))
        goto bad;
    if (sp && !parse_source_params(d, sp, !base, e)) goto bad;
    if (tp && !parse_target_params(d, tp, e)) goto bad;
    if (desc) {
        free(d->description);
        d->description = strdup(desc);
    }
    if (state) d->running = !strcmp(state, "RUNNING");
    if (role) {
        free(d->role_arn);
        d->role_arn = strdup(role);
    }
    if (tags) {
        json_decref(d->tags);
        d->tags = json_deep_copy(tags);
    }
    return d;
bad:
    pip_def_free(d);
    return NULL;
}

pip_def *pip_def_from_config(const sp_cfg_pipe *cfg, sp_err *e)
{
    pip_def *d = calloc(1, sizeof *d);
    char arn[PIP_ARN_MAX + 1];
    d->name = strdup(cfg->name);
    if (!pip_remote_apply(d, cfg)) {
        d->source_table = strdup(cfg->source_table);
        snprintf(arn, sizeof arn, "arn:aws:dynamodb:%s:%s:table/%s/stream/latest", PIP_REGION,
                 PIP_ACCOUNT, cfg->source_table);
        d->source_arn = strdup(arn);
    }
    if (!d->target_stream) {
        d->target_stream = strdup(cfg->target_stream);
        snprintf(arn, sizeof arn, "arn:aws:kinesis:%s:%s:stream/%s", PIP_REGION, PIP_ACCOUNT,
                 cfg->target_stream);
        d->target_arn = strdup(arn);
    }
    snprintf(arn, sizeof arn, "arn:aws:iam::%s:role/salespipe", PIP_ACCOUNT);
    d->role_arn = strdup(arn);
    d->running = true;
    d->latest = cfg->starting_position && !strcmp(cfg->starting_position, "LATEST");
    d->batch_size = (long)cfg->batch_size;
    d->window_s = (long)cfg->batching_window_seconds;
    d->max_retries = -1;
    d->max_age_s = -1;
    d->created_ms = d->modified_ms = sp_clock_wall_ms();
    if (!pip_name_valid(d->name)) {
        sp_err_invalid(e, "pipe name '%s' must be 1-%d characters of A-Z a-z 0-9 . - _", d->name,
                       PIP_NAME_MAX);
        goto bad;
    }
    if (!set_partition_key(d, cfg->partition_key_path, e)) goto bad;
    if (cfg->filters && json_array_size(cfg->filters)) {
        pip_filter *check = pip_filter_new(cfg->filters, e);
        if (!check) goto bad;
        pip_filter_destroy(check);
        d->filters = json_array();
        for (size_t i = 0; i < json_array_size(cfg->filters); i++) {
            json_t *p = json_array_get(cfg->filters, i);
            if (json_is_string(p)) {
                json_array_append(d->filters, p);
            } else {
                char *s = json_dumps(p, JSON_COMPACT);
                json_array_append_new(d->filters, json_string(s));
                free(s);
            }
        }
    }
    return d;
bad:
    sp_err_wrap(e, cfg->name);
    pip_def_free(d);
    return NULL;
}

json_t *pip_def_to_json(const pip_def *d)
{
    char arn[PIP_ARN_MAX + 1];
    pip_def_arn(d, arn, sizeof arn);
    json_t *ddb = json_pack("{s:s, s:i, s:i}", "StartingPosition",
                            d->latest ? "LATEST" : "TRIM_HORIZON", "BatchSize", (json_int_t)d->batch_size,
                            "MaximumBatchingWindowInSeconds", (json_int_t)d->window_s);
    if (d->dlq_arn)
        json_object_set_new(ddb, "DeadLetterConfig", json_pack("{s:s}", "Arn", d->dlq_arn));
    json_object_set_new(ddb, "MaximumRetryAttempts", json_integer(d->max_retries));
    json_object_set_new(ddb, "MaximumRecordAgeInSeconds", json_integer(d->max_age_s));
    if (d->bisect)
        json_object_set_new(ddb, "OnPartialBatchItemFailure", json_string("AUTOMATIC_BISECT"));
    json_t *sp = json_pack("{s:o}", "DynamoDBStreamParameters", ddb);
    if (d->filters) {
        json_t *filters = json_array();
        for (size_t i = 0; i < json_array_size(d->filters); i++)
            json_array_append_new(filters, json_pack("{s:O}", "Pattern", json_array_get(d->filters, i)));
        json_object_set_new(sp, "FilterCriteria", json_pack("{s:o}", "Filters", filters));
    }
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:f, s:f}", "Arn", arn, "Name",
                          d->name, "DesiredState", d->running ? "RUNNING" : "STOPPED", "Source",
                          d->source_arn, "SourceParameters", sp, "Target", d->target_arn,
                          "RoleArn", d->role_arn ? d->role_arn : "", "CreationTime",
                          d->created_ms / 1000.0, "LastModifiedTime", d->modified_ms / 1000.0);
    if (d->partition_key)
        json_object_set_new(j, "TargetParameters",
                            json_pack("{s:{s:s}}", "KinesisStreamParameters", "PartitionKey",
                                      d->partition_key));
    if (d->description) json_object_set_new(j, "Description", json_string(d->description));
    if (d->tags) json_object_set(j, "Tags", d->tags);
    return j;
}

pip_def *pip_def_clone(const pip_def *s)
{
    pip_def *d = malloc(sizeof *d);
    *d = *s;
    d->name = strdup(s->name);
    d->description = dup_or_null(s->description);
    d->source_arn = dup_or_null(s->source_arn);
    d->source_table = dup_or_null(s->source_table);
    d->target_arn = dup_or_null(s->target_arn);
    d->target_stream = dup_or_null(s->target_stream);
    d->role_arn = dup_or_null(s->role_arn);
    d->partition_key = dup_or_null(s->partition_key);
    d->dlq_arn = dup_or_null(s->dlq_arn);
    d->filters = s->filters ? json_deep_copy(s->filters) : NULL;
    d->tags = s->tags ? json_deep_copy(s->tags) : NULL;
    d->remote_source = s->remote_source ? json_deep_copy(s->remote_source) : NULL;
    d->remote_target = s->remote_target ? json_deep_copy(s->remote_target) : NULL;
    return d;
}

void pip_def_free(pip_def *d)
{
    if (!d) return;
    free(d->name);
    free(d->description);
    free(d->source_arn);
    free(d->source_table);
    free(d->target_arn);
    free(d->target_stream);
    free(d->role_arn);
    free(d->partition_key);
    free(d->dlq_arn);
    json_decref(d->filters);
    json_decref(d->tags);
    json_decref(d->remote_source);
    json_decref(d->remote_target);
    free(d);
}
