"""The seed pipeline with its log on a remote Kinesis endpoint (kinesalite, or a second
salespipe): the pipe puts into the remote stream, the delivery stream of the same salespipe
reads it back, and every change of the table reaches the lake exactly once; also across kill -9
during load, and with the remote down, or the stream missing, for a while."""
import base64
import json
import os
import re
import subprocess
import time
import urllib.request

import pytest

from conftest import BIN, Server
from kinesis_remote import (BUCKET, STREAM, Kinesalite, assert_lake_exactly_once, burst,
                            create_stream, free_port, kinesis_client, lake_rows,
                            read_remote_stream, seed_config, wait_lake)
from pipe_helpers import assert_once_in_order, pipe_health, table_history


def delivery_health(server):
    return server.health()["services"]["firehose"]["delivery_streams"]["sales-delivery-stream"]


def test_seed_pipeline_with_its_log_in_kinesalite_delivers_every_change_once(make_server,
                                                                              data_dir):
    k = Kinesalite().start()
    try:
        create_stream(k.client(), shards=2)
        server = make_server(seed_config(k.endpoint)).start()
        burst(server, 0, 600)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        assert len(wanted) == 600
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        assert_lake_exactly_once(rows, wanted)
        # the log really is in kinesalite, routed by the orderid, in order per key and shard
        assert_once_in_order(read_remote_stream(k.client()), wanted)
        # and status shows both connectors, with the source's lag
        p = pipe_health(server, "orders-cdc-pipe")["connectors"]["target"]
        assert p["kind"] == "kinesis" and p["records"] == 600 and p["errors"] == 0, p
        d = delivery_health(server)["connectors"]["source"]
        assert d["kind"] == "kinesis" and d["records"] == 600 and d["millis_behind"] >= 0, d
        assert STREAM in d["endpoint"] and k.endpoint in d["endpoint"]
    finally:
        k.stop()


def test_a_second_salespipe_is_the_kinesis_endpoint(make_server, data_dir, tmp_path):
    other_dir = str(tmp_path / "other")
    os.makedirs(other_dir)
    other = Server(other_dir).start()     # the seed defaults: it has kinesis-for-sales-data
    try:
        server = make_server(seed_config(other.endpoint)).start()
        burst(server, 0, 300)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        assert_lake_exactly_once(rows, wanted)
        assert_once_in_order(read_remote_stream(other.client("kinesis")), wanted)
    finally:
        assert other.stop() == 0, other.read_log()[-3000:]


def test_sigkill_during_load_with_kinesalite_keeps_every_change_exactly_once(make_server,
                                                                             data_dir):
    k = Kinesalite().start()
    try:
        create_stream(k.client(), shards=2)
        cfg = seed_config(k.endpoint, batch_size=7)
        server = make_server(cfg).start()
        kills_while_moving = 0
        for round_ in range(3):
            server.aws("pipes", "stop-pipe", "--name", "orders-cdc-pipe")
            burst(server, round_ * 700, 700)
            server.aws("pipes", "start-pipe", "--name", "orders-cdc-pipe")
            deadline = time.time() + 30
            while time.time() < deadline:
                h = pipe_health(server, "orders-cdc-pipe")
                if h["written"] > 50 + round_ * 30:
                    break
                time.sleep(0.01)
            kills_while_moving += h["lag_records"] > 0
            assert "connectors" in h, h        # a pipe saved through the API keeps its target
            server.kill()
            server = make_server(cfg).start()
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        assert len(wanted) == 2100
        rows = wait_lake(data_dir, wanted, timeout=120, on_timeout=lambda: str(server.health()))
        time.sleep(1)          # anything doubled would arrive now
        assert_lake_exactly_once(lake_rows(data_dir), wanted)
        assert len(table_history(server)) == 2100
        assert_once_in_order(read_remote_stream(k.client()), wanted)
        assert kills_while_moving > 0
    finally:
        k.stop()


def test_remote_down_then_up_and_a_missing_stream_show_in_status_and_lose_nothing(make_server,
                                                                                  data_dir):
    k = Kinesalite(port=free_port())          # not started yet: the endpoint is down
    server = make_server(seed_config(k.endpoint, stream="not-yet")).start()
    try:
        burst(server, 0, 200)
        deadline = time.time() + 30
        while time.time() < deadline:
            t = pipe_health(server, "orders-cdc-pipe")["connectors"]["target"]
            if t["errors"] > 0:
                break
            time.sleep(0.1)
        assert t["errors"] > 0 and k.endpoint in t["last_error"], t
        out = server.aws("pipes", "describe-pipe", "--name", "orders-cdc-pipe")
        assert out["CurrentState"] == "RUNNING"
        k.start()                                  # up, but the stream does not exist
        deadline = time.time() + 30
        while time.time() < deadline:
            t = pipe_health(server, "orders-cdc-pipe")["connectors"]["target"]
            if "ResourceNotFoundException" in t["last_error"]:
                break
            time.sleep(0.1)
        assert "ResourceNotFoundException" in t["last_error"] and "not-yet" in t["last_error"], t
        d = delivery_health(server)["connectors"]["source"]
        assert d["errors"] > 0 and d["last_error"], d
        # the same in /metrics and in `salespipe status`
        with urllib.request.urlopen(server.endpoint + "/_salespipe/metrics", timeout=10) as r:
            metrics = r.read().decode()
        m = re.search(r'^salespipe_pipes_connector_errors\{name="orders-cdc-pipe",role="target"\} '
                      r'(\d+)', metrics, re.M)
        assert m and int(m.group(1)) > 0, metrics
        assert re.search(r'^salespipe_firehose_connector_errors\{name="sales-delivery-stream",'
                         r'role="source"\} [1-9]', metrics, re.M), metrics
        info = [l for l in metrics.splitlines()
                if l.startswith("salespipe_pipes_connector_info{")]
        assert info and "ResourceNotFoundException" in info[0] and 'kind="kinesis"' in info[0]
        status = subprocess.run([BIN, "status", "--endpoint", server.endpoint],
                                capture_output=True, text=True, timeout=30).stdout
        target_line = [l for l in status.splitlines() if l.strip().startswith("target")]
        assert target_line and "ResourceNotFoundException" in target_line[0], status
        create_stream(k.client(), name="not-yet", shards=1)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        assert_lake_exactly_once(rows, wanted)
        assert_once_in_order(read_remote_stream(k.client(), "not-yet"), wanted)
    finally:
        k.stop()


def test_pipe_reads_the_dynamodb_stream_of_a_second_salespipe(make_server, data_dir, tmp_path):
    """The table lives in the other salespipe; this one's pipe reads its stream remotely and
    writes its own log (here: kinesalite), and its delivery stream fills its lake."""
    other_dir = str(tmp_path / "other")
    os.makedirs(other_dir)
    other = Server(other_dir).start()
    k = Kinesalite().start()
    try:
        create_stream(k.client(), shards=2)
        server = make_server(seed_config(k.endpoint, source=other.endpoint)).start()
        burst(other, 0, 400)
        other.client("dynamodb").delete_item(TableName="OrdersRawTable",
                                             Key={"orderid": {"S": "5"}})
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(other)]
        assert len(wanted) == 401
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        assert_lake_exactly_once(rows, wanted)
        assert {r["cdc_event_type"] for _, _, r in rows} == {"INSERT", "MODIFY", "REMOVE"}
        s = pipe_health(server, "orders-cdc-pipe")["connectors"]["source"]
        assert s["kind"] == "dynamodb-streams" and s["records"] == 401 and s["errors"] == 0, s
    finally:
        k.stop()
        assert other.stop() == 0, other.read_log()[-3000:]


# (failpoint, pass at which it fires): the moments of the Kinesis target's argument
# (conn/kin_target.c) and of the delivery's over the Kinesis source.
POINTS = [
    ("kinesis-target.journal-written", 3),
    ("kinesis-target.request-put", 2),
    ("pipe.appended", 3),
    ("delivery.intent-written", 1),
    ("delivery.objects-written", 1),
]


@pytest.mark.parametrize("point,n", POINTS, ids=[p[0] for p in POINTS])
def test_kill_at_a_connector_failpoint_loses_and_repeats_nothing(tmp_path, point, n):
    k = Kinesalite().start()
    data = str(tmp_path / "data")
    os.makedirs(data)
    cfg = tmp_path / "sp.yaml"
    cfg.write_text(seed_config(k.endpoint, batch_size=100))
    server = None
    try:
        create_stream(k.client(), shards=2)
        # the changes are in the table before the pipe runs: every batch repeats keys, so a
        # put takes several requests and the failpoints inside one put are reached
        server = Server(data, str(cfg)).start()
        server.aws("pipes", "stop-pipe", "--name", "orders-cdc-pipe")
        burst(server, 0, 500, keys=13)
        assert server.stop() == 0
        server = Server(data, str(cfg), env={"SALESPIPE_FAILPOINT": f"{point}:{n}"}).start()
        server.aws("pipes", "start-pipe", "--name", "orders-cdc-pipe")
        assert server.proc.wait(timeout=60) != 0, "the failpoint was never reached"
        server.proc.stdout.close()
        server.log.close()
        server.proc = None
        assert "failpoint reached" in server.read_log()
        server = Server(data, str(cfg)).start()
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        assert len(wanted) == 500
        rows = wait_lake(data, wanted, on_timeout=lambda: str(server.health()))
        time.sleep(1)
        assert_lake_exactly_once(lake_rows(data), wanted)
        assert_once_in_order(read_remote_stream(k.client()), wanted)
        t = pipe_health(server, "orders-cdc-pipe")["connectors"]["target"]
        if point == "kinesis-target.request-put":
            assert t["recovered_records"] > 0, t       # found by reading the stream back
        assert server.stop() == 0, server.read_log()[-3000:]
        server = None
    finally:
        if server and server.proc:
            server.stop()
        k.stop()


BAD_CONFIGS = [
    ("pipes:\n  - name: p\n    source_table: OrdersRawTable\n"
     "    target: {kind: kafkaesque, endpoint: \"http://127.0.0.1:1\", region: r, stream: s}\n",
     "pipes[0].target", "target.kind must be one of kinesis"),
    ("pipes:\n  - name: p\n    source_table: OrdersRawTable\n"
     "    target: {kind: kinesis, region: r, stream: s}\n",
     "pipes[0].target", "target.endpoint must be an http:// or https:// URL"),
    ("pipes:\n  - name: p\n    source_table: OrdersRawTable\n"
     "    target: {kind: kinesis, endpoint: \"http://127.0.0.1:1\", region: r, stream: \"a/b\"}\n",
     "pipes[0].target", "target.stream must be a Kinesis stream name"),
    ("pipes:\n  - name: p\n    source_table: OrdersRawTable\n    target_stream: kinesis-for-sales-data\n"
     "    target: {kind: kinesis, endpoint: \"http://127.0.0.1:1\", region: r, stream: s}\n",
     "pipes[0].target_stream", "keep one of them"),
    ("pipes:\n  - name: p\n    target_stream: kinesis-for-sales-data\n"
     "    source: {kind: dynamodb-streams, endpoint: \"http://127.0.0.1:1\", region: r}\n",
     "pipes[0].source", "exactly one of table"),
    ("pipes:\n  - name: p\n    target_stream: kinesis-for-sales-data\n",
     "pipes[0].source_table", "is required"),
    ("delivery_streams:\n  - name: d\n    bucket: kinesis-firehose-destination-yb\n"
     "    source: {kind: kinesis, endpoint: \"http://127.0.0.1:1\", region: r, stream: s, "
     "access_key_id: only-one}\n",
     "delivery_streams[0].source", "go together"),
]


@pytest.mark.parametrize("text,field,message", BAD_CONFIGS)
def test_serve_refuses_a_bad_remote_stage_naming_the_member(tmp_path, text, field, message):
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("defaults: seed\n" + text)
    out = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", str(tmp_path / "d"),
                          "--config", str(cfg)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0
    assert field in out.stderr and message in out.stderr, out.stderr
    assert "bad.yaml:" in out.stderr, out.stderr          # with the line


def test_sigkill_with_a_remote_dynamodb_stream_source_keeps_every_change_once(tmp_path):
    """The pipe reads the other salespipe's table stream and is killed right after an append:
    the restart reads the same positions again from its journal and the target skips what it
    holds."""
    other_dir = str(tmp_path / "other")
    os.makedirs(other_dir)
    other = Server(other_dir).start()
    k = Kinesalite().start()
    data = str(tmp_path / "data")
    os.makedirs(data)
    cfg = tmp_path / "sp.yaml"
    cfg.write_text(seed_config(k.endpoint, batch_size=50, source=other.endpoint))
    server = None
    try:
        create_stream(k.client(), shards=2)
        burst(other, 0, 400, keys=13)
        server = Server(data, str(cfg), env={"SALESPIPE_FAILPOINT": "pipe.appended:3"}).start()
        assert server.proc.wait(timeout=60) != 0, "the failpoint was never reached"
        server.proc.stdout.close()
        server.log.close()
        server.proc = None
        server = Server(data, str(cfg)).start()
        burst(other, 400, 100, keys=13)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(other)]
        assert len(wanted) == 500
        wait_lake(data, wanted, on_timeout=lambda: str(server.health()))
        time.sleep(1)
        assert_lake_exactly_once(lake_rows(data), wanted)
        assert_once_in_order(read_remote_stream(k.client()), wanted)
        assert server.stop() == 0, server.read_log()[-3000:]
        server = None
    finally:
        if server and server.proc:
            server.stop()
        k.stop()
        assert other.stop() == 0, other.read_log()[-3000:]


class RefusingKinesis:
    """A Kinesis endpoint that refuses every third PutRecords entry with
    ProvisionedThroughputExceededException (FailedRecordCount > 0), as a throttled shard does,
    and keeps what it accepted in order."""

    def __init__(self):
        import http.server
        import threading
        self.stored = []
        self.refused = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                op = self.headers["X-Amz-Target"].split(".")[1]
                if op == "ListShards":
                    out = {"Shards": [{"ShardId": "shardId-000000000000", "HashKeyRange": {
                        "StartingHashKey": "0",
                        "EndingHashKey": "340282366920938463463374607431768211455"},
                        "SequenceNumberRange": {"StartingSequenceNumber": "1"}}]}
                elif op == "PutRecords":
                    results, failed = [], 0
                    for r in body["Records"]:
                        outer.calls = getattr(outer, "calls", 0) + 1
                        if outer.calls % 3 == 0:
                            failed += 1
                            outer.refused += 1
                            results.append({"ErrorCode": "ProvisionedThroughputExceededException",
                                            "ErrorMessage": "Rate exceeded for shard"})
                            continue
                        outer.stored.append((r["PartitionKey"],
                                             json.loads(base64.b64decode(r["Data"]))))
                        results.append({"ShardId": "shardId-000000000000",
                                        "SequenceNumber": str(len(outer.stored))})
                    out = {"FailedRecordCount": failed, "Records": results}
                else:
                    self.send_response(400)
                    self.end_headers()
                    return
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


def test_entries_the_target_refuses_are_sent_again_in_key_order(make_server):
    fake = RefusingKinesis()
    try:
        server = make_server(seed_config(fake.endpoint, delivery=False)).start()
        burst(server, 0, 300, keys=7)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        deadline = time.time() + 30
        while len(fake.stored) < 300 and time.time() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        assert fake.refused > 50
        # per key, not per shard: a refused entry lands after later entries of other keys
        assert_once_in_order([(k, k, d) for k, d in fake.stored], wanted)
        t = pipe_health(server, "orders-cdc-pipe")["connectors"]["target"]
        assert t["retried_records"] >= fake.refused and t["records"] == 300, t
    finally:
        fake.stop()


def test_a_split_shard_is_read_to_its_end_before_its_children(make_server, data_dir):
    k = Kinesalite().start()
    try:
        kin = k.client()
        create_stream(kin, shards=1)
        server = make_server(seed_config(k.endpoint)).start()
        burst(server, 0, 200, keys=31)
        first = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        wait_lake(data_dir, first, on_timeout=lambda: str(server.health()))
        kin.split_shard(StreamName=STREAM, ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2 ** 127))
        deadline = time.time() + 10
        while kin.describe_stream(StreamName=STREAM)["StreamDescription"]["StreamStatus"] != "ACTIVE":
            assert time.time() < deadline
            time.sleep(0.05)
        burst(server, 200, 300, keys=31)
        wanted = [r["dynamodb"]["SequenceNumber"] for r in table_history(server)]
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        time.sleep(1)
        assert_lake_exactly_once(lake_rows(data_dir), wanted)
        shards = {s["ShardId"] for s in kin.list_shards(StreamName=STREAM)["Shards"]}
        assert len(shards) == 3
        assert {sh for sh, _, _ in read_remote_stream(kin)} == shards   # children were written
    finally:
        k.stop()


class ExpiringKinesis:
    """A one-shard Kinesis endpoint holding fixed records whose shard iterators expire: every
    third GetRecords with an iterator GetRecords handed out answers ExpiredIteratorException,
    and every fifth call is throttled (ProvisionedThroughputExceededException, 400)."""

    def __init__(self, records):
        import http.server
        import threading
        self.records = records          # [(seq, partition key, data bytes)]
        self.expired = self.throttled = self.calls = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def answer(self, status, out):
                data = json.dumps(out).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.1")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                op = self.headers["X-Amz-Target"].split(".")[1]
                outer.calls += 1
                seqs = [r[0] for r in outer.records]
                if op == "ListShards":
                    return self.answer(200, {"Shards": [{"ShardId": "shardId-000000000000",
                        "HashKeyRange": {"StartingHashKey": "0", "EndingHashKey": "1"},
                        "SequenceNumberRange": {"StartingSequenceNumber": seqs[0]}}]})
                if outer.calls % 5 == 0:
                    outer.throttled += 1
                    return self.answer(400, {"__type": "ProvisionedThroughputExceededException",
                                             "message": "Rate exceeded for shard"})
                if op == "GetShardIterator":
                    t = body["ShardIteratorType"]
                    i = 0 if t == "TRIM_HORIZON" else seqs.index(body["StartingSequenceNumber"]) + (
                        1 if t == "AFTER_SEQUENCE_NUMBER" else 0)
                    return self.answer(200, {"ShardIterator": f"g:{i}"})
                if op == "GetRecords":
                    kind, i = body["ShardIterator"].split(":")
                    if kind == "n" and outer.calls % 3 == 0:
                        outer.expired += 1
                        return self.answer(400, {"__type": "ExpiredIteratorException",
                                                 "message": "Iterator expired"})
                    i = int(i)
                    batch = outer.records[i:i + min(body.get("Limit", 10000), 7)]
                    return self.answer(200, {"Records": [
                        {"SequenceNumber": s, "PartitionKey": k, "ApproximateArrivalTimestamp":
                         time.time(), "Data": base64.b64encode(d).decode()} for s, k, d in batch],
                        "NextShardIterator": f"n:{i + len(batch)}",
                        "MillisBehindLatest": 0 if i + len(batch) >= len(seqs) else 1000})
                self.answer(400, {"__type": "InvalidArgumentException", "message": op})

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()


def test_expired_iterators_and_throttling_cost_the_delivery_nothing(make_server, data_dir):
    recs = []
    for i in range(120):
        seq = f"{i + 1:021d}"
        rec = {"eventID": seq, "eventName": "INSERT", "eventVersion": "1.1",
               "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
               "dynamodb": {"Keys": {"orderid": {"S": str(i % 9)}}, "SequenceNumber": seq,
                            "NewImage": {"orderid": {"S": str(i % 9)}, "quantity": {"N": "1"}},
                            "ApproximateCreationDateTime": 1700000000,
                            "StreamViewType": "NEW_AND_OLD_IMAGES", "SizeBytes": 10}}
        remote_seq = "4959033827149025660855969253836157109592157598913658%04d" % i
        recs.append((remote_seq, str(i % 9), json.dumps(rec).encode()))
    fake = ExpiringKinesis(recs)
    try:
        server = make_server(seed_config(fake.endpoint, pipe=False)).start()
        wanted = [f"{i + 1:021d}" for i in range(120)]
        rows = wait_lake(data_dir, wanted, on_timeout=lambda: str(server.health()))
        time.sleep(1)
        assert_lake_exactly_once(lake_rows(data_dir), wanted)
        assert fake.expired > 0 and fake.throttled > 0
        d = delivery_health(server)["connectors"]["source"]
        assert d["records"] == 120 and d["millis_behind"] == 0, d
    finally:
        fake.stop()
