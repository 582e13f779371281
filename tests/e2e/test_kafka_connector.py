"""The seed pipeline with its log in Kafka: the pipe writes the table's changes to a topic of
librdkafka's mock cluster (tests/tools/kafka_mock.c, a process of its own) and the delivery
stream reads that topic into the lake. Counted at the lake against the table's own stream:
every change exactly once, per key in commit order; also across SIGKILL of salespipe during
load and across broker failures injected during load."""
import collections
import json
import os
import subprocess
import threading
import time
import urllib.request

import pytest

from conftest import BIN
from kafka_wire import append_commit_marker
from pipe_helpers import pipe_health, table_history

MOCK = os.environ.get("SALESPIPE_KAFKA_MOCK")
BUCKET = "kinesis-firehose-destination-yb"
PIPE, DELIVERY = "orders-cdc-pipe", "sales-delivery-stream"

pytestmark = pytest.mark.skipif(not MOCK or not os.path.exists(MOCK),
                                reason="SALESPIPE_KAFKA_MOCK (sp_kafka_mock) not built")


class KafkaMock:
    """sp_kafka_mock: bootstrap servers on loopback, commands on stdin."""

    def __init__(self, topic="sales", partitions=4, brokers=3):
        self.proc = subprocess.Popen([MOCK, "--brokers", str(brokers), "--topic",
                                      f"{topic}:{partitions}"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        assert line.startswith("bootstrap="), line
        self.bootstrap = line.strip().split("=", 1)[1]

    def command(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        assert answer == "ok", f"{text}: {answer}"

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


@pytest.fixture
def kafka():
    k = KafkaMock()
    yield k
    k.close()


def config(bootstrap, topic="sales"):
    return f"""defaults: seed
pipes:
  - name: {PIPE}
    source_table: OrdersRawTable
    target: {{kind: kafka, brokers: "{bootstrap}", topic: {topic}}}
    batch_size: 50
delivery_streams:
  - name: {DELIVERY}
    source: {{kind: kafka, brokers: "{bootstrap}", topic: {topic}, group: salespipe-test}}
    bucket: {BUCKET}
    buffer_interval_seconds: 1
    processors:
      - type: dynamodb-cdc
"""


def write_changes(server, first, count, keys=53):
    """Puts (inserts, then modifications of the same keys) and a removal every 10th change."""
    ddb = server.client("dynamodb")
    for start in range(first, first + count, 25):
        reqs = []
        for i in range(start, min(start + 25, first + count)):
            key = {"orderid": {"S": str(i % keys)}}
            if i % 10 == 9:
                reqs.append({"DeleteRequest": {"Key": key}})
            else:
                reqs.append({"PutRequest": {"Item": dict(key, quantity={"N": str(i)})}})
        # one request may not touch a key twice
        seen, batch = set(), []
        for r in reqs:
            k = json.dumps(r.get("PutRequest", {}).get("Item", {}).get("orderid") or
                           r["DeleteRequest"]["Key"]["orderid"])
            if k in seen:
                ddb.batch_write_item(RequestItems={"OrdersRawTable": batch})
                seen, batch = set(), []
            seen.add(k)
            batch.append(r)
        if batch:
            ddb.batch_write_item(RequestItems={"OrdersRawTable": batch})


def lake_lines(data_dir):
    """Every line in the lake, objects in the order they were written."""
    root = os.path.join(data_dir, "lake", BUCKET)
    paths = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files
             if not f.startswith(".tmp-")]
    paths.sort(key=lambda p: os.stat(p).st_mtime_ns)
    lines = []
    for p in paths:
        with open(p, "rb") as f:
            lines += [json.loads(l) for l in f.read().decode().split("\n") if l]
    return lines


def wait_lake(data_dir, wanted, timeout=120, server=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = lake_lines(data_dir)
        if len({l["sequence_number"] for l in lines}) >= wanted:
            time.sleep(1.5)  # anything doubled would arrive within a flush
            return lake_lines(data_dir)
        time.sleep(0.3)
    lines = lake_lines(data_dir)
    stages = ""
    if server is not None:
        services = server.health()["services"]
        stages = (f"; pipe: {services['pipes']['pipes'][PIPE]}; delivery: "
                  f"{services['firehose']['delivery_streams'][DELIVERY]}; "
                  f"log: {server.read_log()[-4000:]}")
    raise AssertionError(f"{len(lines)} lines in the lake, {wanted} wanted{stages}")


def assert_exactly_once(lines, history, in_order=True):
    counts = collections.Counter(l["sequence_number"] for l in lines)
    dups = {s: n for s, n in counts.items() if n > 1}
    assert not dups, f"doubled: {sorted(dups)[:10]} ({len(dups)} in all)"
    wanted = {r["dynamodb"]["SequenceNumber"] for r in history}
    missing = wanted - set(counts)
    assert not missing, f"missing: {sorted(missing)[:10]} ({len(missing)} in all)"
    assert set(counts) == wanted
    if in_order:
        last = {}
        for l in lines:
            key, seq = l["orderid"], l["sequence_number"]
            assert seq > last.get(key, ""), f"key {key}: {seq} after {last[key]}"
            last[key] = seq


def test_seed_pipeline_through_kafka_reaches_the_lake_once_in_key_order(make_server, data_dir,
                                                                       kafka):
    server = make_server(config(kafka.bootstrap)).start()
    write_changes(server, 0, 600)
    history = table_history(server)
    assert len(history) > 500  # a removal of an absent item is no change
    lines = wait_lake(data_dir, len(history), server=server)
    assert_exactly_once(lines, history)
    assert {l["cdc_event_type"] for l in lines} == {"INSERT", "MODIFY", "REMOVE"}
    # status and metrics name the connectors with their counts, as for every remote kind
    p = pipe_health(server, PIPE)["connectors"]["target"]
    assert p["kind"] == "kafka" and p["topic"] == "sales", p
    assert p["endpoint"] == kafka.bootstrap, p
    assert p["records"] == len(history) and p["errors"] == 0, p
    d = server.health()["services"]["firehose"]["delivery_streams"][DELIVERY]["connectors"]
    assert d["source"]["kind"] == "kafka" and d["source"]["records"] == len(history), d
    assert d["source"]["lag_records"] == 0, d
    out = subprocess.run([BIN, "status", "--data-dir", data_dir, "--endpoint", server.endpoint],
                         capture_output=True, text=True, timeout=60)
    assert "kind=kafka" in out.stdout and "topic=sales" in out.stdout, out.stdout + out.stderr
    with urllib.request.urlopen(server.endpoint + "/_salespipe/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert f'salespipe_pipes_connector_errors{{name="{PIPE}",role="target"}} 0' in metrics, metrics
    assert (f'salespipe_firehose_connector_lag_records{{name="{DELIVERY}",role="source"}} 0'
            in metrics), metrics
    assert f'salespipe_pipes_connector_info{{name="{PIPE}",role="target",kind="kafka"' in metrics
    # the dashboard shows the pipe's target
    with urllib.request.urlopen(server.endpoint + f"/_salespipe/api/pipe?name={PIPE}",
                                timeout=10) as r:
        shown = json.loads(r.read())
    assert shown["target"]["kind"] == "kafka" and shown["target_stream"] is None, shown
    # a Kafka target lives in the config file: the Pipes API does not change it
    result, proc = server.aws("pipes", "stop-pipe", "--name", PIPE, check=False)
    assert proc.returncode != 0 and b"configuration file" in proc.stderr, proc.stderr


def loader(server, first, stop, step=50):
    """Writes changes until stopped or the server goes away."""
    i = first
    while not stop.is_set():
        try:
            write_changes(server, i, step)
        except Exception:  # the kill cut this request; the table's stream says what landed
            return
        i += step


def test_sigkill_during_load_with_kafka_keeps_every_change_exactly_once(make_server, data_dir,
                                                                       kafka):
    cfg = config(kafka.bootstrap)
    start = 0
    lag_at_kill = []
    for round_ in range(3):
        server = make_server(cfg).start()
        stop = threading.Event()
        t = threading.Thread(target=loader, args=(server, start, stop))
        t.start()
        deadline = time.time() + 30
        while time.time() < deadline and pipe_health(server, PIPE)["written"] < 100 * (round_ + 1):
            time.sleep(0.05)
        # kill at a moment the pipe is behind (changes committed, not yet in Kafka), if one
        # comes within 2 s: a single sample may find it caught up on a busy machine
        lag, until = 0, time.time() + 2 + 0.2 * round_
        while lag == 0 and time.time() < until:
            lag = pipe_health(server, PIPE)["lag_records"]
        lag_at_kill.append(lag)
        server.kill()
        stop.set()
        t.join()
        start += 100000
    server = make_server(cfg).start()
    history = table_history(server)
    assert len(history) > 300
    lines = wait_lake(data_dir, len(history), server=server)
    assert_exactly_once(lines, history, in_order=False)
    # the kills landed while the pipe was moving changes
    assert any(lag > 0 for lag in lag_at_kill), lag_at_kill


def test_broker_failures_during_load_lose_and_double_nothing(make_server, data_dir, kafka):
    server = make_server(config(kafka.bootstrap)).start()
    stop = threading.Event()
    t = threading.Thread(target=loader, args=(server, 0, stop))
    t.start()
    time.sleep(1)
    kafka.command("errors 0 3 6")    # Produce: NOT_LEADER_FOR_PARTITION, retried by librdkafka
    kafka.command("errors 0 1 29")   # Produce: TOPIC_AUTHORIZATION_FAILED, fails the transaction
    kafka.command("errors 26 1 15")  # EndTxn: COORDINATOR_NOT_AVAILABLE
    kafka.command("down 1")
    time.sleep(2)
    kafka.command("up 1")
    kafka.command("down 2")
    time.sleep(2)
    kafka.command("up 2")
    time.sleep(1)
    stop.set()
    t.join()
    history = table_history(server)
    lines = wait_lake(data_dir, len(history), timeout=180, server=server)
    assert_exactly_once(lines, history)
    p = pipe_health(server, PIPE)["connectors"]["target"]
    assert p["errors"] >= 1 and "Kafka" in p["last_error"], p


def test_a_refused_record_fails_its_transaction_at_once(make_server, data_dir, kafka):
    """A Produce refused outright (TOPIC_AUTHORIZATION_FAILED) makes librdkafka 2.0 drop the
    topic's partitions; records waiting for a retry then get no delivery report, and
    commit_transaction's own flush waited out its whole 30 s timeout (how often depends on
    the race, hence three rounds). The target aborts the batch at the first refusal instead,
    and the producers reconnect to a broker back from an outage within a second."""
    server = make_server(config(kafka.bootstrap)).start()
    write_changes(server, 0, 100)
    wait_lake(data_dir, len(table_history(server)), server=server)
    for round_ in range(3):
        kafka.command("errors 0 3 6")     # NOT_LEADER_FOR_PARTITION: records wait for a retry
        kafka.command("errors 0 1 29")    # then a Produce is refused
        kafka.command("down 1")           # the transaction coordinator: the records queue
        t0 = time.time()
        write_changes(server, 1000 * (round_ + 1), 200)
        time.sleep(2)
        kafka.command("up 1")
        history = table_history(server)
        lines = wait_lake(data_dir, len(history), timeout=60, server=server)
        took = time.time() - t0
        assert_exactly_once(lines, history)
        p = pipe_health(server, PIPE)["connectors"]["target"]
        assert p["errors"] >= round_ + 1 and "authorization" in p["last_error"], p
        assert took < 20, f"round {round_}: {took:.1f} s for the changes after the refusal"


def test_partitions_ending_in_commit_markers_do_not_hold_the_delivery_back(make_server, data_dir,
                                                                          kafka):
    """A real broker ends every committed transaction with a marker that takes an offset, so a
    partition read to its end has its high mark past the last record. The delivery must not
    wait for records there: it once waited its whole read wait (5 s) on each such partition
    every round, so one new change took 15-20 s to reach the lake."""
    server = make_server(config(kafka.bootstrap)).start()
    write_changes(server, 0, 200)
    wait_lake(data_dir, len(table_history(server)), server=server)
    for p in range(4):
        append_commit_marker(kafka.bootstrap, "sales", p)
    time.sleep(2)  # the delivery reads past the markers
    for i in range(3):
        before = len(lake_lines(data_dir))
        t0 = time.time()
        server.client("dynamodb").put_item(TableName="OrdersRawTable", Item={
            "orderid": {"S": f"after-markers-{i}"}, "quantity": {"N": "1"}})
        while len(lake_lines(data_dir)) == before and time.time() - t0 < 60:
            time.sleep(0.05)
        took = time.time() - t0
        assert len(lake_lines(data_dir)) == before + 1, "the change did not reach the lake"
        assert took < 6, f"change {i}: {took:.1f} s to the lake (buffer interval 1 s)"
    history = table_history(server)
    assert_exactly_once(wait_lake(data_dir, len(history), server=server), history)
    d = server.health()["services"]["firehose"]["delivery_streams"][DELIVERY]["connectors"]
    assert d["source"]["lag_records"] == 0, d


def test_a_bad_kafka_target_is_refused_at_load_naming_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(config("127.0.0.1").replace("topic: sales}", "topic: sales}", 1))
    out = subprocess.run([BIN, "config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "pipes[0].target" in out.stderr and "brokers" in out.stderr, out.stderr
    bad.write_text(config("127.0.0.1:9092").replace("kind: kafka, brokers", "kind: pulsar, brokers", 1))
    out = subprocess.run([BIN, "config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "pulsar" in out.stderr, out.stderr
    bad.write_text(config("127.0.0.1:9092").replace("topic: sales}", "topic: \"a/b\"}", 2))
    out = subprocess.run([BIN, "config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "topic" in out.stderr, out.stderr
    both = config("127.0.0.1:9092").replace("    batch_size: 50",
                                            "    target_stream: kinesis-for-sales-data\n"
                                            "    batch_size: 50")
    bad.write_text(both)
    out = subprocess.run([BIN, "config", "--config", str(bad)], capture_output=True, text=True)
    assert out.returncode == 2 and "keep one of them" in out.stderr, out.stderr
