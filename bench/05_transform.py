#!/usr/bin/env python3
"""transform: records/s of the builtin dynamodb-cdc processor vs the same transformation as a
Python handler (tests/e2e/test_delivery_lambda.py's CDC_HANDLER, Firehose's record contract)
behind salespipe's lambda processor, in one server, same records.

Two Direct PUT delivery streams; each gets the same DynamoDB Streams records through
PutRecordBatch (500 per call) and is timed from its first put until health reports every
record out. The streams run one after the other, so neither competes with the other."""
import base64
import json
import os
import sys
import tempfile

from benchlib import ROOT, SERVE_ARGS, Server, emit, firehose_timed

sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from test_delivery_kinesis import stream_record  # noqa: E402
from test_delivery_lambda import CDC_HANDLER  # noqa: E402

RECORDS = int(os.environ.get("BENCH_TRANSFORM_RECORDS", "50000"))
PUT_BATCH = 500


def config():
    def stream(name, prefix, procs):
        return (f"  - name: {name}\n    bucket: bench-bucket\n    prefix: {prefix}\n"
                f"    buffer_interval_seconds: 0\n    buffer_size_mb: 5\n"
                f"    processors: {json.dumps(procs)}\n")
    return ("buckets:\n  - name: bench-bucket\ndelivery_streams:\n"
            + stream("via-builtin", "builtin/", [{"type": "dynamodb-cdc"}])
            + stream("via-lambda", "lambda/",
                     [{"type": "lambda", "function": "cdc_handler"}]))


def timed(server, name, batches):
    return firehose_timed(server, name, batches, RECORDS)


def main():
    events = ["INSERT", "MODIFY", "REMOVE"]
    recs = [json.dumps(stream_record(events[i % 3], str(i), "Tablet", i % 5 + 1,
                                     "10.5" if i % 2 else "20", f"{i + 1:021d}",
                                     1700000000 + i)).encode() for i in range(RECORDS)]
    batches = [[{"Data": base64.b64encode(d).decode()} for d in recs[i:i + PUT_BATCH]]
               for i in range(0, RECORDS, PUT_BATCH)]
    with tempfile.TemporaryDirectory() as d:
        functions = os.path.join(d, "data", "delivery", "lambda")
        os.makedirs(functions)
        with open(os.path.join(functions, "cdc_handler.py"), "w") as f:
            f.write(CDC_HANDLER)
        cfg = os.path.join(d, "salespipe.yaml")
        with open(cfg, "w") as f:
            f.write(config())
        os.makedirs(os.path.join(d, "data"), exist_ok=True)
        srv = Server(os.path.join(d, "data"), config=cfg, extra_args=SERVE_ARGS).start()
        try:
            builtin = timed(srv, "via-builtin", batches)
            lam = timed(srv, "via-lambda", batches)
        finally:
            assert srv.stop() == 0
    emit("transform", "records/s", builtin, "python-lambda-handler", lam, records=RECORDS,
         comparison="peer: the same transform as a Python Lambda handler "
                    "(Firehose's record contract) behind salespipe's lambda processor, "
                    "same server, same records",
         note="from the first PutRecordBatch (500 per call, one keep-alive connection) to the last record out")


if __name__ == "__main__":
    main()
