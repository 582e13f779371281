/* The PutRecords hot-path scanner (stm_scan_put.c): the shapes it takes, read as the
 * ordinary path reads them, every shape it leaves to the ordinary path, and the answer it
 * writes as text, byte for byte what jansson dumps for the same tree. */
#include "stream_test.h"

#include "stream/stm_scan_put.h"

/* Scans body; when the scanner takes it, the ordinary path (jansson with the API's flags,
 * then stm_put_batch_from_json) must read the very same batch. Returns whether it took it;
 * b stays filled for the caller to inspect (and clear) when it did. */
static bool scan_same(const char *body, size_t len, stm_put_batch *b)
{
    if (!stm_scan_put(body, len, b)) {
        assert_null(b->recs);
        assert_int_equal(b->n, 0);
        return false;
    }
    sp_err e = {0};
    json_t *req = sp_json_parse(body, len, &e);
    assert_non_null(req);
    stm_put_batch slow;
    assert_true(stm_put_batch_from_json(req, &slow, &e));
    assert_string_equal(b->stream, slow.stream);
    assert_int_equal(b->n, slow.n);
    assert_int_equal(b->bytes, slow.bytes);
    for (size_t i = 0; i < b->n; i++) {
        assert_int_equal(b->recs[i].len, slow.recs[i].len);
        if (b->recs[i].len)
            assert_memory_equal(b->recs[i].data, slow.recs[i].data, b->recs[i].len);
        assert_string_equal(b->recs[i].partition_key, slow.recs[i].partition_key);
        if (slow.recs[i].explicit_hash_key)
            assert_string_equal(b->recs[i].explicit_hash_key, slow.recs[i].explicit_hash_key);
        else
            assert_null(b->recs[i].explicit_hash_key);
    }
    stm_put_batch_clear(&slow);
    json_decref(req);
    return true;
}

static bool takes(const char *body)
{
    stm_put_batch b;
    bool ok = scan_same(body, strlen(body), &b);
    if (ok) stm_put_batch_clear(&b);
    return ok;
}

static void scan_reads_the_common_shape_as_jansson_does(void **state)
{
    (void)state;
    const char *body = "{\"StreamName\": \"kinesis-for-sales-data\", \"Records\": ["
                       "{\"Data\": \"aGVsbG8=\", \"PartitionKey\": \"42\"}, "
                       "{\"Data\": \"YQ==\", \"PartitionKey\": \"k\", \"ExplicitHashKey\": \"7\"}, "
                       "{\"Data\": \"\", \"PartitionKey\": \"z\"}]}";
    stm_put_batch b;
    assert_true(scan_same(body, strlen(body), &b));
    assert_string_equal(b.stream, "kinesis-for-sales-data");
    assert_int_equal(b.n, 3);
    assert_int_equal(b.recs[0].len, 5);
    assert_memory_equal(b.recs[0].data, "hello", 5);
    assert_string_equal(b.recs[0].partition_key, "42");
    assert_null(b.recs[0].explicit_hash_key);
    assert_memory_equal(b.recs[1].data, "a", 1);
    assert_string_equal(b.recs[1].explicit_hash_key, "7");
    assert_int_equal(b.recs[2].len, 0);
    assert_int_equal(b.bytes, 5 + 2 + 1 + 1 + 0 + 1);
    stm_put_batch_clear(&b);
}

static void scan_takes_whitespace_order_escapes_unicode_and_arns(void **state)
{
    (void)state;
    assert_true(takes(" \r\n\t{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QUJD\","
                      "\"PartitionKey\":\"k\"}]}\n "));
    assert_true(takes("{\"Records\" : [ { \"PartitionKey\" : \"k\" , \"Data\" : \"QUJD\" } ] ,"
                      " \"StreamName\" : \"s\" }"));
    assert_true(takes("{\"StreamARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s\","
                      "\"Records\":[{\"Data\":\"QUI=\",\"PartitionKey\":\"k\"}]}"));
    /* Escapes in keys and names: short ones, \u of every UTF-8 length, a surrogate pair. */
    assert_true(takes("{\"StreamName\":\"\\u0073\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":"
                      "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\"}]}"));
    /* Raw UTF-8 of 2, 3 and 4 bytes, the highest code point. */
    assert_true(takes("{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":"
                      "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf\"}]}"));
    assert_true(takes("{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
                      "\"ExplicitHashKey\":\"340282366920938463463374607431768211455\"}]}"));
    assert_true(takes("{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
                      "\"ExplicitHashKey\":\"0\"}]}"));
}

/* A body of n records with data of data_len zero bytes and keys of pk_len 'p's. */
static char *body_of(size_t n, size_t data_len, size_t pk_len)
{
    size_t b64 = sp_base64_encoded_len(data_len);
    char *data = calloc(1, data_len + 1), *enc = malloc(b64 + 1), *pk = malloc(pk_len + 1);
    sp_base64_encode(data, data_len, enc);
    memset(pk, 'p', pk_len);
    pk[pk_len] = '\0';
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&s, "{\"StreamName\":\"s\",\"Records\":[");
    for (size_t i = 0; i < n; i++)
        sp_str_appendf(&s, "%s{\"Data\":\"%s\",\"PartitionKey\":\"%s\"}", i ? "," : "", enc, pk);
    sp_str_puts(&s, "]}");
    free(data);
    free(enc);
    free(pk);
    return sp_str_finish(&s, NULL);
}

static void scan_takes_the_limits_and_leaves_what_is_past_them(void **state)
{
    (void)state;
    struct { size_t n, data, pk; bool taken; } cases[] = {
        {500, 0, 1, true}, {501, 0, 1, false}, {1, 1024 * 1024, 1, true},
        {1, 1024 * 1024 + 1, 1, false}, {1, 3, 256, true}, {1, 3, 257, false},
        {1, 3, 0, false},
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(cases); i++) {
        char *body = body_of(cases[i].n, cases[i].data, cases[i].pk);
        assert_int_equal(takes(body), cases[i].taken);
        free(body);
    }
    /* 256 characters of two bytes each: the operation counts bytes; left to it. */
    sp_str s;
    sp_str_init(&s, NULL, 0, SP_STR_NO_MAX);
    sp_str_puts(&s, "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"");
    for (int i = 0; i < 256; i++) sp_str_puts(&s, "\xc3\xa9");
    sp_str_puts(&s, "\"}]}");
    char *body = sp_str_finish(&s, NULL);
    assert_false(takes(body));
    free(body);
}

static void scan_leaves_every_other_shape_to_the_ordinary_path(void **state)
{
    (void)state;
    static const char *const LEFT[] = {
        "", "{}", "[]", "null", "{\"StreamName\":\"s\"}",
        "{\"StreamName\":\"s\",\"Records\":[]}",                       /* too few records */
        "{\"StreamName\":\"s\",\"Records\":null}",
        "{\"StreamName\":\"s\",\"Records\":{}}",
        "{\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",      /* no stream */
        "{\"StreamName\":null,\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"StreamARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s\","
        "\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",         /* both names */
        "{\"StreamARN\":\"arn:aws:kinesis:us-east-1:0:table/s\",\"Records\":[{\"Data\":\"\","
        "\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\".s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"a b\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\",\"Data\":\"\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\",\"X\":1}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}],\"X\":1}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}],\"StreamId\":\"x\"}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\"}]}",          /* no key */
        "{\"StreamName\":\"s\",\"Records\":[{\"PartitionKey\":\"k\"}]}",  /* no data */
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":null,\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":5}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":1,\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
        "\"ExplicitHashKey\":null}]}",
        "{\"StreamName\":\"s\",\"Records\":[[]]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QUJ\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QU-D\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QR==\",\"PartitionKey\":\"k\"}]}", /* bits */
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QUJ=\",\"PartitionKey\":\"k\"}]}", /* bits */
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"Q===\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QQ==QUJD\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"QU\\/D\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"a\\u0000\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\\ud800\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\\ud800\\u0041\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\\udc00\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\\u12\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\\x\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"a\x01\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\xc0\xaf\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\xed\xa0\x80\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\xf4\x90\x80\x80\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"\xe2\x82\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
        "\"ExplicitHashKey\":\"01\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
        "\"ExplicitHashKey\":\"340282366920938463463374607431768211456\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\","
        "\"ExplicitHashKey\":\"-1\"}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]} x",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"},]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\",}]}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}],}",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]",
        "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}\f",
        "\xef\xbb\xbf{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\":\"s\"\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"StreamName\" \"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
        "{\"Stream\\u004eame\":\"s\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(LEFT); i++) {
        size_t len = strlen(LEFT[i]);
        stm_put_batch b;
        if (stm_scan_put(LEFT[i], len, &b)) {
            print_error("taken: %s\n", LEFT[i]);
            fail();
        }
        assert_null(b.recs);
        assert_null(b.text);
        assert_null(b.blob);
    }
    /* A NUL byte after the object is trailing garbage to jansson. */
    static const char NUL_AFTER[] = "{\"StreamName\":\"s\",\"Records\":[{\"Data\":\"\","
                                    "\"PartitionKey\":\"k\"}]}";
    stm_put_batch b;
    assert_true(stm_scan_put(NUL_AFTER, sizeof NUL_AFTER - 1, &b));
    stm_put_batch_clear(&b);
    assert_false(stm_scan_put(NUL_AFTER, sizeof NUL_AFTER, &b));
}

/* ---- the answer ---------------------------------------------------------------------------- */

static char *jansson_dump(json_t *v)
{
    char *s = sp_json_dump(v, NULL);
    json_decref(v);
    return s;
}

static void reply_text_is_what_jansson_dumps(void **state)
{
    (void)state;
    srand(15);
    for (int round = 0; round < 200; round++) {
        size_t n = 1 + (size_t)rand() % 500;
        stm_put_result *res = calloc(n, sizeof *res);
        for (size_t i = 0; i < n; i++) {
            if (round % 3 == 1 && rand() % 4 == 0) continue; /* failed */
            res[i].shard_index = rand() % 2048;
            for (int d = 0; d < STM_SEQ_DIGITS; d++) res[i].seq_str[d] = (char)('0' + rand() % 10);
        }
        size_t len = 0;
        char *text = stm_put_reply_text(res, n, &len);
        char *tree = jansson_dump(stm_put_reply_json(res, n));
        assert_string_equal(text, tree);
        assert_int_equal(len, strlen(tree));
        free(text);
        free(tree);
        free(res);
    }
}

static void json_strings_are_escaped_as_jansson_escapes_them(void **state)
{
    (void)state;
    srand(16);
    for (int round = 0; round < 2000; round++) {
        /* Random valid UTF-8: mostly ASCII with every control character, some multibyte. */
        char s[128];
        size_t n = 0, want = (size_t)rand() % 40;
        while (n < want) {
            int kind = rand() % 8;
            if (kind < 5) s[n++] = (char)(rand() % 128);
            else if (kind == 5) s[n++] = "\"\\/\b\f\n\r\t\x7f"[rand() % 9];
            else if (kind == 6) n += (size_t)(memcpy(s + n, "\xc3\xa9", 2), 2);
            else n += (size_t)(memcpy(s + n, "\xf0\x9f\x98\x80", 4), 4);
        }
        sp_str out;
        sp_str_init(&out, NULL, 0, SP_STR_NO_MAX);
        stm_json_str_append(&out, s, n);
        char *text = sp_str_finish(&out, NULL);
        char *tree = jansson_dump(json_stringn(s, n));
        assert_non_null(tree);
        assert_string_equal(text, tree);
        free(text);
        free(tree);
    }
}

/* ---- the fast path against a real log --------------------------------------------------------- */

static void fast_path_puts_and_answers_or_leaves_the_body(void **state)
{
    (void)state;
    test_dir_new();
    stm_log *log = test_open();
    sp_err e = {0};
    sp_cfg_stream c = test_cfg("s", 2, "none", 1);
    assert_true(stm_stream_ensure(log, &c, &e));
    const sp_raw_op *op = sp_raw_op_find(stm_kinesis_raw_ops, "PutRecords", 10);
    assert_non_null(op);
    char *body = body_of(500, 100, 8);
    size_t len = 0;
    char *out = op->fn(log, body, strlen(body), &len, &e);
    assert_non_null(out);
    assert_false(sp_err_failed(&e));
    json_t *j = json_loadb(out, len, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "FailedRecordCount")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "Records")), 500);
    json_decref(j);
    free(out);
    free(body);
    /* A stream that does not exist: the operation's own error, as the ordinary path says. */
    const char *missing = "{\"StreamName\":\"nope\",\"Records\":[{\"Data\":\"\",\"PartitionKey\":\"k\"}]}";
    assert_null(op->fn(log, missing, strlen(missing), &len, &e));
    assert_string_equal(e.code, "ResourceNotFoundException");
    sp_err_clear(&e);
    /* Not the common shape: no answer and no error, the ordinary path takes it. */
    const char *odd = "{\"StreamName\":\"s\",\"Records\":[{\"Data\":null,\"PartitionKey\":\"k\"}]}";
    assert_null(op->fn(log, odd, strlen(odd), &len, &e));
    assert_false(sp_err_failed(&e));
    stm_log_close(log);
    test_dir_remove();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scan_reads_the_common_shape_as_jansson_does),
        cmocka_unit_test(scan_takes_whitespace_order_escapes_unicode_and_arns),
        cmocka_unit_test(scan_takes_the_limits_and_leaves_what_is_past_them),
        cmocka_unit_test(scan_leaves_every_other_shape_to_the_ordinary_path),
        cmocka_unit_test(reply_text_is_what_jansson_dumps),
        cmocka_unit_test(json_strings_are_escaped_as_jansson_escapes_them),
        cmocka_unit_test(fast_path_puts_and_answers_or_leaves_the_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
