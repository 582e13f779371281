"""Glue and Athena APIs end to end, with the aws cli and boto3 against `salespipe serve`:
seed-shaped change records are put into the lake bucket under Firehose's YYYY/MM/DD/HH/ key
layout, a classifier, database and crawler are created with the aws cli, the crawl runs in
the background until the crawler is READY again, the crawled table and its hour partitions
are read back, Athena queries run to SUCCEEDED with results (and the CSV file in the lake)
matching counts computed here, a bad query goes FAILED with its reason, unknown names give
Glue's and Athena's exceptions, pages join up, and API-made definitions survive a restart."""
import collections
import csv
import io
import json
import random
import time

import botocore.exceptions
import pytest

BUCKET = "kinesis-firehose-destination-yb"
RESULTS_BUCKET = "athena-results-salespipe"
TABLE = "kinesis_firehose_destination_yb"
PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
SEED_COLUMNS = {"orderid": "string", "product_name": "string", "quantity": "bigint",
                "price": "double", "cdc_event_type": "string", "creation_datetime": "string",
                "sequence_number": "string"}
HOURS = [(2026, 11, 26, 9), (2026, 11, 26, 10), (2026, 11, 26, 11), (2026, 11, 27, 0)]


def put_records(s3, seed=11, per_object=20, objects_per_hour=2):
    """Seed-shaped CDC lines through the S3 API, as the delivery stage would write them."""
    rng = random.Random(seed)
    records, seq = [], 0
    for (y, mo, d, h) in HOURS:
        for i in range(objects_per_hour):
            lines = []
            for _ in range(per_object):
                seq += 1
                rec = {"orderid": str(rng.randint(1, 10000)),
                       "product_name": rng.choice(PRODUCTS),
                       "quantity": rng.randint(1, 5), "price": round(rng.uniform(10, 500), 2),
                       "cdc_event_type": rng.choice(["INSERT", "INSERT", "MODIFY", "REMOVE"]),
                       "creation_datetime": f"{y}-{mo:02d}-{d:02d}T{h:02d}:{i:02d}:05Z",
                       "sequence_number": f"{seq:021d}"}
                records.append(rec)
                lines.append(json.dumps(rec))
            key = (f"{y}/{mo:02d}/{d:02d}/{h:02d}/sales-delivery-stream-1-{y}-{mo:02d}-{d:02d}-"
                   f"{h:02d}-{i:02d}-00-{rng.getrandbits(64):016x}")
            s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())
    return records


def wait_crawler(server, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = server.aws("glue", "get-crawler", "--name", name)["Crawler"]
        if c["State"] == "READY" and "LastCrawl" in c:
            return c
        time.sleep(0.1)
    raise AssertionError(f"crawler {name} never became READY")


def wait_query(athena, qid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if q["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return q
        time.sleep(0.05)
    raise AssertionError(f"query {qid} never finished")


def all_rows(athena, qid, page):
    """Every row of a result through NextToken pages of `page` rows."""
    rows, token, meta, pages = [], None, None, 0
    while True:
        kw = {"QueryExecutionId": qid, "MaxResults": page}
        if token:
            kw["NextToken"] = token
        r = athena.get_query_results(**kw)
        pages += 1
        assert len(r["ResultSet"]["Rows"]) <= page
        meta = r["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
        rows += [[d.get("VarCharValue") for d in row["Data"]] for row in r["ResultSet"]["Rows"]]
        token = r.get("NextToken")
        if not token:
            return rows, meta, pages


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


def setup_crawl(server, s3):
    """Records in the lake, then classifier + database + crawler made and run with the cli."""
    records = put_records(s3)
    server.aws("glue", "create-classifier", "--json-classifier",
               json.dumps({"Name": "api-json", "JsonPath": "$"}))
    server.aws("glue", "create-database", "--database-input", json.dumps({
        "Name": "sales_api_db", "Description": "made by the e2e test"}))
    server.aws("glue", "create-crawler", "--name", "api-crawler", "--role",
               "arn:aws:iam::000000000000:role/test", "--database-name", "sales_api_db",
               "--targets", json.dumps({"S3Targets": [{"Path": f"s3://{BUCKET}/"}]}),
               "--classifiers", "api-json", "--schema-change-policy",
               json.dumps({"UpdateBehavior": "UPDATE_IN_DATABASE",
                           "DeleteBehavior": "LOG"}))
    assert server.aws("glue", "get-crawler", "--name", "api-crawler")["Crawler"]["State"] == "READY"
    server.aws("glue", "start-crawler", "--name", "api-crawler")
    return records


def test_crawl_and_query_with_the_cli_and_boto3(server):
    s3, glue, athena = server.client("s3"), server.client("glue"), server.client("athena")
    records = setup_crawl(server, s3)
    crawler = wait_crawler(server, "api-crawler")
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    assert crawler["Classifiers"] == ["api-json"]
    assert crawler["Targets"]["S3Targets"][0]["Path"] == f"s3://{BUCKET}/"
    assert crawler["DatabaseName"] == "sales_api_db"

    # the crawled table: seed columns, four partition keys, the Glue shapes
    tables = server.aws("glue", "get-tables", "--database-name", "sales_api_db")["TableList"]
    assert [t["Name"] for t in tables] == [TABLE]
    t = glue.get_table(DatabaseName="sales_api_db", Name=TABLE)["Table"]
    assert t == {**t, "Name": TABLE, "DatabaseName": "sales_api_db",
                 "TableType": "EXTERNAL_TABLE"}
    sd = t["StorageDescriptor"]
    assert {c["Name"]: c["Type"] for c in sd["Columns"]} == SEED_COLUMNS
    assert sd["Location"] == f"s3://{BUCKET}/"
    assert sd["InputFormat"] == "org.apache.hadoop.mapred.TextInputFormat"
    assert sd["OutputFormat"] == "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
    assert sd["SerdeInfo"]["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert sd["Compressed"] is False
    assert [k["Name"] for k in t["PartitionKeys"]] == [f"partition_{i}" for i in range(4)]
    assert t["Parameters"]["classification"] == "json"
    assert int(t["Parameters"]["recordCount"]) == len(records)
    assert t["CreateTime"].year >= 2024

    # partitions: one per hour, in key order, through pages of 3 (cli) and 1 (boto3)
    parts = server.aws("glue", "get-partitions", "--database-name", "sales_api_db",
                       "--table-name", TABLE, "--max-items", "3")
    hours = [[f"{y}", f"{mo:02d}", f"{d:02d}", f"{h:02d}"] for (y, mo, d, h) in HOURS]
    assert [p["Values"] for p in parts["Partitions"]] == hours[:3]
    paged, token = [], None
    while True:
        kw = {"DatabaseName": "sales_api_db", "TableName": TABLE, "MaxResults": 1}
        if token:
            kw["NextToken"] = token
        r = glue.get_partitions(**kw)
        paged += r["Partitions"]
        token = r.get("NextToken")
        if not token:
            break
    assert [p["Values"] for p in paged] == hours
    assert paged[0]["StorageDescriptor"]["Location"] == f"s3://{BUCKET}/2026/11/26/09/"

    # Athena: orders per product, checked against Python, CSV in the lake
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    expect = collections.Counter(r["product_name"] for r in records)
    out = server.aws("athena", "start-query-execution", "--query-string",
                     "SELECT product_name, count(*) AS orders, sum(quantity) AS units "
                     "FROM kinesis_firehose_destination_yb GROUP BY product_name "
                     "ORDER BY product_name",
                     "--query-execution-context", "Database=sales_api_db",
                     "--result-configuration", f"OutputLocation=s3://{RESULTS_BUCKET}/q/")
    qid = out["QueryExecutionId"]
    q = wait_query(athena, qid)
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    assert q["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS_BUCKET}/q/{qid}.csv"
    assert q["Statistics"]["DataScannedInBytes"] > 0
    assert q["Status"]["CompletionDateTime"] >= q["Status"]["SubmissionDateTime"]
    res = server.aws("athena", "get-query-results", "--query-execution-id", qid)
    rows = [[d.get("VarCharValue") for d in row["Data"]] for row in res["ResultSet"]["Rows"]]
    assert rows[0] == ["product_name", "orders", "units"]
    got = {name: int(n) for name, n, _ in rows[1:]}
    assert got == dict(expect)
    units = collections.Counter()
    for r in records:
        units[r["product_name"]] += r["quantity"]
    assert {name: int(u) for name, _, u in rows[1:]} == dict(units)
    info = res["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]
    assert [(c["Name"], c["Type"]) for c in info] == [
        ("product_name", "varchar"), ("orders", "bigint"), ("units", "bigint")]
    body = s3.get_object(Bucket=RESULTS_BUCKET, Key=f"q/{qid}.csv")["Body"].read().decode()
    assert list(csv.reader(io.StringIO(body))) == rows
    assert body.startswith('"product_name","orders","units"\n')

    # a result paged two rows at a time joins up to the whole, header first
    qid2 = athena.start_query_execution(
        QueryString="SELECT orderid, price FROM kinesis_firehose_destination_yb "
                    "WHERE partition_3 = '10' ORDER BY sequence_number",
        QueryExecutionContext={"Database": "sales_api_db"},
        ResultConfiguration={"OutputLocation": f"s3://{RESULTS_BUCKET}/q/"})["QueryExecutionId"]
    assert wait_query(athena, qid2)["Status"]["State"] == "SUCCEEDED"
    paged_rows, meta, pages = all_rows(athena, qid2, 2)
    want = [[r["orderid"], r["price"]] for r in records if r["creation_datetime"][11:13] == "10"]
    assert paged_rows[0] == ["orderid", "price"]
    assert [[o, float(p)] for o, p in paged_rows[1:]] == want
    assert pages == (len(want) + 1 + 1) // 2
    assert [c["Type"] for c in meta] == ["varchar", "double"]

    # listings know both executions, newest first
    ids = athena.list_query_executions()["QueryExecutionIds"]
    assert ids[:2] == [qid2, qid]


def test_bad_input_and_unknown_names(server):
    s3, glue, athena = server.client("s3"), server.client("glue"), server.client("athena")
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    out = f"s3://{RESULTS_BUCKET}/bad/"

    # a query on a column that does not exist goes FAILED with the reason
    qid = athena.start_query_execution(
        QueryString="SELECT no_such_column FROM kinesis_firehose_destination_yb",
        QueryExecutionContext={"Database": "sales_db"},
        ResultConfiguration={"OutputLocation": out})["QueryExecutionId"]
    q = wait_query(athena, qid)
    assert q["Status"]["State"] == "FAILED"
    assert "kinesis_firehose_destination_yb" in q["Status"]["StateChangeReason"]
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        athena.get_query_results(QueryExecutionId=qid)
    assert error_code(ex) == "InvalidRequestException"
    assert "FAILED" in ex.value.response["Error"]["Message"]
    assert "Contents" not in s3.list_objects_v2(Bucket=RESULTS_BUCKET)

    qid = athena.start_query_execution(QueryString="SELEKT 1", ResultConfiguration={
        "OutputLocation": out})["QueryExecutionId"]
    q = wait_query(athena, qid)
    assert q["Status"]["State"] == "FAILED" and "syntax error" in q["Status"]["StateChangeReason"]

    # Athena: unknown ids, missing output location, bad tokens
    for call in (lambda: athena.get_query_execution(QueryExecutionId="no-such-id"),
                 lambda: athena.get_query_results(QueryExecutionId="no-such-id"),
                 lambda: athena.start_query_execution(QueryString="SELECT 1"),
                 lambda: athena.start_query_execution(
                     QueryString="SELECT 1",
                     ResultConfiguration={"OutputLocation": "s3://no-such-bucket-here/"}),
                 lambda: athena.list_query_executions(NextToken="garbage")):
        with pytest.raises(botocore.exceptions.ClientError) as ex:
            call()
        assert error_code(ex) == "InvalidRequestException"
    res, proc = server.aws("athena", "get-query-execution", "--query-execution-id", "nope",
                           check=False)
    assert proc.returncode != 0 and b"InvalidRequestException" in proc.stderr

    # Glue: unknown crawler, table, database, classifier
    for call in (lambda: glue.get_crawler(Name="no-such-crawler"),
                 lambda: glue.start_crawler(Name="no-such-crawler"),
                 lambda: glue.get_table(DatabaseName="sales_db", Name="no_such_table"),
                 lambda: glue.get_tables(DatabaseName="no_such_db"),
                 lambda: glue.get_partitions(DatabaseName="sales_db", TableName="nope"),
                 lambda: glue.get_classifier(Name="nope"),
                 lambda: glue.delete_crawler(Name="nope")):
        with pytest.raises(botocore.exceptions.ClientError) as ex:
            call()
        assert error_code(ex) == "EntityNotFoundException", ex.value.response
    res, proc = server.aws("glue", "get-table", "--database-name", "sales_db", "--name", "x",
                           check=False)
    assert proc.returncode != 0 and b"EntityNotFoundException" in proc.stderr

    # Glue: invalid definitions change nothing
    before = glue.get_classifiers()["Classifiers"]
    for call in (lambda: glue.create_classifier(JsonClassifier={"Name": "bad", "JsonPath": "$["}),
                 lambda: glue.create_classifier(GrokClassifier={
                     "Name": "g", "Classification": "x", "GrokPattern": "%{WORD}"}),
                 lambda: glue.create_crawler(Name="c", Role="r", DatabaseName="sales_db",
                                             Targets={"S3Targets": [{"Path": "/not/s3"}]}),
                 lambda: glue.create_crawler(Name="c", Role="r", DatabaseName="sales_db",
                                             Targets={"S3Targets": []}),
                 lambda: glue.get_tables(DatabaseName="sales_db", NextToken="garbage"),
                 lambda: glue.delete_crawler(Name="sales-crawler")):
        with pytest.raises(botocore.exceptions.ClientError) as ex:
            call()
        assert error_code(ex) == "InvalidInputException", ex.value.response
    assert glue.get_classifiers()["Classifiers"] == before
    assert [c["Name"] for c in glue.get_crawlers()["Crawlers"]] == ["sales-crawler"]

    # duplicates
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        glue.create_database(DatabaseInput={"Name": "sales_db"})
    assert error_code(ex) == "AlreadyExistsException"
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        glue.create_classifier(JsonClassifier={"Name": "sales-json-classifier", "JsonPath": "$"})
    assert error_code(ex) == "AlreadyExistsException"


def test_configured_crawler_runs_once_at_a_time(server):
    s3, glue = server.client("s3"), server.client("glue")
    records = put_records(s3, per_object=200, objects_per_hour=6)
    glue.start_crawler(Name="sales-crawler")
    # while it is queued or running, a second start is refused (or it already finished)
    try:
        glue.start_crawler(Name="sales-crawler")
        raced = True
    except botocore.exceptions.ClientError as ex:
        assert ex.response["Error"]["Code"] == "CrawlerRunningException"
        assert glue.get_crawler(Name="sales-crawler")["Crawler"]["State"] in ("RUNNING", "READY")
        raced = False
    c = wait_crawler(server, "sales-crawler")
    assert c["LastCrawl"]["Status"] == "SUCCEEDED" and c["Classifiers"] == ["sales-json-classifier"]
    t = glue.get_table(DatabaseName="sales_db", Name=TABLE)["Table"]
    expected_runs = 1 if not raced else 2
    assert int(t["Parameters"]["recordCount"]) == len(records)
    metrics = glue.get_crawler_metrics(CrawlerNameList=["sales-crawler"])["CrawlerMetricsList"]
    assert metrics[0]["CrawlerName"] == "sales-crawler"
    assert metrics[0]["TablesCreated"] == (1 if expected_runs == 1 else 0)
    dbs = [d["Name"] for d in glue.get_databases()["DatabaseList"]]
    assert "sales_db" in dbs


def test_definitions_survive_a_restart(make_server):
    s = make_server().start()
    glue = s.client("glue")
    glue.create_classifier(JsonClassifier={"Name": "persisted", "JsonPath": "$[*]"})
    glue.create_database(DatabaseInput={"Name": "Kept_DB", "Description": "d",
                                        "Parameters": {"k": "v"}})
    glue.create_crawler(Name="persisted-crawler", Role="r", DatabaseName="kept_db",
                        Targets={"S3Targets": [{"Path": f"s3://{BUCKET}/2026/"}]},
                        Classifiers=["persisted"])
    assert s.stop() == 0
    s.start()
    glue = s.client("glue")
    cl = glue.get_classifier(Name="persisted")["Classifier"]["JsonClassifier"]
    assert cl["JsonPath"] == "$[*]"
    db = glue.get_database(Name="kept_db")["Database"]
    assert db["Name"] == "kept_db" and db["Description"] == "d" and db["Parameters"] == {"k": "v"}
    names = [c["Name"] for c in glue.get_crawlers()["Crawlers"]]
    assert names == ["persisted-crawler", "sales-crawler"]
    # pages of one crawler each join up
    first = glue.get_crawlers(MaxResults=1)
    second = glue.get_crawlers(MaxResults=1, NextToken=first["NextToken"])
    assert [first["Crawlers"][0]["Name"], second["Crawlers"][0]["Name"]] == names
    assert "NextToken" not in second
    glue.delete_crawler(Name="persisted-crawler")
    glue.delete_classifier(Name="persisted")
    assert [c["Name"] for c in glue.get_crawlers()["Crawlers"]] == ["sales-crawler"]
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        glue.get_classifier(Name="persisted")
    assert error_code(ex) == "EntityNotFoundException"
