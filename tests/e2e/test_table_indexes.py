"""Secondary indexes as DynamoDB has them: CreateTable with local and global indexes (checked
as DynamoDB checks them), DescribeTable with their status and counts, Query and Scan with
IndexName in index order with projections, sparse indexes, typed index keys, paging with
LastEvaluatedKey across equal index keys, and the entries kept across a restart and dropped
with the table. Driven with boto3 against the real server."""
import pytest
from botocore.exceptions import ClientError

TABLE = "RangeWithIndexes"


def create(ddb, name=TABLE, **extra):
    spec = dict(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in "abcd"],
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        LocalSecondaryIndexes=[
            {"IndexName": "index1", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"},
                                                  {"AttributeName": "c", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index2", "KeySchema": [{"AttributeName": "a", "KeyType": "HASH"},
                                                  {"AttributeName": "d", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["c"]}}],
        GlobalSecondaryIndexes=[
            {"IndexName": "index3", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "index4", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"},
                                                  {"AttributeName": "d", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "KEYS_ONLY"}}])
    spec.update(extra)
    return ddb.create_table(**spec)["TableDescription"]


def s(v):
    return {"S": v}


def put_items(ddb):
    items = [
        {"a": s("h"), "b": s("1"), "c": s("x"), "d": s("3"), "e": s("one")},
        {"a": s("h"), "b": s("2"), "c": s("x"), "d": s("1"), "e": s("two")},
        {"a": s("h"), "b": s("3"), "c": s("y"), "d": s("2"), "e": s("three")},
        {"a": s("h"), "b": s("4"), "e": s("no index keys")},          # sparse: in no index
        {"a": s("g"), "b": s("1"), "c": s("x"), "e": s("no d")},      # in index1 and index3
    ]
    for it in items:
        ddb.put_item(TableName=TABLE, Item=it)
    return items


def test_create_describe_and_the_status_a_waiter_sees(server):
    ddb = server.client("dynamodb")
    d = create(ddb)
    assert d["TableStatus"] == "CREATING"
    assert {i["IndexName"]: i["IndexStatus"] for i in d["GlobalSecondaryIndexes"]} == {
        "index3": "CREATING", "index4": "CREATING"}
    ddb.get_waiter("table_exists").wait(TableName=TABLE, WaiterConfig={"Delay": 1, "MaxAttempts": 5})
    t = ddb.describe_table(TableName=TABLE)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert all(i["IndexStatus"] == "ACTIVE" for i in t["GlobalSecondaryIndexes"])
    assert [i["IndexName"] for i in t["LocalSecondaryIndexes"]] == ["index1", "index2"]
    assert t["LocalSecondaryIndexes"][1]["Projection"] == {"ProjectionType": "INCLUDE",
                                                           "NonKeyAttributes": ["c"]}
    assert t["GlobalSecondaryIndexes"][0]["IndexArn"].endswith(f":table/{TABLE}/index/index3")
    put_items(ddb)
    t = ddb.describe_table(TableName=TABLE)["Table"]
    counts = {i["IndexName"]: i["ItemCount"] for i in t["LocalSecondaryIndexes"] + t["GlobalSecondaryIndexes"]}
    assert counts == {"index1": 4, "index2": 3, "index3": 4, "index4": 3}


def test_query_an_index_in_index_order_with_its_projection(server):
    ddb = server.client("dynamodb")
    create(ddb)
    put_items(ddb)
    r = ddb.query(TableName=TABLE, IndexName="index2", KeyConditionExpression="a = :a",
                  ExpressionAttributeValues={":a": s("h")})
    # ordered by d; INCLUDE projects the keys (a, b, d) and c, not e
    assert [i["d"]["S"] for i in r["Items"]] == ["1", "2", "3"]
    assert all(set(i) == {"a", "b", "c", "d"} for i in r["Items"])
    r = ddb.query(TableName=TABLE, IndexName="index2", KeyConditionExpression="a = :a AND d > :d",
                  ExpressionAttributeValues={":a": s("h"), ":d": s("1")}, ScanIndexForward=False)
    assert [i["b"]["S"] for i in r["Items"]] == ["1", "3"]
    # a local index fetches the rest of the item when asked for it
    r = ddb.query(TableName=TABLE, IndexName="index2", KeyConditionExpression="a = :a",
                  ExpressionAttributeValues={":a": s("h")}, Select="ALL_ATTRIBUTES")
    assert {i["e"]["S"] for i in r["Items"]} == {"one", "two", "three"}
    # a global index on another hash key
    r = ddb.query(TableName=TABLE, IndexName="index3", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")})
    assert sorted((i["a"]["S"], i["b"]["S"]) for i in r["Items"]) == [("g", "1"), ("h", "1"), ("h", "2")]
    r = ddb.query(TableName=TABLE, IndexName="index4", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")})
    assert [(i["b"]["S"], i["d"]["S"]) for i in r["Items"]] == [("2", "1"), ("1", "3")]
    assert all(set(i) == {"a", "b", "c", "d"} for i in r["Items"])  # KEYS_ONLY


def test_paging_an_index_with_equal_index_keys_returns_every_item_once(server):
    ddb = server.client("dynamodb")
    create(ddb)
    for n in range(25):
        ddb.put_item(TableName=TABLE, Item={"a": s(f"k{n % 3}"), "b": s(f"{n:03d}"), "c": s("same")})
    seen, start = [], None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        r = ddb.query(TableName=TABLE, IndexName="index3", KeyConditionExpression="c = :c",
                      ExpressionAttributeValues={":c": s("same")}, Limit=4, **kw)
        seen += [(i["a"]["S"], i["b"]["S"]) for i in r["Items"]]
        start = r.get("LastEvaluatedKey")
        if not start:
            break
        assert set(start) == {"a", "b", "c"}
    assert len(seen) == 25 and len(set(seen)) == 25
    scanned = []
    for page in ddb.get_paginator("scan").paginate(TableName=TABLE, IndexName="index3",
                                                   PaginationConfig={"PageSize": 7}):
        scanned += [(i["a"]["S"], i["b"]["S"]) for i in page["Items"]]
    assert sorted(scanned) == sorted(seen)


def test_index_keys_are_typed_and_errors_are_dynamodbs(server):
    ddb = server.client("dynamodb")
    create(ddb)
    with pytest.raises(ClientError) as ex:
        ddb.put_item(TableName=TABLE, Item={"a": s("h"), "b": s("1"), "c": {"N": "1"}})
    assert ex.value.response["Error"]["Message"] == (
        "One or more parameter values were invalid: Type mismatch for Index Key c Expected: S "
        "Actual: N IndexName: index3")
    assert "Item" not in ddb.get_item(TableName=TABLE, Key={"a": s("h"), "b": s("1")})
    with pytest.raises(ClientError) as ex:
        ddb.query(TableName=TABLE, IndexName="nope", KeyConditionExpression="a = :a",
                  ExpressionAttributeValues={":a": s("h")})
    assert ex.value.response["Error"]["Message"] == "The table does not have the specified index: nope"
    with pytest.raises(ClientError) as ex:
        ddb.query(TableName=TABLE, IndexName="index3", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")}, ConsistentRead=True)
    assert "Consistent reads are not supported on global secondary indexes" in str(ex.value)
    with pytest.raises(ClientError) as ex:
        ddb.query(TableName=TABLE, IndexName="index4", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")}, Select="ALL_ATTRIBUTES")
    assert "because its projection type is not ALL" in str(ex.value)


@pytest.mark.parametrize("change, message", [
    (dict(LocalSecondaryIndexes=[]), "List of LocalSecondaryIndexes is empty"),
    (dict(GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "zz", "KeyType": "HASH"}],
                                   "Projection": {"ProjectionType": "ALL"}}]),
     "Some index key attributes are not defined in AttributeDefinitions. Keys: [zz], AttributeDefinitions: [a, b, c, d]"),
    (dict(LocalSecondaryIndexes=[{"IndexName": "lsi", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"},
                                                                  {"AttributeName": "d", "KeyType": "RANGE"}],
                                  "Projection": {"ProjectionType": "ALL"}}]),
     "Index KeySchema does not have the same leading hash key as table KeySchema for index: lsi. "
     "index hash key: c, table hash key: a"),
    (dict(GlobalSecondaryIndexes=[{"IndexName": "gsi", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
                                   "Projection": {"ProjectionType": "ALL", "NonKeyAttributes": ["e"]}}]),
     "ProjectionType is ALL, but NonKeyAttributes is specified"),
    (dict(GlobalSecondaryIndexes=[{"IndexName": "index1", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
                                   "Projection": {"ProjectionType": "ALL"}}]),
     "Duplicate index name: index1"),
])
def test_bad_index_definitions_are_refused_and_create_nothing(server, change, message):
    ddb = server.client("dynamodb")
    with pytest.raises(ClientError) as ex:
        create(ddb, "BadIndexes", **change)
    assert ex.value.response["Error"]["Code"] == "ValidationException"
    assert message in ex.value.response["Error"]["Message"]
    assert "BadIndexes" not in ddb.list_tables()["TableNames"]


def test_index_entries_survive_a_restart_and_go_with_the_table(make_server):
    s1 = make_server().start()
    ddb = s1.client("dynamodb")
    create(ddb)
    put_items(ddb)
    ddb.delete_item(TableName=TABLE, Key={"a": s("h"), "b": s("1")})
    ddb.update_item(TableName=TABLE, Key={"a": s("h"), "b": s("2")}, UpdateExpression="SET c = :y",
                    ExpressionAttributeValues={":y": s("y")})
    assert s1.stop() == 0
    s1.start()
    ddb = s1.client("dynamodb")
    r = ddb.query(TableName=TABLE, IndexName="index3", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("y")})
    assert sorted(i["b"]["S"] for i in r["Items"]) == ["2", "3"]
    r = ddb.query(TableName=TABLE, IndexName="index3", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": s("x")})
    assert [(i["a"]["S"], i["b"]["S"]) for i in r["Items"]] == [("g", "1")]
    ddb.delete_table(TableName=TABLE)
    create(ddb)
    r = ddb.scan(TableName=TABLE, IndexName="index3")
    assert r["Items"] == [] and r["Count"] == 0


def q(**kw):
    return dict(TableName=TABLE, **kw)


@pytest.mark.parametrize("req, message", [
    # No range condition: the starting key's hash key must be the queried one.
    (q(ExclusiveStartKey={"a": s("a"), "b": s("a")}, KeyConditionExpression="a = :a",
       ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key is outside query boundaries based on provided conditions"),
    (q(IndexName="index3", ExclusiveStartKey={"a": s("a"), "b": s("a"), "c": s("a")},
       KeyConditionExpression="c = :a", ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key is outside query boundaries based on provided conditions"),
    # A range condition: the starting key's range key must satisfy it ...
    (q(ExclusiveStartKey={"a": s("b"), "b": s("a")}, KeyConditionExpression="a = :a and b > :a",
       ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key does not match the range key predicate"),
    (q(IndexName="index1", ExclusiveStartKey={"a": s("a"), "b": s("a"), "c": s("a")},
       KeyConditionExpression="a = :a and c > :a", ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key does not match the range key predicate"),
    # ... and then another hash key means the query matched at most one row.
    (q(ExclusiveStartKey={"a": s("a"), "b": s("a")}, KeyConditionExpression="a = :a and b < :a",
       ExpressionAttributeValues={":a": s("b")}),
     "The query can return at most one row and cannot be restarted"),
    (q(IndexName="index4", ExclusiveStartKey={"a": s("a"), "b": s("a"), "c": s("c"), "d": s("a")},
       KeyConditionExpression="c = :c and d = :c", ExpressionAttributeValues={":c": s("a")}),
     "The query can return at most one row and cannot be restarted"),
    # The table's part of an index's starting key is checked as a table key.
    (q(IndexName="index1", ExclusiveStartKey={"a": s("1"), "b": {"N": "1"}, "c": s("a")},
       KeyConditionExpression="a = :a", ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key is invalid: The provided key element does not match the schema"),
    (q(IndexName="index3", ExclusiveStartKey={"x": {"N": "1"}, "y": {"N": "1"}, "c": s("a")},
       KeyConditionExpression="c = :a", ExpressionAttributeValues={":a": s("b")}),
     "The provided starting key is invalid: The provided key element does not match the schema"),
    # The starting key is judged before the filter, the filter before Select.
    (q(IndexName="index4", KeyConditions={"c": {"ComparisonOperator": "EQ", "AttributeValueList": [s("a")]}},
       QueryFilter={"d": {"ComparisonOperator": "EQ", "AttributeValueList": [s("a")]}},
       Select="ALL_ATTRIBUTES"),
     "QueryFilter can only contain non-primary key attributes: Primary key attribute: d"),
])
def test_query_starting_keys_are_judged_against_the_conditions(server, req, message):
    ddb = server.client("dynamodb")
    create(ddb)
    with pytest.raises(ClientError) as ex:
        ddb.query(**req)
    assert ex.value.response["Error"]["Code"] == "ValidationException"
    assert ex.value.response["Error"]["Message"] == message


@pytest.mark.parametrize("esk, message", [
    ({"a": s("a"), "b": s("a"), "c": {"N": "1"}}, "The provided key element does not match the schema"),
    ({"a": s("1"), "b": {"N": "1"}, "c": s("a")},
     "The provided starting key is invalid: The provided key element does not match the schema"),
    ({"a": s("1"), "b": s("1")}, "The provided starting key is invalid"),
])
def test_scan_index_starting_keys_index_part_then_table_part(server, esk, message):
    ddb = server.client("dynamodb")
    create(ddb)
    with pytest.raises(ClientError) as ex:
        ddb.scan(TableName=TABLE, IndexName="index1", ExclusiveStartKey=esk)
    assert ex.value.response["Error"]["Message"] == message


def test_index_query_pages_resume_with_a_starting_key_inside_the_conditions(server):
    ddb = server.client("dynamodb")
    create(ddb)
    put_items(ddb)
    seen, esk = [], None
    while True:
        kw = dict(IndexName="index1", KeyConditionExpression="a = :a and c >= :c",
                  ExpressionAttributeValues={":a": s("h"), ":c": s("x")}, Limit=1)
        if esk:
            kw["ExclusiveStartKey"] = esk
        r = ddb.query(**q(**kw))
        seen += [i["b"]["S"] for i in r["Items"]]
        esk = r.get("LastEvaluatedKey")
        if not esk:
            break
    # Each once; items with equal index keys (b 1 and 2 have c = x) come in the order of
    # DynamoDB's hash of the table key, which test_table_hash_order.py checks.
    assert sorted(seen[:2]) == ["1", "2"] and seen[2] == "3"
