"""The table's group commit seen from outside: concurrent PutItems over HTTP are all
acknowledged and captured once in the stream, and the health output counts the writes, the
group commits (one SQLite transaction each) and, under `durability: fsync`, the WAL syncs that
made them durable (each sync covers one or more groups; none under relaxed)."""
import json
import threading
import urllib.request

import pytest

THREADS, PER_THREAD = 8, 40


def health(server):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/_salespipe/health",
                                timeout=10) as r:
        return json.load(r)["services"]["dynamodb"]


def put_concurrently(server):
    errors = []

    clients = [server.client("dynamodb") for _ in range(THREADS)]  # boto3 setup is not thread-safe

    def work(t):
        ddb = clients[t]
        for i in range(PER_THREAD):
            try:
                ddb.put_item(TableName="OrdersRawTable",
                             Item={"orderid": {"S": f"g{t}-{i}"}, "quantity": {"N": "1"}})
            except Exception as e:  # noqa: BLE001
                errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    return errors


def stream_seqs(server):
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    seqs = []
    while it:
        r = streams.get_records(ShardIterator=it, Limit=1000)
        seqs += [int(x["dynamodb"]["SequenceNumber"]) for x in r["Records"]
                 if x["dynamodb"]["Keys"]["orderid"]["S"].startswith("g")]
        it = r.get("NextShardIterator") if r["Records"] else None
    return seqs


@pytest.mark.parametrize("durability", ["fsync", "relaxed"])
def test_concurrent_puts_are_grouped_counted_and_captured_once(make_server, durability):
    server = make_server(extra_args=["--durability", durability]).start()
    before = health(server)
    assert put_concurrently(server) == []
    after = health(server)
    writes = after["writes"] - before["writes"]
    groups = after["group_commits"] - before["group_commits"]
    syncs = after["wal_syncs"] - before["wal_syncs"]
    assert writes >= THREADS * PER_THREAD
    assert 0 < groups <= writes
    if durability == "fsync":
        assert 0 < syncs <= groups
    else:
        assert syncs == 0
    seqs = stream_seqs(server)
    assert len(seqs) == THREADS * PER_THREAD
    assert len(set(seqs)) == len(seqs)
    assert seqs == sorted(seqs)
