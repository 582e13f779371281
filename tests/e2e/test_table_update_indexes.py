"""UpdateTable as DynamoDB has it: GlobalSecondaryIndexUpdates creating an index on a table that
already has items (filled in the same transaction, CREATING in the response, ACTIVE after),
updating an index's provisioned throughput, deleting an index (and its attribute definitions);
table throughput changes shown as UPDATING with the old values, dated increases and decreases;
and the request checks in DynamoDB's order and words (dynalite's updateTable.js, written against
DynamoDB). Driven with boto3 and raw HTTP against the real server."""
import json
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

TABLE = "Orders"


def call(server, target, body):
    req = urllib.request.Request(server.endpoint, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Amz-Target": f"DynamoDB_20120810.{target}",
                                          "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def s(v):
    return {"S": v}


def create(ddb, provisioned=False):
    spec = dict(TableName=TABLE, AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    if provisioned:
        spec["ProvisionedThroughput"] = {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
    else:
        spec["BillingMode"] = "PAY_PER_REQUEST"
    ddb.create_table(**spec)
    for i, (cust, total) in enumerate([("ann", "3"), ("bob", "1"), ("ann", "2"), (None, "9")]):
        item = {"id": s(str(i)), "total": {"N": total}}
        if cust:
            item["cust"] = s(cust)
        ddb.put_item(TableName=TABLE, Item=item)


def by_cust(provisioned=False):
    c = {"IndexName": "by_cust",
         "KeySchema": [{"AttributeName": "cust", "KeyType": "HASH"},
                       {"AttributeName": "total", "KeyType": "RANGE"}],
         "Projection": {"ProjectionType": "ALL"}}
    if provisioned:
        c["ProvisionedThroughput"] = {"ReadCapacityUnits": 2, "WriteCapacityUnits": 2}
    return c


DEFS = [{"AttributeName": "cust", "AttributeType": "S"}, {"AttributeName": "total", "AttributeType": "N"}]


def query_ann(ddb):
    r = ddb.query(TableName=TABLE, IndexName="by_cust", KeyConditionExpression="cust = :c",
                  ExpressionAttributeValues={":c": s("ann")})
    return [(i["id"]["S"], i["total"]["N"]) for i in r["Items"]]


def test_create_backfills_existing_items_and_later_writes_are_indexed(server):
    ddb = server.client("dynamodb")
    create(ddb)
    d = ddb.update_table(TableName=TABLE, AttributeDefinitions=DEFS,
                         GlobalSecondaryIndexUpdates=[{"Create": by_cust()}])["TableDescription"]
    assert d["TableStatus"] == "UPDATING"
    assert [(i["IndexName"], i["IndexStatus"]) for i in d["GlobalSecondaryIndexes"]] == [
        ("by_cust", "CREATING")]
    t = ddb.describe_table(TableName=TABLE)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["GlobalSecondaryIndexes"][0]["IndexStatus"] == "ACTIVE"
    assert t["GlobalSecondaryIndexes"][0]["ItemCount"] == 3   # the item without cust is not in it
    assert {a["AttributeName"] for a in t["AttributeDefinitions"]} == {"id", "cust", "total"}
    assert query_ann(ddb) == [("2", "2"), ("0", "3")]
    ddb.put_item(TableName=TABLE, Item={"id": s("9"), "cust": s("ann"), "total": {"N": "1"}})
    assert query_ann(ddb) == [("9", "1"), ("2", "2"), ("0", "3")]
    # The new index's key types are enforced from now on.
    with pytest.raises(ClientError) as ex:
        ddb.put_item(TableName=TABLE, Item={"id": s("x"), "cust": {"N": "1"}})
    assert "Type mismatch for Index Key cust Expected: S Actual: N IndexName: by_cust" in \
        ex.value.response["Error"]["Message"]


def test_created_index_survives_a_restart(make_server):
    srv = make_server().start()
    ddb = srv.client("dynamodb")
    create(ddb)
    ddb.update_table(TableName=TABLE, AttributeDefinitions=DEFS,
                     GlobalSecondaryIndexUpdates=[{"Create": by_cust()}])
    assert srv.stop() == 0
    srv.start()
    ddb = srv.client("dynamodb")
    assert query_ann(ddb) == [("2", "2"), ("0", "3")]


def test_delete_removes_the_index_its_entries_and_its_definitions(server):
    ddb = server.client("dynamodb")
    create(ddb)
    ddb.update_table(TableName=TABLE, AttributeDefinitions=DEFS,
                     GlobalSecondaryIndexUpdates=[{"Create": by_cust()}])
    d = ddb.update_table(TableName=TABLE, GlobalSecondaryIndexUpdates=[
        {"Delete": {"IndexName": "by_cust"}}])["TableDescription"]
    assert [(i["IndexName"], i["IndexStatus"]) for i in d["GlobalSecondaryIndexes"]] == [
        ("by_cust", "DELETING")]
    t = ddb.describe_table(TableName=TABLE)["Table"]
    assert "GlobalSecondaryIndexes" not in t
    assert [a["AttributeName"] for a in t["AttributeDefinitions"]] == ["id"]
    with pytest.raises(ClientError) as ex:
        query_ann(ddb)
    assert ex.value.response["Error"]["Code"] == "ValidationException"
    # Re-created with another key type: the old entries are gone, the new ones typed anew.
    defs = [{"AttributeName": "cust", "AttributeType": "S"}]
    ddb.update_table(TableName=TABLE, AttributeDefinitions=defs, GlobalSecondaryIndexUpdates=[
        {"Create": {"IndexName": "by_cust", "KeySchema": [{"AttributeName": "cust", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"}}}])
    assert sorted(i["id"]["S"] for i in ddb.query(
        TableName=TABLE, IndexName="by_cust", KeyConditionExpression="cust = :c",
        ExpressionAttributeValues={":c": s("ann")})["Items"]) == ["0", "2"]


def test_update_of_index_and_table_throughput_shows_old_values_while_updating(server):
    ddb = server.client("dynamodb")
    create(ddb, provisioned=True)
    ddb.update_table(TableName=TABLE, AttributeDefinitions=DEFS,
                     GlobalSecondaryIndexUpdates=[{"Create": by_cust(True)}])
    d = ddb.update_table(TableName=TABLE, GlobalSecondaryIndexUpdates=[{"Update": {
        "IndexName": "by_cust", "ProvisionedThroughput": {"ReadCapacityUnits": 6,
                                                          "WriteCapacityUnits": 1}}}])["TableDescription"]
    ix = d["GlobalSecondaryIndexes"][0]
    assert ix["IndexStatus"] == "UPDATING" and ix["ProvisionedThroughput"]["ReadCapacityUnits"] == 2
    ix = ddb.describe_table(TableName=TABLE)["Table"]["GlobalSecondaryIndexes"][0]
    assert ix["IndexStatus"] == "ACTIVE"
    pt = ix["ProvisionedThroughput"]
    assert (pt["ReadCapacityUnits"], pt["WriteCapacityUnits"], pt["NumberOfDecreasesToday"]) == (6, 1, 1)
    d = ddb.update_table(TableName=TABLE, ProvisionedThroughput={"ReadCapacityUnits": 15,
                                                                 "WriteCapacityUnits": 15})["TableDescription"]
    assert d["TableStatus"] == "UPDATING" and d["ProvisionedThroughput"]["ReadCapacityUnits"] == 5
    asked = d["ProvisionedThroughput"]["LastIncreaseDateTime"]
    t = ddb.describe_table(TableName=TABLE)["Table"]
    assert t["TableStatus"] == "ACTIVE" and t["ProvisionedThroughput"]["ReadCapacityUnits"] == 15
    assert t["ProvisionedThroughput"]["LastIncreaseDateTime"] > asked
    with pytest.raises(ClientError) as ex:
        ddb.update_table(TableName=TABLE, ProvisionedThroughput={"ReadCapacityUnits": 15,
                                                                 "WriteCapacityUnits": 15})
    assert ex.value.response["Error"]["Message"].startswith(
        "The provisioned throughput for the table will not change. The requested value equals "
        "the current value. Current ReadCapacityUnits provisioned for the table: 15.")


@pytest.mark.parametrize("body, code, message", [
    ({"GlobalSecondaryIndexUpdates": []}, "ValidationException",
     "At least one of ProvisionedThroughput, BillingMode, UpdateStreamEnabled, "
     "GlobalSecondaryIndexUpdates or SSESpecification or ReplicaUpdates is required"),
    ({"GlobalSecondaryIndexUpdates": [{}]}, "ValidationException",
     "One or more parameter values were invalid: One of GlobalSecondaryIndexUpdate.Update, "
     "GlobalSecondaryIndexUpdate.Create, GlobalSecondaryIndexUpdate.Delete must not be null"),
    ({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "abc"}}, {"Delete": {"IndexName": "abc"}}]},
     "ValidationException", "One or more parameter values were invalid: Only one global secondary "
     "index update per index is allowed simultaneously. Index: abc"),
    ({"BillingMode": "PROVISIONED"}, "ValidationException",
     "One or more parameter values were invalid: ProvisionedThroughput must be specified when "
     "BillingMode is PROVISIONED"),
    ({"ProvisionedThroughput": {"ReadCapacityUnits": 1000000000000, "WriteCapacityUnits": 1000000000001}},
     "ValidationException", "Given value 1000000000001 for WriteCapacityUnits is out of bounds"),
    ({"ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}, "ValidationException",
     "One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits "
     "can be specified when BillingMode is PAY_PER_REQUEST"),
    ({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": n}} for n in
                                      ["abc", "abd", "abe", "abf", "abg", "abh"]]},
     "LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or "
     "deleted simultaneously per table"),
    ({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "abc"}}, {"Delete": {"IndexName": "abd"}}]},
     "LimitExceededException", "Subscriber limit exceeded: Only 1 online index can be created or "
     "deleted simultaneously per table"),
    ({"GlobalSecondaryIndexUpdates": [{"Update": {"IndexName": "abc", "ProvisionedThroughput": {
        "ReadCapacityUnits": 1000000000001, "WriteCapacityUnits": 1}}}]}, "ValidationException",
     "This operation cannot be performed with given input values. Please contact DynamoDB service "
     "team for more info: Action Blocked: IndexUpdate"),
    ({"GlobalSecondaryIndexUpdates": [{"Delete": {"IndexName": "nope"}}]}, "ResourceNotFoundException",
     "Requested resource not found: Index: nope not found"),
    ({"AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "N"}],
      "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_id", "KeySchema": [
          {"AttributeName": "id", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]},
     "ValidationException", "Attribute id is already defined with type S"),
    ({"GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "by_x", "KeySchema": [
          {"AttributeName": "x", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]},
     "ValidationException", "Some index key attributes are not defined in AttributeDefinitions"),
    ({"AttributeDefinitions": DEFS, "GlobalSecondaryIndexUpdates": [{"Create": by_cust(True)}]},
     "ValidationException", "ProvisionedThroughput should not be specified for index: by_cust when "
     "BillingMode is PAY_PER_REQUEST"),
])
def test_bad_updates_get_dynamodbs_error_and_change_nothing(server, body, code, message):
    ddb = server.client("dynamodb")
    create(ddb)
    before = ddb.describe_table(TableName=TABLE)["Table"]
    status, r = call(server, "UpdateTable", dict(body, TableName=TABLE))
    assert status == 400
    assert r["__type"].endswith("#" + code)
    assert message in r["message"]
    after = ddb.describe_table(TableName=TABLE)["Table"]
    assert after == before


def test_index_updates_on_a_missing_table_are_not_found_before_index_checks(server):
    status, r = call(server, "UpdateTable", {"TableName": "abc", "GlobalSecondaryIndexUpdates": [
        {"Update": {"IndexName": "abc", "ProvisionedThroughput": {
            "ReadCapacityUnits": 1000000000001, "WriteCapacityUnits": 1000000000001}}}]})
    assert status == 400 and r["__type"].endswith("#ResourceNotFoundException")
    assert r["message"] == "Requested resource not found: Table: abc not found"
