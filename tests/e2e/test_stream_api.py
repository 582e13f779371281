"""The stream stage through the Kinesis API with boto3 and the aws cli: the seed stream,
single puts and batches read back from every iterator type in order, across segment
boundaries, after a restart, resharding lineage, retention and the Kinesis error shapes."""
import base64
import time

import pytest
from botocore.exceptions import ClientError

SEED_STREAM = "kinesis-for-sales-data"


def read_shard(k, stream, shard_id, itype="TRIM_HORIZON", **kw):
    """Every record from an iterator of the given type until the shard is drained."""
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard_id, ShardIteratorType=itype,
                              **kw)["ShardIterator"]
    out = []
    while it:
        r = k.get_records(ShardIterator=it, Limit=1000)
        out += r["Records"]
        if not r["Records"]:
            break
        it = r.get("NextShardIterator")
    return out


def read_all(k, stream):
    shards = k.list_shards(StreamName=stream)["Shards"]
    return {s["ShardId"]: read_shard(k, stream, s["ShardId"]) for s in shards}


def error_code(call, **kw):
    with pytest.raises(ClientError) as ei:
        call(**kw)
    return ei.value.response["Error"]["Code"]


def test_seed_stream_exists_with_even_hash_ranges(server):
    k = server.client("kinesis")
    assert SEED_STREAM in k.list_streams()["StreamNames"]
    d = k.describe_stream(StreamName=SEED_STREAM)["StreamDescription"]
    assert d["StreamStatus"] == "ACTIVE"
    assert d["RetentionPeriodHours"] == 24
    ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
              for s in d["Shards"]]
    assert ranges[0][0] == 0 and ranges[-1][1] == 2**128 - 1
    for (a, b), (c, _) in zip(ranges, ranges[1:]):
        assert c == b + 1
    assert server.health()["services"]["kinesis"]["running"] is True


def test_put_and_read_back_in_order_from_every_iterator_type(server):
    k = server.client("kinesis")
    k.create_stream(StreamName="orders", ShardCount=3)
    sent = []
    for i in range(5):
        r = k.put_record(StreamName="orders", Data=f"single-{i}".encode(), PartitionKey=f"key-{i % 4}")
        sent.append((r["ShardId"], r["SequenceNumber"], f"single-{i}"))
    # botocore may send Timestamp in whole seconds: start the batch in a later second.
    t_mid = int(time.time()) + 1
    time.sleep(t_mid - time.time() + 0.05)
    batch = [{"Data": f"batch-{i}".encode(), "PartitionKey": f"key-{i % 4}"} for i in range(300)]
    r = k.put_records(StreamName="orders", Records=batch)
    assert r["FailedRecordCount"] == 0
    sent += [(x["ShardId"], x["SequenceNumber"], f"batch-{i}") for i, x in enumerate(r["Records"])]

    # Same key -> same shard; sequence numbers increase within a shard.
    by_key = {}
    for (shard, seq, data), key in zip(sent, [f"key-{i % 4}" for i in range(5)] + [b["PartitionKey"] for b in batch]):
        by_key.setdefault(key, set()).add(shard)
    assert all(len(s) == 1 for s in by_key.values())

    got = read_all(k, "orders")
    for shard, recs in got.items():
        want = [(seq, data) for s, seq, data in sent if s == shard]
        assert [(x["SequenceNumber"], x["Data"].decode()) for x in recs] == want
        seqs = [int(x["SequenceNumber"]) for x in recs]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    assert sum(len(v) for v in got.values()) == 305

    shard, seq, _ = next(s for s in sent[5:] if s[0] == sent[0][0])
    recs = got[shard]
    at = read_shard(k, "orders", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
    assert at == recs[[x["SequenceNumber"] for x in recs].index(seq):]
    after = read_shard(k, "orders", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
    assert after == at[1:]
    ts = read_shard(k, "orders", shard, "AT_TIMESTAMP", Timestamp=t_mid)
    assert [x["Data"].decode() for x in ts] == [x["Data"].decode() for x in recs if x["Data"].startswith(b"batch-")]
    latest = k.get_shard_iterator(StreamName="orders", ShardId=shard, ShardIteratorType="LATEST")["ShardIterator"]
    assert k.get_records(ShardIterator=latest)["Records"] == []
    k.put_record(StreamName="orders", Data=b"after-latest", PartitionKey="key-0",
                 ExplicitHashKey=str(int(recs and 0)))
    # key-0 with explicit hash key 0 lands in shard 0
    it0 = k.get_shard_iterator(StreamName="orders", ShardId="shardId-000000000000",
                               ShardIteratorType="LATEST")["ShardIterator"]
    k.put_record(StreamName="orders", Data=b"tail", PartitionKey="z", ExplicitHashKey="0")
    r = k.get_records(ShardIterator=it0)
    assert [x["Data"] for x in r["Records"]] == [b"tail"]
    assert r["MillisBehindLatest"] == 0
    assert r["Records"][0]["PartitionKey"] == "z"


def test_get_records_limit_and_next_iterator(server):
    k = server.client("kinesis")
    k.create_stream(StreamName="lim", ShardCount=1)
    k.put_records(StreamName="lim", Records=[{"Data": bytes([i]), "PartitionKey": "p"} for i in range(25)])
    it = k.get_shard_iterator(StreamName="lim", ShardId="shardId-000000000000",
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    r = k.get_records(ShardIterator=it, Limit=10)
    assert [x["Data"] for x in r["Records"]] == [bytes([i]) for i in range(10)]
    assert r["MillisBehindLatest"] >= 0
    r = k.get_records(ShardIterator=r["NextShardIterator"], Limit=100)
    assert [x["Data"] for x in r["Records"]] == [bytes([i]) for i in range(10, 25)]
    # An old iterator still reads from where it was issued.
    assert len(k.get_records(ShardIterator=it)["Records"]) == 25


def test_records_survive_a_restart_across_segment_boundaries(make_server):
    s = make_server("streams:\n  - name: big\n    shard_count: 2\n    segment_mb: 1\n    fsync: batch\n").start()
    k = s.client("kinesis")
    payload = b"x" * 9000
    sent = {}
    for b in range(8):  # 8 x 100 x 9 KB = 7 MB over two shards: several 1 MB segments each
        r = k.put_records(StreamName="big", Records=[
            {"Data": payload + f"{b}-{i}".encode(), "PartitionKey": f"p{i}"} for i in range(100)])
        assert r["FailedRecordCount"] == 0
        for i, x in enumerate(r["Records"]):
            sent.setdefault(x["ShardId"], []).append((x["SequenceNumber"], f"{b}-{i}"))
    import glob, os
    segs = glob.glob(os.path.join(s.data_dir, "stream", "big", "shardId-000000000000", "*.seg"))
    assert len(segs) >= 3

    def check(k):
        got = read_all(k, "big")
        for shard, want in sent.items():
            assert [(x["SequenceNumber"], x["Data"][len(payload):].decode()) for x in got[shard]] == want
        # AT_SEQUENCE_NUMBER into the middle of a later segment
        shard = "shardId-000000000000"
        seq = sent[shard][len(sent[shard]) * 3 // 4][0]
        at = read_shard(k, "big", shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
        assert at[0]["SequenceNumber"] == seq
        assert len(at) == len(sent[shard]) - len(sent[shard]) * 3 // 4
        after = read_shard(k, "big", shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seq)
        assert after == at[1:]
        assert len(read_shard(k, "big", shard, "AT_TIMESTAMP", Timestamp=0)) == len(sent[shard])
        assert read_shard(k, "big", shard, "LATEST") == []

    check(k)
    assert s.stop() == 0
    s.start()
    k = s.client("kinesis")
    check(k)
    # Appends continue after the last sequence number.
    r = k.put_record(StreamName="big", Data=b"after", PartitionKey="p0")
    last = sent[r["ShardId"]][-1][0]
    assert int(r["SequenceNumber"]) > int(last)


def test_aws_cli_create_put_get(server):
    server.aws("kinesis", "create-stream", "--stream-name", "cli", "--shard-count", "1")
    # aws cli v1 base64-encodes blob arguments itself
    out = server.aws("kinesis", "put-record", "--stream-name", "cli", "--partition-key", "k",
                     "--data", "from the cli")
    assert out["ShardId"] == "shardId-000000000000"
    it = server.aws("kinesis", "get-shard-iterator", "--stream-name", "cli", "--shard-id",
                    "shardId-000000000000", "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    recs = server.aws("kinesis", "get-records", "--shard-iterator", it)["Records"]
    assert [base64.b64decode(r["Data"]) for r in recs] == [b"from the cli"]
    assert recs[0]["SequenceNumber"] == out["SequenceNumber"]
    summary = server.aws("kinesis", "describe-stream-summary", "--stream-name", "cli")
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 1
    shards = server.aws("kinesis", "list-shards", "--stream-name", "cli")["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000"]
    _, proc = server.aws("kinesis", "describe-stream", "--stream-name", "nope", check=False)
    assert proc.returncode != 0 and b"ResourceNotFoundException" in proc.stderr
    server.aws("kinesis", "delete-stream", "--stream-name", "cli")
    assert "cli" not in server.aws("kinesis", "list-streams")["StreamNames"]


def test_split_and_merge_keep_lineage(server):
    k = server.client("kinesis")
    k.create_stream(StreamName="re", ShardCount=2)
    k.put_records(StreamName="re", Records=[{"Data": b"old", "PartitionKey": str(i)} for i in range(20)])
    k.split_shard(StreamName="re", ShardToSplit="shardId-000000000000",
                  NewStartingHashKey=str(2**126))
    k.merge_shards(StreamName="re", ShardToMerge="shardId-000000000003",
                   AdjacentShardToMerge="shardId-000000000001")
    shards = {s["ShardId"]: s for s in k.describe_stream(StreamName="re")["StreamDescription"]["Shards"]}
    assert set(shards) == {f"shardId-00000000000{i}" for i in range(5)}
    assert "EndingSequenceNumber" in shards["shardId-000000000000"]["SequenceNumberRange"]
    assert shards["shardId-000000000002"]["ParentShardId"] == "shardId-000000000000"
    assert shards["shardId-000000000004"]["ParentShardId"] == "shardId-000000000003"
    assert shards["shardId-000000000004"]["AdjacentParentShardId"] == "shardId-000000000001"
    assert shards["shardId-000000000004"]["HashKeyRange"]["EndingHashKey"] == str(2**128 - 1)
    # closed parents keep their records; reading to the end gives the children
    it = k.get_shard_iterator(StreamName="re", ShardId="shardId-000000000000",
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    r = k.get_records(ShardIterator=it)
    assert r["Records"] and all(x["Data"] == b"old" for x in r["Records"])
    r = k.get_records(ShardIterator=r["NextShardIterator"])
    assert r["Records"] == [] and "NextShardIterator" not in r
    assert {c["ShardId"] for c in r["ChildShards"]} == {"shardId-000000000002", "shardId-000000000003"}
    res = k.put_records(StreamName="re", Records=[{"Data": b"new", "PartitionKey": str(i)} for i in range(50)])
    assert {x["ShardId"] for x in res["Records"]} <= {"shardId-000000000002", "shardId-000000000004"}
    assert error_code(k.split_shard, StreamName="re", ShardToSplit="shardId-000000000000",
                      NewStartingHashKey="5") == "ResourceInUseException"
    assert error_code(k.merge_shards, StreamName="re", ShardToMerge="shardId-000000000002",
                      AdjacentShardToMerge="shardId-000000000002") == "InvalidArgumentException"


def test_retention_period_changes(server):
    k = server.client("kinesis")
    k.increase_stream_retention_period(StreamName=SEED_STREAM, RetentionPeriodHours=48)
    assert k.describe_stream_summary(StreamName=SEED_STREAM)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48
    assert error_code(k.increase_stream_retention_period, StreamName=SEED_STREAM,
                      RetentionPeriodHours=30) == "InvalidArgumentException"
    assert error_code(k.decrease_stream_retention_period, StreamName=SEED_STREAM,
                      RetentionPeriodHours=10) == "InvalidArgumentException"
    k.decrease_stream_retention_period(StreamName=SEED_STREAM, RetentionPeriodHours=24)
    assert k.describe_stream_summary(StreamName=SEED_STREAM)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 24


def test_errors_have_kinesis_codes_and_change_nothing(server):
    k = server.client("kinesis")
    assert error_code(k.describe_stream, StreamName="missing") == "ResourceNotFoundException"
    assert error_code(k.create_stream, StreamName=SEED_STREAM, ShardCount=1) == "ResourceInUseException"
    assert error_code(k.create_stream, StreamName="too-many", ShardCount=100000) == "LimitExceededException"
    assert error_code(k.put_record, StreamName=SEED_STREAM, Data=b"x", PartitionKey="k",
                      ExplicitHashKey=str(2**128)) == "InvalidArgumentException"
    assert error_code(k.get_shard_iterator, StreamName=SEED_STREAM, ShardId="shardId-000000000099",
                      ShardIteratorType="LATEST") == "ResourceNotFoundException"
    assert error_code(k.get_shard_iterator, StreamName=SEED_STREAM, ShardId="shardId-000000000000",
                      ShardIteratorType="AT_SEQUENCE_NUMBER") == "InvalidArgumentException"
    assert error_code(k.get_records, ShardIterator="not-an-iterator") == "InvalidArgumentException"
    big = [{"Data": b"x" * 1024 * 1024, "PartitionKey": str(i)} for i in range(6)]
    assert error_code(k.put_records, StreamName=SEED_STREAM, Records=big) == "InvalidArgumentException"
    too_many = [{"Data": b"x", "PartitionKey": "k"}] * 501
    assert error_code(k.put_records, StreamName=SEED_STREAM, Records=too_many) == "ValidationException"
    # none of that wrote anything
    assert all(v == [] for v in read_all(k, SEED_STREAM).values())
    assert "too-many" not in k.list_streams()["StreamNames"]


def test_invalid_base64_is_a_serialization_error(server):
    import json
    import urllib.error
    import urllib.request
    body = json.dumps({"StreamName": SEED_STREAM, "Data": "not*base64", "PartitionKey": "k"}).encode()
    req = urllib.request.Request(server.endpoint + "/", data=body, method="POST", headers={
        "X-Amz-Target": "Kinesis_20131202.PutRecord", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(req, timeout=10)
    assert ei.value.code == 400
    assert json.loads(ei.value.read())["__type"] == "SerializationException"


def test_iterators_are_opaque_and_expire_with_aws_message(make_server):
    # Iterators are Kinesis-shaped (8 bytes 00..01 then whole cipher blocks, >= 152 bytes) and
    # a forged or edited one is refused; with the TTL shortened to 1 s an old one expires with
    # AWS's message naming both times as Java dates.
    import re
    import time
    srv = make_server()
    srv.env = {"SALESPIPE_TEST_ITERATOR_TTL_MS": "1000"}
    srv.start()
    k = srv.client("kinesis")
    it = k.get_shard_iterator(StreamName=SEED_STREAM, ShardId="shardId-000000000000",
                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    raw = base64.b64decode(it)
    assert raw[:8] == bytes(7) + b"\x01" and len(raw) >= 152 and (len(raw) - 8) % 16 == 0
    assert SEED_STREAM.encode() not in raw
    assert k.get_records(ShardIterator=it)["Records"] is not None
    forged = base64.b64encode(raw[:-16] + bytes(16)).decode()
    assert error_code(k.get_records, ShardIterator=forged) == "InvalidArgumentException"
    plain = base64.b64encode(b"1/0/0/0/0/" + SEED_STREAM.encode()).decode()
    assert error_code(k.get_records, ShardIterator=plain) == "InvalidArgumentException"
    time.sleep(1.5)
    with pytest.raises(ClientError) as ei:
        k.get_records(ShardIterator=it)
    err = ei.value.response["Error"]
    assert err["Code"] == "ExpiredIteratorException"
    date = r"\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} UTC \d{4}"
    assert re.fullmatch(r"Iterator expired\. The iterator was created at time " + date +
                        r" while right now it is " + date + r" which is further in the future "
                        r"than the tolerated delay of 300000 milliseconds\.", err["Message"])


def raw_put_records(server, records):
    """PutRecords with the records exactly as given (base64 text not checked by botocore)."""
    import json
    import urllib.error
    import urllib.request
    body = json.dumps({"StreamName": SEED_STREAM, "Records": records}).encode()
    req = urllib.request.Request(server.endpoint + "/", data=body, method="POST", headers={
        "X-Amz-Target": "Kinesis_20131202.PutRecords",
        "Content-Type": "application/x-amz-json-1.1"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_put_records_mixed_entries_keep_their_own_data(server):
    # Records of different sizes, some with an ExplicitHashKey, share one decode buffer:
    # each must read back with exactly its own bytes.
    k = server.client("kinesis")
    batch = []
    for i in range(60):
        rec = {"Data": bytes([i % 251]) * (i * 37 % 500 + 1), "PartitionKey": f"pk{i}"}
        if i % 7 == 0:
            rec["ExplicitHashKey"] = str(i * 2**120)
        batch.append(rec)
    r = k.put_records(StreamName=SEED_STREAM, Records=batch)
    assert r["FailedRecordCount"] == 0
    got = {rec["SequenceNumber"]: (rec["PartitionKey"], rec["Data"])
           for recs in read_all(k, SEED_STREAM).values() for rec in recs}
    for sent, res in zip(batch, r["Records"]):
        assert got[res["SequenceNumber"]] == (sent["PartitionKey"], sent["Data"])


def test_put_records_a_bad_entry_after_good_ones_names_it_and_writes_nothing(server):
    good = {"Data": base64.b64encode(b"fine").decode(), "PartitionKey": "k"}
    cases = [
        ({"Data": "not*base64", "PartitionKey": "k"}, 400, "SerializationException", None),
        ({"Data": "YWJj", "PartitionKey": ""}, 400, "ValidationException",
         "records.4.member.partitionKey"),
        ({"Data": "YWJj", "PartitionKey": "k" * 257}, 400, "ValidationException",
         "records.4.member.partitionKey"),
        ({"PartitionKey": "k"}, 400, "ValidationException", "records.4.member.data"),
        ({"Data": "YWJj", "PartitionKey": "k", "ExplicitHashKey": "x"}, 400,
         "ValidationException", "records.4.member.explicitHashKey"),
    ]
    for bad, status, code, member in cases:
        st, body = raw_put_records(server, [good, good, good, bad, good])
        assert (st, body["__type"]) == (status, code), (bad, body)
        if member:
            assert member in body["message"], body
    assert all(v == [] for v in read_all(server.client("kinesis"), SEED_STREAM).values())
