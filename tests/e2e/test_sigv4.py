"""SigV4 on the endpoint: with `credentials:` in the config, boto3 and the aws cli signing with
a configured key work on every API; a wrong secret, an unknown key, an unsigned request or an
action outside the key's allow list is refused with the exception real AWS raises (403), and
the whole observable state is unchanged afterwards. Without credentials nothing is checked."""
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import botocore.config
import pytest
from botocore import UNSIGNED
from botocore.exceptions import ClientError

from conftest import BIN, REGION
from state_helpers import settled_state

TABLE = "OrdersRawTable"
STREAM = "kinesis-for-sales-data"
BUCKET = "kinesis-firehose-destination-yb"
PIPE = "orders-cdc-pipe"

ADMIN = ("AKIDADMIN0000001", "admin/secret+key")
# The seed's IAM note, as an allow list: the pipe's role reads DynamoDB and writes Kinesis.
PIPE_ROLE = ("AKIDPIPEROLE0001", "pipe-role-secret")
PIPE_ROLE_ALLOW = ["dynamodb:Describe*", "dynamodb:Get*", "dynamodb:List*", "dynamodb:Scan",
                   "dynamodb:Query", "kinesis:PutRecord", "kinesis:PutRecords",
                   "kinesis:Describe*", "kinesis:ListShards"]
READER = ("AKIDREADER000001", "reader-secret")
READER_ALLOW = ["s3:GetObject", "s3:ListBucket", "s3:ListAllMyBuckets"]

CONFIG = f"""defaults: seed
credentials:
  - access_key_id: {ADMIN[0]}
    secret_access_key: "{ADMIN[1]}"
  - access_key_id: {PIPE_ROLE[0]}
    secret_access_key: {PIPE_ROLE[1]}
    allow: {json.dumps(PIPE_ROLE_ALLOW)}
  - access_key_id: {READER[0]}
    secret_access_key: {READER[1]}
    allow: {json.dumps(READER_ALLOW)}
"""


def client(server, service, key, **kw):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60,
                                 **kw)
    return boto3.client(service, endpoint_url=server.endpoint, region_name=REGION,
                        aws_access_key_id=key[0], aws_secret_access_key=key[1], config=cfg)


def admin(server):
    return lambda service: client(server, service, ADMIN)


def error_of(fn):
    with pytest.raises(ClientError) as ei:
        fn()
    r = ei.value.response
    return r["Error"]["Code"], r["ResponseMetadata"]["HTTPStatusCode"]


def aws(server, key, *args):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=key[0], AWS_SECRET_ACCESS_KEY=key[1],
               AWS_DEFAULT_REGION=REGION, AWS_PAGER="")
    return subprocess.run(["aws", "--endpoint-url", server.endpoint, "--output", "json"] + list(args),
                          capture_output=True, env=env, timeout=120)


@pytest.fixture
def signed(make_server):
    s = make_server(CONFIG).start()
    yield s


def seed_some_data(server):
    ddb = client(server, "dynamodb", ADMIN)
    for i in range(3):
        ddb.put_item(TableName=TABLE, Item={"orderid": {"S": str(i)}, "price": {"N": "10.5"}})
    client(server, "kinesis", ADMIN).put_record(StreamName=STREAM, Data=b"direct",
                                                PartitionKey="k")
    client(server, "s3", ADMIN).put_object(Bucket=BUCKET, Key="dir/a b+c/\u00e9t\u00e9.json",
                                           Body=b'{"x":1}\n')


def test_signed_boto3_works_on_every_api(signed):
    ddb = client(signed, "dynamodb", ADMIN)
    ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "42"}, "quantity": {"N": "3"}})
    assert ddb.get_item(TableName=TABLE, Key={"orderid": {"S": "42"}})["Item"]["quantity"] == {"N": "3"}
    streams = client(signed, "dynamodbstreams", ADMIN)
    assert streams.list_streams(TableName=TABLE)["Streams"]
    kin = client(signed, "kinesis", ADMIN)
    seq = kin.put_record(StreamName=STREAM, Data=b"hello", PartitionKey="p")["SequenceNumber"]
    assert seq
    assert kin.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamName"] == STREAM
    s3 = client(signed, "s3", ADMIN)
    # Keys with characters that are encoded on the wire: S3 signs the path encoded once.
    for key in ("plain.json", "with space/and+plus/x=1&y.json", "\u00fcnic\u00f6de/\u6587.json",
                "tilde~star*paren(1).json"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=key.encode())
        assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == key.encode()
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="with space/")["Contents"]
    assert [o["Key"] for o in listed] == ["with space/and+plus/x=1&y.json"]
    s3.delete_object(Bucket=BUCKET, Key="plain.json")
    pipes = client(signed, "pipes", ADMIN)
    assert [p["Name"] for p in pipes.list_pipes()["Pipes"]] == [PIPE]
    assert pipes.describe_pipe(Name=PIPE)["Name"] == PIPE
    # The health endpoint stays open for probes.
    assert signed.health()["status"] == "ok"


def test_signed_aws_cli_works(signed, tmp_path):
    r = aws(signed, ADMIN, "dynamodb", "put-item", "--table-name", TABLE,
            "--item", '{"orderid": {"S": "cli-1"}}')
    assert r.returncode == 0, r.stderr.decode()
    r = aws(signed, ADMIN, "dynamodb", "scan", "--table-name", TABLE)
    assert r.returncode == 0, r.stderr.decode()
    assert {"orderid": {"S": "cli-1"}} in json.loads(r.stdout)["Items"]
    r = aws(signed, ADMIN, "kinesis", "list-streams")
    assert r.returncode == 0 and STREAM in json.loads(r.stdout)["StreamNames"], r.stderr.decode()
    src = tmp_path / "up load.txt"
    src.write_bytes(b"via the cli\n")
    r = aws(signed, ADMIN, "s3", "cp", str(src), f"s3://{BUCKET}/cli dir/up load.txt")
    assert r.returncode == 0, r.stderr.decode()
    r = aws(signed, ADMIN, "s3", "ls", f"s3://{BUCKET}/cli dir/")
    assert r.returncode == 0 and b"up load.txt" in r.stdout, r.stderr.decode()
    down = tmp_path / "down.txt"
    r = aws(signed, ADMIN, "s3", "cp", f"s3://{BUCKET}/cli dir/up load.txt", str(down))
    assert r.returncode == 0, r.stderr.decode()
    assert down.read_bytes() == b"via the cli\n"
    r = aws(signed, ADMIN, "pipes", "list-pipes")
    assert r.returncode == 0, r.stderr.decode()


def test_wrong_secret_unknown_key_and_unsigned_change_nothing(signed, tmp_path):
    seed_some_data(signed)
    before = settled_state(signed, admin(signed))
    wrong = (ADMIN[0], "not-the-secret")
    unknown = ("AKIDNOBODY000001", ADMIN[1])
    cases = [
        (wrong, "InvalidSignatureException", "SignatureDoesNotMatch"),
        (unknown, "UnrecognizedClientException", "InvalidAccessKeyId"),
    ]
    for key, json_code, s3_code in cases:
        assert error_of(lambda: client(signed, "dynamodb", key).put_item(
            TableName=TABLE, Item={"orderid": {"S": "evil"}})) == (json_code, 403)
        assert error_of(lambda: client(signed, "dynamodb", key).delete_item(
            TableName=TABLE, Key={"orderid": {"S": "0"}})) == (json_code, 403)
        assert error_of(lambda: client(signed, "kinesis", key).put_record(
            StreamName=STREAM, Data=b"evil", PartitionKey="k")) == (json_code, 403)
        assert error_of(lambda: client(signed, "s3", key).put_object(
            Bucket=BUCKET, Key="evil.json", Body=b"evil")) == (s3_code, 403)
        assert error_of(lambda: client(signed, "s3", key).delete_object(
            Bucket=BUCKET, Key="dir/a b+c/\u00e9t\u00e9.json")) == (s3_code, 403)
        assert error_of(lambda: client(signed, "pipes", key).stop_pipe(Name=PIPE)) == (json_code, 403)
        # The aws cli reports the same exception and fails.
        r = aws(signed, key, "dynamodb", "put-item", "--table-name", TABLE,
                "--item", '{"orderid": {"S": "evil-cli"}}')
        assert r.returncode != 0 and json_code.encode() in r.stderr, r.stderr.decode()
        src = tmp_path / "evil.txt"
        src.write_bytes(b"evil")
        r = aws(signed, key, "s3", "cp", str(src), f"s3://{BUCKET}/evil-cli.txt")
        assert r.returncode != 0 and s3_code.encode() in r.stderr, r.stderr.decode()

    # Unsigned: boto3 without signing, and a bare HTTP request.
    assert error_of(lambda: client(signed, "s3", ADMIN, signature_version=UNSIGNED).put_object(
        Bucket=BUCKET, Key="evil.json", Body=b"evil")) == ("AccessDenied", 403)
    req = urllib.request.Request(signed.endpoint + "/", method="POST",
                                 data=json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "evil"}}}).encode(),
                                 headers={"X-Amz-Target": "DynamoDB_20120810.PutItem",
                                          "Content-Type": "application/x-amz-json-1.0"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=10)
    assert ei.value.code == 403
    assert json.loads(ei.value.read())["__type"].endswith("#MissingAuthenticationTokenException")

    # A replay of a correctly signed request with its body swapped.
    ddb = client(signed, "dynamodb", ADMIN)
    captured = {}

    def swap_body(request, **kw):
        captured["ok"] = True
        request.body = json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "swapped"}}}).encode()
        request.headers["Content-Length"] = str(len(request.body))
    ddb.meta.events.register("before-send.dynamodb.PutItem", swap_body)
    assert error_of(lambda: ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "signed"}})) == \
        ("InvalidSignatureException", 403)
    assert captured["ok"]

    assert settled_state(signed, admin(signed)) == before


def test_allow_list_of_the_pipe_role_is_enforced(signed):
    seed_some_data(signed)
    before = settled_state(signed, admin(signed))
    role = lambda service: client(signed, service, PIPE_ROLE)  # noqa: E731
    # Reads DynamoDB (table and stream) ...
    assert role("dynamodb").get_item(TableName=TABLE, Key={"orderid": {"S": "1"}})["Item"]
    assert role("dynamodb").scan(TableName=TABLE)["Count"] == 3
    arn = role("dynamodbstreams").list_streams(TableName=TABLE)["Streams"][0]["StreamArn"]
    shard = role("dynamodbstreams").describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    it = role("dynamodbstreams").get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert role("dynamodbstreams").get_records(ShardIterator=it)["Records"]
    # ... but cannot write it,
    for call in (lambda: role("dynamodb").put_item(TableName=TABLE, Item={"orderid": {"S": "x"}}),
                 lambda: role("dynamodb").delete_item(TableName=TABLE, Key={"orderid": {"S": "1"}}),
                 lambda: role("dynamodb").delete_table(TableName=TABLE)):
        code, status = error_of(call)
        assert (code, status) == ("AccessDeniedException", 403)
    # writes Kinesis but cannot read it back or delete it,
    assert error_of(lambda: role("kinesis").get_shard_iterator(
        StreamName=STREAM, ShardId="shardId-000000000000",
        ShardIteratorType="TRIM_HORIZON")) == ("AccessDeniedException", 403)
    assert error_of(lambda: role("kinesis").delete_stream(StreamName=STREAM)) == \
        ("AccessDeniedException", 403)
    # and has no business with S3 or the pipes API.
    assert error_of(lambda: role("s3").get_object(Bucket=BUCKET, Key="dir/a b+c/\u00e9t\u00e9.json")) == \
        ("AccessDenied", 403)
    assert error_of(lambda: role("s3").put_object(Bucket=BUCKET, Key="x", Body=b"x")) == \
        ("AccessDenied", 403)
    assert error_of(lambda: role("pipes").stop_pipe(Name=PIPE)) == ("AccessDeniedException", 403)
    assert settled_state(signed, admin(signed)) == before

    # Its one kind of write does go through.
    role("kinesis").put_record(StreamName=STREAM, Data=b"from the pipe role", PartitionKey="k")
    recs = []
    kin = client(signed, "kinesis", ADMIN)
    for sh in kin.describe_stream(StreamName=STREAM)["StreamDescription"]["Shards"]:
        it = kin.get_shard_iterator(StreamName=STREAM, ShardId=sh["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs += kin.get_records(ShardIterator=it)["Records"]
    assert b"from the pipe role" in [r["Data"] for r in recs]


def test_reader_key_reads_the_lake_only(signed):
    seed_some_data(signed)
    reader = lambda service: client(signed, service, READER)  # noqa: E731
    key = "dir/a b+c/\u00e9t\u00e9.json"
    assert reader("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read() == b'{"x":1}\n'
    assert [o["Key"] for o in reader("s3").list_objects_v2(Bucket=BUCKET, Prefix="dir/")["Contents"]] == [key]
    assert error_of(lambda: reader("s3").delete_object(Bucket=BUCKET, Key=key)) == ("AccessDenied", 403)
    assert error_of(lambda: reader("dynamodb").scan(TableName=TABLE)) == ("AccessDeniedException", 403)
    assert client(signed, "s3", ADMIN).get_object(Bucket=BUCKET, Key=key)["Body"].read() == b'{"x":1}\n'


def test_presigned_urls(signed):
    seed_some_data(signed)
    s3 = client(signed, "s3", ADMIN, signature_version="s3v4")
    key = "dir/a b+c/\u00e9t\u00e9.json"
    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key},
                                    ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=10) as r:
        assert r.read() == b'{"x":1}\n'
    # Pointing the same signature at another key fails.
    other = url.replace("a%20b", "a%20c", 1)
    assert other != url
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(other, timeout=10)
    assert ei.value.code == 403 and b"SignatureDoesNotMatch" in ei.value.read()
    short = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": key},
                                      ExpiresIn=1)
    time.sleep(2.1)
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(short, timeout=10)
    assert ei.value.code == 403 and b"AccessDenied" in ei.value.read()


def test_without_credentials_anything_goes(server):
    req = urllib.request.Request(server.endpoint + "/", method="POST",
                                 data=json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "u"}}}).encode(),
                                 headers={"X-Amz-Target": "DynamoDB_20120810.PutItem",
                                          "Content-Type": "application/x-amz-json-1.0"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    # Any key, any secret.
    c = client(server, "dynamodb", ("whatever", "whatever"))
    assert c.get_item(TableName=TABLE, Key={"orderid": {"S": "u"}})["Item"]


def test_generate_signs_with_the_environment_keys(signed):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ADMIN[0], AWS_SECRET_ACCESS_KEY=ADMIN[1])
    r = subprocess.run([BIN, "generate", "--endpoint", signed.endpoint, "--events", "20",
                        "--rate", "0"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    env["AWS_SECRET_ACCESS_KEY"] = "wrong"
    r = subprocess.run([BIN, "generate", "--endpoint", signed.endpoint, "--events", "1",
                        "--rate", "0"], capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode != 0 and "InvalidSignatureException" in r.stderr
