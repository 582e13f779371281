"""Doors of the endpoint: the startup log says what it binds and warns when that is not
loopback; idle connections, clients that send half a request and stall, bodies larger than
the limit and bursts of connections do not keep a normal client from being answered."""
import os
import socket
import subprocess
import time

import pytest

from conftest import BIN


def test_startup_log_names_the_bind_address(make_server):
    s = make_server().start()
    log = s.read_log()
    assert f"listening on http://127.0.0.1:{s.port}" in log
    assert "requests are not authenticated" in log
    assert "not a loopback address" not in log


def test_other_loopback_addresses_do_not_warn(data_dir):
    # The conftest Server assumes 127.0.0.1, so this one is run by hand.
    args = [BIN, "serve", "--port", "0", "--data-dir", data_dir, "--bind", "127.0.0.2"]
    with open(os.path.join(data_dir, "..", "b.log"), "wb") as log:
        p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log)
        line = p.stdout.readline().decode()
        assert line.startswith("ready port="), line
        port = int(line.split("=")[1])
        with socket.create_connection(("127.0.0.2", port), timeout=5) as c:
            c.sendall(b"GET /_salespipe/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            assert c.recv(100).startswith(b"HTTP/1.1 200")
        p.terminate()
        assert p.wait(timeout=60) == 0
        p.stdout.close()
    text = open(os.path.join(data_dir, "..", "b.log")).read()
    assert f"listening on http://127.0.0.2:{port}" in text
    assert "not a loopback address" not in text


def test_non_loopback_bind_is_warned_about_before_binding(data_dir):
    # 192.0.2.1 (TEST-NET-1) is not on this machine: the bind fails, but the warning has
    # already been logged, and nothing ever listened beyond loopback.
    r = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", data_dir, "--bind", "192.0.2.1",
                        "--allow-unauthenticated-remote"], capture_output=True, timeout=60)
    err = r.stderr.decode()
    assert r.returncode != 0
    assert "binding 192.0.2.1, which is not a loopback address" in err
    assert "accepts unsigned requests from anyone" in err
    assert "cannot listen on 192.0.2.1" in err
    r = subprocess.run([BIN, "serve", "--port", "0", "--data-dir", data_dir, "--bind", "localhost:1"],
                       capture_output=True, timeout=60)
    assert r.returncode != 0 and "is not an IPv4 address" in r.stderr.decode()


def timed_call(server):
    ddb = server.client("dynamodb")
    t0 = time.monotonic()
    ddb.put_item(TableName="OrdersRawTable", Item={"orderid": {"S": f"t{t0}"}})
    assert ddb.get_item(TableName="OrdersRawTable", Key={"orderid": {"S": f"t{t0}"}})["Item"]
    return time.monotonic() - t0


def test_idle_slow_and_oversize_clients_do_not_stall_others(server):
    baseline = timed_call(server)
    socks = []
    try:
        # 200 connections that never send a byte.
        for _ in range(200):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        # 50 that send half a request line / half the headers and stall.
        for i in range(50):
            c = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Tar" if i % 2 else b"GET /_salespi")
            socks.append(c)
        # 20 that announce a body and send only a little of it.
        for _ in range(20):
            c = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                      b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 100000\r\n\r\n{\"Ta")
            socks.append(c)
        time.sleep(0.5)
        for _ in range(5):
            took = timed_call(server)
            assert took < max(2.0, 10 * baseline), f"a normal call took {took:.2f}s"

        # A body over the limit is refused from its Content-Length, before it is sent.
        c = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                  b"Content-Type: application/x-amz-json-1.0\r\nContent-Length: 999999999999\r\n\r\n")
        t0 = time.monotonic()
        head = c.recv(200)
        assert head.startswith(b"HTTP/1.1 413"), head
        assert time.monotonic() - t0 < 5
        c.close()
        # Chunked, without a length: cut off once it passes the limit.
        c = socket.create_connection(("127.0.0.1", server.port), timeout=30)
        c.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-Target: DynamoDB_20120810.PutItem\r\n"
                  b"Content-Type: application/x-amz-json-1.0\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * (1 << 20)
        got = b""
        try:
            for _ in range(40):  # 40 MiB > the 16 MiB default limit
                c.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            got = c.recv(200)
        except (ConnectionResetError, socket.timeout):
            pass
        c.close()
        assert got == b"" or got.startswith(b"HTTP/1.1 413"), got
        assert timed_call(server) < max(2.0, 10 * baseline)
    finally:
        for c in socks:
            c.close()
    assert timed_call(server) < max(2.0, 10 * baseline)


def test_burst_of_connections_beyond_what_is_served_at_once(server):
    """600 clients connect at once and each sends one request: every one is answered."""
    socks = []
    try:
        for _ in range(600):
            socks.append(socket.create_connection(("127.0.0.1", server.port), timeout=30))
        for c in socks:
            c.sendall(b"GET /_salespipe/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        for c in socks:
            assert c.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        for c in socks:
            c.close()
    assert timed_call(server) < 5
