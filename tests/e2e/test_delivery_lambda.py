"""The lambda processor: a Python handler written for the test, following Firehose's record
contract, runs unchanged behind salespipe's Lambda Runtime API and gives the same output as the
builtin dynamodb-cdc; handlers that raise, return bad JSON, omit a recordId or hang send their
records to processing-failed/ in Firehose's error format, and nothing is lost."""
import base64
import json
import os
import time

from test_delivery_direct import lake_objects, plain_lines
from test_delivery_kinesis import stream_record

CDC_HANDLER = '''
import base64, json

def unmarshal(av):
    (t, v), = av.items()
    if t == "S" or t == "B":
        return v
    if t == "N":
        return num(v)
    if t == "BOOL":
        return v
    if t == "NULL":
        return None
    if t in ("SS", "BS"):
        return list(v)
    if t == "NS":
        return [num(x) for x in v]
    if t == "M":
        return {k: unmarshal(x) for k, x in v.items()}
    if t == "L":
        return [unmarshal(x) for x in v]
    raise ValueError(t)

def num(s):
    try:
        return int(s)
    except ValueError:
        return float(s)

def lambda_handler(event, context):
    out = []
    for r in event["records"]:
        rec = json.loads(base64.b64decode(r["data"]))
        ddb = rec["dynamodb"]
        image = ddb.get("OldImage" if rec["eventName"] == "REMOVE" else "NewImage") or ddb["Keys"]
        row = {k: unmarshal(v) for k, v in image.items()}
        row["cdc_event_type"] = rec["eventName"]
        import time as _t
        row["creation_datetime"] = _t.strftime("%Y-%m-%dT%H:%M:%SZ",
                                               _t.gmtime(int(ddb["ApproximateCreationDateTime"])))
        row["sequence_number"] = ddb["SequenceNumber"]
        data = (json.dumps(row) + "\\n").encode()
        out.append({"recordId": r["recordId"], "result": "Ok",
                    "data": base64.b64encode(data).decode()})
    return {"records": out}
'''

BAD_HANDLERS = {
    "raises": '''
def lambda_handler(event, context):
    raise RuntimeError("boom from the handler")
''',
    "bad-json": '''
def lambda_handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": "%%not base64%%"}
                        for r in event["records"]]}
''',
    "not-an-object": '''
def lambda_handler(event, context):
    return "this is not the Firehose contract"
''',
    "omits-id": '''
def lambda_handler(event, context):
    return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                        for r in event["records"][1:]]}
''',
    "hangs": '''
import time
def lambda_handler(event, context):
    time.sleep(60)
''',
}

MIXED_HANDLER = '''
import base64, json
def lambda_handler(event, context):
    out = []
    for r in event["records"]:
        n = json.loads(base64.b64decode(r["data"]))["n"]
        if n % 3 == 0:
            out.append({"recordId": r["recordId"], "result": "Dropped"})
        elif n % 3 == 1:
            out.append({"recordId": r["recordId"], "result": "ProcessingFailed"})
        else:
            line = base64.b64decode(r["data"]) + b"\\n"
            out.append({"recordId": r["recordId"], "result": "Ok",
                        "data": base64.b64encode(line).decode()})
    return {"records": out}
'''


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def write_function(data_dir, name, code, config=None):
    """<data>/delivery/lambda/<name>.py (and <name>.json): the only place functions live."""
    d = os.path.join(data_dir, "delivery", "lambda")
    os.makedirs(d, exist_ok=True)
    if config is not None:
        write(os.path.join(d, f"{name}.json"), json.dumps(config))
    return write(os.path.join(d, f"{name}.py"), code)


def stream_cfg(name, prefix, processors):
    return (f"  - name: {name}\n    bucket: test-bucket\n    prefix: {prefix}\n"
            f"    buffer_interval_seconds: 1\n    processors: {json.dumps(processors)}\n")


def wait_health(server, names, total, timeout=40):
    deadline = time.time() + timeout
    while time.time() < deadline:
        h = server.health()["services"]["firehose"]["delivery_streams"]
        if all(h[n]["records_in"] >= total for n in names):
            return h
        time.sleep(0.2)
    return server.health()["services"]["firehose"]["delivery_streams"]


def test_lambda_handler_gives_the_same_output_as_dynamodb_cdc(make_server, data_dir, tmp_path):
    write_function(data_dir, "cdc", CDC_HANDLER)
    cfg = ("buckets:\n  - name: test-bucket\ndelivery_streams:\n"
           + stream_cfg("via-lambda", "lambda/", [{"type": "lambda", "function": "cdc"}])
           + stream_cfg("via-builtin", "builtin/", [{"type": "dynamodb-cdc"}]))
    server = make_server(cfg).start()
    fh = server.client("firehose")
    events = ["INSERT", "MODIFY", "REMOVE"]
    recs = [stream_record(events[i % 3], str(i), "Tablet", i % 5 + 1,
                          "10.5" if i % 2 else "20", f"{i + 1:021d}", 1700000000 + i)
            for i in range(40)]
    batch = [{"Data": json.dumps(r).encode()} for r in recs]
    for name in ("via-lambda", "via-builtin"):
        assert fh.put_record_batch(DeliveryStreamName=name, Records=batch)["FailedPutCount"] == 0
    h = wait_health(server, ["via-lambda", "via-builtin"], 40)
    assert h["via-lambda"]["records_out"] == 40, h
    assert h["via-builtin"]["records_out"] == 40, h

    def rows(prefix):
        out = []
        for key, path in lake_objects(data_dir, prefix).items():
            out += [json.loads(l) for l in plain_lines(path)]
        return sorted(out, key=lambda r: r["sequence_number"])

    via_lambda, via_builtin = rows("lambda/"), rows("builtin/")
    assert len(via_lambda) == 40
    assert via_lambda == via_builtin
    assert [list(r) for r in via_lambda] == [list(r) for r in via_builtin]
    assert server.stop() == 0


def test_failing_handlers_send_records_to_processing_failed(make_server, data_dir, tmp_path):
    procs = {}
    for name, src in BAD_HANDLERS.items():
        write_function(data_dir, name, src)
        procs[name] = [{"type": "lambda", "function": name, "retries": 1, "timeout_seconds": 1}]
    write_function(data_dir, "mixed", MIXED_HANDLER)
    procs["mixed"] = [{"type": "lambda", "function": "mixed", "retries": 1}]
    cfg = "buckets:\n  - name: test-bucket\ndelivery_streams:\n" + "".join(
        stream_cfg(f"h-{n}", f"out-{n}/", p) for n, p in procs.items())
    server = make_server(cfg).start()
    fh = server.client("firehose")
    payloads = {}
    for n in procs:
        payloads[n] = [json.dumps({"n": i, "stream": n}).encode() for i in range(9)]
        fh.put_record_batch(DeliveryStreamName=f"h-{n}",
                            Records=[{"Data": d} for d in payloads[n]])
    h = wait_health(server, [f"h-{n}" for n in procs], 9)
    assert server.stop() == 0

    errors = {}
    for key, path in lake_objects(data_dir, "processing-failed/").items():
        parts = key.split("/")
        assert len(parts) == 6 and parts[0] == "processing-failed", key
        stream = parts[5].split("-1-")[0]
        for l in plain_lines(path):
            errors.setdefault(stream, []).append(json.loads(l))
    codes = {"raises": "Lambda.FunctionError", "bad-json": "Lambda.JsonProcessingException",
             "not-an-object": "Lambda.JsonProcessingException",
             "omits-id": "Lambda.MissingRecordId", "hangs": "Lambda.FunctionTimeout"}
    for n, code in codes.items():
        got = errors.get(f"h-{n}", [])
        assert sorted(base64.b64decode(e["rawData"]) for e in got) == sorted(payloads[n]), n
        for e in got:
            assert e["errorCode"] == code, (n, e)
            assert e["attemptsMade"] == 2, (n, e)
            assert e["lambdaArn"].startswith("arn:aws:lambda:")
            assert e["errorMessage"]
            assert isinstance(e["arrivalTimestamp"], int)
            assert e["attemptEndingTimestamp"] >= e["arrivalTimestamp"]
        assert lake_objects(data_dir, f"out-{n}/") == {}, n
    assert "boom from the handler" in errors["h-raises"][0]["errorMessage"]

    # Mixed results: Dropped vanish, ProcessingFailed go to errors, Ok are delivered.
    ok = [json.loads(l)["n"] for p in lake_objects(data_dir, "out-mixed/").values()
          for l in plain_lines(p)]
    failed = sorted(json.loads(base64.b64decode(e["rawData"]))["n"] for e in errors["h-mixed"])
    assert sorted(ok) == [2, 5, 8]
    assert failed == [1, 4, 7]
    assert all(e["errorCode"] == "Lambda.ProcessingFailedStatus" for e in errors["h-mixed"])


def test_lambda_arn_resolves_to_a_handler_under_the_data_dir(make_server, data_dir):
    """CreateDeliveryStream with a Lambda processor: LambdaArn ...:function:<name> runs
    <data>/delivery/lambda/<name>.py:lambda_handler."""
    server = make_server("buckets:\n  - name: test-bucket\n").start()
    os.makedirs(os.path.join(data_dir, "delivery", "lambda"), exist_ok=True)
    write(os.path.join(data_dir, "delivery", "lambda", "upper.py"), '''
import base64
def lambda_handler(event, context):
    assert event["deliveryStreamArn"].endswith(":deliverystream/api-lambda")
    return {"records": [{"recordId": r["recordId"], "result": "Ok",
                         "data": base64.b64encode(base64.b64decode(r["data"]).upper()).decode()}
                        for r in event["records"]]}
''')
    fh = server.client("firehose")
    fh.create_delivery_stream(
        DeliveryStreamName="api-lambda",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::1:role/r", "BucketARN": "arn:aws:s3:::test-bucket",
            "Prefix": "upper/", "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn",
                     "ParameterValue": "arn:aws:lambda:us-east-1:123456789012:function:upper"},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "1"}]},
                {"Type": "AppendDelimiterToRecord", "Parameters": []}]}})
    fh.put_record_batch(DeliveryStreamName="api-lambda",
                        Records=[{"Data": f"rec {i}".encode()} for i in range(5)])
    assert server.stop() == 0   # the 60 s buffer is flushed on shutdown
    lines = [l for p in lake_objects(data_dir, "upper/").values() for l in plain_lines(p)]
    assert sorted(lines) == [f"REC {i}" for i in range(5)]
