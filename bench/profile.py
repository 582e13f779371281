#!/usr/bin/env python3
"""Profiles salespipe under one scenario's load, for the "what limits it" part of
docs/benchmarks.md: perf stat (context switches, CPU) and perf record -g of the release server,
then the largest shares by thread, by library and by function (inclusive). Not a scenario:
`make bench` does not run it. Needs `perf` (Debian's linux-perf).

  bench/profile.py put-item|put-records|cdc [seconds]

put-item and put-records drive `salespipe serve` (seed configuration, the scenario's bodies
and connections) with sp_loadgen; cdc runs `salespipe bench-cdc` (100 000 events, 4 threads)
under perf. Data files land in /tmp/perf.<mode>.data for `perf report -i`."""
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time

from benchlib import BIN, SERVE_ARGS, Server, loadgen_cpu

MODES = {"put-item": ("01_put_item", "DynamoDB_20120810.PutItem", 8, None),
         "put-records": ("02_put_records", "Kinesis_20131202.PutRecords", 4,
                         "application/x-amz-json-1.1")}


def report(data, sort, children, limit):
    args = ["perf", "report", "-i", data, "--sort", sort, "-g", "none", "--percent-limit",
            str(limit), "--children" if children else "--no-children"]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "%" in l and not l.startswith("#")]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    if mode not in MODES and mode != "cdc":
        sys.exit(__doc__)
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 6
    data, stat = f"/tmp/perf.{mode}.data", f"/tmp/perfstat.{mode}.txt"
    record = ["perf", "record", "-F", "1999", "-g", "-o", data]
    with tempfile.TemporaryDirectory() as d:
        if mode == "cdc":
            out = subprocess.run(["perf", "stat", "-e", "context-switches,task-clock", "-o", stat,
                                  *record, "--", BIN, "bench-cdc", "--events", "100000",
                                  "--threads", "4", "--data-dir", d],
                                 capture_output=True, text=True, check=True).stdout
            print(out.strip().splitlines()[-1])
        else:
            module, target, connections, ctype = MODES[mode]
            bodies = importlib.import_module(module).bodies()
            s = Server(d, extra_args=SERVE_ARGS).start()
            try:
                pid = str(s.proc.pid)
                st = subprocess.Popen(["perf", "stat", "-e", "context-switches,task-clock",
                                       "-o", stat, "-p", pid])
                rec = subprocess.Popen([*record, "-p", pid], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
                time.sleep(0.3)
                extra = [ctype] if ctype else []
                r = loadgen_cpu(s.proc.pid, s.port, target, bodies, secs, connections, *extra)
                for p in (st, rec):
                    p.send_signal(2)
                for p in (st, rec):
                    p.wait()
                print(json.dumps({k: r[k] for k in ("requests", "rps", "p99_ms", "cpu_us_per_req")}))
            finally:
                s.stop()
    print(open(stat).read().strip())
    for title, sort, children, limit in (("thread", "comm", False, 1), ("library", "dso", False, 1),
                                         ("function, inclusive", "sym", True, 4)):
        print(f"== by {title}")
        print("\n".join(report(data, sort, children, limit)[:40]))


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, ".")
    main()
