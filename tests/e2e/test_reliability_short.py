"""The short crash run of tests/reliability (make reliability runs the long one): a few SIGKILLs
under load, then every committed change is in the lake exactly once and the table equals the
state rebuilt from the lake."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "reliability"))
import crash_harness  # noqa: E402


def test_kill9_under_load_loses_and_duplicates_nothing(data_dir):
    problems, counts, kills = crash_harness.run(changes=1500, kills=3, seed=7, workers=4,
                                                data_dir=data_dir)
    assert kills >= 1
    assert counts["changes"] > 500
    assert problems == []
