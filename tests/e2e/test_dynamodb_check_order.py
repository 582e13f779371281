"""DynamoDB reports the first problem of a request in a fixed order, and the dynalite suite
(recorded against the real service) pins that order: the mix of expression and legacy
parameters, then every AttributeValue (the values inside before the number of types set),
ReturnValues and item size, then the ExpressionAttributeNames/Values maps, then the
expressions (Update, Condition, KeyCondition, Filter, Projection), then the table, and for
Query the key conditions against the key schema. These tests send requests wrong in two
ways at once and check which problem is reported. Raw JSON so botocore's own checks do not
interfere."""
import json
import urllib.error
import urllib.request

import pytest

VALIDATION = "com.amazon.coral.validate#ValidationException"
NOT_FOUND = "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
HASH = "CheckOrderHash"
RANGE = "CheckOrderRange"


def call(server, op, body):
    req = urllib.request.Request(server.endpoint, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Amz-Target": f"DynamoDB_20120810.{op}",
                                          "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def invalid(server, op, body):
    status, r = call(server, op, body)
    assert status == 400 and r["__type"] == VALIDATION, r
    return r["message"]


@pytest.fixture
def tables(server):
    for name, keys in ((HASH, [("a", "HASH")]), (RANGE, [("a", "HASH"), ("b", "RANGE")])):
        status, r = call(server, "CreateTable", {
            "TableName": name, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k, _ in keys],
            "KeySchema": [{"AttributeName": k, "KeyType": t} for k, t in keys]})
        assert status == 200, r
    return server


def test_every_operation_says_requested_resource_not_found(server):
    for op, body in (("PutItem", {"Item": {"a": {"S": "1"}}}), ("GetItem", {"Key": {"a": {"S": "1"}}}),
                     ("DeleteItem", {"Key": {"a": {"S": "1"}}}),
                     ("Query", {"KeyConditionExpression": "a = :a",
                                "ExpressionAttributeValues": {":a": {"S": "1"}}}),
                     ("Scan", {})):
        status, r = call(server, op, dict(body, TableName="NoSuchTable"))
        assert status == 400 and r == {"__type": NOT_FOUND,
                                       "message": "Requested resource not found"}, (op, r)
    # the control plane names the table
    for op in ("DescribeTable", "DeleteTable", "DescribeTimeToLive"):
        status, r = call(server, op, {"TableName": "NoSuchTable"})
        assert status == 400 and r == {
            "__type": NOT_FOUND,
            "message": "Requested resource not found: Table: NoSuchTable not found"}, (op, r)


def test_expression_and_legacy_mix_is_reported_before_bad_values(server):
    msg = invalid(server, "PutItem", {"TableName": "NoSuchTable", "Item": {"a": {}},
                                      "Expected": {"a": {}}, "ConditionExpression": ""})
    assert msg == ("Can not use both expression and non-expression parameters in the same "
                   "request: Non-expression parameters: {Expected} Expression parameters: "
                   "{ConditionExpression}")
    msg = invalid(server, "PutItem", {"TableName": "NoSuchTable", "Item": {"a": {}},
                                      "Expected": {"a": {}}, "ExpressionAttributeNames": {}})
    assert msg == "ExpressionAttributeNames can only be specified when using expressions"
    msg = invalid(server, "UpdateItem", {"TableName": "NoSuchTable", "Key": {"a": {"S": "1"}},
                                         "ExpressionAttributeValues": {}})
    assert msg == ("ExpressionAttributeValues can only be specified when using expressions: "
                   "UpdateExpression and ConditionExpression are null")


def test_attribute_value_checks_inside_before_type_count(server):
    def put(av):
        return invalid(server, "PutItem", {"TableName": "NoSuchTable", "Item": {"a": av},
                                           "Expected": {"a": {}}})
    assert put({"N": "", "S": "a"}) == "The parameter cannot be converted to a numeric value"
    assert put({"NULL": "false"}) == ("One or more parameter values were invalid: Null attribute "
                                      "value types must have the value of true")
    # a member DynamoDB does not know is dropped: the value is empty, and said so bare
    assert put({"Z": "x"}) == ("Supplied AttributeValue is empty, must contain exactly one of the "
                               "supported datatypes")
    assert put({"SS": ["a", "a"]}) == ("One or more parameter values were invalid: Input "
                                       "collection [a, a] contains duplicates.")
    # values come before the legacy Expected's own problem
    assert put({"S": "a", "N": "1"}) == ("Supplied AttributeValue has more than one datatypes "
                                         "set, must contain exactly one of the supported "
                                         "datatypes")


def test_maps_are_checked_before_expressions_and_expressions_in_order(server):
    msg = invalid(server, "UpdateItem", {"TableName": "NoSuchTable", "Key": {"a": {"S": "1"}},
                                         "ConditionExpression": "", "ExpressionAttributeNames": {}})
    assert msg == "ExpressionAttributeNames must not be empty"
    msg = invalid(server, "UpdateItem", {"TableName": "NoSuchTable", "Key": {"a": {"S": "1"}},
                                         "ConditionExpression": "", "UpdateExpression": "",
                                         "ExpressionAttributeValues": {":a": {"Z": "1"}}})
    assert msg == ("ExpressionAttributeValues contains invalid value: Supplied AttributeValue is "
                   "empty, must contain exactly one of the supported datatypes for key :a")
    msg = invalid(server, "UpdateItem", {"TableName": "NoSuchTable", "Key": {"a": {"S": "1"}},
                                         "ConditionExpression": "", "UpdateExpression": ""})
    assert msg == "Invalid UpdateExpression: The expression can not be empty;"
    msg = invalid(server, "Query", {"TableName": "NoSuchTable", "KeyConditionExpression": "",
                                    "FilterExpression": "", "ProjectionExpression": ""})
    assert msg == "Invalid KeyConditionExpression: The expression can not be empty;"


def test_scan_segments_and_batch_get_checked_before_the_table(server):
    msg = invalid(server, "Scan", {"TableName": "NoSuchTable", "Segment": 1,
                                   "FilterExpression": "", "ExpressionAttributeNames": {}})
    assert msg == ("The TotalSegments parameter is required but was not present in the request "
                   "when Segment parameter is present")
    key = {"a": {"S": "1"}, "b": {"S": "2"}}
    msg = invalid(server, "BatchGetItem", {"RequestItems": {"NoSuchTable": {
        "Keys": [key, {"b": {"S": "2"}, "a": {"S": "1"}}]}}})
    assert msg == "Provided list of item keys contains duplicates"
    msg = invalid(server, "BatchGetItem", {"RequestItems": {"NoSuchTable": {
        "Keys": [key], "ProjectionExpression": ""}}})
    assert msg == "Invalid ProjectionExpression: The expression can not be empty;"


def test_key_size_messages_name_hash_and_range(tables):
    msg = invalid(tables, "PutItem", {"TableName": HASH, "Item": {"a": {"S": "x" * 2049}}})
    assert msg == ("One or more parameter values were invalid: Size of hashkey has exceeded the "
                   "maximum size limit of2048 bytes")
    msg = invalid(tables, "PutItem", {"TableName": RANGE,
                                      "Item": {"a": {"S": "x"}, "b": {"S": "y" * 1025}}})
    assert msg == ("One or more parameter values were invalid: Aggregated size of all range keys "
                   "has exceeded the size limit of 1024 bytes")


def test_consumed_capacity_per_key_and_indexes_detail(tables):
    status, _ = call(tables, "PutItem", {"TableName": HASH, "Item": {"a": {"S": "1"}}})
    status, r = call(tables, "PutItem", {"TableName": HASH, "Item": {"a": {"S": "2"}},
                                         "ReturnConsumedCapacity": "INDEXES"})
    assert r["ConsumedCapacity"] == {"TableName": HASH, "CapacityUnits": 1,
                                     "Table": {"CapacityUnits": 1}}
    status, r = call(tables, "GetItem", {"TableName": HASH, "Key": {"a": {"S": "1"}},
                                         "ReturnConsumedCapacity": "TOTAL"})
    assert r["ConsumedCapacity"] == {"TableName": HASH, "CapacityUnits": 0.5}
    # each key is charged on its own, a missing one as a small item
    keys = [{"a": {"S": "1"}}, {"a": {"S": "2"}}, {"a": {"S": "missing"}}]
    status, r = call(tables, "BatchGetItem", {"RequestItems": {HASH: {"Keys": keys}},
                                              "ReturnConsumedCapacity": "TOTAL"})
    assert status == 200 and r["ConsumedCapacity"] == [{"TableName": HASH, "CapacityUnits": 1.5}]
    status, r = call(tables, "BatchGetItem", {
        "RequestItems": {HASH: {"Keys": keys, "ConsistentRead": True}},
        "ReturnConsumedCapacity": "INDEXES"})
    assert r["ConsumedCapacity"] == [{"TableName": HASH, "CapacityUnits": 3,
                                      "Table": {"CapacityUnits": 3}}]


def test_query_key_conditions_meet_the_schema_in_order(tables):
    msg = invalid(tables, "Query", {"TableName": HASH, "IndexName": "whatever",
                                    "KeyConditions": {"z": {"ComparisonOperator": "NULL"}}})
    assert msg == "The table does not have the specified index: whatever"
    msg = invalid(tables, "Query", {"TableName": HASH,
                                    "KeyConditions": {"a": {"ComparisonOperator": "NULL"}}})
    assert msg == "Attempted conditional constraint is not an indexable operation"
    msg = invalid(tables, "Query", {"TableName": RANGE,
                                    "KeyConditions": {"z": {"ComparisonOperator": "NULL"}},
                                    "ExclusiveStartKey": {"a": {"S": "1"}, "b": {"S": "1"}}})
    assert msg == "Query condition missed key schema element: a"
    for kc in ({"KeyConditionExpression": "a > :a"},
               {"KeyConditions": {"a": {"ComparisonOperator": "GT",
                                        "AttributeValueList": [{"S": "1"}]}}}):
        body = dict(kc, TableName=HASH)
        if "KeyConditionExpression" in kc:
            body["ExpressionAttributeValues"] = {":a": {"S": "1"}}
        assert invalid(tables, "Query", body) == "Query key condition not supported"
    msg = invalid(tables, "Query", {"TableName": HASH, "KeyConditionExpression": ":a > a",
                                    "ExpressionAttributeValues": {":a": {"N": "1"}}})
    assert msg == ("One or more parameter values were invalid: Condition parameter type does not "
                   "match schema type")
    msg = invalid(tables, "Query", {"TableName": RANGE, "KeyConditions": {
        "a": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "1"}]},
        "b": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "1"}]},
        "c": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "1"}]}}})
    assert msg == "Conditions can be of length 1 or 2 only"


def test_key_condition_structure_is_reported_bare_and_in_walk_order(server):
    def kce(expr):
        return invalid(server, "Query", {"TableName": "NoSuchTable", "KeyConditionExpression": expr,
                                         "ExpressionAttributeValues": {":a": {"S": "1"},
                                                                       ":b": {"S": "1"}}})
    assert kce("a = :a OR a = :b") == "Invalid operator used in KeyConditionExpression: OR"
    assert kce("a = :a AND b = :b AND size(c) > :a") == (
        "KeyConditionExpressions cannot contain nested operations")
    assert kce(":a BETWEEN a AND :b") == ("Invalid condition in KeyConditionExpression: BETWEEN "
                                         "operator must have the key attribute as its first "
                                         "operand")
    # the operand type is a parse problem: found before the key condition's structure
    msg = invalid(server, "Query", {"TableName": "NoSuchTable",
                                    "KeyConditionExpression": "attribute_type(a, :a)",
                                    "ExpressionAttributeValues": {":a": {"N": "1"}}})
    assert msg.startswith("Invalid KeyConditionExpression: Incorrect operand type for operator or "
                          "function; operator or function: attribute_type")
    msg = invalid(server, "Query", {"TableName": "NoSuchTable", "KeyConditionExpression": "a OR",
                                    "FilterExpression": ""})
    assert msg.startswith("Invalid KeyConditionExpression: Syntax error;")


def test_create_table_checks_billing_then_key_schema(server):
    ks = [{"AttributeName": "a", "KeyType": "HASH"}]
    defs = [{"AttributeName": "b", "AttributeType": "S"}]
    # the throughput is wrong and so is the key schema: the throughput is reported
    msg = invalid(server, "CreateTable", {"TableName": "Tbl1", "KeySchema": ks,
                                          "AttributeDefinitions": defs})
    assert msg == ("One or more parameter values were invalid: ReadCapacityUnits and "
                   "WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
    msg = invalid(server, "CreateTable", {"TableName": "Tbl1", "KeySchema": ks,
                                          "AttributeDefinitions": defs,
                                          "ProvisionedThroughput": {"ReadCapacityUnits": 1000000000001,
                                                                    "WriteCapacityUnits": 1}})
    assert msg == "Given value 1000000000001 for ReadCapacityUnits is out of bounds"
    ppr = {"TableName": "Tbl1", "BillingMode": "PAY_PER_REQUEST"}
    msg = invalid(server, "CreateTable", dict(ppr, AttributeDefinitions=defs, KeySchema=ks + [
        {"AttributeName": "c", "KeyType": "RANGE"}]))
    assert msg == "Invalid KeySchema: Some index key attribute have no definition"
    msg = invalid(server, "CreateTable", dict(ppr, AttributeDefinitions=defs, KeySchema=ks))
    assert msg == ("One or more parameter values were invalid: Some index key attributes are not "
                   "defined in AttributeDefinitions. Keys: [a], AttributeDefinitions: [b]")
    msg = invalid(server, "CreateTable", dict(
        ppr, AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                   {"AttributeName": "b", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"},
                   {"AttributeName": "a", "KeyType": "HASH"}]))
    assert msg == "Both the Hash Key and the Range Key element in the KeySchema have the same name"


def test_legacy_between_bounds_and_value_map_keys_are_checked_before_the_table(server):
    between = "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
    for op, member in (("Query", "KeyConditions"), ("Query", "QueryFilter"), ("Scan", "ScanFilter")):
        body = {"TableName": "NoSuchTable", member: {
            "a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"S": "b"}, {"S": "a"}]}}}
        if member == "QueryFilter":
            body["KeyConditions"] = {"h": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "x"}]}}
        assert invalid(server, op, body) == between, (op, member)
    # Equal bounds are a valid range: the missing table is what is wrong.
    status, r = call(server, "Scan", {"TableName": "NoSuchTable", "ScanFilter": {
        "a": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [{"N": "1"}, {"N": "1.0"}]}}})
    assert status == 400 and r["__type"] == NOT_FOUND
    # A bad key of ExpressionAttributeValues is named before a bad value of another key.
    assert invalid(server, "UpdateItem", {
        "TableName": "NoSuchTable", "Key": {}, "UpdateExpression": "",
        "ExpressionAttributeValues": {":b": {"a": ""}, "b": {"S": "a"}}}) == \
        'ExpressionAttributeValues contains invalid key: Syntax error; key: "b"'
