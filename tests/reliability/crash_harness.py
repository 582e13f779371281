#!/usr/bin/env python3
"""Crash harness: proves that a committed change reaches the lake exactly once.

Runs `salespipe serve`, drives inserts, overwrites, updates and deletes on OrdersRawTable from
several client threads, SIGKILLs the server at random moments and restarts it, then lets the
pipeline drain and checks the lake against the table's change history (its DynamoDB stream):

  - every stream record's SequenceNumber appears in the lake exactly once (lost=0, duplicated=0)
  - inside each object, the changes of one key are in commit order
  - every object is complete JSON lines (no partial or corrupt object)
  - the table equals the state rebuilt from the lake (latest non-REMOVE change per orderid)

    crash_harness.py [--changes N] [--kills K] [--seed S] [--workers W]

Prints `changes=… lost=0 duplicated=0 kills=…` and exits 0 when every check holds."""
import argparse
import gzip
import json
import os
import random
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from conftest import Server  # noqa: E402
from pipe_helpers import table_history  # noqa: E402

BUCKET = "kinesis-firehose-destination-yb"
TABLE = "OrdersRawTable"
PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]


class Load:
    """Client threads writing changes until `changes` requests have been attempted."""

    def __init__(self, server, changes, workers, seed):
        self.server = server
        self.remaining = changes
        self.lock = threading.Lock()
        self.workers = workers
        self.seed = seed
        self.attempted = 0
        self.failed = 0

    def take(self):
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            self.attempted += 1
            return True

    def run_worker(self, index):
        rng = random.Random(self.seed * 1000 + index)
        client = None
        port = None
        while self.take():
            try:
                if client is None or port != self.server.port:
                    port = self.server.port
                    client = self.server.client("dynamodb")
                oid = str(rng.randint(1, 500))
                key = {"orderid": {"S": oid}}
                r = rng.random()
                if r < 0.6:
                    client.put_item(TableName=TABLE, Item={
                        "orderid": {"S": oid}, "product_name": {"S": rng.choice(PRODUCTS)},
                        "quantity": {"N": str(rng.randint(1, 5))},
                        "price": {"N": f"{rng.randint(1000, 50000) / 100:.2f}"}})
                elif r < 0.85:
                    # Like the generator: update only orders that exist (an update of a
                    # missing key would create an item with just orderid and price).
                    try:
                        client.update_item(TableName=TABLE, Key=key,
                                           UpdateExpression="SET price = :p",
                                           ConditionExpression="attribute_exists(orderid)",
                                           ExpressionAttributeValues={":p": {"N": str(rng.randint(10, 500))}})
                    except client.exceptions.ConditionalCheckFailedException:
                        pass
                else:
                    client.delete_item(TableName=TABLE, Key=key)
            except Exception:
                # The server may be down (killed): the outcome of this request is unknown,
                # which is fine; the check is against what the table committed.
                with self.lock:
                    self.failed += 1
                client = None
                time.sleep(0.05)

    def start(self):
        self.threads = [threading.Thread(target=self.run_worker, args=(i,), daemon=True)
                        for i in range(self.workers)]
        for t in self.threads:
            t.start()

    def alive(self):
        return any(t.is_alive() for t in self.threads)


def stream_history(server):
    """Every record of the table's stream, in order."""
    return table_history(server, TABLE)


def read_lake(data_dir):
    """(object key, list of parsed lines) for every object of the seed bucket."""
    root = os.path.join(data_dir, "lake", BUCKET)
    objects = []
    for dirpath, _, files in os.walk(root):
        for name in sorted(files):
            if name.startswith(".tmp-"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if rel.startswith("processing-failed"):
                objects.append((rel, None))
                continue
            raw = open(path, "rb").read()
            if name.endswith(".gz"):
                raw = gzip.decompress(raw)
            lines = [json.loads(line) for line in raw.decode().splitlines() if line.strip()]
            objects.append((rel, lines))
    return objects


def check(server, history, objects):
    """Returns (problems, counts)."""
    problems = []
    failed_objects = [k for k, lines in objects if lines is None]
    if failed_objects:
        problems.append(f"processing-failed objects: {failed_objects[:3]}")
    seen = {}
    for key, lines in objects:
        if lines is None:
            continue
        last_per_order = {}
        for line in lines:
            seq = line.get("sequence_number")
            seen[seq] = seen.get(seq, 0) + 1
            oid = line.get("orderid")
            if oid in last_per_order and last_per_order[oid] >= seq:
                problems.append(f"{key}: order {oid} out of commit order")
            last_per_order[oid] = seq
    expected = {r["dynamodb"]["SequenceNumber"] for r in history}
    lost = len(expected - set(seen))
    duplicated = sum(1 for s, n in seen.items() if n > 1)
    invented = len(set(seen) - expected)
    if lost:
        problems.append(f"{lost} changes missing from the lake")
    if duplicated:
        problems.append(f"{duplicated} changes in the lake more than once")
    if invented:
        problems.append(f"{invented} lake lines match no table change")

    # The table equals its state rebuilt from the lake.
    latest = {}
    for _, lines in objects:
        for line in lines or []:
            oid = line["orderid"]
            if oid not in latest or latest[oid]["sequence_number"] < line["sequence_number"]:
                latest[oid] = line
    rebuilt = {oid: (l["product_name"], int(l["quantity"]), round(float(l["price"]), 2))
               for oid, l in latest.items() if l["cdc_event_type"] != "REMOVE"}
    table = {}
    for page in server.client("dynamodb").get_paginator("scan").paginate(TableName=TABLE):
        for it in page["Items"]:
            table[it["orderid"]["S"]] = (it["product_name"]["S"], int(it["quantity"]["N"]),
                                         round(float(it["price"]["N"]), 2))
    if rebuilt != table:
        diff = set(rebuilt.items()) ^ set(table.items())
        problems.append(f"table differs from the state rebuilt from the lake in {len(diff)} entries")
    return problems, {"changes": len(expected), "lost": lost, "duplicated": duplicated}


def wait_drained(server, history_len, data_dir, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        seqs = sum(len(lines or []) for _, lines in read_lake(data_dir))
        if seqs >= history_len:
            time.sleep(1.5)  # let anything in flight land, so duplicates would show
            return True
        time.sleep(0.25)
    return False


def run(changes, kills, seed, workers, data_dir, log=print):
    rng = random.Random(seed)
    server = Server(data_dir).start()
    load = Load(server, changes, workers, seed)
    load.start()
    done_kills = 0
    try:
        while load.alive() and done_kills < kills:
            time.sleep(rng.uniform(0.2, 1.5))
            if not load.alive():
                break
            server.kill()
            done_kills += 1
            time.sleep(rng.uniform(0.0, 0.3))
            server.start()
        while load.alive():
            time.sleep(0.1)
        history = stream_history(server)
        if not wait_drained(server, len(history), data_dir, timeout=120):
            log("lake did not catch up with the table stream in 120 s")
        problems, counts = check(server, history, read_lake(data_dir))
    finally:
        rc = server.stop() if server.proc else 0
    if rc != 0:
        problems.append(f"server exited with {rc} at the clean stop")
    log(f"changes={counts['changes']} lost={counts['lost']} duplicated={counts['duplicated']} "
        f"kills={done_kills} attempted={load.attempted} client_errors={load.failed}")
    for p in problems:
        log("PROBLEM: " + p)
    return problems, counts, done_kills


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=100000)
    ap.add_argument("--kills", type=int, default=20)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--workers", type=int, default=8)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="salespipe-crash-") as d:
        data = os.path.join(d, "data")
        os.makedirs(data)
        print(f"seed={a.seed}", flush=True)
        problems, _, _ = run(a.changes, a.kills, a.seed, a.workers, data)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
