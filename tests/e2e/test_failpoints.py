"""Deterministic crashes: the process is SIGKILLed exactly at the moments the exactly-once
argument is about (SALESPIPE_FAILPOINT, src/core/failpoint.h), restarted without the
failpoint, and then every committed change must be in the lake exactly once, in order per key,
with the table equal to its state rebuilt from the lake."""
import os
import sys
import threading
import time

import pytest

from conftest import Server

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import crash_harness  # noqa: E402

SMALL_SEGMENTS = """defaults: seed
streams:
  - name: kinesis-for-sales-data
    shard_count: 2
    segment_mb: 1
"""

# (failpoint, pass at which it fires, config)
POINTS = [
    ("table.committed", 40, None),
    ("stream.before-write", 5, None),
    ("stream.segment-rolled", 1, SMALL_SEGMENTS),
    # killed between two writes of zeros ahead of the tail (the 2nd segment's first refill)
    ("stream.zero-ahead", 6, SMALL_SEGMENTS),
    ("pipe.appended", 3, None),
    ("delivery.intent-written", 2, None),
    ("delivery.objects-written", 2, None),
    ("lake.before-rename", 2, None),
]


def drive_until_dead(server, stop):
    """Writes seed-shaped changes (padded, so segments fill) until the server dies."""
    ddb = server.client("dynamodb")
    i = 0
    while not stop.is_set():
        oid = str(i % 300)
        try:
            if i % 7 == 6:
                ddb.delete_item(TableName="OrdersRawTable", Key={"orderid": {"S": oid}})
            else:
                ddb.put_item(TableName="OrdersRawTable", Item={
                    "orderid": {"S": oid}, "product_name": {"S": "Laptop"},
                    "quantity": {"N": str(1 + i % 5)}, "price": {"N": f"{10 + i % 490}.25"},
                    "note": {"S": "x" * 2000}})
        except Exception:
            return
        i += 1


@pytest.mark.parametrize("point,n,config", POINTS, ids=[p[0] for p in POINTS])
def test_kill_at_failpoint_loses_and_duplicates_nothing(data_dir, point, n, config):
    cfg = None
    if config:
        cfg = os.path.join(os.path.dirname(data_dir), "config.yaml")
        with open(cfg, "w") as f:
            f.write(config)
    server = Server(data_dir, cfg, env={"SALESPIPE_FAILPOINT": f"{point}:{n}"}).start()
    stop = threading.Event()
    writer = threading.Thread(target=drive_until_dead, args=(server, stop), daemon=True)
    writer.start()
    deadline = time.time() + 60
    while server.proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    writer.join(timeout=30)
    rc = server.proc.poll()
    assert rc == -9, f"{point} never fired (exit {rc})\n{server.read_log()[-2000:]}"
    assert "failpoint reached" in server.read_log()
    server.proc.stdout.close()
    server.log.close()
    server.proc = None

    server.env = None  # restart normally: recovery, then the pipeline drains
    server.start()
    try:
        history = crash_harness.stream_history(server)
        assert crash_harness.wait_drained(server, len(history), data_dir, timeout=60)
        problems, counts = crash_harness.check(server, history, crash_harness.read_lake(data_dir))
    finally:
        rc = server.stop()
    assert rc == 0
    assert counts["changes"] > 0
    assert problems == [], problems
