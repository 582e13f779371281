#!/usr/bin/env python3
"""parquet-query: bench/06_query.py's four sample queries (and its one-hour filter) over
1 000 000 CDC rows stored as Parquet: salespipe (`salespipe query` through the crawled
catalog, column scans of the Parquet objects) vs DuckDB (@duckdb/node-api, read_parquet) on
the same files; and salespipe on those Parquet objects vs salespipe on the same rows as JSON
lines (its default path, the crawler's query cache on; also without it).

The rows are 06's (write_cdc_lake: 24 hours of changes of orders 1..10000, 10 objects an
hour). The JSON-lines lake is written as delivery writes it; each of its objects is then
converted to a Parquet object at the same key plus `.parquet` in a second lake, by
build/sp_parquet_tool with what a `format: parquet` delivery stream writes by default (the
dynamodb-cdc columns as the schema, SNAPPY pages, no dictionary, default row group size),
so both lakes hold the same rows in the same partition folders. Each lake is crawled once
(timed apart). salespipe is timed per query as the whole `salespipe query` process; DuckDB
per query inside one node process (its start and view creation not counted), told
threads=2. The answers are compared with DuckDB's. The one-hour filter is also measured in a
running `salespipe serve` through the Athena API, as 06_query.py describes."""
import importlib
import json
import os
import subprocess
import tempfile
import time

from benchlib import BIN, ROOT, emit, write_cdc_lake

q06 = importlib.import_module("06_query")

ROWS = int(os.environ.get("BENCH_PARQUET_QUERY_ROWS", "1000000"))
TOOL = os.environ.get("SALESPIPE_PARQUET_TOOL", os.path.join(ROOT, "build", "sp_parquet_tool"))
HOURS, OBJECTS_PER_HOUR, BUCKET, TABLE, DAY = (q06.HOURS, q06.OBJECTS_PER_HOUR, q06.BUCKET,
                                               q06.TABLE, q06.DAY)
# The dynamodb-cdc columns (src/cli/engine.c CDC_COLUMNS): the schema a `format: parquet`
# stream of the seed's pipeline writes.
SCHEMA = [["orderid", "string"], ["product_name", "string"], ["quantity", "bigint"],
          ["price", "double"], ["cdc_event_type", "string"], ["creation_datetime", "string"],
          ["sequence_number", "string"]]


def to_parquet(json_root, pq_root, schema_path):
    """Every JSON-lines object under json_root as a Parquet object at the same key + .parquet
    under pq_root; returns (objects, Parquet bytes, JSON bytes)."""
    n = pq_bytes = js_bytes = 0
    for dirpath, _, files in os.walk(json_root):
        out_dir = os.path.join(pq_root, os.path.relpath(dirpath, json_root))
        os.makedirs(out_dir, exist_ok=True)
        for f in sorted(files):
            src, dst = os.path.join(dirpath, f), os.path.join(out_dir, f + ".parquet")
            subprocess.run([TOOL, "write", schema_path, src, dst, "SNAPPY"], check=True,
                           capture_output=True)
            n += 1
            pq_bytes += os.path.getsize(dst)
            js_bytes += os.path.getsize(src)
    return n, pq_bytes, js_bytes


def crawl(data):
    t0 = time.perf_counter()
    subprocess.run([BIN, "crawl", "--data-dir", data], capture_output=True, check=True)
    return (time.perf_counter() - t0) * 1000


def run_ours(data, sqls, env=None):
    """q06.ours() per query, with the given environment for the salespipe processes."""
    saved = dict(os.environ)
    if env:
        os.environ.update(env)
    try:
        return [q06.ours(data, q) for q in sqls]
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main():
    if not os.path.exists(TOOL):
        raise SystemExit(f"{TOOL} is not built")
    with tempfile.TemporaryDirectory() as d:
        js_data, pq_data = os.path.join(d, "json"), os.path.join(d, "parquet")
        js_root = os.path.join(js_data, "lake", BUCKET)
        pq_root = os.path.join(pq_data, "lake", BUCKET)
        schema = os.path.join(d, "schema.json")
        with open(schema, "w") as f:
            json.dump(SCHEMA, f)
        t0 = time.perf_counter()
        write_cdc_lake(js_root, ROWS, DAY, HOURS, OBJECTS_PER_HOUR)
        objects, pq_bytes, js_bytes = to_parquet(js_root, pq_root, schema)
        gen_s = time.perf_counter() - t0
        crawl_pq_ms, crawl_js_ms = crawl(pq_data), crawl(js_data)

        names = list(q06.QUERIES) + ["one_hour_filter"]
        our_sql = [q06.QUERIES[n].format(t=TABLE) for n in q06.QUERIES] + \
                  [q06.HOUR_SQL.format(t=TABLE, f=q06.HOUR_OURS)]
        duck_sql = [q06.QUERIES[n].format(t="lake") for n in q06.QUERIES] + \
                   [q06.HOUR_SQL.format(t="lake", f=q06.HOUR_DUCK)]
        mine = run_ours(pq_data, our_sql)
        floor_ms = q06.process_floor(pq_data)
        theirs = q06.duck(pq_root, duck_sql, "parquet")
        server_rows, server_fields = q06.hour_filter_fields(pq_data, our_sql[-1],
                                                            theirs[-1]["ms"])
        js_cached = run_ours(js_data, our_sql)
        js_parsed = run_ours(js_data, our_sql, {"SALESPIPE_QUERY_CACHE": "0"})

    def total(runs):
        return sum(ms for ms, _ in runs[:-1])

    per = {}
    for i, n in enumerate(names):
        per[n] = {"ours_ms": round(mine[i][0], 1), "duckdb_ms": round(theirs[i]["ms"], 1),
                  "ours_json_ms": round(js_cached[i][0], 1),
                  "ours_json_no_cache_ms": round(js_parsed[i][0], 1),
                  "same_answer": q06.same(mine[i][1], theirs[i]["rows"]),
                  "same_answer_json": mine[i][1] == js_cached[i][1] == js_parsed[i][1]}
    per["one_hour_filter"]["same_answer_in_server"] = q06.same(server_rows, theirs[-1]["rows"])
    ours_total, duck_total = total(mine), sum(t["ms"] for t in theirs[:-1])
    common = dict(rows=ROWS, objects=objects, parquet_bytes=pq_bytes, json_bytes=js_bytes,
                  generate_s=round(gen_s, 1), crawl_parquet_ms=round(crawl_pq_ms),
                  crawl_json_ms=round(crawl_js_ms), durability="n/a")  # reads lake + catalog
    # Lower is better: ratio = our time on Parquet / DuckDB's on the same files (issue 15's
    # target: <= 1.0). process_floor_ms: see 06_query.py.
    emit("parquet-query", "ms (4 sample queries)", ours_total, "duckdb-parquet", duck_total,
         hour_filter_ratio=round(mine[-1][0] / theirs[-1]["ms"], 2),
         process_floor_ms=round(floor_ms, 1), queries=per, **server_fields, **common)
    # Lower is better: ratio = our time on Parquet / ours on JSON lines (target <= 0.2, 5x).
    emit("parquet-vs-json-query", "ms (4 sample queries)", ours_total,
         "self: salespipe-json-lines (query cache on)", total(js_cached),
         comparison="self: salespipe querying the same rows stored as JSON lines",
         json_no_cache_ms=round(total(js_parsed), 1),
         ratio_vs_no_cache=round(ours_total / total(js_parsed), 2),
         speedup=round(total(js_cached) / ours_total, 2),
         speedup_vs_no_cache=round(total(js_parsed) / ours_total, 2), **common)


if __name__ == "__main__":
    main()
