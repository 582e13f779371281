#!/usr/bin/env python3
"""put-item: PutItem/s with seed-shaped orders, salespipe vs dynalite and vs the HTTP floor
(build/sp_floor: libmicrohttpd with salespipe's daemon options answering `{}`), same load
generator (8 keep-alive connections, the same request bodies), same machine, same run.

Prints two lines: put-item (peer dynalite, floor_value/ratio_to_floor the floor) and
http-floor, the floor's own row (requests/s with these bodies; a physical limit, no peer)."""
import json
import os
import random
import tempfile
import urllib.request

import boto3

from benchlib import SERVE_ARGS, NodePeer, Server, emit, floor_run, loadgen_cpu

SECONDS = float(os.environ.get("BENCH_PUT_SECONDS", "5"))
CONNECTIONS = 8


def bodies(n=20000):
    rng = random.Random(1)
    products = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
    return [{"TableName": "OrdersRawTable", "Item": {
        "orderid": {"S": str(rng.randint(1, 10000))},
        "product_name": {"S": rng.choice(products)},
        "quantity": {"N": str(rng.randint(1, 5))},
        "price": {"N": f"{rng.randint(1000, 50000) / 100:.2f}"}}} for _ in range(n)]


def create_seed_table(endpoint):
    c = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                     aws_access_key_id="t", aws_secret_access_key="t")
    c.create_table(TableName="OrdersRawTable", BillingMode="PAY_PER_REQUEST",
                   KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
                   AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
                   StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
    c.get_waiter("table_exists").wait(TableName="OrdersRawTable")


def table_commit_stats(port):
    """Writes, group commits and WAL syncs of the table since start (health output)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_salespipe/health", timeout=10) as r:
        ddb = json.load(r).get("services", {}).get("dynamodb", {})
    return {"table_writes": ddb.get("writes"), "table_group_commits": ddb.get("group_commits"),
            "table_wal_syncs": ddb.get("wal_syncs")}


def main():
    body = bodies()
    with tempfile.TemporaryDirectory() as d:
        ours = Server(d, extra_args=SERVE_ARGS).start()  # OrdersRawTable exists from the seed config
        try:
            r_ours = loadgen_cpu(ours.proc.pid, ours.port, "DynamoDB_20120810.PutItem", body,
                                 SECONDS, CONNECTIONS)
            ours_threads = ours.health()["services"]["http"]["threads"]
            groups = table_commit_stats(ours.port)
        finally:
            ours.stop()
    r_floor = floor_run("DynamoDB_20120810.PutItem", body, SECONDS, CONNECTIONS)
    peer = NodePeer("dynalite", ["--createTableMs", "0"])
    try:
        create_seed_table(peer.endpoint)
        r_peer = loadgen_cpu(peer.proc.pid, peer.port, "DynamoDB_20120810.PutItem", body,
                             SECONDS, CONNECTIONS)
    finally:
        peer.stop()
    emit("put-item", "requests/s", r_ours["rps"], "dynalite", r_peer["rps"],
         floor_value=r_floor["rps"], connections=CONNECTIONS,
         ours_threads=ours_threads, floor_threads=r_floor["threads"],
         ours_p99_ms=r_ours["p99_ms"], peer_p99_ms=r_peer["p99_ms"],
         floor_p99_ms=r_floor["p99_ms"], ours_cpu_us_per_req=r_ours["cpu_us_per_req"],
         peer_cpu_us_per_req=r_peer["cpu_us_per_req"],
         floor_cpu_us_per_req=r_floor["cpu_us_per_req"], ours_errors=r_ours["errors"],
         peer_errors=r_peer["errors"], floor_errors=r_floor["errors"], **groups)
    emit("http-floor", "requests/s", r_floor["rps"], None, None,
         comparison="physical limit: libmicrohttpd with salespipe's daemon options and "
                    "worker pool answering {} (bench/floor.c), put-item's bodies and connections",
         threads=r_floor["threads"], connections=CONNECTIONS, p99_ms=r_floor["p99_ms"],
         cpu_us_per_req=r_floor["cpu_us_per_req"], errors=r_floor["errors"],
         durability="n/a")  # the floor stores nothing


if __name__ == "__main__":
    main()
