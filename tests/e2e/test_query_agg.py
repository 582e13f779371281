"""Aggregates inside the scan (src/query/qry_agg.c, the lake table's aggregate mode) end to
end: every GROUP BY statement answers exactly what SQLite answers row by row
(SALESPIPE_QUERY_AGG=0), from the query cache and parsing the objects, over hostile data
(NULL and missing fields, strings and reals in a bigint column, a string in a double column,
an empty object, a column that only some objects have); the accepted shapes run in the
aggregate mode and the others are left to SQLite; an integer sum that overflows fails as it
does in SQLite."""
import json
import os
import random
import re
import subprocess

import pytest

from conftest import BIN

from test_catalog_query import BUCKET, TABLE, run

AGG_SPEC = re.compile(r"g=[\d,]+;a=[^;]+;w=[\d,]*")

ACCEPTED = [
    f"SELECT cdc_event_type, count(*) AS events FROM {TABLE} GROUP BY cdc_event_type "
    f"ORDER BY cdc_event_type",
    f"SELECT product_name, count(*) AS events, round(sum(price * quantity), 2) AS revenue "
    f"FROM {TABLE} WHERE partition_0 = '2026' AND partition_3 = '14' GROUP BY product_name "
    f"ORDER BY product_name",
    # unaliased aggregates, NULL keys, count(col) over NULLs, sums over mixed values
    f"SELECT orderid, count(*), count(price), sum(quantity), sum(price) FROM {TABLE} "
    f"GROUP BY orderid ORDER BY orderid",
    f"SELECT t.product_name, t.cdc_event_type, sum(t.quantity * t.price) AS s, "
    f"count(t.quantity) AS q FROM {TABLE} AS t GROUP BY t.product_name, t.cdc_event_type "
    f"ORDER BY s DESC LIMIT 7",
    f"SELECT partition_3, count(*) AS n, sum(quantity) AS q FROM {TABLE} "
    f"GROUP BY partition_3 ORDER BY partition_3",
    f"SELECT product_name, count(*) AS n FROM {TABLE} WHERE partition_3 IN ('13', '15', "
    f"'16') GROUP BY product_name HAVING count(*) > 2 ORDER BY n DESC, product_name",
    # the WHERE needs the rows: every row is a group of one
    f"SELECT product_name, count(*) AS n, sum(price * quantity) AS s FROM {TABLE} "
    f"WHERE quantity > 2 GROUP BY product_name ORDER BY product_name",
    f"SELECT cdc_event_type, coalesce(sum(price), 0) AS p, abs(sum(quantity)) AS q "
    f"FROM {TABLE} WHERE price IS NULL OR partition_3 = '15' GROUP BY cdc_event_type "
    f"ORDER BY cdc_event_type",
    # a group that only some objects have values for, an empty input
    f"SELECT extra, count(*) AS n, sum(quantity) AS q FROM {TABLE} GROUP BY extra "
    f"ORDER BY extra",
    f"SELECT product_name, count(*) AS n FROM {TABLE} WHERE partition_3 = '99' "
    f"GROUP BY product_name",
]
REFUSED = [
    f"SELECT cdc_event_type, count(*) FROM {TABLE} GROUP BY 1 ORDER BY 1",
    f"SELECT product_name, avg(price) AS a FROM {TABLE} GROUP BY product_name "
    f"ORDER BY product_name",
    f"SELECT product_name, count(DISTINCT orderid) AS a FROM {TABLE} GROUP BY product_name "
    f"ORDER BY product_name",
    f"SELECT product_name, price, count(*) AS a FROM {TABLE} GROUP BY product_name "
    f"ORDER BY product_name",
    f"SELECT product_name, sum(orderid) AS a FROM {TABLE} GROUP BY product_name "
    f"ORDER BY product_name",
    f"SELECT product_name, count(*) AS a FROM {TABLE} WHERE length(orderid) > 1 "
    f"GROUP BY product_name ORDER BY product_name",
    f"SELECT lower(product_name) AS p, count(*) AS a FROM {TABLE} GROUP BY lower(product_name) "
    f"ORDER BY p",
    f"SELECT product_name, count(*) AS a FROM (SELECT * FROM {TABLE}) GROUP BY product_name "
    f"ORDER BY product_name",
]


def query(data_dir, sql, agg=True, cache=True, check=True, groups=None):
    env = dict(os.environ)
    if groups:
        env["SALESPIPE_QUERY_AGG_GROUPS"] = str(groups)
    env["SALESPIPE_QUERY_AGG"] = "1" if agg else "0"
    env["SALESPIPE_QUERY_CACHE"] = "1" if cache else "0"
    out = subprocess.run([BIN, "query", sql, "--format", "json", "--data-dir", data_dir],
                         capture_output=True, timeout=300, env=env)
    if not check:
        return out
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout)


def write(root, key, records, raw=None):
    path = os.path.join(root, key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(raw if raw is not None else "".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def lake(data_dir):
    root = os.path.join(data_dir, "lake", BUCKET)
    rng = random.Random(11)
    seq = 0
    for hour in (13, 14, 15):
        for i in range(3):
            recs = []
            for _ in range(40):
                seq += 1
                # prices in quarters: every sum is exact whatever the order of addition
                recs.append({"orderid": str(rng.randint(1, 12)),
                             "product_name": rng.choice(["Laptop", "Phone", "Tablet"]),
                             "quantity": rng.randint(1, 5), "price": rng.randint(40, 2000) / 4,
                             "cdc_event_type": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                             "sequence_number": f"{seq:021d}"})
            if hour == 15 and i == 1:
                for r in recs[:5]:
                    r["extra"] = rng.choice(["a", "b"])
                recs[6]["huge"] = 1
            write(root, f"2026/11/26/{hour:02d}/s-1-2026-11-26-{hour:02d}-{i:02d}-00-x", recs)
    odd = [
        {"orderid": "3", "product_name": "Phone", "quantity": "3", "price": 10.5,
         "cdc_event_type": "MODIFY"},                       # a numeric string in bigint
        {"orderid": "3", "product_name": "Phone", "quantity": 2.5, "price": "abc",
         "cdc_event_type": "MODIFY"},                       # a real in bigint, text in double
        {"product_name": "Laptop", "quantity": None, "price": 1.25, "cdc_event_type": "INSERT"},
        {"orderid": None, "product_name": None, "cdc_event_type": "REMOVE"},
        {"orderid": "4", "quantity": "x", "price": None, "cdc_event_type": "INSERT",
         "extra": "a"},
        "not an object",
    ]
    # after the crawl, so the catalog keeps quantity bigint and price double: objects it has
    # not seen are parsed at query time with those types
    run(data_dir, "crawl")
    write(root, "2026/11/26/15/s-1-2026-11-26-15-50-00-odd", None,
          raw="".join(json.dumps(r) + "\n" for r in odd))
    write(root, "2026/11/26/15/s-1-2026-11-26-15-55-00-empty", [], raw="")
    return root


@pytest.mark.parametrize("cache", [True, False])
def test_aggregates_in_the_scan_answer_as_sqlite_row_by_row(data_dir, lake, cache):
    for sql in ACCEPTED + REFUSED:
        fast = query(data_dir, sql, agg=True, cache=cache)
        slow = query(data_dir, sql, agg=False, cache=cache)
        assert fast == slow, sql
    assert query(data_dir, ACCEPTED[0])  # not everything empty


def test_accepted_shapes_run_in_the_aggregate_mode_and_others_do_not(data_dir, lake):
    """The plan hands the aggregate spec to the lake table's xFilter (EXPLAIN shows it as a
    string operand) exactly for the accepted shapes."""
    def has_spec(sql, agg=True):
        plan = query(data_dir, "EXPLAIN " + sql, agg=agg)
        return any(AGG_SPEC.fullmatch(str(r.get("p4"))) for r in plan)
    for sql in ACCEPTED:
        assert has_spec(sql), sql
        assert not has_spec(sql, agg=False), sql
    for sql in REFUSED:
        assert not has_spec(sql), sql


def test_unaliased_aggregates_keep_their_names(data_dir, lake):
    sql = ACCEPTED[2]
    fast = query(data_dir, sql)
    slow = query(data_dir, sql, agg=False)
    assert list(fast[0]) == list(slow[0])


def test_an_integer_sum_that_overflows_fails_in_both(data_dir, lake):
    big = [{"orderid": "9", "product_name": "Phone", "quantity": 1, "huge": 2 ** 63 - 1,
            "cdc_event_type": "INSERT"}] * 2
    write(lake, "2026/11/26/13/s-1-2026-11-26-13-50-00-big", big)
    sql = f"SELECT product_name, sum(huge) AS h FROM {TABLE} GROUP BY product_name"
    for agg in (True, False):
        out = query(data_dir, sql, agg=agg, check=False)
        assert out.returncode != 0, agg
        assert "integer overflow" in out.stderr.decode(), out.stderr.decode()


def test_an_or_of_partition_tests_is_answered_by_one_aggregate_scan(data_dir, lake):
    """A WHERE that SQLite could answer as a MULTI-INDEX OR (one scan per branch) runs as one
    scan that gets the aggregate spec: the branches would not get it."""
    sql = (f"SELECT product_name, count(*) AS n, sum(quantity) AS q FROM {TABLE} "
           f"WHERE partition_3 IN ('13', '99') OR partition_3 > '14' GROUP BY product_name "
           f"ORDER BY product_name")
    same = sql.replace("partition_3 IN ('13', '99') OR partition_3 > '14'",
                       "partition_3 <> '14'")
    assert query(data_dir, sql) == query(data_dir, same, agg=False)



PQ_SCHEMA = [["orderid", "string"], ["product_name", "string"], ["quantity", "bigint"],
             ["price", "double"], ["cdc_event_type", "string"], ["sequence_number", "string"],
             ["extra", "string"]]


def test_aggregates_over_parquet_answer_as_sqlite_row_by_row(data_dir, tmp_path):
    """The same over Parquet objects (typed columns, NULLs, an object without rows)."""
    from test_parquet_catalog_query import TOOL
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(PQ_SCHEMA))
    root = os.path.join(data_dir, "lake", BUCKET)
    rng = random.Random(12)
    for hour in (13, 14, 15):
        for i in range(2):
            recs = []
            for n in range(30 if (hour, i) != (15, 1) else 0):
                rec = {"orderid": str(rng.randint(1, 9)),
                       "product_name": rng.choice(["Laptop", "Phone", None]),
                       "quantity": rng.choice([1, 2, 3, None]),
                       "price": rng.choice([0.25, 1.5, 10.75, None]),
                       "cdc_event_type": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                       "sequence_number": f"{hour}{i}{n:05d}"}
                if n % 7 == 0:
                    rec["extra"] = rng.choice(["a", "b"])
                recs.append({k: v for k, v in rec.items() if v is not None})
            src = tmp_path / f"{hour}-{i}.json"
            src.write_text("".join(json.dumps(r) + "\n" for r in recs))
            dst = os.path.join(root, f"2026/11/26/{hour:02d}/s-1-2026-11-26-{hour:02d}-{i:02d}-"
                                     f"00-x.parquet")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            subprocess.run([TOOL, "write", str(schema), str(src), dst, "SNAPPY"], check=True,
                           capture_output=True)
    run(data_dir, "crawl")
    for sql in ACCEPTED + REFUSED:
        fast = query(data_dir, sql)
        assert fast == query(data_dir, sql, agg=False), sql
    assert query(data_dir, ACCEPTED[0])


def test_groups_handed_over_in_several_rounds_merge_to_the_same_answer(data_dir, lake):
    """Past its group limit (lowered here to 2) the scan hands its groups to SQLite and starts
    afresh: a group comes out several times and SQLite merges its partials."""
    for sql in ACCEPTED:
        assert query(data_dir, sql, groups=2) == query(data_dir, sql, agg=False), sql


def test_an_or_of_partition_tests_loses_no_rows_without_group_by_either(data_dir, lake):
    """Without the aggregate mode too: an OR that SQLite could run as one scan per branch
    (rows told apart by rowid, which counts rows within a scan) keeps every row."""
    sql = (f"SELECT count(*) AS n FROM {TABLE} "
           f"WHERE partition_3 IN ('13', '99') OR partition_3 > '14'")
    same = sql.replace("partition_3 IN ('13', '99') OR partition_3 > '14'",
                       "partition_3 <> '14'")
    want = query(data_dir, same, agg=False)
    assert want[0]["n"] not in (0, "0")
    for agg in (True, False):
        assert query(data_dir, sql, agg=agg) == want
