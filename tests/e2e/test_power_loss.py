"""Power loss (tests/reliability/power_loss.py with the LD_PRELOAD shim powercut_shim.c): with
durability fsync (the default) every acknowledged change is in the lake exactly once after a
power cut at a random moment, and table stream sequence numbers after the restart are above
every one seen before the cut. First, the shim itself: unsynced writes really are taken away.
(`power_loss.py --durability relaxed` shows losses; it is run by hand, as loss is likely, not
certain.)"""
import os
import signal
import subprocess
import sys
import textwrap

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import power_loss  # noqa: E402
import powercut  # noqa: E402

pytestmark = pytest.mark.skipif(not powercut.SHIM, reason="libpowercut_shim.so not built")


def test_shim_rolls_back_everything_not_fsynced(tmp_path):
    data, shadow = tmp_path / "data", tmp_path / "shadow"
    data.mkdir()
    (data / "old").write_bytes(b"durable before the run")
    script = textwrap.dedent("""
        import os, signal
        def put(name, data, sync, flags=os.O_WRONLY | os.O_CREAT):
            fd = os.open(name, flags, 0o644)
            os.write(fd, data)
            if sync:
                os.fsync(fd)
            os.close(fd)
        put("synced", b"on disk", True)
        put("synced", b" and more, never synced", False, os.O_WRONLY | os.O_APPEND)
        put("unsynced", b"only in the page cache", False)
        put("old", b"overwritten, not synced", False)
        put(".tmp-renamed", b"renamed before its fsync", False)
        os.rename(".tmp-renamed", "renamed")
        put(".tmp-atomic", b"fsynced then renamed", True)
        os.rename(".tmp-atomic", "atomic")
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    env = dict(os.environ, **powercut.shim_env(str(data), str(shadow)))
    p = subprocess.run([sys.executable, "-c", script], cwd=data, env=env, timeout=60)
    assert p.returncode == -signal.SIGKILL
    assert (data / "unsynced").read_bytes() == b"only in the page cache"  # before the cut
    stats = powercut.roll_back(str(shadow))
    assert stats["changed"] == 4, stats
    assert (data / "synced").read_bytes() == b"on disk"
    assert (data / "unsynced").read_bytes() == b""
    assert (data / "old").read_bytes() == b"durable before the run"
    assert (data / "renamed").read_bytes() == b""
    assert (data / "atomic").read_bytes() == b"fsynced then renamed"


@pytest.mark.parametrize("seed", [5, 6])
def test_power_cut_keeps_every_acknowledged_change_and_never_reuses_a_sequence_number(data_dir, seed):
    problems, facts = power_loss.run("fsync", data_dir, seed)
    assert facts["acked_before"] > 0 and facts["acked_after"] > 0
    assert facts["rolled_back_files"] > 0
    assert problems == []


def test_power_cut_between_commit_and_wal_sync_shows_nothing_downstream(data_dir):
    """The cut comes right after a group's COMMIT wrote its WAL frames and before the sync
    that makes them durable (failpoint table.commit-unsynced): that group is lost, and no
    stream reader, pipe or lake saw it, nor was it acknowledged."""
    problems, facts = power_loss.run("fsync", data_dir, 7,
                                     failpoint="table.commit-unsynced:300")
    assert facts["acked_before"] > 0 and facts["acked_after"] > 0
    assert facts["seen_before_cut"] > 0
    assert facts["rolled_back_files"] > 0
    assert problems == []
