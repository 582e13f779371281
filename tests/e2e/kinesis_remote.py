"""Helpers for the tests whose pipe or delivery stream talks to a remote Kinesis or DynamoDB
Streams endpoint: kinesalite (the npm Kinesis implementation, started here on 127.0.0.1 on a
port chosen up front, so a test can start salespipe before it), configurations that point the
seed pipeline's stages at a remote endpoint, and reading back what reached the lake."""
import json
import os
import socket
import subprocess
import time

import boto3
import botocore.config
import pytest

from conftest import REGION, SOURCE
from pipe_helpers import read_kinesis_stream

KINESALITE = os.path.join(SOURCE, "tools", "node_modules", "kinesalite")
STREAM = "kinesis-for-sales-data"
BUCKET = "kinesis-firehose-destination-yb"
KEYS = "access_key_id: remote-key, secret_access_key: remote-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kinesalite:
    """kinesalite in memory on a fixed loopback port."""

    def __init__(self, port=None):
        if not os.path.isdir(KINESALITE):
            pytest.skip("tools/node_modules/kinesalite is absent (scripts/deps.sh installs the "
                        "npm oracles)")
        self.port = port or free_port()
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        code = ("require(%s)({createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, "
                "shardLimit: 100}).listen(%d, '127.0.0.1', () => console.log('ready'))"
                % (json.dumps(os.path.join(KINESALITE, "index.js")), self.port))
        self.proc = subprocess.Popen(["node", "-e", code], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        if "ready" not in self.proc.stdout.readline().decode():
            self.proc.kill()
            raise RuntimeError("kinesalite did not start")
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None

    def client(self):
        return kinesis_client(self.endpoint)


def kinesis_client(endpoint):
    cfg = botocore.config.Config(retries={"max_attempts": 2}, connect_timeout=5, read_timeout=60)
    return boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION,
                        aws_access_key_id="test", aws_secret_access_key="test", config=cfg)


def create_stream(kinesis, name=STREAM, shards=2):
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.time() + 10
    while kinesis.describe_stream(StreamName=name)["StreamDescription"]["StreamStatus"] != "ACTIVE":
        assert time.time() < deadline
        time.sleep(0.05)


def seed_config(kinesis_endpoint, stream=STREAM, pipe=True, delivery=True, batch_size=100,
                source=None):
    """The seed pipeline with its log on a remote Kinesis endpoint: the pipe writes there and
    the delivery stream reads from there. source: a remote DynamoDB Streams endpoint for the
    pipe instead of the local table."""
    remote = (f"{{kind: kinesis, endpoint: \"{kinesis_endpoint}\", region: {REGION}, "
              f"stream: {stream}, {KEYS}}}")
    text = "defaults: seed\n"
    if pipe:
        src = (f"    source: {{kind: dynamodb-streams, endpoint: \"{source}\", region: {REGION}, "
               f"table: OrdersRawTable, {KEYS}}}\n") if source else "    source_table: OrdersRawTable\n"
        text += f"""pipes:
  - name: orders-cdc-pipe
{src}    target: {remote}
    batch_size: {batch_size}
"""
    if delivery:
        text += f"""delivery_streams:
  - name: sales-delivery-stream
    source: {remote}
    bucket: {BUCKET}
    buffer_interval_seconds: 0
    processors: [{{type: dynamodb-cdc}}]
"""
    return text


def burst(server, first, count, keys=97):
    """count changes (inserts, then modifications as keys repeat) through BatchWriteItem."""
    ddb = server.client("dynamodb")
    step = min(25, keys)   # one BatchWriteItem may not name a key twice
    for start in range(first, first + count, step):
        ddb.batch_write_item(RequestItems={"OrdersRawTable": [
            {"PutRequest": {"Item": {"orderid": {"S": str(i % keys)}, "quantity": {"N": str(i)},
                                     "product_name": {"S": "Laptop"}, "price": {"N": "10"}}}}
            for i in range(start, min(start + step, first + count))]})


def lake_rows(data_dir):
    """Every line of every lake object, as (object key, line number, parsed row)."""
    root = os.path.join(data_dir, "lake", BUCKET)
    out = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if f.startswith(".tmp-"):
                continue
            p = os.path.join(dirpath, f)
            with open(p) as fh:
                for i, l in enumerate(fh):
                    if l.strip():
                        out.append((os.path.relpath(p, root), i, json.loads(l)))
    return out


def wait_lake(data_dir, wanted, timeout=60, on_timeout=lambda: ""):
    """Waits until every wanted sequence number is in the lake; returns the rows."""
    deadline = time.time() + timeout
    rows = []
    while time.time() < deadline:
        rows = lake_rows(data_dir)
        if set(wanted) <= {r["sequence_number"] for _, _, r in rows}:
            return rows
        time.sleep(0.3)
    have = {r["sequence_number"] for _, _, r in rows}
    raise AssertionError(f"{len(set(wanted) - have)} of {len(wanted)} changes never reached the "
                         f"lake\n{on_timeout()}")


def assert_lake_exactly_once(rows, wanted):
    """Each wanted change once, nothing else, and per key in sequence order inside each
    object."""
    seen = {}
    for _, _, r in rows:
        seen[r["sequence_number"]] = seen.get(r["sequence_number"], 0) + 1
    dups = {s: n for s, n in seen.items() if n > 1}
    assert not dups, f"{len(dups)} changes twice in the lake: {sorted(dups)[:5]}"
    missing = set(wanted) - set(seen)
    assert not missing, f"{len(missing)} changes missing: {sorted(missing)[:5]}"
    extra = set(seen) - set(wanted)
    assert not extra, f"unexpected rows: {sorted(extra)[:5]}"
    last = {}
    for key, _, r in rows:
        k = (key, r["orderid"])
        assert r["sequence_number"] > last.get(k, ""), f"order {r['orderid']} out of order in {key}"
        last[k] = r["sequence_number"]


def read_remote_stream(kinesis, stream=STREAM):
    """(shard, partition key, data) of every record of a remote stream, shard by shard."""
    return read_kinesis_stream(kinesis, stream)
