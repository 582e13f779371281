"""The endpoint against web pages and the network: a page the user visits can neither drive it
cross-site (Origin outside server.cors_allowed_origins, or a content type a browser can send
without a preflight) nor through DNS rebinding (a Host that is not loopback, the bind address
or a name in server.hostnames); an allowed origin gets its CORS preflight answered. Each
refusal is an AWS-shaped 403 naming the reason and changes nothing. boto3 and the aws cli,
which send Host 127.0.0.1:<port> and no Origin, work as before. `serve` refuses a bind beyond
loopback without credentials or --allow-unauthenticated-remote. With credentials, a request
whose headers already fail SigV4 (unknown key, no signature) is refused before its body is
read; X-Amz-Target must be signed; UNSIGNED-PAYLOAD passes only for S3. No error response
names a file of the data dir."""
import datetime
import hashlib
import hmac
import http.client
import json
import os
import socket
import subprocess
import time
from xml.etree import ElementTree

import pytest

from conftest import BIN
from state_helpers import settled_state

TABLE = "OrdersRawTable"
STREAM = "kinesis-for-sales-data"
BUCKET = "kinesis-firehose-destination-yb"
PIPE = "orders-cdc-pipe"
EVIL_HOST = "evil.example:4566"
EVIL_ORIGIN = "http://evil.example"
APP_ORIGIN = "http://app.example:3000"
LAN_NAME = "salespipe.lan"

KEY = ("AKIDGUARD0000001", "guard/secret+key")
CREDENTIALS = f"""credentials:
  - access_key_id: {KEY[0]}
    secret_access_key: "{KEY[1]}"
"""


def call(server, method, path, body=b"", headers=None, host=None):
    """One raw request; returns (status, headers dict (lower-case names), body bytes)."""
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    h = dict(headers or {})
    c.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
    c.putheader("Host", host if host is not None else f"127.0.0.1:{server.port}")
    for k, v in h.items():
        c.putheader(k, v)
    if body or method in ("POST", "PUT"):
        c.putheader("Content-Length", str(len(body)))
    c.endheaders(body or None)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, data


def error_code(headers, body):
    """The AWS error code of a refusal in any of the three shapes."""
    if headers.get("x-amzn-errortype"):
        return headers["x-amzn-errortype"]
    if body.startswith(b"<?xml"):
        return body.split(b"<Code>")[1].split(b"</Code>")[0].decode()
    return json.loads(body)["__type"].split("#")[-1]


def message(body):
    if body.startswith(b"<?xml"):
        return body.split(b"<Message>")[1].split(b"</Message>")[0].decode()
    return json.loads(body)["message"]


def ddb_put(orderid):
    return ("POST", "/", json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": orderid}}}).encode(),
            {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"})


def kinesis_create(name):
    return ("POST", "/", json.dumps({"StreamName": name, "ShardCount": 1}).encode(),
            {"X-Amz-Target": "Kinesis_20131202.CreateStream", "Content-Type": "application/x-amz-json-1.1"})


def pipe_state(server):
    return server.client("pipes").describe_pipe(Name=PIPE)["CurrentState"]


# ---- cross-site requests ------------------------------------------------------------------

def test_cross_site_text_plain_pipe_stop_is_refused_and_the_pipe_keeps_running(server):
    assert pipe_state(server) == "RUNNING"
    # What a form or fetch(no-cors) on any web page can send without a preflight.
    status, h, body = call(server, "POST", f"/v1/pipes/{PIPE}/stop", b"",
                           {"Content-Type": "text/plain", "Origin": EVIL_ORIGIN})
    assert status == 403, body
    assert error_code(h, body) == "AccessDeniedException"
    assert "Origin 'http://evil.example'" in message(body)
    # The same without Origin (a non-browser client): the content type alone is refused.
    status, h, body = call(server, "POST", f"/v1/pipes/{PIPE}/stop", b"x",
                           {"Content-Type": "text/plain"})
    assert status == 403 and "Content-Type 'text/plain'" in message(body), body
    # And application/json from the evil origin.
    status, h, body = call(server, "POST", f"/v1/pipes/{PIPE}/stop", b"{}",
                           {"Content-Type": "application/json", "Origin": EVIL_ORIGIN})
    assert status == 403, body
    assert "access-control-allow-origin" not in h
    time.sleep(0.5)
    assert pipe_state(server) == "RUNNING"
    # boto3's own StopPipe (no Content-Type, empty body) still works.
    server.client("pipes").stop_pipe(Name=PIPE)
    assert pipe_state(server) in ("STOPPING", "STOPPED")


def test_json_apis_take_only_their_aws_content_type(server):
    before = settled_state(server, server.client)
    method, path, body, headers = ddb_put("csrf")
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                  "application/json", "application/x-amz-json-1.1"):
        status, h, resp = call(server, method, path, body, dict(headers, **{"Content-Type": ctype}))
        assert status == 403, (ctype, resp)
        assert json.loads(resp)["__type"] == "com.amazonaws.dynamodb.v20120810#AccessDeniedException"
        assert "application/x-amz-json-1.0" in message(resp)
    no_type = {k: v for k, v in headers.items() if k != "Content-Type"}
    assert call(server, method, path, body, no_type)[0] == 403
    method, path, body, headers = kinesis_create("csrf-stream")
    status, h, resp = call(server, method, path, body,
                           dict(headers, **{"Content-Type": "application/x-amz-json-1.0"}))
    assert status == 403 and "application/x-amz-json-1.1" in message(resp), resp
    assert settled_state(server, server.client) == before
    # Parameters after the media type are fine.
    method, path, body, headers = ddb_put("with-charset")
    status, _, resp = call(server, method, path, body,
                           dict(headers, **{"Content-Type": "application/x-amz-json-1.0; charset=utf-8"}))
    assert status == 200, resp


def test_evil_origin_is_refused_on_every_api_s3_included(server):
    before = settled_state(server, server.client)
    for method, path, body, headers in (
            ddb_put("evil"), kinesis_create("evil-stream"),
            ("PUT", f"/{BUCKET}/evil.json", b"{}", {"Content-Type": "text/plain"}),
            ("DELETE", f"/{BUCKET}/anything", b"", {}),
            ("POST", f"/{BUCKET}?delete", b"<Delete/>", {"Content-Type": "text/plain"}),
            ("GET", f"/{BUCKET}", b"", {}),
            ("POST", f"/v1/pipes/{PIPE}/stop", b"", {})):
        status, h, resp = call(server, method, path, body, dict(headers, Origin=EVIL_ORIGIN))
        assert status == 403, (method, path, resp)
        assert error_code(h, resp) in ("AccessDenied", "AccessDeniedException"), resp
        assert "cors_allowed_origins" in message(resp)
    # "null" (sandboxed frames, file://) is an origin like any other.
    assert call(server, *ddb_put("null-origin")[:2], ddb_put("x")[2],
                dict(ddb_put("x")[3], Origin="null"))[0] == 403
    # A preflight from it gets no CORS grant.
    status, h, _ = call(server, "OPTIONS", "/", b"", {"Origin": EVIL_ORIGIN,
                                                      "Access-Control-Request-Method": "POST"})
    assert status == 403 and "access-control-allow-origin" not in h
    assert settled_state(server, server.client) == before


# ---- DNS rebinding ------------------------------------------------------------------------

def test_wrong_host_is_refused_for_dynamodb_kinesis_s3_and_pipes(server):
    before = settled_state(server, server.client)
    cases = [ddb_put("rebound"), kinesis_create("rebound-stream"),
             ("PUT", f"/{BUCKET}/rebound.json", b"{}", {}),
             ("POST", f"/v1/pipes/{PIPE}/stop", b"", {})]
    for method, path, body, headers in cases:
        for host in (EVIL_HOST, "evil.example", "127.0.0.1.nip.io:4566", "localhost.evil.example",
                     "[::2]:4566", "127.0.0.1:80:80", ""):
            status, h, resp = call(server, method, path, body, headers, host=host)
            assert status == 403, (method, path, host, resp)
            assert error_code(h, resp) in ("AccessDenied", "AccessDeniedException"), resp
            assert "DNS rebinding" in message(resp)
    # Two Host headers (which would a proxy have used?) are refused even if one is loopback.
    c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    c.sendall(f"GET /_salespipe/health HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
              f"Host: {EVIL_HOST}\r\nConnection: close\r\n\r\n".encode())
    assert c.recv(100).startswith(b"HTTP/1.1 403")
    c.close()
    # Health and metrics stay readable, but only under a loopback Host too.
    assert call(server, "GET", "/_salespipe/health", host=EVIL_HOST)[0] == 403
    assert call(server, "GET", "/_salespipe/metrics", host=EVIL_HOST)[0] == 403
    assert pipe_state(server) == "RUNNING"
    assert settled_state(server, server.client) == before


def test_every_loopback_spelling_is_accepted_as_host(server):
    for host in (f"127.0.0.1:{server.port}", "127.0.0.1", f"localhost:{server.port}", "LOCALHOST",
                 "localhost.", "127.8.9.10:1", f"[::1]:{server.port}", "[::1]",
                 f"app.localhost:{server.port}", "a.b.localhost"):
        status, _, resp = call(server, "GET", "/_salespipe/health", host=host)
        assert status == 200, (host, resp)
        status, _, resp = call(server, *ddb_put(f"host-{host}")[:3], ddb_put("x")[3], host=host)
        assert status == 200, (host, resp)


def test_boto3_and_aws_cli_work_unchanged(server):
    """They send Host 127.0.0.1:<port> and no Origin."""
    server.client("dynamodb").put_item(TableName=TABLE, Item={"orderid": {"S": "boto3"}})
    assert server.client("dynamodbstreams").list_streams(TableName=TABLE)["Streams"]
    server.client("kinesis").put_record(StreamName=STREAM, Data=b"x", PartitionKey="k")
    server.client("firehose").list_delivery_streams()
    server.client("glue").get_databases()
    server.client("athena").list_query_executions()
    server.client("s3").put_object(Bucket=BUCKET, Key="boto3.txt", Body=b"x")
    assert server.client("pipes").describe_pipe(Name=PIPE)["Name"] == PIPE
    assert "OrdersRawTable" in server.aws("dynamodb", "list-tables")["TableNames"]
    server.aws("pipes", "stop-pipe", "--name", PIPE)
    server.aws("pipes", "start-pipe", "--name", PIPE)
    assert "boto3.txt" in server.aws("s3", "ls", f"s3://{BUCKET}/")


# ---- allowed origins and configured names ------------------------------------------------

ALLOWING = f"""defaults: seed
server:
  hostnames: ["{LAN_NAME}"]
  cors_allowed_origins: ["{APP_ORIGIN}"]
"""


def test_allowed_origin_gets_preflight_and_cors_headers(make_server):
    server = make_server(ALLOWING).start()
    status, h, body = call(server, "OPTIONS", "/", b"", {
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-amz-target, x-amz-date, authorization"})
    assert status == 204, body
    assert h["access-control-allow-origin"] == APP_ORIGIN
    assert "POST" in h["access-control-allow-methods"]
    assert "x-amz-target" in h["access-control-allow-headers"]
    assert int(h["access-control-max-age"]) > 0
    method, path, body, headers = ddb_put("from-the-app")
    status, h, resp = call(server, method, path, body, dict(headers, Origin=APP_ORIGIN))
    assert status == 200, resp
    assert h["access-control-allow-origin"] == APP_ORIGIN
    assert "x-amzn-RequestId".lower() in h["access-control-expose-headers"].lower()
    item = server.client("dynamodb").get_item(TableName=TABLE, Key={"orderid": {"S": "from-the-app"}})
    assert "Item" in item
    # An S3 preflight and read from the app.
    status, h, _ = call(server, "OPTIONS", f"/{BUCKET}/x", b"", {
        "Origin": APP_ORIGIN, "Access-Control-Request-Method": "PUT"})
    assert status == 204 and h["access-control-allow-origin"] == APP_ORIGIN
    # Other origins stay out; the configured name is a valid Host, other names are not.
    assert call(server, method, path, body, dict(headers, Origin=EVIL_ORIGIN))[0] == 403
    assert call(server, method, path, body, dict(headers, Origin="http://app.example:3001"))[0] == 403
    assert call(server, "GET", "/_salespipe/health", host=f"{LAN_NAME}:{server.port}")[0] == 200
    assert call(server, "GET", "/_salespipe/health", host="SalesPipe.LAN")[0] == 200
    assert call(server, "GET", "/_salespipe/health", host=f"x.{LAN_NAME}")[0] == 403


def test_config_shows_and_checks_the_new_keys(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(ALLOWING)
    out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, timeout=60)
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr
    assert f'hostnames: ["{LAN_NAME}"]' in text and f'cors_allowed_origins: ["{APP_ORIGIN}"]' in text
    out = subprocess.run([BIN, "config"], capture_output=True, timeout=60)
    assert "hostnames: []" in out.stdout.decode() and "cors_allowed_origins: []" in out.stdout.decode()
    for bad, field in (('cors_allowed_origins: ["http://app.example/path"]', "cors_allowed_origins[0]"),
                       ('cors_allowed_origins: ["app.example"]', "cors_allowed_origins[0]"),
                       ('hostnames: ["http://x"]', "hostnames[0]"),
                       ('hostnames: ["a b"]', "hostnames[0]"),
                       ('hostnames: ["ok.lan", "salespipe.lan:4566"]', "hostnames[1]")):
        cfg.write_text(f"defaults: seed\nserver:\n  {bad}\n")
        out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, timeout=60)
        assert out.returncode == 2 and f"server.{field}" in out.stderr.decode(), out.stderr


# ---- binding beyond loopback --------------------------------------------------------------

def test_bind_beyond_loopback_needs_credentials_or_the_explicit_flag(make_server, data_dir):
    r = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", data_dir, "--bind", "0.0.0.0"],
                       capture_output=True, timeout=60)
    assert r.returncode == 2, r
    err = r.stderr.decode()
    assert "refusing to bind 0.0.0.0" in err and "--allow-unauthenticated-remote" in err
    assert "credentials" in err
    assert r.stdout == b""  # never got as far as listening

    # With the flag it starts; talked to over loopback only. A configured name works as Host.
    s = make_server(ALLOWING, extra_args=["--bind", "0.0.0.0", "--allow-unauthenticated-remote"]).start()
    s.client("dynamodb").put_item(TableName=TABLE, Item={"orderid": {"S": "open"}})
    assert call(s, "GET", "/_salespipe/health", host=f"{LAN_NAME}:{s.port}")[0] == 200
    assert call(s, "GET", "/_salespipe/health", host=EVIL_HOST)[0] == 403
    assert "accepts unsigned requests from anyone" in s.read_log()
    s.stop()

    # With credentials it starts, and refuses the unsigned.
    s = make_server("defaults: seed\n" + CREDENTIALS, extra_args=["--bind", "0.0.0.0"]).start()
    status, _, body = call(s, *ddb_put("unsigned")[:3], ddb_put("x")[3])
    assert status == 403 and b"MissingAuthenticationToken" in body
    s.stop()


# ---- SigV4 details ------------------------------------------------------------------------

def sign(method, path, host, headers, body, service, key=KEY, payload_hash=None, signed=None):
    """AWS SigV4 (headers form); returns the headers to send. signed: the header names to sign
    (lower case; default all). payload_hash: what the canonical request says the body is."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    h = dict(headers, Host=host, **{"X-Amz-Date": amz_date})
    if payload_hash:
        h["X-Amz-Content-SHA256"] = payload_hash
    lower = {k.lower(): str(v).strip() for k, v in h.items()}
    names = sorted(signed if signed is not None else lower)
    canonical = "\n".join([method, path, "", "".join(f"{n}:{lower[n]}\n" for n in names),
                           ";".join(names), payload_hash or hashlib.sha256(body).hexdigest()])
    scope = f"{day}/us-east-1/{service}/aws4_request"
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canonical.encode()).hexdigest()])
    k = ("AWS4" + key[1]).encode()
    for part in (day, "us-east-1", service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    h["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={key[0]}/{scope}, "
                          f"SignedHeaders={';'.join(names)}, Signature={sig}")
    del h["Host"]
    return h


def has_item(server, client, orderid):
    return "Item" in client("dynamodb").get_item(TableName=TABLE, Key={"orderid": {"S": orderid}})


def signed_client(server):
    import boto3
    import botocore.config
    cfg = botocore.config.Config(retries={"max_attempts": 1})
    return lambda service: boto3.client(service, endpoint_url=server.endpoint, region_name="us-east-1",
                                        aws_access_key_id=KEY[0], aws_secret_access_key=KEY[1],
                                        config=cfg)


def headers_then_wait(server, head, timeout=10):
    """Sends only the request head, then reads what comes back without sending any body.
    Returns the response head, or b"" if the server waited for the body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as s:
        s.sendall(head)
        got = b""
        try:
            while b"\r\n\r\n" not in got:
                chunk = s.recv(4096)
                if not chunk:
                    break
                got += chunk
        except socket.timeout:
            pass
    return got


def test_unknown_key_or_no_signature_is_refused_before_a_16_mib_body_is_read(make_server):
    server = make_server("defaults: seed\n" + CREDENTIALS).start()
    size = 16 << 20
    host = f"127.0.0.1:{server.port}"
    unknown = ("AKIDNOBODY000001", "whatever")
    auth = sign("POST", "/", host, {"X-Amz-Target": "Kinesis_20131202.PutRecord",
                                    "Content-Type": "application/x-amz-json-1.1"},
                b"", "kinesis", key=unknown)
    for expect in (True, False):
        for headers in (auth, {k: v for k, v in auth.items() if k != "Authorization"}):
            lines = [f"POST / HTTP/1.1", f"Host: {host}", f"Content-Length: {size}"]
            lines += [f"{k}: {v}" for k, v in headers.items()]
            if expect:
                lines.append("Expect: 100-continue")
            got = headers_then_wait(server, ("\r\n".join(lines) + "\r\n\r\n").encode())
            assert got.startswith(b"HTTP/1.1 403"), (expect, got[:200])
            assert b"100 Continue" not in got
    # S3 too: an unknown key's 16 MiB PUT is refused from its headers.
    s3auth = sign("PUT", f"/{BUCKET}/big", host, {}, b"", "s3", key=unknown,
                  payload_hash="UNSIGNED-PAYLOAD")
    lines = [f"PUT /{BUCKET}/big HTTP/1.1", f"Host: {host}", f"Content-Length: {size}",
             "Expect: 100-continue"] + [f"{k}: {v}" for k, v in s3auth.items()]
    got = headers_then_wait(server, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert got.startswith(b"HTTP/1.1 403") and b"InvalidAccessKeyId" in got, got[:300]
    # A known key's request of that size goes on to the body (and works).
    data = b"x" * 1000
    body = json.dumps({"StreamName": STREAM, "PartitionKey": "k",
                       "Data": __import__("base64").b64encode(data).decode()}).encode()
    ok = sign("POST", "/", host, {"X-Amz-Target": "Kinesis_20131202.PutRecord",
                                  "Content-Type": "application/x-amz-json-1.1"}, body, "kinesis")
    status, _, resp = call(server, "POST", "/", body, ok)
    assert status == 200, resp


DDB_HEADERS = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}


def test_x_amz_target_must_be_signed(make_server):
    server = make_server("defaults: seed\n" + CREDENTIALS).start()
    client = signed_client(server)
    host = f"127.0.0.1:{server.port}"
    before = settled_state(server, client)
    # The operation header left out of SignedHeaders: the signature would not say what it does.
    body = json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "unsigned-target"}}}).encode()
    h = sign("POST", "/", host, DDB_HEADERS, body, "dynamodb",
             signed=["content-type", "host", "x-amz-date"])
    status, _, resp = call(server, "POST", "/", body, h)
    assert status in (400, 403), resp
    assert "x-amz-target" in message(resp)
    assert settled_state(server, client) == before
    # Correctly signed, the same request works.
    h = sign("POST", "/", host, DDB_HEADERS, body, "dynamodb")
    assert call(server, "POST", "/", body, h)[0] == 200
    assert has_item(server, client, "unsigned-target")


def test_unsigned_payload_passes_only_for_s3(make_server):
    server = make_server("defaults: seed\n" + CREDENTIALS).start()
    client = signed_client(server)
    host = f"127.0.0.1:{server.port}"
    before = settled_state(server, client)
    body = json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "unsigned-body"}}}).encode()
    # UNSIGNED-PAYLOAD with an s3 scope on a DynamoDB request, and with the DynamoDB scope.
    for service in ("s3", "dynamodb"):
        h = sign("POST", "/", host, DDB_HEADERS, b"", service, payload_hash="UNSIGNED-PAYLOAD")
        status, _, resp = call(server, "POST", "/", body, h)
        assert status == 403, (service, resp)
    # An s3 scope on a DynamoDB request even with the payload signed.
    h = sign("POST", "/", host, DDB_HEADERS, body, "s3")
    assert call(server, "POST", "/", body, h)[0] == 403
    assert settled_state(server, client) == before
    # S3 still takes UNSIGNED-PAYLOAD.
    h = sign("PUT", f"/{BUCKET}/unsigned.txt", host, {}, b"", "s3", payload_hash="UNSIGNED-PAYLOAD")
    status, _, resp = call(server, "PUT", f"/{BUCKET}/unsigned.txt", b"hello", h)
    assert status == 200, resp
    assert client("s3").get_object(Bucket=BUCKET, Key="unsigned.txt")["Body"].read() == b"hello"


# ---- no internal paths in errors ----------------------------------------------------------

def test_error_responses_never_name_the_data_dir(server, data_dir):
    real = os.path.realpath(data_dir)
    long_seg = "s" * 300
    requests = [
        ("PUT", f"/{BUCKET}/{long_seg}", b"x", {}),
        ("PUT", f"/{BUCKET}/dir/{long_seg}/x.json", b"x", {}),
        ("GET", f"/{BUCKET}/{long_seg}", b"", {}),
        ("DELETE", f"/{BUCKET}/{long_seg}", b"", {}),
        ("PUT", f"/{BUCKET}/copy", b"", {"x-amz-copy-source": f"/{BUCKET}/{long_seg}"}),
        # An object where a directory is needed, and the other way round.
        ("PUT", f"/{BUCKET}/file", b"x", {}),
        ("PUT", f"/{BUCKET}/file/under", b"x", {}),
        ("PUT", f"/{BUCKET}/dir2/obj", b"x", {}),
        ("DELETE", f"/{BUCKET}/dir2", b"", {}),
        ("GET", f"/{BUCKET}/dir2", b"", {}),
        ("POST", "/", json.dumps({"TableName": TABLE, "Item": {"orderid": {"S": "k" * 3000}}}).encode(),
         {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"}),
        ("POST", "/", json.dumps({"StreamName": "s" * 300, "ShardCount": 1}).encode(),
         {"X-Amz-Target": "Kinesis_20131202.CreateStream", "Content-Type": "application/x-amz-json-1.1"}),
        ("POST", "/", json.dumps({"QueryString": "SELECT 1", "ResultConfiguration": {
            "OutputLocation": f"s3://{BUCKET}/{long_seg}/"}}).encode(),
         {"X-Amz-Target": "AmazonAthena.StartQueryExecution", "Content-Type": "application/x-amz-json-1.1"}),
    ]
    errors = 0
    for method, path, body, headers in requests:
        status, h, resp = call(server, method, path, body, headers)
        text = resp.decode(errors="replace") + json.dumps(h)
        assert real not in text and data_dir not in text, (method, path, text[:500])
        if status >= 400 and resp:  # still a well-formed AWS error
            if resp.startswith(b"<?xml"):
                ElementTree.fromstring(resp)
            else:
                json.loads(resp)
        errors += status >= 400
    assert errors >= 8
    # The long segment is a clear 400 that names the key.
    status, h, resp = call(server, "PUT", f"/{BUCKET}/dir/{long_seg}/x.json", b"x")
    assert status == 400 and error_code(h, resp) == "KeyTooLongError", resp
    assert "dir/sss" in message(resp) and "255" in message(resp)
    # An SDK still reads the error's code from a redacted body.
    from botocore.exceptions import ClientError
    with pytest.raises(ClientError) as ei:
        server.client("s3").put_object(Bucket=BUCKET, Key="file/again", Body=b"x")
    assert ei.value.response["Error"]["Code"] == "InternalError"
    assert real not in str(ei.value.response)
    # The lake's own errors name no path at all; the redaction backstop in core/http.c, for
    # any other module's error, is unit-tested in tests/unit/api_guard.c.
