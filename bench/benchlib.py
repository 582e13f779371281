"""Shared plumbing of the benchmark scenarios: start salespipe and a peer side by side on
loopback, drive both with the same load, print one JSON line per result."""
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


def loadgen(port, target, bodies, seconds=5, connections=8, content_type="application/x-amz-json-1.0"):
    with tempfile.NamedTemporaryFile("w", suffix=".bodies", delete=False) as f:
        for b in bodies:
            f.write(json.dumps(b, separators=(",", ":")) + "\n")
        path = f.name
    try:
        out = subprocess.run([LOADGEN, "--port", str(port), "--target", target, "--bodies", path,
                              "--seconds", str(seconds), "--connections", str(connections),
                              "--content-type", content_type],
                             capture_output=True, text=True, check=True)
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


def emit(bench, unit, ours, peer, peer_value, **extra):
    """One result line; `durability` is DURABILITY unless the scenario says otherwise ("n/a"
    where salespipe acknowledges no writes while measured)."""
    line = {"bench": bench, "unit": unit, "ours": round(ours, 2), "peer": peer,
            "peer_value": round(peer_value, 2) if peer_value is not None else None,
            "ratio": round(ours / peer_value, 2) if peer_value else None,
            "durability": DURABILITY}
    line.update(extra)
    print(json.dumps(line), flush=True)


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
