"""The legacy parameters older SDKs and much existing code send (Expected, AttributeUpdates,
AttributesToGet, KeyConditions, QueryFilter, ScanFilter, ConditionalOperator) work as in
DynamoDB: each means the expression it stands for, is checked with DynamoDB's messages, and
cannot be mixed with expression parameters."""
import pytest
from botocore.exceptions import ClientError

TABLE = "Legacy"


def s(v):
    return {"S": v}


def n(v):
    return {"N": str(v)}


@pytest.fixture
def ddb(server):
    c = server.client("dynamodb")
    c.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                   AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"},
                                         {"AttributeName": "b", "AttributeType": "N"}],
                   KeySchema=[{"AttributeName": "a", "KeyType": "HASH"},
                              {"AttributeName": "b", "KeyType": "RANGE"}])
    for i in range(1, 6):
        c.put_item(TableName=TABLE, Item={"a": s("h"), "b": n(i), "c": s(f"c{i}"), "d": n(i * 10),
                                          "tags": {"SS": ["x", f"t{i}"]}})
    return c


def message(ex):
    return ex.value.response["Error"]["Message"]


def test_attributes_to_get_projects_get_item_query_and_scan(ddb):
    it = ddb.get_item(TableName=TABLE, Key={"a": s("h"), "b": n(1)}, AttributesToGet=["c", "d"])["Item"]
    assert it == {"c": s("c1"), "d": n(10)}
    items = ddb.scan(TableName=TABLE, AttributesToGet=["b"])["Items"]
    assert sorted(int(i["b"]["N"]) for i in items) == [1, 2, 3, 4, 5] and all(set(i) == {"b"} for i in items)
    with pytest.raises(ClientError) as ex:
        ddb.get_item(TableName=TABLE, Key={"a": s("h"), "b": n(1)}, AttributesToGet=["c", "c"])
    assert message(ex) == "One or more parameter values were invalid: Duplicate value in attribute name: c"


def test_key_conditions_and_query_filter(ddb):
    r = ddb.query(TableName=TABLE, KeyConditions={
        "a": {"ComparisonOperator": "EQ", "AttributeValueList": [s("h")]},
        "b": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [n(2), n(4)]}})
    assert [int(i["b"]["N"]) for i in r["Items"]] == [2, 3, 4]
    r = ddb.query(TableName=TABLE, KeyConditions={"a": {"ComparisonOperator": "EQ", "AttributeValueList": [s("h")]}},
                  QueryFilter={"d": {"ComparisonOperator": "GT", "AttributeValueList": [n(20)]},
                               "c": {"ComparisonOperator": "EQ", "AttributeValueList": [s("c1")]}},
                  ConditionalOperator="OR")
    assert [int(i["b"]["N"]) for i in r["Items"]] == [1, 3, 4, 5]
    with pytest.raises(ClientError) as ex:
        ddb.query(TableName=TABLE, KeyConditions={"a": {"ComparisonOperator": "NE", "AttributeValueList": [s("h")]}})
    assert message(ex) == "Attempted conditional constraint is not an indexable operation"


def test_scan_filter_operators(ddb):
    def scan(cond):
        return sorted(int(i["b"]["N"]) for i in ddb.scan(TableName=TABLE, ScanFilter=cond)["Items"])
    assert scan({"d": {"ComparisonOperator": "IN", "AttributeValueList": [n(10), n(50)]}}) == [1, 5]
    assert scan({"c": {"ComparisonOperator": "BEGINS_WITH", "AttributeValueList": [s("c")]}}) == [1, 2, 3, 4, 5]
    assert scan({"tags": {"ComparisonOperator": "CONTAINS", "AttributeValueList": [s("t3")]}}) == [3]
    assert scan({"tags": {"ComparisonOperator": "NOT_CONTAINS", "AttributeValueList": [s("t3")]}}) == [1, 2, 4, 5]
    assert scan({"zz": {"ComparisonOperator": "NULL"}}) == [1, 2, 3, 4, 5]
    assert scan({"c": {"ComparisonOperator": "NE", "AttributeValueList": [s("c2")]},
                 "d": {"ComparisonOperator": "LE", "AttributeValueList": [n(30)]}}) == [1, 3]
    with pytest.raises(ClientError) as ex:
        scan({"d": {"ComparisonOperator": "LT", "AttributeValueList": [{"SS": ["a"]}]}})
    assert message(ex) == ("One or more parameter values were invalid: ComparisonOperator LT is not "
                           "valid for SS AttributeValue type")
    with pytest.raises(ClientError) as ex:
        scan({"d": {"ComparisonOperator": "BETWEEN", "AttributeValueList": [n(3)]}})
    assert message(ex) == ("One or more parameter values were invalid: Invalid number of argument(s) "
                           "for the BETWEEN ComparisonOperator")


def test_expected_guards_writes(ddb):
    key = {"a": s("h"), "b": n(1)}
    ddb.put_item(TableName=TABLE, Item={"a": s("h"), "b": n(1), "c": s("new")},
                 Expected={"c": {"Value": s("c1")}})
    with pytest.raises(ClientError) as ex:
        ddb.put_item(TableName=TABLE, Item={"a": s("h"), "b": n(1), "c": s("newer")},
                     Expected={"c": {"Exists": False}})
    assert ex.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    ddb.delete_item(TableName=TABLE, Key=key, Expected={"c": {"ComparisonOperator": "EQ",
                                                              "AttributeValueList": [s("new")]}})
    assert "Item" not in ddb.get_item(TableName=TABLE, Key=key)
    with pytest.raises(ClientError) as ex:
        ddb.put_item(TableName=TABLE, Item={"a": s("h"), "b": n(9)}, Expected={"c": {"Exists": True}})
    assert message(ex) == ("One or more parameter values were invalid: Value must be provided when "
                           "Exists is true for Attribute: c")


def test_attribute_updates(ddb):
    key = {"a": s("h"), "b": n(2)}
    ddb.update_item(TableName=TABLE, Key=key, AttributeUpdates={
        "c": {"Action": "PUT", "Value": s("put")},
        "d": {"Action": "ADD", "Value": n(5)},
        "tags": {"Action": "DELETE", "Value": {"SS": ["x"]}},
        "l": {"Action": "ADD", "Value": {"L": [s("one")]}},
        "e": {"Action": "ADD", "Value": n(1)}})
    it = ddb.get_item(TableName=TABLE, Key=key)["Item"]
    assert it["c"] == s("put") and it["d"] == n(25) and it["tags"] == {"SS": ["t2"]}
    assert it["l"] == {"L": [s("one")]} and it["e"] == n(1)
    ddb.update_item(TableName=TABLE, Key=key, AttributeUpdates={"c": {"Action": "DELETE"}},
                    Expected={"d": {"ComparisonOperator": "GE", "AttributeValueList": [n(25)]}})
    assert "c" not in ddb.get_item(TableName=TABLE, Key=key)["Item"]
    with pytest.raises(ClientError) as ex:
        ddb.update_item(TableName=TABLE, Key=key, AttributeUpdates={"c": {"Action": "PUT"}})
    assert message(ex) == ("One or more parameter values were invalid: Only DELETE action is allowed "
                           "when no attribute value is specified")


def test_legacy_and_expression_parameters_do_not_mix(ddb):
    with pytest.raises(ClientError) as ex:
        ddb.scan(TableName=TABLE, AttributesToGet=["c"], FilterExpression="d > :v",
                 ExpressionAttributeValues={":v": n(1)})
    assert message(ex) == ("Can not use both expression and non-expression parameters in the same "
                           "request: Non-expression parameters: {AttributesToGet} Expression "
                           "parameters: {FilterExpression}")
    # KeyConditions with a FilterExpression is allowed, as in DynamoDB
    r = ddb.query(TableName=TABLE, KeyConditions={"a": {"ComparisonOperator": "EQ", "AttributeValueList": [s("h")]}},
                  FilterExpression="d > :v", ExpressionAttributeValues={":v": n(30)})
    assert [int(i["b"]["N"]) for i in r["Items"]] == [4, 5]
