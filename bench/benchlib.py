"""Shared plumbing of the benchmark scenarios: start salespipe and a peer side by side on
loopback, drive both with the same load, print one JSON line per result."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BIN = os.environ.get("SALESPIPE_BIN", os.path.join(ROOT, "build", "salespipe"))
LOADGEN = os.environ.get("SALESPIPE_LOADGEN", os.path.join(ROOT, "build", "sp_loadgen"))
NODE_MODULES = os.path.join(ROOT, "tools", "node_modules")
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


def emit(bench, unit, ours, peer, peer_value, **extra):
    line = {"bench": bench, "unit": unit, "ours": round(ours, 2), "peer": peer,
            "peer_value": round(peer_value, 2) if peer_value is not None else None,
            "ratio": round(ours / peer_value, 2) if peer_value else None}
    line.update(extra)
    print(json.dumps(line), flush=True)
