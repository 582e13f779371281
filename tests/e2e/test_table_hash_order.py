"""DynamoDB's item order and table status windows, driven with boto3 against the real server.

Scan returns items in the order of DynamoDB's internal hash of the partition key, parallel Scan
splits by that hash, and a secondary index orders entries with equal index keys by the hash of
the table key. The hash (as dynalite reproduces it, checked by its conformance suite recorded
against DynamoDB) is the first 24 bits of md5("Outliers" + key bytes), where a number is
DynamoDB's binary number form; the expected orders are computed here independently of the
server. Paging returns each item exactly once; data dirs written before the hash was stored are
migrated. With server.status_transition_ms, tables created, updated and deleted through the API
stay CREATING / UPDATING / DELETING for that long, as a waiter sees them. Also: a write is
charged for the larger of the old and new item, and AttributeUpdates' type mismatch has
DynamoDB's own wording."""
import decimal
import hashlib
import math
import sqlite3
import os
import time

import pytest
from botocore.exceptions import ClientError


def num_bytes(text):
    """DynamoDB's binary form of a number: excess-64 base-100 exponent byte, then two digits a
    byte plus one; negatives complemented (101 - pair) and ended by 102."""
    d = decimal.Decimal(text)
    if d == 0:
        return bytes([0x80])
    sign, digits, exp = d.normalize().as_tuple()
    digits = list(digits)
    e10 = len(digits) + exp            # value = 0.d1d2... * 10**e10
    if e10 % 2:
        digits = [0] + digits
        e10 += 1
    if len(digits) % 2:
        digits.append(0)
    pairs = [digits[i] * 10 + digits[i + 1] for i in range(0, len(digits), 2)]
    first = e10 // 2 - 64
    if sign:
        out = [(~first) & 0xFF] + [101 - p for p in pairs]
        if len(pairs) < 20:
            out.append(102)
    else:
        out = [first & 0xFF] + [p + 1 for p in pairs]
    return bytes(out)


def key_bytes(av):
    (t, v), = av.items()
    return v.encode() if t == "S" else num_bytes(v) if t == "N" else v


def key_hash(*parts):
    h = hashlib.md5(b"Outliers")
    for p in parts:
        h.update(key_bytes(p))
    return int.from_bytes(h.digest()[:3], "big")


def segment_of(h, total):
    """The segment holding hash h: segment s covers the 12-bit prefixes
    ceil(4096 s / total) .. ceil(4096 (s + 1) / total) - 1."""
    for s in range(total):
        lo, hi = math.ceil(4096 * s / total), math.ceil(4096 * (s + 1) / total)
        if lo <= h >> 12 < hi:
            return s
    raise AssertionError("no segment")


def create_hash_table(ddb, name, ktype="S"):
    ddb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": ktype}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])


def scan_all(ddb, **kw):
    items, req = [], dict(kw)
    while True:
        r = ddb.scan(**req)
        items += r["Items"]
        if "LastEvaluatedKey" not in r:
            return items
        req["ExclusiveStartKey"] = r["LastEvaluatedKey"]


S_KEYS = [str(i) for i in range(25)] + ["abc", "abd", "é", "zz", ""]
N_KEYS = ["0", "1", "-1", "10", "0.5", "-123.45", "1E+10", "99", "100", "-0.001",
          "12345678901234567890", "3.14159", "-99999"]


@pytest.mark.parametrize("ktype,keys", [("S", [k for k in S_KEYS if k]), ("N", N_KEYS)])
def test_scan_order_segments_and_paging_follow_the_key_hash(server, ktype, keys):
    ddb = server.client("dynamodb")
    create_hash_table(ddb, "HashOrder", ktype)
    for k in keys:
        ddb.put_item(TableName="HashOrder", Item={"k": {ktype: k}, "v": {"S": "x"}})
    expected = sorted(keys, key=lambda k: (key_hash({ktype: k}), key_bytes({ktype: k})))
    got = [i["k"][ktype] for i in ddb.scan(TableName="HashOrder")["Items"]]
    norm = (lambda v: decimal.Decimal(v)) if ktype == "N" else (lambda v: v)
    assert [norm(v) for v in got] == [norm(k) for k in expected]

    # Paging: each item once, in the same order, whatever the page size.
    for limit in (1, 3, 7):
        paged = [i["k"][ktype] for i in scan_all(ddb, TableName="HashOrder", Limit=limit)]
        assert paged == got

    # Segments: each holds exactly the keys whose hash falls in its share, in hash order.
    for total in (2, 3, 4):
        union = []
        for seg in range(total):
            items = scan_all(ddb, TableName="HashOrder", Segment=seg, TotalSegments=total, Limit=2)
            vals = [i["k"][ktype] for i in items]
            want = [k for k in expected if segment_of(key_hash({ktype: k}), total) == seg]
            assert [norm(v) for v in vals] == [norm(k) for k in want]
            union += vals
        assert sorted(norm(v) for v in union) == sorted(norm(k) for k in keys)


def test_a_starting_key_from_another_segment_is_refused(server):
    ddb = server.client("dynamodb")
    create_hash_table(ddb, "HashOrder")
    keys = [str(i) for i in range(10)]
    for k in keys:
        ddb.put_item(TableName="HashOrder", Item={"k": {"S": k}})
    other = next(k for k in keys if segment_of(key_hash({"S": k}), 2) == 1)
    with pytest.raises(ClientError) as ei:
        ddb.scan(TableName="HashOrder", Segment=0, TotalSegments=2,
                 ExclusiveStartKey={"k": {"S": other}})
    assert ei.value.response["Error"]["Code"] == "ValidationException"
    assert ei.value.response["Error"]["Message"] == (
        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use "
        "ExclusiveStartKey with correct Segment. TotalSegments: 2 Segment: 0")
    # The same key in its own segment is a valid start.
    ddb.scan(TableName="HashOrder", Segment=1, TotalSegments=2, ExclusiveStartKey={"k": {"S": other}})


def create_gsi_table(ddb, name="GsiOrder"):
    ddb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": t}
                              for n, t in (("a", "S"), ("b", "N"), ("c", "S"))],
        KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}, {"AttributeName": "b", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "byc", "KeySchema": [{"AttributeName": "c", "KeyType": "HASH"}],
                                 "Projection": {"ProjectionType": "ALL"}}])


GSI_ITEMS = [(a, b) for a in ("a", "b", "c", "d", "e") for b in ("1", "2", "-7.5")]


def gsi_expected():
    return sorted(GSI_ITEMS, key=lambda ab: (key_hash({"S": ab[0]}, {"N": ab[1]}),
                                             ab[0].encode(), decimal.Decimal(ab[1])))


def gsi_query(ddb, name="GsiOrder", **kw):
    items, req = [], dict(TableName=name, IndexName="byc", KeyConditionExpression="c = :c",
                          ExpressionAttributeValues={":c": {"S": "same"}}, **kw)
    while True:
        r = ddb.query(**req)
        items += [(i["a"]["S"], i["b"]["N"]) for i in r["Items"]]
        if "LastEvaluatedKey" not in r:
            return items
        req["ExclusiveStartKey"] = r["LastEvaluatedKey"]


def test_index_items_with_equal_index_keys_follow_the_table_key_hash(server):
    ddb = server.client("dynamodb")
    create_gsi_table(ddb)
    for a, b in GSI_ITEMS:
        ddb.put_item(TableName="GsiOrder", Item={"a": {"S": a}, "b": {"N": b}, "c": {"S": "same"}})
    expected = gsi_expected()
    assert gsi_query(ddb) == expected
    assert gsi_query(ddb, Limit=2) == expected               # paging: each item once
    assert gsi_query(ddb, ScanIndexForward=False) == expected[::-1]
    assert gsi_query(ddb, ScanIndexForward=False, Limit=4) == expected[::-1]
    r = ddb.query(TableName="GsiOrder", IndexName="byc", KeyConditionExpression="c = :c",
                  ExpressionAttributeValues={":c": {"S": "same"}}, ReturnConsumedCapacity="INDEXES")
    cc = r["ConsumedCapacity"]
    assert cc["Table"]["CapacityUnits"] == 0
    assert cc["GlobalSecondaryIndexes"]["byc"]["CapacityUnits"] == cc["CapacityUnits"] == 0.5


def downgrade(db_path):
    """Turns a data dir's tables.db into the layout before the key hash was stored."""
    con = sqlite3.connect(db_path)
    con.executescript(
        "DROP INDEX items_by_hash; DROP INDEX index_entries_by_hash;"
        "ALTER TABLE items DROP COLUMN hp;"
        "ALTER TABLE index_entries DROP COLUMN ihp; ALTER TABLE index_entries DROP COLUMN thp;")
    cols = [r[1] for r in con.execute("PRAGMA table_info(items)")]
    assert "hp" not in cols
    con.close()


def test_an_old_data_dir_is_migrated_to_the_hash_order(make_server, data_dir):
    s1 = make_server().start()
    ddb = s1.client("dynamodb")
    create_hash_table(ddb, "HashOrder")
    keys = [str(i) for i in range(20)]
    for k in keys:
        ddb.put_item(TableName="HashOrder", Item={"k": {"S": k}})
    create_gsi_table(ddb)
    for a, b in GSI_ITEMS:
        ddb.put_item(TableName="GsiOrder", Item={"a": {"S": a}, "b": {"N": b}, "c": {"S": "same"}})
    assert s1.stop() == 0
    db_path = os.path.join(data_dir, "table", "tables.db")
    downgrade(db_path)
    s1.start()
    ddb = s1.client("dynamodb")
    expected = sorted(keys, key=lambda k: (key_hash({"S": k}), k.encode()))
    assert [i["k"]["S"] for i in scan_all(ddb, TableName="HashOrder", Limit=3)] == expected
    assert gsi_query(ddb, Limit=2) == gsi_expected()
    seg = [i["k"]["S"] for i in scan_all(ddb, TableName="HashOrder", Segment=1, TotalSegments=2)]
    assert seg == [k for k in expected if segment_of(key_hash({"S": k}), 2) == 1]
    # New writes after the migration land in their place too.
    ddb.put_item(TableName="HashOrder", Item={"k": {"S": "new"}})
    expected = sorted(keys + ["new"], key=lambda k: (key_hash({"S": k}), k.encode()))
    assert [i["k"]["S"] for i in scan_all(ddb, TableName="HashOrder")] == expected
    con = sqlite3.connect(db_path)
    assert con.execute("SELECT count(*) FROM items WHERE hp < 0").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM index_entries WHERE ihp < 0 OR thp < 0").fetchone()[0] == 0
    con.close()


def error_of(fn, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


WINDOW_MS = 1500


def test_status_windows_as_a_waiter_sees_them(make_server):
    s1 = make_server(f"server:\n  status_transition_ms: {WINDOW_MS}\n"
                     "tables:\n  - name: FromConfig\n    hash_key: k\n").start()
    ddb = s1.client("dynamodb")
    # Tables of the config file are ACTIVE at once.
    assert ddb.describe_table(TableName="FromConfig")["Table"]["TableStatus"] == "ACTIVE"
    ddb.put_item(TableName="FromConfig", Item={"k": {"S": "x"}})

    create_gsi_table(ddb, "Windowed")
    t = ddb.describe_table(TableName="Windowed")["Table"]
    assert t["TableStatus"] == "CREATING"
    assert [i["IndexStatus"] for i in t["GlobalSecondaryIndexes"]] == ["CREATING"]
    item = {"a": {"S": "a"}, "b": {"N": "1"}, "c": {"S": "same"}}
    assert error_of(ddb.put_item, TableName="Windowed", Item=item) == (
        "ResourceNotFoundException", "Requested resource not found")
    assert error_of(ddb.scan, TableName="Windowed")[0] == "ResourceNotFoundException"
    assert error_of(ddb.delete_table, TableName="Windowed") == (
        "ResourceInUseException",
        "Attempt to change a resource which is still in use: Table is being created: Windowed")
    start = time.time()
    ddb.get_waiter("table_exists").wait(TableName="Windowed", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert time.time() - start >= 0.5
    t = ddb.describe_table(TableName="Windowed")["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert [i["IndexStatus"] for i in t["GlobalSecondaryIndexes"]] == ["ACTIVE"]
    ddb.put_item(TableName="Windowed", Item=item)

    # UpdateTable: UPDATING with the new index CREATING; items stay usable; no second update.
    ddb.update_table(TableName="Windowed",
                     AttributeDefinitions=[{"AttributeName": "d", "AttributeType": "S"}],
                     GlobalSecondaryIndexUpdates=[{"Create": {
                         "IndexName": "byd", "KeySchema": [{"AttributeName": "d", "KeyType": "HASH"}],
                         "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    t = ddb.describe_table(TableName="Windowed")["Table"]
    assert t["TableStatus"] == "UPDATING"
    assert {i["IndexName"]: i["IndexStatus"] for i in t["GlobalSecondaryIndexes"]} == {
        "byc": "ACTIVE", "byd": "CREATING"}
    assert ddb.get_item(TableName="Windowed", Key={"a": {"S": "a"}, "b": {"N": "1"}})["Item"] == item
    assert error_of(ddb.delete_table, TableName="Windowed")[0] == "ResourceInUseException"
    ddb.get_waiter("table_exists").wait(TableName="Windowed", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    t = ddb.describe_table(TableName="Windowed")["Table"]
    assert {i["IndexName"]: i["IndexStatus"] for i in t["GlobalSecondaryIndexes"]} == {
        "byc": "ACTIVE", "byd": "ACTIVE"}

    # DeleteTable: DELETING (listed, described, items gone), then gone.
    d = ddb.delete_table(TableName="Windowed")["TableDescription"]
    assert d["TableStatus"] == "DELETING" and "GlobalSecondaryIndexes" not in d
    assert ddb.describe_table(TableName="Windowed")["Table"]["TableStatus"] == "DELETING"
    assert "Windowed" in ddb.list_tables()["TableNames"]
    assert error_of(ddb.get_item, TableName="Windowed", Key={"a": {"S": "a"}, "b": {"N": "1"}})[0] == \
        "ResourceNotFoundException"
    assert error_of(ddb.create_table, TableName="Windowed", BillingMode="PAY_PER_REQUEST",
                    AttributeDefinitions=[{"AttributeName": "a", "AttributeType": "S"}],
                    KeySchema=[{"AttributeName": "a", "KeyType": "HASH"}])[0] == "ResourceInUseException"
    ddb.get_waiter("table_not_exists").wait(TableName="Windowed", WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    assert "Windowed" not in ddb.list_tables()["TableNames"]
    # The name is free again.
    create_hash_table(ddb, "Windowed")


def test_without_a_window_tables_are_active_at_once(server):
    ddb = server.client("dynamodb")
    d = ddb.create_table(TableName="Plain", BillingMode="PROVISIONED",
                         ProvisionedThroughput={"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])["TableDescription"]
    assert d["TableStatus"] == "CREATING"
    # A provisioned table that was never on demand has no BillingModeSummary (AWS).
    assert "BillingModeSummary" not in d
    ddb.put_item(TableName="Plain", Item={"k": {"S": "x"}})
    assert ddb.describe_table(TableName="Plain")["Table"]["TableStatus"] == "ACTIVE"
    t = ddb.update_table(TableName="Plain", BillingMode="PAY_PER_REQUEST")["TableDescription"]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert "LastUpdateToPayPerRequestDateTime" in t["BillingModeSummary"]
    ddb.delete_table(TableName="Plain")
    assert error_of(ddb.describe_table, TableName="Plain")[0] == "ResourceNotFoundException"


def test_write_capacity_and_legacy_update_type_mismatch(server):
    ddb = server.client("dynamodb")
    create_hash_table(ddb, "Fidelity")
    big = {"k": {"S": "a"}, "b": {"S": "x" * 3000}}
    r = ddb.put_item(TableName="Fidelity", Item=big, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3
    # Replacing a large item by a small one is charged for the larger of the two.
    r = ddb.put_item(TableName="Fidelity", Item={"k": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 3
    r = ddb.put_item(TableName="Fidelity", Item={"k": {"S": "a"}}, ReturnConsumedCapacity="TOTAL")
    assert r["ConsumedCapacity"]["CapacityUnits"] == 1
    ddb.put_item(TableName="Fidelity", Item={"k": {"S": "s"}, "ns": {"NS": ["1"]}})
    for upd in ({"ns": {"Action": "ADD", "Value": {"SS": ["1"]}}},
                {"ns": {"Action": "DELETE", "Value": {"SS": ["1"]}}},
                {"ns": {"Action": "ADD", "Value": {"N": "1"}}}):
        assert error_of(ddb.update_item, TableName="Fidelity", Key={"k": {"S": "s"}},
                        AttributeUpdates=upd) == ("ValidationException",
                                                  "Type mismatch for attribute to update")
    # The expression form keeps its own wording.
    assert error_of(ddb.update_item, TableName="Fidelity", Key={"k": {"S": "s"}},
                    UpdateExpression="ADD ns :v", ExpressionAttributeValues={":v": {"SS": ["1"]}}) == (
        "ValidationException", "An operand in the update expression has an incorrect data type")


def test_strings_keep_u0000_in_items_filters_and_stream_records(server):
    ddb = server.client("dynamodb")
    ddb.create_table(TableName="Nul", BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
    values = {"1": "abd", "2": "abd\x00", "3": "a\x00b", "4": "abc\xff"}
    for k, v in values.items():
        ddb.put_item(TableName="Nul", Item={"k": {"S": k}, "b": {"S": v}, "ss": {"SS": [v, "z"]}})
    for k, v in values.items():
        item = ddb.get_item(TableName="Nul", Key={"k": {"S": k}}, ConsistentRead=True)["Item"]
        assert item["b"]["S"] == v and sorted(item["ss"]["SS"]) == sorted([v, "z"])
    # "abd\0" sorts after "abd" (byte order), so it is not <= "abd".
    r = ddb.scan(TableName="Nul", FilterExpression="b <= :b", ExpressionAttributeValues={":b": {"S": "abd"}})
    assert sorted(i["k"]["S"] for i in r["Items"]) == ["1", "3", "4"]
    r = ddb.scan(TableName="Nul", FilterExpression="b > :b", ExpressionAttributeValues={":b": {"S": "abd"}})
    assert [i["k"]["S"] for i in r["Items"]] == ["2"]
    # A key may hold it too, distinct from the key without it.
    ddb.put_item(TableName="Nul", Item={"k": {"S": "1\x00"}})
    assert ddb.get_item(TableName="Nul", Key={"k": {"S": "1\x00"}})["Item"] == {"k": {"S": "1\x00"}}
    assert "b" in ddb.get_item(TableName="Nul", Key={"k": {"S": "1"}})["Item"]
    streams = server.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="Nul")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    recs = streams.get_records(ShardIterator=it)["Records"]
    images = {r["dynamodb"]["Keys"]["k"]["S"]: r["dynamodb"]["NewImage"] for r in recs}
    assert images["2"]["b"]["S"] == "abd\x00" and images["3"]["b"]["S"] == "a\x00b"


def test_a_u0000_string_flows_through_the_seed_pipe(server):
    from pipe_helpers import read_stream, wait_caught_up
    ddb = server.client("dynamodb")
    ddb.put_item(TableName="OrdersRawTable",
                 Item={"orderid": {"S": "nul"}, "product_name": {"S": "Lap\x00top"},
                       "quantity": {"N": "1"}, "price": {"N": "2.5"}})
    h = wait_caught_up(server, "orders-cdc-pipe")
    assert h["written"] == 1 and h["failed"] == 0
    (_, _, data), = read_stream(server, "kinesis-for-sales-data")
    assert data["dynamodb"]["NewImage"]["product_name"]["S"] == "Lap\x00top"
