"""Bad input changes nothing, across the APIs that test_table_bad_input.py does not cover:
Kinesis, Firehose, Pipes and S3. Each malformed request (wrong JSON types, missing required
members, out-of-range limits, unknown resources, oversize records and batches, invalid base64,
invalid UTF-8, keys escaping the bucket) gets the expected exception and HTTP status, and the
hash of the whole observable state (every table, stream record, pipe, object) is the same
before and after the lot. Requests go out raw so that what botocore would refuse client-side
still reaches the server."""
import base64
import json
import urllib.error
import urllib.request

import pytest

from state_helpers import settled_state

STREAM = "kinesis-for-sales-data"
SOURCED = "sales-delivery-stream"
DIRECT = "direct-put"
BUCKET = "kinesis-firehose-destination-yb"
PIPE = "orders-cdc-pipe"
TABLE_STREAM_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/OrdersRawTable/stream/x"
STREAM_ARN = f"arn:aws:kinesis:us-east-1:000000000000:stream/{STREAM}"
ROLE = "arn:aws:iam::000000000000:role/pipe-role"

CONFIG = f"""defaults: seed
delivery_streams:
  - name: {SOURCED}
    source_stream: {STREAM}
    bucket: {BUCKET}
    buffer_interval_seconds: 1
    processors:
      - type: dynamodb-cdc
  - name: {DIRECT}
    bucket: {BUCKET}
    prefix: direct/
    buffer_interval_seconds: 1
"""

B64 = base64.b64encode(b"payload").decode()
MIB = 1024 * 1024


def b64(n):
    return base64.b64encode(b"x" * n).decode()


def json_call(server, prefix, op, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.endpoint, data=data, method="POST", headers={
        "X-Amz-Target": f"{prefix}.{op}", "Content-Type": "application/x-amz-json-1.1"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read()).get("__type", "(success)")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())["__type"].split("#")[-1]


def rest_call(server, method, path, body=None):
    # Pipes is a JSON REST API (botocore sends application/json); S3 takes any body type.
    pipes = path.startswith(("/v1/pipes", "/tags/"))
    headers = {"Content-Type": "application/json"} if pipes and body is not None else {}
    req = urllib.request.Request(server.endpoint + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, "(success)"
    except urllib.error.HTTPError as e:
        text = e.read()
        code = e.headers.get("x-amzn-ErrorType")
        if not code and b"<Code>" in text:
            code = text.split(b"<Code>")[1].split(b"</Code>")[0].decode()
        return e.code, code


K = "Kinesis_20131202"
F = "Firehose_20150804"
REC = {"Data": B64, "PartitionKey": "k"}

JSON_CASES = [
    # Kinesis
    (K, "PutRecord", b"{not json", 400, "SerializationException"),
    (K, "PutRecord", b'{"StreamName": "' + STREAM.encode() + b'", "Data": "eA==", "PartitionKey": "\xff\xfe"}',
     400, "SerializationException"),
    (K, "PutRecord", {"StreamName": STREAM, "PartitionKey": "k"}, 400, "ValidationException"),
    (K, "PutRecord", {"StreamName": 5, "Data": B64, "PartitionKey": "k"}, 400, "SerializationException"),
    (K, "PutRecord", {"StreamName": STREAM, "Data": ["x"], "PartitionKey": "k"}, 400, "SerializationException"),
    (K, "PutRecord", {"StreamName": STREAM, "Data": "!!notb64", "PartitionKey": "k"}, 400, "SerializationException"),
    (K, "PutRecord", {"StreamName": "no-such-stream", "Data": B64, "PartitionKey": "k"}, 400, "ResourceNotFoundException"),
    (K, "PutRecord", {"StreamName": STREAM, "Data": b64(MIB + 1), "PartitionKey": "k"}, 400, "ValidationException"),
    (K, "PutRecord", {"StreamName": STREAM, "Data": B64, "PartitionKey": "k" * 257}, 400, "ValidationException"),
    (K, "PutRecord", {"StreamName": STREAM, "Data": B64, "PartitionKey": ""}, 400, "ValidationException"),
    (K, "PutRecords", {"StreamName": STREAM, "Records": [REC] * 501}, 400, "ValidationException"),
    (K, "PutRecords", {"StreamName": STREAM, "Records": []}, 400, "ValidationException"),
    (K, "PutRecords", {"StreamName": STREAM, "Records": "x"}, 400, "SerializationException"),
    # One bad record refuses the whole batch: the good one before it is not written either.
    (K, "PutRecords", {"StreamName": STREAM, "Records": [REC, {"Data": "!!", "PartitionKey": "k"}]},
     400, "SerializationException"),
    (K, "PutRecords", {"StreamName": STREAM, "Records": [{"Data": b64(MIB - 100), "PartitionKey": "k"}] * 6},
     400, "InvalidArgumentException"),
    (K, "GetRecords", {"ShardIterator": "garbage"}, 400, "InvalidArgumentException"),
    (K, "GetRecords", {"ShardIterator": "x", "Limit": 0}, 400, "ValidationException"),
    (K, "GetShardIterator", {"StreamName": STREAM, "ShardId": "shardId-000000000009",
                             "ShardIteratorType": "TRIM_HORIZON"}, 400, "ResourceNotFoundException"),
    (K, "GetShardIterator", {"StreamName": STREAM, "ShardId": "shardId-000000000000",
                             "ShardIteratorType": "BOGUS"}, 400, "ValidationException"),
    (K, "GetShardIterator", {"StreamName": STREAM, "ShardId": "shardId-000000000000",
                             "ShardIteratorType": "AT_SEQUENCE_NUMBER"}, 400, "InvalidArgumentException"),
    (K, "CreateStream", {"StreamName": STREAM, "ShardCount": 1}, 400, "ResourceInUseException"),
    (K, "CreateStream", {"StreamName": "new-stream", "ShardCount": 0}, 400, "ValidationException"),
    (K, "CreateStream", {"StreamName": "bad name!", "ShardCount": 1}, 400, "ValidationException"),
    (K, "CreateStream", {"StreamName": "new-stream", "ShardCount": "1"}, 400, "SerializationException"),
    (K, "DeleteStream", {"StreamName": "no-such-stream"}, 400, "ResourceNotFoundException"),
    (K, "ListShards", {"StreamName": STREAM, "MaxResults": 100000}, 400, "ValidationException"),
    (K, "NoSuchOperation", {}, 400, "UnknownOperationException"),
    # Firehose
    (F, "PutRecord", b"[1, 2", 400, "SerializationException"),
    (F, "PutRecord", b'{"DeliveryStreamName": "direct-put\xff", "Record": {"Data": "eA=="}}', 400, "SerializationException"),
    (F, "PutRecord", {"DeliveryStreamName": DIRECT}, 400, "ValidationException"),
    (F, "PutRecord", {"DeliveryStreamName": 3, "Record": {"Data": B64}}, 400, "SerializationException"),
    (F, "PutRecord", {"DeliveryStreamName": DIRECT, "Record": {"Data": "!!"}}, 400, "SerializationException"),
    (F, "PutRecord", {"DeliveryStreamName": "no-such", "Record": {"Data": B64}}, 400, "ResourceNotFoundException"),
    (F, "PutRecord", {"DeliveryStreamName": DIRECT, "Record": {"Data": b64(1000 * 1024 + 1)}}, 400, "InvalidArgumentException"),
    (F, "PutRecord", {"DeliveryStreamName": SOURCED, "Record": {"Data": B64}}, 400, "InvalidArgumentException"),
    (F, "PutRecordBatch", {"DeliveryStreamName": DIRECT, "Records": [{"Data": B64}] * 501}, 400, "InvalidArgumentException"),
    (F, "PutRecordBatch", {"DeliveryStreamName": DIRECT, "Records": []}, 400, "InvalidArgumentException"),
    (F, "PutRecordBatch", {"DeliveryStreamName": DIRECT, "Records": [{"Data": B64}, {"Data": "!!"}]}, 400, "SerializationException"),
    (F, "CreateDeliveryStream", {"DeliveryStreamName": DIRECT}, 400, "InvalidArgumentException"),
    (F, "DeleteDeliveryStream", {"DeliveryStreamName": "no-such"}, 400, "ResourceNotFoundException"),
    (F, "ListDeliveryStreams", {"Limit": 100000}, 400, "InvalidArgumentException"),
]

PIPE_BODY = json.dumps({"Source": TABLE_STREAM_ARN, "Target": STREAM_ARN, "RoleArn": ROLE}).encode()

REST_CASES = [
    # Pipes
    ("GET", "/v1/pipes/no-such-pipe", None, 404, "NotFoundException"),
    ("POST", f"/v1/pipes/{PIPE}", PIPE_BODY, 409, "ConflictException"),
    ("POST", "/v1/pipes/new-pipe", b"{bad", 400, "ValidationException"),
    ("POST", "/v1/pipes/new-pipe", b"\xff\xfe", 400, "ValidationException"),
    ("POST", "/v1/pipes/new-pipe", b'{"Source": 5}', 400, "SerializationException"),
    ("POST", "/v1/pipes/new-pipe", json.dumps({"Source": "x", "Target": STREAM_ARN, "RoleArn": ROLE}).encode(),
     400, "ValidationException"),
    ("POST", "/v1/pipes/" + "p" * 65, PIPE_BODY, 400, "ValidationException"),
    ("PUT", f"/v1/pipes/{PIPE}", json.dumps({"RoleArn": ROLE, "SourceParameters": {
        "DynamoDBStreamParameters": {"BatchSize": 0}}}).encode(), 400, "ValidationException"),
    ("PUT", f"/v1/pipes/{PIPE}", json.dumps({"RoleArn": ROLE, "SourceParameters": {
        "DynamoDBStreamParameters": {"BatchSize": 10001}}}).encode(), 400, "ValidationException"),
    ("PUT", f"/v1/pipes/{PIPE}", json.dumps({"RoleArn": ROLE, "SourceParameters": {
        "FilterCriteria": {"Filters": [{"Pattern": "{not json"}]}}}).encode(), 400, "ValidationException"),
    ("POST", "/v1/pipes/no-such-pipe/start", b"", 404, "NotFoundException"),
    ("DELETE", "/v1/pipes/no-such-pipe", None, 404, "NotFoundException"),
    ("GET", "/v1/pipes?Limit=1000", None, 400, "ValidationException"),
    # S3
    ("GET", "/no-such-bucket/x", None, 404, "NoSuchBucket"),
    ("PUT", "/no-such-bucket/x", b"x", 404, "NoSuchBucket"),
    ("GET", f"/{BUCKET}/no-such-key", None, 404, "NoSuchKey"),
    ("PUT", f"/{BUCKET}/../outside", b"x", 400, "InvalidArgument"),
    ("PUT", f"/{BUCKET}/a/%2e%2e/%2e%2e/outside", b"x", 400, "InvalidArgument"),
    ("PUT", f"/{BUCKET}/a%2F..%2F..%2Foutside", b"x", 400, "InvalidArgument"),
    ("PUT", f"/{BUCKET}/a//b", b"x", 400, "InvalidArgument"),
    ("PUT", f"/{BUCKET}/a%00.json", b"x", 400, "InvalidURI"),
    ("PUT", f"/{BUCKET}/%FF%FE.json", b"x", 400, "InvalidArgument"),
    ("PUT", f"/{BUCKET}/" + "k" * 1025, b"x", 400, "KeyTooLongError"),
    ("PUT", "/UPPER-case", None, 400, "InvalidBucketName"),
    ("PUT", "/a..b", None, 400, "InvalidBucketName"),
    ("DELETE", f"/{BUCKET}", None, 409, "BucketNotEmpty"),
]


@pytest.fixture
def loaded(make_server):
    s = make_server(CONFIG).start()
    ddb, kin, fh, s3 = s.client("dynamodb"), s.client("kinesis"), s.client("firehose"), s.client("s3")
    for i in range(5):
        ddb.put_item(TableName="OrdersRawTable", Item={"orderid": {"S": str(i)}, "price": {"N": "9.5"}})
    kin.put_record(StreamName=STREAM, Data=b'{"direct": 1}', PartitionKey="p")
    fh.put_record(DeliveryStreamName=DIRECT, Record={"Data": b'{"firehose": 1}\n'})
    s3.put_object(Bucket=BUCKET, Key="manual/x.json", Body=b'{"x": 1}\n')
    return s


def test_bad_requests_get_the_right_error_and_change_nothing(loaded):
    before = settled_state(loaded)
    wrong = []
    for prefix, op, body, status, code in JSON_CASES:
        got = json_call(loaded, prefix, op, body)
        if got != (status, code):
            wrong.append(f"{prefix}.{op} {str(body)[:80]}: got {got}, want {(status, code)}")
    for method, path, body, status, code in REST_CASES:
        got = rest_call(loaded, method, path, body)
        if got != (status, code):
            wrong.append(f"{method} {path[:60]}: got {got}, want {(status, code)}")
    assert not wrong, "\n".join(wrong)
    assert settled_state(loaded) == before
