"""Under `durability: fsync` a DynamoDB write's answer waits for its WAL sync in a suspended
connection, not in a sleeping HTTP worker thread (core/ack.h, src/api/server.c). Seen from
outside: with a pool of ONE worker thread, writes sent at once on many connections still share
group commits (a worker that slept through each sync would commit them one by one: groups ==
writes), every connection gets its own request's answer, and a shutdown with answers still
waiting for their sync (and clients that left meanwhile) exits cleanly with every answered
write on disk."""
import http.client
import json
import subprocess
import urllib.request

from conftest import BIN

CONNECTIONS, ROUNDS = 16, 3


def one_thread_config():
    """The seed defaults with an HTTP pool of one worker thread."""
    out = subprocess.run([BIN, "config"], capture_output=True, text=True, check=True, timeout=60)
    lines = [("  threads: 1" if line.strip().startswith("threads:") else line)
             for line in out.stdout.splitlines()]
    assert "  threads: 1" in lines
    return "\n".join(lines) + "\n"


def dynamodb_health(server):
    with urllib.request.urlopen(f"{server.endpoint}/_salespipe/health", timeout=10) as r:
        body = json.load(r)
    return body["services"]["dynamodb"], body["services"]["http"]["threads"]


def put_body(key, quantity):
    return json.dumps({"TableName": "OrdersRawTable", "ReturnValues": "ALL_OLD",
                       "Item": {"orderid": {"S": key}, "quantity": {"N": str(quantity)}}})


def send_all_then_read(server, bodies):
    """Sends every body on its own keep-alive connection before reading any answer."""
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=60) for _ in bodies]
    for c, body in zip(conns, bodies):
        c.request("POST", "/", body=body, headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.PutItem"})
    answers = []
    for c in conns:
        r = c.getresponse()
        answers.append((r.status, json.loads(r.read() or b"{}")))
        c.close()
    return answers


def test_one_worker_thread_shares_syncs_and_answers_each_connection_its_own(make_server):
    server = make_server(one_thread_config(), ["--durability", "fsync"]).start()
    before, threads = dynamodb_health(server)
    assert threads == 1
    for rnd in range(ROUNDS):
        keys = [f"d{rnd}-{i}" for i in range(CONNECTIONS)]
        assert all(s == 200 and "Attributes" not in a
                   for s, a in send_all_then_read(server, [put_body(k, 1) for k in keys]))
        # The second put of each key answers with ITS first item: the answer went to the
        # connection that asked, after a resume.
        answers = send_all_then_read(server, [put_body(k, 2) for k in keys])
        for k, (status, a) in zip(keys, answers):
            assert status == 200, a
            assert a["Attributes"] == {"orderid": {"S": k}, "quantity": {"N": "1"}}
    after, _ = dynamodb_health(server)
    writes = after["writes"] - before["writes"]
    groups = after["group_commits"] - before["group_commits"]
    assert writes == 2 * ROUNDS * CONNECTIONS
    assert 0 < after["wal_syncs"] - before["wal_syncs"] <= groups
    assert groups < writes, (groups, writes)  # one worker, yet writes shared commits


def test_shutdown_with_answers_waiting_for_their_sync_is_clean_and_loses_nothing(make_server):
    config = one_thread_config()
    server = make_server(config, ["--durability", "fsync"]).start()
    conns = [http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
             for _ in range(CONNECTIONS)]
    for i, c in enumerate(conns):
        c.request("POST", "/", body=put_body(f"s{i}", 7), headers={
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": "DynamoDB_20120810.PutItem"})
    for c in conns[::2]:
        c.close()  # clients that leave while their answer waits for its sync
    rc = server.stop()  # SIGTERM while answers may still wait for their sync
    assert rc == 0, server.read_log()[-3000:]
    answered = []
    for i, c in enumerate(conns):
        if i % 2 == 0:
            continue
        try:
            r = c.getresponse()
            if r.status == 200:
                answered.append(f"s{i}")
        except (http.client.HTTPException, OSError):
            pass  # closed before it was served: not acknowledged
        c.close()
    server.start()
    ddb = server.client("dynamodb")
    for key in answered:
        item = ddb.get_item(TableName="OrdersRawTable", Key={"orderid": {"S": key}})["Item"]
        assert item["quantity"] == {"N": "7"}
