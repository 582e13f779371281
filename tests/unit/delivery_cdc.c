/* The dynamodb-cdc processor: every DynamoDB attribute type unmarshalled, INSERT and MODIFY
 * from NewImage, REMOVE from OldImage (or Keys), the seed's schema with creation_datetime and
 * sequence_number, and clear failures for records it cannot handle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/dlv_int.h"

static json_t *unmarshal(const char *av_json, sp_err *e)
{
    json_t *av = json_loads(av_json, 0, NULL);
    assert_non_null(av);
    json_t *v = dlv_cdc_unmarshal(av, e);
    json_decref(av);
    return v;
}

static void expect_unmarshal(const char *av_json, const char *want_json)
{
    sp_err e = {0};
    json_t *v = unmarshal(av_json, &e);
    if (!v) fail_msg("%s: %s", av_json, e.msg);
    json_t *want = json_loads(want_json, JSON_DECODE_ANY, NULL);
    char *got = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!json_equal(v, want)) fail_msg("%s -> %s, want %s", av_json, got, want_json);
    /* integral N is an integer, fractional N a real */
    assert_int_equal(json_typeof(v), json_typeof(want));
    free(got);
    json_decref(v);
    json_decref(want);
}

static void every_attribute_type_unmarshals(void **state)
{
    (void)state;
    expect_unmarshal("{\"S\":\"Laptop\"}", "\"Laptop\"");
    expect_unmarshal("{\"N\":\"3\"}", "3");
    expect_unmarshal("{\"N\":\"-42\"}", "-42");
    expect_unmarshal("{\"N\":\"123.45\"}", "123.45");
    expect_unmarshal("{\"N\":\"1e3\"}", "1000.0");
    expect_unmarshal("{\"N\":\"99999999999999999999\"}", "1e20");
    expect_unmarshal("{\"BOOL\":true}", "true");
    expect_unmarshal("{\"BOOL\":false}", "false");
    expect_unmarshal("{\"NULL\":true}", "null");
    expect_unmarshal("{\"B\":\"aGVsbG8=\"}", "\"aGVsbG8=\"");
    expect_unmarshal("{\"SS\":[\"a\",\"b\"]}", "[\"a\",\"b\"]");
    expect_unmarshal("{\"NS\":[\"1\",\"2.5\"]}", "[1,2.5]");
    expect_unmarshal("{\"BS\":[\"AA==\"]}", "[\"AA==\"]");
    expect_unmarshal("{\"L\":[{\"S\":\"x\"},{\"N\":\"1\"},{\"L\":[{\"NULL\":true}]}]}", "[\"x\",1,[null]]");
    expect_unmarshal("{\"M\":{\"a\":{\"N\":\"1\"},\"b\":{\"M\":{\"c\":{\"BOOL\":true}}}}}",
                 "{\"a\":1,\"b\":{\"c\":true}}");
}

static void bad_attribute_values_fail(void **state)
{
    (void)state;
    const char *bad[] = {"{\"N\":\"abc\"}", "{\"N\":\"\"}", "{\"N\":3}", "{\"X\":\"1\"}",
                         "{\"S\":\"a\",\"N\":\"1\"}", "{}", "{\"SS\":\"a\"}",
                         "{\"NS\":[\"x\"]}", "{\"L\":{}}", "{\"M\":[]}", "{\"BOOL\":\"true\"}",
                         "{\"N\":\"1e999\"}"};
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        sp_err e = {0};
        json_t *v = unmarshal(bad[i], &e);
        if (v) fail_msg("%s unmarshalled", bad[i]);
        assert_int_equal(e.status, 400);
    }
}

static json_t *transform(const char *event, const char *images)
{
    char rec[2048];
    snprintf(rec, sizeof rec,
             "{\"eventID\":\"e1\",\"eventName\":\"%s\",\"eventSource\":\"aws:dynamodb\","
             "\"dynamodb\":{\"ApproximateCreationDateTime\":1700000000,"
             "\"SequenceNumber\":\"000000000000000000042\",%s}}",
             event, images);
    sp_err e = {0};
    size_t len;
    char *line = dlv_cdc_transform(rec, strlen(rec), &len, &e);
    if (!line) fail_msg("%s: %s", event, e.msg);
    assert_int_equal(line[len - 1], '\n');
    assert_int_equal(strlen(line), len);
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    free(line);
    assert_non_null(j);
    return j;
}

static const char IMAGE[] = "{\"orderid\":{\"S\":\"17\"},\"product_name\":{\"S\":\"Phone\"},"
                            "\"quantity\":{\"N\":\"2\"},\"price\":{\"N\":\"19.5\"}}";

static void insert_and_modify_use_new_image_in_seed_schema(void **state)
{
    (void)state;
    const char *events[] = {"INSERT", "MODIFY"};
    for (int i = 0; i < 2; i++) {
        char images[1024];
        snprintf(images, sizeof images,
                 "\"Keys\":{\"orderid\":{\"S\":\"17\"}},\"NewImage\":%s,"
                 "\"OldImage\":{\"orderid\":{\"S\":\"17\"},\"quantity\":{\"N\":\"1\"}}",
                 IMAGE);
        json_t *j = transform(events[i], images);
        const char *keys[] = {"orderid", "product_name", "quantity", "price", "cdc_event_type",
                              "creation_datetime", "sequence_number"};
        void *it = json_object_iter(j);
        for (size_t k = 0; k < SP_ARRAY_LEN(keys); k++, it = json_object_iter_next(j, it))
            assert_string_equal(json_object_iter_key(it), keys[k]);
        assert_null(it);
        assert_string_equal(json_string_value(json_object_get(j, "orderid")), "17");
        assert_true(json_is_integer(json_object_get(j, "quantity")));
        assert_int_equal(json_integer_value(json_object_get(j, "quantity")), 2);
        assert_true(json_is_real(json_object_get(j, "price")));
        assert_string_equal(json_string_value(json_object_get(j, "cdc_event_type")), events[i]);
        assert_string_equal(json_string_value(json_object_get(j, "creation_datetime")),
                            "2023-11-14T22:13:20Z");
        assert_string_equal(json_string_value(json_object_get(j, "sequence_number")),
                            "000000000000000000042");
        json_decref(j);
    }
}

/* A set element keeps U+0000 as an S value does (DynamoDB stores the whole string). */
static void set_elements_keep_u0000(void **state)
{
    (void)state;
    json_t *j = transform("INSERT", "\"Keys\":{\"orderid\":{\"S\":\"1\"}},\"NewImage\":"
                                    "{\"orderid\":{\"S\":\"1\"},\"s\":{\"S\":\"a\\u0000b\"},"
                                    "\"ss\":{\"SS\":[\"a\\u0000b\",\"c\"]}}");
    assert_int_equal(json_string_length(json_object_get(j, "s")), 3);
    const json_t *ss = json_object_get(j, "ss");
    assert_int_equal(json_array_size(ss), 2);
    assert_int_equal(json_string_length(json_array_get(ss, 0)), 3);
    assert_memory_equal(json_string_value(json_array_get(ss, 0)), "a\0b", 3);
    json_decref(j);
}

static void remove_uses_old_image_or_keys(void **state)
{
    (void)state;
    char images[1024];
    snprintf(images, sizeof images, "\"Keys\":{\"orderid\":{\"S\":\"17\"}},\"OldImage\":%s",
             IMAGE);
    json_t *j = transform("REMOVE", images);
    assert_string_equal(json_string_value(json_object_get(j, "cdc_event_type")), "REMOVE");
    assert_string_equal(json_string_value(json_object_get(j, "product_name")), "Phone");
    json_decref(j);
    j = transform("REMOVE", "\"Keys\":{\"orderid\":{\"S\":\"17\"}}");
    assert_string_equal(json_string_value(json_object_get(j, "orderid")), "17");
    assert_null(json_object_get(j, "product_name"));
    assert_string_equal(json_string_value(json_object_get(j, "cdc_event_type")), "REMOVE");
    json_decref(j);
}

static void records_it_cannot_handle_fail_with_a_reason(void **state)
{
    (void)state;
    const char *bad[] = {
        "not json",
        "[1,2]",
        "{\"eventName\":\"INSERT\"}",
        "{\"eventName\":\"UPSERT\",\"dynamodb\":{\"NewImage\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"NewImage\":{\"a\":{\"N\":\"x\"}}}}",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++) {
        sp_err e = {0};
        size_t len;
        char *line = dlv_cdc_transform(bad[i], strlen(bad[i]), &len, &e);
        if (line) fail_msg("'%s' transformed to %s", bad[i], line);
        assert_true(e.msg[0] != '\0');
    }
}

static void processor_fails_bad_records_and_keeps_good_ones(void **state)
{
    (void)state;
    dlv_proc_env env = {.stream_name = "s"};
    sp_err e = {0};
    json_t *chain_def = json_pack("[{s:s}]", "type", "dynamodb-cdc");
    dlv_chain *c = dlv_chain_new(chain_def, &env, &e);
    assert_non_null(c);
    char good[512];
    snprintf(good, sizeof good,
             "{\"eventName\":\"INSERT\",\"dynamodb\":{\"NewImage\":%s,\"SequenceNumber\":\"1\","
             "\"ApproximateCreationDateTime\":1}}", IMAGE);
    dlv_rec recs[2] = {0};
    dlv_rec_set_data(&recs[0], good, strlen(good));
    dlv_rec_set_data(&recs[1], "garbage", 7);
    dlv_chain_run(c, recs, 2);
    assert_int_equal(recs[0].result, DLV_REC_OK);
    assert_non_null(strstr(recs[0].data, "\"cdc_event_type\":\"INSERT\""));
    assert_int_equal(recs[1].result, DLV_REC_FAILED);
    assert_string_equal(recs[1].error_type, "processing-failed");
    assert_non_null(recs[1].err_msg);
    dlv_rec_clear(&recs[0]);
    dlv_rec_clear(&recs[1]);
    dlv_chain_destroy(c);
    json_decref(chain_def);
}

/* ---- the line written straight from the record equals the tree's, byte for byte ---------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* An N string: integers, decimals of varied digits and scale, exponents, signs, leading
 * zeros, overflowing integers, and some that are not numbers. */
static void random_number(sp_str *s)
{
    static const char *fixed[] = {"0", "-0", "+5", "007", "0.0", "-0.0", "1e3", "1E-7",
                                  "99999999999999999999", "9223372036854775807",
                                  "-9223372036854775808", "9223372036854775808", "1e400",
                                  "1e-400", "0.1", "128.92", "1200.0", "0.000001", "1.5e300",
                                  "4.9e-324", "2.2250738585072014e-308", "123456789012345",
                                  "1234567890123456", "0.30000000000000004", "", "-", ".",
                                  "1.", ".5", "abc", "1..2", "0x10", " 1", "inf", "nan"};
    switch (rnd(4)) {
    case 0: sp_str_puts(s, fixed[rnd(SP_ARRAY_LEN(fixed))]); return;
    case 1: sp_str_appendf(s, "%s%u", rnd(2) ? "-" : "", rnd(100000)); return;
    default: {
        if (rnd(3) == 0) sp_str_putc(s, '-');
        unsigned whole = rnd(18), frac = rnd(18);
        for (unsigned i = 0; i < whole; i++) sp_str_putc(s, (char)('0' + rnd(10)));
        if (whole == 0) sp_str_putc(s, '0');
        sp_str_putc(s, '.');
        for (unsigned i = 0; i < frac; i++) sp_str_putc(s, (char)('0' + rnd(10)));
        if (frac == 0 || rnd(2)) sp_str_putc(s, (char)('1' + rnd(9)));
        if (rnd(8) == 0) sp_str_appendf(s, "e%d", (int)rnd(40) - 20);
    }
    }
}

static const char *const STRINGS[] = {"Laptop", "", "caf\\u00e9", "\\u0000", "a\\u0000b",
                                      "\\ud83d\\ude00", "\\\"q\\\\\\n\\t\\u001f", "\xe2\x82\xac",
                                      "aGVsbG8=", "cdc_event_type", "x y"};

static void random_string(sp_str *s)
{
    sp_str_putc(s, '"');
    sp_str_puts(s, STRINGS[rnd(SP_ARRAY_LEN(STRINGS))]);
    sp_str_putc(s, '"');
}

static void random_av(sp_str *s, int depth);

static void random_members(sp_str *s, int depth, bool image)
{
    static const char *names[] = {"orderid", "price", "a", "b\\u0000c", "b\\u0000d", "\\u00e9",
                                  "cdc_event_type", "creation_datetime", "sequence_number",
                                  "q\\\"", "n", "m", "l"};
    unsigned n = rnd(image ? 7 : 4);
    bool used[SP_ARRAY_LEN(names)] = {0};
    sp_str_putc(s, '{');
    bool first = true;
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rnd(SP_ARRAY_LEN(names));
        /* the added members and U+0000 names only now and then: they take the tree path */
        if (used[k] || ((k == 3 || k == 4 || (k >= 6 && k <= 8)) && rnd(4))) continue;
        used[k] = true;
        if (!first) sp_str_putc(s, ',');
        first = false;
        sp_str_appendf(s, "\"%s\":", names[k]);
        random_av(s, depth + 1);
    }
    sp_str_putc(s, '}');
}

static void random_av(sp_str *s, int depth)
{
    unsigned t = rnd(depth > 3 ? 8 : 11);
    switch (t) {
    case 0: case 1: sp_str_puts(s, "{\"S\":"); random_string(s); break;
    case 2: case 3: sp_str_puts(s, "{\"N\":\""); random_number(s); sp_str_putc(s, '"'); break;
    case 4: sp_str_puts(s, rnd(2) ? "{\"BOOL\":true" : "{\"BOOL\":false"); break;
    case 5: sp_str_puts(s, "{\"NULL\":true"); break;
    case 6: sp_str_puts(s, "{\"B\":\"AAEC/w==\""); break;
    case 7: {
        static const char *sets[] = {"SS", "NS", "BS"};
        const char *k = sets[rnd(3)];
        sp_str_appendf(s, "{\"%s\":[", k);
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            if (i) sp_str_putc(s, ',');
            if (k[0] == 'N') {
                sp_str_putc(s, '"');
                random_number(s);
                sp_str_putc(s, '"');
            } else {
                random_string(s);
            }
        }
        sp_str_putc(s, ']');
        break;
    }
    case 8: sp_str_puts(s, "{\"M\":"); random_members(s, depth, false); break;
    case 9: {
        sp_str_puts(s, "{\"L\":[");
        for (unsigned i = 0, n = rnd(4); i < n; i++) {
            if (i) sp_str_putc(s, ',');
            random_av(s, depth + 1);
        }
        sp_str_putc(s, ']');
        break;
    }
    default: {
        /* values the processor refuses */
        static const char *bad[] = {"{\"N\":3", "{\"X\":\"1\"", "{\"S\":\"a\",\"N\":\"1\"",
                                    "{\"SS\":\"a\"", "{\"NS\":[1]", "{\"L\":{}", "{\"M\":[]",
                                    "{\"S\":null", "{\"BOOL\":1"};
        if (rnd(3) == 0) {
            sp_str_puts(s, bad[rnd(SP_ARRAY_LEN(bad))]);
        } else {
            sp_str_puts(s, "{\"S\":\"ok\"");
        }
    }
    }
    sp_str_putc(s, '}');
}

static void random_record(sp_str *s)
{
    static const char *events[] = {"INSERT", "MODIFY", "REMOVE", "REMOVE", "UPDATE"};
    const char *ev = events[rnd(SP_ARRAY_LEN(events))];
    sp_str_appendf(s, "{\"eventName\":\"%s\",\"eventSource\":\"aws:dynamodb\"", ev);
    if (rnd(20) == 0) {
        sp_str_puts(s, ",\"dynamodb\":[]}");
        return;
    }
    sp_str_puts(s, ",\"dynamodb\":{");
    switch (rnd(5)) {
    case 0: sp_str_puts(s, "\"ApproximateCreationDateTime\":1700000000.7,"); break;
    case 1: sp_str_puts(s, "\"ApproximateCreationDateTime\":1700000000123,"); break;
    case 2: sp_str_puts(s, "\"ApproximateCreationDateTime\":\"x\","); break;
    default: sp_str_puts(s, "\"ApproximateCreationDateTime\":1700000000,");
    }
    sp_str_puts(s, "\"Keys\":");
    random_members(s, 1, true);
    if (rnd(4)) {
        sp_str_puts(s, ",\"NewImage\":");
        random_members(s, 0, true);
    }
    if (rnd(2)) {
        sp_str_puts(s, ",\"OldImage\":");
        random_members(s, 0, true);
    }
    switch (rnd(4)) {
    case 0: break;
    case 1: sp_str_puts(s, ",\"SequenceNumber\":\"0000\\u00001\""); break;
    default: sp_str_puts(s, ",\"SequenceNumber\":\"000000000000000000042\"");
    }
    sp_str_puts(s, "}}");
}

static void line_equals_the_tree_line_on_varied_records(void **state)
{
    (void)state;
    int ok = 0, failed = 0, merges = 0;
    for (int i = 0; i < 20000; i++) {
        sp_str rec;
        sp_str_init(&rec, NULL, 0, SP_STR_NO_MAX);
        random_record(&rec);
        sp_err e1 = {0}, e2 = {0};
        size_t n1 = 0, n2 = 0;
        char *a = dlv_cdc_transform(rec.buf, rec.len, &n1, &e1);
        char *b = dlv_cdc_transform_tree(rec.buf, rec.len, &n2, &e2);
        if (!a != !b) fail_msg("%s: %s vs %s", rec.buf, a ? a : e1.msg, b ? b : e2.msg);
        if (a) {
            if (n1 != n2 || memcmp(a, b, n1)) fail_msg("%s:\n%s\n%s", rec.buf, a, b);
            ok++;
            if (strstr(rec.buf, "\\u0000") || strstr(rec.buf, "\"cdc_event_type\":")) merges++;
        } else {
            assert_string_equal(e1.msg, e2.msg);
            assert_int_equal(e1.status, e2.status);
            failed++;
        }
        free(a);
        free(b);
        sp_str_release(&rec);
    }
    /* the generator reaches both outcomes and the tree path often enough to mean something */
    assert_true(ok > 3000);
    assert_true(failed > 3000);
    assert_true(merges > 300);
}

/* Reals written straight (one snprintf when the N string is a short plain decimal) equal
 * sp_json_real_format's shortest search. */
static void reals_equal_the_shortest_search(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        sp_str n;
        sp_str_init(&n, NULL, 0, SP_STR_NO_MAX);
        random_number(&n);
        char rec[512];
        snprintf(rec, sizeof rec,
                 "{\"eventName\":\"INSERT\",\"dynamodb\":{\"NewImage\":{\"p\":{\"N\":\"%s\"}}}}",
                 n.buf);
        sp_err e1 = {0}, e2 = {0};
        size_t n1 = 0, n2 = 0;
        char *a = dlv_cdc_transform(rec, strlen(rec), &n1, &e1);
        char *b = dlv_cdc_transform_tree(rec, strlen(rec), &n2, &e2);
        if (!a != !b || (a && strcmp(a, b))) fail_msg("%s: %s vs %s", n.buf, a, b);
        free(a);
        free(b);
        sp_str_release(&n);
    }
}

/* The same records, read straight from their text (core/json_scan.h) where that path takes
 * them: whatever it writes is the jansson path's line byte for byte, it takes every record
 * without escapes or merging members, and it declines every record jansson refuses. */
static void scanned_line_equals_the_jansson_line(void **state)
{
    (void)state;
    int scanned = 0, declined = 0;
    for (int i = 0; i < 20000; i++) {
        sp_str rec;
        sp_str_init(&rec, NULL, 0, SP_STR_NO_MAX);
        random_record(&rec);
        sp_err e = {0};
        size_t n1 = 0, n2 = 0;
        char *a = dlv_cdc_transform_scan(rec.buf, rec.len, &n1);
        char *b = dlv_cdc_transform_jansson(rec.buf, rec.len, &n2, &e);
        if (a) {
            if (!b || n1 != n2 || memcmp(a, b, n1)) fail_msg("%s:\n%s\n%s", rec.buf, a, b ? b : e.msg);
            scanned++;
        } else {
            declined++;
            /* a plain record with a line is never declined */
            if (b && !strchr(rec.buf, '\\') && !strstr(rec.buf, "\"cdc_event_type\":") &&
                !strstr(rec.buf, "\"creation_datetime\":") && !strstr(rec.buf, "\"sequence_number\":"))
                fail_msg("declined: %s", rec.buf);
        }
        free(a);
        free(b);
        sp_str_release(&rec);
    }
    assert_true(scanned > 2000);
    assert_true(declined > 2000);
}

/* The table's own record shape (whitespace, both images, userIdentity) is read from its text;
 * texts jansson refuses or reads differently are declined, never written. */
static void scan_takes_table_records_and_declines_the_rest(void **state)
{
    (void)state;
    static const char TABLE[] =
        "{\"eventID\":\"00000000000000010000000000000001\",\"eventName\":\"MODIFY\","
        "\"eventVersion\":\"1.1\",\"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"us-east-1\","
        "\"dynamodb\":{\"ApproximateCreationDateTime\":1700000000,\"Keys\":{\"orderid\":{\"S\":\"42\"}},"
        "\"NewImage\":{\"orderid\":{\"S\":\"42\"},\"price\":{\"N\":\"128.92\"},"
        "\"product_name\":{\"S\":\"Caf\xc3\xa9\"},\"quantity\":{\"N\":\"3\"}},"
        "\"OldImage\":{\"orderid\":{\"S\":\"42\"},\"price\":{\"N\":\"1\"}},"
        "\"SequenceNumber\":\"000000000000000000001\",\"SizeBytes\":60,"
        "\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"},\"eventSourceARN\":\"arn:x\","
        "\"userIdentity\":{\"type\":\"Service\",\"principalId\":\"dynamodb.amazonaws.com\"}}";
    size_t n = 0;
    char *line = dlv_cdc_transform_scan(TABLE, strlen(TABLE), &n);
    assert_non_null(line);
    assert_string_equal(line, "{\"orderid\":\"42\",\"price\":128.92,\"product_name\":\"Caf\xc3\xa9\","
                              "\"quantity\":3,\"cdc_event_type\":\"MODIFY\",\"creation_datetime\":"
                              "\"2023-11-14T22:13:20Z\",\"sequence_number\":\"000000000000000000001\"}\n");
    free(line);
    static const char *const declined[] = {
        /* jansson refuses these */
        "{\"eventName\":\"INSERT\",\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"x\"},\"a\":{\"S\":\"y\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{}}}x",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"\xc0\xaf\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"\xed\xa0\x80\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"\x01\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"ApproximateCreationDateTime\":99999999999999999999,"
        "\"Keys\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"ApproximateCreationDateTime\":01,\"Keys\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"ApproximateCreationDateTime\":1e999,\"Keys\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"\\ud800\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"x\"},}}}",
        "[{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{}}}]",
        /* jansson reads these; the line path refuses them or they hold escapes */
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"N\":\"abc\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\":{\"S\":\"x\\ny\"}}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"a\\u0041\":{\"S\":\"x\"}}}}",
        "{\"eventName\":\"UPDATE\",\"dynamodb\":{\"Keys\":{}}}",
        "{\"eventName\":\"REMOVE\",\"dynamodb\":{\"OldImage\":null,\"Keys\":{}}}",
        "{\"eventName\":\"INSERT\",\"dynamodb\":{\"Keys\":{\"sequence_number\":{\"S\":\"x\"}}}}",
    };
    for (size_t i = 0; i < SP_ARRAY_LEN(declined); i++) {
        char *x = dlv_cdc_transform_scan(declined[i], strlen(declined[i]), &n);
        if (x) fail_msg("taken: %s -> %s", declined[i], x);
    }
    /* whitespace anywhere jansson allows it */
    static const char SPACED[] = " \n{ \"eventName\" : \"INSERT\" ,\t\"dynamodb\":{\"Keys\":{ \"k\" :"
                                 " { \"L\" : [ { \"N\" : \"1\" } , {\"BOOL\":true} ] } } } }\r\n";
    line = dlv_cdc_transform_scan(SPACED, strlen(SPACED), &n);
    assert_non_null(line);
    assert_string_equal(line, "{\"k\":[1,true],\"cdc_event_type\":\"INSERT\",\"creation_datetime\":"
                              "null,\"sequence_number\":null}\n");
    free(line);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_attribute_type_unmarshals),
        cmocka_unit_test(bad_attribute_values_fail),
        cmocka_unit_test(insert_and_modify_use_new_image_in_seed_schema),
        cmocka_unit_test(remove_uses_old_image_or_keys),
        cmocka_unit_test(set_elements_keep_u0000),
        cmocka_unit_test(records_it_cannot_handle_fail_with_a_reason),
        cmocka_unit_test(processor_fails_bad_records_and_keeps_good_ones),
        cmocka_unit_test(line_equals_the_tree_line_on_varied_records),
        cmocka_unit_test(reals_equal_the_shortest_search),
        cmocka_unit_test(scanned_line_equals_the_jansson_line),
        cmocka_unit_test(scan_takes_table_records_and_declines_the_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
