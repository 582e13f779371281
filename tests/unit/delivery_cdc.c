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
    json_t *j = json_loadb(line, len, 0, NULL);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_attribute_type_unmarshals),
        cmocka_unit_test(bad_attribute_values_fail),
        cmocka_unit_test(insert_and_modify_use_new_image_in_seed_schema),
        cmocka_unit_test(remove_uses_old_image_or_keys),
        cmocka_unit_test(records_it_cannot_handle_fail_with_a_reason),
        cmocka_unit_test(processor_fails_bad_records_and_keeps_good_ones),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
