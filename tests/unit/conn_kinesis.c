/* The pure pieces of the Kinesis and DynamoDB Streams connectors: how PutRecords requests are
 * cut (limits, no key twice), how the records of an interrupted batch are matched against what
 * the stream holds after a crash, sequence numbers compared as numbers, the position anchors
 * that map a stage's uint64 positions to remote sequence numbers (and their file form), and
 * the parsers of ListShards / GetRecords answers refusing what is malformed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "conn/conn.h"

static void put_requests_stop_at_a_repeated_key_500_records_or_5_mib(void **state)
{
    (void)state;
    stm_put recs[600];
    char keys[600][16];
    for (int i = 0; i < 600; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        recs[i] = (stm_put){.partition_key = keys[i], .data = "x", .len = 1};
    }
    assert_int_equal(conn_kin_put_chunk(recs, 600), 500);
    assert_int_equal(conn_kin_put_chunk(recs, 3), 3);
    assert_int_equal(conn_kin_put_chunk(recs, 0), 0);
    recs[4].partition_key = keys[1];         /* the 5th record changes key k1 again */
    assert_int_equal(conn_kin_put_chunk(recs, 600), 4);
    assert_int_equal(conn_kin_put_chunk(recs + 4, 596), 500);   /* the next request */
    static char big[1024 * 1024];
    for (int i = 0; i < 10; i++) recs[i] = (stm_put){.partition_key = keys[i], .data = big,
                                                     .len = sizeof big - 16};
    assert_int_equal(conn_kin_put_chunk(recs, 10), 5);   /* 5 x (1 MiB - 16 + key) <= 5 MiB */
    recs[0].len = 6 * 1024 * 1024;                        /* alone, however large */
    assert_int_equal(conn_kin_put_chunk(recs, 10), 1);
}

static void landed_records_are_matched_by_key_and_data_once_each(void **state)
{
    (void)state;
    conn_kin_landed *l = conn_kin_landed_new();
    conn_kin_landed_add(l, "k1", "{\"a\":1}", 7, 0, "100");
    conn_kin_landed_add(l, "k2", "{\"a\":1}", 7, 1, "200");
    conn_kin_landed_add(l, "k1", "{\"a\":1}", 7, 0, "300");   /* the same record twice */
    assert_int_equal(conn_kin_landed_count(l), 3);
    int shard;
    char seq[CONN_KIN_SEQ_MAX + 1];
    assert_false(conn_kin_landed_take(l, "k3", "{\"a\":1}", 7, &shard, seq));   /* other key */
    assert_false(conn_kin_landed_take(l, "k1", "{\"a\":2}", 7, &shard, seq));   /* other data */
    assert_false(conn_kin_landed_take(l, "k1", "{\"a\":1", 6, &shard, seq));    /* a prefix */
    /* key and data are not confused across their boundary */
    assert_false(conn_kin_landed_take(l, "k", "1{\"a\":1}", 8, &shard, seq));
    assert_true(conn_kin_landed_take(l, "k2", "{\"a\":1}", 7, &shard, seq));
    assert_int_equal(shard, 1);
    assert_string_equal(seq, "200");
    assert_false(conn_kin_landed_take(l, "k2", "{\"a\":1}", 7, &shard, seq));   /* taken */
    assert_true(conn_kin_landed_take(l, "k1", "{\"a\":1}", 7, &shard, seq));
    assert_string_equal(seq, "100");                                           /* oldest first */
    assert_true(conn_kin_landed_take(l, "k1", "{\"a\":1}", 7, &shard, seq));
    assert_string_equal(seq, "300");
    assert_int_equal(conn_kin_landed_count(l), 0);
    assert_false(conn_kin_landed_take(NULL, "k1", "x", 1, &shard, seq));
    conn_kin_landed_destroy(l);
}

static void sequence_numbers_compare_as_numbers_of_any_length(void **state)
{
    (void)state;
    const char *a = "49590338271490256608559692538361571095921575989136588802";
    const char *b = "49590338271490256608559692538361571095921575989136588803";
    assert_int_equal(conn_kin_seq_cmp(a, b), -1);
    assert_int_equal(conn_kin_seq_cmp(b, a), 1);
    assert_int_equal(conn_kin_seq_cmp(a, a), 0);
    assert_int_equal(conn_kin_seq_cmp("9", "10"), -1);      /* not as strings */
    assert_int_equal(conn_kin_seq_cmp("0010", "10"), 0);
    assert_int_equal(conn_kin_seq_cmp("", "1"), -1);
    assert_true(conn_kin_seq_valid(a));
    assert_false(conn_kin_seq_valid(""));
    assert_false(conn_kin_seq_valid("12a"));
    assert_false(conn_kin_seq_valid("-1"));
    char longer[CONN_KIN_SEQ_MAX + 2];
    memset(longer, '1', sizeof longer - 1);
    longer[sizeof longer - 1] = 0;
    assert_false(conn_kin_seq_valid(longer));
}

static void hash_keys_route_like_kinesis(void **state)
{
    (void)state;
    unsigned __int128 v;
    assert_true(conn_kin_u128_parse("340282366920938463463374607431768211455", &v));
    assert_true(v == ~(unsigned __int128)0);
    assert_false(conn_kin_u128_parse("340282366920938463463374607431768211456", &v)); /* 2^128 */
    assert_false(conn_kin_u128_parse("", &v));
    /* MD5("a") = 0cc175b9c0f1b6a831c399e269772661 */
    unsigned __int128 h = conn_kin_hash_key("a");
    assert_true((uint64_t)(h >> 64) == 0x0cc175b9c0f1b6a8ull);
    assert_true((uint64_t)h == 0x31c399e269772661ull);
}

static void positions_resume_from_the_anchor_at_or_below_them(void **state)
{
    (void)state;
    conn_seq_map m = {0};
    assert_null(conn_seq_map_floor(&m, 10));             /* nothing: count from the start */
    conn_seq_map_add(&m, 10, "1000");
    conn_seq_map_add(&m, 30, "3000");
    conn_seq_map_add(&m, 20, "2000");                     /* out of order: kept sorted */
    conn_seq_map_add(&m, 20, "2001");                     /* same position: replaced */
    assert_int_equal(m.n, 3);
    assert_null(conn_seq_map_floor(&m, 9));
    assert_int_equal(conn_seq_map_floor(&m, 10)->pos, 10);
    assert_string_equal(conn_seq_map_floor(&m, 29)->seq, "2001");
    assert_int_equal(conn_seq_map_floor(&m, 1000)->pos, 30);
    /* a checkpoint at 25: positions below are never asked for; 20 still serves 25 */
    conn_seq_map_prune(&m, 25);
    assert_int_equal(m.n, 2);
    assert_int_equal(conn_seq_map_floor(&m, 25)->pos, 20);
    conn_seq_map_prune(&m, 5);                            /* below everything: nothing goes */
    assert_int_equal(m.n, 2);
    /* the file form round-trips */
    json_t *j = conn_seq_map_to_json(&m);
    conn_seq_map back = {0};
    sp_err e = {0};
    assert_true(conn_seq_map_from_json(&back, j, &e));
    assert_int_equal(back.n, 2);
    assert_int_equal(back.v[1].pos, 30);
    assert_string_equal(back.v[1].seq, "3000");
    json_decref(j);
    /* and a damaged one is refused whole */
    const char *bad[] = {"{}", "[[1]]", "[[0, \"1\"]]", "[[-3, \"1\"]]", "[[1, 2]]",
                         "[[1, \"12x\"]]", "[[1, \"\"]]", "[[1, \"1\"], 7]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *x = json_loads(bad[i], JSON_DECODE_ANY, NULL);
        e = (sp_err){0};
        assert_false(conn_seq_map_from_json(&back, x, &e));
        assert_int_equal(back.n, 0);
        assert_int_equal(e.status, 400);
        json_decref(x);
    }
    conn_seq_map_clear(&back);
    conn_seq_map_clear(&m);
}

static json_t *parse(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    return j;
}

static void shard_listings_keep_lineage_and_refuse_malformed_members(void **state)
{
    (void)state;
    json_t *j = parse("[{\"ShardId\":\"shardId-1\",\"HashKeyRange\":{\"StartingHashKey\":\"0\","
                      "\"EndingHashKey\":\"100\"},\"SequenceNumberRange\":{\"StartingSequenceNumber\":"
                      "\"1\",\"EndingSequenceNumber\":\"9\"}},{\"ShardId\":\"shardId-2\","
                      "\"ParentShardId\":\"shardId-1\",\"AdjacentParentShardId\":null,"
                      "\"SequenceNumberRange\":{\"StartingSequenceNumber\":\"10\"}}]");
    conn_kin_shard *s = NULL;
    size_t n = 0;
    sp_err e = {0};
    assert_true(conn_kin_shards_parse(j, &s, &n, &e));
    assert_int_equal(n, 2);
    assert_true(s[0].closed && s[0].has_range && s[0].hash_hi == 100);
    assert_false(s[1].closed || s[1].has_range);
    assert_string_equal(s[1].parent, "shardId-1");
    assert_string_equal(s[1].adjacent_parent, "");
    json_decref(j);
    free(s);
    const char *bad[] = {
        "{}", "[1]", "[{}]", "[{\"ShardId\":7}]", "[{\"ShardId\":\"\"}]",
        "[{\"ShardId\":\"a\",\"ParentShardId\":3}]",
        "[{\"ShardId\":\"a\",\"HashKeyRange\":{\"StartingHashKey\":\"5\",\"EndingHashKey\":\"4\"}}]",
        "[{\"ShardId\":\"a\",\"HashKeyRange\":{\"StartingHashKey\":\"x\",\"EndingHashKey\":\"4\"}}]",
        "[{\"ShardId\":\"a\",\"SequenceNumberRange\":[]}]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *x = json_loads(bad[i], 0, NULL);
        s = NULL;
        n = 0;
        e = (sp_err){0};
        assert_false(conn_kin_shards_parse(x, &s, &n, &e));
        assert_string_equal(e.code, "InvalidResponse");
        assert_true(e.retriable);
        free(s);
        json_decref(x);
    }
}

static void get_records_answers_are_decoded_or_refused(void **state)
{
    (void)state;
    /* "aGk=" is "hi" */
    json_t *j = parse("{\"Records\":[{\"SequenceNumber\":\"49590338271490256608559692538361571095"
                      "921575989136588802\",\"PartitionKey\":\"k\",\"Data\":\"aGk=\","
                      "\"ApproximateArrivalTimestamp\":1700000000.5}],\"NextShardIterator\":\"it\","
                      "\"MillisBehindLatest\":42}");
    conn_kin_batch b;
    sp_err e = {0};
    assert_true(conn_kin_records_parse(j, &b, &e));
    assert_int_equal(b.n, 1);
    assert_int_equal(b.recs[0].len, 2);
    assert_memory_equal(b.recs[0].data, "hi", 2);
    assert_string_equal(b.recs[0].partition_key, "k");
    assert_true(b.recs[0].arrival_ms == 1700000000500LL);
    assert_string_equal(b.next_iterator, "it");
    assert_true(b.millis_behind == 42);
    conn_kin_batch_clear(&b);
    json_decref(j);
    /* a closed shard read to its end: no iterator */
    j = parse("{\"Records\":[],\"NextShardIterator\":null}");
    assert_true(conn_kin_records_parse(j, &b, &e));
    assert_null(b.next_iterator);
    assert_true(b.millis_behind == -1);
    conn_kin_batch_clear(&b);
    json_decref(j);
    const char *bad[] = {
        "{}", "{\"Records\":{}}", "{\"Records\":[1]}",
        "{\"Records\":[{\"SequenceNumber\":\"1\",\"PartitionKey\":\"k\",\"Data\":\"***\"}]}",
        "{\"Records\":[{\"SequenceNumber\":\"x1\",\"PartitionKey\":\"k\",\"Data\":\"aGk=\"}]}",
        "{\"Records\":[{\"SequenceNumber\":\"1\",\"Data\":\"aGk=\"}]}",
        "{\"Records\":[],\"NextShardIterator\":5}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        json_t *x = parse(bad[i]);
        e = (sp_err){0};
        assert_false(conn_kin_records_parse(x, &b, &e));
        assert_string_equal(e.code, "InvalidResponse");
        json_decref(x);
    }
    /* DynamoDB Streams: the record's JSON text is the data */
    j = parse("{\"Records\":[{\"eventName\":\"INSERT\",\"dynamodb\":{\"SequenceNumber\":"
              "\"000000000000000000001\",\"ApproximateCreationDateTime\":1700000000}}]}");
    assert_true(conn_ddb_records_parse(j, &b, &e));
    assert_int_equal(b.n, 1);
    assert_string_equal(b.recs[0].seq, "000000000000000000001");
    assert_non_null(strstr(b.recs[0].data, "\"eventName\":\"INSERT\""));
    assert_null(b.recs[0].partition_key);
    conn_kin_batch_clear(&b);
    json_decref(j);
    j = parse("{\"Records\":[{\"dynamodb\":{\"SequenceNumber\":\"1\"}}]}");   /* no eventName */
    assert_false(conn_ddb_records_parse(j, &b, &e));
    json_decref(j);
}

static void remote_stage_configurations_name_the_bad_member(void **state)
{
    (void)state;
    static const char *const kinesis[] = {"kinesis", NULL};
    static const char *const ddb[] = {"dynamodb-streams", NULL};
    struct { const char *text; const char *const *kinds; const char *msg; } cases[] = {
        {"{\"kind\":\"kafka\"}", kinesis, "target.kind must be one of kinesis"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"ftp://x\",\"region\":\"r\",\"stream\":\"s\"}",
         kinesis, "target.endpoint"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"http://x\",\"stream\":\"s\"}", kinesis,
         "target.region"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"http://x\",\"region\":\"r\",\"stream\":\"a b\"}",
         kinesis, "target.stream"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"http://x\",\"region\":\"r\",\"stream\":\"s\","
         "\"table\":\"t\"}", kinesis, "target.table is not a member"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"http://x\",\"region\":\"r\",\"stream\":\"s\","
         "\"access_key_id\":\"a\"}", kinesis, "go together"},
        {"{\"kind\":\"kinesis\",\"endpoint\":\"http://x\",\"region\":\"r\",\"stream\":\"s\","
         "\"max_attempts\":0}", kinesis, "target.max_attempts"},
        {"{\"kind\":\"dynamodb-streams\",\"endpoint\":\"http://x\",\"region\":\"r\"}", ddb,
         "exactly one of table"},
        {"{\"kind\":\"dynamodb-streams\",\"endpoint\":\"http://x\",\"region\":\"r\","
         "\"stream_arn\":\"nope\"}", ddb, "exactly one of table"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = parse(cases[i].text);
        sp_err e = {0};
        assert_false(conn_remote_config_check(j, "target", cases[i].kinds, &e));
        if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: %s", i, e.msg);
        json_decref(j);
    }
    json_t *ok = parse("{\"kind\":\"kinesis\",\"endpoint\":\"http://127.0.0.1:4567\",\"region\":"
                       "\"eu-west-1\",\"stream\":\"s.1-2\",\"profile\":\"p\"}");
    sp_err e = {0};
    assert_true(conn_remote_config_check(ok, "target", kinesis, &e));
    assert_string_equal(conn_remote_kind(ok), "kinesis");
    json_decref(ok);
    ok = parse("{\"kind\":\"embedded\"}");
    assert_true(conn_remote_config_check(ok, "target", kinesis, &e));
    assert_null(conn_remote_kind(ok));
    assert_null(conn_remote_name(ok));
    json_decref(ok);
}

/* Kafka is one more kind of the same check: its members are conn/kafka.h's, named under the
 * stage's role; group belongs to a source only; each kind names its stream its own way. */
static void kafka_stages_are_checked_by_the_same_call(void **state)
{
    (void)state;
    static const char *const both[] = {"kinesis", "kafka", NULL};
    static const char *const kinesis[] = {"kinesis", NULL};
    struct { const char *text; const char *role; const char *const *kinds; const char *msg; }
    cases[] = {
        {"{\"kind\":\"kafka\",\"brokers\":\"h\",\"topic\":\"t\"}", "target", both,
         "target.brokers must be"},
        {"{\"kind\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"a/b\"}", "source", both,
         "source.topic must be"},
        {"{\"kind\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"t\",\"group\":\"g\"}",
         "target", both, "target: unknown key 'group'"},
        {"{\"kind\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"t\",\"group\":\"\"}",
         "source", both, "source.group"},
        {"{\"kind\":\"kafka\",\"brokers\":\"h:1\",\"topic\":\"t\"}", "target", kinesis,
         "target.kind must be one of kinesis, embedded (not 'kafka')"},
        {"{\"kind\":\"pulsar\"}", "target", both, "one of kinesis, kafka, embedded (not 'pulsar')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *j = parse(cases[i].text);
        sp_err e = {0};
        assert_false(conn_remote_config_check(j, cases[i].role, cases[i].kinds, &e));
        if (!strstr(e.msg, cases[i].msg)) fail_msg("case %zu: %s", i, e.msg);
        assert_int_equal(e.status, 400);
        json_decref(j);
    }
    sp_err e = {0};
    json_t *ok = parse("{\"kind\":\"kafka\",\"brokers\":\"a:1,b:2\",\"topic\":\"sales\","
                       "\"group\":\"g\"}");
    assert_true(conn_remote_config_check(ok, "source", both, &e));
    assert_string_equal(conn_remote_kind(ok), "kafka");
    assert_string_equal(conn_remote_name(ok), "sales");
    json_decref(ok);
    ok = parse("{\"kind\":\"kinesis\",\"stream\":\"s\"}");
    assert_string_equal(conn_remote_name(ok), "s");
    json_decref(ok);
    ok = parse("{\"kind\":\"dynamodb-streams\",\"stream_arn\":\"arn:x:table/T/stream/L\"}");
    assert_string_equal(conn_remote_name(ok), "arn:x:table/T/stream/L");
    json_decref(ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_requests_stop_at_a_repeated_key_500_records_or_5_mib),
        cmocka_unit_test(landed_records_are_matched_by_key_and_data_once_each),
        cmocka_unit_test(sequence_numbers_compare_as_numbers_of_any_length),
        cmocka_unit_test(hash_keys_route_like_kinesis),
        cmocka_unit_test(positions_resume_from_the_anchor_at_or_below_them),
        cmocka_unit_test(shard_listings_keep_lineage_and_refuse_malformed_members),
        cmocka_unit_test(get_records_answers_are_decoded_or_refused),
        cmocka_unit_test(remote_stage_configurations_name_the_bad_member),
        cmocka_unit_test(kafka_stages_are_checked_by_the_same_call),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
