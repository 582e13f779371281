"""Shared plumbing of the benchmark scenarios: start salespipe, a peer and the HTTP floor side
by side on loopback, drive them with the same load, print one JSON line per result.

Every line names what it is compared with, measured in the same invocation: a peer (another
program doing the same work: dynalite, kinesalite, DuckDB, a Python handler), a physical limit
(the HTTP floor, SQLite's bulk insert, the disk's sequential write) or, where neither exists,
salespipe itself (`comparison` says "self: ...") or nothing (`comparison` says "none: ...")."""
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("SALESPIPE_BIN", os.path.join(ROOT, "build", "salespipe"))
LOADGEN = os.environ.get("SALESPIPE_LOADGEN", os.path.join(ROOT, "build", "sp_loadgen"))
FLOOR = os.environ.get("SALESPIPE_FLOOR", os.path.join(ROOT, "build", "sp_floor"))
NODE_MODULES = os.path.join(ROOT, "tools", "node_modules")
# The durability mode salespipe runs with in every scenario (server.durability; fsync is the
# default: an answered write is on disk). Every result line says which one it was measured with.
DURABILITY = os.environ.get("SALESPIPE_DURABILITY", "fsync")
SERVE_ARGS = ["--durability", DURABILITY]
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from conftest import Server  # noqa: E402,F401


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NodePeer:
    """An npm oracle (dynalite, kinesalite) on a free loopback port, in memory."""

    def __init__(self, package, extra=()):
        self.port = free_port()
        cli = os.path.join(NODE_MODULES, package, "cli.js")
        if not os.path.exists(cli):
            raise SystemExit(f"{package} is not installed (run scripts/deps.sh)")
        self.proc = subprocess.Popen(["node", cli, "--port", str(self.port)] + list(extra),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit(f"{package} did not start")

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Floor:
    """The HTTP floor (bench/floor.c, build/sp_floor): libmicrohttpd started with salespipe's
    own daemon options and the worker pool `salespipe serve` uses for DURABILITY, answering a
    fixed `{}` to every POST. Used as a context manager."""

    def __enter__(self):
        self.proc = subprocess.Popen([FLOOR, "--port", "0", "--durability", DURABILITY],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = self.proc.stdout.readline().decode()
        if not line.startswith("ready port="):
            self.proc.kill()
            raise SystemExit(f"sp_floor did not start: {line!r}")
        fields = dict(f.split("=") for f in line.split()[1:])
        self.port, self.threads = int(fields["port"]), int(fields["threads"])
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()


def cpu_seconds(pid):
    """User + system CPU seconds a process has used so far (all its threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loadgen_cpu(pid, *args, **kw):
    """loadgen() plus the CPU the server process spent per request, in microseconds: on a
    shared, noisy machine a steadier measure of cost than requests/s."""
    before = cpu_seconds(pid)
    r = loadgen(*args, **kw)
    r["cpu_us_per_req"] = round((cpu_seconds(pid) - before) * 1e6 / max(r["requests"], 1), 1)
    return r


def floor_run(target, bodies, seconds=5, connections=8, content_type="application/x-amz-json-1.0",
              **kw):
    """loadgen_cpu() against a fresh HTTP floor; adds the floor's worker pool as "threads"."""
    with Floor() as f:
        r = loadgen_cpu(f.proc.pid, f.port, target, bodies, seconds, connections, content_type,
                        **kw)
        r["threads"] = f.threads
        return r


def loadgen(port, target, bodies, seconds=5, connections=8, content_type="application/x-amz-json-1.0",
            max_requests=None, rate=None, ack_log=None):
    """Runs sp_loadgen and returns its JSON result. bodies: dicts (sent as JSON), or with
    target "-" (target, dict) pairs, one operation per request. max_requests: stop after that
    many (each body once when it is len(bodies)); rate: requests/s over all connections;
    ack_log: a path where sp_loadgen writes "i ack_mono status" per request."""
    with tempfile.NamedTemporaryFile("w", suffix=".bodies", delete=False) as f:
        for b in bodies:
            if target == "-":
                f.write(b[0] + "\t")
                b = b[1]
            f.write(json.dumps(b, separators=(",", ":")) + "\n")
        path = f.name
    args = [LOADGEN, "--port", str(port), "--target", target, "--bodies", path,
            "--seconds", str(seconds), "--connections", str(connections),
            "--content-type", content_type]
    if max_requests:
        args += ["--max-requests", str(max_requests)]
    if rate:
        args += ["--rate", str(rate)]
    if ack_log:
        args += ["--ack-log", ack_log]
    try:
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        return json.loads(out.stdout)
    finally:
        os.unlink(path)


def firehose_timed(server, name, batches, records):
    """Puts the pre-encoded PutRecordBatch record lists to delivery stream `name` over one
    keep-alive connection, then waits until health reports all `records` out; records/s over
    the whole span (bench/05_transform.py, bench/09_parquet_convert.py)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port)
    headers = {"Content-Type": "application/x-amz-json-1.1",
               "X-Amz-Target": "Firehose_20150804.PutRecordBatch"}
    bodies = [json.dumps({"DeliveryStreamName": name, "Records": b}) for b in batches]
    t0 = time.monotonic()
    for body in bodies:
        conn.request("POST", "/", body, headers)
        resp = conn.getresponse()
        r = json.loads(resp.read())
        assert resp.status == 200 and r["FailedPutCount"] == 0, r
    conn.close()
    deadline = t0 + 300
    while time.monotonic() < deadline:
        h = server.health()["services"]["firehose"]["delivery_streams"][name]
        if h["records_out"] + h.get("records_failed", 0) >= records:
            secs = time.monotonic() - t0
            assert h["records_out"] == records, h
            return records / secs
        time.sleep(0.01)
    raise SystemExit(f"{name} did not deliver {records} records in time")


def emit(bench, unit, ours, peer, peer_value, floor_value=None, comparison=None, **extra):
    """One result line; `durability` is DURABILITY unless the scenario says otherwise ("n/a"
    where salespipe acknowledges no writes while measured). floor_value: the HTTP floor in the
    same unit, measured in the same run (adds floor_value and ratio_to_floor). comparison says
    what the peer is when it is not another program: "physical limit: ...", "self: ..." (a
    scenario comparing salespipe with itself) or "none: ..." (no peer)."""
    line = {"bench": bench, "unit": unit, "ours": round(ours, 2), "peer": peer,
            "peer_value": round(peer_value, 2) if peer_value is not None else None,
            "ratio": round(ours / peer_value, 2) if peer_value else None,
            "durability": DURABILITY}
    if floor_value is not None:
        line["floor_value"] = round(floor_value, 2)
        line["ratio_to_floor"] = round(ours / floor_value, 3) if floor_value else None
    if comparison:
        line["comparison"] = comparison
    line.update(extra)
    print(json.dumps(line), flush=True)


def wait_delivered(server, changes_at_least=0, timeout=600, tick=0.01):
    """Polls health until the seed table's stream changes are all out of the seed delivery
    stream into lake objects (records_out >= changes, and >= changes_at_least). Returns
    (time.monotonic() when seen, changes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        h = server.health()["services"]
        changes = h["dynamodb"]["tables"]["OrdersRawTable"]["changes"]
        fh = h["firehose"]["delivery_streams"]["sales-delivery-stream"]
        if changes >= changes_at_least and fh["records_out"] + fh["records_failed"] >= changes:
            return time.monotonic(), changes
        time.sleep(tick)
    raise SystemExit("the pipeline did not deliver every change in time")


def lake_lines(root):
    """Non-empty lines in the readable objects under root (temporary files skipped)."""
    n = 0
    for dirpath, _, files in os.walk(root):
        for f in files:
            if not f.startswith(".tmp-"):
                with open(os.path.join(dirpath, f), "rb") as fh:
                    n += sum(1 for line in fh if line.strip())
    return n


def write_cdc_lake(root, rows, day, hours, objects_per_hour, seed=6, first_hour=0, first_seq=0):
    """Writes `rows` dynamodb-cdc lines into the bucket directory `root` exactly as delivery
    lays them out (YYYY/MM/DD/HH/sales-delivery-stream-1-YYYY-MM-DD-HH-MM-SS-<uuid>): orders
    1..10000 inserted, modified and removed, sequence numbers from first_seq + 1. Returns the
    number of objects written."""
    rng = random.Random(seed)
    products = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
    live = set()
    seq = first_seq
    n_obj = hours * objects_per_hour
    per_obj = rows // n_obj
    written = 0
    for h in range(first_hour, first_hour + hours):
        d = os.path.join(root, f"{day[0]:04d}", f"{day[1]:02d}", f"{day[2]:02d}", f"{h:02d}")
        os.makedirs(d, exist_ok=True)
        for o in range(objects_per_hour):
            n = per_obj if written < n_obj - 1 else rows - per_obj * (n_obj - 1)
            minute, second = o * 60 // objects_per_hour, o % 60
            when = f"{day[0]:04d}-{day[1]:02d}-{day[2]:02d}T{h:02d}:{minute:02d}:{second:02d}Z"
            lines = []
            for _ in range(n):
                seq += 1
                oid = rng.randint(1, 10000)
                ev = ("REMOVE" if rng.random() < 0.1 and oid in live
                      else "MODIFY" if oid in live else "INSERT")
                (live.discard if ev == "REMOVE" else live.add)(oid)
                lines.append('{"orderid":"%d","product_name":"%s","quantity":%d,"price":%.2f,'
                             '"cdc_event_type":"%s","creation_datetime":"%s",'
                             '"sequence_number":"%021d"}\n'
                             % (oid, rng.choice(products), rng.randint(1, 5),
                                rng.randint(1000, 50000) / 100, ev, when, seq))
            name = (f"sales-delivery-stream-1-{day[0]:04d}-{day[1]:02d}-{day[2]:02d}-{h:02d}-"
                    f"{minute:02d}-{second:02d}-{uuid.UUID(int=rng.getrandbits(128))}")
            with open(os.path.join(d, name), "w") as f:
                f.writelines(lines)
            written += 1
    return written
