"""Prefixes are checked where a delivery stream is defined, and a bad record never stops one.

- CreateDeliveryStream and UpdateDestination (boto3 and the aws cli) refuse a Prefix or
  ErrorOutputPrefix that breaks Firehose's rules or can only make keys the lake refuses
  ("../", a leading '/', "a//b", a backslash) with InvalidArgumentException, changing nothing;
  the configuration file refuses them with exit 2 and file:line:key.
- A record whose partition key value makes an invalid object key (a backslash, a ".." or an
  empty segment) goes to the error output as partitioning-failed with its error; the records
  before and after it reach the lake, each exactly once, also across a restart."""
import base64
import json
import os
import subprocess
import time

import pytest
from botocore.exceptions import ClientError

from conftest import BIN
from test_delivery_direct import plain_lines


def lake_objects(data_dir, prefix="", bucket="test-bucket"):
    root = os.path.join(data_dir, "lake", bucket)
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.startswith(".tmp-"):
                path = os.path.join(dirpath, f)
                key = os.path.relpath(path, root)
                if key.startswith(prefix):
                    out[key] = path
    return out

BUCKET_CFG = "buckets:\n  - name: test-bucket\n"
ROLE = "arn:aws:iam::000000000000:role/r"
BUCKET_ARN = "arn:aws:s3:::test-bucket"

BAD_CREATES = [
    ({"Prefix": "../"}, "Prefix"),
    ({"Prefix": "a/../b/"}, "Prefix"),
    ({"Prefix": "/abs/"}, "Prefix"),
    ({"Prefix": "a//b/"}, "Prefix"),
    ({"Prefix": "back\\slash/"}, "Prefix"),
    ({"Prefix": "x" * 1025}, "1024"),
    ({"Prefix": "!{nonsense:x}/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}/"},
     "unsupported expression"),
    ({"Prefix": "t=!{timestamp:yyyy}/"}, "ErrorOutputPrefix is required"),
    ({"Prefix": "p/", "ErrorOutputPrefix": "../err/"}, "ErrorOutputPrefix"),
    ({"Prefix": "t=!{timestamp:yyyy}/", "ErrorOutputPrefix": "err/!{timestamp:yyyy}/"},
     "error-output-type"),
    ({"Prefix": "!{firehose:error-output-type}/", "ErrorOutputPrefix": "e/"},
     "only allowed in ErrorOutputPrefix"),
    ({"Prefix": "p=!{partitionKeyFromQuery:p}/",
      "ErrorOutputPrefix": "e/!{firehose:error-output-type}/"}, "dynamic partitioning"),
    ({"Prefix": "static/", "ErrorOutputPrefix": "e/!{firehose:error-output-type}/",
      "DynamicPartitioningConfiguration": {"Enabled": True},
      "ProcessingConfiguration": {"Enabled": True, "Processors": [
          {"Type": "MetadataExtraction", "Parameters": [
              {"ParameterName": "MetadataExtractionQuery", "ParameterValue": "{p: .p}"},
              {"ParameterName": "JsonParsingEngine", "ParameterValue": "JQ-1.6"}]}]}},
     "dynamic partitioning is enabled"),
]


def ext(**kw):
    d = {"RoleARN": ROLE, "BucketARN": BUCKET_ARN,
         "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60}}
    d.update(kw)
    return d


@pytest.fixture
def fh_server(make_server):
    return make_server(BUCKET_CFG).start()


def test_bad_prefixes_refused_on_create_with_boto3(fh_server):
    fh = fh_server.client("firehose")
    for i, (dest, words) in enumerate(BAD_CREATES):
        with pytest.raises(ClientError) as ei:
            fh.create_delivery_stream(DeliveryStreamName=f"bad-{i}",
                                      ExtendedS3DestinationConfiguration=ext(**dest))
        err = ei.value.response["Error"]
        assert err["Code"] == "InvalidArgumentException", (dest, err)
        assert words in err["Message"], (dest, err["Message"])
        assert "/tmp" not in err["Message"] and "lake" not in err["Message"]
    assert fh.list_delivery_streams()["DeliveryStreamNames"] == []


def test_bad_prefix_refused_on_create_with_the_aws_cli(fh_server):
    dest = json.dumps(ext(Prefix="../escape/"))
    _, out = fh_server.aws("firehose", "create-delivery-stream", "--delivery-stream-name", "cli",
                           "--extended-s3-destination-configuration", dest, check=False)
    assert out.returncode != 0
    assert b"InvalidArgumentException" in out.stderr and b"Prefix" in out.stderr
    assert fh_server.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []


def test_update_destination_validates_prefixes_and_applies_good_ones(fh_server, data_dir):
    fh = fh_server.client("firehose")
    fh.create_delivery_stream(DeliveryStreamName="upd",
                              ExtendedS3DestinationConfiguration=ext(Prefix="before/"))
    desc = fh.describe_delivery_stream(DeliveryStreamName="upd")["DeliveryStreamDescription"]
    version, dest_id = desc["VersionId"], desc["Destinations"][0]["DestinationId"]
    for bad, words in [({"Prefix": "../"}, "Prefix"), ({"Prefix": "/lead"}, "Prefix"),
                       ({"ErrorOutputPrefix": "e\\x/"}, "ErrorOutputPrefix"),
                       ({"Prefix": "t=!{timestamp:HH}/"}, "ErrorOutputPrefix is required"),
                       ({"DynamicPartitioningConfiguration": {"Enabled": True}},
                        "dynamic partitioning")]:
        with pytest.raises(ClientError) as ei:
            fh.update_destination(DeliveryStreamName="upd", CurrentDeliveryStreamVersionId=version,
                                  DestinationId=dest_id, ExtendedS3DestinationUpdate=bad)
        err = ei.value.response["Error"]
        assert err["Code"] == "InvalidArgumentException", (bad, err)
        assert words in err["Message"], (bad, err["Message"])
    _, out = fh_server.aws("firehose", "update-destination", "--delivery-stream-name", "upd",
                           "--current-delivery-stream-version-id", version,
                           "--destination-id", dest_id,
                           "--extended-s3-destination-update", json.dumps({"Prefix": "a/../b/"}),
                           check=False)
    assert out.returncode != 0 and b"InvalidArgumentException" in out.stderr
    with pytest.raises(ClientError) as ei:
        fh.update_destination(DeliveryStreamName="upd", CurrentDeliveryStreamVersionId="99",
                              DestinationId=dest_id,
                              ExtendedS3DestinationUpdate={"Prefix": "x/"})
    assert ei.value.response["Error"]["Code"] == "ConcurrentModificationException"
    desc = fh.describe_delivery_stream(DeliveryStreamName="upd")["DeliveryStreamDescription"]
    assert desc["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "before/"

    # A good update (through the aws cli) takes effect for the records that follow.
    fh_server.aws("firehose", "update-destination", "--delivery-stream-name", "upd",
                  "--current-delivery-stream-version-id", version, "--destination-id", dest_id,
                  "--extended-s3-destination-update",
                  json.dumps({"Prefix": "after/", "BufferingHints": {"IntervalInSeconds": 0}}))
    desc = fh.describe_delivery_stream(DeliveryStreamName="upd")["DeliveryStreamDescription"]
    assert desc["Destinations"][0]["ExtendedS3DestinationDescription"]["Prefix"] == "after/"
    fh.put_record(DeliveryStreamName="upd", Record={"Data": b"hello\n"})
    deadline = time.time() + 20
    while time.time() < deadline and not lake_objects(data_dir, "after/", bucket="test-bucket"):
        time.sleep(0.1)
    objs = lake_objects(data_dir, "after/", bucket="test-bucket")
    assert len(objs) == 1 and [plain_lines(p) for p in objs.values()] == [["hello"]]


CONFIG_BAD = """buckets:
  - name: test-bucket
delivery_streams:
  - name: cfg
    bucket: test-bucket
    prefix: "ok/"
    error_output_prefix: "../errors/"
"""


def test_bad_prefix_in_config_file_is_refused_with_file_line_and_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text(CONFIG_BAD)
    out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{cfg}:7: delivery_streams[0].error_output_prefix: " in out.stderr, out.stderr
    cfg.write_text(CONFIG_BAD.replace('"../errors/"', '"errors/"').replace('"ok/"', '"/abs/"'))
    out = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
                          "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert f"{cfg}:6: delivery_streams[0].prefix: " in out.stderr, out.stderr


CONFIG_PARTITIONED = """buckets:
  - name: test-bucket
delivery_streams:
  - name: keyed
    bucket: test-bucket
    prefix: "by/!{partitionKeyFromQuery:p}/"
    error_output_prefix: "errors/!{firehose:error-output-type}/"
    buffer_interval_seconds: 0
    append_delimiter: true
    dynamic_partitioning:
      queries:
        p: .p
"""


def wait_lines(data_dir, prefix, count, timeout=20):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        lines = [l for p in lake_objects(data_dir, prefix, bucket="test-bucket").values()
                 for l in plain_lines(p)]
        if len(lines) >= count:
            break
        time.sleep(0.1)
    return lines


def test_record_with_an_invalid_key_goes_to_errors_and_the_stream_goes_on(make_server, data_dir):
    server = make_server(CONFIG_PARTITIONED).start()
    fh = server.client("firehose")
    put = lambda recs: fh.put_record_batch(DeliveryStreamName="keyed", Records=[
        {"Data": json.dumps(r).encode()} for r in recs])
    before = [{"p": "a", "n": i} for i in range(5)]
    bad = [{"p": "x\\y", "n": 100}, {"p": "..", "n": 101}, {"p": "../up", "n": 102},
           {"p": "q//r", "n": 103}]
    after = [{"p": "b", "n": i} for i in range(5, 10)]
    put(before)
    assert len(wait_lines(data_dir, "by/a/", 5)) == 5
    put(bad)
    put(after)
    assert len(wait_lines(data_dir, "by/b/", 5)) == 5
    errors = wait_lines(data_dir, "errors/", len(bad))
    assert len(errors) == len(bad)
    keys = lake_objects(data_dir, "errors/", bucket="test-bucket")
    assert all(k.startswith("errors/partitioning-failed/keyed-1-") for k in keys)
    raws = sorted(json.loads(base64.b64decode(json.loads(l)["rawData"]))["n"] for l in errors)
    assert raws == [100, 101, 102, 103]
    for l in errors:
        rec = json.loads(l)
        assert rec["errorCode"] == "DynamicPartitioning.InvalidObjectKey"
        assert rec["errorMessage"] and "/tmp" not in rec["errorMessage"]

    # A restart redelivers nothing and loses nothing; the stream keeps going.
    assert server.stop() == 0
    server.start()
    fh = server.client("firehose")
    put([{"p": "a", "n": 50}, {"p": "x\\y", "n": 150}])
    deadline = time.time() + 20
    while time.time() < deadline and len(wait_lines(data_dir, "errors/", 5, timeout=0.2)) < 5:
        pass
    time.sleep(1)
    good = [json.loads(l)["n"] for l in wait_lines(data_dir, "by/", 11)]
    assert sorted(good) == list(range(10)) + [50]
    assert len(wait_lines(data_dir, "errors/", 5)) == 5
    h = server.health()["services"]["firehose"]["delivery_streams"]["keyed"]
    assert h["records_failed"] == 1 and h["records_out"] == 1  # counters since the restart
    assert server.stop() == 0
