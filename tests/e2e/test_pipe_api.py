"""Pipes created and managed with the aws cli (`aws pipes ...`): filters exclude what they
should, errors come back as the AWS exceptions, and API-created pipes survive a restart."""
import json
import urllib.error
import urllib.request

from pipe_helpers import assert_once_in_order, pipe_health, read_stream, table_history, wait_caught_up

TARGET = "arn:aws:kinesis:us-east-1:000000000000:stream/inserts-only"
ROLE = "arn:aws:iam::000000000000:role/pipe"


def raw(server, method, path, body):
    req = urllib.request.Request(server.endpoint + path, data=json.dumps(body).encode(), method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read())


def cli_error(server, *args):
    result, out = server.aws(*args, check=False)
    assert out.returncode != 0, f"aws {' '.join(args)} unexpectedly succeeded"
    return out.stderr.decode()


def test_cli_pipe_with_filter_lifecycle_errors_and_restart(make_server):
    server = make_server().start()
    ddb = server.client("dynamodb")
    source = ddb.describe_table(TableName="OrdersRawTable")["Table"]["LatestStreamArn"]
    server.client("kinesis").create_stream(StreamName="inserts-only", ShardCount=1)

    pattern = json.dumps({"eventName": ["INSERT"],
                          "dynamodb": {"NewImage": {"product_name": {"S": [{"anything-but": "Phone"}]}}}})
    params = json.dumps({"FilterCriteria": {"Filters": [{"Pattern": pattern}]},
                         "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON",
                                                      "BatchSize": 10}})
    target_params = json.dumps({"KinesisStreamParameters": {"PartitionKey": "$.dynamodb.Keys.orderid.S"}})
    created = server.aws("pipes", "create-pipe", "--name", "ins", "--source", source, "--target",
                         TARGET, "--role-arn", ROLE, "--source-parameters", params,
                         "--target-parameters", target_params)
    # as Pipes answers: the transition under way, then DescribePipe shows where it ended
    assert created["Name"] == "ins" and created["CurrentState"] == "CREATING"
    assert server.aws("pipes", "describe-pipe", "--name", "ins")["CurrentState"] == "RUNNING"

    products = ["Laptop", "Phone", "Tablet"]
    for i in range(30):
        ddb.put_item(TableName="OrdersRawTable",
                     Item={"orderid": {"S": str(i % 12)}, "product_name": {"S": products[i % 3]}})
    ddb.delete_item(TableName="OrdersRawTable", Key={"orderid": {"S": "0"}})
    history = table_history(server)
    wanted = [r["dynamodb"]["SequenceNumber"] for r in history
              if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["product_name"]["S"] != "Phone"]
    assert 0 < len(wanted) < len(history)
    h = wait_caught_up(server, "ins")
    assert h["filtered"] == len(history) - len(wanted) and h["written"] == len(wanted)
    assert_once_in_order(read_stream(server, "inserts-only"), wanted)

    described = server.aws("pipes", "describe-pipe", "--name", "ins")
    assert described["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"] == pattern
    assert described["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 10
    assert described["TargetParameters"]["KinesisStreamParameters"]["PartitionKey"] == "$.dynamodb.Keys.orderid.S"
    names = [p["Name"] for p in server.aws("pipes", "list-pipes")["Pipes"]]
    assert names == ["ins", "orders-cdc-pipe"]
    assert [p["Name"] for p in server.aws("pipes", "list-pipes", "--name-prefix", "in")["Pipes"]] == ["ins"]

    # errors, as the AWS exceptions; none of them changes anything
    assert "ConflictException" in cli_error(server, "pipes", "create-pipe", "--name", "ins", "--source",
                                             source, "--target", TARGET, "--role-arn", ROLE)
    assert "NotFoundException" in cli_error(server, "pipes", "describe-pipe", "--name", "nope")
    bad = json.dumps({"FilterCriteria": {"Filters": [{"Pattern": '{"eventName": "INSERT"}'}]}})
    err = cli_error(server, "pipes", "create-pipe", "--name", "bad", "--source", source, "--target",
                    TARGET, "--role-arn", ROLE, "--source-parameters", bad)
    assert "ValidationException" in err and "eventName" in err
    err = cli_error(server, "pipes", "create-pipe", "--name", "bad", "--source", source, "--target",
                    "arn:aws:kinesis:us-east-1:000000000000:stream/no-such-stream", "--role-arn", ROLE)
    assert "ValidationException" in err and "no-such-stream" in err
    assert len(server.aws("pipes", "list-pipes")["Pipes"]) == 2

    # stop: changes wait; start: they flow
    assert server.aws("pipes", "stop-pipe", "--name", "ins")["CurrentState"] == "STOPPING"
    assert server.aws("pipes", "describe-pipe", "--name", "ins")["CurrentState"] == "STOPPED"
    assert "ConflictException" in cli_error(server, "pipes", "stop-pipe", "--name", "ins")
    ddb.put_item(TableName="OrdersRawTable", Item={"orderid": {"S": "new-1"}, "product_name": {"S": "Laptop"}})
    assert pipe_health(server, "ins")["lag_records"] >= 1

    # survives a restart (stopped, with its definition), then resumes where it was
    assert server.stop() == 0
    server = make_server().start()
    ddb = server.client("dynamodb")
    described = server.aws("pipes", "describe-pipe", "--name", "ins")
    assert described["DesiredState"] == "STOPPED"
    assert described["SourceParameters"]["FilterCriteria"]["Filters"][0]["Pattern"] == pattern
    server.aws("pipes", "start-pipe", "--name", "ins")
    wait_caught_up(server, "ins")
    history = table_history(server)
    wanted.append(history[-1]["dynamodb"]["SequenceNumber"])
    assert_once_in_order(read_stream(server, "inserts-only"), wanted)

    # update: a batch size out of range is refused; a new filter applies from now on
    # (the cli checks the range itself, so this goes over the wire directly)
    status, headers, body = raw(server, "PUT", "/v1/pipes/ins",
                                {"RoleArn": ROLE, "SourceParameters": {"DynamoDBStreamParameters": {"BatchSize": 0}}})
    assert status == 400 and headers["x-amzn-ErrorType"] == "ValidationException"
    assert "BatchSize" in body["message"]
    assert server.aws("pipes", "describe-pipe", "--name", "ins")["SourceParameters"][
        "DynamoDBStreamParameters"]["BatchSize"] == 10
    server.aws("pipes", "update-pipe", "--name", "ins", "--role-arn", ROLE, "--source-parameters",
               json.dumps({"FilterCriteria": {"Filters": [{"Pattern": '{"eventName":["REMOVE"]}'}]}}))
    ddb.delete_item(TableName="OrdersRawTable", Key={"orderid": {"S": "new-1"}})
    ddb.put_item(TableName="OrdersRawTable", Item={"orderid": {"S": "new-2"}, "product_name": {"S": "Laptop"}})
    wait_caught_up(server, "ins")
    history = table_history(server)
    wanted.append(history[-2]["dynamodb"]["SequenceNumber"])
    assert_once_in_order(read_stream(server, "inserts-only"), wanted)

    # delete: gone, also after a restart; the seed pipe is unaffected
    assert server.aws("pipes", "delete-pipe", "--name", "ins")["DesiredState"] == "DELETED"
    assert "NotFoundException" in cli_error(server, "pipes", "describe-pipe", "--name", "ins")
    assert server.stop() == 0
    server = make_server().start()
    assert [p["Name"] for p in server.aws("pipes", "list-pipes")["Pipes"]] == ["orders-cdc-pipe"]
