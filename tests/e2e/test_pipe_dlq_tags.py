"""EventBridge Pipes' failure handling, tags and states as the aws cli and boto3 see them:
- DeadLetterConfig (an SQS ARN; the queue is <data>/pipe/dlq/<pipe>/<seq>.json here):
  records the target cannot take (no usable partition key) and records whose batch the target
  refused more than MaximumRetryAttempts times (the target stream deleted) go to the DLQ with
  the reason instead of blocking the pipe or vanishing; the rest reach the target.
- Across SIGKILL at the moment the DLQ messages are written (failpoint pipe.dead_lettered),
  every record ends exactly once in the target or the DLQ, never both.
- MaximumRetryAttempts / MaximumRecordAgeInSeconds / OnPartialBatchItemFailure are shown by
  DescribePipe and changed by UpdatePipe; an s3 or malformed DLQ ARN, StartingPosition
  AT_TIMESTAMP (DynamoDB stream sources allow TRIM_HORIZON and LATEST only) are refused with
  ValidationException.
- MaximumRecordAgeInSeconds sends records older than it to the DLQ.
- TagResource / UntagResource / ListTagsForResource, tags kept across a restart; hostile keys.
- CreatePipe/UpdatePipe/StartPipe/StopPipe answer CREATING/UPDATING/STARTING/STOPPING and
  DescribePipe then shows RUNNING/STOPPED."""
import glob
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request

import botocore.exceptions
import pytest

from conftest import Server
from pipe_helpers import pipe_health, read_stream, table_history

ROLE = "arn:aws:iam::000000000000:role/pipe"
DLQ = "arn:aws:sqs:us-east-1:000000000000:orders-dlq"
PIPE_ARN = "arn:aws:pipes:us-east-1:000000000000:pipe/"


def raw(server, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.endpoint + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"{}")


def dlq_messages(data_dir, pipe):
    out = {}
    for path in glob.glob(os.path.join(data_dir, "pipe", "dlq", pipe, "*.json")):
        with open(path) as f:
            m = json.load(f)
        out[m["sequenceNumber"]] = m
    return out


def source_arn(server):
    return server.client("dynamodb").describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]


def put_orders(server, ids, region=True):
    ddb = server.client("dynamodb")
    for i in ids:
        item = {"orderid": {"S": str(i)}, "quantity": {"N": "1"}}
        if region:
            item["region"] = {"S": "eu" if i % 2 else "us"}
        ddb.put_item(TableName="OrdersRawTable", Item=item)


def wait_for(cond, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def create(server, name, target, **ddb_params):
    params = {"DynamoDBStreamParameters": dict({"StartingPosition": "TRIM_HORIZON"}, **ddb_params)}
    return server.client("pipes").create_pipe(
        Name=name, Source=source_arn(server), Target=target, RoleArn=ROLE,
        SourceParameters=params,
        TargetParameters={"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.NewImage.region.S"}})


def test_refused_records_go_to_the_dlq_with_their_reason(make_server, data_dir):
    s = make_server().start()
    kinesis = s.client("kinesis")
    kinesis.create_stream(StreamName="regions", ShardCount=2)
    target = "arn:aws:kinesis:us-east-1:000000000000:stream/regions"
    created = create(s, "regional", target, MaximumRetryAttempts=1, BatchSize=10,
                     OnPartialBatchItemFailure="AUTOMATIC_BISECT", DeadLetterConfig={"Arn": DLQ})
    assert created["CurrentState"] == "CREATING"
    pipes = s.client("pipes")
    d = pipes.describe_pipe(Name="regional")
    assert d["CurrentState"] == "RUNNING"
    ddbp = d["SourceParameters"]["DynamoDBStreamParameters"]
    assert ddbp["DeadLetterConfig"] == {"Arn": DLQ} and ddbp["MaximumRetryAttempts"] == 1
    assert ddbp["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"

    # records without the partition key's attribute cannot be Kinesis records: DLQ
    put_orders(s, range(1, 11))
    put_orders(s, range(11, 14), region=False)
    put_orders(s, range(14, 20))
    wait_for(lambda: pipe_health(s, "regional")["lag_records"] == 0, what="catch up")
    history = table_history(s)
    no_region = {r["dynamodb"]["SequenceNumber"] for r in history if "region" not in r["dynamodb"]["NewImage"]}
    msgs = dlq_messages(data_dir, "regional")
    assert set(msgs) == no_region and len(no_region) == 3
    m = next(iter(msgs.values()))
    assert m["queueArn"] == DLQ and "partition key" in m["errorMessage"]
    assert m["record"]["dynamodb"]["SequenceNumber"] == m["sequenceNumber"]
    in_target = [d["dynamodb"]["SequenceNumber"] for _, _, d in read_stream(s, "regions")]
    assert sorted(in_target) == sorted({r["dynamodb"]["SequenceNumber"] for r in history} - no_region)
    assert pipe_health(s, "regional")["dead_lettered"] == 3

    # the target goes away: after 1 retry the batches go to the DLQ, the pipe is not blocked
    kinesis.delete_stream(StreamName="regions")
    put_orders(s, range(20, 30))
    wait_for(lambda: pipe_health(s, "regional")["lag_records"] == 0, what="dead-lettering")
    msgs = dlq_messages(data_dir, "regional")
    assert len(msgs) == 13
    late = [m for m in msgs.values() if m["sequenceNumber"] not in no_region]
    assert all("MaximumRetryAttempts 1" in m["errorMessage"] for m in late), late[0]

    # UpdatePipe changes the failure settings; an empty DeadLetterConfig removes the DLQ
    kinesis.create_stream(StreamName="regions", ShardCount=1)
    up = pipes.update_pipe(Name="regional", RoleArn=ROLE, SourceParameters={"DynamoDBStreamParameters": {
        "MaximumRetryAttempts": 5, "MaximumRecordAgeInSeconds": 3600, "DeadLetterConfig": {}}})
    assert up["CurrentState"] == "UPDATING"
    ddbp = pipes.describe_pipe(Name="regional")["SourceParameters"]["DynamoDBStreamParameters"]
    assert "DeadLetterConfig" not in ddbp and ddbp["MaximumRetryAttempts"] == 5
    assert ddbp["MaximumRecordAgeInSeconds"] == 3600
    assert s.stop() == 0


@pytest.mark.parametrize("ddb_params, words", [
    ({"DeadLetterConfig": {"Arn": "arn:aws:s3:::bucket"}}, "SQS"),
    ({"DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:../../etc"}}, "SQS"),
    ({"DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:000000000000:" + "q" * 81}}, "SQS"),
    ({"StartingPosition": "AT_TIMESTAMP"}, "TRIM_HORIZON or LATEST"),
    ({"MaximumRetryAttempts": 10001}, "MaximumRetryAttempts"),
    ({"MaximumRecordAgeInSeconds": -5}, "MaximumRecordAgeInSeconds"),
    ({"OnPartialBatchItemFailure": "SPLIT"}, "AUTOMATIC_BISECT"),
])
def test_bad_failure_settings_are_refused(server, ddb_params, words):
    params = {"DynamoDBStreamParameters": dict({"StartingPosition": "TRIM_HORIZON"}, **ddb_params)}
    status, headers, body = raw(server, "POST", "/v1/pipes/bad", {
        "Source": source_arn(server), "Target": "arn:aws:kinesis:us-east-1:000000000000:stream/kinesis-for-sales-data",
        "RoleArn": ROLE, "SourceParameters": params})
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException", body
    assert words in body["message"], body
    assert "/" + "pipe/dlq" not in body["message"]
    status, _, _ = raw(server, "GET", "/v1/pipes/bad")
    assert status == 404


def test_sigkill_while_dead_lettering_is_exactly_once(make_server, data_dir):
    """The target refuses everything (its stream is deleted) and the process is killed right
    after a batch's DLQ messages are written, before its checkpoint: after the restart (target
    back), each record is in the target or in the DLQ, exactly once over both."""
    crashing = Server(data_dir, env={"SALESPIPE_FAILPOINT": "pipe.dead_lettered:2"}).start()
    try:
        kinesis = crashing.client("kinesis")
        kinesis.create_stream(StreamName="regions", ShardCount=1)
        target = "arn:aws:kinesis:us-east-1:000000000000:stream/regions"
        create(crashing, "regional", target, MaximumRetryAttempts=0, BatchSize=5,
               DeadLetterConfig={"Arn": DLQ})
        put_orders(crashing, range(1, 6))
        wait_for(lambda: pipe_health(crashing, "regional")["lag_records"] == 0, what="first records")
        first5 = {r["dynamodb"]["SequenceNumber"] for r in table_history(crashing)}
        kinesis.delete_stream(StreamName="regions")
        put_orders(crashing, range(6, 40))
        wait_for(lambda: crashing.proc.poll() is not None, timeout=60, what="the failpoint")
    finally:
        if crashing.proc.poll() is None:
            crashing.kill()
    assert len(dlq_messages(data_dir, "regional")) >= 5
    # restart; the target is back, and UpdatePipe lets the pipe find it
    s2 = make_server().start()
    s2.client("kinesis").create_stream(StreamName="regions", ShardCount=1)
    s2.client("pipes").update_pipe(Name="regional", RoleArn=ROLE, Description="target is back")
    put_orders(s2, range(40, 45))
    wait_for(lambda: pipe_health(s2, "regional")["lag_records"] == 0, what="catch up")
    history = {r["dynamodb"]["SequenceNumber"] for r in table_history(s2)}
    in_dlq = set(dlq_messages(data_dir, "regional"))
    in_target = [d["dynamodb"]["SequenceNumber"] for _, _, d in read_stream(s2, "regions")]
    assert len(in_target) == len(set(in_target)), "a record was appended twice"
    assert not (set(in_target) & in_dlq), f"in both: {sorted(set(in_target) & in_dlq)[:5]}"
    # the first 5 went to the deleted incarnation of the stream (the new one may get again
    # those behind the saved checkpoint: a recreated stream has no memory of them); every
    # other record is accounted for, once
    assert not (first5 & in_dlq)
    assert set(in_target) | in_dlq | first5 == history
    assert len(in_dlq) >= 5 and len(in_target) >= 5
    # the killed batch's messages were written but its checkpoint was not: the resumed pipe
    # found them in the DLQ and did not append them
    assert pipe_health(s2, "regional")["duplicates_skipped"] >= 5


def test_tags_and_states(make_server):
    s = make_server().start()
    pipes = s.client("pipes")
    arn = PIPE_ARN + "orders-cdc-pipe"
    pipes.tag_resource(resourceArn=arn, tags={"team": "sales", "env": "dev"})
    s.aws("pipes", "tag-resource", "--resource-arn", arn, "--tags", "owner=ops")
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sales", "env": "dev", "owner": "ops"}
    pipes.untag_resource(resourceArn=arn, tagKeys=["env", "owner"])
    assert s.aws("pipes", "list-tags-for-resource", "--resource-arn", arn)["tags"] == {"team": "sales"}
    # hostile input
    for tags in ({"aws:reserved": "x"}, {"k\u0001": "v"}, {"k" * 129: "v"}, {"k": "v" * 257},
                 {f"k{i}": "v" for i in range(50)}):
        status, headers, body = raw(s, "POST", "/tags/" + urllib.parse.quote(arn, safe=""), {"tags": tags})
        assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException", (tags, body)
    for bad in ("arn:aws:pipes:us-east-1:000000000000:pipe/nope", "arn:aws:sqs:us-east-1:1:q",
                "arn:aws:pipes:us-east-1:000000000000:pipe/../x"):
        status, headers, _ = raw(s, "POST", "/tags/" + urllib.parse.quote(bad, safe=""), {"tags": {"k": "v"}})
        assert status == 404 and headers["x-amzn-ErrorType"] == "NotFoundException", bad
    status, headers, _ = raw(s, "DELETE", "/tags/" + urllib.parse.quote(arn, safe="") + "?tagKeys=aws%3Ax")
    assert status == 400
    assert pipes.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sales"}
    # states
    assert pipes.stop_pipe(Name="orders-cdc-pipe")["CurrentState"] == "STOPPING"
    assert pipes.describe_pipe(Name="orders-cdc-pipe")["CurrentState"] == "STOPPED"
    assert pipes.start_pipe(Name="orders-cdc-pipe")["CurrentState"] == "STARTING"
    assert pipes.describe_pipe(Name="orders-cdc-pipe")["CurrentState"] == "RUNNING"
    # tags survive a restart
    assert s.stop() == 0
    s.start()
    assert s.client("pipes").list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "sales"}


def test_records_older_than_the_maximum_age_go_to_the_dlq(make_server, data_dir):
    s = make_server().start()
    s.client("kinesis").create_stream(StreamName="regions", ShardCount=1)
    put_orders(s, range(1, 6))
    time.sleep(2.2)
    create(s, "aged", "arn:aws:kinesis:us-east-1:000000000000:stream/regions",
           MaximumRecordAgeInSeconds=2, DeadLetterConfig={"Arn": DLQ})
    wait_for(lambda: pipe_health(s, "aged")["lag_records"] == 0, what="catch up")
    put_orders(s, range(6, 9))  # young: delivered
    wait_for(lambda: pipe_health(s, "aged")["lag_records"] == 0, what="catch up")
    msgs = dlq_messages(data_dir, "aged")
    assert len(msgs) == 5
    assert all("MaximumRecordAgeInSeconds" in m["errorMessage"] for m in msgs.values())
    wait_for(lambda: len(read_stream(s, "regions")) == 3, what="young records")
