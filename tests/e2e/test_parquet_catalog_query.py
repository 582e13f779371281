"""Parquet objects crawled and queried as columns (issue 16): seed-shaped records written as
Parquet in the Firehose layout are classified from their footers (Glue types from the Parquet
types, timestamp/decimal/nested included; SerDe and formats as a Glue crawler records for
Parquet; `salespipe ddl` prints STORED AS PARQUET), and `salespipe query` answers over them
what Python computes, with partitions pruned as for JSON; a damaged column chunk is an
error of a query that reads it, not a crash, and invisible to one that does not."""
import json
import os
import random
import subprocess

import pytest

from conftest import BIN, SOURCE

TOOL = os.environ.get("SALESPIPE_PARQUET_TOOL", os.path.join(SOURCE, "build", "sp_parquet_tool"))
BUCKET = "kinesis-firehose-destination-yb"
TABLE = "sales_db.kinesis_firehose_destination_yb"
SCHEMA = [["orderid", "string"], ["product_name", "string"], ["quantity", "bigint"],
          ["price", "double"], ["cdc_event_type", "string"], ["creation_datetime", "string"],
          ["sequence_number", "string"], ["ordered_at", "timestamp"],
          ["amount", "decimal(10,2)"], ["meta", "struct<src:string,tags:array<string>>"],
          ["small", "smallint"], ["ratio", "float"]]


def run(data_dir, *args, check=True):
    out = subprocess.run([BIN] + list(args) + ["--data-dir", data_dir], capture_output=True,
                         timeout=300)
    if check:
        assert out.returncode == 0, f"{args} exited {out.returncode}: {out.stderr.decode()}"
    return out


def query(data_dir, sql):
    return json.loads(run(data_dir, "query", sql, "--format", "json").stdout)


def write_lake(data_dir, tmp_path):
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")
    rng = random.Random(5)
    root = os.path.join(data_dir, "lake", BUCKET)
    records, seq = [], 0
    for hour in (10, 11):
        for i in range(2):
            rows = []
            for _ in range(40):
                seq += 1
                rows.append({"orderid": str(rng.randint(1, 30)),
                             "product_name": rng.choice(["Laptop", "Phone", "Tablet"]),
                             "quantity": rng.randint(1, 5),
                             "price": round(rng.uniform(10, 500), 2),
                             "cdc_event_type": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                             "creation_datetime": f"2026-11-26T{hour:02d}:{i:02d}:05Z",
                             "sequence_number": f"{seq:021d}",
                             "ordered_at": f"2026-11-26 {hour:02d}:{i:02d}:05.125",
                             "amount": f"{rng.randint(0, 99999)}.{rng.randint(0, 99):02d}",
                             "meta": {"src": "gen", "tags": ["a", str(hour)]},
                             "small": rng.randint(-300, 300), "ratio": 0.5})
            records += rows
            d = os.path.join(root, "2026", "11", "26", f"{hour:02d}")
            os.makedirs(d, exist_ok=True)
            (tmp_path / "s.json").write_text(json.dumps(SCHEMA))
            (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            out = os.path.join(d, f"sales-delivery-stream-1-2026-11-26-{hour:02d}-0{i}-00-"
                                  f"00000000-0000-4000-8000-00000000000{i}.parquet")
            subprocess.run([TOOL, "write", str(tmp_path / "s.json"), str(tmp_path / "r.jsonl"),
                            out, "SNAPPY", "dict", "block=3000"], check=True, timeout=60)
    return records


def test_parquet_objects_are_crawled_from_footers_and_queried(data_dir, tmp_path):
    records = write_lake(data_dir, tmp_path)
    run(data_dir, "crawl")
    ddl = run(data_dir, "ddl").stdout.decode()
    assert "STORED AS PARQUET" in ddl
    for name, ty in SCHEMA:
        assert f"`{name}` {ty}" in ddl, (name, ty, ddl)
    assert "PARTITIONED BY" in ddl and "`partition_3` string" in ddl

    rows = query(data_dir, f"SELECT count(*) AS n FROM {TABLE}")
    assert rows == [{"n": len(records)}]
    rows = query(data_dir, f"SELECT product_name, sum(quantity) AS q, round(sum(price), 2) AS p"
                           f" FROM {TABLE} GROUP BY product_name ORDER BY product_name")
    want = {}
    for r in records:
        q, p = want.get(r["product_name"], (0, 0.0))
        want[r["product_name"]] = (q + r["quantity"], p + r["price"])
    assert [(r["product_name"], r["q"], r["p"]) for r in rows] == \
        [(k, v[0], round(v[1], 2)) for k, v in sorted(want.items())]
    # typed columns come back as their values
    rows = query(data_dir, f"SELECT sequence_number, ordered_at, amount FROM {TABLE}"
                           f" WHERE sequence_number = '{1:021d}'")
    assert rows == [{"sequence_number": f"{1:021d}", "ordered_at": records[0]["ordered_at"],
                     "amount": records[0]["amount"]}]
    # row groups whose statistics exclude the filter are skipped (and the answer is the same)
    out = run(data_dir, "query", f"SELECT orderid FROM {TABLE} WHERE sequence_number = "
                                 f"'{77:021d}'", "--format", "json", "--stats")
    assert json.loads(out.stdout) == [{"orderid": records[76]["orderid"]}]
    stats = out.stderr.decode()
    read = int(stats.split("row groups read: ")[1].split(",")[0])
    skipped = int(stats.split("row groups skipped: ")[1].split()[0])
    assert read == 1 and skipped >= 3, stats
    out = run(data_dir, "query", f"SELECT count(*) AS n FROM {TABLE} WHERE quantity >= 1 AND"
                                 f" sequence_number > '{150:021d}'", "--format", "json", "--stats")
    assert json.loads(out.stdout) == [{"n": 10}]
    assert int(out.stderr.decode().split("row groups skipped: ")[1].split()[0]) > 0
    # Parquet's smaller numbers are numbers in SQL, not text
    rows = query(data_dir, f"SELECT sum(small) AS s, sum(ratio) AS r FROM {TABLE}")
    assert rows == [{"s": sum(r["small"] for r in records), "r": 0.5 * len(records)}]
    # partitions pruned as for JSON: only hour 11 is read
    rows = query(data_dir, f"SELECT count(*) AS n FROM {TABLE} WHERE partition_3 = '11'")
    assert rows == [{"n": 80}]


def test_damaged_parquet_object_is_a_query_error(data_dir, tmp_path):
    write_lake(data_dir, tmp_path)
    run(data_dir, "crawl")
    root = os.path.join(data_dir, "lake", BUCKET, "2026", "11", "26", "10")
    victim = os.path.join(root, sorted(os.listdir(root))[0])
    data = bytearray(open(victim, "rb").read())
    for i in range(8, 200):
        data[i] ^= 0x5a   # the first pages, footer left intact
    open(victim, "wb").write(bytes(data))
    out = run(data_dir, "query", f"SELECT max(orderid) FROM {TABLE}", check=False)
    assert out.returncode != 0
    assert b"Parquet" in out.stderr or b"parquet" in out.stderr
    # a query that does not use the damaged column never decodes it: only the columns a
    # query needs are read
    assert query(data_dir, f"SELECT count(quantity) AS n FROM {TABLE}") == [{"n": 160}]
