"""Athena in a running server keeps its query resources between queries (the query thread's
catalog connection, the scan threads and their query-cache connections): a crawl that adds
objects, a partition and a column between two queries is seen by the second, the lake
objects changed since the crawl are read as they are now, a failed query does not spoil the
next, and many queries submitted at once each give their own answer."""
import json
import random
import time

BUCKET = "kinesis-firehose-destination-yb"
RESULTS = "athena-kept-results"
TABLE = "sales_db.kinesis_firehose_destination_yb"
PRODUCTS = ["Laptop", "Phone", "Tablet"]


def put_hour(s3, rng, hour, n_objects, per_object, extra=None):
    """n_objects objects of per_object seed-shaped lines in hour `hour` of 2026-11-26;
    returns the records."""
    recs = []
    for i in range(n_objects):
        lines = []
        for _ in range(per_object):
            rec = {"orderid": str(rng.randint(1, 500)), "product_name": rng.choice(PRODUCTS),
                   "quantity": rng.randint(1, 5), "price": rng.randint(10, 500),
                   "cdc_event_type": rng.choice(["INSERT", "MODIFY", "REMOVE"]),
                   "creation_datetime": f"2026-11-26T{hour:02d}:{i:02d}:05Z",
                   "sequence_number": f"{rng.getrandbits(40):021d}"}
            if extra:
                rec.update(extra)
            recs.append(rec)
            lines.append(json.dumps(rec))
        key = (f"2026/11/26/{hour:02d}/sales-delivery-stream-1-2026-11-26-{hour:02d}-{i:02d}-00-"
               f"{rng.getrandbits(64):016x}")
        s3.put_object(Bucket=BUCKET, Key=key, Body=("\n".join(lines) + "\n").encode())
    return recs


def crawl(glue):
    before = glue.get_crawler(Name="sales-crawler")["Crawler"].get("LastCrawl", {})
    glue.start_crawler(Name="sales-crawler")
    deadline = time.time() + 60
    while time.time() < deadline:
        c = glue.get_crawler(Name="sales-crawler")["Crawler"]
        if c["State"] == "READY" and c.get("LastCrawl", {}) != before:
            assert c["LastCrawl"]["Status"] == "SUCCEEDED"
            return
        time.sleep(0.05)
    raise AssertionError("crawl never finished")


def start(athena, sql):
    return athena.start_query_execution(
        QueryString=sql, ResultConfiguration={"OutputLocation": f"s3://{RESULTS}/q/"}
    )["QueryExecutionId"]


def finish(athena, qid):
    deadline = time.time() + 60
    while time.time() < deadline:
        q = athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
        if q["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return q
        time.sleep(0.01)
    raise AssertionError("query never finished")


def rows(athena, sql):
    qid = start(athena, sql)
    q = finish(athena, qid)
    assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
    res = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
    return [[d.get("VarCharValue") for d in r["Data"]] for r in res[1:]]


def per_product(recs):
    out = {}
    for r in recs:
        n, s = out.get(r["product_name"], (0, 0))
        out[r["product_name"]] = (n + 1, s + r["price"] * r["quantity"])
    return [[p, str(n), str(s)] for p, (n, s) in sorted(out.items())]


GROUPED = ("SELECT product_name, count(*) AS n, sum(price * quantity) AS revenue FROM " + TABLE +
           " {where} GROUP BY product_name ORDER BY product_name")


def test_a_crawl_between_queries_is_seen_by_the_next(server):
    s3, glue, athena = server.client("s3"), server.client("glue"), server.client("athena")
    s3.create_bucket(Bucket=RESULTS)
    rng = random.Random(15)
    h9 = put_hour(s3, rng, 9, 3, 40)
    crawl(glue)
    assert rows(athena, GROUPED.format(where="")) == per_product(h9)
    assert rows(athena, f"SELECT count(*) FROM {TABLE}") == [[str(len(h9))]]
    # a new partition, more objects in the known one and a new column, crawled in between
    h10 = put_hour(s3, rng, 10, 2, 30, extra={"coupon": "NEW"})
    h9b = put_hour(s3, rng, 9, 1, 25)
    crawl(glue)
    assert rows(athena, GROUPED.format(where="")) == per_product(h9 + h10 + h9b)
    assert rows(athena, GROUPED.format(where="WHERE partition_3 = '10'")) == per_product(h10)
    assert rows(athena, f"SELECT count(coupon) FROM {TABLE}") == [[str(len(h10))]]
    # a failed query (unknown column) leaves the next one as good as a fresh server's
    qid = start(athena, f"SELECT no_such_column FROM {TABLE}")
    assert finish(athena, qid)["Status"]["State"] == "FAILED"
    assert rows(athena, f"SELECT count(*) FROM {TABLE} WHERE partition_3 = '09'") == \
        [[str(len(h9 + h9b))]]
    # a table dropped between queries is gone for the next one
    glue.delete_table(DatabaseName="sales_db", Name="kinesis_firehose_destination_yb")
    qid = start(athena, f"SELECT count(*) FROM {TABLE}")
    q = finish(athena, qid)
    assert q["Status"]["State"] == "FAILED"
    crawl(glue)
    assert rows(athena, f"SELECT count(*) FROM {TABLE}") == [[str(len(h9 + h10 + h9b))]]


def test_many_queries_at_once_each_get_their_own_answer(server):
    s3, glue, athena = server.client("s3"), server.client("glue"), server.client("athena")
    s3.create_bucket(Bucket=RESULTS)
    rng = random.Random(16)
    by_hour = {h: put_hour(s3, rng, h, 3, 50) for h in (1, 2, 3, 4)}
    crawl(glue)
    wanted, qids = [], []
    for rep in range(3):
        for h, recs in by_hour.items():
            qids.append(start(athena, GROUPED.format(where=f"WHERE partition_3 = '{h:02d}'")))
            wanted.append(per_product(recs))
    for qid, want in zip(qids, wanted):
        q = finish(athena, qid)
        assert q["Status"]["State"] == "SUCCEEDED", q["Status"]
        res = athena.get_query_results(QueryExecutionId=qid)["ResultSet"]["Rows"]
        assert [[d.get("VarCharValue") for d in r["Data"]] for r in res[1:]] == want
