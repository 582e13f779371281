#!/usr/bin/env python3
"""Soak: steady load for a few minutes while sampling the server's RSS; fails if memory grows
with time (steady load) or with backlog (a phase where the pipeline is held back, so changes
pile up on disk).

    soak.py [--minutes M] [--rate R]

Phase 1 (steady): `salespipe generate` at R changes/s through the whole pipeline; RSS is
sampled every second. The mean RSS of the last third of the phase must not exceed that of the
middle third by more than 10 % (the first third is warm-up: caches, SQLite page cache).
Phase 2 (backlog): the same load against a server whose pipe is configured off (no pipes), so
the table stream grows on disk; the same check."""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from conftest import BIN, Server  # noqa: E402

GROWTH_LIMIT = 1.10
NO_PIPES = """defaults: seed
pipes: []
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def phase(name, config, seconds, rate):
    with tempfile.TemporaryDirectory(prefix="salespipe-soak-") as d:
        data = os.path.join(d, "data")
        os.makedirs(data)
        cfg = None
        if config:
            cfg = os.path.join(d, "config.yaml")
            with open(cfg, "w") as f:
                f.write(config)
        server = Server(data, cfg).start()
        gen = subprocess.Popen([BIN, "generate", "--endpoint", server.endpoint,
                                "--events", str(int(seconds * rate) + 1000000),
                                "--rate", str(rate), "--mix", "7:2:1"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        samples = []
        start = time.time()
        while time.time() - start < seconds:
            samples.append(rss_kib(server.proc.pid))
            time.sleep(1)
        gen.kill()
        gen.wait()
        rc = server.stop()
    third = len(samples) // 3
    middle = sum(samples[third:2 * third]) / max(1, third)
    last = sum(samples[2 * third:]) / max(1, len(samples) - 2 * third)
    ok = rc == 0 and last <= middle * GROWTH_LIMIT
    print(f"soak {name}: {len(samples)} samples, rss middle {middle / 1024:.1f} MiB, "
          f"last {last / 1024:.1f} MiB, peak {max(samples) / 1024:.1f} MiB, "
          f"exit {rc} -> {'ok' if ok else 'GROWS'}", flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=2.0)
    ap.add_argument("--rate", type=float, default=2000)
    a = ap.parse_args()
    seconds = a.minutes * 60 / 2
    ok = phase("steady", None, seconds, a.rate)
    ok = phase("backlog", NO_PIPES, seconds, a.rate) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
