"""The query cache end to end: a crawl stores every object's records in <data>/catalog/cache.db;
a query afterwards serves unchanged objects from it (`--stats` counts objects from cache) and
answers exactly what parsing every object answers; an object modified or added after the
crawl is parsed, not served stale; a recrawl keeps unchanged objects' entries and drops the
entries of deleted objects."""
import json
import os
import sqlite3
import subprocess

from conftest import BIN

from test_catalog_query import TABLE, Lake, run

QUERIES = [
    f"select product_name, count(*) as n, sum(quantity) as q, round(sum(price * quantity), 2) as v"
    f" from {TABLE} group by product_name order by product_name",
    f"select orderid, cdc_event_type, creation_datetime, sequence_number, price, quantity,"
    f" partition_3 from {TABLE} order by sequence_number",
    f"select cast(price as varchar) as p, cast(quantity as varchar) as qv from {TABLE}"
    f" where partition_3 = '14' order by sequence_number",
]


def query(data_dir, sql, cache=True):
    env = dict(os.environ)
    env["SALESPIPE_QUERY_CACHE"] = "1" if cache else "0"
    out = subprocess.run([BIN, "query", sql, "--format", "json", "--stats", "--data-dir", data_dir],
                         capture_output=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr.decode()
    stats = out.stderr.decode()
    opened = int(stats.split("objects opened: ")[1].split(",")[0])
    cached = int(stats.split("objects from cache: ")[1].split(",")[0])
    return json.loads(out.stdout), opened, cached


def make_lake(data_dir):
    lake = Lake(data_dir, seed=11)
    for hour in (13, 14, 15):
        lake.write_hour(hour, n_objects=2, per_object=30, gz=hour == 14)
    return lake


def test_query_after_crawl_reads_from_the_cache(data_dir):
    make_lake(data_dir)
    run(data_dir, "crawl")
    assert os.path.exists(os.path.join(data_dir, "catalog", "cache.db"))
    for sql in QUERIES:
        rows, opened, cached = query(data_dir, sql)
        want, opened_parsed, cached_parsed = query(data_dir, sql, cache=False)
        assert rows == want and rows
        assert cached == opened and opened > 0
        assert cached_parsed == 0 and opened_parsed == opened
    # pruning still skips whole objects when they come from the cache
    _, opened, cached = query(data_dir, f"select count(*) from {TABLE} where partition_3 = '15'")
    assert opened == 2 and cached == 2


def test_modified_and_new_objects_are_parsed_not_served_stale(data_dir):
    lake = make_lake(data_dir)
    run(data_dir, "crawl")
    # rewrite one object with different records (same path) and add a new one
    key = lake.keys[13][0]
    path = os.path.join(lake.root, key)
    recs = [json.loads(line) for line in open(path)]
    for r in recs:
        r["quantity"] = 1000
        r["product_name"] = "Changed"
    with open(path, "w") as f:
        f.write("\n".join(json.dumps(r) for r in recs) + "\n")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    lake.write_hour(13, n_objects=1, per_object=5)
    for sql in QUERIES:
        rows, opened, cached = query(data_dir, sql)
        want, _, _ = query(data_dir, sql, cache=False)
        assert rows == want
    rows, opened, cached = query(data_dir, QUERIES[0])
    assert {"product_name": "Changed", "n": 30, "q": 30000} == \
        {k: v for k, v in next(r for r in rows if r["product_name"] == "Changed").items()
         if k in ("product_name", "n", "q")}
    assert opened == 7 and cached == 5   # the modified and the new object were parsed


def test_recrawl_keeps_unchanged_entries_and_drops_deleted(data_dir):
    lake = make_lake(data_dir)
    run(data_dir, "crawl")
    db = os.path.join(data_dir, "catalog", "cache.db")

    def entries():
        con = sqlite3.connect(db)
        try:
            return dict(con.execute("select key, id from cache_objects"))
        finally:
            con.close()

    before = entries()
    assert len(before) == 6
    gone = lake.keys[15][0]
    os.remove(os.path.join(lake.root, gone))
    lake.write_hour(16, n_objects=1, per_object=5)
    run(data_dir, "crawl")
    after = entries()
    assert gone not in after
    assert len(after) == 6
    for key, ident in before.items():
        if key != gone:
            assert after[key] == ident     # not rewritten: the recrawl skipped it
    _, opened, cached = query(data_dir, QUERIES[0])
    assert opened == 6 and cached == 6
