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


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_secrets_are_masked_unless_asked_for(tmp_path):
    f = tmp_path / "salespipe.yaml"
    f.write_text(
        "credentials:\n"
        f"  - {{access_key_id: AKIDEXAMPLE, secret_access_key: '{SECRET}'}}\n"
        "  - {access_key_id: SHORT, secret_access_key: 'tiny-secret'}\n"
        "delivery_streams:\n  - name: x\n    destination: {kind: s3, endpoint: "
        f"'http://127.0.0.1:9', region: us-east-1, bucket: bbb, access_key_id: AKID2, "
        f"secret_access_key: '{SECRET}2', session_token: 'token-0123456789abcdef'}}\n")
    shown = config("--config", str(f), "--show-secrets")
    assert shown.returncode == 0, shown.stderr
    assert SECRET in shown.stdout and "tiny-secret" in shown.stdout
    assert "token-0123456789abcdef" in shown.stdout
    # What --show-secrets prints loads back as the same configuration.
    again = tmp_path / "again.yaml"
    again.write_text(shown.stdout)
    assert body(config("--config", str(again), "--show-secrets").stdout) == body(shown.stdout)

    masked = config("--config", str(f))
    assert masked.returncode == 0, masked.stderr
    out = masked.stdout
    for secret in (SECRET, "tiny-secret", "token-0123456789abcdef", SECRET[:-4]):
        assert secret not in out, out
    # As `aws configure list` shows a key: stars and, for a long one, the last four.
    assert 'secret_access_key: "****************EKEY"' in out
    assert 'secret_access_key: "****************"' in out
    assert '"secret_access_key": "****************KEY2"' in out
    assert '"session_token": "****************cdef"' in out
    # Everything that is not a secret is printed as it is.
    assert "AKIDEXAMPLE" in out and "AKID2" in out and "bbb" in out


def test_config_refuses_unknown_arguments():
    out = config("--show-secret")
    assert out.returncode == 2 and "usage: salespipe config" in out.stderr
