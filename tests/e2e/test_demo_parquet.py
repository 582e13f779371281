"""`salespipe demo --format parquet` (issue 16): the whole seed demo with the delivery stream
converting to Parquet: it completes with the table equal to the lake rebuilt through the
crawled Parquet table, every data object ends in .parquet and is Parquet, the crawled table
is STORED AS PARQUET, and DuckDB reads the objects back with every delivered record."""
import json
import os
import shutil
import subprocess

from conftest import BIN, SOURCE

ORACLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oracles")
MODULES = os.environ.get("SALESPIPE_ORACLES_DIR", os.path.join(SOURCE, "tools"))


def test_demo_format_parquet_runs_end_to_end(data_dir):
    out = subprocess.run([BIN, "demo", "--events", "400", "--seed", "5", "--format", "parquet",
                          "--data-dir", data_dir], capture_output=True, timeout=300)
    text = out.stdout.decode()
    assert out.returncode == 0, text + out.stderr.decode()
    assert "-> equal" in text
    delivered = int(text.split("delivered to the lake")[1].split("records")[0])
    root = os.path.join(data_dir, "lake", "kinesis-firehose-destination-yb")
    objects = [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]
    assert objects and all(p.endswith(".parquet") for p in objects)
    for p in objects:
        with open(p, "rb") as f:
            assert f.read(4) == b"PAR1"
    ddl = subprocess.run([BIN, "ddl", "--data-dir", data_dir], capture_output=True,
                         timeout=60).stdout.decode()
    assert "STORED AS PARQUET" in ddl and "`quantity` bigint" in ddl
    if shutil.which("node") and os.path.isdir(os.path.join(MODULES, "node_modules", "@duckdb")):
        rows = 0
        for p in objects:
            r = subprocess.run(["node", os.path.join(ORACLES, "duckdb_parquet.mjs"), "read", p],
                               capture_output=True, text=True, timeout=120,
                               env=dict(os.environ, SALESPIPE_ORACLES_DIR=MODULES))
            assert r.returncode == 0, r.stderr
            rows += len(json.loads(r.stdout)["rows"])
        assert rows == delivered


def test_demo_refuses_an_unknown_format(data_dir):
    out = subprocess.run([BIN, "demo", "--format", "orc", "--data-dir", data_dir],
                         capture_output=True, timeout=60)
    assert out.returncode != 0 and b"--format json|parquet" in out.stderr
