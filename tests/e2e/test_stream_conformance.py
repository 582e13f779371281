"""Kinesis behaviours the kinesalite conformance suite (written against real Kinesis) checks,
tested here with our own cases through boto3 and raw HTTP: stream tags, CBOR bodies, sequence
number shape and SequenceNumberForOrdering, AT_TIMESTAMP, resharding with lineage
(UpdateShardCount, closed parents, GetRecords handing over to children) and the delivery
stage reading a child only after its parents."""
import base64
import io
import json
import os
import re
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

cbor2 = pytest.importorskip("cbor2")
import cbor2.decoder  # noqa: E402  (the pure-Python decoder: tag 1 stays raw milliseconds)

CBOR = "application/x-amz-cbor-1.1"


def err(call, **kw):
    with pytest.raises(ClientError) as ei:
        call(**kw)
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


def raw(server, op, body, ctype="application/x-amz-json-1.1", encode=json.dumps):
    data = body if isinstance(body, bytes) else encode(body)
    if isinstance(data, str):
        data = data.encode()
    req = urllib.request.Request(server.endpoint + "/", data=data, method="POST", headers={
        "X-Amz-Target": "Kinesis_20131202." + op, "Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def cbor_loads(data):
    """CBOR as the AWS SDKs read it: tag 1 carries epoch milliseconds, kept as ('ms', n)."""
    dec = cbor2.decoder.CBORDecoder(io.BytesIO(data))
    saved = cbor2.decoder.semantic_decoders.get(1)
    cbor2.decoder.semantic_decoders[1] = lambda self: ("ms", self._decode())
    try:
        return dec.decode()
    finally:
        cbor2.decoder.semantic_decoders[1] = saved


def create(k, name, shards=1):
    k.create_stream(StreamName=name, ShardCount=shards)
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1,
                                                                      "MaxAttempts": 20})


# ---- tags ------------------------------------------------------------------------------------

def test_tags_add_list_remove_paginate_and_survive_a_restart(make_server):
    server = make_server().start()
    k = server.client("kinesis")
    create(k, "tagged")
    k.add_tags_to_stream(StreamName="tagged", Tags={"b": "2", "a": "1", "c": ""})
    k.add_tags_to_stream(StreamName="tagged", Tags={"a": "one", "d é": "x/y=z+@-_."})
    r = k.list_tags_for_stream(StreamName="tagged")
    assert r["Tags"] == [{"Key": "a", "Value": "one"}, {"Key": "b", "Value": "2"},
                         {"Key": "c", "Value": ""}, {"Key": "d é", "Value": "x/y=z+@-_."}]
    assert r["HasMoreTags"] is False
    r = k.list_tags_for_stream(StreamName="tagged", Limit=2, ExclusiveStartTagKey="a")
    assert [t["Key"] for t in r["Tags"]] == ["b", "c"] and r["HasMoreTags"] is True
    k.remove_tags_from_stream(StreamName="tagged", TagKeys=["b", "nope"])
    server.stop()
    server.start()
    k = server.client("kinesis")
    assert [t["Key"] for t in k.list_tags_for_stream(StreamName="tagged")["Tags"]] == [
        "a", "c", "d é"]
    # Operations without output answer an empty body, as Kinesis does.
    status, _, body = raw(server, "AddTagsToStream", {"StreamName": "tagged", "Tags": {"e": "5"}})
    assert (status, body) == (200, b"")


def test_tag_errors_are_kinesis_shaped(server):
    k = server.client("kinesis")
    create(k, "tagerr")
    code, msg = err(k.add_tags_to_stream, StreamName="tagerr", Tags={"a;b": "1"})
    assert code == "InvalidArgumentException"
    assert msg.startswith("Some tags contain invalid characters. Valid characters: ")
    code, msg = err(k.add_tags_to_stream, StreamName="tagerr", Tags={"a": "50%"})
    assert code == "InvalidArgumentException" and "illegal characters" in msg
    code, msg = err(k.remove_tags_from_stream, StreamName="tagerr", TagKeys=["tab\there"])
    assert code == "InvalidArgumentException"
    assert err(k.add_tags_to_stream, StreamName="missing", Tags={"a": "1"})[0] == \
        "ResourceNotFoundException"
    assert err(k.list_tags_for_stream, StreamName="missing")[0] == "ResourceNotFoundException"
    for b in range(5):  # up to 10 a call (AddTagsToStream's reference), 50 a stream
        k.add_tags_to_stream(StreamName="tagerr", Tags={f"k{b * 10 + i}": "v" for i in range(10)})
    code, msg = err(k.add_tags_to_stream, StreamName="tagerr", Tags={"one-more": "v"})
    assert code == "InvalidArgumentException" and "more than 50 tags" in msg
    k.add_tags_to_stream(StreamName="tagerr", Tags={"k0": "overwrite"})  # not a new key: fine
    status, _, body = raw(server, "AddTagsToStream", {"StreamName": "tagerr", "Tags": {"a": 1}})
    assert status == 400 and json.loads(body)["__type"] == "SerializationException"
    status, _, body = raw(server, "AddTagsToStream", {"StreamName": "tagerr",
                                                      "Tags": {"x" * 129: "v"}})
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"
    assert len(k.list_tags_for_stream(StreamName="tagerr")["Tags"]) == 50


# ---- CBOR ------------------------------------------------------------------------------------

def test_cbor_put_and_get_records_with_bytes_and_millisecond_timestamps(server):
    k = server.client("kinesis")
    create(k, "cbor")
    payload = bytes(range(256))
    status, ctype, body = raw(server, "PutRecord", {"StreamName": "cbor", "PartitionKey": "p",
                                                    "Data": payload}, CBOR, cbor2.dumps)
    assert status == 200 and ctype == CBOR
    put = cbor_loads(body)
    assert re.fullmatch(r"\d{56}", put["SequenceNumber"])
    before_ms = int((time.time() - 60) * 1000)
    status, _, body = raw(server, "GetShardIterator", {
        "StreamName": "cbor", "ShardId": put["ShardId"], "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": cbor2.CBORTag(1, before_ms)}, CBOR, cbor2.dumps)
    assert status == 200
    it = cbor_loads(body)["ShardIterator"]
    status, _, body = raw(server, "GetRecords", {"ShardIterator": it}, CBOR, cbor2.dumps)
    rec = cbor_loads(body)["Records"][0]
    assert rec["Data"] == payload  # a byte string, not base64 text
    assert rec["SequenceNumber"] == put["SequenceNumber"]
    kind, ms = rec["ApproximateArrivalTimestamp"]
    assert kind == "ms" and abs(ms / 1000 - time.time()) < 60
    # The same record through boto3's JSON: one store, two encodings.
    got = k.get_records(ShardIterator=k.get_shard_iterator(
        StreamName="cbor", ShardId=put["ShardId"],
        ShardIteratorType="TRIM_HORIZON")["ShardIterator"])["Records"][0]
    assert got["Data"] == payload
    # An operation without output: empty body, CBOR content type.
    status, ctype, body = raw(server, "AddTagsToStream", {"StreamName": "cbor",
                                                          "Tags": {"a": "b"}}, CBOR, cbor2.dumps)
    assert (status, ctype, body) == (200, CBOR, b"")


@pytest.mark.parametrize("body", [
    b"",                                   # nothing
    b"\xa1\x61",                           # truncated
    cbor2.dumps({"StreamName": "cbor"}) + b"\x00",  # trailing byte
    cbor2.dumps(["not", "a", "map"]),
    b"\xa1\x01\x02",                       # integer map key
    b"\x81" * 100000 + b"\x00",            # nesting far too deep
    b"\xbb\xff\xff\xff\xff\xff\xff\xff\xff",  # a map claiming 2^64 entries
    b"\x5b\x00\x00\x00\x10\x00\x00\x00\x00",  # a byte string longer than the body
    b"\xa1\x6aStreamName\xf7",             # undefined
    b"\xa1\x62\xff\xfe\x61x",              # key not UTF-8
], ids=["empty", "truncated", "trailing", "array", "intkey", "deep", "hugemap", "longbytes",
        "undefined", "badutf8"])
def test_cbor_hostile_bodies_are_serialization_exceptions(server, body):
    status, ctype, out = raw(server, "DescribeStreamSummary", body, CBOR)
    assert status == 400 and ctype == CBOR
    if body:
        assert cbor_loads(out)["__type"] == "SerializationException"
    assert server.health()["status"] == "ok"


def test_cbor_errors_come_back_in_cbor(server):
    status, ctype, body = raw(server, "DescribeStream", {"StreamName": "nope"}, CBOR,
                              cbor2.dumps)
    assert status == 400 and ctype == CBOR
    assert cbor_loads(body)["__type"] == "ResourceNotFoundException"
    status, ctype, body = raw(server, "NoSuchOp", {}, CBOR, cbor2.dumps)
    assert status == 400 and cbor_loads(body)["__type"] == "UnknownOperationException"


# ---- sequence numbers, ordering, timestamps ---------------------------------------------------

def test_sequence_numbers_have_kinesis_shape_and_ordering_numbers_are_checked(server):
    k = server.client("kinesis")
    create(k, "seqs", 3)
    seqs = []
    for i in range(5):
        r = k.put_record(StreamName="seqs", PartitionKey="same", Data=b"x",
                         **({"SequenceNumberForOrdering": seqs[-1]} if seqs else {}))
        seqs.append(r["SequenceNumber"])
    shard = int(r["ShardId"].split("-")[1])
    for s in seqs:
        h = format(int(s), "x")
        assert len(s) == 56 and s.startswith("49")
        assert re.fullmatch(r"20[0-9a-f]{8}%x[0-9a-f]{16}00[0-9a-f]{9}%08x2" % (shard, shard), h)
        assert abs(int(h[29:38], 16) - time.time()) < 60  # the arrival second
    assert [int(s) for s in seqs] == sorted(int(s) for s in seqs)
    for bad in ["1", "4" * 56, str(int("2ffffffffff7fffffffffffffff000000000007fffffff2", 16)),
                str(int("20000000000800000000000000000000000000000000002", 16))]:
        code, msg = err(k.put_record, StreamName="seqs", PartitionKey="a", Data=b"",
                        SequenceNumberForOrdering=bad)
        assert code == "InvalidArgumentException"
        assert msg == (f"ExclusiveMinimumSequenceNumber {bad} used in PutRecord on stream seqs "
                       "under account 000000000000 is invalid.")
    # Kinesis's older version-1 shape is still accepted (kinesalite's suite records this).
    k.put_record(StreamName="seqs", PartitionKey="a", Data=b"",
                 SequenceNumberForOrdering=str(int("2" + "0" * 45 + "1", 16)))
    future = format(int(seqs[0]), "x")
    future = future[:29] + format(int(time.time()) + 3600, "09x") + future[38:]
    assert err(k.put_record, StreamName="seqs", PartitionKey="a", Data=b"",
               SequenceNumberForOrdering=str(int(future, 16)))[0] == "InvalidArgumentException"


def test_get_shard_iterator_checks_in_kinesis_order(server):
    k = server.client("kinesis")
    create(k, "gsi", 2)
    code, msg = err(k.get_shard_iterator, StreamName="nostream", ShardId="abc",
                    ShardIteratorType="LATEST")
    assert (code, msg) == ("ResourceNotFoundException", "Could not find shard abc in stream "
                           "nostream under account 000000000000.")
    code, msg = err(k.get_shard_iterator, StreamName="nostream", ShardId="shardId-1",
                    ShardIteratorType="LATEST")
    assert msg == ("Shard shardId-000000000001 in stream nostream under account 000000000000 "
                   "does not exist")
    # "anything-<n>" names shard n
    assert k.get_shard_iterator(StreamName="gsi", ShardId="whatever-1",
                                ShardIteratorType="LATEST")["ShardIterator"]
    code, msg = err(k.get_shard_iterator, StreamName="gsi", ShardId="shardId-0",
                    ShardIteratorType="AT_SEQUENCE_NUMBER")
    assert code == "InvalidArgumentException" and msg.endswith(
        "Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    r = k.put_record(StreamName="gsi", PartitionKey="a", Data=b"1")
    other = 1 - int(r["ShardId"][-1])
    code, msg = err(k.get_shard_iterator, StreamName="gsi", ShardId=f"shardId-{other}",
                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                    StartingSequenceNumber=r["SequenceNumber"])
    assert msg == (f"Invalid StartingSequenceNumber. It encodes {r['ShardId']}, while it was "
                   f"used in a call to a shard with shardId-00000000000{other}")
    # A small number is the oldest shape, whose shard sits in its last hex digits.
    code, msg = err(k.get_shard_iterator, StreamName="gsi", ShardId="shardId-0",
                    ShardIteratorType="AT_SEQUENCE_NUMBER", StartingSequenceNumber="5")
    assert msg.startswith("Invalid StartingSequenceNumber. It encodes shardId-000000000005,")


def test_at_timestamp_reads_from_that_time_and_refuses_the_future(server):
    k = server.client("kinesis")
    create(k, "ts")
    k.put_record(StreamName="ts", PartitionKey="a", Data=b"old")
    time.sleep(1.2)
    mark = time.time()
    time.sleep(0.2)
    k.put_record(StreamName="ts", PartitionKey="a", Data=b"new")
    it = k.get_shard_iterator(StreamName="ts", ShardId="shardId-000000000000",
                              ShardIteratorType="AT_TIMESTAMP", Timestamp=mark)["ShardIterator"]
    assert [r["Data"] for r in k.get_records(ShardIterator=it)["Records"]] == [b"new"]
    code, msg = err(k.get_shard_iterator, StreamName="ts", ShardId="shardId-000000000000",
                    ShardIteratorType="AT_TIMESTAMP", Timestamp=time.time() + 3600)
    assert code == "InvalidArgumentException"
    assert msg.startswith("The timestampInMillis parameter cannot be greater than the "
                          "currentTimestampInMillis. timestampInMillis: ")


# ---- resharding -----------------------------------------------------------------------------

def test_update_shard_count_keeps_lineage_and_readers_follow_it(server):
    k = server.client("kinesis")
    create(k, "grow", 2)
    before = [k.put_record(StreamName="grow", PartitionKey=f"k{i}", Data=b"a%d" % i)
              for i in range(20)]
    r = k.update_shard_count(StreamName="grow", TargetShardCount=4,
                             ScalingType="UNIFORM_SCALING")
    assert (r["CurrentShardCount"], r["TargetShardCount"]) == (2, 4)
    shards = k.list_shards(StreamName="grow")["Shards"]
    assert len(shards) == 6
    parents = {s["ShardId"]: s for s in shards[:2]}
    children = shards[2:]
    for p in parents.values():
        assert "EndingSequenceNumber" in p["SequenceNumberRange"]
    assert {c["ParentShardId"] for c in children} == set(parents)
    spans = sorted((int(c["HashKeyRange"]["StartingHashKey"]),
                    int(c["HashKeyRange"]["EndingHashKey"])) for c in children)
    assert spans[0][0] == 0 and spans[-1][1] == 2**128 - 1
    assert all(b + 1 == c for (_, b), (c, _) in zip(spans, spans[1:]))
    open_only = k.list_shards(StreamName="grow", ShardFilter={"Type": "AT_LATEST"})["Shards"]
    assert len(open_only) == 4
    # A reader of a closed parent gets its records, then no next iterator and the children.
    pid = before[0]["ShardId"]
    it = k.get_shard_iterator(StreamName="grow", ShardId=pid,
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    got, kids = [], None
    while it:
        out = k.get_records(ShardIterator=it)
        got += out["Records"]
        it = out.get("NextShardIterator")
        kids = out.get("ChildShards", kids)
    assert [g["SequenceNumber"] for g in got] == [b["SequenceNumber"] for b in before
                                                  if b["ShardId"] == pid]
    assert sorted(c["ShardId"] for c in kids) == sorted(
        c["ShardId"] for c in children if c["ParentShardId"] == pid)
    # New records go to the children only.
    after = k.put_record(StreamName="grow", PartitionKey="k0", Data=b"b")
    assert after["ShardId"] in {c["ShardId"] for c in children}
    # Back down to 2: merges with both parents named.
    k.update_shard_count(StreamName="grow", TargetShardCount=2, ScalingType="UNIFORM_SCALING")
    merged = [s for s in k.list_shards(StreamName="grow")["Shards"][6:]]
    assert len(merged) == 2 and all("AdjacentParentShardId" in s for s in merged)
    assert err(k.update_shard_count, StreamName="grow", TargetShardCount=5,
               ScalingType="UNIFORM_SCALING")[0] == "LimitExceededException"
    status, _, body = raw(server, "UpdateShardCount", {"StreamName": "grow",
                          "TargetShardCount": 0, "ScalingType": "UNIFORM_SCALING"})
    assert status == 400 and json.loads(body)["__type"] == "ValidationException"
    assert err(k.update_shard_count, StreamName="nope", TargetShardCount=2,
               ScalingType="UNIFORM_SCALING")[0] == "ResourceNotFoundException"


def test_split_and_merge_errors_name_shards_as_kinesis_does(server):
    k = server.client("kinesis")
    create(k, "rs", 2)
    code, msg = err(k.split_shard, StreamName="rs", ShardToSplit="shardId-000000000009",
                    NewStartingHashKey="5")
    assert (code, msg) == ("ResourceNotFoundException", "Could not find shard "
                           "shardId-000000000009 in stream rs under account 000000000000.")
    code, msg = err(k.split_shard, StreamName="rs", ShardToSplit="shardId-0",
                    NewStartingHashKey="1")
    assert code == "InvalidArgumentException" and "StartingHashKey 0 and less than" in msg
    code, _ = err(k.split_shard, StreamName="rs", ShardToSplit="shardId-0",
                  NewStartingHashKey="9" * 39)  # past 2^128 - 1: out of range, not malformed
    assert code == "InvalidArgumentException"
    code, msg = err(k.merge_shards, StreamName="rs", ShardToMerge="shardId-1",
                    AdjacentShardToMerge="shardId-0")  # inverted pair
    assert code == "InvalidArgumentException" and "not an adjacent pair" in msg


# ---- the delivery stage follows lineage --------------------------------------------------------

LINEAGE_BUCKET = "lineage-bucket"


def lineage_config(with_delivery):
    text = "streams:\n  - name: lin\n    shard_count: 1\nbuckets:\n  - name: %s\n" % LINEAGE_BUCKET
    if with_delivery:
        text += """delivery_streams:
  - name: lin-delivery
    source_stream: lin
    bucket: %s
    prefix: "lin/"
    buffer_interval_seconds: 1
    append_delimiter: true
""" % LINEAGE_BUCKET
    return text


def test_delivery_reads_children_after_their_parent(make_server, data_dir):
    # A backlog larger than one read of the parent, then a split and more records of the same
    # key in a child: the lake must hold the key's records in put order.
    server = make_server(lineage_config(False)).start()
    k = server.client("kinesis")
    n_parent, n_child, i = 10500, 300, 0
    while i < n_parent:
        recs = [{"Data": json.dumps({"i": j}).encode(), "PartitionKey": "key"}
                for j in range(i, min(i + 500, n_parent))]
        assert k.put_records(StreamName="lin", Records=recs)["FailedRecordCount"] == 0
        i += len(recs)
    k.split_shard(StreamName="lin", ShardToSplit="shardId-000000000000",
                  NewStartingHashKey=str(2**127))
    for j in range(n_parent, n_parent + n_child):
        k.put_record(StreamName="lin", PartitionKey="key", Data=json.dumps({"i": j}).encode())
    assert server.stop() == 0
    server = make_server(lineage_config(True)).start()
    root = os.path.join(data_dir, "lake", LINEAGE_BUCKET)
    deadline, rows = time.time() + 90, []
    while time.time() < deadline:
        files = []
        for dirpath, _, names in os.walk(root):
            files += [os.path.join(dirpath, f) for f in names if not f.startswith(".tmp-")]
        files.sort(key=lambda f: (os.stat(f).st_mtime_ns, f))
        rows = []
        for f in files:
            with open(f) as fh:
                rows += [json.loads(line)["i"] for line in fh if line.strip()]
        if len(rows) >= n_parent + n_child:
            break
        time.sleep(0.5)
    assert rows == list(range(n_parent + n_child))
