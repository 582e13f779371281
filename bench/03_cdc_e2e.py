#!/usr/bin/env python3
"""cdc-e2e: changes/s from an in-process generator (salespipe bench-cdc: generator threads
calling the DynamoDB operations without HTTP) through table + stream capture, pipe, Kinesis
log, delivery (dynamodb-cdc) to lake objects, on the seed configuration. Beside it, in the same
run, the physical anchors, each also printed as a row of its own: SQLite inserting the same rows
in one transaction (python3 sqlite3, WAL; synchronous=FULL under durability fsync, NORMAL
under relaxed, as the table uses; row "sqlite-bulk-insert") and the disk's sequential write
speed (dd bs=1M conv=fdatasync: one fdatasync at the end; row "disk-seq-write").

The generator is the seed's (7:2:1 PutItem/UpdateItem/DeleteItem, one request per change,
THREADS threads); `batched_changes_per_s` is the same run with puts and deletes sent as
BatchWriteItem of up to 25 (one table transaction each; updates still one by one).

Durability is $SALESPIPE_DURABILITY (default fsync) and stated in the line: with fsync the
table commits in WAL with synchronous=FULL (each group commit fsynced before the answer) and
the Kinesis log fsyncs each group commit (fsync: batch); with relaxed the table uses
synchronous=NORMAL (survives a process crash; the WAL is fsynced at checkpoints) and the log
fsyncs every 200 ms (fsync: interval). Lake objects are fsynced before rename in both."""
import json
import os
import random
import sqlite3
import subprocess
import tempfile
import time

from benchlib import BIN, DURABILITY, SERVE_ARGS, emit

EVENTS = int(os.environ.get("BENCH_CDC_EVENTS", "100000"))
THREADS = int(os.environ.get("BENCH_CDC_THREADS", "4"))
DD_MB = int(os.environ.get("BENCH_DD_MB", "256"))
# The table's synchronous setting for the durability measured (src/table: FULL with fsync).
SQLITE_SYNC = "FULL" if DURABILITY == "fsync" else "NORMAL"


def salespipe(d, batch=1):
    out = subprocess.run([BIN, "bench-cdc", "--events", str(EVENTS), "--threads", str(THREADS),
                          "--batch", str(batch), "--data-dir", os.path.join(d, f"sp{batch}")] + SERVE_ARGS,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def sqlite_anchor(d, n):
    """The same rows (seed-shaped items plus a stream record each) in one transaction."""
    rng = random.Random(3)
    products = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
    rows = []
    for i in range(n):
        item = json.dumps({"orderid": {"S": str(i)}, "price": {"N": str(rng.randint(10, 500))},
                           "product_name": {"S": rng.choice(products)},
                           "quantity": {"N": str(rng.randint(1, 5))}}, separators=(",", ":"))
        rows.append((str(i), item))
    db = sqlite3.connect(os.path.join(d, "anchor.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=%s" % SQLITE_SYNC)
    db.execute("CREATE TABLE items(hk TEXT PRIMARY KEY, item TEXT) WITHOUT ROWID")
    db.execute("CREATE TABLE stream(seq INTEGER PRIMARY KEY, rec TEXT)")
    t0 = time.perf_counter()
    db.execute("BEGIN")
    for seq, (hk, item) in enumerate(rows, 1):
        db.execute("INSERT OR REPLACE INTO items VALUES(?, ?)", (hk, item))
        db.execute("INSERT INTO stream VALUES(?, ?)", (seq, item))
    db.execute("COMMIT")
    secs = time.perf_counter() - t0
    db.close()
    return n / secs


def dd_anchor(d):
    path = os.path.join(d, "dd.bin")
    out = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={DD_MB}",
                          "conv=fdatasync"], capture_output=True, text=True, check=True)
    os.unlink(path)
    # "268435456 bytes (268 MB, 256 MiB) copied, 0.3 s, 800 MB/s"
    last = out.stderr.strip().splitlines()[-1]
    secs = float(last.split(" copied, ")[1].split(" s")[0])
    return DD_MB * 1048576 / secs / 1e6


def main():
    with tempfile.TemporaryDirectory() as d:
        r = salespipe(d)
        rb = salespipe(d, 25)
        assert r["delivered"] == r["changes"] and rb["delivered"] == rb["changes"], (r, rb)
        sq = sqlite_anchor(d, r["changes"])
        dd = dd_anchor(d)
    emit("cdc-e2e", "changes/s", r["changes_per_s"], "sqlite-one-transaction", sq,
         comparison="physical limit: SQLite inserting the same rows (item + stream record) "
                    "in one transaction, same run",
         changes=r["changes"], threads=THREADS, objects=r["objects"],
         generate_s=r["generate_s"], total_s=r["total_s"],
         batched_changes_per_s=rb["changes_per_s"], disk_seq_write_mb_s=round(dd, 1),
         table_writes=r.get("table_writes"), table_group_commits=r.get("table_group_commits"),
         table_wal_syncs=r.get("table_wal_syncs"),
         batched_table_writes=rb.get("table_writes"),
         batched_table_group_commits=rb.get("table_group_commits"),
         fsync=("table WAL fdatasync per group of commits, after the lock (pipelined); log "
                "fsync per group commit; objects fsynced before rename" if DURABILITY == "fsync" else
                "table WAL synchronous=NORMAL (fsync at checkpoint); log fsync every 200 ms; "
                "objects fsynced before rename"))
    emit("sqlite-bulk-insert", "changes/s (item + stream record rows)", sq, None, None,
         comparison="physical limit: python3 sqlite3, the cdc-e2e row's changes as item + "
                    "stream record rows, one transaction",
         rows=r["changes"], sqlite_journal="WAL", sqlite_synchronous=SQLITE_SYNC,
         durability=f"one commit, WAL synchronous={SQLITE_SYNC}")
    emit("disk-seq-write", "MB/s", dd, None, None,
         comparison="physical limit: dd if=/dev/zero bs=1M conv=fdatasync in the data's "
                    "temporary directory",
         megabytes=DD_MB, durability="fdatasync at the end")


if __name__ == "__main__":
    main()
