#!/usr/bin/env python3
"""memory: peak RSS (VmHWM) of `salespipe serve` while it drains a backlog of table changes
through pipe, log and delivery to the lake. The backlog is built first with the pipes switched
off (`pipes: []`, salespipe bench-cdc --generate-only, in process: no HTTP), then serve starts
on the seed configuration and /proc/<pid>/status is sampled until every change is delivered.

The backlog is built as fast as the table takes it, since the build is not what is measured:
puts and deletes only (--mix 9:0:1, so every BatchWriteItem carries 25 changes, one table
transaction each) with durability relaxed (the build's fsyncs would only slow it down; serve
then drains with $SALESPIPE_DURABILITY, which the line states). Its size is
BENCH_MEMORY_CHANGES: the issue asks for 10 000 000 (`BENCH_MEMORY_CHANGES=10000000`; the
line's build_s and drain_s say how long that took: about 6 + 10 minutes on the 2 shared cores
of docs/benchmarks.md); the default, 1 000 000, is what fits `make bench` in about two minutes
(200 000 took 23 s for both backlogs there), and the line says which size ran.

There is no peer: the line compares salespipe with itself, the same drain of a backlog a tenth
the size (peer_value), so ratio ~1 means memory does not grow with the backlog. Target
< 128 MiB."""
import json
import os
import subprocess
import tempfile
import time

from benchlib import BIN, SERVE_ARGS, Server, emit

CHANGES = int(os.environ.get("BENCH_MEMORY_CHANGES", "1000000"))
BUILD_THREADS = 4
TARGET_MIB = 128
ISSUE_BACKLOG = 10_000_000


def vmhwm_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def drain(events):
    """Builds a backlog of `events` generated changes, drains it; returns (changes, peak KiB,
    drain seconds, build seconds)."""
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        os.makedirs(data)
        nopipes = os.path.join(d, "nopipes.yaml")
        with open(nopipes, "w") as f:
            f.write("defaults: seed\npipes: []\n")
        out = subprocess.run([BIN, "bench-cdc", "--config", nopipes, "--events", str(events),
                              "--threads", str(BUILD_THREADS), "--batch", "25", "--mix", "9:0:1",
                              "--durability", "relaxed", "--generate-only", "--data-dir", data],
                             capture_output=True, text=True, check=True)
        built = json.loads(out.stdout)
        changes = built["changes"]
        srv = Server(data, extra_args=SERVE_ARGS).start()
        t0 = time.monotonic()
        peak = 0
        try:
            # At least 2 000 changes/s, or the scenario fails rather than report a part.
            box = max(600, changes / 2000)
            while True:
                peak = max(peak, vmhwm_kb(srv.proc.pid))
                h = srv.health()["services"]
                fh = h["firehose"]["delivery_streams"]["sales-delivery-stream"]
                if fh["records_in"] >= changes and fh["records_out"] >= changes:
                    break
                if time.monotonic() - t0 > box:
                    raise SystemExit(f"memory: {fh['records_out']} of {changes} changes "
                                     f"delivered in {box:.0f} s")
                time.sleep(0.05)
            secs = time.monotonic() - t0
            peak = max(peak, vmhwm_kb(srv.proc.pid))
        finally:
            assert srv.stop() == 0
        return changes, peak, secs, built["generate_s"]


def main():
    small, small_peak, _, _ = drain(CHANGES // 10)
    big, peak, secs, build_s = drain(CHANGES)
    emit("memory", "peak RSS MiB", peak / 1024, f"self: backlog of {small}", small_peak / 1024,
         comparison=f"self: salespipe draining a backlog a tenth the size ({small} changes); "
                    "ratio ~1: memory flat with backlog",
         backlog_changes=big, issue_backlog_changes=ISSUE_BACKLOG,
         full_issue_backlog=big >= ISSUE_BACKLOG, build_s=round(build_s, 2),
         build_changes_per_s=round(big / build_s) if build_s else None,
         build="bench-cdc in process, --mix 9:0:1 --batch 25, durability relaxed, pipes off",
         drain_s=round(secs, 2), drain_changes_per_s=round(big / secs), target_mib=TARGET_MIB)


if __name__ == "__main__":
    main()
