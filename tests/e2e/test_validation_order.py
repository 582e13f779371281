"""AWS checks a request in stages and the first failing stage decides the answer: JSON types
(SerializationException), then every model constraint at once (one ValidationException
listing all violations), then semantic checks and resource lookups. These tests pin that
order, the multi-violation message, the __type namespaces of DynamoDB's coral front end and
Kinesis' bare codes, Kinesis' StreamName/StreamARN rule, and that members the model does not
know are ignored. Texts are those the dynalite/kinesalite suites record from the real
services. Requests go out as raw JSON so botocore's client-side checks do not interfere;
boto3 is used where the exception class matters."""
import json
import urllib.error
import urllib.request

import botocore.exceptions
import pytest

TABLE = "OrdersRawTable"
STREAM = "kinesis-for-sales-data"
DDB = ("DynamoDB_20120810", "application/x-amz-json-1.0")
KIN = ("Kinesis_20131202", "application/x-amz-json-1.1")
CORAL_VALIDATION = "com.amazon.coral.validate#ValidationException"
CORAL_SERIALIZATION = "com.amazon.coral.service#SerializationException"
NOT_FOUND = "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"


def call(server, svc, op, body):
    prefix, ctype = svc
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.endpoint, data=data, method="POST", headers={
        "X-Amz-Target": f"{prefix}.{op}", "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def violations(message):
    head, _, rest = message.partition(" detected: ")
    return head, rest.split("; ")


# ---- DynamoDB -----------------------------------------------------------------------------

def test_type_error_beats_constraint_error_beats_not_found(server):
    # a bad type anywhere wins over constraint violations elsewhere
    status, r = call(server, DDB, "PutItem", {"TableName": "a;", "ReturnValues": "hi",
                                               "Item": {"a": {"S": 5}}})
    assert status == 400
    assert r == {"__type": CORAL_SERIALIZATION,
                 "Message": "NUMBER_VALUE cannot be converted to String"}
    # constraint violations win over the missing table
    status, r = call(server, DDB, "GetItem", {"TableName": "NoSuchTable", "Key": {"a": {"S": "1"}},
                                               "ReturnConsumedCapacity": "hi"})
    assert status == 400 and r["__type"] == CORAL_VALIDATION
    assert r["message"] == (
        "1 validation error detected: Value 'hi' at 'returnConsumedCapacity' failed to satisfy "
        "constraint: Member must satisfy enum value set: [INDEXES, TOTAL, NONE]")
    # a semantic check that needs no table also comes before the lookup
    status, r = call(server, DDB, "PutItem", {"TableName": "NoSuchTable",
                                               "Item": {"a": {"S": "1", "N": "1"}}})
    assert status == 400 and r["__type"].endswith("#ValidationException")
    assert "more than one datatypes" in r["message"]
    # only a good request reaches the lookup
    status, r = call(server, DDB, "PutItem", {"TableName": "NoSuchTable", "Item": {"a": {"S": "1"}}})
    assert status == 400 and r["__type"] == NOT_FOUND


@pytest.mark.parametrize("op,body,message", [
    ("PutItem", {"TableName": True}, "TRUE_VALUE cannot be converted to String"),
    ("PutItem", {"TableName": 1.5}, "DECIMAL_VALUE cannot be converted to String"),
    ("PutItem", {"TableName": []}, "Unrecognized collection type class java.lang.String"),
    ("PutItem", {"TableName": {}}, "Start of structure or map found where not expected"),
    ("PutItem", {"Item": []},
     "Unrecognized collection type java.util.Map<java.lang.String, "
     "com.amazonaws.dynamodb.v20120810.AttributeValue>"),
    ("PutItem", {"Item": {"a": "x"}}, "Unexpected value type in payload"),
    ("PutItem", {"Item": {"a": {"B": "23456"}}},
     "Base64 encoded length is expected a multiple of 4 bytes but found: 5"),
    ("PutItem", {"Item": {"a": {"BOOL": "maybe"}}}, "Unexpected token received from parser"),
    ("Query", {"Limit": "3"}, "STRING_VALUE cannot be converted to Integer"),
    ("Query", {"ConsistentRead": 1}, "NUMBER_VALUE cannot be converted to Boolean"),
    ("CreateTable", {"ProvisionedThroughput": 5}, "Unexpected field type"),
    ("CreateTable", {"KeySchema": {}}, "Start of structure or map found where not expected"),
    ("BatchWriteItem", {"RequestItems": {"abc": "x"}},
     "class sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl cannot be cast to "
     "class java.lang.Class (sun.reflect.generics.reflectiveObjects.ParameterizedTypeImpl and "
     "java.lang.Class are in module java.base of loader 'bootstrap')"),
])
def test_json_types_are_serialization_exceptions(server, op, body, message):
    status, r = call(server, DDB, op, body)
    assert status == 400
    assert r == {"__type": CORAL_SERIALIZATION, "Message": message}


def test_all_violations_listed_with_count(server):
    status, r = call(server, DDB, "PutItem", {"TableName": "abc;", "ReturnConsumedCapacity": "hi",
                                               "ReturnItemCollectionMetrics": "hi",
                                               "ReturnValues": "hi"})
    assert status == 400 and r["__type"] == CORAL_VALIDATION
    head, items = violations(r["message"])
    assert head == "5 validation errors"
    assert sorted(items) == sorted([
        "Value 'hi' at 'returnConsumedCapacity' failed to satisfy constraint: "
        "Member must satisfy enum value set: [INDEXES, TOTAL, NONE]",
        "Value 'abc;' at 'tableName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        "Value null at 'item' failed to satisfy constraint: Member must not be null",
        "Value 'hi' at 'returnValues' failed to satisfy constraint: "
        "Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]",
        "Value 'hi' at 'returnItemCollectionMetrics' failed to satisfy constraint: "
        "Member must satisfy enum value set: [SIZE, NONE]",
    ])
    # the members of nested structures and list elements are named by their path, in order
    status, r = call(server, DDB, "CreateTable", {
        "TableName": "abc", "AttributeDefinitions": [],
        "KeySchema": [{"KeyType": "HASH"}, {"AttributeName": "a"},
                      {"KeyType": "Woop", "AttributeName": "a"}],
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": -1}})
    head, items = violations(r["message"])
    assert head == "5 validation errors"
    assert items[0].startswith("Value '[") and items[0].endswith(
        "at 'keySchema' failed to satisfy constraint: Member must have length less than or "
        "equal to 2")
    assert items[1:] == [
        "Value null at 'keySchema.1.member.attributeName' failed to satisfy constraint: "
        "Member must not be null",
        "Value null at 'keySchema.2.member.keyType' failed to satisfy constraint: "
        "Member must not be null",
        "Value 'Woop' at 'keySchema.3.member.keyType' failed to satisfy constraint: "
        "Member must satisfy enum value set: [HASH, RANGE]",
        "Value '-1' at 'provisionedThroughput.writeCapacityUnits' failed to satisfy "
        "constraint: Member must have value greater than or equal to 1",
    ]


def test_violations_capped_at_ten(server):
    keys = [{"KeyType": "X", "AttributeName": "a"} for _ in range(12)]
    status, r = call(server, DDB, "CreateTable", {"TableName": "abc", "AttributeDefinitions": [],
                                                   "KeySchema": keys})
    head, items = violations(r["message"])
    assert head == "10 validation errors" and len(items) == 10


def test_map_key_and_value_constraints(server):
    status, r = call(server, DDB, "BatchWriteItem", {"RequestItems": {"a": []}})
    assert r["__type"] == CORAL_VALIDATION
    head, items = violations(r["message"])
    assert head == "2 validation errors"
    assert any("Map keys must satisfy constraint: [Member must have length less than or equal "
               "to 255, Member must have length greater than or equal to 3" in i for i in items)
    assert any("Map value must satisfy constraint: [Member must have length less than or equal "
               "to 25, Member must have length greater than or equal to 1]" in i for i in items)


def test_control_plane_table_name_checked_first(server):
    _, r = call(server, DDB, "DescribeTable", {})
    assert r == {"__type": CORAL_VALIDATION, "message": "The parameter 'TableName' is required "
                                                         "but was not present in the request"}
    _, r = call(server, DDB, "DeleteTable", {"TableName": "ab"})
    assert r["message"] == ("TableName must be at least 3 characters long and at most 255 "
                            "characters long")


def test_unknown_members_and_nulls_are_ignored(server):
    status, r = call(server, DDB, "PutItem", {"TableName": TABLE, "Bogus": {"x": [1, 2]},
                                               "ReturnValues": None,
                                               "Item": {"orderid": {"S": "v1"}}})
    assert status == 200, r
    status, r = call(server, DDB, "GetItem", {"TableName": TABLE, "Key": {"orderid": {"S": "v1"}},
                                               "AlsoBogus": True})
    assert status == 200 and r["Item"]["orderid"] == {"S": "v1"}


def test_boto3_raises_the_modelled_classes(server):
    dynamodb = server.client("dynamodb")
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        dynamodb.put_item(TableName="NoSuchTable", Item={"a": {"S": "1"}},
                          ReturnValues="ALL_NEW")
    assert ei.value.response["Error"]["Code"] == "ValidationException"
    assert ei.value.response["Error"]["Message"] == "ReturnValues can only be ALL_OLD or NONE"
    with pytest.raises(dynamodb.exceptions.ResourceNotFoundException):
        dynamodb.get_item(TableName="NoSuchTable", Key={"a": {"S": "1"}})


# ---- Kinesis ------------------------------------------------------------------------------

def test_kinesis_type_then_constraints_then_stream_rules(server):
    # a bad type beats the missing stream name
    _, r = call(server, KIN, "PutRecord", {"Data": True, "PartitionKey": "a"})
    assert r == {"__type": "SerializationException",
                 "Message": "class java.lang.Boolean can not be converted to a Blob"}
    _, r = call(server, KIN, "DescribeStream", {"StreamName": "s", "Limit": "3"})
    assert r == {"__type": "SerializationException",
                 "Message": "class java.lang.String can not be converted to an Integer"}
    _, r = call(server, KIN, "PutRecord", {"StreamName": "s", "Data": "=+/=", "PartitionKey": "a"})
    assert r["Message"] == "'=+/=' can not be converted to a Blob: Invalid Base64 character: '='"
    # without StreamName or StreamARN: every violation, StreamName's among them
    _, r = call(server, KIN, "PutRecord", {"PartitionKey": "", "Data": "AAAA"})
    assert r["__type"] == "ValidationException"
    head, items = violations(r["message"])
    assert head == "2 validation errors"
    assert sorted(items) == sorted([
        "Value null at 'streamName' failed to satisfy constraint: Member must not be null",
        "Value '' at 'partitionKey' failed to satisfy constraint: Member must have length "
        "greater than or equal to 1"])
    # a StreamARN stands in for StreamName
    status, r = call(server, KIN, "DescribeStreamSummary",
                     {"StreamARN": f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}"})
    assert status == 200, r
    # constraints win over the missing stream, which is reported only for a good request
    _, r = call(server, KIN, "DescribeStream", {"StreamName": "nope", "Limit": 0})
    assert r["__type"] == "ValidationException" and "at 'limit'" in r["message"]
    _, r = call(server, KIN, "DescribeStream", {"StreamName": "nope"})
    assert r["__type"] == "ResourceNotFoundException"
    kinesis = server.client("kinesis")
    with pytest.raises(kinesis.exceptions.ResourceNotFoundException):
        kinesis.describe_stream(StreamName="nope")


def test_kinesis_pattern_quoted_as_in_the_model(server):
    _, r = call(server, KIN, "PutRecord", {"StreamName": STREAM, "PartitionKey": "a",
                                            "ExplicitHashKey": "x", "Data": "AAAA"})
    assert r["message"] == (
        "1 validation error detected: Value 'x' at 'explicitHashKey' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})")
