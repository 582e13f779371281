"""The crash test: a burst of changes, SIGKILL while the pipe is moving them, restart; the
target stream must hold every table stream record exactly once, in order per key.

To be sure the kill lands mid-move, the pipe runs with small batches and is stopped while the
burst is written, then started, and the process is killed as soon as the pipe has written
part of the backlog."""
import time
import urllib.request

from pipe_helpers import assert_once_in_order, pipe_health, read_stream, table_history, wait_caught_up

CONFIG = """defaults: seed
pipes:
  - name: orders-cdc-pipe
    source_table: OrdersRawTable
    target_stream: kinesis-for-sales-data
    batch_size: 1
"""
ROUNDS, PER_ROUND = 3, 1000


def burst(server, first, count):
    ddb = server.client("dynamodb")
    for start in range(first, first + count, 25):
        ddb.batch_write_item(RequestItems={"OrdersRawTable": [
            {"PutRequest": {"Item": {"orderid": {"S": str(i % 97)}, "quantity": {"N": str(i)}}}}
            for i in range(start, min(start + 25, first + count))]})


def test_sigkill_while_the_pipe_moves_a_burst_loses_and_repeats_nothing(make_server):
    server = make_server(CONFIG).start()
    lag_at_kill = []
    for round_ in range(ROUNDS):
        server.aws("pipes", "stop-pipe", "--name", "orders-cdc-pipe")
        burst(server, round_ * PER_ROUND, PER_ROUND)
        before = pipe_health(server, "orders-cdc-pipe")["written"]
        start = urllib.request.Request(server.endpoint + "/v1/pipes/orders-cdc-pipe/start",
                                       data=b"{}", method="POST",
                                       headers={"Content-Type": "application/json"})
        urllib.request.urlopen(start, timeout=10).close()  # faster than the cli: less to miss
        deadline = time.time() + 30
        while time.time() < deadline:
            h = pipe_health(server, "orders-cdc-pipe")
            if h["written"] > before:
                break
        lag_at_kill.append(h["lag_records"])
        server.kill()
        server = make_server(CONFIG).start()
    wait_caught_up(server, "orders-cdc-pipe", timeout=120)
    history = table_history(server)
    assert len(history) == ROUNDS * PER_ROUND
    assert_once_in_order(read_stream(server, "kinesis-for-sales-data"),
                         [r["dynamodb"]["SequenceNumber"] for r in history])
    # the kills really landed while the pipe was moving the burst
    assert any(lag > 0 for lag in lag_at_kill), lag_at_kill
