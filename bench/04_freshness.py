#!/usr/bin/env python3
"""freshness: time from the table commit (the BatchWriteItem answer) to the change being
readable in a lake object, p50/p99. The headline is the issue's case: 100 000 changes/s
offered with the delivery stream's buffer interval 0; beside it 1 000 and 10 000 changes/s
with interval 0 and 10 000 changes/s with the seed's 1 s interval.

sp_loadgen sends BatchWriteItem requests of BATCH unique orderids over CONNECTIONS keep-alive
connections, request i due at start + i/(rate/BATCH) (--rate), and logs when each was
answered (--ack-log, CLOCK_MONOTONIC). When the server cannot take the offered rate the
requests go as fast as they are answered and the line reports the rate achieved
(`achieved_cps` beside `offered_cps`): the latency is then measured at what the machine could
do. A watcher thread lists the bucket directory every WATCH_S and notes when each object first
appears (renamed, so readable); the objects are read after the run, so parsing them does not
compete with the server. Latency per change = first sight of its object - answer of its
request, on one clock.

There is no peer: no local program runs this pipeline, and AWS's documented buffering
(Firehose holds records at least 60 s with a Lambda transform, 0 s without since 2023) is a
setting, not a measurement, so the line has no peer_value (`comparison` says so)."""
import os
import tempfile
import threading
import time

from benchlib import SERVE_ARGS, Server, emit, loadgen

SECONDS = float(os.environ.get("BENCH_FRESH_SECONDS", "3"))
# (buffer interval s, offered changes/s); the first is the headline.
CASES = [tuple(float(x) for x in c.split("@")) for c in os.environ.get(
    "BENCH_FRESH_CASES", "0@100000,0@1000,0@10000,1@10000").split(",")]
CONNECTIONS = 16
BATCH = 25
BUCKET = "kinesis-firehose-destination-yb"
WATCH_S = 0.002
TARGET_P99_MS = 50


def config(interval):
    return ("defaults: seed\n"
            "delivery_streams:\n"
            "  - name: sales-delivery-stream\n"
            "    source_stream: kinesis-for-sales-data\n"
            f"    bucket: {BUCKET}\n"
            f"    buffer_interval_seconds: {interval:g}\n"
            "    processors: [{\"type\": \"dynamodb-cdc\"}]\n")


class Watcher(threading.Thread):
    """Notes the first time each readable object is seen; reads them only at the end."""

    def __init__(self, root):
        super().__init__(daemon=True)
        self.root, self.first_seen = root, {}
        self.stop = threading.Event()

    def scan(self):
        now = time.monotonic()
        for dirpath, _, files in os.walk(self.root):
            for f in files:
                if not f.startswith(".tmp-"):
                    self.first_seen.setdefault(os.path.join(dirpath, f), now)

    def run(self):
        while not self.stop.is_set():
            self.scan()
            time.sleep(WATCH_S)
        self.scan()

    def visible(self):
        """{orderid: first time its object was seen}."""
        out = {}
        for path, t in self.first_seen.items():
            with open(path, "rb") as fh:
                for line in fh:
                    # Lines start with {"orderid":"<id>" (dynamodb-cdc's column order).
                    if line.startswith(b'{"orderid":"'):
                        oid = line[12:line.index(b'"', 12)].decode()
                        out[oid] = min(t, out.get(oid, t))
        return out


def bodies(tag, total):
    return [{"RequestItems": {"OrdersRawTable": [
        {"PutRequest": {"Item": {"orderid": {"S": f"{tag}-{i}"}, "product_name": {"S": "Phone"},
                                 "quantity": {"N": "1"}, "price": {"N": "9.5"}}}}
        for i in range(b, min(b + BATCH, total))]}} for b in range(0, total, BATCH)]


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))]


def run(interval, rate):
    tag = f"r{rate:g}i{interval:g}"
    total = int(rate * SECONDS)
    reqs = bodies(tag, total)
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "salespipe.yaml")
        with open(cfg, "w") as f:
            f.write(config(interval))
        os.makedirs(os.path.join(d, "data"))
        srv = Server(os.path.join(d, "data"), config=cfg, extra_args=SERVE_ARGS).start()
        w = Watcher(os.path.join(d, "data", "lake", BUCKET))
        w.start()
        acks = os.path.join(d, "acks")
        try:
            # Past 3x the planned time the generator stops: the rate achieved says so.
            r = loadgen(srv.port, "DynamoDB_20120810.BatchWriteItem", reqs, SECONDS * 3 + 5,
                        CONNECTIONS, max_requests=len(reqs), rate=rate / BATCH, ack_log=acks)
            acked = {}
            with open(acks) as f:
                for line in f:
                    i, t, status = line.split()
                    if status != "200":
                        raise SystemExit(f"freshness: BatchWriteItem {i} answered {status}")
                    for item in reqs[int(i)]["RequestItems"]["OrdersRawTable"]:
                        acked[item["PutRequest"]["Item"]["orderid"]["S"]] = float(t)
            deadline = time.monotonic() + 30 + interval
            while time.monotonic() < deadline:
                h = srv.health()["services"]["firehose"]["delivery_streams"]
                if h["sales-delivery-stream"]["records_out"] >= len(acked):
                    break
                time.sleep(0.01)
            time.sleep(WATCH_S * 5)  # the watcher's last listing
        finally:
            w.stop.set()
            w.join()
            srv.stop()
        visible = w.visible()
    missing = [i for i in acked if i not in visible]
    if missing:
        raise SystemExit(f"freshness: {len(missing)} changes never reached the lake")
    lat = [(visible[i] - acked[i]) * 1000 for i in acked]
    return {"interval_s": interval, "offered_cps": round(rate),
            "achieved_cps": round(len(acked) / r["seconds"]), "changes": len(acked),
            "p50_ms": round(pct(lat, 50), 1), "p99_ms": round(pct(lat, 99), 1),
            "objects": len(w.first_seen)}


def main():
    res = [run(interval, rate) for interval, rate in CASES]
    head = res[0]
    emit("freshness", "p99 ms", head["p99_ms"], None, None,
         comparison="none: no local program runs this pipeline; AWS Firehose's buffering is a "
                    "setting (>= 60 s with a Lambda transform), not a measurement",
         interval_s=head["interval_s"], offered_cps=head["offered_cps"],
         achieved_cps=head["achieved_cps"], p50_ms=head["p50_ms"],
         rate_met=head["achieved_cps"] >= 0.95 * head["offered_cps"],
         target_p99_ms=TARGET_P99_MS, connections=CONNECTIONS, batch=BATCH,
         watch_resolution_ms=WATCH_S * 1000,
         cases={f"interval{c['interval_s']:g}s_{c['offered_cps']}cps": c for c in res})


if __name__ == "__main__":
    main()
