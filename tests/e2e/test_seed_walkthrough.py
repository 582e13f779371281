"""Seed steps 1-10 with the aws cli alone, against a salespipe started with no resources at
all: every resource of the seed pipeline is created through its AWS API, the seed's Lambda
transform runs as a Lambda function, and the Athena answer matches the table."""
import json
import os
import time

import pytest

BUCKET = "kinesis-firehose-destination-yb"
ACCOUNT = "000000000000"

# The seed's transformation Lambda in the shape of its README (base64 in, JSON line out),
# taking REMOVE records from OldImage where the seed's would fail.
SEED_LAMBDA = '''
import base64, json, datetime

def lambda_handler(event, context):
    output = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]).decode("utf-8"))
        ddb = payload["dynamodb"]
        image = ddb.get("NewImage") if payload["eventName"] != "REMOVE" else ddb.get("OldImage")
        image = image or ddb["Keys"]
        row = {
            "orderid": image["orderid"]["S"],
            "product_name": image.get("product_name", {}).get("S"),
            "quantity": int(image["quantity"]["N"]) if "quantity" in image else None,
            "price": float(image["price"]["N"]) if "price" in image else None,
            "cdc_event_type": payload["eventName"],
            "creation_datetime": datetime.datetime.utcfromtimestamp(
                int(ddb["ApproximateCreationDateTime"])).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sequence_number": ddb["SequenceNumber"],
        }
        output.append({"recordId": record["recordId"], "result": "Ok",
                       "data": base64.b64encode((json.dumps(row) + "\\n").encode()).decode()})
    return {"records": output}
'''


def until(fn, timeout=60, every=0.3):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(every)
    return fn()


def put_order(s, oid, product, qty, price):
    s.aws("dynamodb", "put-item", "--table-name", "OrdersRawTable", "--item", json.dumps({
        "orderid": {"S": oid}, "product_name": {"S": product}, "quantity": {"N": str(qty)},
        "price": {"N": price}}))


def test_seed_steps_1_to_10_with_the_aws_cli(make_server, data_dir):
    s = make_server("defaults: none\n").start()
    assert s.aws("dynamodb", "list-tables")["TableNames"] == []

    # 1. the table, with its stream
    t = s.aws("dynamodb", "create-table", "--table-name", "OrdersRawTable",
              "--attribute-definitions", "AttributeName=orderid,AttributeType=S",
              "--key-schema", "AttributeName=orderid,KeyType=HASH",
              "--billing-mode", "PAY_PER_REQUEST",
              "--stream-specification", "StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES")
    table_stream_arn = t["TableDescription"]["LatestStreamArn"]

    # 2. the Kinesis data stream
    s.aws("kinesis", "create-stream", "--stream-name", "kinesis-for-sales-data", "--shard-count", "1")
    kinesis_arn = s.aws("kinesis", "describe-stream-summary", "--stream-name",
                        "kinesis-for-sales-data")["StreamDescriptionSummary"]["StreamARN"]

    # 3. the EventBridge pipe from the table stream to Kinesis
    s.aws("pipes", "create-pipe", "--name", "orders-cdc-pipe",
          "--role-arn", f"arn:aws:iam::{ACCOUNT}:role/orders-cdc-pipe-role",
          "--source", table_stream_arn, "--target", kinesis_arn,
          "--source-parameters", json.dumps({"DynamoDBStreamParameters": {
              "StartingPosition": "TRIM_HORIZON", "BatchSize": 10}}),
          "--target-parameters", json.dumps({"KinesisStreamParameters": {
              "PartitionKey": "$.dynamodb.Keys.orderid.S"}}))
    assert until(lambda: s.aws("pipes", "describe-pipe", "--name", "orders-cdc-pipe")
                 ["CurrentState"] == "RUNNING")

    # 4. the mock generator's writes (put_item in a loop), with an overwrite
    put_order(s, "101", "Laptop", 2, "999.99")
    put_order(s, "102", "Phone", 1, "499.5")
    put_order(s, "101", "Laptop", 3, "999.99")

    # 5. the data is in the table and flows into Kinesis
    assert s.aws("dynamodb", "scan", "--table-name", "OrdersRawTable")["Count"] == 2
    shard = s.aws("kinesis", "list-shards", "--stream-name", "kinesis-for-sales-data")["Shards"][0]["ShardId"]
    it = s.aws("kinesis", "get-shard-iterator", "--stream-name", "kinesis-for-sales-data",
               "--shard-id", shard, "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    records = until(lambda: s.aws("kinesis", "get-records", "--shard-iterator", it)["Records"])
    assert len(records) >= 1

    # 6. the CDC events: edit and delete, then read the table's stream
    s.aws("dynamodb", "update-item", "--table-name", "OrdersRawTable",
          "--key", '{"orderid": {"S": "102"}}', "--update-expression", "SET price = :p",
          "--expression-attribute-values", '{":p": {"N": "450"}}')
    s.aws("dynamodb", "delete-item", "--table-name", "OrdersRawTable",
          "--key", '{"orderid": {"S": "101"}}')
    sid = s.aws("dynamodbstreams", "describe-stream", "--stream-arn", table_stream_arn)[
        "StreamDescription"]["Shards"][0]["ShardId"]
    sit = s.aws("dynamodbstreams", "get-shard-iterator", "--stream-arn", table_stream_arn,
                "--shard-id", sid, "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    events = [r["eventName"] for r in
              s.aws("dynamodbstreams", "get-records", "--shard-iterator", sit)["Records"]]
    assert events == ["INSERT", "INSERT", "MODIFY", "MODIFY", "REMOVE"]

    # 7. the bucket, the Lambda transform and the Firehose delivery stream
    s.aws("s3", "mb", f"s3://{BUCKET}")
    lambda_dir = os.path.join(data_dir, "delivery", "lambda")
    os.makedirs(lambda_dir, exist_ok=True)
    with open(os.path.join(lambda_dir, "sales-transform.py"), "w") as f:
        f.write(SEED_LAMBDA)
    lambda_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:sales-transform"
    s.aws("firehose", "create-delivery-stream", "--delivery-stream-name", "sales-delivery-stream",
          "--delivery-stream-type", "KinesisStreamAsSource",
          "--kinesis-stream-source-configuration", json.dumps({
              "KinesisStreamARN": kinesis_arn, "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose"}),
          "--extended-s3-destination-configuration", json.dumps({
              "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose",
              "BucketARN": f"arn:aws:s3:::{BUCKET}",
              "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
              "ProcessingConfiguration": {"Enabled": True, "Processors": [{
                  "Type": "Lambda", "Parameters": [
                      {"ParameterName": "LambdaArn", "ParameterValue": lambda_arn}]}]}}))

    # 8. more mock data; the objects land in the bucket under the Firehose layout
    put_order(s, "103", "Tablet", 4, "300")
    put_order(s, "104", "Charger", 5, "19.99")

    def listed():
        out = s.aws("s3api", "list-objects-v2", "--bucket", BUCKET) or {}
        return out.get("Contents")

    def all_delivered():
        objs = listed() or []
        lines = 0
        for o in objs:
            body = os.path.join(data_dir, "lake", BUCKET, o["Key"])
            lines += sum(1 for l in open(body) if l.strip())
        return lines == 7 and objs

    objects = until(all_delivered)
    assert objects, listed()
    for o in objects:
        parts = o["Key"].split("/")
        assert len(parts) == 5 and parts[4].startswith("sales-delivery-stream-1-"), o["Key"]

    # 9. the classifier, the crawler, the crawled schema
    s.aws("glue", "create-database", "--database-input", "Name=sales_db")
    s.aws("glue", "create-classifier", "--json-classifier", "Name=sales-json-classifier,JsonPath=$")
    s.aws("glue", "create-crawler", "--name", "sales-crawler",
          "--role", f"arn:aws:iam::{ACCOUNT}:role/glue", "--database-name", "sales_db",
          "--classifiers", "sales-json-classifier",
          "--targets", json.dumps({"S3Targets": [{"Path": f"s3://{BUCKET}/"}]}))
    s.aws("glue", "start-crawler", "--name", "sales-crawler")
    crawler = until(lambda: (lambda c: c if c["State"] == "READY" and c.get("LastCrawl") else None)(
        s.aws("glue", "get-crawler", "--name", "sales-crawler")["Crawler"]))
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    table = s.aws("glue", "get-table", "--database-name", "sales_db",
                  "--name", "kinesis_firehose_destination_yb")["Table"]
    columns = {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}
    assert columns["orderid"] == "string" and columns["quantity"] == "bigint"
    assert columns["price"] == "double" and columns["cdc_event_type"] == "string"
    assert [k["Name"] for k in table["PartitionKeys"]] == [f"partition_{i}" for i in range(4)]

    # 10. Athena over the crawled table: the current state equals the table
    q = s.aws("athena", "start-query-execution", "--query-string",
              "SELECT orderid, price FROM (SELECT *, row_number() OVER (PARTITION BY orderid "
              "ORDER BY sequence_number DESC) AS rn FROM kinesis_firehose_destination_yb) "
              "WHERE rn = 1 AND cdc_event_type <> 'REMOVE' ORDER BY orderid",
              "--query-execution-context", "Database=sales_db",
              "--result-configuration", f"OutputLocation=s3://{BUCKET}/athena-results/")
    qid = q["QueryExecutionId"]
    state = until(lambda: (lambda st: st if st in ("SUCCEEDED", "FAILED") else None)(
        s.aws("athena", "get-query-execution", "--query-execution-id", qid)
        ["QueryExecution"]["Status"]["State"]))
    assert state == "SUCCEEDED"
    rows = s.aws("athena", "get-query-results", "--query-execution-id", qid)["ResultSet"]["Rows"]
    got = [[d.get("VarCharValue") for d in r["Data"]] for r in rows[1:]]
    items = s.aws("dynamodb", "scan", "--table-name", "OrdersRawTable")["Items"]
    want = sorted([i["orderid"]["S"], i["price"]["N"]] for i in items)
    assert [[o, float(p)] for o, p in got] == [[o, float(p)] for o, p in want]
