"""Bad input changes nothing: for each operation, malformed requests (wrong types, missing
keys, bad expressions, unknown tables, oversize items, too many batch items) get the right
AWS exception, and a full Scan of every table plus its whole stream are identical before and
after. Requests go out as raw JSON so that what botocore would refuse client-side still
reaches the server."""
import json
import urllib.error
import urllib.request

import pytest

TABLE = "OrdersRawTable"
K = {"orderid": {"S": "1"}}
ITEM = {"orderid": {"S": "1"}, "product_name": {"S": "Laptop"}, "quantity": {"N": "2"},
        "price": {"N": "10.5"}}
BIG = {"orderid": {"S": "big"}, "blob": {"S": "x" * (400 * 1024)}}


def call(server, target, body, prefix="DynamoDB_20120810"):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.endpoint, data=data, method="POST", headers={
        "X-Amz-Target": f"{prefix}.{target}", "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


CASES = [
    # (operation, request, expected exception)
    ("PutItem", b"{not json", "SerializationException"),
    ("PutItem", {"TableName": TABLE}, "ValidationException"),
    ("PutItem", {"TableName": "NoSuchTable", "Item": ITEM}, "ResourceNotFoundException"),
    ("PutItem", {"TableName": 7, "Item": ITEM}, "SerializationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"product_name": {"S": "x"}}}, "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"orderid": {"N": "1"}}}, "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"orderid": {"S": ""}}}, "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"orderid": {"S": "1"}, "p": {"N": "abc"}}},
     "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"orderid": {"S": "1"}, "p": {"S": "a", "N": "1"}}},
     "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": {"orderid": {"S": "1"}, "s": {"SS": ["a", "a"]}}},
     "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": BIG}, "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ConditionExpression": "price >"},
     "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ConditionExpression": "price > :p"},
     "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ConditionExpression": "attribute_exists(price)",
                 "ExpressionAttributeValues": {":unused": {"N": "1"}}}, "ValidationException"),
    ("PutItem", {"TableName": TABLE, "Item": dict(ITEM, orderid={"S": "9"}),
                 "ConditionExpression": "attribute_exists(price)"},
     "ConditionalCheckFailedException"),
    ("PutItem", {"TableName": TABLE, "Item": ITEM,
                 "ConditionExpression": "attribute_not_exists(orderid)"},
     "ConditionalCheckFailedException"),
    ("PutItem", {"TableName": TABLE, "Item": ITEM, "ReturnValues": "ALL_NEW"},
     "ValidationException"),
    ("GetItem", {"TableName": TABLE}, "ValidationException"),
    ("GetItem", {"TableName": TABLE, "Key": {"orderid": {"S": "1"}, "x": {"S": "y"}}},
     "ValidationException"),
    ("GetItem", {"TableName": TABLE, "Key": K, "ProjectionExpression": "a,,b"},
     "ValidationException"),
    ("GetItem", {"TableName": "NoSuchTable", "Key": K}, "ResourceNotFoundException"),
    ("UpdateItem", {"TableName": TABLE, "Key": K, "UpdateExpression": "SET"},
     "ValidationException"),
    ("UpdateItem", {"TableName": TABLE, "Key": K, "UpdateExpression": "SET orderid = :v",
                    "ExpressionAttributeValues": {":v": {"S": "2"}}}, "ValidationException"),
    ("UpdateItem", {"TableName": TABLE, "Key": {"orderid": {"S": "9"}},
                    "UpdateExpression": "SET a = :v",
                    "ExpressionAttributeValues": {":v": {"S": "2"}},
                    "ConditionExpression": "attribute_exists(orderid)"},
     "ConditionalCheckFailedException"),
    ("UpdateItem", {"TableName": TABLE, "Key": {"orderid": {"S": "10"}},
                    "UpdateExpression": "SET price = price + :v",
                    "ExpressionAttributeValues": {":v": {"S": "x"}}}, "ValidationException"),
    ("UpdateItem", {"TableName": TABLE, "Key": K, "UpdateExpression": "SET a = :v",
                    "ExpressionAttributeValues": {":v": {"S": "2"}}, "ReturnValues": "BOGUS"},
     "ValidationException"),
    ("DeleteItem", {"TableName": TABLE, "Key": {"orderid": {"N": "10"}}}, "ValidationException"),
    ("DeleteItem", {"TableName": TABLE, "Key": {"orderid": {"S": "10"}},
                    "ConditionExpression": "attribute_exists(orderid)"},
     "ConditionalCheckFailedException"),
    ("DeleteItem", {"TableName": TABLE, "Key": {"orderid": {"S": "10"}},
                    "Expected": {"price": {"Exists": True}}}, "ValidationException"),
    ("DeleteItem", {"TableName": TABLE, "Key": {"orderid": {"S": "10"}},
                    "Expected": {"price": {"Value": {"N": "1"}}},
                    "ConditionExpression": "attribute_exists(price)"}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {TABLE: [{"PutRequest": {"Item": {
        "orderid": {"S": str(i)}}}} for i in range(100, 126)]}}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {TABLE: [
        {"PutRequest": {"Item": {"orderid": {"S": "200"}}}},
        {"PutRequest": {"Item": {"orderid": {"N": "201"}}}}]}}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {TABLE: [
        {"PutRequest": {"Item": {"orderid": {"S": "200"}}}},
        {"DeleteRequest": {"Key": {"orderid": {"S": "200"}}}}]}}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {TABLE: [
        {"PutRequest": {"Item": {"orderid": {"S": "200"}}}},
        {"PutRequest": {"Item": BIG}}]}}, "ValidationException"),
    ("BatchWriteItem", {"RequestItems": {"NoSuchTable": [
        {"PutRequest": {"Item": {"orderid": {"S": "200"}}}}]}}, "ResourceNotFoundException"),
    ("BatchWriteItem", {"RequestItems": {}}, "ValidationException"),
    ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [
        {"orderid": {"S": str(i)}} for i in range(101)]}}}, "ValidationException"),
    ("BatchGetItem", {"RequestItems": {TABLE: {"Keys": [K, K]}}}, "ValidationException"),
    ("Query", {"TableName": TABLE}, "ValidationException"),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "orderid = :o OR orderid = :p",
               "ExpressionAttributeValues": {":o": {"S": "1"}, ":p": {"S": "2"}}},
     "ValidationException"),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "price = :o",
               "ExpressionAttributeValues": {":o": {"S": "1"}}}, "ValidationException"),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "orderid = :o",
               "ExpressionAttributeValues": {":o": {"N": "1"}}}, "ValidationException"),
    ("Query", {"TableName": TABLE, "KeyConditionExpression": "orderid = :o", "Limit": 0,
               "ExpressionAttributeValues": {":o": {"S": "1"}}}, "ValidationException"),
    ("Scan", {"TableName": TABLE, "Segment": 3, "TotalSegments": 3}, "ValidationException"),
    ("Scan", {"TableName": TABLE, "Segment": 0}, "ValidationException"),
    ("Scan", {"TableName": TABLE, "FilterExpression": "price >>= 1"}, "ValidationException"),
    ("Scan", {"TableName": TABLE, "ExclusiveStartKey": {"nope": {"S": "1"}}},
     "ValidationException"),
    ("Scan", {"TableName": "x"}, "ValidationException"),
    ("TransactWriteItems", {"TransactItems": []}, "ValidationException"),
    ("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": TABLE, "Item": {"orderid": {"S": "300"}}}},
        {"Delete": {"TableName": TABLE, "Key": {"orderid": {"S": "300"}}}}]},
     "ValidationException"),
    ("TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": TABLE, "Item": {"orderid": {"S": "300"}}}},
        {"ConditionCheck": {"TableName": TABLE, "Key": {"orderid": {"S": "301"}},
                            "ConditionExpression": "attribute_exists(orderid)"}}]},
     "TransactionCanceledException"),
    ("TransactGetItems", {"TransactItems": [{"Get": {"TableName": "NoSuchTable", "Key": K}}]},
     "ResourceNotFoundException"),
    ("CreateTable", {"TableName": "ab"}, "ValidationException"),
    ("CreateTable", {"TableName": "NewT", "BillingMode": "PAY_PER_REQUEST",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "X"}],
                     "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]},
     "ValidationException"),
    ("CreateTable", {"TableName": "NewT", "BillingMode": "PAY_PER_REQUEST",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "other", "KeyType": "HASH"}]},
     "ValidationException"),
    ("CreateTable", {"TableName": "NewT",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]},
     "ValidationException"),
    ("CreateTable", {"TableName": "NewT", "BillingMode": "PAY_PER_REQUEST",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "k", "KeyType": "RANGE"}]},
     "ValidationException"),
    ("CreateTable", {"TableName": "NewT", "BillingMode": "PAY_PER_REQUEST",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
                     "StreamSpecification": {"StreamEnabled": True}}, "ValidationException"),
    ("CreateTable", {"TableName": TABLE, "BillingMode": "PAY_PER_REQUEST",
                     "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
                     "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}]},
     "ResourceInUseException"),
    ("DescribeTable", {}, "ValidationException"),
    ("DeleteTable", {"TableName": "NoSuchTable"}, "ResourceNotFoundException"),
    ("UpdateTable", {"TableName": TABLE}, "ValidationException"),
    ("UpdateTable", {"TableName": TABLE, "StreamSpecification": {
        "StreamEnabled": True, "StreamViewType": "KEYS_ONLY"}}, "ValidationException"),
    ("ListTables", {"Limit": 0}, "ValidationException"),
    ("NoSuchOperation", {}, "UnknownOperationException"),
]


def snapshot(server):
    """Every table's items and its whole stream."""
    _, tables = call(server, "ListTables", {})
    state = {}
    for t in tables["TableNames"]:
        _, scan = call(server, "Scan", {"TableName": t})
        _, desc = call(server, "DescribeTable", {"TableName": t})
        state[t] = {"items": sorted(json.dumps(i, sort_keys=True) for i in scan["Items"]),
                    "desc": {k: desc["Table"].get(k) for k in
                             ("KeySchema", "StreamSpecification", "LatestStreamArn",
                              "BillingModeSummary", "ItemCount")}}
        arn = desc["Table"].get("LatestStreamArn")
        if arn:
            _, d = call(server, "DescribeStream", {"StreamArn": arn}, "DynamoDBStreams_20120810")
            shard = d["StreamDescription"]["Shards"][0]["ShardId"]
            _, it = call(server, "GetShardIterator", {
                "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"},
                "DynamoDBStreams_20120810")
            _, recs = call(server, "GetRecords", {"ShardIterator": it["ShardIterator"]},
                           "DynamoDBStreams_20120810")
            state[t]["stream"] = [r["dynamodb"]["SequenceNumber"] for r in recs["Records"]]
    return state


@pytest.fixture
def seeded(server):
    for i in range(3):
        item = dict(ITEM, orderid={"S": str(i)})
        status, _ = call(server, "PutItem", {"TableName": TABLE, "Item": item})
        assert status == 200
    return server


def test_bad_requests_get_the_right_error_and_change_nothing(seeded):
    before = snapshot(seeded)
    assert before[TABLE]["stream"], "the seeded writes must be in the stream"
    failures = []
    for op, body, expected in CASES:
        status, resp = call(seeded, op, body)
        code = resp.get("__type", "").split("#")[-1]
        # DynamoDB's front end words a SerializationException under "Message"; boto3 reads
        # either spelling.
        if status != 400 or code != expected or not (resp.get("message") or resp.get("Message")):
            failures.append((op, repr(body)[:120], status, resp))
    assert not failures, "\n".join(map(str, failures))
    assert snapshot(seeded) == before


def test_bad_stream_requests(seeded):
    before = snapshot(seeded)
    _, desc = call(seeded, "DescribeTable", {"TableName": TABLE})
    arn = desc["Table"]["LatestStreamArn"]
    s = "DynamoDBStreams_20120810"
    _, d = call(seeded, "DescribeStream", {"StreamArn": arn}, s)
    shard = d["StreamDescription"]["Shards"][0]["ShardId"]
    cases = [
        ("DescribeStream", {"StreamArn": arn + "x"}, "ResourceNotFoundException"),
        ("DescribeStream", {}, "ValidationException"),
        ("GetShardIterator", {"StreamArn": arn, "ShardId": "shardId-nope",
                              "ShardIteratorType": "LATEST"}, "ResourceNotFoundException"),
        ("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                              "ShardIteratorType": "SIDEWAYS"}, "ValidationException"),
        ("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                              "ShardIteratorType": "AT_SEQUENCE_NUMBER"}, "ValidationException"),
        ("GetShardIterator", {"StreamArn": arn, "ShardId": shard,
                              "ShardIteratorType": "AT_SEQUENCE_NUMBER",
                              "SequenceNumber": "abc"}, "ValidationException"),
        ("GetRecords", {"ShardIterator": "AAAA"}, "ValidationException"),
        ("GetRecords", {}, "ValidationException"),
        ("ListStreams", {"Limit": 0}, "ValidationException"),
    ]
    for op, body, expected in cases:
        status, resp = call(seeded, op, body, s)
        assert status == 400 and resp["__type"].endswith("#" + expected), (op, body, resp)
    assert snapshot(seeded) == before
