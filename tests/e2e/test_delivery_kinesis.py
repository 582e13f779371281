"""The seed's delivery: DynamoDB stream records put into kinesis-for-sales-data with boto3
Kinesis PutRecords reach the bucket kinesis-firehose-destination-yb through the builtin
dynamodb-cdc processor, as JSON lines with the seed's schema under the Firehose key layout."""
import json
import os
import re
import time

BUCKET = "kinesis-firehose-destination-yb"
KEY_RE = re.compile(r"^\d{4}/\d{2}/\d{2}/\d{2}/sales-delivery-stream-1-\d{4}-\d{2}-\d{2}-\d{2}-"
                    r"\d{2}-\d{2}-[0-9a-f-]{36}$")


def stream_record(event, orderid, product, qty, price, seq, when):
    image = {"orderid": {"S": orderid}, "product_name": {"S": product},
             "quantity": {"N": str(qty)}, "price": {"N": price}}
    ddb = {"ApproximateCreationDateTime": when, "Keys": {"orderid": {"S": orderid}},
           "SequenceNumber": seq, "SizeBytes": 100, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if event == "REMOVE":
        ddb["OldImage"] = image
    else:
        ddb["NewImage"] = image
        if event == "MODIFY":
            ddb["OldImage"] = image
    return {"eventID": seq, "eventName": event, "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "us-east-1", "dynamodb": ddb,
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/OrdersRawTable/stream/x"}


def read_lake(data_dir):
    root = os.path.join(data_dir, "lake", BUCKET)
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.startswith(".tmp-"):
                p = os.path.join(dirpath, f)
                out[os.path.relpath(p, root)] = [json.loads(l) for l in open(p) if l.strip()]
    return out


def test_kinesis_records_reach_lake_through_dynamodb_cdc(server, data_dir):
    kin = server.client("kinesis")
    events = ["INSERT", "MODIFY", "REMOVE"]
    recs = [stream_record(events[i % 3], str(1000 + i), "Laptop", i % 5 + 1,
                          "123.45" if i % 2 else "99", f"{i + 1:021d}", 1700000000 + i)
            for i in range(60)]
    r = kin.put_records(StreamName="kinesis-for-sales-data",
                        Records=[{"Data": json.dumps(x).encode(), "PartitionKey": str(1000 + i)}
                                 for i, x in enumerate(recs)])
    assert r["FailedRecordCount"] == 0
    deadline = time.time() + 20
    rows = []
    while time.time() < deadline:
        objs = read_lake(data_dir)
        rows = [row for lines in objs.values() for row in lines]
        if len(rows) >= 60:
            break
        time.sleep(0.2)
    assert len(rows) == 60
    for key in objs:
        assert KEY_RE.match(key), key
    by_seq = {row["sequence_number"]: row for row in rows}
    for i, x in enumerate(recs):
        row = by_seq[f"{i + 1:021d}"]
        assert list(row) == ["orderid", "product_name", "quantity", "price", "cdc_event_type",
                             "creation_datetime", "sequence_number"]
        assert row["orderid"] == str(1000 + i)
        assert row["quantity"] == i % 5 + 1 and isinstance(row["quantity"], int)
        assert row["price"] == (123.45 if i % 2 else 99)
        assert row["cdc_event_type"] == events[i % 3]
        assert row["creation_datetime"] == time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                         time.gmtime(1700000000 + i))
    # the objects are visible a moment before the delivery stream counts them (its checkpoint
    # comes after the objects' rename)
    deadline = time.time() + 10
    while True:
        health = server.health()["services"]["firehose"]["delivery_streams"]["sales-delivery-stream"]
        if health["records_out"] == 60 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert health["records_out"] == 60 and health["records_failed"] == 0
