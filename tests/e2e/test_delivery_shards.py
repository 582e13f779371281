"""Every shard is delivered, up to the stream limit: a Kinesis stream with more shards than any
fixed per-shard array the delivery ever had (64) is read whole by the Firehose role. Records
with distinct partition keys chosen to cover every shard reach the lake exactly once, also
after a SIGKILL and a restart, and the health counters agree. A config asking for more shards
than the one limit (STM_SHARDS_PER_STREAM_MAX) is refused with its file, line and key."""
import hashlib
import json
import os
import subprocess
import time

import pytest

from conftest import BIN

BUCKET = "shard-bucket"
STREAM = "wide"
STREAM_LIMIT = 1024  # STM_SHARDS_PER_STREAM_MAX in src/stream/stream.h


def config(shards):
    return f"""
streams:
  - name: {STREAM}
    shard_count: {shards}
buckets:
  - name: {BUCKET}
delivery_streams:
  - name: wide-delivery
    source_stream: {STREAM}
    bucket: {BUCKET}
    prefix: "wide/"
    buffer_interval_seconds: 1
    append_delimiter: true
"""


def shard_ranges(kin):
    shards, token = [], None
    while True:
        r = kin.list_shards(NextToken=token) if token else kin.list_shards(StreamName=STREAM)
        shards += r["Shards"]
        token = r.get("NextToken")
        if not token:
            break
    return sorted((int(s["HashKeyRange"]["StartingHashKey"]),
                   int(s["HashKeyRange"]["EndingHashKey"]), s["ShardId"]) for s in shards)


def keys_covering(ranges, per_shard, start):
    """Distinct partition keys, at least per_shard of them hashing into every shard."""
    counts = {sid: 0 for _, _, sid in ranges}
    keys, j = [], start
    starts = [a for a, _, _ in ranges]
    import bisect
    while min(counts.values()) < per_shard:
        k = f"order-{j}"
        j += 1
        h = int(hashlib.md5(k.encode()).hexdigest(), 16)
        sid = ranges[bisect.bisect_right(starts, h) - 1][2]
        if counts[sid] < per_shard:
            counts[sid] += 1
            keys.append(k)
    return keys, j


def put_all(kin, keys, tag):
    shards_hit = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        r = kin.put_records(StreamName=STREAM, Records=[
            {"Data": json.dumps({"k": k, "tag": tag}).encode(), "PartitionKey": k}
            for k in chunk])
        assert r["FailedRecordCount"] == 0
        shards_hit |= {x["ShardId"] for x in r["Records"]}
    return shards_hit


def lake_rows(data_dir):
    root = os.path.join(data_dir, "lake", BUCKET)
    rows = []
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.startswith(".tmp-"):
                with open(os.path.join(dirpath, f)) as fh:
                    rows += [json.loads(l) for l in fh if l.strip()]
    return rows


def wait_rows(data_dir, count, timeout=60):
    deadline = time.time() + timeout
    rows = []
    while time.time() < deadline:
        rows = lake_rows(data_dir)
        if len(rows) >= count:
            time.sleep(1.5)  # anything extra (a duplicate) would show up by now
            return lake_rows(data_dir)
        time.sleep(0.25)
    return rows


@pytest.mark.parametrize("shards", [100, 200])
def test_every_shard_is_delivered_exactly_once_across_a_restart(make_server, data_dir, shards):
    server = make_server(config(shards)).start()
    kin = server.client("kinesis")
    ranges = shard_ranges(kin)
    assert len(ranges) == shards
    first, nxt = keys_covering(ranges, 6, 0)
    assert len(first) >= 600 and len(set(first)) == len(first)
    assert len(put_all(kin, first, "before")) == shards
    rows = wait_rows(data_dir, len(first))
    assert sorted(r["k"] for r in rows) == sorted(first)

    # A crash, a restart, more records over every shard: still each exactly once.
    server.kill()
    server.start()
    kin = server.client("kinesis")
    second, _ = keys_covering(ranges, 5, nxt)
    assert len(put_all(kin, second, "after")) == shards
    total = len(first) + len(second)
    assert total > 1000
    rows = wait_rows(data_dir, total)
    got = sorted((r["k"], r["tag"]) for r in rows)
    want = sorted([(k, "before") for k in first] + [(k, "after") for k in second])
    assert got == want
    health = server.health()
    assert health["status"] == "ok"
    assert server.stop() == 0


def test_shard_count_over_the_stream_limit_is_refused_in_config(tmp_path):
    cfg = tmp_path / "wide.yaml"
    cfg.write_text(config(STREAM_LIMIT + 1))
    out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 2
    assert (f"{cfg}:4: streams[0].shard_count: must be between 1 and {STREAM_LIMIT}"
            in out.stderr), out.stderr
    cfg.write_text(config(STREAM_LIMIT))
    out = subprocess.run([BIN, "config", "--config", str(cfg)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
