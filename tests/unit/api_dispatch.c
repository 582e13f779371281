/* Unit tests for the JSON dispatch (api/dispatch.c): a target is routed by its prefix to a
 * service and by the name after the dot to an operation; unknown services and operations get
 * UnknownOperationException, bodies that are not a JSON object get SerializationException, an
 * op's error leaves as {"__type": "<namespace><Code>", "message"} with its status, and a
 * success is the op's response with 200 and the service's content type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/api_cbor.h"

typedef struct fake_ctx {
    int calls;
    json_t *last_request; /* a copy of what the op received */
} fake_ctx;

/* Echo: answers {"Echo": <TableName>, "Limit": <Limit>} after validating typed members. */
static json_t *op_echo(void *ctx, json_t *req, sp_err *e)
{
    fake_ctx *f = ctx;
    f->calls++;
    json_decref(f->last_request);
    f->last_request = json_deep_copy(req);
    const char *name = sp_json_str(req, "TableName", true, e);
    long long limit = sp_json_int(req, "Limit", false, 10, e);
    if (sp_err_failed(e)) return NULL;
    return json_pack("{s:s, s:I}", "Echo", name, "Limit", (json_int_t)limit);
}

static json_t *op_throttle(void *ctx, json_t *req, sp_err *e)
{
    (void)req;
    ((fake_ctx *)ctx)->calls++;
    sp_err_set(e, 429, "ProvisionedThroughputExceededException", "slow down");
    return NULL;
}

/* An op that fails without saying why: the dispatcher must still answer with an error. */
static json_t *op_silent(void *ctx, json_t *req, sp_err *e)
{
    (void)req;
    (void)e;
    ((fake_ctx *)ctx)->calls++;
    return NULL;
}

static const sp_op dynamo_ops[] = {
    {"GetItem", op_echo}, {"Throttle", op_throttle}, {"Silent", op_silent}, {NULL, NULL}};
static const sp_op kinesis_ops[] = {{"DescribeStream", op_echo}, {NULL, NULL}};

static fake_ctx dctx, kctx;
static const api_service dynamo = {
    .name = "dynamodb", .target_prefix = "DynamoDB_20120810",
    .error_namespace = "com.amazonaws.dynamodb.v20120810#",
    .content_type = "application/x-amz-json-1.0", .ops = dynamo_ops, .ctx = &dctx};
static const api_service kinesis = {
    .name = "kinesis", .target_prefix = "Kinesis_20131202", .error_namespace = "",
    .content_type = "application/x-amz-json-1.1", .ops = kinesis_ops, .ctx = &kctx};
static const api_service *const services[] = {&dynamo, &kinesis};

typedef struct result {
    int status;
    const char *content_type;
    json_t *body;
} result;

static result call(const char *target, const char *body)
{
    result r = {0};
    size_t len = 0;
    char *out = api_dispatch_json(services, SP_ARRAY_LEN(services), target, body,
                                  body ? strlen(body) : 0, &r.status, &len, &r.content_type);
    assert_non_null(out);
    assert_int_equal(strlen(out), len);
    r.body = json_loads(out, 0, NULL);
    assert_non_null(r.body); /* every answer is JSON */
    free(out);
    return r;
}

static void assert_error(result r, int status, const char *type, const char *msg_part)
{
    assert_int_equal(r.status, status);
    assert_string_equal(json_string_value(json_object_get(r.body, "__type")), type);
    const char *msg = json_string_value(json_object_get(r.body, "message"));
    assert_non_null(msg);
    if (!strstr(msg, msg_part)) fail_msg("message '%s' lacks '%s'", msg, msg_part);
    json_decref(r.body);
}

static int reset(void **state)
{
    (void)state;
    json_decref(dctx.last_request);
    json_decref(kctx.last_request);
    memset(&dctx, 0, sizeof dctx);
    memset(&kctx, 0, sizeof kctx);
    return 0;
}

static void unknown_service(void **state)
{
    (void)state;
    result r = call("DynamoDB_20991231.GetItem", "{}");
    assert_string_equal(r.content_type, "application/x-amz-json-1.1");
    assert_error(r, 400, "UnknownOperationException", "DynamoDB_20991231.GetItem");
    assert_error(call("NoDotAtAll", "{}"), 400, "UnknownOperationException", "NoDotAtAll");
    assert_error(call(NULL, "{}"), 400, "UnknownOperationException", "no X-Amz-Target");
    assert_error(call("", "{}"), 400, "UnknownOperationException", "''");
    assert_error(call("DynamoDB_2012081.GetItem", "{}"), 400, "UnknownOperationException", "");
    assert_int_equal(dctx.calls + kctx.calls, 0);
}

static void unknown_operation_in_service_namespace(void **state)
{
    (void)state;
    result r = call("DynamoDB_20120810.Teleport", "{}");
    assert_string_equal(r.content_type, "application/x-amz-json-1.0");
    assert_error(r, 400, "com.amazonaws.dynamodb.v20120810#UnknownOperationException",
                 "'Teleport'");
    assert_error(call("Kinesis_20131202.GetItem", "{}"), 400, "UnknownOperationException",
                 "Kinesis_20131202 does not support the operation 'GetItem'");
    assert_error(call("DynamoDB_20120810.", "{}"), 400,
                 "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "''");
    assert_error(call("DynamoDB_20120810.getitem", "{}"), 400,
                 "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "getitem");
    assert_int_equal(dctx.calls + kctx.calls, 0);
}

static void body_must_be_a_json_object(void **state)
{
    (void)state;
    static const char *bad[] = {"[1,2]", "\"str\"", "42", "null", "{", "{\"a\":1}x", "\xff"};
    for (size_t i = 0; i < SP_ARRAY_LEN(bad); i++)
        assert_error(call("DynamoDB_20120810.GetItem", bad[i]), 400,
                     "com.amazonaws.dynamodb.v20120810#SerializationException", "");
    assert_error(call("Kinesis_20131202.DescribeStream", "[]"), 400, "SerializationException",
                 "must be a JSON object");
    assert_int_equal(dctx.calls + kctx.calls, 0); /* the op never saw bad input */
}

static void empty_body_is_an_empty_object(void **state)
{
    (void)state;
    assert_error(call("DynamoDB_20120810.GetItem", ""), 400,
                 "com.amazonaws.dynamodb.v20120810#ValidationException", "'TableName'");
    assert_int_equal(dctx.calls, 1);
    assert_true(json_is_object(dctx.last_request));
    assert_int_equal(json_object_size(dctx.last_request), 0);
}

static void op_errors_are_shaped_with_namespace(void **state)
{
    (void)state;
    assert_error(call("DynamoDB_20120810.GetItem", "{\"TableName\": 5}"), 400,
                 "com.amazonaws.dynamodb.v20120810#SerializationException",
                 "Member 'TableName' must be a string, got integer");
    assert_error(call("DynamoDB_20120810.Throttle", "{}"), 429,
                 "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                 "slow down");
    assert_error(call("DynamoDB_20120810.Silent", "{}"), 500,
                 "com.amazonaws.dynamodb.v20120810#InternalFailure", "Silent failed");
    assert_error(call("Kinesis_20131202.DescribeStream", "{\"Limit\": \"x\"}"), 400,
                 "ValidationException", "'TableName'");
    assert_int_equal(dctx.calls, 3);
    assert_int_equal(kctx.calls, 1);
}

static void success_returns_the_ops_answer(void **state)
{
    (void)state;
    result r = call("DynamoDB_20120810.GetItem", "{\"TableName\":\"Orders\",\"Limit\":3}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/x-amz-json-1.0");
    json_t *want = json_pack("{s:s, s:i}", "Echo", "Orders", "Limit", 3);
    assert_true(json_equal(r.body, want));
    json_decref(want);
    json_decref(r.body);
    assert_int_equal(dctx.calls, 1);
    assert_string_equal(json_string_value(json_object_get(dctx.last_request, "TableName")),
                        "Orders");

    r = call("Kinesis_20131202.DescribeStream", "{\"TableName\":\"s\"}");
    assert_int_equal(r.status, 200);
    assert_string_equal(r.content_type, "application/x-amz-json-1.1");
    assert_int_equal(json_integer_value(json_object_get(r.body, "Limit")), 10);
    json_decref(r.body);
    assert_int_equal(kctx.calls, 1);
}

static void invalid_utf8_in_target_still_gets_a_json_error(void **state)
{
    (void)state;
    /* Found by fuzz_api_request: the message quotes the target, jansson refuses invalid
     * UTF-8, and the dispatcher answered nothing. */
    assert_error(call("DynamoDB_20120810.\xd0utItem", "{}"), 400,
                 "com.amazonaws.dynamodb.v20120810#UnknownOperationException", "'?utItem'");
    assert_error(call("\xff\xfe.X", "{}"), 400, "UnknownOperationException", "'??.X'");
}

static void error_body_shape(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_set(&e, 400, "ResourceNotFoundException", "Stream \"x\" not found");
    size_t len = 0;
    char *body = api_error_body("ns#", &e, &len);
    assert_string_equal(body, "{\"__type\":\"ns#ResourceNotFoundException\","
                              "\"message\":\"Stream \\\"x\\\" not found\"}");
    assert_int_equal(len, strlen(body));
    free(body);
    body = api_error_body(NULL, &e, NULL);
    assert_non_null(strstr(body, "\"__type\":\"ResourceNotFoundException\""));
    free(body);
}

/* The answer of a deferred write whose change failed after its operation had answered (a
 * failed sync): the service's error shape for the target, CBOR for a CBOR request. */
static void deferred_failure_answers_in_the_services_shape(void **state)
{
    (void)state;
    sp_err e = {0};
    sp_err_set(&e, 500, "InternalServerError", "The table's log could not be synced");
    int status = 0;
    size_t len = 0;
    const char *ctype = NULL;
    char *body = api_dispatch_error(services, SP_ARRAY_LEN(services), "DynamoDB_20120810.PutItem",
                                    "application/x-amz-json-1.0", &e, &status, &len, &ctype);
    assert_int_equal(status, 500);
    assert_string_equal(ctype, "application/x-amz-json-1.0");
    json_t *j = json_loadb(body, len, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "__type")),
                        "com.amazonaws.dynamodb.v20120810#InternalServerError");
    assert_non_null(strstr(json_string_value(json_object_get(j, "message")), "synced"));
    json_decref(j);
    free(body);
    body = api_dispatch_error(services, SP_ARRAY_LEN(services), "DynamoDB_20120810.PutItem",
                              "application/x-amz-cbor-1.1", &e, &status, &len, &ctype);
    assert_int_equal(status, 500);
    assert_string_equal(ctype, "application/x-amz-cbor-1.1");
    sp_err ce = {0};
    j = api_cbor_to_json(body, len, &ce);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "__type")),
                        "com.amazonaws.dynamodb.v20120810#InternalServerError");
    json_decref(j);
    free(body);
    body = api_dispatch_error(services, SP_ARRAY_LEN(services), NULL, NULL, &e, &status, &len,
                              &ctype);
    assert_int_equal(status, 500);
    assert_non_null(strstr(body, "\"__type\":\"InternalServerError\""));
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unknown_service, reset, reset),
        cmocka_unit_test_setup_teardown(unknown_operation_in_service_namespace, reset, reset),
        cmocka_unit_test_setup_teardown(body_must_be_a_json_object, reset, reset),
        cmocka_unit_test_setup_teardown(empty_body_is_an_empty_object, reset, reset),
        cmocka_unit_test_setup_teardown(op_errors_are_shaped_with_namespace, reset, reset),
        cmocka_unit_test_setup_teardown(success_returns_the_ops_answer, reset, reset),
        cmocka_unit_test_setup_teardown(invalid_utf8_in_target_still_gets_a_json_error, reset, reset),
        cmocka_unit_test_setup_teardown(error_body_shape, reset, reset),
        cmocka_unit_test_setup_teardown(deferred_failure_answers_in_the_services_shape, reset,
                                        reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
