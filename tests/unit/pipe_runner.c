/* Unit tests for the pipe runner (src/pipe/runner.c) against a fake table stream and a fake
 * sharded log that can "crash": it stops accepting appends after a budget, possibly in the
 * middle of a batch. A new runner then resumes from a checkpoint that may lag behind (it is
 * soft), and the log must hold every passing source record exactly once, in order per shard. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pipe/pipe_int.h"

enum { N_SHARDS = 2, N_KEYS = 13, MAX_RECS = 1000 };

/* ---- fake source: records 1..n ---------------------------------------------------------- */

typedef struct fake_src {
    char *json[MAX_RECS];
    _Atomic size_t n;
    bool prompt;  /* wake within ~50 us of a new record, as the table's condition variable */
} fake_src;

static bool src_wait(void *src, const char *table, uint64_t after, int timeout_ms)
{
    (void)table;
    fake_src *s = src;
    if (s->n > after) return true;
    for (int t = 0; s->prompt && t < timeout_ms * 20; t++) {
        usleep(50);
        if (s->n > after) return true;
    }
    usleep((useconds_t)(timeout_ms < 10 ? timeout_ms : 10) * 1000);
    return s->n > after;
}

static long src_read(void *src, const char *table, uint64_t after, size_t max, tbl_stream_fn fn,
                     void *arg, sp_err *e)
{
    (void)table, (void)e;
    fake_src *s = src;
    long got = 0;
    for (uint64_t seq = after + 1; seq <= s->n && (size_t)got < max; seq++) {
        tbl_stream_record r = {seq, 1000, s->json[seq - 1], strlen(s->json[seq - 1])};
        got++;
        if (!fn(arg, &r)) break;
    }
    return got;
}

static uint64_t src_last(void *src, const char *table)
{
    (void)table;
    return ((fake_src *)src)->n;
}

/* ---- fake log --------------------------------------------------------------------------- */

typedef struct fake_rec {
    uint64_t origin_pos;
    char *key;
    char *data;
} fake_rec;

typedef struct fake_dst {
    fake_rec recs[N_SHARDS][MAX_RECS];
    size_t n[N_SHARDS];
    long budget; /* appends accepted before the "crash"; < 0: unlimited */
    size_t puts;
} fake_dst;

static int shard_of(const char *key)
{
    unsigned h = 5381;
    for (const char *c = key; *c; c++) h = h * 33 + (unsigned char)*c;
    return (int)(h % N_SHARDS);
}

static bool dst_put(void *dst, const char *stream, const stm_put *recs, size_t n,
                    stm_put_result *out, size_t *written, sp_err *e)
{
    (void)stream;
    fake_dst *d = dst;
    d->puts++;
    for (size_t i = 0; i < n; i++) {
        if (d->budget == 0) {
            *written = i;
            sp_err_internal(e, "fake log crashed");
            return false;
        }
        if (d->budget > 0) d->budget--;
        int s = shard_of(recs[i].partition_key);
        assert_string_equal(recs[i].origin, "p1");
        d->recs[s][d->n[s]++] = (fake_rec){recs[i].origin_pos, strdup(recs[i].partition_key),
                                            strndup(recs[i].data, recs[i].len)};
        out[i].shard_index = s;
        out[i].seq = d->n[s];
    }
    *written = n;
    return true;
}

static int dst_shard(void *dst, const char *stream, const char *key, sp_err *e)
{
    (void)dst, (void)stream, (void)e;
    return shard_of(key);
}

static uint64_t dst_origin(void *dst, const char *stream, int shard, const char *origin)
{
    (void)stream, (void)origin;
    fake_dst *d = dst;
    return d->n[shard] ? d->recs[shard][d->n[shard] - 1].origin_pos : 0;
}

/* ---- fixture ---------------------------------------------------------------------------- */

typedef struct fixture {
    char dir[64];
    fake_src src;
    fake_dst dst;
    pip_io io;
    pip_counters counters;
} fixture;

static const char *event_name(size_t seq) { return seq % 5 == 0 ? "REMOVE" : seq % 3 ? "MODIFY" : "INSERT"; }

static void add_records(fixture *f, size_t n, bool with_arn)
{
    for (size_t i = 0; i < n; i++) {
        size_t seq = f->src.n + 1;
        char buf[512];
        snprintf(buf, sizeof buf,
                 "{\"eventID\":\"e%zu\",\"eventName\":\"%s\",\"dynamodb\":{\"Keys\":{\"orderid\":"
                 "{\"S\":\"k%zu\"}},\"SequenceNumber\":\"%021zu\"}%s}",
                 seq, event_name(seq), seq % N_KEYS, seq,
                 with_arn ? ",\"eventSourceARN\":\"arn:src\"" : "");
        f->src.json[f->src.n] = strdup(buf);
        f->src.n++;
    }
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/pipe-runner-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->dst.budget = -1;
    f->io = (pip_io){&f->src, src_wait, src_read, src_last, &f->dst, dst_put, dst_shard, dst_origin};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (size_t i = 0; i < f->src.n; i++) free(f->src.json[i]);
    for (int s = 0; s < N_SHARDS; s++)
        for (size_t i = 0; i < f->dst.n[s]; i++) {
            free(f->dst.recs[s][i].key);
            free(f->dst.recs[s][i].data);
        }
    pip_checkpoint_remove(f->dir, "p1");
    rmdir(f->dir);
    free(f);
    return 0;
}

static pip_def *make_def(const char *extra)
{
    char body[1024];
    snprintf(body, sizeof body,
             "{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2024\","
             "\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\","
             "\"RoleArn\":\"arn:aws:iam::000000000000:role/r\"%s}", extra);
    json_t *req = json_loads(body, 0, NULL);
    assert_non_null(req);
    sp_err e = {0};
    pip_def *d = pip_def_parse("p1", req, NULL, &e);
    if (!d) fail_msg("def rejected: %s", e.msg);
    json_decref(req);
    return d;
}

static const char *const FILTER_NO_REMOVE =
    ",\"SourceParameters\":{\"DynamoDBStreamParameters\":{\"BatchSize\":64},"
    "\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{\\\"eventName\\\":[\\\"INSERT\\\",\\\"MODIFY\\\"]}\"}]}}";

static pip_runner *runner_for(fixture *f, const pip_def *d)
{
    sp_err e = {0};
    pip_runner *r = pip_runner_new(d, f->dir, "orderid", &f->io, &f->counters, &e);
    if (!r) fail_msg("runner: %s", e.msg);
    assert_true(pip_runner_start(r, &e));
    return r;
}

static void wait_for(pip_runner *r, uint64_t seq)
{
    for (int i = 0; i < 1000 && pip_runner_checkpoint(r) < seq; i++) usleep(10000);
    assert_true(pip_runner_checkpoint(r) >= seq);
}

/* Every source record the filter passes is in the log exactly once, in seq order per shard,
 * on the shard of its key, with its key as partition key. */
static bool removes_filtered = true;

static void assert_exactly_once(fixture *f, uint64_t first_seq)
{
    int seen[MAX_RECS + 1] = {0};
    for (int s = 0; s < N_SHARDS; s++) {
        uint64_t prev = 0;
        for (size_t i = 0; i < f->dst.n[s]; i++) {
            fake_rec *r = &f->dst.recs[s][i];
            assert_true(r->origin_pos > prev);
            prev = r->origin_pos;
            seen[r->origin_pos]++;
            char key[32];
            snprintf(key, sizeof key, "k%zu", (size_t)(r->origin_pos % N_KEYS));
            assert_string_equal(r->key, key);
            assert_int_equal(shard_of(key), s);
        }
    }
    for (size_t seq = 1; seq <= f->src.n; seq++) {
        int want = seq >= first_seq && (!removes_filtered || strcmp(event_name(seq), "REMOVE"));
        if (seen[seq] != want) fail_msg("record %zu appended %d times, want %d", seq, seen[seq], want);
    }
}

static void test_moves_passing_records_once_in_order(void **state)
{
    fixture *f = *state;
    add_records(f, 300, true);
    pip_def *d = make_def(FILTER_NO_REMOVE);
    pip_runner *r = runner_for(f, d);
    wait_for(r, 300);
    add_records(f, 50, true); /* arriving while it runs */
    wait_for(r, 350);
    pip_runner_destroy(r);
    assert_exactly_once(f, 1);
    assert_int_equal(f->counters.read, 350);
    assert_int_equal(f->counters.filtered, 70);
    assert_int_equal(f->counters.written, 280);
    assert_int_equal(f->counters.failed, 0);
    /* the stop saved an exact checkpoint */
    uint64_t c = 0;
    assert_true(pip_checkpoint_load(f->dir, "p1", &c));
    assert_int_equal(c, 350);
    pip_def_free(d);
}

/* The crash test: the log stops accepting appends after k records (mid-batch for most k),
 * the runner dies, its soft checkpoint is rewound (as if the last saves were lost), and a
 * new runner finishes the job. */
static void crash_and_resume(long k, bool rewind)
{
    fixture *f;
    setup((void **)&f);
    add_records(f, 400, true);
    pip_def *d = make_def(removes_filtered ? FILTER_NO_REMOVE : "");
    f->dst.budget = k;
    pip_runner *r = runner_for(f, d);
    for (int i = 0; i < 300 && f->dst.budget != 0; i++) usleep(10000);
    assert_int_equal(f->dst.budget, 0);
    pip_runner_destroy(r);
    uint64_t c = 0;
    assert_true(pip_checkpoint_load(f->dir, "p1", &c));
    sp_err e = {0};
    if (rewind) assert_true(pip_checkpoint_save(f->dir, "p1", c / 3, &e));
    f->dst.budget = -1;
    r = runner_for(f, d);
    wait_for(r, 400);
    pip_runner_destroy(r);
    assert_exactly_once(f, 1);
    if (rewind && k > 0) assert_true(f->counters.duplicates_skipped > 0);
    pip_def_free(d);
    teardown((void **)&f);
}

static void test_crash_at_any_point_then_resume_is_exactly_once(void **state)
{
    (void)state;
    static const long budgets[] = {0, 1, 37, 64, 100, 199, 319};
    for (size_t i = 0; i < SP_ARRAY_LEN(budgets); i++) {
        crash_and_resume(budgets[i], true);
        crash_and_resume(budgets[i], false);
    }
}

/* The same without filters: the records (which name their eventSourceARN, as the table's
 * do) are read in place for their key (scan_partition_key), not parsed into a tree. */
static void test_crash_at_any_point_then_resume_is_exactly_once_reading_in_place(void **state)
{
    (void)state;
    removes_filtered = false;
    static const long budgets[] = {0, 1, 37, 64, 100, 199, 399};
    for (size_t i = 0; i < SP_ARRAY_LEN(budgets); i++) {
        crash_and_resume(budgets[i], true);
        crash_and_resume(budgets[i], false);
    }
    removes_filtered = true;
}

/* Without filters and with the default key, a record read in place is appended byte for byte
 * with its hash key value; what that path declines (no eventSourceARN, an escaped key, a key
 * that is not a string, not JSON, a duplicate member) gets jansson's treatment, as before. */
static void test_records_read_in_place_or_through_jansson_alike(void **state)
{
    fixture *f = *state;
    static const char *const recs[][2] = { /* record, key ("" = refused) */
        {"{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"k1\"}}},"
         "\"eventSourceARN\":\"arn:src\"}", "k1"},
        {" { \"eventName\" : \"MODIFY\" , \"dynamodb\" : { \"Keys\" : { \"orderid\" : "
         "{ \"S\" : \"caf\xc3\xa9\" } } } , \"eventSourceARN\" : \"arn:src\" } ", "caf\xc3\xa9"},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"k\\u0032\"}}},\"eventSourceARN\":\"a\"}", "k2"},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"N\":\"7\"}}},\"eventSourceARN\":\"a\"}", "7"},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":\"k3\"}},\"eventSourceARN\":\"a\"}", "k3"},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"\"}}},\"eventSourceARN\":\"a\"}", ""},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"N\":7}}},\"eventSourceARN\":\"a\"}", "{\"N\":7}"},
        {"{\"dynamodb\":{\"Keys\":{}},\"eventSourceARN\":\"a\"}", ""},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"k4\"}}},\"eventSourceARN\":\"a\"", ""},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"k5\"}}},\"dynamodb\":{},"
         "\"eventSourceARN\":\"a\"}", ""},
        {"{\"dynamodb\":{\"Keys\":{\"orderid\":{\"S\":\"k6\"}}}}", "k6"},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(recs); i++) f->src.json[f->src.n++] = strdup(recs[i][0]);
    pip_def *d = make_def("");
    pip_runner *r = runner_for(f, d);
    wait_for(r, SP_ARRAY_LEN(recs));
    pip_runner_destroy(r);
    size_t appended = 0, want = 0;
    for (size_t i = 0; i < SP_ARRAY_LEN(recs); i++) {
        if (!recs[i][1][0]) continue;
        want++;
        fake_rec *got = NULL;
        for (int s = 0; s < N_SHARDS; s++)
            for (size_t j = 0; j < f->dst.n[s]; j++)
                if (f->dst.recs[s][j].origin_pos == i + 1) got = &f->dst.recs[s][j];
        if (!got) fail_msg("record %zu not appended", i + 1);
        assert_string_equal(got->key, recs[i][1]);
        if (strstr(recs[i][0], "eventSourceARN")) assert_string_equal(got->data, recs[i][0]);
        else assert_non_null(strstr(got->data, "\"eventSourceARN\":\"arn:aws:dynamodb:"));
        appended++;
    }
    assert_int_equal(appended, want);
    assert_int_equal(f->counters.failed, SP_ARRAY_LEN(recs) - want);
    pip_def_free(d);
}

static void test_latest_starts_after_existing_records(void **state)
{
    fixture *f = *state;
    add_records(f, 40, true);
    pip_def *d = make_def(",\"SourceParameters\":{\"DynamoDBStreamParameters\":"
                          "{\"StartingPosition\":\"LATEST\"},\"FilterCriteria\":{\"Filters\":"
                          "[{\"Pattern\":\"{\\\"eventName\\\":[\\\"INSERT\\\",\\\"MODIFY\\\"]}\"}]}}");
    pip_runner *r = runner_for(f, d);
    add_records(f, 20, true);
    wait_for(r, 60);
    pip_runner_destroy(r);
    assert_exactly_once(f, 41);
    pip_def_free(d);
}

static void test_partition_key_path_and_source_arn_added(void **state)
{
    fixture *f = *state;
    add_records(f, 10, false);
    pip_def *d = make_def(",\"TargetParameters\":{\"KinesisStreamParameters\":"
                          "{\"PartitionKey\":\"$.dynamodb.Keys.orderid.S\"}}");
    pip_runner *r = runner_for(f, d);
    wait_for(r, 10);
    pip_runner_destroy(r);
    size_t total = 0;
    for (int s = 0; s < N_SHARDS; s++)
        for (size_t i = 0; i < f->dst.n[s]; i++, total++) {
            json_t *j = json_loads(f->dst.recs[s][i].data, 0, NULL);
            assert_string_equal(json_string_value(json_object_get(j, "eventSourceARN")),
                                "arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2024");
            json_decref(j);
        }
    assert_int_equal(total, 10);
    pip_def_free(d);
}

static void test_record_without_key_is_counted_failed_not_retried(void **state)
{
    fixture *f = *state;
    add_records(f, 5, true);
    pip_def *d = make_def(",\"TargetParameters\":{\"KinesisStreamParameters\":"
                          "{\"PartitionKey\":\"$.dynamodb.NoSuch\"}}");
    pip_runner *r = runner_for(f, d);
    wait_for(r, 5);
    pip_runner_destroy(r);
    assert_int_equal(f->counters.failed, 5);
    assert_int_equal(f->dst.n[0] + f->dst.n[1], 0);
    pip_def_free(d);
}

static void test_definition_validation(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"{\"Source\":\"arn:aws:sqs:us-east-1:000000000000:q\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\"}", "DynamoDB stream"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:sqs:us-east-1:000000000000:q\",\"RoleArn\":\"r\"}", "Kinesis stream"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\"}", "RoleArn"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"SourceParameters\":{\"DynamoDBStreamParameters\":{\"BatchSize\":10001}}}", "BatchSize"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"SourceParameters\":{\"DynamoDBStreamParameters\":{\"MaximumBatchingWindowInSeconds\":301}}}", "MaximumBatchingWindowInSeconds"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"SourceParameters\":{\"DynamoDBStreamParameters\":{\"StartingPosition\":\"AT_TIMESTAMP\"}}}", "StartingPosition"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"SourceParameters\":{\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{\\\"a\\\":5}\"}]}}}", "Filters[0]"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"TargetParameters\":{\"KinesisStreamParameters\":{\"PartitionKey\":\"$.a..b\"}}}", "PartitionKey"},
        {"{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/x\",\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\",\"Enrichment\":\"arn:aws:lambda:us-east-1:000000000000:function:f\"}", "Enrichment"},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        json_t *req = json_loads(bad[i][0], 0, NULL);
        assert_non_null(req);
        sp_err e = {0};
        pip_def *d = pip_def_parse("p1", req, NULL, &e);
        json_decref(req);
        if (d) fail_msg("accepted: %s", bad[i][0]);
        assert_int_equal(e.status, 400);
        if (!strstr(e.msg, bad[i][1])) fail_msg("message '%s' does not name '%s'", e.msg, bad[i][1]);
    }
    sp_err e = {0};
    json_t *empty = json_object();
    assert_null(pip_def_parse("bad name!", empty, NULL, &e));
    json_decref(empty);
    sp_err_clear(&e);

    /* a definition survives its JSON form (the persisted form) */
    pip_def *d = make_def(FILTER_NO_REMOVE);
    json_t *j = pip_def_to_json(d);
    pip_def *back = pip_def_parse("p1", j, NULL, &e);
    if (!back) fail_msg("round trip rejected: %s", e.msg);
    assert_int_equal(back->batch_size, 64);
    assert_string_equal(back->source_table, "T");
    assert_string_equal(back->target_stream, "S");
    assert_true(json_equal(back->filters, d->filters));
    json_decref(j);
    pip_def_free(back);
    pip_def_free(d);
}

/* ---- dead letters ----------------------------------------------------------------------- */

static const char *const DLQ_PARAMS =
    ",\"SourceParameters\":{\"DynamoDBStreamParameters\":{\"BatchSize\":64,"
    "\"MaximumRetryAttempts\":1,\"DeadLetterConfig\":{\"Arn\":"
    "\"arn:aws:sqs:us-east-1:000000000000:dlq\"}},"
    "\"FilterCriteria\":{\"Filters\":[{\"Pattern\":\"{\\\"eventName\\\":[\\\"INSERT\\\",\\\"MODIFY\\\"]}\"}]}}";

static void remove_dlq(fixture *f)
{
    char path[256];
    for (size_t seq = 1; seq <= f->src.n; seq++) {
        snprintf(path, sizeof path, "%s/dlq/p1/%021zu.json", f->dir, seq);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/dlq/p1", f->dir);
    rmdir(path);
    snprintf(path, sizeof path, "%s/dlq", f->dir);
    rmdir(path);
    pip_dlq_high_remove(f->dir, "p1");
}

/* Each passing record is in the log or in the DLQ, exactly once over both. */
static size_t assert_once_in_log_or_dlq(fixture *f)
{
    int seen[MAX_RECS + 1] = {0};
    for (int s = 0; s < N_SHARDS; s++)
        for (size_t i = 0; i < f->dst.n[s]; i++) seen[f->dst.recs[s][i].origin_pos]++;
    size_t in_dlq = 0;
    for (size_t seq = 1; seq <= f->src.n; seq++) {
        bool dl = pip_dlq_has(f->dir, "p1", seq);
        in_dlq += dl;
        int want = strcmp(event_name(seq), "REMOVE") ? 1 : 0;
        if (seen[seq] + dl != want)
            fail_msg("record %zu: %d in the log, %d in the DLQ, want %d in all", seq, seen[seq],
                     (int)dl, want);
    }
    return in_dlq;
}

static void test_refused_records_go_to_the_dlq_once_across_a_crash(void **state)
{
    fixture *f = *state;
    add_records(f, 200, true);
    f->dst.budget = 37; /* the target takes 37 records, then refuses everything */
    pip_def *d = make_def(DLQ_PARAMS);
    pip_runner *r = runner_for(f, d);
    wait_for(r, 200); /* retries run out: the rest goes to the DLQ, the pipe is not blocked */
    pip_runner_destroy(r);
    size_t in_dlq = assert_once_in_log_or_dlq(f);
    assert_true(in_dlq > 0);
    assert_int_equal(f->counters.dead_lettered, in_dlq);
    /* a crash that loses the checkpoint: the resumed pipe, with a target that works again,
     * must not append what went to the DLQ, nor repeat what is in the log */
    sp_err e = {0};
    assert_true(pip_checkpoint_save(f->dir, "p1", 0, &e));
    f->dst.budget = -1;
    add_records(f, 20, true);
    r = runner_for(f, d);
    wait_for(r, 220);
    pip_runner_destroy(r);
    assert_int_equal(assert_once_in_log_or_dlq(f), in_dlq);
    /* a message says why */
    char path[256];
    size_t seq = 0;
    for (size_t i = 1; i <= f->src.n && !seq; i++)
        if (pip_dlq_has(f->dir, "p1", i)) seq = i;
    snprintf(path, sizeof path, "%s/dlq/p1/%021zu.json", f->dir, seq);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    assert_non_null(strstr(json_string_value(json_object_get(m, "errorMessage")), "fake log crashed"));
    assert_string_equal(json_string_value(json_object_get(m, "queueArn")),
                        "arn:aws:sqs:us-east-1:000000000000:dlq");
    assert_true(json_is_object(json_object_get(m, "record")));
    json_decref(m);
    remove_dlq(f);
    pip_def_free(d);
}

static void test_dlq_and_retry_settings_validated(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "{\"DeadLetterConfig\":{\"Arn\":\"arn:aws:s3:::bucket\"}}",
        "{\"DeadLetterConfig\":{\"Arn\":\"arn:aws:sqs:us-east-1:1:../../etc\"}}",
        "{\"DeadLetterConfig\":{\"Arn\":\"arn:aws:sqs:us-east-1:1:q\",\"Extra\":1}}",
        "{\"DeadLetterConfig\":{\"Arn\":\"arn:aws:sqs:us-east-1:1:\"}}",
        "{\"MaximumRetryAttempts\":-2}",
        "{\"MaximumRetryAttempts\":10001}",
        "{\"MaximumRecordAgeInSeconds\":604801}",
        "{\"OnPartialBatchItemFailure\":\"SPLIT\"}",
        "{\"StartingPosition\":\"AT_TIMESTAMP\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"Source\":\"arn:aws:dynamodb:us-east-1:000000000000:table/T/stream/2024\","
                 "\"Target\":\"arn:aws:kinesis:us-east-1:000000000000:stream/S\",\"RoleArn\":\"r\","
                 "\"SourceParameters\":{\"DynamoDBStreamParameters\":%s}}", bad[i]);
        json_t *req = json_loads(body, 0, NULL);
        assert_non_null(req);
        sp_err e = {0};
        pip_def *d = pip_def_parse("p1", req, NULL, &e);
        if (d) fail_msg("accepted %s", bad[i]);
        assert_int_equal(e.status, 400);
        json_decref(req);
    }
    pip_def *d = make_def(",\"SourceParameters\":{\"DynamoDBStreamParameters\":{"
                          "\"MaximumRetryAttempts\":3,\"MaximumRecordAgeInSeconds\":60,"
                          "\"OnPartialBatchItemFailure\":\"AUTOMATIC_BISECT\","
                          "\"DeadLetterConfig\":{\"Arn\":\"arn:aws:sqs:us-east-1:1:q.fifo\"}}}");
    json_t *j = pip_def_to_json(d);
    sp_err e = {0};
    pip_def *back = pip_def_parse("p1", j, NULL, &e);
    assert_non_null(back);
    assert_int_equal(back->max_retries, 3);
    assert_int_equal(back->max_age_s, 60);
    assert_true(back->bisect);
    assert_string_equal(back->dlq_arn, "arn:aws:sqs:us-east-1:1:q.fifo");
    json_decref(j);
    pip_def_free(back);
    pip_def_free(d);
}

/* A trickle of single commits (one every 200 us, as small table group commits arrive under
 * load) is appended in coalesced batches, not one log append per commit; every record still
 * lands exactly once, and the first record after an idle spell goes without waiting. */
static void test_trickle_of_commits_is_appended_in_few_batches(void **state)
{
    fixture *f = *state;
    f->src.prompt = true;
    pip_def *d = make_def("");
    pip_runner *r = runner_for(f, d);
    add_records(f, 1, true);
    wait_for(r, 1);
    size_t puts_before = f->dst.puts;
    for (int i = 0; i < 200; i++) {
        add_records(f, 1, true);
        usleep(200);
    }
    wait_for(r, 201);
    pip_runner_destroy(r);
    size_t puts = f->dst.puts - puts_before;
    /* ~40 ms of arrivals at one append per 2 ms at most, plus scheduling slack; one append
     * per commit would be ~200 */
    if (puts > 80) fail_msg("%zu appends for 200 single commits", puts);
    assert_int_equal(f->counters.written, 201);
    pip_def_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_moves_passing_records_once_in_order, setup, teardown),
        cmocka_unit_test(test_crash_at_any_point_then_resume_is_exactly_once),
        cmocka_unit_test(test_crash_at_any_point_then_resume_is_exactly_once_reading_in_place),
        cmocka_unit_test_setup_teardown(test_records_read_in_place_or_through_jansson_alike,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_starts_after_existing_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partition_key_path_and_source_arn_added, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_without_key_is_counted_failed_not_retried, setup,
                                        teardown),
        cmocka_unit_test(test_definition_validation),
        cmocka_unit_test_setup_teardown(test_trickle_of_commits_is_appended_in_few_batches, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_refused_records_go_to_the_dlq_once_across_a_crash,
                                        setup, teardown),
        cmocka_unit_test(test_dlq_and_retry_settings_validated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
