"""The main job and its helpers: `salespipe demo`, `salespipe generate`, the examples/ boto3
generator, `salespipe status` and the Prometheus metrics."""
import gzip
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

from conftest import BIN, SOURCE, Server

BUCKET = "kinesis-firehose-destination-yb"


def lake_lines(data_dir):
    root = os.path.join(data_dir, "lake", BUCKET)
    lines = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            if name.startswith(".tmp-"):
                continue
            raw = open(os.path.join(dirpath, name), "rb").read()
            if name.endswith(".gz"):
                raw = gzip.decompress(raw)
            lines += [json.loads(l) for l in raw.decode().splitlines() if l.strip()]
    return lines


def wait_for_lake(data_dir, count, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = lake_lines(data_dir)
        if len(lines) >= count:
            return lines
        time.sleep(0.2)
    return lake_lines(data_dir)


def test_demo_runs_to_completion_and_the_table_equals_the_lake(data_dir):
    out = subprocess.run([BIN, "demo", "--events", "800", "--seed", "11", "--data-dir", data_dir],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    changes = int(re.search(r"table changes\s+(\d+) \(stream records", text).group(1))
    delivered, objects = map(int, re.search(r"delivered to the lake\s+(\d+) records in (\d+) objects?,",
                                            text).groups())
    requests = int(re.search(r"requests generated\s+(\d+)", text).group(1))
    if requests != changes:  # the summary says why
        assert "deletes of missing keys and identical overwrites change nothing" in text
    assert (objects == 1) == bool(re.search(r"in 1 object,", text))
    items, rebuilt = map(int, re.search(r"table items\s+(\d+); rebuilt from the lake: (\d+) -> equal",
                                        text).groups())
    lines = lake_lines(data_dir)
    assert changes == delivered == len(lines)
    assert len({l["sequence_number"] for l in lines}) == len(lines)
    assert items == rebuilt
    # every kind of change happened and reached the lake
    kinds = {l["cdc_event_type"] for l in lines}
    assert kinds == {"INSERT", "MODIFY", "REMOVE"}
    # the crawled schema and the sample queries were printed
    for column in ("orderid", "product_name", "quantity", "price", "cdc_event_type",
                   "creation_datetime", "partition_3"):
        assert column in text
    counts = {}
    for m in re.finditer(r"^(INSERT|MODIFY|REMOVE)\s+\|\s+(\d+)", text, re.M):
        counts[m.group(1)] = int(m.group(2))
    assert counts == {k: sum(1 for l in lines if l["cdc_event_type"] == k) for k in kinds}
    # current state per product, printed by the demo, equals the table rebuilt in Python
    latest = {}
    for l in lines:
        if l["orderid"] not in latest or latest[l["orderid"]]["sequence_number"] < l["sequence_number"]:
            latest[l["orderid"]] = l
    per_product = {}
    for l in latest.values():
        if l["cdc_event_type"] != "REMOVE":
            per_product[l["product_name"]] = per_product.get(l["product_name"], 0) + 1
    printed = dict(re.findall(r"^(Charger|Headphones|Laptop|Phone|Tablet)\s+\|\s+(\d+)\s*$", text, re.M))
    assert {k: int(v) for k, v in printed.items()} == per_product
    assert sum(per_product.values()) == items

    # Now independently of anything the demo printed: serve the same data dir, Scan the table
    # and read its DynamoDB stream with boto3, and compare both with the lake's objects.
    server = Server(data_dir).start()
    try:
        table = {}
        for page in server.client("dynamodb").get_paginator("scan").paginate(TableName="OrdersRawTable"):
            for it in page["Items"]:
                table[it["orderid"]["S"]] = (it["product_name"]["S"], int(it["quantity"]["N"]),
                                             float(it["price"]["N"]))
        from_lake = {k: (l["product_name"], l["quantity"], float(l["price"]))
                     for k, l in latest.items() if l["cdc_event_type"] != "REMOVE"}
        assert table == from_lake
        assert len(table) > 0
        stream_seqs = stream_sequence_numbers(server)
        assert sorted(stream_seqs) == sorted(l["sequence_number"] for l in lines)
        # the restarted server delivers nothing more: every change was already in the lake once
        time.sleep(1.5)
        assert len(lake_lines(data_dir)) == len(lines)
    finally:
        assert server.stop() == 0


def stream_sequence_numbers(server):
    """Every record of OrdersRawTable's DynamoDB stream, read shard by shard with boto3."""
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    arn = ddb.describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]
    seqs = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            seqs += [r["dynamodb"]["SequenceNumber"] for r in page["Records"]]
            if not page["Records"]:
                break
            it = page.get("NextShardIterator")
    return seqs


def test_demo_plain_progress_lines_when_not_a_terminal(data_dir):
    out = subprocess.run([BIN, "demo", "--events", "50", "--data-dir", data_dir],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0
    assert "\r" not in out.stdout
    assert re.search(r"^\[\s*[\d.]+s\] drained\s+table changes", out.stdout, re.M)


def test_generate_writes_a_reproducible_mix_through_the_api(make_server, tmp_path):
    results = []
    for run in range(2):
        s = make_server()
        s.data_dir = str(tmp_path / f"d{run}")
        os.makedirs(s.data_dir)
        s.log_path = str(tmp_path / f"d{run}.log")
        s.start()
        out = subprocess.run([BIN, "generate", "--endpoint", s.endpoint, "--events", "300",
                              "--rate", "0", "--mix", "6:3:1", "--seed", "42"],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        m = re.search(r"put (\d+), update (\d+), delete (\d+)", out.stdout)
        puts, updates, deletes = map(int, m.groups())
        assert puts + updates + deletes == 300 and updates > 0 and deletes > 0
        items = []
        for page in s.client("dynamodb").get_paginator("scan").paginate(TableName="OrdersRawTable"):
            items += page["Items"]
        for it in items:
            assert 1 <= int(it["orderid"]["S"]) <= 10000
            assert it["product_name"]["S"] in {"Laptop", "Phone", "Tablet", "Headphones", "Charger"}
            assert 1 <= int(it["quantity"]["N"]) <= 5
            assert 10 <= float(it["price"]["N"]) <= 500
        results.append(sorted(json.dumps(i, sort_keys=True) for i in items))
        assert s.stop() == 0
    assert results[0] == results[1]  # same seed, same table


def test_examples_generator_script_orders_reach_the_lake(server):
    env = dict(os.environ, ORDERS="40", SLEEP="0", SALESPIPE_ENDPOINT=server.endpoint)
    out = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "examples", "mock_data_generator.py")],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("Inserted data into DynamoDB") == 40
    stream = server.client("dynamodbstreams")
    arn = server.client("dynamodb").describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]
    shard = stream.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = stream.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    changes = len(stream.get_records(ShardIterator=it["ShardIterator"], Limit=1000)["Records"])
    assert 1 <= changes <= 40
    lines = wait_for_lake(server.data_dir, changes)
    assert len(lines) == changes
    assert all(isinstance(l["quantity"], int) and isinstance(l["price"], (int, float)) for l in lines)


def metrics(server):
    with urllib.request.urlopen(server.endpoint + "/_salespipe/metrics", timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'(salespipe_[a-z0-9_]+)(\{[a-z_]+="(?:[^"\\]|\\.)*"(?:,[a-z_]+="(?:[^"\\]|\\.)*")*\})? '
                         r'(-?[0-9.e+-]+|NaN)', line)
        assert m, f"not Prometheus text: {line!r}"
        samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def test_metrics_are_prometheus_text_and_move_with_load(server):
    before = metrics(server)
    ddb = server.client("dynamodb")
    for i in range(25):
        ddb.put_item(TableName="OrdersRawTable", Item={"orderid": {"S": str(i)},
                     "product_name": {"S": "Phone"}, "quantity": {"N": "1"}, "price": {"N": "10"}})
    wait_for_lake(server.data_dir, 25)
    # the objects are visible a moment before the delivery stream counts them
    out_key = 'salespipe_firehose_records_out{name="sales-delivery-stream"}'
    deadline = time.time() + 10
    while metrics(server).get(out_key, 0) < 25 and time.time() < deadline:
        time.sleep(0.1)
    after = metrics(server)
    moved = [k for k in after if after[k] > before.get(k, 0)]
    assert any(k.startswith("salespipe_pipes_written") for k in moved), moved
    assert any(k.startswith("salespipe_firehose") for k in moved), moved
    # freshness from arrival to object is measured, and sizes on disk are reported
    p99 = after['salespipe_firehose_freshness_p99_ms{name="sales-delivery-stream"}']
    p50 = after['salespipe_firehose_freshness_p50_ms{name="sales-delivery-stream"}']
    assert 0 < p50 <= p99 < 30000
    assert after["salespipe_dynamodb_disk_bytes"] > 0
    # sizes on disk are refreshed every few seconds: the lake's appears within that
    deadline = time.time() + 10
    while metrics(server)["salespipe_s3_disk_bytes"] == 0 and time.time() < deadline:
        time.sleep(0.5)
    assert metrics(server)["salespipe_s3_disk_bytes"] > 0


def test_status_reports_a_running_server_and_the_data_dir_offline(server):
    server.client("dynamodb").put_item(TableName="OrdersRawTable", Item={"orderid": {"S": "1"}})
    out = subprocess.run([BIN, "status", "--endpoint", server.endpoint], capture_output=True,
                         text=True, timeout=30)
    assert out.returncode == 0
    assert server.endpoint in out.stdout and "orders-cdc-pipe" in out.stdout


def test_generate_in_process_returns_when_every_change_is_in_the_lake(data_dir):
    out = subprocess.run([BIN, "generate", "--in-process", "--events", "300", "--rate", "0",
                          "--mix", "6:3:1", "--seed", "9", "--data-dir", data_dir],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "all changes are in the lake" in out.stdout
    lines = lake_lines(data_dir)  # no waiting: the command already waited
    assert len(lines) > 250 and len({l["sequence_number"] for l in lines}) == len(lines)
    assert {l["cdc_event_type"] for l in lines} == {"INSERT", "MODIFY", "REMOVE"}
