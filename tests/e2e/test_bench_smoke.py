"""The benchmark instruments cannot rot silently: `make bench` is not part of `make test`, so
this runs the HTTP floor (sp_floor), the load generator's mixed-target, paced and ack-logged
modes, and the scenarios added for issue 15 (11_cdc_e2e_http, 04_freshness, the anchors of
03_cdc_e2e, put-item beside its floor, 06_query and 10_parquet_query beside DuckDB with the
one-hour filter measured in a running server too) with tiny sizes, and checks the shape of each JSON line:
bench, unit, ours, what it is compared with (peer or floor or a comparison saying "physical
limit", "self" or "none") with numeric values and ratios, and durability."""
import json
import os
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import BIN, SOURCE

BENCH = os.path.join(SOURCE, "bench")
BUILD = os.path.dirname(BIN)
FLOOR = os.environ.get("SALESPIPE_FLOOR", os.path.join(BUILD, "sp_floor"))
LOADGEN = os.environ.get("SALESPIPE_LOADGEN", os.path.join(BUILD, "sp_loadgen"))


def start_floor(*args):
    p = subprocess.Popen([FLOOR, "--port", "0"] + list(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    line = p.stdout.readline().decode()
    assert line.startswith("ready port="), (line, p.stderr.read())
    fields = dict(f.split("=") for f in line.split()[1:])
    return p, int(fields["port"]), int(fields["threads"])


def stop(p):
    p.terminate()
    assert p.wait(timeout=20) == 0, p.stderr.read()  # under ASan: no leak


def scenario(name, **env):
    """Runs bench/<name> with the given environment; returns its JSON lines."""
    e = dict(os.environ, SALESPIPE_BIN=BIN, SALESPIPE_FLOOR=FLOOR, SALESPIPE_LOADGEN=LOADGEN,
             **{k: str(v) for k, v in env.items()})
    out = subprocess.run(["/usr/bin/python3", os.path.join(BENCH, name)], capture_output=True,
                         text=True, env=e, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert lines, out.stderr[-3000:]
    return lines


def number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_shape(line):
    """Every line names what it is compared with and the durability it was measured with."""
    for key in ("bench", "unit", "ours", "peer", "peer_value", "ratio", "durability"):
        assert key in line, (key, line)
    assert number(line["ours"]) and line["ours"] >= 0, line
    assert isinstance(line["durability"], str) and line["durability"], line
    if line["peer_value"] is not None:
        assert line["peer"] and number(line["peer_value"]) and number(line["ratio"]), line
    if "floor_value" in line:
        assert number(line["floor_value"]) and line["floor_value"] > 0, line
        assert number(line["ratio_to_floor"]), line
        assert abs(line["ratio_to_floor"] - line["ours"] / line["floor_value"]) < 0.01, line
    if line["peer_value"] is None and "floor_value" not in line:
        # No peer, no floor: the line must say what it is instead.
        assert line.get("comparison", "").startswith(("physical limit:", "self:", "none:")), line
    if str(line["peer"]).startswith("self"):
        assert line.get("comparison", "").startswith("self:"), line


def test_floor_answers_every_post_with_an_empty_json_object():
    p, port, threads = start_floor("--durability", "fsync")
    try:
        # The same pool rule as `salespipe serve` with fsync: at least 16 workers.
        assert threads >= 16
        req = urllib.request.Request(f"http://127.0.0.1:{port}/", data=b'{"TableName":"x"}',
                                     headers={"X-Amz-Target": "DynamoDB_20120810.PutItem"})
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200 and r.read() == b"{}"
            assert r.headers["Content-Type"] == "application/x-amz-json-1.0"
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        assert e.value.code == 405
    finally:
        stop(p)


def test_floor_pool_follows_the_durability_rule_and_refuses_bad_arguments():
    p, _, threads = start_floor("--durability", "relaxed")
    stop(p)
    assert threads == max(2, os.cpu_count())
    p, _, threads = start_floor("--threads", "3")
    stop(p)
    assert threads == 3
    for bad in (["--port"], ["--bogus", "1"], ["--threads", "-1"]):
        r = subprocess.run([FLOOR] + bad, capture_output=True, text=True, timeout=10)
        assert r.returncode == 2 and "usage" in r.stderr, (bad, r.stderr)


@pytest.mark.parametrize("durability", ["fsync", "relaxed"])
def test_floor_and_server_run_the_same_worker_pool(tmp_path, durability):
    from conftest import Server
    (tmp_path / "data").mkdir()
    srv = Server(str(tmp_path / "data"), extra_args=["--durability", durability]).start()
    try:
        server_threads = srv.health()["services"]["http"]["threads"]
    finally:
        assert srv.stop() == 0
    p, _, floor_threads = start_floor("--durability", durability)
    stop(p)
    assert server_threads == floor_threads
    assert floor_threads == (max(16, os.cpu_count()) if durability == "fsync"
                             else max(2, os.cpu_count()))


def test_loadgen_sends_a_target_per_line_paced_and_logs_each_answer(tmp_path):
    p, port, _ = start_floor()
    try:
        bodies = tmp_path / "bodies"
        bodies.write_text('DynamoDB_20120810.PutItem\t{"a":1}\n'
                          'DynamoDB_20120810.BatchWriteItem\t{"b":2}\n')
        acks = tmp_path / "acks"
        out = subprocess.run([LOADGEN, "--port", str(port), "--target", "-", "--bodies",
                              str(bodies), "--connections", "4", "--seconds", "10",
                              "--max-requests", "50", "--rate", "200", "--ack-log", str(acks)],
                             capture_output=True, text=True, timeout=60, check=True)
        r = json.loads(out.stdout)
        assert r["requests"] == 50 and r["errors"] == 0
        # 50 requests at 200/s take about 0.25 s: the pacing holds them back.
        assert r["seconds"] >= 0.2 and r["end_mono"] > r["start_mono"]
        rows = [line.split() for line in acks.read_text().splitlines()]
        assert sorted(int(i) for i, _, _ in rows) == list(range(50))
        assert all(s == "200" and r["start_mono"] <= float(t) <= r["end_mono"]
                   for _, t, s in rows)
        # A body line without its target is refused, not sent with an empty target.
        bodies.write_text('{"a":1}\n')
        bad = subprocess.run([LOADGEN, "--port", str(port), "--target", "-", "--bodies",
                              str(bodies), "--seconds", "1"], capture_output=True, text=True,
                             timeout=30)
        assert bad.returncode == 2 and "TARGET" in bad.stderr
    finally:
        stop(p)


def test_cdc_e2e_http_line_has_changes_floor_and_durability():
    (line,) = scenario("11_cdc_e2e_http.py", BENCH_HTTP_CHANGES=600)
    check_shape(line)
    assert line["bench"] == "cdc-e2e-http" and line["durability"] == "fsync"
    assert line["ours"] > 0 and line["changes"] > 0 and line["connections"] == 16
    assert set(line["requests_by_target"]) == {"PutItem", "UpdateItem", "DeleteItem",
                                               "BatchWriteItem"}
    assert line["comparison"].startswith("physical limit:")
    # The floor runs the server's worker pool (src/api/api_daemon.h), read from its health.
    assert line["ours_threads"] == line["floor_threads"] >= 16


def test_freshness_line_states_the_rate_achieved_and_no_hard_coded_peer():
    (line,) = scenario("04_freshness.py", BENCH_FRESH_SECONDS="0.5",
                       BENCH_FRESH_CASES="0@2000,1@400")
    check_shape(line)
    assert line["peer_value"] is None and line["comparison"].startswith("none:")
    assert line["offered_cps"] == 2000 and number(line["achieved_cps"])
    assert set(line["cases"]) == {"interval0s_2000cps", "interval1s_400cps"}
    assert all(c["p99_ms"] >= c["p50_ms"] >= 0 for c in line["cases"].values())


def test_cdc_e2e_prints_its_physical_anchors_as_rows():
    lines = scenario("03_cdc_e2e.py", BENCH_CDC_EVENTS=400, BENCH_DD_MB=4)
    assert [x["bench"] for x in lines] == ["cdc-e2e", "sqlite-bulk-insert", "disk-seq-write"]
    for line in lines:
        check_shape(line)
    assert lines[1]["ours"] > 0 and lines[2]["ours"] > 0


def test_put_item_is_measured_beside_dynalite_and_the_floor():
    if not os.path.exists(os.path.join(SOURCE, "tools", "node_modules", "dynalite", "cli.js")):
        pytest.skip("dynalite is not installed (scripts/deps.sh)")
    lines = scenario("01_put_item.py", BENCH_PUT_SECONDS="0.5")
    assert [x["bench"] for x in lines] == ["put-item", "http-floor"]
    for line in lines:
        check_shape(line)
    assert lines[0]["peer"] == "dynalite" and lines[1]["durability"] == "n/a"
    assert lines[0]["ours_threads"] == lines[0]["floor_threads"] == lines[1]["threads"]


def test_bench_cdc_refuses_a_malformed_mix(tmp_path):
    r = subprocess.run([BIN, "bench-cdc", "--mix", "0:0:0", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "--mix" in r.stderr


def test_memory_line_says_it_compares_with_itself_and_which_backlog_ran():
    (line,) = scenario("08_memory.py", BENCH_MEMORY_CHANGES=2000)
    check_shape(line)
    assert line["comparison"].startswith("self:") and line["peer"].startswith("self:")
    assert 1500 < line["backlog_changes"] <= 2000 and line["full_issue_backlog"] is False


def duckdb_installed():
    return os.path.isdir(os.path.join(SOURCE, "tools", "node_modules", "@duckdb", "node-api"))


def check_hour_filter(line):
    """The one-hour filter: the whole-process figure, the start-up floor and the in-server
    measure, each with what it includes."""
    assert number(line["hour_filter_ratio"]) and number(line["process_floor_ms"]), line
    srv = line["hour_filter_in_server"]
    for key in ("round_trip_ms", "engine_ms", "ratio_round_trip", "ratio_engine", "runs"):
        assert number(srv[key]), (key, srv)
    assert srv["round_trip_ms"] > 0 and srv["runs"] >= 1, srv
    assert set(line["hour_filter_measures"]) == {"ours_ms", "round_trip_ms", "engine_ms",
                                                 "duckdb_ms"}, line
    for q in line["queries"].values():
        assert number(q["ours_ms"]) and number(q["duckdb_ms"]) and q["same_answer"] is True, q
    assert line["queries"]["one_hour_filter"]["same_answer_in_server"] is True, line


def test_query_line_compares_with_duckdb_and_measures_the_filter_in_a_server():
    if not duckdb_installed():
        pytest.skip("@duckdb/node-api is not installed (scripts/deps.sh)")
    (line,) = scenario("06_query.py", BENCH_QUERY_ROWS=3000)
    check_shape(line)
    assert line["bench"] == "query" and line["peer"] == "duckdb" and line["rows"] == 3000
    check_hour_filter(line)


def test_parquet_query_lines_compare_with_duckdb_and_with_json_lines():
    if not duckdb_installed():
        pytest.skip("@duckdb/node-api is not installed (scripts/deps.sh)")
    tool = os.environ.get("SALESPIPE_PARQUET_TOOL", os.path.join(BUILD, "sp_parquet_tool"))
    lines = scenario("10_parquet_query.py", BENCH_PARQUET_QUERY_ROWS=3000,
                     SALESPIPE_PARQUET_TOOL=tool)
    assert [x["bench"] for x in lines] == ["parquet-query", "parquet-vs-json-query"]
    for line in lines:
        check_shape(line)
    assert lines[0]["peer"] == "duckdb-parquet" and lines[0]["rows"] == 3000
    check_hour_filter(lines[0])
    assert all(q["same_answer_json"] is True for q in lines[0]["queries"].values()), lines[0]
    assert lines[1]["comparison"].startswith("self:"), lines[1]
