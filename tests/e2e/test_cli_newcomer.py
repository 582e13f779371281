"""The command line as a newcomer meets it (issue 18): `status` answers "is my data loaded?",
commands that read a data dir refuse to invent an empty one, an unknown --database is an
error, SQL errors carry their real line:column, a busy port is one clear line, every
subcommand's --help exits 0, `config` says where it came from and omits keys that do not
apply, and long work shows a progress line on a terminal only."""
import os
import pty
import re
import select
import socket
import subprocess
import time

from conftest import BIN, Server

SUBCOMMANDS = ["demo", "serve", "generate", "status", "config", "crawl", "query", "ddl", "bench-cdc"]


def run(*args, cwd=None, env=None, timeout=120):
    e = dict(os.environ)
    e.pop("SALESPIPE_DATA_DIR", None)
    e.update(env or {})
    return subprocess.run([BIN, *args], capture_output=True, text=True, cwd=cwd, env=e,
                          timeout=timeout)


def wait_lake(server, n_objects=1, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        fh = server.health()["services"]["firehose"]
        if fh["backlog_records"] == 0 and fh["objects"] >= n_objects:
            return
        time.sleep(0.2)
    raise AssertionError(f"lake not reached: {server.health()['services']['firehose']}")


def test_every_subcommand_help_exits_zero():
    for cmd in SUBCOMMANDS:
        out = run(cmd, "--help")
        assert out.returncode == 0, (cmd, out.stderr)
        assert out.stdout.startswith("usage: salespipe " + cmd), (cmd, out.stdout)


def test_query_ddl_crawl_status_refuse_a_missing_data_dir(tmp_path):
    for args in (["query", "select 1"], ["ddl"], ["crawl"], ["status", "--offline"]):
        out = run(*args, cwd=tmp_path)
        assert out.returncode != 0, args
        assert "no salespipe data at ./salespipe-data (use --data-dir or SALESPIPE_DATA_DIR)" \
            in out.stderr, (args, out.stderr)
        assert not (tmp_path / "salespipe-data").exists(), args
    out = run("query", "select 1", env={"SALESPIPE_DATA_DIR": str(tmp_path / "elsewhere")})
    assert f"no salespipe data at {tmp_path / 'elsewhere'}" in out.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_status_says_what_is_loaded_and_offline_claims_nothing_runs(data_dir):
    s = Server(data_dir).start()
    try:
        gen = run("generate", "--endpoint", s.endpoint, "--events", "40", "--rate", "0",
                  "--seed", "7")
        assert gen.returncode == 0, gen.stderr
        wait_lake(s)
        out = run("status", "--endpoint", s.endpoint)
        assert out.returncode == 0, out.stderr
        text = out.stdout
        items = int(re.search(r"OrdersRawTable\s+items=(\d+) changes=(\d+)", text).group(1))
        assert 0 < items <= 40
        stream = re.search(r"kinesis-for-sales-data\s+records=(\d+)", text)
        shards = [int(x) for x in re.findall(r"shardId-\d+\s+records=(\d+)", text)]
        assert len(shards) == 2 and sum(shards) == int(stream.group(1)) > 0
        assert re.search(r"orders-cdc-pipe\s+state=RUNNING .*checkpoint=\d+ lag_records=0", text)
        assert re.search(r"firehose\n\s+running=yes backlog_records=0 objects=[1-9]", text), text
        assert re.search(r"sales-crawler\s+last_crawl=never", text)
    finally:
        assert s.stop() == 0
    crawl = run("crawl", "--data-dir", data_dir)
    assert crawl.returncode == 0, crawl.stderr
    off = run("status", "--offline", "--data-dir", data_dir)
    assert off.returncode == 0, off.stderr
    assert "running=yes" not in off.stdout, off.stdout
    assert re.search(r"OrdersRawTable\s+items=%d" % items, off.stdout)
    assert re.search(r"sales-crawler\s+last_crawl=20\d\d-\d\d-\d\dT[\d:]+Z last_crawl_ms=\d+ last_status=SUCCEEDED "
                     r"database=sales_db tables=1", off.stdout), off.stdout
    assert re.search(r"backlog_records=0", off.stdout)


def test_unknown_database_is_an_error_and_sql_errors_carry_line_and_column(data_dir):
    s = Server(data_dir).start()
    try:
        assert run("generate", "--endpoint", s.endpoint, "--events", "5", "--rate", "0").returncode == 0
        wait_lake(s)
    finally:
        assert s.stop() == 0
    assert run("crawl", "--data-dir", data_dir).returncode == 0
    for args in (["query", "select 1", "--database", "no_such_db"], ["ddl", "--database", "no_such_db"]):
        out = run(*args, "--data-dir", data_dir)
        assert out.returncode != 0 and "no database 'no_such_db'" in out.stderr, (args, out.stderr)
    ok = run("query", "select count(*) from kinesis_firehose_destination_yb", "--database",
             "sales_db", "--data-dir", data_dir)
    assert ok.returncode == 0, ok.stderr
    bad = run("query", "select orderid,\n  price\nfrom kinesis_firehose_destination_yb\nwher x",
              "--data-dir", data_dir)
    assert bad.returncode != 0
    assert "line 4:6:" in bad.stderr, bad.stderr
    bad = run("query", "select 1,\n   nosuchcolumn from kinesis_firehose_destination_yb",
              "--data-dir", data_dir)
    assert re.search(r"line 2:4: .*nosuchcolumn", bad.stderr), bad.stderr


def test_busy_port_is_one_clear_line(data_dir):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    port = sock.getsockname()[1]
    try:
        out = run("serve", "--port", str(port), "--data-dir", data_dir, timeout=60)
    finally:
        sock.close()
    assert out.returncode != 0
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert lines == [f"salespipe serve: cannot listen on 127.0.0.1:{port}: the port is in use or "
                     "not available (another salespipe serve? choose one with --port)"], lines


def test_config_names_its_source_and_omits_keys_that_do_not_apply(tmp_path):
    out = run("config")
    assert out.returncode == 0
    assert out.stdout.splitlines()[0] == "# effective configuration (from (seed defaults))"
    assert "range_key_type" not in out.stdout
    cfg = tmp_path / "c.yaml"
    cfg.write_text("tables:\n  - name: T2\n    hash_key: k\n    range_key: r\n"
                   "    range_key_type: N\n")
    out = run("config", "--config", str(cfg))
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == f"# effective configuration (from {cfg})"
    assert 'range_key_type: "N"' in out.stdout


def run_on_tty(args, timeout=120):
    """Runs the binary with stderr on a pseudo-terminal; returns (rc, stdout, tty text)."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop("SALESPIPE_DATA_DIR", None)
    p = subprocess.Popen([BIN, *args], stdout=subprocess.PIPE, stderr=slave, env=e)
    os.close(slave)
    chunks = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        r, _, _ = select.select([master], [], [], 0.2)
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            break
    os.close(master)
    out = p.stdout.read().decode()
    p.stdout.close()
    return p.wait(), out, b"".join(chunks).decode(errors="replace")


def test_progress_lines_on_a_terminal_only(tmp_path):
    data = str(tmp_path / "d")
    args = ["generate", "--in-process", "--events", "300", "--rate", "0", "--data-dir", data]
    rc, _, tty = run_on_tty(args)
    assert rc == 0, tty
    assert re.search(r"generate \(requests\): 300/300, \d+/s, [\d.]+ s", tty), tty
    rc, _, tty = run_on_tty(["crawl", "--data-dir", data])
    assert rc == 0, tty
    assert re.search(r"crawl \(objects\): (\d+)/\1, \d+/s", tty), tty
    rc, out, tty = run_on_tty(["bench-cdc", "--events", "200", "--threads", "1", "--data-dir",
                               str(tmp_path / "b")])
    assert rc == 0, tty
    assert re.search(r"bench-cdc \(changes\): \d+", tty), tty
    assert '"events":200' in out
    # Not a terminal: no progress at all.
    quiet = run("generate", "--in-process", "--events", "300", "--rate", "0", "--data-dir",
                str(tmp_path / "q"))
    assert quiet.returncode == 0 and "generate (" not in quiet.stderr, quiet.stderr
    quiet = run("crawl", "--data-dir", str(tmp_path / "q"))
    assert quiet.returncode == 0 and "crawl (" not in quiet.stderr, quiet.stderr
