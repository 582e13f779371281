"""Direct PUT delivery: records put with boto3 Firehose PutRecord/PutRecordBatch reach the
bucket directory under Firehose's key layout, compressed as configured, every record exactly
once; bad requests get Firehose-shaped errors and change nothing."""
import datetime
import gzip
import json
import os
import re
import subprocess
import time

import botocore.exceptions
import pytest

BUCKET = "test-bucket"

CONFIG = """
buckets:
  - name: test-bucket
delivery_streams:
  - name: direct-plain
    bucket: test-bucket
    buffer_interval_seconds: 1
    append_delimiter: true
  - name: direct-gzip
    bucket: test-bucket
    prefix: gz/
    buffer_interval_seconds: 1
    compression: GZIP
    append_delimiter: true
"""

KEY_RE = re.compile(r"^(?P<prefix>.*?)(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
                    r"(?P<name>[A-Za-z0-9_.-]+)-1-(?P=y)-(?P=m)-(?P=d)-(?P=h)-\d{2}-\d{2}-"
                    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?P<ext>\.gz|\.zst)?$")


def lake_objects(data_dir, prefix=""):
    root = os.path.join(data_dir, "lake", BUCKET)
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.startswith(".tmp-"):
                continue
            path = os.path.join(dirpath, f)
            key = os.path.relpath(path, root)
            if key.startswith(prefix):
                out[key] = path
    return out


def wait_for_lines(data_dir, prefix, count, reader, timeout=20):
    deadline = time.time() + timeout
    lines = []
    while time.time() < deadline:
        lines = []
        for key, path in sorted(lake_objects(data_dir, prefix).items()):
            lines += reader(path)
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    return lines


def plain_lines(path):
    with open(path, "rb") as f:
        return [l for l in f.read().decode().split("\n") if l]


def test_direct_put_reaches_lake_in_firehose_layout(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    before = datetime.datetime.now(datetime.timezone.utc)
    r = fh.put_record(DeliveryStreamName="direct-plain", Record={"Data": b'{"n":0}'})
    assert r["RecordId"]
    batch = [{"Data": json.dumps({"n": i}).encode()} for i in range(1, 300)]
    r = fh.put_record_batch(DeliveryStreamName="direct-plain", Records=batch)
    assert r["FailedPutCount"] == 0
    assert len(r["RequestResponses"]) == 299
    lines = wait_for_lines(data_dir, "", 300, plain_lines)
    assert sorted(json.loads(l)["n"] for l in lines) == list(range(300))
    for key in lake_objects(data_dir):
        m = KEY_RE.match(key)
        assert m, key
        assert m["prefix"] == "" and m["name"] == "direct-plain" and m["ext"] is None
        hour = datetime.datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["h"]),
                                 tzinfo=datetime.timezone.utc)
        assert before - datetime.timedelta(hours=1) <= hour <= before + datetime.timedelta(hours=1)
    assert server.stop() == 0


def test_gzip_objects_are_readable_by_gzip_d(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    fh.put_record_batch(DeliveryStreamName="direct-gzip",
                        Records=[{"Data": f"line {i}".encode()} for i in range(50)])

    def gz_lines(path):
        out = subprocess.run(["gzip", "-d", "-c", path], capture_output=True, check=True)
        return [l for l in out.stdout.decode().split("\n") if l]

    lines = wait_for_lines(data_dir, "gz/", 50, gz_lines)
    assert sorted(lines) == sorted(f"line {i}" for i in range(50))
    for key in lake_objects(data_dir, "gz/"):
        m = KEY_RE.match(key)
        assert m and m["prefix"] == "gz/" and m["ext"] == ".gz", key
        with gzip.open(lake_objects(data_dir)[key]) as f:
            f.read()
    assert server.stop() == 0


def test_bad_requests_get_firehose_errors_and_change_nothing(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.put_record(DeliveryStreamName="nope", Record={"Data": b"x"})
    with pytest.raises(fh.exceptions.InvalidArgumentException):
        fh.put_record_batch(DeliveryStreamName="direct-plain",
                            Records=[{"Data": b"x" * (1000 * 1024 + 1)}])
    with pytest.raises(fh.exceptions.InvalidArgumentException):
        fh.put_record_batch(DeliveryStreamName="direct-plain",
                            Records=[{"Data": b"y"}] * 501)
    with pytest.raises(fh.exceptions.ResourceInUseException):
        fh.create_delivery_stream(
            DeliveryStreamName="direct-plain",
            ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::1:role/r",
                                                "BucketARN": "arn:aws:s3:::test-bucket"})
    with pytest.raises(fh.exceptions.InvalidArgumentException):
        fh.create_delivery_stream(
            DeliveryStreamName="bad-hints",
            ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::1:role/r",
                                                "BucketARN": "arn:aws:s3:::test-bucket",
                                                "BufferingHints": {"SizeInMBs": 129}})
    with pytest.raises(fh.exceptions.InvalidArgumentException):
        fh.create_delivery_stream(
            DeliveryStreamName="bad-prefix",
            ExtendedS3DestinationConfiguration={"RoleARN": "arn:aws:iam::1:role/r",
                                                "BucketARN": "arn:aws:s3:::test-bucket",
                                                "Prefix": "!{nonsense:x}/",
                                                "ErrorOutputPrefix": "err/"})
    names = fh.list_delivery_streams()["DeliveryStreamNames"]
    assert sorted(names) == ["direct-gzip", "direct-plain"]
    time.sleep(1.5)
    assert lake_objects(data_dir) == {}
    assert server.stop() == 0


def test_created_streams_survive_restart_and_can_be_deleted(make_server, data_dir):
    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    arn = fh.create_delivery_stream(
        DeliveryStreamName="made-at-runtime", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::1:role/r", "BucketARN": "arn:aws:s3:::test-bucket",
            "Prefix": "rt/", "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "CompressionFormat": "UNCOMPRESSED",
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})["DeliveryStreamARN"]
    assert arn.endswith(":deliverystream/made-at-runtime")
    # Interval 60 s: these records are still buffered when the server stops, so the clean
    # shutdown must flush them.
    fh.put_record_batch(DeliveryStreamName="made-at-runtime",
                        Records=[{"Data": f"r{i}".encode()} for i in range(10)])
    assert server.stop() == 0
    assert sorted(wait_for_lines(data_dir, "rt/", 10, plain_lines, timeout=1)) == \
        sorted(f"r{i}" for i in range(10))

    server = make_server(CONFIG).start()
    fh = server.client("firehose")
    desc = fh.describe_delivery_stream(DeliveryStreamName="made-at-runtime")
    d = desc["DeliveryStreamDescription"]
    assert d["DeliveryStreamType"] == "DirectPut"
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["Prefix"] == "rt/" and ext["BufferingHints"]["IntervalInSeconds"] == 60
    fh.delete_delivery_stream(DeliveryStreamName="made-at-runtime")
    with pytest.raises(fh.exceptions.ResourceNotFoundException):
        fh.describe_delivery_stream(DeliveryStreamName="made-at-runtime")
    assert server.stop() == 0
    server = make_server(CONFIG).start()
    names = server.client("firehose").list_delivery_streams()["DeliveryStreamNames"]
    assert "made-at-runtime" not in names
    assert server.stop() == 0
