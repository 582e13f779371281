"""The AWS front door (src/api/front.c): what DynamoDB's and Kinesis's endpoints answer to
requests no API claims, the signature form checks and the request id shapes, as recorded by
dynalite's and kinesalite's test/connection.js. Raw HTTP against the real binary."""
import json
import re
import zlib

from test_http_guard import call

DDB_RID = re.compile(r"^[0-9A-Z]{52}$")
UUID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
DDB = "DynamoDB_20120810.ListTables"
KIN = "Kinesis_20131202.ListStreams"


def ddb_checks(h, body):
    assert DDB_RID.match(h["x-amzn-requestid"]), h
    assert h["x-amz-crc32"] == str(zlib.crc32(body)), h


def test_dynamodb_answers_bare_requests_to_root(server):
    s, h, b = call(server, "GET", "/")
    assert s == 200 and b == b"healthy: dynamodb.us-east-1.amazonaws.com "
    ddb_checks(h, b)
    for method, body, ct in (("PUT", b"", None), ("DELETE", b"", None), ("OPTIONS", b"", None),
                             ("POST", b"hi", None), ("POST", b"hi", "whatever"),
                             ("POST", b"hi", "application/jsonasdf")):
        s, h, b = call(server, method, "/", body, {"Content-Type": ct} if ct else {})
        assert s == 404 and b == b"<UnknownOperationException/>\n", (method, ct, b)
        ddb_checks(h, b)


def test_dynamodb_serialization_and_unknown_operation(server):
    for ct, rct in (("application/json", "application/json"),
                    ("  application/json  ;   asfd", "application/json"),
                    ("application/x-amz-json-1.0;blahblah", "application/x-amz-json-1.0")):
        s, h, b = call(server, "POST", "/", b"hi", {"Content-Type": ct})
        assert s == 400 and json.loads(b) == {
            "__type": "com.amazon.coral.service#SerializationException"}
        assert h["content-type"] == rct
        ddb_checks(h, b)
    s, h, b = call(server, "POST", "/", b"{}", {"Content-Type": "application/json"})
    assert s == 400 and json.loads(b) == {
        "__type": "com.amazon.coral.service#UnknownOperationException"}
    s, h, b = call(server, "POST", "/", b"", {"X-Amz-Target": "whatever"})
    assert s == 400 and b"UnknownOperationException" in b
    ddb_checks(h, b)


def test_cors_preflight_from_non_browser_origin_is_answered_as_aws(server):
    s, h, b = call(server, "OPTIONS", "/", b"", {
        "Origin": "whatever", "Access-Control-Request-Headers": "a, b, c",
        "Access-Control-Request-Method": "d"})
    assert s == 200 and b == b""
    assert h["access-control-allow-origin"] == "*"
    assert h["access-control-allow-headers"] == "a, b, c"
    assert h["access-control-allow-methods"] == "d"
    assert h["access-control-max-age"] == "172800"
    # A header value that does not read as a list is not echoed.
    s, h, _ = call(server, "OPTIONS", "/", b"", {
        "Origin": "whatever", "Access-Control-Request-Headers": "a\x01<b>"})
    assert s == 200 and "access-control-allow-headers" not in h
    # A browser's origin outside the allow list still gets no grant (test_http_guard).
    s, h, _ = call(server, "OPTIONS", "/", b"", {
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert s == 403 and "access-control-allow-origin" not in h


def test_signature_form_checks(server):
    cases = [
        ({"Authorization": "AWS4"}, "/", "MissingAuthenticationTokenException",
         "Request is missing Authentication Token"),
        ({"Authorization": "X"}, "/?X-Amz-Algorithm", "InvalidSignatureException",
         "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."),
        ({"Authorization": "AWS4- Signature=b, Credential=a", "Date": "a"}, "/",
         "IncompleteSignatureException",
         "Authorization header requires 'SignedHeaders' parameter. "
         "Authorization=AWS4- Signature=b, Credential=a"),
        ({}, "/?X-Amz-Algorithm=a&X-Amz-Credential=b&X-Amz-Signature=c&X-Amz-Date=d",
         "IncompleteSignatureException",
         "AWS query-string parameters must include 'X-Amz-SignedHeaders'. "
         "Re-examine the query-string parameters."),
    ]
    for headers, path, code, msg in cases:
        s, h, b = call(server, "POST", path, b"", dict(headers, **{"X-Amz-Target": DDB}))
        assert s == 400 and json.loads(b) == {
            "__type": "com.amazon.coral.service#" + code, "message": msg}, b
        assert h["content-type"] == "application/json"
        ddb_checks(h, b)
    # Kinesis: no namespace, its own content type, a UUID and x-amz-id-2; a header that is not
    # AWS4 is read for its parameters.
    s, h, b = call(server, "POST", "/", b"{}", {
        "X-Amz-Target": KIN, "Content-Type": "application/x-amz-json-1.1", "Authorization": "X"})
    assert s == 400 and json.loads(b)["__type"] == "IncompleteSignatureException", b
    assert json.loads(b)["message"].endswith("Authorization=X")
    assert UUID.match(h["x-amzn-requestid"]) and len(h["x-amz-id-2"]) == 96
    # Overlong hostile header: the message stays bounded.
    s, _, b = call(server, "POST", "/", b"", {"X-Amz-Target": DDB, "Authorization": "AWS4-" + "x" * 5000})
    assert s == 400 and len(b) < 1000


def test_kinesis_content_type_without_target(server):
    s, h, b = call(server, "POST", "/", b"", {"Content-Type": "application/x-amz-json-1.1"})
    assert s == 400 and json.loads(b) == {"__type": "UnknownOperationException"}
    assert h["content-type"] == "application/x-amz-json-1.1"
    assert UUID.match(h["x-amzn-requestid"]) and "x-amz-id-2" in h
    s, h, b = call(server, "POST", "/", b"hello", {"Content-Type": "application/x-amz-json-1.1"})
    assert s == 400 and json.loads(b) == {"__type": "SerializationException"}


def test_s3_clients_still_list_buckets_at_root(server):
    assert "Buckets" in server.client("s3").list_buckets()
    # Signed with an s3 scope, no x-amz-content-sha256: still S3.
    s, h, b = call(server, "GET", "/", b"", {
        "Authorization": "AWS4-HMAC-SHA256 Credential=k/20260101/us-east-1/s3/aws4_request, "
                         "SignedHeaders=host, Signature=00"})
    assert b"healthy: dynamodb" not in b


def test_too_large_bare_request_is_413(server):
    c_len = str(16 * 1024 * 1024 + 1)
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    c.putrequest("POST", "/", skip_host=True)
    c.putheader("Host", f"127.0.0.1:{server.port}")
    c.putheader("Content-Length", c_len)
    c.endheaders()
    r = c.getresponse()
    assert r.status == 413
    c.close()
