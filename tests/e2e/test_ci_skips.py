"""In CI a skipped test is a failed test: conftest.py turns a skip (a missing oracle, root or
tool) into a failure when CI=true, and leaves it a skip on a developer's machine."""
import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


def run_skipping_test(tmp_path, ci):
    shutil.copy(os.path.join(HERE, "conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_needs_an_oracle.py").write_text(
        "import pytest\n\n"
        "@pytest.fixture\n"
        "def oracle():\n"
        "    pytest.skip('the oracle is absent')\n\n"
        "def test_in_body():\n"
        "    pytest.skip('no root')\n\n"
        "def test_in_fixture(oracle):\n"
        "    pass\n")
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(["/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(tmp_path)], capture_output=True, text=True, env=env, timeout=120)


def test_a_skip_fails_under_ci(tmp_path):
    out = run_skipping_test(tmp_path, ci=True)
    assert out.returncode != 0
    assert "1 failed, 1 error" in out.stdout, out.stdout  # the fixture skip is a setup error
    assert "the oracle is absent" in out.stdout and "no root" in out.stdout


def test_a_skip_stays_a_skip_outside_ci(tmp_path):
    out = run_skipping_test(tmp_path, ci=False)
    assert out.returncode == 0, out.stdout
    assert "2 skipped" in out.stdout, out.stdout
