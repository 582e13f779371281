#!/usr/bin/env python3
"""cdc-e2e-http: changes/s from clients over HTTP until the last change is a readable lake
object, on the seed configuration (table + stream capture, pipe, Kinesis log, delivery with
dynamodb-cdc, lake), compared with the HTTP floor (build/sp_floor answering `{}`) driven by the
same load generator with the same requests and connections in the same run.

The requests are the seed generator's changes (src/gen/orders.c: 7:2:1 puts, updates and
deletes of orders 1..10000, seed-shaped items), one body each, sent once each by sp_loadgen
over CONNECTIONS keep-alive connections as a mix of targets: in alternate blocks of 50 changes,
singles (PutItem, UpdateItem, DeleteItem) and batched (puts and deletes as BatchWriteItem of
up to 25 distinct keys, updates single), as `salespipe bench-cdc --batch 25` groups them.
Since 16 connections reorder the requests, updates and deletes carry no condition (the
generator's attribute_exists would fail at random): an update of a missing order creates it,
a delete of a missing order changes nothing. So every request must succeed, and the number of
changes is the table's own count (its stream's last sequence number), not the request count.

Timing: from sp_loadgen's start (CLOCK_MONOTONIC, the clock of time.monotonic()) to the first
health poll (every 10 ms) where the delivery stream's records_out reaches the table's changes,
i.e. every change is in a renamed (readable) lake object; the lake's lines are counted
afterwards and must equal the changes. The floor's value is its requests/s on the same bodies
(the bodies in turn, for 2-5 s) times the changes per request salespipe saw, in changes/s."""
import os
import random
import tempfile

from benchlib import (SERVE_ARGS, Server, emit, floor_run, lake_lines, loadgen,
                      wait_delivered)

CHANGES = int(os.environ.get("BENCH_HTTP_CHANGES", "100000"))
CONNECTIONS = int(os.environ.get("BENCH_HTTP_CONNECTIONS", "16"))
BLOCK = 50
BATCH = 25
TABLE = "OrdersRawTable"
BUCKET = "kinesis-firehose-destination-yb"
PRODUCTS = ["Laptop", "Phone", "Tablet", "Headphones", "Charger"]
DDB = "DynamoDB_20120810."
FLOOR_MIN_S, FLOOR_MAX_S = 2.0, 5.0


def price(rng):
    cents = rng.randint(1000, 50000)
    return {"N": f"{cents // 100}.{cents % 100:02d}"}


def requests(n, seed=11):
    """n generator changes as [(target, body)] plus the count of each target."""
    rng = random.Random(seed)
    live, live_set = [], set()
    out, batch, keys = [], [], set()

    def flush():
        if batch:
            out.append((DDB + "BatchWriteItem", {"RequestItems": {TABLE: list(batch)}}))
            batch.clear()
            keys.clear()

    for k in range(n):
        batched = (k // BLOCK) % 2 == 1
        pick = rng.randrange(10)
        op = "put" if pick < 7 or not live else "update" if pick < 9 else "delete"
        if op == "put":
            oid = str(rng.randint(1, 10000))
            if oid not in live_set:
                live.append(oid)
                live_set.add(oid)
            item = {"orderid": {"S": oid}, "product_name": {"S": rng.choice(PRODUCTS)},
                    "quantity": {"N": str(rng.randint(1, 5))}, "price": price(rng)}
        else:
            oid = live[rng.randrange(len(live))]
        if op == "update":
            flush()
            field, value = (("price", price(rng)) if rng.random() < 0.5
                            else ("quantity", {"N": str(rng.randint(1, 5))}))
            out.append((DDB + "UpdateItem", {
                "TableName": TABLE, "Key": {"orderid": {"S": oid}},
                "UpdateExpression": "SET #f = :v", "ExpressionAttributeNames": {"#f": field},
                "ExpressionAttributeValues": {":v": value}}))
            continue
        if op == "delete":
            i = live.index(oid)
            live[i] = live[-1]
            live.pop()
            live_set.discard(oid)
        if not batched:
            flush()
            out.append((DDB + "PutItem", {"TableName": TABLE, "Item": item}) if op == "put" else
                       (DDB + "DeleteItem", {"TableName": TABLE, "Key": {"orderid": {"S": oid}}}))
            continue
        if oid in keys:
            flush()
        keys.add(oid)
        batch.append({"PutRequest": {"Item": item}} if op == "put" else
                     {"DeleteRequest": {"Key": {"orderid": {"S": oid}}}})
        if len(batch) == BATCH:
            flush()
    flush()
    counts = {}
    for target, _ in out:
        name = target[len(DDB):]
        counts[name] = counts.get(name, 0) + 1
    return out, counts


def main():
    reqs, counts = requests(CHANGES)
    # Generous time box: the load generator stops at the last request, not at this.
    box = max(60, CHANGES / 500)
    with tempfile.TemporaryDirectory() as d:
        data = os.path.join(d, "data")
        os.makedirs(data)
        srv = Server(data, extra_args=SERVE_ARGS).start()
        try:
            r = loadgen(srv.port, "-", reqs, box, CONNECTIONS, max_requests=len(reqs))
            if r["errors"] or r["requests"] != len(reqs):
                raise SystemExit(f"cdc-e2e-http: {r['errors']} failed, {r['requests']} of "
                                 f"{len(reqs)} answered")
            done, changes = wait_delivered(srv)
            h = srv.health()["services"]
            fh = h["firehose"]["delivery_streams"]["sales-delivery-stream"]
            ours_threads = h["http"]["threads"]
        finally:
            assert srv.stop() == 0
        lines = lake_lines(os.path.join(data, "lake", BUCKET))
    if fh["records_failed"] or lines != changes:
        raise SystemExit(f"cdc-e2e-http: {changes} changes, {lines} lake lines, "
                         f"{fh['records_failed']} failed")
    secs = done - r["start_mono"]
    per_req = changes / len(reqs)
    # The floor answers the same bodies in turn (cycling) for a few seconds: long enough for a
    # steady rate even when the request set is small.
    fl = floor_run("-", reqs, min(max(secs, FLOOR_MIN_S), FLOOR_MAX_S), CONNECTIONS)
    emit("cdc-e2e-http", "changes/s", changes / secs, None, None,
         floor_value=fl["rps"] * per_req,
         comparison="physical limit: the HTTP floor (sp_floor, {} to the same requests, same "
                    "connections) in changes/s at the changes per request salespipe saw",
         changes=changes, requests=len(reqs), requests_by_target=counts,
         connections=CONNECTIONS, total_s=round(secs, 3), send_s=round(r["seconds"], 3),
         drain_after_last_answer_s=round(done - r["end_mono"], 3),
         objects=fh["objects"], ours_p99_ms=r["p99_ms"], floor_p99_ms=fl["p99_ms"],
         ours_threads=ours_threads, floor_threads=fl["threads"],
         note="from the first request to every change in a readable lake object")


if __name__ == "__main__":
    main()
