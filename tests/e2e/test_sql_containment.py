"""User SQL is contained, end to end against `salespipe serve` (boto3, the aws cli) and
`salespipe query`: a query that never ends fails at the configured time limit with Athena's
timeout reason; StopQueryExecution interrupts a running query, which ends CANCELLED and frees
the query thread at once; ATTACH, VACUUM INTO, PRAGMA, load_extension, temp tables and writes
are refused (FAILED with the reason, or a non-zero exit) and create no file; a result larger
than one page is streamed into its CSV object and paged back from that object, every row
once and in order, through boto3 and the aws cli's automatic paging."""
import csv
import io
import os
import subprocess
import tempfile
import time

import botocore.exceptions
import pytest

from conftest import Server, BIN

RESULTS_BUCKET = "athena-results-salespipe"
OUTPUT = f"s3://{RESULTS_BUCKET}/containment/"
FOREVER = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c) "
           "SELECT count(*) FROM c")


def start(athena, sql):
    return athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": OUTPUT})["QueryExecutionId"]


def wait_query(athena, qid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if q["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return q
        time.sleep(0.05)
    raise AssertionError(f"query {qid} never finished")


def result_keys(s3):
    out = s3.list_objects_v2(Bucket=RESULTS_BUCKET, Prefix="containment/")
    return [o["Key"] for o in out.get("Contents", [])]


def test_a_query_past_the_time_limit_fails_with_the_timeout_reason(make_server):
    s = make_server("defaults: seed\nserver:\n  query_timeout_seconds: 2\n").start()
    s.client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    athena = s.client("athena")
    t0 = time.time()
    qid = start(athena, FOREVER)
    q = wait_query(athena, qid, timeout=30)
    elapsed = time.time() - t0
    assert q["Status"]["State"] == "FAILED"
    reason = q["Status"]["StateChangeReason"]
    assert reason.startswith("Query timed out") and "2 seconds" in reason, reason
    assert q["Status"]["AthenaError"]["ErrorType"] == 206  # Athena: "Query timed out"
    assert 1.5 <= elapsed < 10, elapsed
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        athena.get_query_results(QueryExecutionId=qid)
    assert ex.value.response["Error"]["Code"] == "InvalidRequestException"
    assert result_keys(s.client("s3")) == []  # a failed query publishes no result object
    # the query thread is free again
    qid = start(athena, "SELECT 42 AS answer")
    assert wait_query(athena, qid, timeout=10)["Status"]["State"] == "SUCCEEDED"


def test_stop_query_execution_interrupts_a_running_query(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    athena = server.client("athena")
    qid = start(athena, FOREVER)  # the default limit is 5 minutes
    deadline = time.time() + 10
    while athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"][
            "State"] != "RUNNING":
        assert time.time() < deadline, "never RUNNING"
        time.sleep(0.02)
    time.sleep(0.5)
    athena.stop_query_execution(QueryExecutionId=qid)
    q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
    assert q["Status"]["State"] == "CANCELLED"
    assert q["Status"]["StateChangeReason"] == "Query was cancelled by the user"
    # the interrupted query leaves the thread at once: the next query runs promptly
    t0 = time.time()
    nxt = start(athena, "SELECT 7 AS seven")
    assert wait_query(athena, nxt, timeout=10)["Status"]["State"] == "SUCCEEDED"
    assert time.time() - t0 < 5
    assert athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]["Status"][
        "State"] == "CANCELLED"
    assert [k for k in result_keys(s3) if qid in k] == []
    # at most 100 queries queued or running, as Athena's active query quota
    active = [start(athena, FOREVER) for _ in range(100)]
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        start(athena, "SELECT 1")
    assert ex.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert ex.value.response["Reason"] == "CONCURRENT_QUERY_LIMIT_EXCEEDED"
    for qid in active[1:]:
        athena.stop_query_execution(QueryExecutionId=qid)
    states = {athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Status"]["State"]
              for q in active[1:]}
    assert states == {"CANCELLED"}
    # and a query running at shutdown (active[0]) does not delay it
    time.sleep(0.5)
    t0 = time.time()
    assert server.stop() == 0
    assert time.time() - t0 < 20


def refused_statements(d):
    return [
        f"ATTACH DATABASE '{d}/evil.db' AS e",
        f"attach '{d}/evil1.db' as e",
        f"/* a comment */ -- and another\n  ATTACH '{d}/evil2.db' AS e",
        f"WITH a AS (SELECT 1) ATTACH '{d}/evil3.db' AS e",
        f"SELECT 1; ATTACH '{d}/evil4.db' AS e",
        f"VACUUM INTO '{d}/evil5.db'",
        f"vacuum main into '{d}/evil6.db'",
        "PRAGMA database_list",
        "PRAGMA writable_schema = 1",
        f"PRAGMA temp_store_directory = '{d}'",
        f"SELECT load_extension('{d}/evil7.so')",
        "SELECT * FROM pragma_database_list",
        "SELECT count(*) FROM pragma_table_list",
        "SELECT sql FROM sqlite_master",
        "CREATE TEMP TABLE t(x)",
        "CREATE TEMP TABLE t AS SELECT 1 AS x",
        "CREATE TEMP VIEW v AS SELECT 1 AS x",
        "INSERT INTO temp.sqlite_master VALUES ('table', 't', 't', 0, 'CREATE TABLE t(x)')",
        "BEGIN",
        "DETACH DATABASE sales_db",
    ]


def test_attach_pragma_writes_and_extensions_are_refused(server):
    server.client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    athena = server.client("athena")
    with tempfile.TemporaryDirectory(prefix="salespipe-evil-") as d:
        for sql in refused_statements(d):
            q = wait_query(athena, start(athena, sql))
            assert q["Status"]["State"] == "FAILED", (sql, q["Status"])
            reason = q["Status"]["StateChangeReason"]
            assert reason.startswith(("line ", "offset ")), (sql, reason)
            assert q["Status"]["AthenaError"]["ErrorType"] == 1100
        assert os.listdir(d) == []
    # a refusal names what was refused
    q = wait_query(athena, start(athena, "ATTACH ':memory:' AS m"))
    assert "ATTACH is not allowed" in q["Status"]["StateChangeReason"]
    q = wait_query(athena, start(athena, "SELECT load_extension('x')"))
    assert "function load_extension is not available" in q["Status"]["StateChangeReason"]
    q = wait_query(athena, start(athena, "CREATE TEMP TABLE t(x)"))
    assert "is not allowed" in q["Status"]["StateChangeReason"]
    # reads, CTEs, JSON table functions and our functions still run
    q = wait_query(athena, start(athena, (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < 5) "
        "SELECT count(*) AS n, (SELECT count(*) FROM json_each('[1,2,3]')) AS j, "
        "date_trunc('day', from_iso8601_timestamp('2026-11-26T10:00:00Z')) AS d FROM c")))
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]


def run_cli(data_dir, *args, config=None, timeout=60):
    cmd = [BIN, "query"] + list(args) + ["--data-dir", data_dir]
    if config:
        cmd += ["--config", config]
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def test_salespipe_query_refuses_and_times_out(data_dir):
    # `salespipe query` wants a data dir that holds salespipe data: let a server make one
    made = Server(data_dir).start()
    assert made.stop() == 0
    with tempfile.TemporaryDirectory(prefix="salespipe-evil-") as d:
        for sql in refused_statements(d):
            out = run_cli(data_dir, sql)
            assert out.returncode != 0, sql
            assert b"InvalidRequestException: " in out.stderr, (sql, out.stderr)
        assert os.listdir(d) == []
    t0 = time.time()
    out = run_cli(data_dir, FOREVER, "--timeout", "1")
    assert out.returncode != 0
    assert b"Query timed out" in out.stderr, out.stderr
    assert time.time() - t0 < 15
    # the limit from the config file when there is no flag
    cfg = os.path.join(os.path.dirname(data_dir), "timeout.yaml")
    with open(cfg, "w") as f:
        f.write("defaults: seed\nserver:\n  query_timeout_seconds: 1\n")
    out = run_cli(data_dir, FOREVER, config=cfg)
    assert out.returncode != 0 and b"limit of 1 seconds" in out.stderr, out.stderr
    # bad --timeout values are usage errors
    for bad in ("-1", "abc", "1e9"):
        assert run_cli(data_dir, "SELECT 1", "--timeout", bad).returncode != 0
    out = run_cli(data_dir, "SELECT 1 AS one", "--timeout", "0", "--format", "csv")
    assert out.returncode == 0 and out.stdout.splitlines()[-1] == b"1"


ROWS = 2500
# Values with the CSV's hard cases: quotes, commas, new lines, empty strings and NULLs.
BIG = (f"WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c WHERE x < {ROWS}) "
       "SELECT x, 'v\"' || x || ',\n' AS s, CASE WHEN x % 7 = 0 THEN NULL "
       "WHEN x % 11 = 0 THEN '' ELSE printf('%05d', x) END AS maybe FROM c ORDER BY x")


def expected_row(x):
    maybe = None if x % 7 == 0 else "" if x % 11 == 0 else f"{x:05d}"
    return [str(x), f'v"{x},\n', maybe]


def test_a_large_result_is_paged_from_its_csv_object(server):
    s3 = server.client("s3")
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    athena = server.client("athena")
    qid = start(athena, BIG)
    q = wait_query(athena, qid)
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    assert q["ResultConfiguration"]["OutputLocation"] == f"{OUTPUT}{qid}.csv"
    # boto3's paginator: every row once, in order, the header first
    rows, meta = [], None
    for page in athena.get_paginator("get_query_results").paginate(
            QueryExecutionId=qid, PaginationConfig={"PageSize": 1000}):
        assert len(page["ResultSet"]["Rows"]) <= 1000
        meta = page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        rows += [[d.get("VarCharValue") for d in r["Data"]] for r in page["ResultSet"]["Rows"]]
    assert rows[0] == ["x", "s", "maybe"]
    assert rows[1:] == [expected_row(x) for x in range(1, ROWS + 1)]
    assert [(c["Name"], c["Type"]) for c in meta] == [("x", "bigint"), ("s", "varchar"),
                                                      ("maybe", "varchar")]
    # odd page sizes join up too
    rows7, token = [], None
    while True:
        kw = {"QueryExecutionId": qid, "MaxResults": 777}
        if token:
            kw["NextToken"] = token
        r = athena.get_query_results(**kw)
        rows7 += [[d.get("VarCharValue") for d in x["Data"]] for x in r["ResultSet"]["Rows"]]
        token = r.get("NextToken")
        if not token:
            break
    assert rows7 == rows
    # the aws cli pages by itself
    out = server.aws("athena", "get-query-results", "--query-execution-id", qid)
    cli_rows = [[d.get("VarCharValue") for d in r["Data"]] for r in out["ResultSet"]["Rows"]]
    assert cli_rows == rows
    # the CSV object holds the result as Athena writes it
    body = s3.get_object(Bucket=RESULTS_BUCKET, Key=f"containment/{qid}.csv")["Body"].read()
    parsed = list(csv.reader(io.StringIO(body.decode(), newline="")))
    assert len(parsed) == ROWS + 1 and parsed[2] == ["2", 'v"2,\n', "00002"]
    # pages are read from that object, not from memory: replaced, the pages follow it;
    # gone, GetQueryResults says it cannot read the result
    s3.put_object(Bucket=RESULTS_BUCKET, Key=f"containment/{qid}.csv",
                  Body=b'"x","s","maybe"\n"1","changed",\n')
    r = athena.get_query_results(QueryExecutionId=qid, MaxResults=2)
    assert [d.get("VarCharValue") for d in r["ResultSet"]["Rows"][1]["Data"]] == ["1", "changed",
                                                                                  None]
    s3.delete_object(Bucket=RESULTS_BUCKET, Key=f"containment/{qid}.csv")
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        athena.get_query_results(QueryExecutionId=qid)
    assert ex.value.response["Error"]["Code"] == "InvalidRequestException"
    assert "Unable to read the query results" in ex.value.response["Error"]["Message"]
    # a forged token is refused, not followed
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        athena.get_query_results(QueryExecutionId=qid, NextToken="garbage")
    assert ex.value.response["Error"]["Code"] == "InvalidRequestException"
