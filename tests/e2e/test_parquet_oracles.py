"""The Parquet module against two independent readers and writers (issue 16's oracles):
files salespipe writes (random schemas over every Glue type it maps, nested included, nulls,
empty strings, extreme numbers, unicode; every codec, dictionary and plain, v1 and v2 pages)
are read by DuckDB (@duckdb/node-api) and by hyparquet with the same values; files DuckDB
writes (each compression, flat and nested) and files hyparquet-writer writes are read by
salespipe's reader with the values DuckDB itself reads back. Oracles run from
tools/node_modules (SALESPIPE_ORACLES_DIR overrides); missing ones skip, which fails under
CI=true."""
import datetime
import decimal
import json
import math
import os
import random
import shutil
import struct
import subprocess

import pytest

from conftest import SOURCE

HERE = os.path.dirname(os.path.abspath(__file__))
ORACLES = os.path.join(HERE, "oracles")
TOOL = os.environ.get("SALESPIPE_PARQUET_TOOL",
                      os.path.join(SOURCE, "build", "sp_parquet_tool"))
MODULES = os.environ.get("SALESPIPE_ORACLES_DIR", os.path.join(SOURCE, "tools"))
EPOCH = datetime.datetime(1970, 1, 1)
decimal.getcontext().prec = 80


def need_oracle(package):
    if not shutil.which("node"):
        pytest.skip("node is not installed (scripts/deps.sh)")
    if not os.path.isdir(os.path.join(MODULES, "node_modules", package)):
        pytest.skip(f"npm oracle {package} missing in {MODULES}/node_modules (scripts/deps.sh)")
    if not os.path.exists(TOOL):
        pytest.skip(f"{TOOL} not built")


def node(script, *args, stdin=None):
    env = dict(os.environ, SALESPIPE_ORACLES_DIR=MODULES)
    out = subprocess.run(["node", os.path.join(ORACLES, script), *args], input=stdin,
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else None


def ours_write(tmp_path, schema, rows, out, *opts):
    s, r = tmp_path / "schema.json", tmp_path / "rows.jsonl"
    s.write_text(json.dumps(schema))
    r.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in rows))
    p = subprocess.run([TOOL, "write", str(s), str(r), str(out), *opts], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr


def ours_read(path, *columns):
    p = subprocess.run([TOOL, "read", str(path), *columns], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    return json.loads(lines[0])["columns"], [json.loads(x) for x in lines[1:]]


# ---- Glue types and canonical values ------------------------------------------------------

def parse_type(s):
    """Glue type string to ("kind", params...): ("struct", [(name, t)]), ("array", t),
    ("map", k, v), ("decimal", p, s) or (name,)."""
    pos = 0

    def ty():
        nonlocal pos
        j = pos
        while pos < len(s) and (s[pos].isalnum() or s[pos] == "_"):
            pos += 1
        name = s[j:pos]
        if name == "decimal":
            k = s.index(")", pos)
            p, sc = s[pos + 1:k].split(",")
            pos = k + 1
            return ("decimal", int(p), int(sc))
        if name == "array":
            pos += 1
            t = ty()
            pos += 1
            return ("array", t)
        if name == "map":
            pos += 1
            k = ty()
            pos += 1
            v = ty()
            pos += 1
            return ("map", k, v)
        if name == "struct":
            pos += 1
            fields = []
            while True:
                k = s.index(":", pos)
                fname = s[pos:k]
                pos = k + 1
                fields.append((fname, ty()))
                c = s[pos]
                pos += 1
                if c == ">":
                    return ("struct", fields)
        return (name,)
    return ty()


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def canon(t, v, source):
    """A value as one comparable Python value, whoever produced it. source: 'in' (what we
    gave the writer), 'ours', 'duck' (DuckDB text), 'hy' (hyparquet JSON)."""
    if v is None:
        return None
    k = t[0]
    if k == "struct":
        if source == "duck" and isinstance(v, str):
            v = json.loads(v, parse_float=decimal.Decimal)
        return {n: canon(ft, v.get(n), source if source != "duck" else "duckjson")
                for n, ft in t[1]}
    if k == "array":
        if source == "duck" and isinstance(v, str):
            v = json.loads(v, parse_float=decimal.Decimal)
        s2 = "duckjson" if source == "duck" else source
        return [canon(t[1], x, s2) for x in v]
    if k == "map":
        if source == "duck" and isinstance(v, str):
            v = json.loads(v, parse_float=decimal.Decimal)
        s2 = "duckjson" if source == "duck" else source
        if isinstance(v, list):  # hyparquet may give [{key, value}]
            v = {x["key"]: x["value"] for x in v}
        return {str(kk): canon(t[2], vv, s2) for kk, vv in v.items()}
    if k in ("bigint", "int", "smallint", "tinyint"):
        return int(v)
    if k in ("double", "float"):
        x = float(v)
        return f32(x) if k == "float" else x
    if k == "boolean":
        return v if isinstance(v, bool) else v == "true"
    if k == "string":
        return v
    if k == "date":
        if source == "hy" or (source == "hyjson"):
            return (EPOCH + datetime.timedelta(milliseconds=v)).date().isoformat()
        return v if isinstance(v, str) else str(v)
    if k == "timestamp":
        if isinstance(v, (int, float)):
            return int(v)
        if source == "duck":  # epoch_ms(...)::VARCHAR
            return int(v)
        if source == "duckjson":  # "2024-01-02 03:04:05.678+00" or without zone
            v = v.replace("T", " ").split("+")[0].rstrip("Z")
        d = datetime.datetime.fromisoformat(v)
        return (d - EPOCH) // datetime.timedelta(milliseconds=1) if d.tzinfo is None else \
            int(d.timestamp() * 1000)
    if k == "decimal":
        if source == "hy":  # hyparquet turns decimals into JS numbers
            return ("approx", float(v))
        return decimal.Decimal(str(v)).quantize(decimal.Decimal(1).scaleb(-t[2]))
    raise AssertionError(f"type {t}")


def same(a, b):
    if isinstance(a, tuple) or isinstance(b, tuple):
        x = a[1] if isinstance(a, tuple) else float(a)
        y = b[1] if isinstance(b, tuple) else float(b)
        return math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


# ---- random schemas and values -------------------------------------------------------------

PRIMS = ["bigint", "int", "smallint", "tinyint", "double", "float", "boolean", "string", "date",
         "timestamp", "decimal(9,2)", "decimal(18,4)", "decimal(38,6)"]
WORDS = ["", "Laptop", "ünïcödé ✓", "emoji 🎉", "quote\"back\\slash", "tab\tnl\n", "x" * 300]


def rand_type(rng, depth):
    r = rng.random()
    if depth < 2 and r < 0.12:
        return "array<%s>" % rand_type(rng, depth + 1)
    if depth < 2 and r < 0.2:
        return "map<string,%s>" % rand_type(rng, depth + 1)
    if depth < 2 and r < 0.3:
        n = rng.randint(1, 3)
        return "struct<%s>" % ",".join(f"f{i}:{rand_type(rng, depth + 1)}" for i in range(n))
    return rng.choice(PRIMS)


def rand_value(rng, t, null_rate=0.15):
    if rng.random() < null_rate:
        return None
    k = t[0]
    if k == "struct":
        return {n: rand_value(rng, ft) for n, ft in t[1]}
    if k == "array":
        return [rand_value(rng, t[1]) for _ in range(rng.randint(0, 4))]
    if k == "map":
        return {rng.choice(WORDS[1:4]) + str(i): rand_value(rng, t[2])
                for i in range(rng.randint(0, 3))}
    lim = {"bigint": 2 ** 63, "int": 2 ** 31, "smallint": 2 ** 15, "tinyint": 2 ** 7}
    if k in lim:
        return rng.choice([-lim[k], lim[k] - 1, 0, -1, rng.randrange(-lim[k], lim[k])])
    if k == "double":
        return rng.choice([0.0, -1.5, 1e308, -2.2250738585072014e-308, 5e-324,
                           rng.uniform(-1e6, 1e6)])
    if k == "float":
        return f32(rng.choice([0.0, 3.4028234663852886e38, -1.25, rng.uniform(-1e4, 1e4)]))
    if k == "boolean":
        return rng.random() < 0.5
    if k == "string":
        return rng.choice(WORDS) + str(rng.randint(0, 9))
    if k == "date":
        d = datetime.date(1, 1, 1) + datetime.timedelta(days=rng.randrange(0, 3652058))
        return d.isoformat()
    if k == "timestamp":
        return rng.randrange(-2208988800000, 7258118400000)  # 1900..2200, epoch ms
    if k == "decimal":
        p, s = t[1], t[2]
        unscaled = rng.randrange(-(10 ** p - 1), 10 ** p)
        return format(decimal.Decimal(unscaled).scaleb(-s), "f")
    raise AssertionError(k)


def random_table(seed, ncols=8, nrows=60):
    rng = random.Random(seed)
    schema = [[f"c{i}", rand_type(rng, 0)] for i in range(ncols)]
    types = [parse_type(t) for _, t in schema]
    rows = []
    for _ in range(nrows):
        rows.append({n: rand_value(rng, t) for (n, _), t in zip(schema, types)})
    return schema, types, rows


def compare(schema, types, rows, got_rows, source):
    assert len(got_rows) == len(rows)
    for i, (want, got) in enumerate(zip(rows, got_rows)):
        for (name, ts), t in zip(schema, types):
            a = canon(t, want.get(name), "in")
            b = canon(t, got.get(name), source)
            assert same(a, b), f"{source} row {i} column {name} ({ts}): wrote {a!r}, read {b!r}"


VARIANTS = [("UNCOMPRESSED",), ("SNAPPY", "dict"), ("GZIP", "v2"), ("ZSTD", "dict", "v2"),
            ("SNAPPY", "dict", "600")]


@pytest.mark.parametrize("variant", VARIANTS, ids=["-".join(v) for v in VARIANTS])
def test_files_we_write_read_the_same_in_duckdb(tmp_path, variant):
    need_oracle("@duckdb/node-api")
    for seed in range(3):
        schema, types, rows = random_table(seed * 31 + len(variant))
        out = tmp_path / f"ours{seed}.parquet"
        ours_write(tmp_path, schema, rows, out, *variant)
        got = node("duckdb_parquet.mjs", "read", str(out))
        assert [c[0] for c in got["columns"]] == [n for n, _ in schema]
        compare(schema, types, rows, got["rows"], "duck")
        # and our own reader agrees, with the Glue types it wrote
        cols, ours = ours_read(out)
        assert cols == schema
        compare(schema, types, rows, ours, "ours")


@pytest.mark.parametrize("variant", VARIANTS, ids=["-".join(v) for v in VARIANTS])
def test_files_we_write_read_the_same_in_hyparquet(tmp_path, variant):
    need_oracle("hyparquet")
    for seed in range(3):
        schema, types, rows = random_table(seed * 17 + 5 + len(variant))
        out = tmp_path / f"ours{seed}.parquet"
        ours_write(tmp_path, schema, rows, out, *variant)
        got = node("hyparquet.mjs", "read", str(out))
        assert got["columns"] == [n for n, _ in schema]
        compare(schema, types, rows, got["rows"], "hy")


def test_seed_records_read_the_same_in_both_oracles(tmp_path):
    """The seed's own record shape (the dynamodb-cdc processor's lines)."""
    need_oracle("@duckdb/node-api")
    need_oracle("hyparquet")
    schema = [["orderid", "string"], ["product_name", "string"], ["quantity", "bigint"],
              ["price", "double"], ["cdc_event_type", "string"],
              ["creation_datetime", "string"], ["sequence_number", "string"]]
    types = [parse_type(t) for _, t in schema]
    rng = random.Random(3)
    rows = [{"orderid": str(rng.randint(1, 10000)),
             "product_name": rng.choice(["Laptop", "Phone", "Tablet", "Headphones", "Charger"]),
             "quantity": rng.randint(1, 5), "price": round(rng.uniform(10, 500), 2),
             "cdc_event_type": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
             "creation_datetime": "2024-05-01T12:00:%02dZ" % (i % 60),
             "sequence_number": "%021d" % (i + 1)} for i in range(500)]
    out = tmp_path / "seed.parquet"
    ours_write(tmp_path, schema, rows, out, "SNAPPY")
    compare(schema, types, rows, node("duckdb_parquet.mjs", "read", str(out))["rows"], "duck")
    compare(schema, types, rows, node("hyparquet.mjs", "read", str(out))["rows"], "hy")


DUCK_QUERY = (
    "SELECT i::BIGINT AS id, CASE WHEN i % 5 = 0 THEN NULL ELSE 'p' || (i % 7) || 'ü' END AS name,"
    " i * 1.25::DOUBLE AS price, i % 2 = 0 AS ok, DATE '2024-01-01' + i::INT AS d,"
    " TIMESTAMP '2024-01-01 00:00:00' + INTERVAL (i * 1001) MILLISECOND AS ts,"
    " (i / 3)::DECIMAL(10,2) AS dec9, (i * 1234567.891)::DECIMAL(18,3) AS dec18,"
    " (i * 1e20)::DECIMAL(38,2) AS dec38, (i % 100)::TINYINT AS t, i::SMALLINT AS s,"
    " i::FLOAT AS f, CASE WHEN i % 3 = 0 THEN NULL ELSE i END::INT AS maybe,"
    " {'a': i, 'b': 'x' || i} AS st, CASE WHEN i % 4 = 0 THEN [] ELSE [i, NULL, i + 1] END AS arr,"
    " MAP {'k' || (i % 3): i} AS m, [{'q': i}] AS arr_st"
    " FROM range(3000) r(i)")


@pytest.mark.parametrize("options", ["COMPRESSION uncompressed", "COMPRESSION snappy",
                                     "COMPRESSION gzip", "COMPRESSION zstd",
                                     "COMPRESSION snappy, ROW_GROUP_SIZE 1000",
                                     "COMPRESSION zstd, PARQUET_VERSION v2",
                                     "COMPRESSION uncompressed, PARQUET_VERSION v2"])
def test_files_duckdb_writes_read_the_same_in_ours(tmp_path, options):
    need_oracle("@duckdb/node-api")
    out = tmp_path / "duck.parquet"
    node("duckdb_parquet.mjs", "write", DUCK_QUERY, str(out), options)
    duck = node("duckdb_parquet.mjs", "read", str(out))
    cols, ours = ours_read(out)
    assert [c[0] for c in cols] == [c[0] for c in duck["columns"]]
    types = [parse_type(t) for _, t in cols]
    assert len(ours) == len(duck["rows"]) == 3000
    for i, (a, b) in enumerate(zip(ours, duck["rows"])):
        for (name, ts), t in zip(cols, types):
            x, y = canon(t, a[name], "ours"), canon(t, b[name], "duck")
            if t[0] == "timestamp" and x is not None:
                x = x  # DuckDB writes microseconds; ours prints them, canon keeps ms
            assert same(x, y), f"row {i} column {name} ({ts}): ours {x!r}, DuckDB {y!r}"
    # projection reads only the named column
    _, one = ours_read(out, "m")
    assert list(one[7].keys()) == ["m"]


def test_files_hyparquet_writes_read_the_same_in_ours(tmp_path):
    need_oracle("hyparquet-writer")
    n = 2500
    rng = random.Random(9)
    cols = [
        {"name": "s", "type": "STRING", "data": [rng.choice(WORDS + [None]) for _ in range(n)]},
        {"name": "n", "type": "INT64",  # as text: JSON numbers lose 64-bit precision in JS
         "data": [rng.choice([None, str(-2 ** 63), str(2 ** 63 - 1), str(rng.randint(-99, 99))])
                  for _ in range(n)]},
        {"name": "i", "type": "INT32", "data": [rng.choice([None, rng.randint(-5, 5)])
                                                for _ in range(n)]},
        {"name": "d", "type": "DOUBLE", "data": [rng.choice([None, 1.5, -1e300])
                                                 for _ in range(n)]},
        {"name": "b", "type": "BOOLEAN", "data": [rng.choice([None, True, False])
                                                  for _ in range(n)]},
        {"name": "ts", "type": "TIMESTAMP", "data": [rng.choice([None, 0, 1700000000123])
                                                     for _ in range(n)]},
    ]
    out = tmp_path / "hy.parquet"
    node("hyparquet.mjs", "write", str(out), stdin=json.dumps({"columns": cols}))
    schema, ours = ours_read(out)
    assert [c[0] for c in schema] == [c["name"] for c in cols]
    types = [parse_type(t) for _, t in schema]
    for i in range(n):
        for c, t in zip(cols, types):
            want = c["data"][i]
            assert same(canon(t, want, "in"), canon(t, ours[i][c["name"]], "ours")), \
                f"row {i} column {c['name']}"
