#!/usr/bin/env python3
"""Power-loss harness: proves that an acknowledged change survives a power cut and that table
stream sequence numbers are never reused across one.

Runs `salespipe serve` with the power-cut shim (powercut_shim.c), client threads PutItem new
orders (each with a unique tag) and record every acknowledged one, a watcher follows the table
stream through the DynamoDB Streams API and records the highest SequenceNumber it saw. At a
random moment the server is SIGKILLed and every file is rolled back to its last fsynced
content. The server is restarted without the shim, more orders are put, and once the pipeline
has drained the lake objects are read directly:

  - every acknowledged order is in the lake exactly once (before and after the cut)
  - no order (acknowledged or in flight at the cut) and no sequence number is there twice
  - every change made after the restart has a sequence number above any the watcher saw
    before the cut, in the table stream and in the lake
  - every stream record the watcher read before the cut is still in the table stream after it
    (nothing downstream saw a change the table lost; relaxed fails this one too)

    power_loss.py [--durability fsync|relaxed] [--seed S] [--runs N]

With `--durability relaxed` losses are expected (that is what relaxed means); the harness
reports them, which shows the simulation does take away unsynced writes."""
import argparse
import os
import random
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, HERE)
import powercut  # noqa: E402
from conftest import Server  # noqa: E402
from crash_harness import read_lake  # noqa: E402
from pipe_helpers import table_history  # noqa: E402

TABLE = "OrdersRawTable"


class Writers:
    """Threads putting new orders (orderid = tag = "<phase>-<thread>-<n>") until stopped or
    `per_thread` each; acked holds every tag whose PutItem answered 200, tried every tag sent."""

    def __init__(self, server, phase, threads, per_thread):
        self.server, self.phase, self.per_thread = server, phase, per_thread
        self.acked, self.tried = set(), set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        # boto3 clients are made here: creating them is not thread-safe.
        self.clients = [server.client("dynamodb") for _ in range(threads)]
        self.threads = [threading.Thread(target=self.work, args=(i,), daemon=True)
                        for i in range(threads)]

    def work(self, index):
        client = self.clients[index]
        for n in range(self.per_thread):
            if self.stop.is_set():
                return
            tag = f"{self.phase}-{index}-{n}"
            with self.lock:
                self.tried.add(tag)
            try:
                client.put_item(TableName=TABLE, Item={
                    "orderid": {"S": tag}, "product_name": {"S": "Laptop"},
                    "quantity": {"N": str(1 + n % 5)}, "price": {"N": str(10 + n % 490)}})
            except Exception:
                return  # the server is gone (the cut): this one's outcome is unknown
            with self.lock:
                self.acked.add(tag)

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout=None):
        for t in self.threads:
            t.join(timeout)


class Watcher(threading.Thread):
    """Follows the table stream and keeps the highest SequenceNumber seen."""

    def __init__(self, server):
        super().__init__(daemon=True)
        self.server = server
        self.max_seq = ""
        self.seen = {}  # SequenceNumber -> orderid of every record read before the cut
        self.stop = threading.Event()
        self.clients = (server.client("dynamodbstreams"), server.client("dynamodb"))

    def run(self):
        try:
            streams, ddb = self.clients
            arn = ddb.describe_table(
                TableName=TABLE)["Table"]["LatestStreamArn"]
            shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
            it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                            ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while it and not self.stop.is_set():
                r = streams.get_records(ShardIterator=it, Limit=1000)
                for rec in r["Records"]:
                    self.max_seq = max(self.max_seq, rec["dynamodb"]["SequenceNumber"])
                    self.seen[rec["dynamodb"]["SequenceNumber"]] = \
                        rec["dynamodb"]["Keys"]["orderid"]["S"]
                it = r.get("NextShardIterator")
                if not r["Records"]:
                    time.sleep(0.02)
        except Exception:
            pass  # the cut


def lake_lines(data_dir):
    return [line for _, lines in read_lake(data_dir) for line in lines or []]


def run(durability, data_dir, seed, log=print, threads=4, per_thread=2000, after=100,
        failpoint=None):
    """One cut. Returns (problems, facts); problems empty means every check held. With
    failpoint ("<name>:<n>", SALESPIPE_FAILPOINT) the cut comes exactly there instead of at a
    random moment."""
    rng = random.Random(seed)
    shadow = data_dir + "-shadow"
    args = ["--durability", durability]
    env = powercut.shim_env(data_dir, shadow)
    if failpoint:
        env["SALESPIPE_FAILPOINT"] = failpoint
    server = Server(data_dir, extra_args=args, env=env).start()
    watcher = Watcher(server)
    watcher.start()
    before = Writers(server, "before", threads, per_thread).start()
    if failpoint:
        deadline = time.time() + 60
        while server.proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        if server.proc.poll() is None:
            raise AssertionError(f"failpoint {failpoint} never fired")
    else:
        time.sleep(rng.uniform(0.5, 2.5))
    server.kill()  # the power cut
    before.stop.set()
    watcher.stop.set()
    before.join(30)
    watcher.join(30)
    rolled = powercut.roll_back(shadow)

    server = Server(data_dir, extra_args=args).start()
    problems = []
    try:
        later = Writers(server, "after", threads, after // threads).start()
        later.join()
        acked = before.acked | later.acked
        deadline = time.time() + 120
        while time.time() < deadline:
            tags = {line["orderid"] for line in lake_lines(data_dir)}
            if acked <= tags:
                break
            time.sleep(0.25)
        time.sleep(1.5)  # anything still in flight lands, so a duplicate would show
        lines = lake_lines(data_dir)
        history = table_history(server, TABLE)
    finally:
        rc = server.stop()
    if rc != 0:
        problems.append(f"server exited with {rc} at the clean stop")

    count, seqs = {}, {}
    for line in lines:
        count[line["orderid"]] = count.get(line["orderid"], 0) + 1
        seqs[line["sequence_number"]] = seqs.get(line["sequence_number"], 0) + 1
    lost = sorted(t for t in acked if t not in count)
    dup_tags = sorted(t for t, n in count.items() if n > 1)
    dup_seqs = sorted(s for s, n in seqs.items() if n > 1)
    invented = sorted(t for t in count if t not in before.tried | later.tried)
    if lost:
        problems.append(f"{len(lost)} acknowledged changes missing from the lake, e.g. {lost[:3]}")
    if dup_tags:
        problems.append(f"{len(dup_tags)} changes in the lake more than once, e.g. {dup_tags[:3]}")
    if dup_seqs:
        problems.append(f"{len(dup_seqs)} sequence numbers in the lake more than once")
    if invented:
        problems.append(f"{len(invented)} lake lines match no request")
    cut = watcher.max_seq
    after_seqs = [line["sequence_number"] for line in lines if line["orderid"].startswith("after-")]
    after_seqs += [r["dynamodb"]["SequenceNumber"] for r in history
                   if r["dynamodb"]["Keys"]["orderid"]["S"].startswith("after-")]
    reused = sorted(s for s in after_seqs if s <= cut)
    if reused:
        problems.append(f"{len(reused)} sequence numbers after the restart are not above "
                        f"{cut}, the highest seen before the cut, e.g. {reused[:3]}")
    # Nothing downstream may have seen a change the table lost: every record the watcher read
    # before the cut is still in the table stream, with the same change.
    kept = {r["dynamodb"]["SequenceNumber"]: r["dynamodb"]["Keys"]["orderid"]["S"]
            for r in history}
    unseen = sorted(s for s, tag in watcher.seen.items() if kept.get(s) != tag)
    if unseen:
        problems.append(f"{len(unseen)} stream records read before the cut are not in the "
                        f"table after it, e.g. {unseen[:3]}")
    if not later.acked or not after_seqs:
        problems.append("no change was acknowledged after the restart")
    facts = {"durability": durability, "acked_before": len(before.acked),
             "in_flight": len(before.tried - before.acked), "acked_after": len(later.acked),
             "lost": len(lost), "duplicated": len(dup_tags), "max_seq_before_cut": cut,
             "min_seq_after": min(after_seqs) if after_seqs else None,
             "seen_before_cut": len(watcher.seen),
             "rolled_back_files": rolled["files"], "files_changed_by_cut": rolled["changed"],
             "bytes_dropped_by_cut": rolled["bytes_dropped"]}
    log(" ".join(f"{k}={v}" for k, v in facts.items()))
    for p in problems:
        log("PROBLEM: " + p)
    return problems, facts


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--durability", default="fsync", choices=["fsync", "relaxed"])
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    failed = 0
    for i in range(a.runs):
        with tempfile.TemporaryDirectory(prefix="salespipe-powercut-") as d:
            data = os.path.join(d, "data")
            os.makedirs(data)
            print(f"seed={a.seed + i}", flush=True)
            problems, _ = run(a.durability, data, a.seed + i)
            failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
