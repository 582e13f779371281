"""Helpers for the pipe end-to-end tests: waiting for a pipe to catch up (through the health
document) and reading a whole Kinesis stream back with boto3 GetRecords."""
import json
import time


def pipe_health(server, name):
    return server.health()["services"]["pipes"]["pipes"][name]


def wait_caught_up(server, name, timeout=60):
    """Waits until the pipe has no lag; returns its health entry."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        h = pipe_health(server, name)
        if h["lag_records"] == 0 and h["state"] == "RUNNING":
            return h
        time.sleep(0.1)
    raise AssertionError(f"pipe {name} did not catch up: {pipe_health(server, name)}")


def read_stream(server, stream):
    """Every record of every shard, as (shard_id, partition_key, parsed data), in shard order."""
    return read_kinesis_stream(server.client("kinesis"), stream)


def read_kinesis_stream(kinesis, stream):
    """read_stream through any Kinesis client (salespipe's, kinesalite's, another endpoint's)."""
    out = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            r = kinesis.get_records(ShardIterator=it, Limit=1000)
            for rec in r["Records"]:
                out.append((shard["ShardId"], rec["PartitionKey"], json.loads(rec["Data"])))
            it = r.get("NextShardIterator")
            if not r["Records"] and r.get("MillisBehindLatest", 0) == 0:
                break
    return out


def table_history(server, table="OrdersRawTable"):
    """Every record of the table's stream through the DynamoDB Streams API, in order."""
    ddb = server.client("dynamodb")
    streams = server.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    out = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            r = streams.get_records(ShardIterator=it, Limit=1000)
            out.extend(r["Records"])
            it = r.get("NextShardIterator")
            if not r["Records"]:
                break
    return out


def assert_once_in_order(records, wanted_seqs):
    """records from read_stream: each wanted sequence number exactly once, nothing else, and
    per key (and per shard) in increasing sequence order."""
    seen = {}
    last_per_key = {}
    last_per_shard = {}
    for shard, pkey, data in records:
        seq = data["dynamodb"]["SequenceNumber"]
        seen[seq] = seen.get(seq, 0) + 1
        key = data["dynamodb"]["Keys"]["orderid"]["S"]
        assert pkey == key, f"partition key {pkey!r} is not the orderid {key!r}"
        assert seq > last_per_key.get(key, ""), f"key {key}: {seq} after {last_per_key[key]}"
        assert seq > last_per_shard.get(shard, ""), f"shard {shard} out of order at {seq}"
        last_per_key[key] = seq
        last_per_shard[shard] = seq
        for field in ("eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                      "eventSourceARN"):
            assert field in data, f"{field} missing from {data}"
    dups = {s: n for s, n in seen.items() if n > 1}
    assert not dups, f"duplicated: {sorted(dups)[:10]}"
    missing = set(wanted_seqs) - set(seen)
    assert not missing, f"missing: {sorted(missing)[:10]} ({len(missing)} in all)"
    extra = set(seen) - set(wanted_seqs)
    assert not extra, f"unexpected: {sorted(extra)[:10]}"
