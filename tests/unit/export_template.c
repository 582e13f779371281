/* The CloudFormation export's logical ids and references: ids come from config names, two
 * names that differ only in punctuation get distinct ids, and references follow the ids; a
 * Lambda ARN processor is used as it is; Fn::Sub text from the config cannot inject a
 * reference. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

static json_t *export_yaml(const char *yaml)
{
    sp_err e = {0};
    sp_config *cfg = sp_config_parse("t.yaml", yaml, strlen(yaml), &e);
    if (!cfg) fail_msg("%s", e.msg);
    json_t *t = exp_cfn_template(cfg, &e);
    sp_config_destroy(cfg);
    if (!t) fail_msg("%s", e.msg);
    return t;
}

static const json_t *props(const json_t *t, const char *id)
{
    const json_t *r = json_object_get(json_object_get(t, "Resources"), id);
    if (!r) fail_msg("no resource %s", id);
    return json_object_get(r, "Properties");
}

static void names_differing_in_punctuation_get_distinct_ids(void **state)
{
    (void)state;
    json_t *t = export_yaml("tables:\n  - {name: T, hash_key: k, stream_view_type: NEW_IMAGE}\n"
                            "streams:\n  - {name: a-b}\n  - {name: a_b, shard_count: 3}\n"
                            "pipes:\n  - {name: p, source_table: T, target_stream: a_b}\n");
    assert_int_equal(json_integer_value(json_object_get(props(t, "StreamAB"), "ShardCount")), 1);
    assert_int_equal(json_integer_value(json_object_get(props(t, "StreamAB2"), "ShardCount")), 3);
    const json_t *target = json_object_get(props(t, "PipeP"), "Target");
    assert_string_equal(json_string_value(json_array_get(json_object_get(target, "Fn::GetAtt"), 0)),
                        "StreamAB2");
    json_decref(t);
}

static void lambda_arn_is_used_as_it_is(void **state)
{
    (void)state;
    json_t *t = export_yaml("buckets:\n  - {name: b1}\ndelivery_streams:\n  - name: d\n"
                            "    bucket: b1\n    processors:\n      - {type: lambda, function: "
                            "\"arn:aws:lambda:us-east-1:123456789012:function:f\"}\n");
    const json_t *dest = json_object_get(props(t, "DeliveryStreamD"),
                                         "ExtendedS3DestinationConfiguration");
    const json_t *proc = json_array_get(json_object_get(json_object_get(dest,
                                        "ProcessingConfiguration"), "Processors"), 0);
    const json_t *p0 = json_array_get(json_object_get(proc, "Parameters"), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "ParameterValue")),
                        "arn:aws:lambda:us-east-1:123456789012:function:f");
    assert_string_equal(json_string_value(json_object_get(props(t, "DeliveryStreamD"),
                                                          "DeliveryStreamType")), "DirectPut");
    assert_null(json_object_get(t, "Parameters")); /* no function to upload */
    json_decref(t);
}

static void sub_text_from_the_config_is_literal(void **state)
{
    (void)state;
    json_t *t = export_yaml("buckets:\n  - {name: b1}\ncrawlers:\n  - {name: c, database: d, "
                            "bucket: b1, path: \"x/${AWS::Region}/\"}\n");
    const json_t *s3 = json_array_get(json_object_get(json_object_get(props(t, "CrawlerC"),
                                                                      "Targets"), "S3Targets"), 0);
    assert_string_equal(json_string_value(json_object_get(json_object_get(s3, "Path"), "Fn::Sub")),
                        "s3://${BucketB1}/x/${!AWS::Region}/");
    json_decref(t);
}

static void unexpressible_processors_are_refused_with_their_key(void **state)
{
    (void)state;
    const char *yaml = "buckets:\n  - {name: b1}\ndelivery_streams:\n  - name: d\n    bucket: b1\n"
                       "    processors:\n      - {type: jq, expression: .}\n";
    sp_err e = {0};
    sp_config *cfg = sp_config_parse("t.yaml", yaml, strlen(yaml), &e);
    assert_non_null(cfg);
    assert_null(exp_cfn_template(cfg, &e));
    sp_config_destroy(cfg);
    assert_string_equal(e.code, "InvalidConfiguration");
    assert_non_null(strstr(e.msg, "delivery_streams[0].processors[0].type"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(names_differing_in_punctuation_get_distinct_ids),
        cmocka_unit_test(lambda_arn_is_used_as_it_is),
        cmocka_unit_test(sub_text_from_the_config_is_literal),
        cmocka_unit_test(unexpressible_processors_are_refused_with_their_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
