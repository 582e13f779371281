"""The spine: health, dispatch errors in the AWS shape, body limits, config errors."""
import json
import subprocess
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import BIN


def post(server, target, body, headers=None):
    h = {"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"}
    h.update(headers or {})
    req = urllib.request.Request(server.endpoint + "/", data=body, headers=h, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_health_lists_services(server):
    h = server.health()
    assert h["status"] == "ok"
    assert h["services"]["http"]["running"] is True


def test_unknown_target_is_unknown_operation(server):
    status, body = post(server, "NoSuchService_20990101.Frobnicate", b"{}")
    assert status == 400
    assert body["__type"].endswith("UnknownOperationException")


def test_oversize_body_gets_413_before_reading(server):
    """The answer comes from the Content-Length alone: no body byte is sent."""
    import socket
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
        s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: Kinesis_20131202.PutRecord\r\n"
                  b"Content-Type: application/x-amz-json-1.1\r\nContent-Length: 17825792\r\n\r\n")
        reply = b""
        while b"\r\n\r\n" not in reply or not reply.rstrip().endswith(b"}"):
            chunk = s.recv(4096)
            if not chunk:
                break
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body)["__type"].endswith("RequestEntityTooLargeException")


def test_boto3_client_sees_unknown_operation(server):
    """boto3 parses our error into a ClientError with the AWS code."""
    for service in ("dynamodb", "kinesis"):
        c = server.client(service)

        def rename(request, **kw):
            request.headers["X-Amz-Target"] = request.headers["X-Amz-Target"].decode().rsplit(".", 1)[0] + ".NoSuchOperation"

        c.meta.events.register("before-send", rename)
        with pytest.raises(ClientError) as ei:
            c.list_tables() if service == "dynamodb" else c.list_streams()
        assert ei.value.response["Error"]["Code"] == "UnknownOperationException"
        assert ei.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_bad_config_names_file_line_and_key(tmp_path):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("streams:\n  - name: s\n    shard_count: 0\n")
    out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{cfg}:3: streams[0].shard_count: must be between 1 and 1024" in out.stderr


def test_config_prints_seed_defaults():
    out = subprocess.run([BIN, "config"], capture_output=True, text=True, check=True)
    for name in ("OrdersRawTable", "kinesis-for-sales-data", "orders-cdc-pipe",
                 "sales-delivery-stream", "kinesis-firehose-destination-yb", "sales-crawler",
                 "sales-json-classifier", "sales_db"):
        assert name in out.stdout
