#!/usr/bin/env python3
"""query: the README/demo sample queries (src/cli/cmd_demo.c) over 1 000 000 CDC rows in the
lake, salespipe (`salespipe query`, Athena-style SQL through the crawled catalog) vs DuckDB
(@duckdb/node-api) reading the same objects in place; plus a one-hour partition filter.

The lake is written here exactly as delivery writes it: dynamodb-cdc lines in objects at
YYYY/MM/DD/HH/sales-delivery-stream-1-YYYY-MM-DD-HH-MM-SS-<uuid>, 24 hours of changes of
orders 1..10000 (inserts, modifications, removals). The crawl runs once before (timed apart).
salespipe is timed per query as the whole `salespipe query` process; DuckDB per query inside
one node process (its start and view creation not counted). Both sides get 2 threads' worth of
machine; DuckDB is told threads=2. The answers are compared."""
import json
import os
import random
import subprocess
import tempfile
import time
import uuid

from benchlib import BIN, ROOT, emit

ROWS = int(os.environ.get("BENCH_QUERY_ROWS", "1000000"))
HOURS = 24
OBJECTS_PER_HOUR = 10
BUCKET = "kinesis-firehose-destination-yb"
TABLE = "sales_db.kinesis_firehose_destination_yb"
DAY = (2026, 11, 25)
FILTER_HOUR = 5

CURRENT = ("WITH current AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY orderid "
           "ORDER BY sequence_number DESC) AS rn FROM {t}) "
           "WHERE rn = 1 AND cdc_event_type <> 'REMOVE') ")
QUERIES = {
    "orders_per_product": CURRENT + "SELECT product_name, count(*) AS orders FROM current "
                                    "GROUP BY product_name ORDER BY product_name",
    "revenue_per_product": CURRENT + "SELECT product_name, round(sum(price * quantity), 2) AS "
                                     "revenue FROM current GROUP BY product_name "
                                     "ORDER BY revenue DESC",
    "events_per_type": "SELECT cdc_event_type, count(*) AS events FROM {t} "
                       "GROUP BY cdc_event_type ORDER BY cdc_event_type",
    "first_5_orders": CURRENT + "SELECT orderid, product_name, quantity, price FROM current "
                                "ORDER BY CAST(orderid AS bigint) LIMIT 5",
}
# The one-hour filter: the partition columns for salespipe, the object path for DuckDB.
HOUR_SQL = ("SELECT product_name, count(*) AS events, round(sum(price * quantity), 2) AS revenue "
            "FROM {t} WHERE {f} GROUP BY product_name ORDER BY product_name")
HOUR_OURS = (f"partition_0 = '{DAY[0]:04d}' AND partition_1 = '{DAY[1]:02d}' AND "
             f"partition_2 = '{DAY[2]:02d}' AND partition_3 = '{FILTER_HOUR:02d}'")
HOUR_DUCK = f"filename LIKE '%/{DAY[0]:04d}/{DAY[1]:02d}/{DAY[2]:02d}/{FILTER_HOUR:02d}/%'"


def write_lake(root):
    rng = random.Random(6)
    products = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
    live = set()
    seq = 0
    per_obj = ROWS // (HOURS * OBJECTS_PER_HOUR)
    for h in range(HOURS):
        d = os.path.join(root, f"{DAY[0]:04d}", f"{DAY[1]:02d}", f"{DAY[2]:02d}", f"{h:02d}")
        os.makedirs(d, exist_ok=True)
        for o in range(OBJECTS_PER_HOUR):
            n = per_obj if (h, o) != (HOURS - 1, OBJECTS_PER_HOUR - 1) else \
                ROWS - per_obj * (HOURS * OBJECTS_PER_HOUR - 1)
            lines = []
            minute = o * 60 // OBJECTS_PER_HOUR
            when = f"{DAY[0]:04d}-{DAY[1]:02d}-{DAY[2]:02d}T{h:02d}:{minute:02d}:00Z"
            for _ in range(n):
                seq += 1
                oid = rng.randint(1, 10000)
                r = rng.random()
                ev = "REMOVE" if r < 0.1 and oid in live else ("MODIFY" if oid in live else "INSERT")
                (live.discard if ev == "REMOVE" else live.add)(oid)
                lines.append('{"orderid":"%d","product_name":"%s","quantity":%d,"price":%.2f,'
                             '"cdc_event_type":"%s","creation_datetime":"%s",'
                             '"sequence_number":"%021d"}\n'
                             % (oid, rng.choice(products), rng.randint(1, 5),
                                rng.randint(1000, 50000) / 100, ev, when, seq))
            name = (f"sales-delivery-stream-1-{DAY[0]:04d}-{DAY[1]:02d}-{DAY[2]:02d}-{h:02d}-"
                    f"{minute:02d}-00-{uuid.UUID(int=rng.getrandbits(128))}")
            with open(os.path.join(d, name), "w") as f:
                f.writelines(lines)


def ours(data, sql):
    t0 = time.perf_counter()
    out = subprocess.run([BIN, "query", sql, "--format", "csv", "--data-dir", data],
                         capture_output=True, text=True, check=True)
    return (time.perf_counter() - t0) * 1000, out.stdout.strip().splitlines()[1:]


def duck(root, sqls):
    out = subprocess.run(["node", os.path.join(ROOT, "bench", "duckdb_query.mjs"), root, "2"],
                         input=json.dumps(sqls), capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def same(our_rows, duck_rows):
    """Our csv lines vs DuckDB's row objects, compared as text with numbers normalised."""
    def norm(v):
        try:
            return repr(round(float(v), 2))
        except (TypeError, ValueError):
            return str(v).strip('"')
    theirs = [[norm(v) for v in r.values()] for r in duck_rows]
    mine = [[norm(v) for v in line.split(",")] for line in our_rows]
    return mine == theirs


def main():
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        root = os.path.join(data, "lake", BUCKET)
        write_lake(root)
        t0 = time.perf_counter()
        subprocess.run([BIN, "crawl", "--data-dir", data], capture_output=True, check=True)
        crawl_ms = (time.perf_counter() - t0) * 1000
        names = list(QUERIES) + ["one_hour_filter"]
        our_sql = [QUERIES[n].format(t=TABLE) for n in QUERIES] + \
                  [HOUR_SQL.format(t=TABLE, f=HOUR_OURS)]
        duck_sql = [QUERIES[n].format(t="lake") for n in QUERIES] + \
                   [HOUR_SQL.format(t="lake", f=HOUR_DUCK)]
        mine = [ours(data, q) for q in our_sql]
        theirs = duck(root, duck_sql)
    per = {}
    for n, (ms, rows), dk in zip(names, mine, theirs):
        per[n] = {"ours_ms": round(ms, 1), "duckdb_ms": round(dk["ms"], 1),
                  "same_answer": same(rows, dk["rows"])}
    ours_total = sum(ms for ms, _ in mine[:-1])
    duck_total = sum(dk["ms"] for dk in theirs[:-1])
    # Lower is better here: ratio = our time / DuckDB's (target <= 1.5).
    emit("query", "ms (4 sample queries)", ours_total, "duckdb", duck_total, rows=ROWS,
         objects=HOURS * OBJECTS_PER_HOUR, crawl_ms=round(crawl_ms), queries=per,
         hour_filter_ratio=round(mine[-1][0] / theirs[-1]["ms"], 2))


if __name__ == "__main__":
    main()
