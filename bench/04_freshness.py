#!/usr/bin/env python3
"""freshness: time from the table commit (the PutItem/BatchWriteItem answer) to the change
being readable in a lake object, p50/p99, at ~1 000 and ~10 000 changes/s, with the delivery
stream's buffer interval 0 and 1 s.

The writer sends BatchWriteItem requests of unique orderids over one keep-alive connection,
paced to the rate, and notes when each was acknowledged; a watcher lists the bucket directory
every few milliseconds, reads each new object once and notes when each orderid first appears.
Both clocks are this process's monotonic clock.

There is no local peer that runs this pipeline; the line reports AWS's documented floor as the
reference: Firehose buffers at least 60 s with a Lambda transform (0 s without one, since 2023,
but the seed's Lambda makes it 60 s), and the row is queryable only after the next crawler run."""
import http.client
import json
import os
import tempfile
import threading
import time

from benchlib import SERVE_ARGS, Server, emit

SECONDS = float(os.environ.get("BENCH_FRESH_SECONDS", "3"))
RATES = (1000, 10000)
INTERVALS = (0, 1)
BATCH = 25
BUCKET = "kinesis-firehose-destination-yb"
AWS_FLOOR_MS = 60000.0


def config(interval):
    return ("defaults: seed\n"
            "delivery_streams:\n"
            "  - name: sales-delivery-stream\n"
            "    source_stream: kinesis-for-sales-data\n"
            f"    bucket: {BUCKET}\n"
            f"    buffer_interval_seconds: {interval}\n"
            "    processors: [{\"type\": \"dynamodb-cdc\"}]\n")


class Watcher(threading.Thread):
    """Notes the first time each orderid is readable in a lake object."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root, self.seen_files, self.visible = root, set(), {}
        self.stop = threading.Event()

    def scan(self):
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                if f.startswith(".tmp-"):
                    continue
                p = os.path.join(dirpath, f)
                if p in self.seen_files:
                    continue
                self.seen_files.add(p)
                now = time.monotonic()
                with open(p, "rb") as fh:
                    for line in fh:
                        if line.strip():
                            self.visible.setdefault(json.loads(line)["orderid"], now)

    def run(self):
        while not self.stop.is_set():
            self.scan()
            time.sleep(0.002)
        self.scan()


def drive(port, rate, tag):
    """Writes rate*SECONDS unique orders at rate; returns {orderid: ack time}."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.BatchWriteItem"}
    total = int(rate * SECONDS)
    acked = {}
    t0 = time.monotonic()
    for b in range(0, total, BATCH):
        due = t0 + b / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        ids = [f"{tag}-{i}" for i in range(b, min(b + BATCH, total))]
        body = json.dumps({"RequestItems": {"OrdersRawTable": [
            {"PutRequest": {"Item": {"orderid": {"S": i}, "product_name": {"S": "Phone"},
                                     "quantity": {"N": "1"}, "price": {"N": "9.5"}}}}
            for i in ids]}})
        conn.request("POST", "/", body, headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200 or json.loads(data).get("UnprocessedItems"):
            raise SystemExit(f"BatchWriteItem failed: {resp.status} {data[:200]}")
        now = time.monotonic()
        for i in ids:
            acked[i] = now
    achieved = total / (time.monotonic() - t0)
    conn.close()
    return acked, achieved


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(interval, rate):
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "salespipe.yaml")
        with open(cfg, "w") as f:
            f.write(config(interval))
        os.makedirs(os.path.join(d, "data"))
        srv = Server(os.path.join(d, "data"), config=cfg, extra_args=SERVE_ARGS).start()
        w = Watcher(os.path.join(d, "data", "lake", BUCKET))
        w.start()
        try:
            acked, achieved = drive(srv.port, rate, f"r{rate}i{interval}")
            deadline = time.monotonic() + 30
            while len(set(acked) & set(w.visible)) < len(acked) and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            w.stop.set()
            w.join()
            srv.stop()
        missing = [i for i in acked if i not in w.visible]
        if missing:
            raise SystemExit(f"{len(missing)} changes never reached the lake")
        lat = [(w.visible[i] - acked[i]) * 1000 for i in acked]
        return {"p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
                "rate": round(achieved)}


def main():
    res = {}
    for interval in INTERVALS:
        for rate in RATES:
            res[f"interval{interval}s_{rate}cps"] = run(interval, rate)
    worst = max(r["p99_ms"] for r in res.values())
    emit("freshness", "p99 ms (worst of 4)", worst, "aws-firehose-buffer-floor", AWS_FLOOR_MS,
         **res)


if __name__ == "__main__":
    main()
