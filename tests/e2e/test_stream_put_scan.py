"""PutRecords' fast path (the hand-written scanner of the common body shape) against the
ordinary path over real HTTP: the same records sent once in the common shape (taken by the
scanner) and once with an ignored extra member (which sends the body through jansson, the
model check and the operation's own validation) are answered alike and read back alike, and
bodies one byte away from the common shape get the ordinary path's errors."""
import base64
import json
import urllib.error
import urllib.request

EHK_MAX = str(2**128 - 1)


def put_records(server, body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(server.endpoint, data=data, method="POST", headers={
        "X-Amz-Target": "Kinesis_20131202.PutRecords",
        "Content-Type": "application/x-amz-json-1.1"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers["Content-Type"], json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], json.loads(e.read())


def read_back(k, stream):
    out = []
    for s in k.list_shards(StreamName=stream)["Shards"]:
        it = k.get_shard_iterator(StreamName=stream, ShardId=s["ShardId"],
                                  ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        recs = k.get_records(ShardIterator=it, Limit=1000)["Records"]
        out += [(s["ShardId"], r["PartitionKey"], r["Data"]) for r in recs]
    return out


RECORDS = [
    {"Data": base64.b64encode(b"plain").decode(), "PartitionKey": "order-1"},
    {"Data": "", "PartitionKey": "empty data"},
    {"Data": base64.b64encode(b"\x00\xff\x10").decode(), "PartitionKey": "ключ 😀 \"q\" \\ \t"},
    {"Data": base64.b64encode(b"ab").decode(), "PartitionKey": "k", "ExplicitHashKey": "0"},
    {"Data": base64.b64encode(b"a").decode(), "PartitionKey": "k", "ExplicitHashKey": EHK_MAX},
    {"Data": base64.b64encode(b"x" * 3000).decode(), "PartitionKey": "p" * 256},
]


def test_fast_and_ordinary_paths_answer_and_store_alike(server):
    k = server.client("kinesis")
    for name in ("fast", "slow"):
        k.create_stream(StreamName=name, ShardCount=2)
    fast = put_records(server, {"StreamName": "fast", "Records": RECORDS})
    # An extra member the model does not know sends the body down the ordinary path.
    slow = put_records(server, {"StreamName": "slow", "Records": RECORDS, "Unknown": None})
    assert fast[0] == slow[0] == 200
    assert fast[1] == slow[1]
    assert fast[2]["FailedRecordCount"] == slow[2]["FailedRecordCount"] == 0
    assert list(fast[2]) == list(slow[2]) == ["FailedRecordCount", "Records"]
    assert [list(r) for r in fast[2]["Records"]] == [list(r) for r in slow[2]["Records"]]
    assert [r["ShardId"] for r in fast[2]["Records"]] == [r["ShardId"] for r in slow[2]["Records"]]
    assert read_back(k, "fast") == read_back(k, "slow")
    # The ARN form, raw UTF-8 keys and compact separators are the fast path's too.
    arn = "arn:aws:kinesis:us-east-1:000000000000:stream/fast"
    body = json.dumps({"StreamARN": arn, "Records": RECORDS[:3]}, ensure_ascii=False,
                      separators=(",", ":")).encode()
    status, _, out = put_records(server, body)
    assert status == 200 and out["FailedRecordCount"] == 0 and len(out["Records"]) == 3


def test_bodies_next_to_the_common_shape_get_the_ordinary_errors(server):
    k = server.client("kinesis")
    k.create_stream(StreamName="s", ShardCount=1)
    ok = b'{"StreamName":"s","Records":[{"Data":"QUJD","PartitionKey":"k"}]}'
    assert put_records(server, ok)[0] == 200
    cases = {
        ok + b" x": "SerializationException",                      # trailing garbage
        ok.replace(b'"k"', b'"\xc0\xaf"'): "SerializationException",  # invalid UTF-8
        ok.replace(b'"k"', b'"k\x01"'): "SerializationException",     # control character
        ok.replace(b'"k"', b'"\\ud800"'): "SerializationException",   # lone surrogate
        ok.replace(b'"QUJD",', b'"QUJD","Data":"QUJD",'): "SerializationException",  # duplicate
        ok.replace(b'QUJD', b'QUJ='): "SerializationException",   # bits past the data
        ok.replace(b'QUJD', b'QUJ'): "SerializationException",    # length
        ok.replace(b'"k"', b'""'): "ValidationException",
        ok.replace(b'"s"', b'".s"'): "ValidationException",
        ok.replace(b'"s"', b'"missing"'): "ResourceNotFoundException",
        ok.replace(b'"k"}', b'"k","ExplicitHashKey":"01"}'): "ValidationException",
    }
    for body, want in cases.items():
        status, _, out = put_records(server, body)
        assert status == 400, body
        assert out["__type"].split("#")[-1] == want, (body, out)
    assert len(read_back(k, "s")) == 1
