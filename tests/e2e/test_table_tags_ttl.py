"""DynamoDB tags and Time to Live. Tags are kept with the table (across restarts) and answered
by TagResource/UntagResource/ListTagsOfResource with DynamoDB's errors. With TTL enabled, an
item whose TTL attribute has passed is deleted by the server within seconds, and its REMOVE
stream record says the DynamoDB service did it (userIdentity), which is how a CDC consumer
tells expiry from a user's delete; the pipeline carries that REMOVE to the lake."""
import json
import os
import time

import pytest
from botocore.exceptions import ClientError

TABLE = "OrdersRawTable"
ARN = f"arn:aws:dynamodb:us-east-1:000000000000:table/{TABLE}"


def test_tags_round_trip_and_survive_a_restart(make_server):
    s = make_server().start()
    ddb = s.client("dynamodb")
    ddb.tag_resource(ResourceArn=ARN, Tags=[{"Key": "team", "Value": "sales"},
                                            {"Key": "env", "Value": "dev"}])
    ddb.tag_resource(ResourceArn=ARN, Tags=[{"Key": "env", "Value": "prod"}])
    assert sorted((t["Key"], t["Value"]) for t in ddb.list_tags_of_resource(ResourceArn=ARN)["Tags"]) == [
        ("env", "prod"), ("team", "sales")]
    ddb.untag_resource(ResourceArn=ARN, TagKeys=["team"])
    assert s.stop() == 0
    s.start()
    ddb = s.client("dynamodb")
    assert ddb.list_tags_of_resource(ResourceArn=ARN)["Tags"] == [{"Key": "env", "Value": "prod"}]
    assert "Tags" not in ddb.describe_table(TableName=TABLE)["Table"]


@pytest.mark.parametrize("arn, code, message", [
    ("arn:aws:dynamodb:us-east-1:000000000000:table/Missing", "ResourceNotFoundException",
     "Requested resource not found: ResourcArn: arn:aws:dynamodb:us-east-1:000000000000:table/Missing not found"),
    ("arn:aws:s3:us-east-1:000000000000:table/OrdersRawTable", "ValidationException",
     "Invalid TableArn: Invalid ResourceArn provided as input arn:aws:s3:us-east-1:000000000000:table/OrdersRawTable"),
    ("not-an-arn", "AccessDeniedException", "is not authorized to perform: dynamodb:TagResource"),
])
def test_tagging_errors(server, arn, code, message):
    with pytest.raises(ClientError) as ex:
        server.client("dynamodb").tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    assert ex.value.response["Error"]["Code"] == code
    assert message in ex.value.response["Error"]["Message"]


def stream_records(server):
    ddb, streams = server.client("dynamodb"), server.client("dynamodbstreams")
    arn = ddb.describe_table(TableName=TABLE)["Table"]["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]["ShardId"]
    it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=it, Limit=1000)["Records"]


def lake_lines(data_dir):
    out = []
    for d, _, files in os.walk(os.path.join(data_dir, "lake", "kinesis-firehose-destination-yb")):
        for f in files:
            if not f.startswith(".tmp-"):
                out += [json.loads(l) for l in open(os.path.join(d, f)) if l.strip()]
    return out


def test_ttl_expiry_deletes_items_with_a_service_remove_record(server):
    ddb = server.client("dynamodb")
    assert ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"] == {"TimeToLiveStatus": "DISABLED"}
    r = ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert r["TimeToLiveSpecification"] == {"Enabled": True, "AttributeName": "expires"}
    assert ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    with pytest.raises(ClientError) as ex:
        ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"})
    assert "TimeToLive is already enabled" in str(ex.value)
    now = int(time.time())
    items = {"past": now - 5, "future": now + 3600, "ancient": now - 6 * 366 * 24 * 3600}
    for oid, exp in items.items():
        ddb.put_item(TableName=TABLE, Item={"orderid": {"S": oid}, "expires": {"N": str(exp)}})
    ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "text"}, "expires": {"S": str(now - 5)}})
    ddb.put_item(TableName=TABLE, Item={"orderid": {"S": "user-deleted"}})
    ddb.delete_item(TableName=TABLE, Key={"orderid": {"S": "user-deleted"}})
    deadline = time.time() + 15
    while "Item" in ddb.get_item(TableName=TABLE, Key={"orderid": {"S": "past"}}) and time.time() < deadline:
        time.sleep(0.2)
    left = {i["orderid"]["S"] for i in ddb.scan(TableName=TABLE)["Items"]}
    assert left == {"future", "ancient", "text"}
    removes = [r for r in stream_records(server) if r["eventName"] == "REMOVE"]
    by_key = {r["dynamodb"]["Keys"]["orderid"]["S"]: r for r in removes}
    assert by_key["past"]["userIdentity"] == {"Type": "Service", "PrincipalId": "dynamodb.amazonaws.com"}
    assert "userIdentity" not in by_key["user-deleted"]
    # and the expiry flows through the pipeline into the lake as a REMOVE
    deadline = time.time() + 30
    while not any(l["orderid"] == "past" and l["cdc_event_type"] == "REMOVE" for l in lake_lines(server.data_dir)):
        assert time.time() < deadline, "the expiry never reached the lake"
        time.sleep(0.2)
    ddb.update_time_to_live(TableName=TABLE, TimeToLiveSpecification={"Enabled": False, "AttributeName": "expires"})
    assert ddb.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def raw(server, target, body):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(server.endpoint, data=json.dumps(body).encode(), method="POST",
                                 headers={"X-Amz-Target": f"DynamoDB_20120810.{target}",
                                          "Content-Type": "application/x-amz-json-1.0"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


GOOD_ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/Missing"
DENIED = "com.amazon.coral.service#AccessDeniedException"
INVALID = "com.amazon.coral.validate#ValidationException"


@pytest.mark.parametrize("op, body, type_, message", [
    # The ARN first: absent, then any six-part shape (else access denied, coral-namespaced,
    # with a capitalised Message as DynamoDB sends it), even before a missing tag list.
    ("TagResource", {}, INVALID, "Invalid TableArn"),
    ("UntagResource", {}, INVALID, "Invalid TableArn"),
    ("ListTagsOfResource", {}, INVALID, "Invalid TableArn"),
    ("TagResource", {"ResourceArn": ""}, DENIED,
     "User: arn:aws:iam::000000000000:salespipe is not authorized to perform: "
     "dynamodb:TagResource on resource: *"),
    ("ListTagsOfResource", {"ResourceArn": "abcd"}, DENIED,
     "is not authorized to perform: dynamodb:ListTagsOfResource on resource: abcd"),
    ("UntagResource", {"ResourceArn": "a:b:c:d:e:f/g"}, INVALID,
     "1 validation error detected: Value null at 'tagKeys' failed to satisfy constraint: "
     "Member must not be null"),
    ("TagResource", {"ResourceArn": "a:b:c:d:e:f/g"}, INVALID,
     "1 validation error detected: Value null at 'tags' failed to satisfy constraint: "
     "Member must not be null"),
    # Empty lists are refused before the table is looked up.
    ("TagResource", {"ResourceArn": GOOD_ARN, "Tags": []}, INVALID,
     "Atleast one Tag needs to be provided as Input."),
    ("UntagResource", {"ResourceArn": GOOD_ARN, "TagKeys": []}, INVALID,
     "Atleast one Tag Key needs to be provided as Input."),
    ("UntagResource", {"ResourceArn": GOOD_ARN, "TagKeys": ["k"]},
     "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "Requested resource not found"),
])
def test_tagging_checks_in_dynamodbs_order_and_shapes(server, op, body, type_, message):
    status, r = raw(server, op, body)
    assert status == 400
    assert r["__type"] == type_
    text = r.get("message", r.get("Message"))
    assert text == message if type_ != DENIED or message.startswith("User") else message in text
    if type_ == DENIED:
        assert "Message" in r
