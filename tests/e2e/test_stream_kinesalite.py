"""The same boto3 script against salespipe and against kinesalite (the npm oracle, started
here on 127.0.0.1): every call must succeed or fail alike, with the same error codes, and
successful responses must have the same shape (key sets, recursively)."""
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request

import boto3
import botocore.config
import pytest
from botocore.exceptions import ClientError

from conftest import REGION, SOURCE

KINESALITE = os.path.join(SOURCE, "tools", "node_modules", "kinesalite")

# Members real Kinesis returns that kinesalite (which predates them) does not.
NEWER_THAN_KINESALITE = {
    "ListStreams": {"StreamSummaries", "NextToken"},
    "DescribeStream": {"StreamDescription.StreamARN", "StreamDescription.StreamModeDetails"},
    "DescribeStreamSummary": {"StreamDescriptionSummary.StreamModeDetails"},
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def kinesalite():
    if not os.path.isdir(KINESALITE):
        pytest.skip("tools/node_modules/kinesalite is absent (run scripts/deps.sh to install "
                    "the npm oracles)")
    port = free_port()
    # cli.js listens on every interface; start the same server on loopback only.
    code = ("require(%s)({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, "
            "shardLimit: 100}).listen(%d, '127.0.0.1', () => console.log('ready'))"
            % (json.dumps(os.path.join(KINESALITE, "index.js")), port))
    proc = subprocess.Popen(["node", "-e", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stdout.readline().decode()
    if "ready" not in line:
        proc.kill()
        raise RuntimeError(f"kinesalite did not start: {line!r} {proc.stderr.read()!r}")
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def client(endpoint):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=60,
                                 parameter_validation=False)  # let the servers validate
    return boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test", config=cfg)


def shape(v, prefix=""):
    """The set of dotted key paths in a response (lists by their first element)."""
    keys = set()
    if isinstance(v, dict):
        for k, x in v.items():
            if k == "ResponseMetadata":
                continue
            path = prefix + k
            keys.add(path)
            keys |= shape(x, path + ".")
    elif isinstance(v, list) and v:
        keys |= shape(v[0], prefix)
    return keys


def raw_post(endpoint, op, body):
    req = urllib.request.Request(endpoint + "/", data=body, method="POST", headers={
        "X-Amz-Target": "Kinesis_20131202." + op, "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Date": "20260101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=0"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return ("ok", r.status)
    except urllib.error.HTTPError as e:
        return ("error", json.loads(e.read() or b"{}").get("__type", "").split("#")[-1])


def run_script(endpoint):
    """The script: returns [(step, outcome)] where outcome is ("ok", keys) or ("error", code)."""
    k = client(endpoint)
    out = []

    def step(name, op, **kw):
        try:
            r = getattr(k, op)(**kw)
            out.append((name, ("ok", shape(r))))
            return r
        except ClientError as e:
            out.append((name, ("error", e.response["Error"]["Code"])))
            return None

    step("create", "create_stream", StreamName="cmp", ShardCount=2)
    for _ in range(50):  # kinesalite may still say CREATING for a moment
        if k.describe_stream(StreamName="cmp")["StreamDescription"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.05)
    step("describe", "describe_stream", StreamName="cmp")
    step("summary", "describe_stream_summary", StreamName="cmp")
    step("list_streams", "list_streams")
    step("list_shards", "list_shards", StreamName="cmp")
    one = step("put_record", "put_record", StreamName="cmp", Data=b"one", PartitionKey="a")
    step("put_record_ehk", "put_record", StreamName="cmp", Data=b"two", PartitionKey="a",
         ExplicitHashKey=str(2**128 - 1))
    step("put_records", "put_records", StreamName="cmp", Records=[
        {"Data": b"r%d" % i, "PartitionKey": "p%d" % i} for i in range(5)])
    shard = one["ShardId"]
    for itype, extra in [("TRIM_HORIZON", {}), ("LATEST", {}),
                         ("AT_SEQUENCE_NUMBER", {"StartingSequenceNumber": one["SequenceNumber"]}),
                         ("AFTER_SEQUENCE_NUMBER", {"StartingSequenceNumber": one["SequenceNumber"]}),
                         ("AT_TIMESTAMP", {"Timestamp": time.time() - 60})]:
        it = step("iterator " + itype, "get_shard_iterator", StreamName="cmp", ShardId=shard,
                  ShardIteratorType=itype, **extra)
        r = step("get_records " + itype, "get_records", ShardIterator=it["ShardIterator"])
        if itype == "AT_SEQUENCE_NUMBER":
            out.append(("first record is the one asked for",
                        r["Records"][0]["SequenceNumber"] == one["SequenceNumber"]))
    step("increase retention", "increase_stream_retention_period", StreamName="cmp",
         RetentionPeriodHours=48)
    step("decrease retention", "decrease_stream_retention_period", StreamName="cmp",
         RetentionPeriodHours=24)
    step("split", "split_shard", StreamName="cmp", ShardToSplit="shardId-000000000000",
         NewStartingHashKey=str(2**126))
    for _ in range(50):
        if k.describe_stream(StreamName="cmp")["StreamDescription"]["StreamStatus"] == "ACTIVE":
            break
        time.sleep(0.05)
    step("describe after split", "describe_stream", StreamName="cmp")

    # errors
    step("describe missing", "describe_stream", StreamName="missing")
    step("create duplicate", "create_stream", StreamName="cmp", ShardCount=1)
    step("create zero shards", "create_stream", StreamName="zero", ShardCount=0)
    step("bad stream name", "describe_stream", StreamName="bad name!")
    step("put missing stream", "put_record", StreamName="missing", Data=b"x", PartitionKey="k")
    step("hash key too big", "put_record", StreamName="cmp", Data=b"x", PartitionKey="k",
         ExplicitHashKey=str(2**128))
    step("partition key too long", "put_record", StreamName="cmp", Data=b"x", PartitionKey="k" * 257)
    step("501 records", "put_records", StreamName="cmp",
         Records=[{"Data": b"x", "PartitionKey": "k"}] * 501)
    step("shard missing", "get_shard_iterator", StreamName="cmp", ShardId="shardId-000000000077",
         ShardIteratorType="LATEST")
    step("at sequence without one", "get_shard_iterator", StreamName="cmp", ShardId=shard,
         ShardIteratorType="AT_SEQUENCE_NUMBER")
    step("bad iterator", "get_records", ShardIterator="AAAAAAAAAAAA")
    step("limit too big", "get_records", ShardIterator="AAAAAAAAAAAA", Limit=10001)
    step("retention increase to 30", "increase_stream_retention_period", StreamName="cmp",
         RetentionPeriodHours=30)
    step("retention increase below current", "increase_stream_retention_period",
         StreamName="cmp", RetentionPeriodHours=25)
    step("retention too short", "decrease_stream_retention_period", StreamName="cmp",
         RetentionPeriodHours=10)
    step("merge not adjacent", "merge_shards", StreamName="cmp",
         ShardToMerge="shardId-000000000001", AdjacentShardToMerge="shardId-000000000002")
    out.append(("invalid base64", raw_post(endpoint, "PutRecord", json.dumps(
        {"StreamName": "cmp", "Data": "a*==", "PartitionKey": "k"}).encode())))
    step("delete", "delete_stream", StreamName="cmp")
    return out


def test_salespipe_answers_like_kinesalite(server, kinesalite):
    ours = run_script(server.endpoint)
    theirs = run_script(kinesalite)
    assert [n for n, _ in ours] == [n for n, _ in theirs]
    diffs = []
    for (name, a), (_, b) in zip(ours, theirs):
        if isinstance(a, tuple) and a[0] == "ok" and b[0] == "ok" and isinstance(a[1], set):
            op = {"list_streams": "ListStreams", "summary": "DescribeStreamSummary"}.get(
                name, "DescribeStream" if name.startswith("describe") else "")
            extra = NEWER_THAN_KINESALITE.get(op, set())
            extra = {k for k in a[1] - b[1] if any(k == e or k.startswith(e + ".") for e in extra)}
            if a[1] - extra != b[1]:
                diffs.append((name, sorted(a[1] - extra - b[1]), sorted(b[1] - a[1])))
        elif a != b:
            diffs.append((name, a, b))
    assert not diffs, "salespipe vs kinesalite:\n" + "\n".join(map(str, diffs))
