"""The Glue Data Catalog API beyond crawling, end to end with boto3 and the aws cli against
`salespipe serve`: UpdateCrawler/StopCrawler state transitions (RUNNING -> STOPPING -> READY,
a stopped crawl keeps a consistent part and the next crawl finishes the job) and their
errors; UpdateDatabase/DeleteDatabase; hand-made tables (CreateTable over objects put with
S3 PutObject) with their partitions, read back through GetTable/GetTables/GetPartition(s),
`salespipe ddl`, `salespipe query` and Athena, kept across a restart; GetPartitions
Expression compared with the same predicate evaluated here over every partition; and
crawler Exclusions, TablePrefix and Schedule."""
import json
import os
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import BIN, Server

ROLE = "arn:aws:iam::000000000000:role/any"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"


def error_of(call, *args, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        call(*args, **kw)
    return ei.value.response["Error"]["Code"], ei.value.response["Error"]["Message"]


def cli_query(data_dir, sql):
    out = subprocess.run([BIN, "query", sql, "--format", "csv", "--data-dir", data_dir],
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()
    lines = out.stdout.decode().strip().splitlines()
    return [line.replace('"', "").split(",") for line in lines[1:]]


def wait_ready(glue, name, timeout=120):
    seen = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = glue.get_crawler(Name=name)["Crawler"]
        if not seen or seen[-1] != c["State"]:
            seen.append(c["State"])
        if c["State"] == "READY" and "LastCrawl" in c:
            return c, seen
        time.sleep(0.02)
    raise AssertionError(f"crawler {name} never became READY: {seen}")


def write_objects(data_dir, bucket, prefix, n, per_object=5):
    """n JSON-lines objects in 10 folders, written into the lake directory (the objects are
    the files at their keys): fast enough to give the crawler a long run."""
    root = os.path.join(data_dir, "lake", bucket, prefix)
    for i in range(n):
        path = os.path.join(root, f"f{i % 10}", f"obj-{i:05d}.json")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("".join(json.dumps({"id": i * per_object + k, "k": k}) + "\n"
                            for k in range(per_object)))
    return n * per_object


# Objects of the crawl that is stopped: at 5 ms an object (see lingering_server), a run of
# at least three seconds.
N_BIG = 600

# ---- UpdateCrawler / StopCrawler ------------------------------------------------------------


@pytest.fixture
def lingering_server(data_dir):
    """A server whose crawls take 5 ms an object and whose stopped crawls stay STOPPING for
    two seconds after they committed, so RUNNING, STOPPING and the errors they give can be
    seen whatever the speed of the build and the machine."""
    s = Server(data_dir, env={"SALESPIPE_TEST_CRAWL_STOP_LINGER_MS": "2000",
                              "SALESPIPE_TEST_CRAWL_OBJECT_DELAY_MS": "5"}).start()
    yield s
    rc = s.stop()
    assert rc == 0, f"salespipe exited with {rc}\n{s.read_log()[-5000:]}"


def test_update_and_stop_crawler_state_transitions(lingering_server, data_dir):
    server = lingering_server
    glue, s3 = server.client("glue"), server.client("s3")
    s3.create_bucket(Bucket="crawl-src")
    total = write_objects(data_dir, "crawl-src", "big", N_BIG)
    glue.create_crawler(Name="big", Role=ROLE, DatabaseName="sales_db",
                        Targets={"S3Targets": [{"Path": "s3://crawl-src/big/"}]})

    # errors on a READY crawler and on names that do not exist
    assert error_of(glue.stop_crawler, Name="big") == (
        "CrawlerNotRunningException", "Crawler with name big isn't running.")
    assert error_of(glue.stop_crawler, Name="nope")[0] == "EntityNotFoundException"
    _, out = server.aws("glue", "stop-crawler", "--name", "big", check=False)
    assert out.returncode != 0 and b"CrawlerNotRunningException" in out.stderr
    assert error_of(glue.update_crawler, Name="nope", Description="x")[0] == "EntityNotFoundException"
    assert error_of(glue.update_crawler, Name="sales-crawler", Description="x")[0] == \
        "InvalidInputException"  # the configured one is changed in the configuration
    code, msg = error_of(glue.update_crawler, Name="big", Schedule="cron(61 12 * * ? *)")
    assert code == "InvalidInputException" and "Minutes" in msg
    code, msg = error_of(glue.update_crawler, Name="big", Schedule="cron(0 12 * * * *)")
    assert code == "InvalidInputException" and "'?'" in msg
    assert error_of(glue.update_crawler, Name="big",
                    RecrawlPolicy={"RecrawlBehavior": "CRAWL_EVENT_MODE"})[0] == "InvalidInputException"
    assert error_of(glue.update_crawler, Name="big",
                    Targets={"S3Targets": [{"Path": "s3://crawl-src/big/",
                                            "Exclusions": ["{a,{b}}"]}]})[0] == "InvalidInputException"
    assert error_of(glue.update_crawler, Name="big", Configuration="not json")[0] == \
        "InvalidInputException"

    # UpdateCrawler changes what it names and keeps the rest
    before = glue.get_crawler(Name="big")["Crawler"]
    glue.update_crawler(Name="big", Description="the big one", TablePrefix="pre_",
                        Schedule="cron(15 12 * * ? *)",
                        SchemaChangePolicy={"UpdateBehavior": "LOG",
                                            "DeleteBehavior": "DEPRECATE_IN_DATABASE"},
                        RecrawlPolicy={"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
                        Configuration='{"Version":1.0}')
    c = glue.get_crawler(Name="big")["Crawler"]
    assert c["Description"] == "the big one" and c["TablePrefix"] == "pre_"
    assert c["Schedule"] == {"ScheduleExpression": "cron(15 12 * * ? *)", "State": "SCHEDULED"}
    assert c["SchemaChangePolicy"]["UpdateBehavior"] == "LOG"
    assert c["RecrawlPolicy"] == {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"}
    assert c["Configuration"] == '{"Version":1.0}'
    assert c["Version"] == before["Version"] + 1 and c["Role"] == ROLE
    assert c["Targets"]["S3Targets"][0]["Path"] == "s3://crawl-src/big/"
    assert c["State"] == "READY"
    # the aws cli too; an empty Schedule removes it
    server.aws("glue", "update-crawler", "--name", "big", "--schedule", "",
               "--schema-change-policy", "UpdateBehavior=UPDATE_IN_DATABASE,DeleteBehavior=LOG")
    c = server.aws("glue", "get-crawler", "--name", "big")["Crawler"]
    assert "Schedule" not in c and c["Description"] == "the big one"

    # RUNNING -> STOPPING -> READY, with the errors of each state
    glue.start_crawler(Name="big")
    assert glue.get_crawler(Name="big")["Crawler"]["State"] == "RUNNING"
    code, msg = error_of(glue.update_crawler, Name="big", Description="while running")
    assert code == "CrawlerRunningException" and "running" in msg
    assert error_of(glue.start_crawler, Name="big")[0] == "CrawlerRunningException"
    time.sleep(0.5)  # let it read some objects
    assert glue.get_crawler(Name="big")["Crawler"]["State"] == "RUNNING"
    glue.stop_crawler(Name="big")
    assert glue.get_crawler(Name="big")["Crawler"]["State"] == "STOPPING"
    assert error_of(glue.stop_crawler, Name="big")[0] == "CrawlerStoppingException"
    assert error_of(glue.update_crawler, Name="big", Description="x")[0] == "CrawlerRunningException"
    c, seen = wait_ready(glue, "big")
    assert seen[0] == "STOPPING" and seen[-1] == "READY"
    assert c["LastCrawl"]["Status"] == "CANCELLED"

    # what the stopped crawl kept is consistent: a table with the records of the objects it
    # read, no more; a later crawl finishes the job, reading only the rest
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName="sales_db")["TableList"]}
    assert "pre_big" in tables
    params = tables["pre_big"]["Parameters"]
    objects_read = int(params["objectCount"])
    assert 0 < objects_read < N_BIG
    assert int(params["recordCount"]) == objects_read * 5
    assert c["LastCrawl"]["Status"] == "CANCELLED"
    glue.start_crawler(Name="big")
    c, _ = wait_ready(glue, "big")
    assert c["LastCrawl"]["Status"] == "SUCCEEDED"
    t = glue.get_table(DatabaseName="sales_db", Name="pre_big")["Table"]
    assert int(t["Parameters"]["recordCount"]) == total
    assert int(t["Parameters"]["objectCount"]) == N_BIG
    assert len(glue.get_partitions(DatabaseName="sales_db", TableName="pre_big")["Partitions"]) == 10
    assert int(cli_query(data_dir, "SELECT count(*) FROM sales_db.pre_big")[0][0]) == total
    # the crawler can be changed again once READY
    glue.update_crawler(Name="big", Description="after")
    assert glue.get_crawler(Name="big")["Crawler"]["Description"] == "after"


def test_schedule_and_table_prefix_on_create(server):
    glue = server.client("glue")
    glue.create_crawler(Name="sched", Role=ROLE, DatabaseName="sales_db", TablePrefix="Raw_",
                        Schedule="cron(0/30 8-18 ? * MON-FRI *)",
                        Targets={"S3Targets": [{"Path": "s3://kinesis-firehose-destination-yb/"}]})
    c = glue.get_crawler(Name="sched")["Crawler"]
    assert c["Schedule"]["State"] == "SCHEDULED" and c["TablePrefix"] == "raw_"
    assert c["State"] == "READY"
    for bad in ["cron(0 12 * * ?)", "rate(5 minutes)", "cron(0 25 * * ? *)",
                "cron(0 12 ? * FUNDAY *)", "cron(0 12 1 * 2 *)", "cron(0 12 * 13 ? *)"]:
        code, msg = error_of(glue.create_crawler, Name="bad", Role=ROLE, DatabaseName="sales_db",
                             Schedule=bad,
                             Targets={"S3Targets": [{"Path": "s3://kinesis-firehose-destination-yb/"}]})
        assert code == "InvalidInputException" and "Schedule expression" in msg, (bad, msg)
    code, _ = error_of(glue.create_crawler, Name="bad", Role=ROLE, DatabaseName="sales_db",
                       TablePrefix="x" * 129,
                       Targets={"S3Targets": [{"Path": "s3://kinesis-firehose-destination-yb/"}]})
    assert code == "InvalidInputException"


# ---- Exclusions ----------------------------------------------------------------------------


def test_exclusions_keep_matching_objects_out_of_the_crawl(server):
    glue, s3 = server.client("glue"), server.client("s3")
    s3.create_bucket(Bucket="excl")
    keys = {
        "in/2026/01/a.json": 3, "in/2026/01/b.csv.json": 2, "in/2026/02/c.json": 4,
        "in/2026/02/tmp/d.json": 5, "in/2026/03/e.json": 6, "in/2026/03/e.bak": 7,
        "in/2026/04/f.json": 8,
    }
    for key, n in keys.items():
        s3.put_object(Bucket="excl", Key=key,
                      Body="".join(json.dumps({"key": key, "i": i}) + "\n" for i in range(n)).encode())
    # ** crosses folders, * and ? stay in one, {..} and [..] as Glue has them
    exclusions = ["**/tmp/**", "**.bak", "2026/0[4-9]/**", "*/01/{b,z}.csv.json"]
    glue.create_crawler(Name="excl", Role=ROLE, DatabaseName="sales_db",
                        Targets={"S3Targets": [{"Path": "s3://excl/in/", "Exclusions": exclusions}]})
    c = glue.get_crawler(Name="excl")["Crawler"]
    assert c["Targets"]["S3Targets"][0]["Exclusions"] == exclusions
    glue.start_crawler(Name="excl")
    c, _ = wait_ready(glue, "excl")
    assert c["LastCrawl"]["Status"] == "SUCCEEDED"
    t = glue.get_table(DatabaseName="sales_db", Name="in")["Table"]
    kept = {"in/2026/01/a.json", "in/2026/02/c.json", "in/2026/03/e.json"}
    assert int(t["Parameters"]["objectCount"]) == len(kept)
    assert int(t["Parameters"]["recordCount"]) == sum(keys[k] for k in kept)
    parts = glue.get_partitions(DatabaseName="sales_db", TableName="in")["Partitions"]
    assert sorted(p["Values"] for p in parts) == [["2026", "01"], ["2026", "02"], ["2026", "03"]]
    # invalid patterns are refused with what is wrong
    for bad, why in [("{a,{b}}", "nested"), ("[abc", "not closed"), ("a\\", "backslash"),
                     ("{a,b", "not closed")]:
        code, msg = error_of(glue.create_crawler, Name="bad", Role=ROLE, DatabaseName="sales_db",
                             Targets={"S3Targets": [{"Path": "s3://excl/in/", "Exclusions": [bad]}]})
        assert code == "InvalidInputException" and why in msg, (bad, msg)


# ---- databases -----------------------------------------------------------------------------


def test_update_and_delete_database(server):
    glue = server.client("glue")
    glue.create_database(DatabaseInput={"Name": "Shop", "Description": "one"})
    glue.update_database(Name="shop", DatabaseInput={"Name": "shop", "Description": "two",
                                                     "Parameters": {"k": "v"}})
    db = glue.get_database(Name="shop")["Database"]
    assert db["Description"] == "two" and db["Parameters"] == {"k": "v"}
    assert error_of(glue.update_database, Name="nope", DatabaseInput={"Name": "nope"})[0] == \
        "EntityNotFoundException"
    assert error_of(glue.update_database, Name="shop", DatabaseInput={"Name": "other"})[0] == \
        "InvalidInputException"
    glue.create_table(DatabaseName="shop", TableInput={
        "Name": "t", "PartitionKeys": [{"Name": "p", "Type": "string"}],
        "StorageDescriptor": {"Location": "s3://shopbucket/t/",
                              "Columns": [{"Name": "a", "Type": "string"}]}})
    glue.create_partition(DatabaseName="shop", TableName="t", PartitionInput={"Values": ["1"]})
    server.aws("glue", "delete-database", "--name", "shop")
    assert error_of(glue.get_database, Name="shop")[0] == "EntityNotFoundException"
    assert error_of(glue.get_tables, DatabaseName="shop")[0] == "EntityNotFoundException"
    assert error_of(glue.delete_database, Name="shop")[0] == "EntityNotFoundException"
    # a database of the same name starts empty
    glue.create_database(DatabaseInput={"Name": "shop"})
    assert glue.get_tables(DatabaseName="shop")["TableList"] == []
    assert error_of(glue.get_partitions, DatabaseName="shop", TableName="t")[0] == \
        "EntityNotFoundException"


def test_deleted_crawled_table_is_made_again_by_the_next_crawl(server):
    glue, s3 = server.client("glue"), server.client("s3")
    s3.create_bucket(Bucket="again")
    s3.put_object(Bucket="again", Key="d/2026/x.json", Body=b'{"a": 1}\n{"a": 2}\n')
    glue.create_crawler(Name="again", Role=ROLE, DatabaseName="sales_db",
                        Targets={"S3Targets": [{"Path": "s3://again/d/"}]})
    glue.start_crawler(Name="again")
    wait_ready(glue, "again")
    glue.delete_table(DatabaseName="sales_db", Name="d")
    assert error_of(glue.get_table, DatabaseName="sales_db", Name="d")[0] == "EntityNotFoundException"
    glue.start_crawler(Name="again")
    wait_ready(glue, "again")
    t = glue.get_table(DatabaseName="sales_db", Name="d")["Table"]
    assert t["Parameters"]["recordCount"] == "2"
    assert len(glue.get_partitions(DatabaseName="sales_db", TableName="d")["Partitions"]) == 1


# ---- hand-made tables ----------------------------------------------------------------------

ORDERS = {
    "eu": [{"id": 1, "name": "Laptop", "price": 100.5}, {"id": 2, "name": "Phone", "price": 20.0}],
    "us": [{"id": 3, "name": "Tablet", "price": 7.25}],
    "ap": [{"id": 4, "name": "Charger", "price": 1.0}, {"id": 5, "name": "Phone", "price": 2.0},
           {"id": 6, "name": "Laptop", "price": 3.0}],
}


def orders_table(columns=None):
    return {
        "Name": "Orders", "Description": "made by hand", "Owner": "me",
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "json", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": "region", "Type": "string"}],
        "StorageDescriptor": {
            "Columns": columns or [{"Name": "id", "Type": "int"},
                                   {"Name": "Name", "Type": "string", "Comment": "product"},
                                   {"Name": "price", "Type": "double"}],
            "Location": "s3://handmade/orders/",
            "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
            "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
            "SerdeInfo": {"SerializationLibrary": JSON_SERDE, "Parameters": {"paths": "id,name,price"}},
        },
    }


def athena_rows(server, sql, database):
    athena, s3 = server.client("athena"), server.client("s3")
    try:
        s3.create_bucket(Bucket="athena-out")
    except botocore.exceptions.ClientError:
        pass
    qid = athena.start_query_execution(
        QueryString=sql, QueryExecutionContext={"Database": database},
        ResultConfiguration={"OutputLocation": "s3://athena-out/q/"})["QueryExecutionId"]
    deadline = time.time() + 60
    while time.time() < deadline:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if q["Status"]["State"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.05)
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    rows = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return [[c.get("VarCharValue") for c in r["Data"]] for r in rows[1:]]


def test_hand_made_table_is_stored_listed_and_queryable(make_server, data_dir):
    server = make_server().start()
    glue, s3 = server.client("glue"), server.client("s3")
    s3.create_bucket(Bucket="handmade")
    for region, rows in ORDERS.items():
        s3.put_object(Bucket="handmade", Key=f"orders/region={region}/part-0.json",
                      Body="".join(json.dumps(r) + "\n" for r in rows).encode())
    glue.create_database(DatabaseInput={"Name": "shop"})

    # refusals first: nothing of them is kept
    assert error_of(glue.create_table, DatabaseName="nope", TableInput=orders_table())[0] == \
        "EntityNotFoundException"
    bad = orders_table()
    bad["StorageDescriptor"]["Location"] = "file:///etc/"
    code, msg = error_of(glue.create_table, DatabaseName="shop", TableInput=bad)
    assert code == "InvalidInputException" and "Location" in msg and "/etc" in msg
    bad = orders_table([{"Name": "region", "Type": "string"}])
    assert error_of(glue.create_table, DatabaseName="shop", TableInput=bad)[0] == "InvalidInputException"
    assert glue.get_tables(DatabaseName="shop")["TableList"] == []

    server.aws("glue", "create-table", "--database-name", "shop", "--table-input",
               json.dumps(orders_table()))
    code, msg = error_of(glue.create_table, DatabaseName="shop", TableInput=orders_table())
    assert (code, msg) == ("AlreadyExistsException", "Table orders already exists.")

    t = glue.get_table(DatabaseName="shop", Name="ORDERS")["Table"]
    assert t["Name"] == "orders" and t["DatabaseName"] == "shop"
    assert t["TableType"] == "EXTERNAL_TABLE" and t["Description"] == "made by hand"
    assert t["Parameters"] == {"classification": "json", "EXTERNAL": "TRUE"}
    sd = t["StorageDescriptor"]
    assert sd["Location"] == "s3://handmade/orders/"
    assert sd["Columns"] == [{"Name": "id", "Type": "int"},
                             {"Name": "name", "Type": "string", "Comment": "product"},
                             {"Name": "price", "Type": "double"}]
    assert sd["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE
    assert t["PartitionKeys"] == [{"Name": "region", "Type": "string"}]
    assert [x["Name"] for x in glue.get_tables(DatabaseName="shop")["TableList"]] == ["orders"]

    # partitions: Hive's layout when no Location is given; errors per partition
    r = glue.batch_create_partition(DatabaseName="shop", TableName="orders", PartitionInputList=[
        {"Values": ["eu"]}, {"Values": ["us"], "Parameters": {"note": "x"}},
        {"Values": ["ap"], "StorageDescriptor": {"Location": "s3://handmade/orders/region=ap/"}},
        {"Values": ["eu"]}, {"Values": ["a", "b"]},
        {"Values": ["zz"], "StorageDescriptor": {"Location": "s3://otherbucket/x/"}}])
    errors = {json.dumps(e["PartitionValues"]): e["ErrorDetail"]["ErrorCode"] for e in r["Errors"]}
    assert errors == {'["eu"]': "AlreadyExistsException", '["a", "b"]': "InvalidInputException",
                      '["zz"]': "InvalidInputException"}
    assert error_of(glue.create_partition, DatabaseName="shop", TableName="orders",
                    PartitionInput={"Values": ["us"]})[0] == "AlreadyExistsException"
    p = glue.get_partition(DatabaseName="shop", TableName="orders", PartitionValues=["us"])["Partition"]
    assert p["Values"] == ["us"] and p["Parameters"] == {"note": "x"}
    assert p["StorageDescriptor"]["Location"] == "s3://handmade/orders/region=us/"
    assert p["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == JSON_SERDE
    assert error_of(glue.get_partition, DatabaseName="shop", TableName="orders",
                    PartitionValues=["mars"]) == ("EntityNotFoundException", "Cannot find partition.")
    assert len(glue.get_partitions(DatabaseName="shop", TableName="orders")["Partitions"]) == 3

    # queried through the catalog: salespipe query, Athena, DDL
    expect = sorted([reg, str(len(rows)), f"{sum(x['price'] for x in rows):g}"]
                    for reg, rows in ORDERS.items())
    got = cli_query(data_dir, "SELECT region, count(*), sum(price) FROM shop.orders GROUP BY region")
    assert sorted([a, b, f"{float(c):g}"] for a, b, c in got) == expect
    got = athena_rows(server, "SELECT region, count(*), sum(price) FROM orders GROUP BY region "
                              "ORDER BY region", "shop")
    assert sorted([a, b, f"{float(c):g}"] for a, b, c in got) == expect
    got = cli_query(data_dir, "SELECT name FROM shop.orders WHERE region = 'ap' AND id = 5")
    assert got == [["Phone"]]
    ddl = subprocess.run([BIN, "ddl", "--data-dir", data_dir], capture_output=True, timeout=60)
    assert ddl.returncode == 0
    text = ddl.stdout.decode()
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS `shop`.`orders` (\n  `id` int,\n  `name` string," in text
    assert "LOCATION 's3://handmade/orders/'" in text
    for region in ORDERS:
        assert (f"ALTER TABLE `shop`.`orders` ADD IF NOT EXISTS PARTITION (`region`='{region}') "
                f"LOCATION 's3://handmade/orders/region={region}/'") in text

    # kept across a restart
    assert server.stop() == 0
    server = make_server().start()
    glue, s3 = server.client("glue"), server.client("s3")
    assert glue.get_table(DatabaseName="shop", Name="orders")["Table"]["Description"] == "made by hand"
    assert len(glue.get_partitions(DatabaseName="shop", TableName="orders")["Partitions"]) == 3

    # UpdateTable: a new column appears in queries; a new version
    v0 = glue.get_table(DatabaseName="shop", Name="orders")["Table"]["VersionId"]
    upd = orders_table([{"Name": "id", "Type": "int"}, {"Name": "name", "Type": "string"},
                        {"Name": "price", "Type": "double"}, {"Name": "qty", "Type": "bigint"}])
    s3.put_object(Bucket="handmade", Key="orders/region=us/part-1.json",
                  Body=b'{"id": 7, "name": "Laptop", "price": 5.0, "qty": 9}\n')
    glue.update_table(DatabaseName="shop", TableInput=upd)
    t = glue.get_table(DatabaseName="shop", Name="orders")["Table"]
    assert int(t["VersionId"]) == int(v0) + 1
    assert [c["Name"] for c in t["StorageDescriptor"]["Columns"]] == ["id", "name", "price", "qty"]
    assert cli_query(data_dir, "SELECT id, qty FROM shop.orders WHERE qty IS NOT NULL") == [["7", "9"]]
    assert error_of(glue.update_table, DatabaseName="shop",
                    TableInput=dict(upd, Name="ghost"))[0] == "EntityNotFoundException"

    # DeletePartition: its rows leave the table
    server.aws("glue", "delete-partition", "--database-name", "shop", "--table-name", "orders",
               "--partition-values", "ap")
    assert error_of(glue.delete_partition, DatabaseName="shop", TableName="orders",
                    PartitionValues=["ap"])[0] == "EntityNotFoundException"
    got = cli_query(data_dir, "SELECT region, count(*) FROM shop.orders GROUP BY region ORDER BY region")
    assert got == [["eu", "2"], ["us", "2"]]

    # DeleteTable / BatchDeleteTable
    glue.create_table(DatabaseName="shop", TableInput=dict(orders_table(), Name="copy"))
    r = glue.batch_delete_table(DatabaseName="shop", TablesToDelete=["copy", "ghost"])
    assert [(e["TableName"], e["ErrorDetail"]["ErrorCode"]) for e in r["Errors"]] == \
        [("ghost", "EntityNotFoundException")]
    glue.delete_table(DatabaseName="shop", Name="orders")
    assert error_of(glue.get_table, DatabaseName="shop", Name="orders")[0] == "EntityNotFoundException"
    assert error_of(glue.delete_table, DatabaseName="shop", Name="orders")[0] == "EntityNotFoundException"
    assert glue.get_tables(DatabaseName="shop")["TableList"] == []
    assert server.stop() == 0


# ---- GetPartitions Expression --------------------------------------------------------------


def like(value, pattern):
    import re
    rx = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, value, re.S) is not None


# (expression, the same predicate in Python over p0..p3 strings and year int)
EXPRESSIONS = [
    ("partition_0 = '2026' AND partition_3 IN ('13','14')",
     lambda p: p[0] == "2026" and p[3] in ("13", "14")),
    ("partition_2 > '10'", lambda p: p[2] > "10"),  # strings compare as text: '2' > '10'
    ("year > 2025", lambda p: p[4] > 2025),
    ("year >= 2025 AND year <= 2025", lambda p: p[4] == 2025),
    ("year <> 2026 OR partition_1 < '03'", lambda p: p[4] != 2026 or p[1] < "03"),
    ("partition_1 BETWEEN '02' AND '04'", lambda p: "02" <= p[1] <= "04"),
    ("year NOT BETWEEN 2025 AND 2026", lambda p: not 2025 <= p[4] <= 2026),
    ("partition_2 LIKE '1%' AND NOT partition_3 LIKE '_3'",
     lambda p: like(p[2], "1%") and not like(p[3], "_3")),
    ("(partition_0 = '2024' OR partition_0 = '2026') AND partition_3 NOT IN ('00', '13')",
     lambda p: p[0] in ("2024", "2026") and p[3] not in ("00", "13")),
    ("NOT (year = 2026) AND partition_1 = '01'", lambda p: p[4] != 2026 and p[1] == "01"),
    ("partition_0 = 2026 or year = '2024'", lambda p: p[0] == "2026" or p[4] == 2024),
    ("partition_3 >= '13' and partition_3 < '9' and partition_2 != '10'",
     lambda p: "13" <= p[3] < "9" and p[2] != "10"),
]


def test_get_partitions_expression_selects_exactly_the_matching_partitions(server):
    glue = server.client("glue")
    glue.create_database(DatabaseInput={"Name": "pe"})
    glue.create_table(DatabaseName="pe", TableInput={
        "Name": "t", "Parameters": {"classification": "json"},
        "PartitionKeys": [{"Name": f"partition_{i}", "Type": "string"} for i in range(4)] +
                         [{"Name": "year", "Type": "int"}],
        "StorageDescriptor": {"Location": "s3://pebucket/t/", "Columns": [{"Name": "a", "Type": "string"}]}})
    parts = []
    for y in ("2024", "2025", "2026"):
        for mo in ("01", "02", "03", "04"):
            for d in ("1", "10", "2"):
                for h in ("00", "09", "13", "14", "23"):
                    parts.append([y, mo, d, h, y])
    for i in range(0, len(parts), 100):
        r = glue.batch_create_partition(DatabaseName="pe", TableName="t", PartitionInputList=[
            {"Values": v} for v in parts[i:i + 100]])
        assert r["Errors"] == []
    allp = glue.get_paginator("get_partitions").paginate(DatabaseName="pe", TableName="t")
    assert sum(len(pg["Partitions"]) for pg in allp) == len(parts)

    for expr, pred in EXPRESSIONS:
        want = sorted(v for v in parts if pred(v[:4] + [int(v[4])]))
        pages = glue.get_paginator("get_partitions").paginate(
            DatabaseName="pe", TableName="t", Expression=expr, PaginationConfig={"PageSize": 7})
        got = sorted(p["Values"] for pg in pages for p in pg["Partitions"])
        assert got == want, expr
        assert want, f"{expr} selects nothing: a weak test"
    # the aws cli sends the same
    out = server.aws("glue", "get-partitions", "--database-name", "pe", "--table-name", "t",
                     "--expression", "partition_0 = '2026' AND partition_3 IN ('13','14')")
    assert len(out["Partitions"]) == 4 * 3 * 2

    # bad expressions are refused, naming the problem
    for expr, needle in [("colour = 'red'", "Unknown column 'colour'"),
                         ("year = 'abc'", "not an integer"),
                         ("year LIKE '20%'", "doesn't support operation 'LIKE'"),
                         ("partition_0 = '2026' AND", "expected a partition key"),
                         ("partition_0 = '2026", "unterminated"),
                         ("partition_0 == '1'", "literal"),
                         ("(" * 100 + "year = 1" + ")" * 100, "nested deeper"),
                         ("partition_0 = '1'; DELETE", "unexpected character")]:
        code, msg = error_of(glue.get_partitions, DatabaseName="pe", TableName="t", Expression=expr)
        assert code == "InvalidInputException" and needle in msg, (expr, msg)
    _, out = server.aws("glue", "get-partitions", "--database-name", "pe", "--table-name", "t",
                        "--expression", "partition_9 = '1'", check=False)
    assert out.returncode != 0 and b"InvalidInputException" in out.stderr
