"""Projection inside window subqueries (src/query/qry_project.c) end to end: the narrowed
statements answer exactly what the statements as written answer (SALESPIPE_QUERY_PROJECT=0),
row for row and in the same order, including window functions over ties, where only the
order rows reach the window's sorter decides which row is first; from the query cache and
parsing the objects; and the latest-per-key sample query agrees with Python."""
import json
import os
import subprocess

import pytest

from conftest import BIN

from test_catalog_query import TABLE, Lake, run

CURRENT = ("WITH current AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY orderid "
           f"ORDER BY sequence_number DESC) AS rn FROM {TABLE}) "
           "WHERE rn = 1 AND cdc_event_type <> 'REMOVE') ")
QUERIES = [
    CURRENT + "SELECT product_name, count(*) AS orders FROM current GROUP BY product_name "
              "ORDER BY product_name",
    CURRENT + "SELECT product_name, round(sum(price * quantity), 2) AS revenue FROM current "
              "GROUP BY product_name ORDER BY revenue DESC",
    CURRENT + "SELECT orderid, product_name, quantity, price FROM current "
              "ORDER BY CAST(orderid AS bigint) LIMIT 5",
    # ties: many rows share an hour; which one is first is decided by scan order alone
    f"SELECT product_name, orderid, sequence_number FROM (SELECT *, row_number() OVER "
    f"(PARTITION BY product_name ORDER BY partition_3 DESC) AS rn FROM {TABLE}) s "
    f"WHERE s.rn <= 3 ORDER BY product_name, rn",
    f"SELECT x.orderid, x.r, x.c FROM (SELECT *, rank() OVER (ORDER BY quantity) AS r, "
    f"count(*) OVER (PARTITION BY \"PARTITION_3\") AS c FROM {TABLE} AS x "
    f"WHERE partition_3 <> '15') x ORDER BY x.r, x.orderid, x.c LIMIT 20",
    f"SELECT count(*) AS n FROM (SELECT *, lag(price) OVER (ORDER BY sequence_number) AS p "
    f"FROM {TABLE}) t WHERE p IS NOT NULL",
    # left as written (a wildcard reaches the result), must still work
    f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY orderid ORDER BY "
    f"sequence_number DESC) AS rn FROM {TABLE}) WHERE rn = 1 ORDER BY sequence_number",
]


def query(data_dir, sql, project, cache=True):
    env = dict(os.environ)
    env["SALESPIPE_QUERY_PROJECT"] = "1" if project else "0"
    env["SALESPIPE_QUERY_CACHE"] = "1" if cache else "0"
    out = subprocess.run([BIN, "query", sql, "--format", "json", "--data-dir", data_dir],
                         capture_output=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


@pytest.fixture
def lake(data_dir):
    lk = Lake(data_dir, seed=5)
    for hour in (13, 14, 15):
        lk.write_hour(hour, n_objects=3, per_object=40, gz=hour == 14)
    run(data_dir, "crawl")
    return lk


@pytest.mark.parametrize("cache", [True, False])
def test_narrowed_statements_answer_as_written(data_dir, lake, cache):
    for sql in QUERIES:
        narrowed = query(data_dir, sql, project=True, cache=cache)
        as_written = query(data_dir, sql, project=False, cache=cache)
        assert narrowed == as_written, sql
        assert narrowed, sql


def test_latest_per_key_matches_python(data_dir, lake):
    latest = {}
    for r in lake.records:
        latest[r["orderid"]] = r
    want = {}
    for r in latest.values():
        if r["cdc_event_type"] != "REMOVE":
            want[r["product_name"]] = want.get(r["product_name"], 0) + 1
    rows = query(data_dir, QUERIES[0], project=True)
    got = {r["product_name"]: int(r["orders"]) for r in rows}
    assert got == want


def test_errors_still_point_at_the_callers_text(data_dir, lake):
    sql = QUERIES[0].replace("GROUP BY product_name ORDER", "GROUP BY no_such_col ORDER")
    env = dict(os.environ)
    out = subprocess.run([BIN, "query", sql, "--data-dir", data_dir], capture_output=True,
                         timeout=300, env=env)
    assert out.returncode != 0
    col = sql.index("no_such_col") + 1
    assert f"line 1:{col}:" in out.stderr.decode()
