"""Athena workgroups, named queries and the catalog view, with boto3 (and its paginators) and
the aws cli against `salespipe serve`: the `primary` workgroup exists by default, a
workgroup's OutputLocation is used when StartQueryExecution gives none and over the
request's when it enforces its configuration, a DISABLED workgroup refuses queries, the
primary workgroup cannot be deleted and a workgroup holding named queries only with
RecursiveDeleteOption; named queries are created (idempotently with ClientRequestToken),
listed per workgroup in pages, batch-read and deleted; workgroups and named queries survive a
restart; BatchGetQueryExecution and GetQueryRuntimeStatistics report executions; the Glue
catalog reads back through ListDataCatalogs / ListDatabases / ListTableMetadata and their
Get operations; hostile names, ids and tokens get InvalidRequestException."""
import http.client
import json
import time

import botocore.exceptions
import pytest

RESULTS = "athena-results-wg"


def wait_query(athena, qid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if q["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return q
        time.sleep(0.05)
    raise AssertionError(f"query {qid} never finished")


def error_of(fn, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ex:
        fn(**kw)
    return ex.value.response["Error"]["Code"], ex.value.response["Error"]["Message"]


def test_workgroups_and_their_output_location(server):
    athena = server.client("athena")
    server.client("s3").create_bucket(Bucket=RESULTS)
    # primary exists by default
    wgs = athena.list_work_groups()["WorkGroups"]
    assert [w["Name"] for w in wgs] == ["primary"] and wgs[0]["State"] == "ENABLED"
    prim = athena.get_work_group(WorkGroup="primary")["WorkGroup"]
    assert prim["Configuration"]["EngineVersion"]["EffectiveEngineVersion"]
    # a query in primary without an output location is refused as Athena does
    code, msg = error_of(athena.start_query_execution, QueryString="SELECT 1")
    assert code == "InvalidRequestException" and "output location" in msg.lower()

    athena.create_work_group(Name="analysts", Description="team",
                             Configuration={"ResultConfiguration": {
                                 "OutputLocation": f"s3://{RESULTS}/analysts/"},
                                 "EnforceWorkGroupConfiguration": False},
                             Tags=[{"Key": "team", "Value": "sales"}])
    wg = athena.get_work_group(WorkGroup="analysts")["WorkGroup"]
    assert wg["Description"] == "team" and wg["State"] == "ENABLED"
    assert wg["Configuration"]["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/analysts/"
    assert wg["Configuration"]["EnforceWorkGroupConfiguration"] is False
    code, _ = error_of(athena.create_work_group, Name="analysts")
    assert code == "InvalidRequestException"

    # the workgroup's location when the request gives none
    qid = athena.start_query_execution(QueryString="SELECT 1 AS one", WorkGroup="analysts")["QueryExecutionId"]
    q = wait_query(athena, qid)
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    assert q["WorkGroup"] == "analysts"
    assert q["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/analysts/{qid}.csv"
    # the request's location when the workgroup does not enforce its own
    qid2 = athena.start_query_execution(QueryString="SELECT 2", WorkGroup="analysts",
                                        ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/mine/"})["QueryExecutionId"]
    assert wait_query(athena, qid2)["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/mine/{qid2}.csv"
    # enforced: the workgroup's location wins over the request's
    athena.update_work_group(WorkGroup="analysts", ConfigurationUpdates={
        "EnforceWorkGroupConfiguration": True,
        "ResultConfigurationUpdates": {"OutputLocation": f"s3://{RESULTS}/enforced/"}})
    qid3 = athena.start_query_execution(QueryString="SELECT 3", WorkGroup="analysts",
                                        ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/mine/"})["QueryExecutionId"]
    assert wait_query(athena, qid3)["ResultConfiguration"]["OutputLocation"] == f"s3://{RESULTS}/enforced/{qid3}.csv"
    # executions are listed per workgroup
    ids = athena.list_query_executions(WorkGroup="analysts")["QueryExecutionIds"]
    assert set(ids) == {qid, qid2, qid3}
    assert athena.list_query_executions()["QueryExecutionIds"] == []
    # BatchGetQueryExecution and GetQueryRuntimeStatistics
    got = athena.batch_get_query_execution(QueryExecutionIds=[qid, "no-such-id"])
    assert [x["QueryExecutionId"] for x in got["QueryExecutions"]] == [qid]
    assert got["UnprocessedQueryExecutionIds"][0]["QueryExecutionId"] == "no-such-id"
    stats = athena.get_query_runtime_statistics(QueryExecutionId=qid)["QueryRuntimeStatistics"]
    assert stats["Rows"]["OutputRows"] == 1 and "TotalExecutionTimeInMillis" in stats["Timeline"]

    # DISABLED refuses queries
    athena.update_work_group(WorkGroup="analysts", State="DISABLED", Description="off")
    code, msg = error_of(athena.start_query_execution, QueryString="SELECT 1", WorkGroup="analysts")
    assert code == "InvalidRequestException" and "disabled" in msg
    assert athena.get_work_group(WorkGroup="analysts")["WorkGroup"]["Description"] == "off"
    # RemoveOutputLocation
    athena.update_work_group(WorkGroup="analysts", State="ENABLED", ConfigurationUpdates={
        "ResultConfigurationUpdates": {"RemoveOutputLocation": True}})
    assert "OutputLocation" not in athena.get_work_group(WorkGroup="analysts")["WorkGroup"][
        "Configuration"].get("ResultConfiguration", {})

    # unknown workgroups
    for fn, kw in [(athena.get_work_group, {"WorkGroup": "nope"}),
                   (athena.start_query_execution, {"QueryString": "SELECT 1", "WorkGroup": "nope",
                                                   "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS}/"}}),
                   (athena.delete_work_group, {"WorkGroup": "nope"}),
                   (athena.update_work_group, {"WorkGroup": "nope", "State": "ENABLED"})]:
        code, msg = error_of(fn, **kw)
        assert code == "InvalidRequestException" and "nope" in msg, (fn, msg)
    code, _ = error_of(athena.delete_work_group, WorkGroup="primary")
    assert code == "InvalidRequestException"

    # paging with the paginator, one per page
    for i in range(3):
        server.aws("athena", "create-work-group", "--name", f"wg-{i}")
    pages, token = [], None  # list_work_groups has no botocore paginator: NextToken by hand
    while True:
        pages.append(athena.list_work_groups(MaxResults=1, **({"NextToken": token} if token else {})))
        token = pages[-1].get("NextToken")
        if not token:
            break
    names = [w["Name"] for p in pages for w in p["WorkGroups"]]
    assert names == ["analysts", "primary", "wg-0", "wg-1", "wg-2"] and len(pages) == 5
    out = server.aws("athena", "list-work-groups")
    assert [w["Name"] for w in out["WorkGroups"]] == names
    server.aws("athena", "delete-work-group", "--work-group", "wg-0")
    assert "wg-0" not in [w["Name"] for w in athena.list_work_groups()["WorkGroups"]]


def test_named_queries_and_restart(make_server):
    s = make_server().start()
    athena = s.client("athena")
    athena.create_work_group(Name="etl")
    ids = []
    for i in range(4):
        ids.append(athena.create_named_query(Name=f"q{i}", Database="sales_db",
                                             QueryString=f"SELECT {i}", Description="d",
                                             WorkGroup="etl")["NamedQueryId"])
    primary_q = athena.create_named_query(Name="p", Database="sales_db",
                                          QueryString="SELECT 9", ClientRequestToken="tok-1-abcdefghijklmnopqrstuvwxyz012")["NamedQueryId"]
    # the same token gives the same query
    again = athena.create_named_query(Name="p", Database="sales_db",
                                      QueryString="SELECT 9", ClientRequestToken="tok-1-abcdefghijklmnopqrstuvwxyz012")["NamedQueryId"]
    assert again == primary_q
    nq = athena.get_named_query(NamedQueryId=ids[0])["NamedQuery"]
    assert nq == {"Name": "q0", "Database": "sales_db", "QueryString": "SELECT 0",
                  "Description": "d", "WorkGroup": "etl", "NamedQueryId": ids[0]}
    pages = list(athena.get_paginator("list_named_queries").paginate(
        WorkGroup="etl", PaginationConfig={"PageSize": 3}))
    assert sorted(i for p in pages for i in p["NamedQueryIds"]) == sorted(ids) and len(pages) == 2
    assert athena.list_named_queries()["NamedQueryIds"] == [primary_q]
    got = athena.batch_get_named_query(NamedQueryIds=[ids[1], "missing-id"])
    assert [q["Name"] for q in got["NamedQueries"]] == ["q1"]
    assert got["UnprocessedNamedQueryIds"][0]["NamedQueryId"] == "missing-id"
    athena.delete_named_query(NamedQueryId=ids[3])
    code, _ = error_of(athena.get_named_query, NamedQueryId=ids[3])
    assert code == "InvalidRequestException"
    # a workgroup holding named queries is only deleted recursively
    code, msg = error_of(athena.delete_work_group, WorkGroup="etl")
    assert code == "InvalidRequestException" and "RecursiveDeleteOption" in msg

    assert s.stop() == 0
    s.start()
    athena = s.client("athena")
    assert [w["Name"] for w in athena.list_work_groups()["WorkGroups"]] == ["etl", "primary"]
    assert sorted(athena.list_named_queries(WorkGroup="etl")["NamedQueryIds"]) == sorted(ids[:3])
    assert s.aws("athena", "get-named-query", "--named-query-id", primary_q)["NamedQuery"]["QueryString"] == "SELECT 9"
    athena.delete_work_group(WorkGroup="etl", RecursiveDeleteOption=True)
    code, _ = error_of(athena.get_named_query, NamedQueryId=ids[0])
    assert code == "InvalidRequestException"


def test_catalog_view(server):
    glue, athena = server.client("glue"), server.client("athena")
    glue.create_database(DatabaseInput={"Name": "shop", "Description": "the shop",
                                        "Parameters": {"k": "v"}})
    server.client("s3").create_bucket(Bucket="shop-lake")
    for name in ["orders", "order_items", "customers"]:
        glue.create_table(DatabaseName="shop", TableInput={
            "Name": name, "StorageDescriptor": {
                "Columns": [{"Name": "id", "Type": "string"}, {"Name": "n", "Type": "bigint"}],
                "Location": f"s3://shop-lake/{name}/"},
            "PartitionKeys": [{"Name": "day", "Type": "string"}],
            "Parameters": {"classification": "json"}})
    cats = athena.list_data_catalogs()["DataCatalogsSummary"]
    assert cats == [{"CatalogName": "AwsDataCatalog", "Type": "GLUE"}]
    assert athena.get_data_catalog(Name="AwsDataCatalog")["DataCatalog"]["Type"] == "GLUE"
    dbs = athena.list_databases(CatalogName="AwsDataCatalog")["DatabaseList"]
    assert {"Name": "shop", "Description": "the shop", "Parameters": {"k": "v"}} in dbs
    assert athena.get_database(CatalogName="AwsDataCatalog", DatabaseName="shop")["Database"]["Name"] == "shop"
    pages = list(athena.get_paginator("list_table_metadata").paginate(
        CatalogName="AwsDataCatalog", DatabaseName="shop", PaginationConfig={"PageSize": 2}))
    tables = [t["Name"] for p in pages for t in p["TableMetadataList"]]
    assert tables == ["customers", "order_items", "orders"] and len(pages) == 2
    only = athena.list_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="shop",
                                      Expression="order.*")["TableMetadataList"]
    assert [t["Name"] for t in only] == ["order_items", "orders"]
    t = athena.get_table_metadata(CatalogName="AwsDataCatalog", DatabaseName="shop",
                                  TableName="orders")["TableMetadata"]
    assert t["Columns"] == [{"Name": "id", "Type": "string"}, {"Name": "n", "Type": "bigint"}]
    assert t["PartitionKeys"] == [{"Name": "day", "Type": "string"}]
    assert t["TableType"] == "EXTERNAL_TABLE"
    out = server.aws("athena", "list-table-metadata", "--catalog-name", "AwsDataCatalog",
                     "--database-name", "shop")
    assert len(out["TableMetadataList"]) == 3
    code, _ = error_of(athena.get_database, CatalogName="AwsDataCatalog", DatabaseName="nope")
    assert code == "MetadataException"
    code, _ = error_of(athena.get_table_metadata, CatalogName="AwsDataCatalog",
                       DatabaseName="shop", TableName="nope")
    assert code == "MetadataException"
    code, _ = error_of(athena.list_databases, CatalogName="OtherCatalog")
    assert code == "MetadataException"
    code, _ = error_of(athena.get_data_catalog, Name="OtherCatalog")
    assert code == "InvalidRequestException"


@pytest.mark.parametrize("call", [
    ("create_work_group", {"Name": "bad name"}),
    ("create_work_group", {"Name": "x" * 129}),
    ("create_work_group", {"Name": "../etc"}),
    ("create_work_group", {"Name": "ok", "Tags": [{"Key": "aws:reserved", "Value": "v"}]}),
    ("create_work_group", {"Name": "ok", "Configuration": {"ResultConfiguration": {"OutputLocation": "/tmp/x"}}}),
    ("get_work_group", {"WorkGroup": "a/b"}),
    ("update_work_group", {"WorkGroup": "primary", "State": "MAYBE"}),
    ("get_named_query", {"NamedQueryId": "has space"}),
    ("list_named_queries", {"NextToken": "garbage"}),
    ("list_work_groups", {"NextToken": "bm90LWEtdG9rZW4="}),
    ("list_table_metadata", {"CatalogName": "AwsDataCatalog", "DatabaseName": "default", "Expression": "("}),
    ("start_query_execution", {"QueryString": "SELECT 1", "WorkGroup": "bad wg"}),
])
def test_hostile_input(server, call):
    """Sent raw, past botocore's own validation, to reach the server's checks."""
    name, kw = call
    op = "".join(p.capitalize() for p in name.split("_"))
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/", body=json.dumps(kw).encode(), headers={
        "X-Amz-Target": f"AmazonAthena.{op}", "Content-Type": "application/x-amz-json-1.1"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 400, body
    assert body["__type"] in ("InvalidRequestException", "MetadataException"), body
    # nothing was made
    names = [w["Name"] for w in server.client("athena").list_work_groups()["WorkGroups"]]
    assert names == ["primary"]
