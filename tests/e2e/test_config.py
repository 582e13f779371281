"""`salespipe config` through the real binary: its output is a valid config file that prints
back the same, and bad files fail with exit code 2 naming file, line and key."""
import subprocess

from conftest import BIN


def config(*args):
    return subprocess.run([BIN, "config", *args], capture_output=True, text=True)


def body(text):
    """The printed config without its first line, which names the source."""
    return text.split("\n", 1)[1]


def test_printed_defaults_are_a_config_file_that_prints_the_same(tmp_path):
    first = config()
    assert first.returncode == 0, first.stderr
    f = tmp_path / "salespipe.yaml"
    f.write_text(first.stdout)
    second = config("--config", str(f))
    assert second.returncode == 0, second.stderr
    assert body(second.stdout) == body(first.stdout)
    assert str(f) in second.stdout.split("\n", 1)[0]


def test_defaults_seed_with_an_override(tmp_path):
    f = tmp_path / "salespipe.yaml"
    f.write_text("defaults: seed\nstreams:\n  - name: kinesis-for-sales-data\n    shard_count: 7\n")
    out = config("--config", str(f))
    assert out.returncode == 0, out.stderr
    assert "shard_count: 7" in out.stdout
    assert '"OrdersRawTable"' in out.stdout and '"sales-crawler"' in out.stdout


def test_dangling_reference_names_line_and_key(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("buckets: [{name: b}]\ncrawlers:\n  - name: c\n    database: db\n"
                 "    bucket: b\n    classifier: missing\n")
    out = config("--config", str(f))
    assert out.returncode == 2
    assert f"{f}:6: crawlers[0].classifier: 'missing' is not a configured classifier" in out.stderr
    assert out.stdout == ""


def test_missing_file(tmp_path):
    out = config("--config", str(tmp_path / "nope.yaml"))
    assert out.returncode == 2
    assert "nope.yaml: cannot open" in out.stderr


def test_durability_defaults_to_fsync_and_takes_relaxed(tmp_path):
    out = config()
    assert out.returncode == 0, out.stderr
    assert 'durability: "fsync"' in out.stdout
    f = tmp_path / "relaxed.yaml"
    f.write_text("defaults: seed\nserver:\n  durability: relaxed\n")
    out = config("--config", str(f))
    assert out.returncode == 0, out.stderr
    assert 'durability: "relaxed"' in out.stdout


def test_durability_rejects_anything_else(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("server:\n  durability: sometimes\n")
    out = config("--config", str(f))
    assert out.returncode == 2
    assert f"{f}:2: server.durability: 'sometimes' is not one of fsync|relaxed" in out.stderr
    for cmd in ("serve", "demo"):
        out = subprocess.run([BIN, cmd, "--data-dir", str(tmp_path / "d"), "--durability", "off"],
                             capture_output=True, text=True, timeout=30)
        assert out.returncode == 2, (cmd, out.stdout, out.stderr)
        assert "--durability fsync|relaxed" in out.stderr
