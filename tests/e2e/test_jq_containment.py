"""jq from outside runs contained: a jq processor's or a partitionKeyFromQuery's program sees
no environment of the server (env, $ENV, input_filename, get_search_list), and a runaway
program (endless recursion, an endless generator) fails only the record it runs away on, into
the error prefix with a budget error; later records of the same stream still arrive."""
import base64
import json
import time

from test_delivery_direct import lake_objects, plain_lines, wait_for_lines

BUCKET = "test-bucket"
SECRET = "salespipe-jq-secret-41c2"

CONFIG = f"""
buckets:
  - name: {BUCKET}
delivery_streams:
  - name: peek
    bucket: {BUCKET}
    prefix: "peek/"
    error_output_prefix: "peek-err/"
    buffer_interval_seconds: 1
    append_delimiter: true
    processors:
      - type: jq
        program: '{{env: env, ENV: $ENV, file: input_filename, search: get_search_list, n: .n}}'
  - name: runaway
    bucket: {BUCKET}
    prefix: "runaway/"
    error_output_prefix: "runaway-err/"
    buffer_interval_seconds: 1
    append_delimiter: true
    processors:
      - type: jq
        program: 'if .n == 3 then last(repeat(1)) elif .n == 5 then def f: f; f else . end'
  - name: by-key
    bucket: {BUCKET}
    prefix: "key=!{{partitionKeyFromQuery:k}}/"
    error_output_prefix: "by-key-err/!{{firehose:error-output-type}}/"
    buffer_interval_seconds: 1
    append_delimiter: true
    dynamic_partitioning:
      queries:
        k: 'if .n == 1 then [range(1e9)] | length else ($ENV | length | tostring) + "-" + (.n | tostring) end'
"""


def errors_of(data_dir, prefix):
    return [json.loads(l) for p in lake_objects(data_dir, prefix).values()
            for l in plain_lines(p)]


def test_jq_sees_no_environment_and_a_runaway_program_fails_only_its_record(make_server,
                                                                            data_dir):
    server = make_server(CONFIG)
    server.env = {"SALESPIPE_JQ_SECRET": SECRET, "HOME": "/root"}
    server.start()
    fh = server.client("firehose")
    recs = [{"Data": json.dumps({"n": i}).encode()} for i in range(8)]
    t0 = time.monotonic()
    for name in ("peek", "runaway", "by-key"):
        assert fh.put_record_batch(DeliveryStreamName=name, Records=recs)["FailedPutCount"] == 0

    peek = [json.loads(l) for l in wait_for_lines(data_dir, "peek/", 8, plain_lines)]
    assert sorted(p["n"] for p in peek) == list(range(8))
    for p in peek:
        assert p["env"] == {} and p["ENV"] == {}, p
        assert p["file"] is None and p["search"] == []
    assert SECRET not in json.dumps(peek)

    ok = [json.loads(l)["n"] for l in wait_for_lines(data_dir, "runaway/", 6, plain_lines)]
    assert sorted(ok) == [0, 1, 2, 4, 6, 7]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(errors_of(data_dir, "runaway-err/")) < 2:
        time.sleep(0.2)
    errs = errors_of(data_dir, "runaway-err/")
    assert sorted(json.loads(base64.b64decode(e["rawData"]))["n"] for e in errs) == [3, 5]
    for e in errs:
        assert "time budget" in e["errorMessage"], e

    keyed = wait_for_lines(data_dir, "key=", 7, plain_lines)
    assert sorted(json.loads(l)["n"] for l in keyed) == [0, 2, 3, 4, 5, 6, 7]
    for key in lake_objects(data_dir, "key="):
        assert key.startswith("key=0-"), key          # $ENV has no members
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not errors_of(data_dir, "by-key-err/"):
        time.sleep(0.2)
    errs = errors_of(data_dir, "by-key-err/")
    assert [json.loads(base64.b64decode(e["rawData"]))["n"] for e in errs] == [1]
    assert "time budget" in errs[0]["errorMessage"]
    assert all(k.startswith("by-key-err/partitioning-failed/")
               for k in lake_objects(data_dir, "by-key-err/"))
    assert time.monotonic() - t0 < 60
    assert server.stop() == 0
