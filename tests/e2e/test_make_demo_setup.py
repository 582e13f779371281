"""`make demo` shows the demo, not the installation: it installs only what the demo needs
(no test oracles, cmocka, pytest or clang), apt never upgrades what is installed, the build
it configures does not look for test tools, and each setup phase prints one line with its
time while its output goes to a log."""
import os
import re
import subprocess
import tempfile

from conftest import SOURCE

TEST_ONLY = {"libcmocka-dev", "python3-pytest", "python3-boto3", "awscli", "clang", "npm", "nodejs"}  # python3-botocore is a build dependency (the request models)


def deps_list(purpose):
    out = subprocess.run(["bash", os.path.join(SOURCE, "scripts", "deps.sh"), "--list", purpose],
                         capture_output=True, text=True, timeout=60, check=True)
    return set(out.stdout.split())


def test_demo_installs_only_what_the_demo_needs():
    demo, test = deps_list("demo"), deps_list("test")
    assert demo & TEST_ONLY == set()
    assert {"libcmocka-dev", "python3-pytest", "python3-boto3", "awscli"} <= test
    assert demo <= test and "libsqlite3-dev" in demo and "cmake" in demo


def test_apt_never_upgrades_installed_packages():
    text = open(os.path.join(SOURCE, "scripts", "deps.sh")).read()
    installs = re.findall(r"apt-get install[^\n]*", text)
    assert installs and all("--no-upgrade" in line for line in installs)


def test_demo_build_does_not_look_for_test_tools():
    with tempfile.TemporaryDirectory() as build:
        subprocess.run(["cmake", "-S", SOURCE, "-B", build, "-DSP_TESTS=OFF"], check=True,
                       capture_output=True, timeout=300)
        cache = open(os.path.join(build, "CMakeCache.txt")).read()
        assert "CMOCKA_LIB" not in cache
        assert not os.path.exists(os.path.join(build, "CTestTestfile.cmake"))


def test_a_phase_prints_one_line_and_logs_its_output(tmp_path):
    phase = os.path.join(SOURCE, "scripts", "phase.sh")
    log = str(tmp_path / "setup.log")
    out = subprocess.run(["bash", phase, "build", log, "sh", "-c", "echo compiler chatter"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert re.fullmatch(r"build ok \(\d+\.\d s\)\n", out.stdout), out.stdout
    assert "compiler chatter" in open(log).read() and "chatter" not in out.stdout
    bad = subprocess.run(["bash", phase, "deps", log, "sh", "-c", "echo apt said no; exit 100"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 100
    assert f"deps failed" in bad.stderr and log in bad.stderr and "apt said no" in bad.stderr
