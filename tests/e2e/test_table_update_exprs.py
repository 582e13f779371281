"""UpdateItem's update expressions as DynamoDB has them (dynalite's updateItem.js, written
against DynamoDB): key attributes may be read but not written; index keys are checked for the
type an expression gives them (before the item is read when the value's type is known, after
when it comes from the item); no path may go inside a key attribute; a new item is its key, so
`SET b = a` and `SET b = if_not_exists(b, a)` read the key; arithmetic on nested paths and list
elements, with the sum in parentheses; ReturnValuesOnConditionCheckFailure ALL_OLD returns the
item in ConditionalCheckFailedException (and in a transaction's cancellation reason). Driven
with boto3 and raw HTTP (the installed botocore model predates ReturnValuesOnConditionCheck-
Failure on single writes)."""
import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

HASH = "HashT"
RANGE = "RangeT"


def s(v):
    return {"S": v}


def n(v):
    return {"N": v}


def call(server, target, body):
    req = urllib.request.Request(server.endpoint, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Amz-Target": f"DynamoDB_20120810.{target}",
                                          "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


@pytest.fixture
def ddb(server):
    c = server.client("dynamodb")
    c.create_table(TableName=HASH, AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                   KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    c.create_table(
        TableName=RANGE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": x, "AttributeType": "S"} for x in "abcd"],
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "RANGE"}],
        LocalSecondaryIndexes=[{"IndexName": "index1", "KeySchema": [
            {"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}],
        GlobalSecondaryIndexes=[{"IndexName": "index4", "KeySchema": [
            {"AttributeName": "c", "KeyType": "HASH"}, {"AttributeName": "d", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"}}])
    return c


def err(fn, **kw):
    with pytest.raises(ClientError) as ex:
        fn(**kw)
    return ex.value.response["Error"]["Code"], ex.value.response["Error"]["Message"]


def test_reading_a_key_attribute_is_allowed_and_a_new_item_is_its_key(ddb):
    k = {"a": s("k1")}
    r = ddb.update_item(TableName=HASH, Key=k, UpdateExpression="SET b = if_not_exists(b, a)",
                        ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"b": s("k1")}
    r = ddb.update_item(TableName=HASH, Key={"a": s("k2")}, UpdateExpression="SET b = a, c = a",
                        ReturnValues="ALL_NEW")
    assert r["Attributes"] == {"a": s("k2"), "b": s("k2"), "c": s("k2")}
    code, msg = err(ddb.update_item, TableName=HASH, Key=k, UpdateExpression="SET a = b")
    assert msg == "One or more parameter values were invalid: Cannot update attribute a. This attribute is part of the key"


def test_nested_paths_of_a_missing_item_are_invalid_for_update(ddb):
    for expr in ["SET b.a = a", "SET b[1] = a"]:
        code, msg = err(ddb.update_item, TableName=HASH, Key={"a": s("none")}, UpdateExpression=expr)
        assert msg == "The document path provided in the update expression is invalid for update"


def test_arithmetic_on_nested_paths_and_list_elements(ddb):
    k = {"a": s("k")}
    ddb.update_item(TableName=HASH, Key=k, UpdateExpression="set b = :b, c = :c",
                    ExpressionAttributeValues={":b": {"M": {"a": n("1"), "b": n("2"), "c": n("3")}},
                                               ":c": {"L": [n("1"), n("3")]}})
    r = ddb.update_item(
        TableName=HASH, Key=k,
        UpdateExpression="set b.c=((c[1])+(b.a)),b.a = a,c[1] = a, c[4] = b.a - b.b, c[2] = b.c "
                         "add c[8] :b, c[6] :a",
        ExpressionAttributeValues={":a": n("2"), ":b": {"SS": ["a"]}}, ReturnValues="UPDATED_NEW")
    assert r["Attributes"] == {"b": {"M": {"a": s("k"), "c": n("4")}}, "c": {"L": [s("k"), n("3"), n("2")]}}
    item = ddb.get_item(TableName=HASH, Key=k)["Item"]
    assert item == {"a": s("k"), "b": {"M": {"a": s("k"), "b": n("2"), "c": n("4")}},
                    "c": {"L": [n("1"), s("k"), n("3"), n("-1"), n("2"), {"SS": ["a"]}]}}
    # Parentheses around one operand may still begin a sum; twice around one is redundant.
    ddb.update_item(TableName=HASH, Key=k, UpdateExpression="SET e = (b.b) + :one",
                    ExpressionAttributeValues={":one": n("1")})
    assert ddb.get_item(TableName=HASH, Key=k)["Item"]["e"] == n("3")
    code, msg = err(ddb.update_item, TableName=HASH, Key=k, UpdateExpression="SET e = ((b.b))")
    assert msg == "Invalid UpdateExpression: The expression has redundant parentheses;"


@pytest.mark.parametrize("expr, values, message", [
    ("set d.a = a add c :a", {":a": n("1")},
     "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S Actual: N IndexName: index1"),
    ("set e = c[1], c = a + :a", {":a": n("1")},
     "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S Actual: N IndexName: index1"),
    ("add d.b :a", {":a": n("1")},
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: d"),
    ("set e = list_append(a, b), f = d[1]", None,
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: d"),
    ("set e = a.b", None,
     "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: a"),
])
def test_index_keys_in_update_expressions(ddb, expr, values, message):
    kw = dict(TableName=RANGE, Key={"a": s("x"), "b": s("y")}, UpdateExpression=expr)
    if values:
        kw["ExpressionAttributeValues"] = values
    code, msg = err(ddb.update_item, **kw)
    assert (code, msg) == ("ValidationException", message)


def test_an_index_key_given_a_wrong_type_from_the_item(ddb):
    k = {"a": s("x"), "b": s("y")}
    ddb.update_item(TableName=RANGE, Key=k, UpdateExpression="set e = :a",
                    ExpressionAttributeValues={":a": n("1")})
    for expr in ["set c = e", "set d = e"]:
        code, msg = err(ddb.update_item, TableName=RANGE, Key=k, UpdateExpression=expr)
        assert msg == "The update expression attempted to update the secondary index key to unsupported type"
    # Index keys may be copied from the table's keys, and the indexes follow.
    ddb.update_item(TableName=RANGE, Key=k, UpdateExpression="set c = a, d = b")
    r = ddb.query(TableName=RANGE, IndexName="index4", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")})
    assert [i["d"] for i in r["Items"]] == [s("y")]


def test_return_values_on_condition_check_failure(server, ddb):
    ddb.put_item(TableName=HASH, Item={"a": s("k"), "v": n("1")})
    for op, extra in [("PutItem", {"Item": {"a": s("k")}}), ("DeleteItem", {"Key": {"a": s("k")}}),
                      ("UpdateItem", {"Key": {"a": s("k")}, "UpdateExpression": "SET w = :w",
                                      "ExpressionAttributeValues": {":w": n("2"), ":v": n("9")}})]:
        body = dict(TableName=HASH, ConditionExpression="v = :v", ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    **extra)
        body.setdefault("ExpressionAttributeValues", {":v": n("9")})
        status, r = call(server, op, body)
        assert status == 400 and r["__type"].endswith("#ConditionalCheckFailedException")
        assert r["Item"] == {"a": s("k"), "v": n("1")}
        body["ReturnValuesOnConditionCheckFailure"] = "NONE"
        status, r = call(server, op, body)
        assert status == 400 and "Item" not in r
    status, r = call(server, "PutItem", dict(TableName=HASH, Item={"a": s("k")},
                                             ReturnValuesOnConditionCheckFailure="ALL_NEW"))
    assert status == 400 and r["message"] == (
        "1 validation error detected: Value 'ALL_NEW' at 'returnValuesOnConditionCheckFailure' "
        "failed to satisfy constraint: Member must satisfy enum value set: [ALL_OLD, NONE]")
    assert ddb.get_item(TableName=HASH, Key={"a": s("k")})["Item"] == {"a": s("k"), "v": n("1")}
    with pytest.raises(ClientError) as ex:
        ddb.transact_write_items(TransactItems=[{"ConditionCheck": {
            "TableName": HASH, "Key": {"a": s("k")}, "ConditionExpression": "v = :v",
            "ExpressionAttributeValues": {":v": n("9")}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}])
    reasons = ex.value.response["CancellationReasons"]
    assert reasons[0]["Code"] == "ConditionalCheckFailed"
    assert reasons[0]["Item"] == {"a": s("k"), "v": n("1")}


@pytest.mark.parametrize("op, kw, message", [
    ("get_item", dict(Key={"a": s("x"), "b": s("y")}, ProjectionExpression="#a.b",
                      ExpressionAttributeNames={"#a": "a"}), "Key: a"),
    ("get_item", dict(Key={"a": s("x"), "b": s("y")}, ProjectionExpression="d[0]"), "IndexKey: d"),
    ("query", dict(KeyConditionExpression="a = :a", ExpressionAttributeValues={":a": s("x")},
                   ProjectionExpression="c.x"), "IndexKey: c"),
    ("query", dict(KeyConditionExpression="a = :a", ExpressionAttributeValues={":a": s("x")},
                   FilterExpression="d[1] = :a"), "IndexKey: d"),
    ("scan", dict(ProjectionExpression="b.c"), "Key: b"),
    ("scan", dict(FilterExpression="attribute_exists(c.z)"), "IndexKey: c"),
])
def test_reads_may_not_go_inside_key_attributes(ddb, op, kw, message):
    code, msg = err(getattr(ddb, op), TableName=RANGE, **kw)
    assert msg == ("Key attributes must be scalars; list random access '[]' and map lookup '.' "
                   "are not allowed: " + message)


@pytest.mark.parametrize("op, kw, message", [
    # Conditions: a reserved word before an undefined value or name, whatever comes first.
    ("scan", dict(FilterExpression=":a < abOrT"),
     "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: abOrT"),
    ("scan", dict(FilterExpression="attribute_exists(views, #a)"),
     "Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: views"),
    # ... and redundant parentheses before a condition's own problems.
    ("scan", dict(FilterExpression="a=a and a > ((views))"),
     "Invalid FilterExpression: The expression has redundant parentheses;"),
    # The first condition with a problem names it: here its operands are not distinct.
    ("scan", dict(FilterExpression="a = a AND #a = b AND :views > a"),
     "Invalid FilterExpression: The first operand must be distinct from the remaining operands "
     "for this operator or function; operator: =, first operand: [a]"),
    # Updates: a reserved word before an undefined name.
    ("update_item", dict(Key={"a": s("k")}, UpdateExpression="SET #c = :a, abOrt = :a"),
     "Invalid UpdateExpression: Attribute name is a reserved keyword; reserved keyword: abOrt"),
    # Projections: a reserved word before an undefined name.
    ("get_item", dict(Key={"a": s("k")}, ProjectionExpression="#c, abOrt"),
     "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: abOrt"),
])
def test_expression_problems_are_reported_in_dynamodbs_order(ddb, op, kw, message):
    code, msg = err(getattr(ddb, op), TableName=HASH, **kw)
    assert (code, msg) == ("ValidationException", message)
