"""Catalog and query stages end to end: the test writes seed-shaped lake objects (plain and
gzip, several hours), runs `salespipe crawl`, `ddl` and `query` offline on the data dir and
checks the crawled table, incremental recrawls, query results against Python, and that
partition pruning opens only the objects of the hours asked for."""
import gzip
import json
import os
import random
import re
import subprocess

import pytest

from conftest import BIN

BUCKET = "kinesis-firehose-destination-yb"
TABLE = "sales_db.kinesis_firehose_destination_yb"
PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]


def run(data_dir, *args, check=True):
    out = subprocess.run([BIN] + list(args) + ["--data-dir", data_dir], capture_output=True,
                         timeout=300)
    if check:
        assert out.returncode == 0, f"{args} exited {out.returncode}: {out.stderr.decode()}"
    return out


def query(data_dir, sql, *extra):
    out = run(data_dir, "query", sql, "--format", "json", *extra)
    return json.loads(out.stdout), out.stderr.decode()


class Lake:
    """Writes change records the way the delivery stage lays them out."""

    def __init__(self, data_dir, seed=7):
        self.root = os.path.join(data_dir, "lake", BUCKET)
        self.rng = random.Random(seed)
        self.seq = 0
        self.records = []
        self.keys = {}   # hour -> object keys

    def write_hour(self, hour, n_objects=2, per_object=25, gz=False):
        for i in range(n_objects):
            lines = []
            for _ in range(per_object):
                self.seq += 1
                orderid = str(self.rng.randint(1, 40))
                known = any(r["orderid"] == orderid for r in self.records)
                kind = self.rng.choice(["MODIFY", "MODIFY", "REMOVE"]) if known else "INSERT"
                rec = {"orderid": orderid, "product_name": self.rng.choice(PRODUCTS),
                       "quantity": self.rng.randint(1, 5),
                       "price": round(self.rng.uniform(10, 500), 2),
                       "cdc_event_type": kind,
                       "creation_datetime": f"2026-11-26T{hour:02d}:{i:02d}:05Z",
                       "sequence_number": f"{self.seq:021d}"}
                self.records.append(rec)
                lines.append(json.dumps(rec))
            key = (f"2026/11/26/{hour:02d}/sales-delivery-stream-1-2026-11-26-{hour:02d}-"
                   f"{i:02d}-00-{self.rng.getrandbits(64):016x}" + (".gz" if gz else ""))
            path = os.path.join(self.root, key)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            body = ("\n".join(lines) + "\n").encode()
            with open(path, "wb") as f:
                f.write(gzip.compress(body) if gz else body)
            self.keys.setdefault(hour, []).append(key)


def report(out):
    text = out.stdout.decode()
    counts = {}
    for name in ["tables created", "tables updated", "partitions added", "objects read",
                 "objects skipped"]:
        m = re.search(name + r" (\d+)", text)
        assert m, text
        counts[name] = int(m.group(1))
    return counts


@pytest.fixture
def lake(data_dir):
    lk = Lake(data_dir)
    lk.write_hour(13)
    lk.write_hour(14, gz=True)
    lk.write_hour(15, n_objects=3)
    return lk


def test_crawl_creates_the_seed_table_with_glue_types_and_partitions(data_dir, lake):
    r = report(run(data_dir, "crawl"))
    assert r["tables created"] == 1 and r["partitions added"] == 3 and r["objects read"] == 7
    ddl = run(data_dir, "ddl").stdout.decode()
    m = re.search(r"CREATE EXTERNAL TABLE IF NOT EXISTS `sales_db`.`kinesis_firehose_destination_yb` "
                  r"\((.*?)\)\nPARTITIONED BY \((.*?)\)\nROW FORMAT SERDE "
                  r"'org.openx.data.jsonserde.JsonSerDe'", ddl, re.S)
    assert m, ddl
    cols = re.findall(r"`(\w+)` (\S+?),?\n", m.group(1))
    assert cols == [("orderid", "string"), ("product_name", "string"), ("quantity", "bigint"),
                    ("price", "double"), ("cdc_event_type", "string"),
                    ("creation_datetime", "string"), ("sequence_number", "string")]
    parts = re.findall(r"`(\w+)` (\S+?),?\n", m.group(2))
    assert parts == [(f"partition_{i}", "string") for i in range(4)]
    assert f"LOCATION 's3://{BUCKET}/'" in ddl
    assert "'recordCount'='175'" in ddl and "'objectCount'='7'" in ddl
    adds = re.findall(r"ADD IF NOT EXISTS PARTITION \(`partition_0`='2026', `partition_1`='11', "
                      r"`partition_2`='26', `partition_3`='(\d\d)'\) LOCATION '(\S+)'", ddl)
    assert adds == [(h, f"s3://{BUCKET}/2026/11/26/{h}/") for h in ("13", "14", "15")]


def test_recrawl_reads_only_new_objects_and_adds_only_new_partitions(data_dir, lake):
    run(data_dir, "crawl")
    again = report(run(data_dir, "crawl"))
    assert again == {"tables created": 0, "tables updated": 0, "partitions added": 0,
                     "objects read": 0, "objects skipped": 7}
    lake.write_hour(16, n_objects=2)
    lake.write_hour(15, n_objects=1)  # a new object in a known partition
    r = report(run(data_dir, "crawl"))
    assert r["partitions added"] == 1 and r["objects read"] == 3 and r["objects skipped"] == 7
    assert r["tables created"] == 0
    rows, _ = query(data_dir, f"select count(*) as n from {TABLE}")
    assert rows == [{"n": len(lake.records)}]


def test_counts_and_sums_per_product_equal_python(data_dir, lake):
    run(data_dir, "crawl")
    rows, _ = query(data_dir, f"select product_name, count(*) as n, sum(quantity) as q, "
                              f"sum(price) as p from {TABLE} group by product_name "
                              f"order by product_name")
    want = {}
    for r in lake.records:
        w = want.setdefault(r["product_name"], [0, 0, 0.0])
        w[0] += 1
        w[1] += r["quantity"]
        w[2] += r["price"]
    assert [row["product_name"] for row in rows] == sorted(want)
    for row in rows:
        n, q, p = want[row["product_name"]]
        assert row["n"] == n and row["q"] == q
        assert row["p"] == pytest.approx(p, rel=1e-12)


CURRENT_STATE = """
SELECT orderid, product_name, quantity, price FROM (
  SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY sequence_number DESC) AS rn
  FROM sales_db.kinesis_firehose_destination_yb)
WHERE rn = 1 AND cdc_event_type <> 'REMOVE'
ORDER BY CAST(orderid AS bigint)
"""


def test_current_state_query_rebuilds_the_table(data_dir, lake):
    run(data_dir, "crawl")
    rows, _ = query(data_dir, CURRENT_STATE)
    state = {}
    for r in sorted(lake.records, key=lambda r: r["sequence_number"]):
        if r["cdc_event_type"] == "REMOVE":
            state.pop(r["orderid"], None)
        else:
            state[r["orderid"]] = r
    want = [{"orderid": k, "product_name": v["product_name"], "quantity": v["quantity"],
             "price": v["price"]} for k, v in sorted(state.items(), key=lambda kv: int(kv[0]))]
    assert rows == want
    assert 0 < len(rows) < 40


def test_one_hour_query_opens_only_that_hours_objects(data_dir, lake):
    run(data_dir, "crawl")
    rows, stats = query(data_dir, f"select count(*) as n from {TABLE} where partition_3 = '15'",
                        "--stats")
    assert rows == [{"n": 75}]
    assert "partitions scanned: 1, objects opened: 3" in stats
    rows, stats = query(data_dir, f"select count(*) as n from {TABLE} "
                                  f"where partition_3 in ('13', '14') and partition_0 = '2026'",
                        "--stats")
    assert rows == [{"n": 100}]
    assert "objects opened: 4" in stats
    _, stats = query(data_dir, f"select count(*) as n from {TABLE}", "--stats")
    assert "objects opened: 7" in stats


def test_presto_functions_and_formats(data_dir, lake):
    run(data_dir, "crawl")
    rows, _ = query(data_dir, f"select date_trunc('hour', from_iso8601_timestamp(creation_datetime)) as h, "
                              f"approx_distinct(orderid) as d, count(*) as n from {TABLE} "
                              f"group by 1 order by 1")
    assert [r["h"] for r in rows] == [f"2026-11-26 {h}:00:00.000 UTC" for h in (13, 14, 15)]
    for r, h in zip(rows, (13, 14, 15)):
        hour = [x for x in lake.records if x["creation_datetime"][11:13] == str(h)]
        assert r["n"] == len(hour) and r["d"] == len({x["orderid"] for x in hour})
    out = run(data_dir, "query", f"select product_name, cast(quantity as varchar) as q from {TABLE} "
                                 f"where partition_3 = '13' limit 2", "--format", "csv")
    lines = out.stdout.decode().split("\r\n")
    assert lines[0] == "product_name,q" and len(lines) == 4
    out = run(data_dir, "query", "select 1 as one", "--format", "table")
    assert out.stdout.decode().splitlines()[0].strip() == "one"


def test_bad_sql_names_problem_and_position(data_dir, lake):
    run(data_dir, "crawl")
    out = run(data_dir, "query", f"select nosuch from {TABLE}", check=False)
    assert out.returncode == 1
    assert "line 1:8: no such column: nosuch" in out.stderr.decode()
    out = run(data_dir, "query", "select *\nform x", check=False)
    assert out.returncode == 1 and "line 2:1:" in out.stderr.decode()
    out = run(data_dir, "query", f"delete from {TABLE}", check=False)
    assert out.returncode == 1


def test_table_without_objects_returns_zero_rows(data_dir, lake):
    run(data_dir, "crawl")
    for keys in lake.keys.values():
        for k in keys:
            os.remove(os.path.join(lake.root, k))
    rows, _ = query(data_dir, f"select count(*) as n from {TABLE}")
    assert rows == [{"n": 0}]
    rows, _ = query(data_dir, f"select * from {TABLE}")
    assert rows == []
