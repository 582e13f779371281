"""Hostile Lambda input: only <data>/delivery/lambda/NAME.py ever runs. The remote code
execution that used to work (S3 PutObject x.py, then a LambdaArn '../lake/<bucket>/x.py:h')
is refused with InvalidArgumentException, as are absolute paths, ARNs whose name holds '..' or
'/', and handler paths in the config file; a symlink out of the function directory and a
missing function fail their records into processing-failed/ with ResourceNotFoundException.
The function that does run sees only the Lambda environment, runs in its own directory under
rlimits, is killed at its Timeout, and its Runtime API refuses requests without the child's
token or with another request id."""
import base64
import json
import os
import re
import subprocess
import time

import botocore.exceptions
import pytest

from conftest import BIN
from test_delivery_direct import lake_objects, plain_lines
from test_delivery_lambda import wait_health, write, write_function

BUCKET = "test-bucket"
SECRET = "salespipe-secret-7f3a9c"
ALLOWED_ENV = {"AWS_LAMBDA_FUNCTION_NAME", "_HANDLER", "AWS_LAMBDA_RUNTIME_API", "AWS_REGION",
               "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT",
               "AWS_LAMBDA_FUNCTION_VERSION", "PATH", "LANG", "TZ"}
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def payload(marker):
    """Python that creates marker when imported or called: proof it ran."""
    return f'''
open({str(marker)!r}, "w").write("ran")
def h(event, context):
    open({str(marker)!r}, "w").write("ran")
lambda_handler = h
'''


def s3_destination(prefix, lambda_arn):
    return {"RoleARN": "arn:aws:iam::000000000000:role/r", "BucketARN": f"arn:aws:s3:::{BUCKET}",
            "Prefix": prefix, "ErrorOutputPrefix": "err/",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
            "ProcessingConfiguration": {"Enabled": True, "Processors": [
                {"Type": "Lambda", "Parameters": [
                    {"ParameterName": "LambdaArn", "ParameterValue": lambda_arn},
                    {"ParameterName": "NumberOfRetries", "ParameterValue": "0"}]}]}}


def stream_cfg(name, function, **kw):
    proc = dict({"type": "lambda", "function": function, "retries": 0}, **kw)
    return (f"  - name: {name}\n    bucket: {BUCKET}\n    prefix: out-{name}/\n"
            f"    error_output_prefix: err-{name}/\n    buffer_interval_seconds: 1\n"
            f"    processors: [{json.dumps(proc)}]\n")


def errors_of(data_dir, prefix):
    out = []
    for _, path in lake_objects(data_dir, prefix).items():
        out += [json.loads(l) for l in plain_lines(path)]
    return out


def outputs_of(data_dir, prefix):
    return [json.loads(l) for p in lake_objects(data_dir, prefix).values()
            for l in plain_lines(p)]


def test_rce_reproduction_is_refused(make_server, data_dir, tmp_path):
    marker = tmp_path / "pwned"
    server = make_server(f"buckets:\n  - name: {BUCKET}\n").start()
    s3 = server.client("s3")
    s3.put_object(Bucket=BUCKET, Key="x.py", Body=payload(marker).encode())
    assert os.path.exists(os.path.join(data_dir, "lake", BUCKET, "x.py"))
    fh = server.client("firehose")
    bad = [f"../lake/{BUCKET}/x.py:h",
           os.path.join(data_dir, "lake", BUCKET, "x.py") + ":h",
           f"arn:aws:lambda:us-east-1:123456789012:function:../lake/{BUCKET}/x",
           "arn:aws:lambda:us-east-1:123456789012:function:a/b",
           "arn:aws:lambda:us-east-1:123456789012:function:x.py",
           "arn:aws:lambda:us-east-1:123456789012:function:ok:../x",
           "arn:aws:lambda:us-east-1:12345:function:ok",
           "arn:aws:s3:::bucket/function:ok",
           "x" * 65,
           "lambda/x.py:lambda_handler",
           "x.py"]
    for i, arn in enumerate(bad):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            fh.create_delivery_stream(DeliveryStreamName=f"rce-{i}",
                                      ExtendedS3DestinationConfiguration=s3_destination("o/", arn))
        err = ei.value.response["Error"]
        assert err["Code"] == "InvalidArgumentException", (arn, err)
        assert "LambdaArn" in err["Message"], err
        if data_dir not in arn:                          # no internal path in the message
            assert data_dir not in err["Message"], err
        with pytest.raises(botocore.exceptions.ClientError):
            fh.put_record(DeliveryStreamName=f"rce-{i}", Record={"Data": b"{}"})
    assert fh.list_delivery_streams()["DeliveryStreamNames"] == []
    time.sleep(0.5)
    assert server.stop() == 0
    assert not marker.exists()


@pytest.mark.parametrize("proc, key, line", [
    ({"type": "lambda", "handler": "/tmp/x.py:h"}, "processors[0].handler", 8),
    ({"type": "lambda", "function": "../lake/b/x"}, "processors[0].function", 8),
    ({"type": "lambda", "function": "arn:aws:lambda:us-east-1:123456789012:function:a/b"},
     "processors[0].function", 8),
    ({"type": "lambda"}, "processors[0].function", 8),
])
def test_bad_function_in_the_config_file_names_file_line_and_key(tmp_path, proc, key, line):
    f = tmp_path / "bad.yaml"
    f.write_text(f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n  - name: s\n"
                 f"    bucket: {BUCKET}\n    buffer_interval_seconds: 1\n    processors:\n"
                 f"      - {json.dumps(proc)}\n")
    out = subprocess.run([BIN, "config", "--config", str(f)], capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{f}:{line}: delivery_streams[0].{key}:" in out.stderr, out.stderr


def test_symlink_out_and_missing_function_fail_records_without_running(make_server, data_dir,
                                                                        tmp_path):
    marker = tmp_path / "pwned"
    outside = write(tmp_path / "outside.py", payload(marker))
    write_function(data_dir, "real", "def lambda_handler(e, c):\n    return {'records': []}\n")
    os.symlink(outside, os.path.join(data_dir, "delivery", "lambda", "evil.py"))
    # A symlinked directory out of the tree is no way round either.
    os.symlink(tmp_path, os.path.join(data_dir, "delivery", "lambda", "sub"))
    cfg = (f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n"
           + stream_cfg("evil", "evil") + stream_cfg("missing", "nosuch")
           + stream_cfg("arn-missing", "arn:aws:lambda:us-east-1:000000000000:function:nosuch:7"))
    server = make_server(cfg).start()
    fh = server.client("firehose")
    names = ["evil", "missing", "arn-missing"]
    for n in names:
        fh.put_record_batch(DeliveryStreamName=n,
                            Records=[{"Data": json.dumps({"n": i}).encode()} for i in range(3)])
    wait_health(server, names, 3)
    assert server.stop() == 0
    for n in names:
        errs = errors_of(data_dir, f"err-{n}/")
        assert sorted(json.loads(base64.b64decode(e["rawData"]))["n"] for e in errs) == [0, 1, 2]
        for e in errs:
            assert e["errorCode"] == "Lambda.ResourceNotFoundException", e
            assert "Function not found" in e["errorMessage"], e
            assert data_dir not in e["errorMessage"], e
        assert lake_objects(data_dir, f"out-{n}/") == {}
    assert not marker.exists()


REPORT = r'''
import base64, json, os, resource, time, urllib.request, urllib.error

def probe(url, method="GET", body=None):
    req = urllib.request.Request(url, data=body, method=method)
    try:
        return urllib.request.urlopen(req, timeout=5).status
    except urllib.error.HTTPError as e:
        return e.code

def lambda_handler(event, context):
    api = os.environ["AWS_LAMBDA_RUNTIME_API"]
    hostport, token = api.split("/", 1)
    base = "/2018-06-01/runtime"
    probes = {
        "next_without_token": probe(f"http://{hostport}{base}/invocation/next"),
        "next_wrong_token": probe(f"http://{hostport}/00000000-0000-4000-8000-000000000000{base}/invocation/next"),
        "answer_without_token": probe(f"http://{hostport}{base}/invocation/{context.aws_request_id}/response", "POST", b"{}"),
        "answer_wrong_id": probe(f"http://{api}{base}/invocation/00000000-0000-4000-8000-000000000000/response", "POST", b"{}"),
    }
    limits = {n: resource.getrlimit(getattr(resource, n))
              for n in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_NPROC", "RLIMIT_CORE")}
    report = {"env": dict(os.environ), "cwd": os.getcwd(), "limits": limits, "probes": probes,
              "request_id": context.aws_request_id, "memory": context.memory_limit_in_mb,
              "fds": sorted(int(f) for f in os.listdir("/proc/self/fd"))}
    line = (json.dumps(report) + "\n").encode()
    return {"records": [{"recordId": r["recordId"], "result": "Ok",
                         "data": base64.b64encode(line).decode()} for r in event["records"]]}
'''


def test_function_sees_only_its_environment_directory_and_limits(make_server, data_dir):
    write_function(data_dir, "report", REPORT)
    write_function(data_dir, "big", REPORT, {"MemorySize": 512, "Timeout": 5,
                                             "Environment": {"Variables": {"MY_SETTING": "on"}}})
    cfg = (f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n"
           + stream_cfg("report", "report") + stream_cfg("big", "big"))
    server = make_server(cfg)
    server.env = {"SALESPIPE_TEST_SECRET": SECRET, "AWS_SECRET_ACCESS_KEY": SECRET,
                  "PYTHONPATH": "/nonexistent", "LD_PRELOAD": ""}
    server.start()
    fh = server.client("firehose")
    for n in ("report", "big"):
        fh.put_record(DeliveryStreamName=n, Record={"Data": b'{"n":1}'})
    wait_health(server, ["report", "big"], 1)
    assert server.stop() == 0
    root = os.path.realpath(os.path.join(data_dir, "delivery", "lambda"))
    for n, mem, extra in (("report", 128, set()), ("big", 512, {"MY_SETTING"})):
        outs = outputs_of(data_dir, f"out-{n}/")
        assert len(outs) == 1, (n, errors_of(data_dir, f"err-{n}/"))
        r = outs[0]
        assert set(r["env"]) <= ALLOWED_ENV | extra, r["env"]
        assert SECRET not in json.dumps(r["env"])
        assert r["env"]["AWS_LAMBDA_FUNCTION_NAME"] == n
        assert r["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == str(mem)
        assert r["env"]["LAMBDA_TASK_ROOT"] == root
        assert extra <= set(r["env"])
        assert r["cwd"] == root
        assert r["memory"] == str(mem)
        lim = r["limits"]
        assert lim["RLIMIT_AS"][0] == (mem + 256) << 20, lim
        assert 0 < lim["RLIMIT_CPU"][0] < 60, lim
        assert lim["RLIMIT_NOFILE"] == [1024, 1024]
        assert lim["RLIMIT_FSIZE"] == [512 << 20, 512 << 20]
        assert lim["RLIMIT_NPROC"] == [1024, 1024]
        assert lim["RLIMIT_CORE"] == [0, 0]
        assert max(r["fds"]) < 10, r["fds"]            # nothing of the server's leaked in
        assert UUID4.match(r["request_id"]), r["request_id"]
        assert r["probes"] == {"next_without_token": 403, "next_wrong_token": 403,
                               "answer_without_token": 403, "answer_wrong_id": 400}, r["probes"]


SLEEPER = '''
import os, time
def lambda_handler(event, context):
    open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "sleeper.pid"), "w").write(str(os.getpid()))
    time.sleep(30)
'''


def test_function_past_its_timeout_is_killed_and_its_records_fail(make_server, data_dir):
    write_function(data_dir, "sleeper", SLEEPER, {"Timeout": 1})
    cfg = f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n" + stream_cfg("sleepy", "sleeper")
    server = make_server(cfg).start()
    fh = server.client("firehose")
    t0 = time.monotonic()
    fh.put_record_batch(DeliveryStreamName="sleepy",
                        Records=[{"Data": json.dumps({"n": i}).encode()} for i in range(4)])
    wait_health(server, ["sleepy"], 4)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not lake_objects(data_dir, "err-sleepy/"):
        time.sleep(0.2)
    assert time.monotonic() - t0 < 15       # the function's Timeout (1 s), not the sleep (30 s)
    pid = int(open(os.path.join(data_dir, "delivery", "lambda", "sleeper.pid")).read())
    assert not os.path.exists(f"/proc/{pid}") or "python" not in open(f"/proc/{pid}/cmdline").read()
    assert server.stop() == 0
    errs = errors_of(data_dir, "err-sleepy/")
    assert len(errs) == 4
    for e in errs:
        assert e["errorCode"] == "Lambda.FunctionTimeout", e
        assert "Task timed out after 1.00 seconds" in e["errorMessage"], e


def test_bad_function_configuration_fails_records(make_server, data_dir):
    write_function(data_dir, "badcfg", "def lambda_handler(e, c):\n    return {}\n",
                   {"MemorySize": 64, "Environment": {"Variables": {"AWS_REGION": "x"}}})
    cfg = f"buckets:\n  - name: {BUCKET}\ndelivery_streams:\n" + stream_cfg("badcfg", "badcfg")
    server = make_server(cfg).start()
    server.client("firehose").put_record(DeliveryStreamName="badcfg", Record={"Data": b"{}"})
    wait_health(server, ["badcfg"], 1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not lake_objects(data_dir, "err-badcfg/"):
        time.sleep(0.2)
    assert server.stop() == 0
    errs = errors_of(data_dir, "err-badcfg/")
    assert [e["errorCode"] for e in errs] == ["Lambda.InvalidParameterValueException"]
    assert "MemorySize 64" in errs[0]["errorMessage"]
