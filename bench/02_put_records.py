#!/usr/bin/env python3
"""put-records: Kinesis PutRecords records/s and MB/s (batches of 500 records of ~200 B),
salespipe vs kinesalite and vs the HTTP floor (build/sp_floor answering `{}` to the same
bodies: the records/s no server on salespipe's HTTP stack could exceed), same load generator
(4 connections), same run."""
import base64
import os
import json
import random
import tempfile

import boto3

from benchlib import SERVE_ARGS, NodePeer, Server, emit, floor_run, loadgen_cpu

SECONDS = float(os.environ.get("BENCH_PUT_SECONDS", "5"))
CONNECTIONS = 4
BATCH = 500


def bodies(n=40):
    rng = random.Random(2)
    out = []
    for _ in range(n):
        recs = []
        for _ in range(BATCH):
            oid = str(rng.randint(1, 10000))
            data = json.dumps({"eventName": "INSERT", "dynamodb": {"Keys": {"orderid": {"S": oid}},
                               "NewImage": {"orderid": {"S": oid}, "price": {"N": "99.5"}}},
                               "pad": "x" * 60}).encode()
            recs.append({"Data": base64.b64encode(data).decode(), "PartitionKey": oid})
        out.append({"StreamName": "kinesis-for-sales-data", "Records": recs})
    return out


def main():
    body = bodies()
    rec_bytes = sum(len(base64.b64decode(r["Data"])) for r in body[0]["Records"]) / BATCH
    with tempfile.TemporaryDirectory() as d:
        ours = Server(d, extra_args=SERVE_ARGS).start()
        try:
            r_ours = loadgen_cpu(ours.proc.pid, ours.port, "Kinesis_20131202.PutRecords", body,
                                 SECONDS, CONNECTIONS, "application/x-amz-json-1.1")
            ours_threads = ours.health()["services"]["http"]["threads"]
        finally:
            ours.stop()
    r_floor = floor_run("Kinesis_20131202.PutRecords", body, SECONDS, CONNECTIONS,
                        "application/x-amz-json-1.1")
    peer = NodePeer("kinesalite", ["--createStreamMs", "0"])
    try:
        c = boto3.client("kinesis", endpoint_url=peer.endpoint, region_name="us-east-1",
                         aws_access_key_id="t", aws_secret_access_key="t")
        c.create_stream(StreamName="kinesis-for-sales-data", ShardCount=2)
        c.get_waiter("stream_exists").wait(StreamName="kinesis-for-sales-data")
        r_peer = loadgen_cpu(peer.proc.pid, peer.port, "Kinesis_20131202.PutRecords", body,
                             SECONDS, CONNECTIONS, "application/x-amz-json-1.1")
    finally:
        peer.stop()
    ours_rps, peer_rps = r_ours["rps"] * BATCH, r_peer["rps"] * BATCH
    emit("put-records", "records/s", ours_rps, "kinesalite", peer_rps,
         floor_value=r_floor["rps"] * BATCH, connections=CONNECTIONS,
         ours_threads=ours_threads, floor_threads=r_floor["threads"],
         floor_p99_ms=r_floor["p99_ms"], floor_cpu_us_per_req=r_floor["cpu_us_per_req"],
         floor_errors=r_floor["errors"], ours_mb_s=round(ours_rps * rec_bytes / 1e6, 2), peer_mb_s=round(peer_rps * rec_bytes / 1e6, 2),
         record_bytes=round(rec_bytes), ours_cpu_us_per_req=r_ours["cpu_us_per_req"],
         peer_cpu_us_per_req=r_peer["cpu_us_per_req"], ours_errors=r_ours["errors"], peer_errors=r_peer["errors"])


if __name__ == "__main__":
    main()
