"""The table stage through the real AWS clients: the seed's orders written, overwritten,
updated and deleted with boto3 (client and resource) and the aws cli; Scan and Query see
them; the DynamoDB stream holds exactly the INSERT, MODIFY and REMOVE with the right images
in commit order; and every documented error surfaces as its exception class."""
from decimal import Decimal

import botocore.exceptions
import pytest

TABLE = "OrdersRawTable"


def stream_records(server, table=TABLE, iterator_type="TRIM_HORIZON"):
    streams = server.client("dynamodbstreams")
    arn = streams.list_streams(TableName=table)["Streams"][0]["StreamArn"]
    desc = streams.describe_stream(StreamArn=arn)["StreamDescription"]
    shard = desc["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                    ShardIteratorType=iterator_type)["ShardIterator"]
    out = []
    while it:
        page = streams.get_records(ShardIterator=it, Limit=2)
        out += page["Records"]
        if not page["Records"]:
            break
        it = page.get("NextShardIterator")
    return out


def test_seed_orders_through_client_resource_and_cli(server):
    ddb = server.client("dynamodb")
    assert TABLE in ddb.list_tables()["TableNames"]
    desc = ddb.describe_table(TableName=TABLE)["Table"]
    assert desc["KeySchema"] == [{"AttributeName": "orderid", "KeyType": "HASH"}]
    assert desc["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"

    # boto3 resource API, as the seed's generator writes orders
    table = server.resource("dynamodb").Table(TABLE)
    table.put_item(Item={"orderid": "101", "product_name": "Laptop", "quantity": 2,
                         "price": Decimal("499.99")})
    table.put_item(Item={"orderid": "102", "product_name": "Phone", "quantity": 1,
                         "price": Decimal("10.5")})
    # the same order put again: no change, no stream record
    table.put_item(Item={"orderid": "102", "product_name": "Phone", "quantity": 1,
                         "price": Decimal("10.50")})
    # overwrite an orderid (MODIFY), through the aws cli
    server.aws("dynamodb", "put-item", "--table-name", TABLE, "--item",
               '{"orderid":{"S":"101"},"product_name":{"S":"Tablet"},'
               '"quantity":{"N":"3"},"price":{"N":"250"}}')
    # update a price
    out = ddb.update_item(TableName=TABLE, Key={"orderid": {"S": "102"}},
                          UpdateExpression="SET price = :p",
                          ExpressionAttributeValues={":p": {"N": "12.25"}},
                          ReturnValues="UPDATED_OLD")
    assert out["Attributes"] == {"price": {"N": "10.5"}}
    # delete an order
    out = ddb.delete_item(TableName=TABLE, Key={"orderid": {"S": "101"}}, ReturnValues="ALL_OLD")
    assert out["Attributes"]["product_name"] == {"S": "Tablet"}

    items = table.scan()["Items"]
    assert items == [{"orderid": "102", "product_name": "Phone", "quantity": 1,
                      "price": Decimal("12.25")}]
    q = ddb.query(TableName=TABLE, KeyConditionExpression="orderid = :o",
                  ExpressionAttributeValues={":o": {"S": "102"}})
    assert q["Count"] == 1 and q["Items"][0]["price"] == {"N": "12.25"}
    cli_scan = server.aws("dynamodb", "scan", "--table-name", TABLE)
    assert cli_scan["Count"] == 1

    recs = stream_records(server)
    assert [(r["eventName"], r["dynamodb"]["Keys"]["orderid"]["S"]) for r in recs] == [
        ("INSERT", "101"), ("INSERT", "102"), ("MODIFY", "101"), ("MODIFY", "102"),
        ("REMOVE", "101")]
    seqs = [r["dynamodb"]["SequenceNumber"] for r in recs]
    assert seqs == sorted(seqs) and all(len(s) == 21 for s in seqs)
    ins, _, mod, upd, rem = [r["dynamodb"] for r in recs]
    assert "OldImage" not in ins and ins["NewImage"]["price"] == {"N": "499.99"}
    assert mod["OldImage"]["product_name"] == {"S": "Laptop"}
    assert mod["NewImage"]["product_name"] == {"S": "Tablet"}
    assert upd["OldImage"]["price"] == {"N": "10.5"} and upd["NewImage"]["price"] == {"N": "12.25"}
    assert "NewImage" not in rem and rem["OldImage"]["price"] == {"N": "250"}
    for r in recs:
        assert r["eventVersion"] == "1.1" and r["eventSource"] == "aws:dynamodb"
        assert r["awsRegion"] == "us-east-1"
        assert r["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert r["dynamodb"]["SizeBytes"] > 0


def test_range_table_query_scan_batch_and_transactions(server):
    ddb = server.client("dynamodb")
    ddb.create_table(TableName="Events", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "dev", "AttributeType": "S"},
                                           {"AttributeName": "ts", "AttributeType": "N"}],
                     KeySchema=[{"AttributeName": "dev", "KeyType": "HASH"},
                                {"AttributeName": "ts", "KeyType": "RANGE"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "KEYS_ONLY"})
    reqs = [{"PutRequest": {"Item": {"dev": {"S": "a"}, "ts": {"N": str(t)},
                                     "v": {"N": str(t * 10)}}}} for t in (5, -1, 20, 3, 100)]
    assert ddb.batch_write_item(RequestItems={"Events": reqs})["UnprocessedItems"] == {}
    q = ddb.query(TableName="Events", KeyConditionExpression="dev = :d AND ts BETWEEN :a AND :b",
                  ExpressionAttributeValues={":d": {"S": "a"}, ":a": {"N": "0"}, ":b": {"N": "20"}})
    assert [i["ts"]["N"] for i in q["Items"]] == ["3", "5", "20"]
    q = ddb.query(TableName="Events", KeyConditionExpression="dev = :d AND ts > :a",
                  ExpressionAttributeValues={":d": {"S": "a"}, ":a": {"N": "3"}},
                  ScanIndexForward=False, Limit=2)
    assert [i["ts"]["N"] for i in q["Items"]] == ["100", "20"]
    q2 = ddb.query(TableName="Events", KeyConditionExpression="dev = :d AND ts > :a",
                   ExpressionAttributeValues={":d": {"S": "a"}, ":a": {"N": "3"}},
                   ScanIndexForward=False, ExclusiveStartKey=q["LastEvaluatedKey"])
    assert [i["ts"]["N"] for i in q2["Items"]] == ["5"]
    c = ddb.query(TableName="Events", KeyConditionExpression="dev = :d", Select="COUNT",
                  FilterExpression="v >= :m",
                  ExpressionAttributeValues={":d": {"S": "a"}, ":m": {"N": "50"}})
    assert c["Count"] == 3 and c["ScannedCount"] == 5 and "Items" not in c

    # Scan pagination and segments see every item exactly once
    seen, start = [], None
    while True:
        kw = {"ExclusiveStartKey": start} if start else {}
        page = ddb.scan(TableName="Events", Limit=2, **kw)
        seen += [i["ts"]["N"] for i in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            break
    assert sorted(seen, key=float) == ["-1", "3", "5", "20", "100"]
    segs = [ddb.scan(TableName="Events", Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sum(len(s) for s in segs) == 5

    got = ddb.batch_get_item(RequestItems={"Events": {"Keys": [
        {"dev": {"S": "a"}, "ts": {"N": "5"}}, {"dev": {"S": "a"}, "ts": {"N": "6"}}],
        "ProjectionExpression": "v"}})
    assert got["Responses"]["Events"] == [{"v": {"N": "50"}}]

    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": "Events", "Item": {"dev": {"S": "b"}, "ts": {"N": "1"}}}},
        {"Update": {"TableName": "Events", "Key": {"dev": {"S": "a"}, "ts": {"N": "5"}},
                    "UpdateExpression": "ADD v :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": "Events", "Key": {"dev": {"S": "a"}, "ts": {"N": "3"}},
                            "ConditionExpression": "attribute_exists(v)"}}])
    with pytest.raises(ddb.exceptions.TransactionCanceledException) as ex:
        ddb.transact_write_items(TransactItems=[
            {"Delete": {"TableName": "Events", "Key": {"dev": {"S": "b"}, "ts": {"N": "1"}}}},
            {"ConditionCheck": {"TableName": "Events",
                                "Key": {"dev": {"S": "a"}, "ts": {"N": "3"}},
                                "ConditionExpression": "v > :big",
                                "ExpressionAttributeValues": {":big": {"N": "1000"}}}}])
    assert "[None, ConditionalCheckFailed]" in str(ex.value)
    assert [r["Code"] for r in ex.value.response["CancellationReasons"]] == \
        ["None", "ConditionalCheckFailed"]
    tg = ddb.transact_get_items(TransactItems=[
        {"Get": {"TableName": "Events", "Key": {"dev": {"S": "b"}, "ts": {"N": "1"}}}},
        {"Get": {"TableName": "Events", "Key": {"dev": {"S": "a"}, "ts": {"N": "5"}}}}])
    assert tg["Responses"][0]["Item"]["dev"] == {"S": "b"}  # the cancelled delete did nothing
    assert tg["Responses"][1]["Item"]["v"] == {"N": "51"}

    recs = stream_records(server, "Events")
    assert [r["eventName"] for r in recs] == ["INSERT"] * 5 + ["INSERT", "MODIFY"]
    assert all("NewImage" not in r["dynamodb"] for r in recs)

    # the stream can be switched off and on again (new label)
    old_arn = ddb.describe_table(TableName="Events")["Table"]["LatestStreamArn"]
    ddb.update_table(TableName="Events", StreamSpecification={"StreamEnabled": False})
    ddb.put_item(TableName="Events", Item={"dev": {"S": "c"}, "ts": {"N": "1"}})
    ddb.update_table(TableName="Events", StreamSpecification={"StreamEnabled": True,
                                                             "StreamViewType": "NEW_IMAGE"})
    new = ddb.describe_table(TableName="Events")["Table"]
    assert new["LatestStreamArn"] != old_arn
    ddb.put_item(TableName="Events", Item={"dev": {"S": "c"}, "ts": {"N": "2"}})
    recs = stream_records(server, "Events")
    assert [(r["eventName"], r["dynamodb"]["Keys"]["ts"]["N"]) for r in recs] == [("INSERT", "2")]
    assert recs[0]["dynamodb"]["NewImage"]["dev"] == {"S": "c"}

    ddb.delete_table(TableName="Events")
    assert "Events" not in ddb.list_tables()["TableNames"]


def test_list_tables_pages(server):
    ddb = server.client("dynamodb")
    for n in ("t-a", "t-b", "t-c"):
        ddb.create_table(TableName=n, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    first = ddb.list_tables(Limit=2)
    assert first["TableNames"] == ["OrdersRawTable", "t-a"]
    assert first["LastEvaluatedTableName"] == "t-a"
    rest = ddb.list_tables(ExclusiveStartTableName="t-a")
    assert rest["TableNames"] == ["t-b", "t-c"] and "LastEvaluatedTableName" not in rest
    names = [n for page in ddb.get_paginator("list_tables").paginate(PaginationConfig={"PageSize": 1})
             for n in page["TableNames"]]
    assert names == ["OrdersRawTable", "t-a", "t-b", "t-c"]


def test_stream_iterator_types_and_errors(server):
    ddb = server.client("dynamodb")
    streams = server.client("dynamodbstreams")
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={"orderid": {"S": str(i)}})
    arn = streams.list_streams()["Streams"][0]["StreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    first = shard["SequenceNumberRange"]["StartingSequenceNumber"]

    def records(**kw):
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], **kw)
        return streams.get_records(ShardIterator=it["ShardIterator"])

    assert [r["dynamodb"]["Keys"]["orderid"]["S"]
            for r in records(ShardIteratorType="AT_SEQUENCE_NUMBER", SequenceNumber=first)
            ["Records"]] == ["0", "1", "2"]
    assert [r["dynamodb"]["Keys"]["orderid"]["S"]
            for r in records(ShardIteratorType="AFTER_SEQUENCE_NUMBER", SequenceNumber=first)
            ["Records"]] == ["1", "2"]
    latest = records(ShardIteratorType="LATEST")
    assert latest["Records"] == []
    ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "late"}})
    after = streams.get_records(ShardIterator=latest["NextShardIterator"])["Records"]
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in after] == ["late"]

    with pytest.raises(botocore.exceptions.ClientError) as ex:
        streams.get_records(ShardIterator="not-an-iterator-" + "x" * 20)
    assert ex.value.response["Error"]["Code"] == "ValidationException"
    with pytest.raises(streams.exceptions.ResourceNotFoundException):
        streams.describe_stream(StreamArn=arn.replace("OrdersRawTable", "NoSuchTable"))
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        streams.get_records(ShardIterator=latest["NextShardIterator"], Limit=1001)
    assert ex.value.response["Error"]["Code"] == "ValidationException"


def test_documented_errors(server):
    ddb = server.client("dynamodb")
    with pytest.raises(ddb.exceptions.ResourceNotFoundException) as ex:
        ddb.describe_table(TableName="Missing")
    assert "Requested resource not found" in str(ex.value)
    with pytest.raises(ddb.exceptions.ResourceNotFoundException) as ex:
        ddb.put_item(TableName="Missing", Item={"k": {"S": "1"}})
    assert "Requested resource not found" in str(ex.value)
    with pytest.raises(ddb.exceptions.ResourceInUseException):
        ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                         AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}])
    ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "1"}, "price": {"N": "5"}})
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "1"}},
                     ConditionExpression="attribute_not_exists(orderid)")
    with pytest.raises(ddb.exceptions.ConditionalCheckFailedException):
        ddb.delete_item(TableName=TABLE, Key={"orderid": {"S": "1"}},
                        ConditionExpression="price > :p",
                        ExpressionAttributeValues={":p": {"N": "5"}})
    assert ddb.get_item(TableName=TABLE, Key={"orderid": {"S": "1"}})["Item"]["price"] == {"N": "5"}
    out = ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "2"}},
                       ReturnConsumedCapacity="TOTAL")
    assert out["ConsumedCapacity"]["TableName"] == TABLE
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        ddb.update_item(TableName=TABLE, Key={"orderid": {"S": "1"}},
                        UpdateExpression="SET orderid = :x",
                        ExpressionAttributeValues={":x": {"S": "9"}})
    assert ex.value.response["Error"]["Code"] == "ValidationException"
    assert "part of the key" in ex.value.response["Error"]["Message"]
    # the aws cli shows the same error names
    res, proc = server.aws("dynamodb", "describe-table", "--table-name", "Missing", check=False)
    assert proc.returncode != 0 and b"ResourceNotFoundException" in proc.stderr


def test_concurrent_writers_get_one_gapless_stream(server):
    """Many HTTP threads writing at once: every change is one record, seqs are gapless."""
    import concurrent.futures
    ddb = server.client("dynamodb")

    def writer(w):
        for i in range(25):
            ddb.put_item(TableName=TABLE, Item={"orderid": {"S": f"{w}-{i}"},
                                                "quantity": {"N": str(i)}})
        return w

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert sorted(pool.map(writer, range(8))) == list(range(8))
    recs = stream_records(server)
    seqs = [int(r["dynamodb"]["SequenceNumber"]) for r in recs]
    assert seqs == list(range(seqs[0], seqs[0] + 200))
    assert {r["dynamodb"]["Keys"]["orderid"]["S"] for r in recs} == {
        f"{w}-{i}" for w in range(8) for i in range(25)}
    assert ddb.describe_table(TableName=TABLE)["Table"]["ItemCount"] == 200
