"""Kinesis's own endpoint and its status windows.

With `server.service_ports: {kinesis: N}` (or `serve --service-port kinesis=N`) Kinesis gets a
listener of its own, as AWS gives each service one host: there a request that names no
Kinesis operation gets Kinesis's answer (403 AccessDeniedException XML for GET/PUT/DELETE,
CBOR UnknownOperationException for a bare POST, the deprecated application/json `Output`
envelope, UUID request ids, `Access-Control-Allow-Origin: *`), an unsigned request is
refused with MissingAuthenticationTokenException, and boto3 works unchanged. The main port
answers as before. The listener follows the main port's bind rules.

With `server.status_transition_ms` > 0 a stream made through the API is CREATING for that
long (no shards shown, writes refused as Kinesis refuses them, resharding refused with
ResourceInUseException), resharding makes it UPDATING, and a deleted one is DELETING before
it is gone; streams of the config file are ACTIVE at once."""
import http.client
import json
import re
import subprocess
import time

import boto3
import botocore.config
import botocore.exceptions
import pytest

from conftest import BIN, REGION

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CBOR_UNKNOWN = bytes([0xA1, 0x66]) + b"__type" + bytes([0x78, 0x19]) + b"UnknownOperationException"
ACCESS_DENIED = (b"<AccessDeniedException>\n  <Message>Unable to determine service/operation "
                 b"name to be authorized</Message>\n</AccessDeniedException>\n")
AMZ_JSON = "application/x-amz-json-1.1"


def start_with_kinesis_port(make_server, config_text=None, extra=()):
    """A server with a Kinesis port (any free one); returns (server, kinesis port)."""
    s = make_server(config_text, extra_args=["--service-port", "kinesis=0", *extra]).start()
    line = s.proc.stdout.readline().decode()
    m = re.match(r"^service-port kinesis=(\d+)$", line.strip())
    assert m, line
    return s, int(m.group(1))


def call(port, method, path="/", body=b"", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", f"127.0.0.1:{port}")
    for k, v in (headers or {}).items():
        c.putheader(k, v)
    if body or method in ("POST", "PUT"):
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body or None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def kinesis(port):
    cfg = botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)
    return boto3.client("kinesis", endpoint_url=f"http://127.0.0.1:{port}", region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test", config=cfg)


def test_requests_naming_no_operation_get_kinesis_answers_on_its_port(make_server):
    s, kport = start_with_kinesis_port(make_server)
    for method in ("GET", "PUT", "DELETE"):
        status, h, body = call(kport, method)
        assert (status, body) == (403, ACCESS_DENIED), method
        assert "content-type" not in h
        assert UUID.match(h["x-amzn-requestid"]) and h["x-amz-id-2"]

    # a bare POST: CBOR UnknownOperationException; a body with no content type: XML
    status, h, body = call(kport, "POST")
    assert (status, h["content-type"], body) == (400, "application/x-amz-cbor-1.1", CBOR_UNKNOWN)
    assert call(kport, "POST", body=b"{}")[0] == 403
    # JSON 1.1 without a target, with an unknown one, or with DynamoDB's
    for target in (None, "Kinesis_20131202.Whatever", "DynamoDB_20120810.ListTables"):
        hdr = {"Content-Type": AMZ_JSON}
        if target:
            hdr["X-Amz-Target"] = target
        status, h, body = call(kport, "POST", body=b"{}", headers=hdr)
        assert (status, json.loads(body)) == (400, {"__type": "UnknownOperationException"}), target
    # the deprecated application/json: the Output envelope
    status, h, body = call(kport, "POST", body=b"{}", headers={
        "Content-Type": "application/json", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    assert status == 404 and json.loads(body) == {
        "Output": {"__type": "com.amazon.coral.service#UnknownOperationException"}, "Version": "1.0"}
    status, h, body = call(kport, "POST", body=b"hello", headers={
        "Content-Type": "application/json", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    assert status == 400 and json.loads(body)["Output"]["__type"].endswith("SerializationException")
    # a known operation: empty or non-JSON body, then no signature, then a malformed one
    op = {"Content-Type": AMZ_JSON, "X-Amz-Target": "Kinesis_20131202.ListStreams"}
    assert json.loads(call(kport, "POST", headers=op)[2]) == {"__type": "SerializationException"}
    assert json.loads(call(kport, "POST", body=b"[1", headers=op)[2]) == {
        "__type": "SerializationException"}
    assert json.loads(call(kport, "POST", body=b"{}", headers=op)[2]) == {
        "__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}
    status, _, body = call(kport, "POST", body=b"{}", headers={**op, "Authorization": "X"})
    assert status == 400 and json.loads(body)["__type"] == "IncompleteSignatureException"
    # Kinesis's CORS for a non-browser Origin, and its preflight
    status, h, body = call(kport, "POST", headers={"Origin": "whatever"})
    assert status == 400 and h["access-control-allow-origin"] == "*"
    status, h, body = call(kport, "OPTIONS", headers={
        "Origin": "whatever", "Access-Control-Request-Headers": "a, b",
        "Access-Control-Request-Method": "d"})
    assert (status, body) == (200, b"")
    assert h["access-control-allow-headers"] == "a, b" and h["access-control-max-age"] == "172800"
    assert "x-amz-id-2" not in h
    # a browser's Origin still meets the guard's allow list
    status, _, _ = call(kport, "POST", body=b"{}", headers={**op, "Origin": "http://evil.example",
                                                            "Authorization": "X"})
    assert status == 403
    # boto3 works unchanged on it, and sees the stream the main port made
    s.client("kinesis").create_stream(StreamName="both", ShardCount=1)
    k = kinesis(kport)
    assert "both" in k.list_streams()["StreamNames"]
    k.put_record(StreamName="both", PartitionKey="a", Data=b"x")
    # the Kinesis port serves no other service: DynamoDB's request as Kinesis answers it
    status, h, body = call(kport, "POST", body=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    assert (status, body) == (404, b"<UnknownOperationException/>\n")

    # the main port is unchanged: a bare GET is DynamoDB's health check, unsigned is served
    status, _, body = call(s.port, "GET")
    assert status == 200 and body.startswith(b"healthy: dynamodb")
    assert call(s.port, "POST", body=b"{}", headers=op)[0] == 200
    assert s.stop() == 0


def test_service_port_from_the_config_and_the_bind_rules(make_server, data_dir, tmp_path):
    s = make_server("defaults: seed\nserver:\n  service_ports: {kinesis: 0}\n").start()
    line = s.proc.stdout.readline().decode().strip()
    kport = int(line.split("=")[1])
    assert line.startswith("service-port kinesis=")
    assert kinesis(kport).describe_stream_summary(StreamName="kinesis-for-sales-data")[
        "StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert s.stop() == 0

    # beyond loopback without credentials: refused, service port or not
    r = subprocess.run([BIN, "serve", "--port", "0", "--service-port", "kinesis=0", "--data-dir",
                        data_dir, "--bind", "0.0.0.0"], capture_output=True, timeout=60)
    assert r.returncode == 2 and b"refusing to bind 0.0.0.0" in r.stderr and r.stdout == b""
    # a service that has no port of its own, a bad port, the main port itself
    for arg in ("s3=4570", "kinesis=70000", "kinesis=", "kinesis"):
        r = subprocess.run([BIN, "serve", "--port", "0", "--service-port", arg, "--data-dir",
                            data_dir], capture_output=True, timeout=60)
        assert r.returncode == 2 and b"--service-port" in r.stderr, arg
    r = subprocess.run([BIN, "serve", "--port", "4599", "--service-port", "kinesis=4599",
                        "--data-dir", data_dir], capture_output=True, timeout=60)
    assert r.returncode == 2 and b"main port" in r.stderr
    cfg = tmp_path / "bad.yaml"
    for bad in ("{s3: 4570}", "{kinesis: 70000}", "{kinesis: abc}", "[4567]"):
        cfg.write_text(f"server:\n  service_ports: {bad}\n")
        r = subprocess.run([BIN, "serve", "--port", "0", "--config", str(cfg), "--data-dir",
                            data_dir], capture_output=True, timeout=60)
        assert r.returncode != 0 and b"service_ports" in r.stderr, bad


WINDOW_MS = 1500


def test_status_windows_creating_updating_deleting(make_server):
    s = make_server(f"defaults: seed\nserver:\n  status_transition_ms: {WINDOW_MS}\n").start()
    k = s.client("kinesis")
    # the config's stream is ACTIVE at once
    assert k.describe_stream(StreamName="kinesis-for-sales-data")["StreamDescription"][
        "StreamStatus"] == "ACTIVE"

    k.create_stream(StreamName="win", ShardCount=2)
    d = k.describe_stream(StreamName="win")["StreamDescription"]
    assert d["StreamStatus"] == "CREATING" and d["Shards"] == []
    assert k.describe_stream_summary(StreamName="win")["StreamDescriptionSummary"][
        "StreamStatus"] == "CREATING"
    with pytest.raises(k.exceptions.ResourceNotFoundException) as ei:
        k.put_record(StreamName="win", PartitionKey="a", Data=b"x")
    assert ei.value.response["Error"]["Message"] == \
        "Stream win under account 000000000000 not found."
    with pytest.raises(k.exceptions.ResourceNotFoundException):
        k.put_records(StreamName="win", Records=[{"PartitionKey": "a", "Data": b"x"}])
    with pytest.raises(k.exceptions.ResourceNotFoundException):
        k.get_shard_iterator(StreamName="win", ShardId="shardId-000000000000",
                             ShardIteratorType="LATEST")
    with pytest.raises(k.exceptions.ResourceInUseException) as ei:
        k.split_shard(StreamName="win", ShardToSplit="shardId-000000000000",
                      NewStartingHashKey="2")
    assert ei.value.response["Error"]["Message"] == \
        "Stream win under account 000000000000 not ACTIVE, instead in state CREATING"
    with pytest.raises(k.exceptions.ResourceInUseException):
        k.increase_stream_retention_period(StreamName="win", RetentionPeriodHours=48)
    with pytest.raises(k.exceptions.ResourceInUseException):
        k.create_stream(StreamName="win", ShardCount=1)

    # the waiter sees it become ACTIVE
    k.get_waiter("stream_exists").wait(StreamName="win", WaiterConfig={"Delay": 1})
    d = k.describe_stream(StreamName="win")["StreamDescription"]
    assert d["StreamStatus"] == "ACTIVE" and len(d["Shards"]) == 2
    k.put_record(StreamName="win", PartitionKey="a", Data=b"x")

    # resharding: UPDATING, writes still taken, a second reshard refused
    k.merge_shards(StreamName="win", ShardToMerge="shardId-000000000000",
                   AdjacentShardToMerge="shardId-000000000001")
    assert k.describe_stream(StreamName="win")["StreamDescription"]["StreamStatus"] == "UPDATING"
    k.put_record(StreamName="win", PartitionKey="a", Data=b"y")
    with pytest.raises(k.exceptions.ResourceInUseException) as ei:
        k.update_shard_count(StreamName="win", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    assert "instead in state UPDATING" in ei.value.response["Error"]["Message"]
    time.sleep(WINDOW_MS / 1000 + 0.3)
    assert k.describe_stream(StreamName="win")["StreamDescription"]["StreamStatus"] == "ACTIVE"

    # deleting: DELETING without shards, then gone; the name is taken meanwhile
    k.delete_stream(StreamName="win")
    d = k.describe_stream(StreamName="win")["StreamDescription"]
    assert d["StreamStatus"] == "DELETING" and d["Shards"] == []
    with pytest.raises(k.exceptions.ResourceInUseException):
        k.create_stream(StreamName="win", ShardCount=1)
    with pytest.raises(k.exceptions.ResourceNotFoundException):
        k.put_record(StreamName="win", PartitionKey="a", Data=b"x")
    k.get_waiter("stream_not_exists").wait(StreamName="win", WaiterConfig={"Delay": 1})
    k.create_stream(StreamName="win", ShardCount=1)
    assert s.stop() == 0


def test_without_the_knob_streams_are_active_at_once(server):
    k = server.client("kinesis")
    k.create_stream(StreamName="now", ShardCount=1)
    assert k.describe_stream(StreamName="now")["StreamDescription"]["StreamStatus"] == "ACTIVE"
    k.put_record(StreamName="now", PartitionKey="a", Data=b"x")
    k.delete_stream(StreamName="now")
    with pytest.raises(k.exceptions.ResourceNotFoundException):
        k.describe_stream(StreamName="now")


def test_account_shard_limit(make_server):
    s = make_server("server:\n  kinesis_account_shard_limit: 5\n").start()
    k = s.client("kinesis")
    k.create_stream(StreamName="three", ShardCount=3)
    with pytest.raises(k.exceptions.LimitExceededException) as ei:
        k.create_stream(StreamName="more", ShardCount=3)
    msg = ei.value.response["Error"]["Message"]
    assert msg.startswith("This request would exceed the shard limit for the account "
                          "000000000000 in us-east-1. Current shard count for the account: 3. "
                          "Limit: 5. Number of additional shards that would have resulted from "
                          "this request: 3.")
    k.create_stream(StreamName="two", ShardCount=2)
    with pytest.raises(k.exceptions.LimitExceededException):
        k.split_shard(StreamName="two", ShardToSplit="shardId-000000000000",
                      NewStartingHashKey="100")
    with pytest.raises(k.exceptions.LimitExceededException):
        k.update_shard_count(StreamName="two", TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    # merging frees one
    k.merge_shards(StreamName="two", ShardToMerge="shardId-000000000000",
                   AdjacentShardToMerge="shardId-000000000001")
    k.create_stream(StreamName="one", ShardCount=1)
    assert s.stop() == 0


def test_validation_messages_print_maps_and_structures_as_kinesis_does(server):
    k = boto3.client("kinesis", endpoint_url=server.endpoint, region_name=REGION,
                     aws_access_key_id="test", aws_secret_access_key="test",
                     config=botocore.config.Config(retries={"max_attempts": 1},
                                                   parameter_validation=False))
    k.create_stream(StreamName="tags", ShardCount=1)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        k.add_tags_to_stream(StreamName="tags", Tags={"a": "1", "b" * 129: "2"})
    msg = ei.value.response["Error"]["Message"]
    assert re.match(r"^1 validation error detected: Value '\{(a=1, )?b{129}=2(, a=1)?\}' at 'tags' "
                    r"failed to satisfy constraint: Map keys must satisfy constraint: \[", msg), msg
    # AddTagsToStream takes up to 10 tags a call (the stream up to 50)
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        k.add_tags_to_stream(StreamName="tags", Tags={f"k{i}": "v" for i in range(11)})
    msg = ei.value.response["Error"]["Message"]
    assert ei.value.response["Error"]["Code"] == "ValidationException"
    assert msg.endswith("at 'tags' failed to satisfy constraint: Member must have length less "
                        "than or equal to 10") and "k0=v" in msg
    for batch in range(5):
        k.add_tags_to_stream(StreamName="tags", Tags={f"t{batch}-{i}": "v" for i in range(10)})
    # a record list too long names each entry as Java's toString() does
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        k.put_records(StreamName="tags", Records=[{"PartitionKey": "", "Data": b""}] * 501)
    msg = ei.value.response["Error"]["Message"]
    assert "Value '[com.amazonaws.kinesis.v20131202.PutRecordsRequestEntry@c965e310, " in msg
