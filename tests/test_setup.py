"""Set-up on the machines learners have: the Python range stated everywhere, make choosing a
fitting interpreter (or stopping at once), and the documented path without make."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

import isolation

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
FITTING = ["3.11", "3.12", "3.13", "3.14"]  # every pin has wheels for these, and only these
HERE = f"python{sys.version_info.major}.{sys.version_info.minor}"

STAND_IN = f"""#!{sys.executable}
# A stand-in for a Python 3.10 interpreter: runs `-c CODE` with sys.version_info of 3.10.12.
import sys
if sys.argv[1:2] != ["-c"]:
    sys.exit(f"the stand-in Python 3.10 was asked to run {{sys.argv[1:]}}")
sys.version_info = (3, 10, 12, "final", 0)
exec(sys.argv[2])
"""


def make(*args: str, path: Path, **env: str) -> subprocess.CompletedProcess:
    """Run make in the repository with only ``path`` on the PATH (no interpreter of this machine)."""
    tool = shutil.which("make")
    if tool is None:
        pytest.skip("make not found on the PATH: these tests drive the Makefile")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHON", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run([tool, "-s", "-C", str(REPO), *args], env={**clean, "PATH": str(path), **env},
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def old_python3(tmp_path: Path) -> Path:
    """A folder for the PATH whose python3 reports Python 3.10."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "python3"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    return folder


def test_python_check_finds_a_fitting_interpreter_when_python3_is_too_old(old_python3):
    (old_python3 / HERE).symlink_to(sys.executable)
    result = make("python-check", path=old_python3)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{HERE} (Python {sys.version_info.major}.{sys.version_info.minor})"


def test_python_check_stops_at_once_with_one_message_when_none_fits(old_python3):
    start = time.monotonic()
    result = make("python-check", path=old_python3)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("make: ***"), result.stderr  # the message, then make's own line
    message = lines[0]
    assert "need Python 3.11 to 3.14" in message and "python3 is 3.10" in message, message
    assert "apt install python3.11" in message and "PYTHON=" in message, message
    assert time.monotonic() - start < 20


def test_a_new_venv_is_never_started_with_a_python_that_is_too_old(old_python3, tmp_path):
    venv = tmp_path / "venv"
    result = make(f"VENV={venv}", "venv", path=old_python3)
    assert result.returncode != 0
    assert "need Python 3.11 to 3.14" in result.stderr and "python3 is 3.10" in result.stderr, result.stderr
    assert not venv.exists(), "make created a virtual environment with Python 3.10"
    assert "No matching distribution" not in result.stdout + result.stderr


def test_an_explicit_python_that_is_too_old_is_refused_by_name(old_python3):
    (old_python3 / HERE).symlink_to(sys.executable)  # a fitting one is there, but not the one asked for
    result = make("python-check", path=old_python3, PYTHON=str(old_python3 / "python3"))
    assert result.returncode != 0
    assert f"{old_python3 / 'python3'} is 3.10" in result.stderr, result.stderr


def test_a_venv_made_with_an_old_python_is_reported_not_reused(old_python3, tmp_path):
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    shutil.copy(old_python3 / "python3", venv / "bin" / "python")
    result = make(f"VENV={venv}", "venv", path=old_python3)
    assert result.returncode != 0
    assert f"{venv} was made with Python 3.10" in result.stderr and "make clean" in result.stderr, result.stderr


def test_the_python_range_is_the_same_everywhere():
    spec = SpecifierSet(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"])
    assert [v for v in ["3.10", *FITTING, "3.15"] if spec.contains(f"{v}.0")] == FITTING
    makefile = (REPO / "Makefile").read_text()
    assert re.search(r"^PY_FITS = .*\b" + r"\|".join(re.escape(v) for v in FITTING) + r"\)", makefile, re.M), "Makefile"
    assert "3.11 to 3.14" in README
    assert not re.search(r"3\.10\+|3\.10 or newer", README + makefile), "something still says 3.10 is enough"


# --- without make -------------------------------------------------------------------------

def documented_commands() -> list[str]:
    """The commands of the README's "Without make" block, as a Linux or macOS user types them."""
    section = README.split("### Without make", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#", 1)[0].strip() for line in block.splitlines() if line.split("#", 1)[0].strip()]


def test_the_readme_gives_the_commands_without_make_for_windows_too():
    commands = documented_commands()
    assert [c.split()[0] for c in commands] == ["python3", ".venv/bin/python", ".venv/bin/jupyter", ".venv/bin/python"]
    assert "-m venv .venv" in commands[0] and "-m pip install -r requirements.txt" in commands[1]
    assert commands[2].startswith(".venv/bin/jupyter lab --notebook-dir notebooks") and commands[3].endswith("-m pytest")
    section = README.split("### Without make", 1)[1].split("\n#", 1)[0]
    for windows in (r"py -3.12 -m venv .venv", r".venv\Scripts\python -m pip install -r requirements.txt",
                    r".venv\Scripts\jupyter lab --notebook-dir notebooks", r".venv\Scripts\python -m pytest"):
        assert windows in section, f"the README does not give the Windows spelling {windows!r}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    os.environ.get("CI") != "true" and os.environ.get("INSTALL_TEST") != "1",
    reason="installs every pin into a fresh environment (minutes; gigabytes from PyPI on a laptop): "
    "INSTALL_TEST=1 runs it here, CI always does",
)
def test_the_documented_path_without_make_works_in_a_fresh_environment(tmp_path):
    venv = tmp_path / "venv"
    env = isolation.isolated_environ(tmp_path / "private")
    # pip reads the user's own pip.conf (their index, their proxy) but writes no cache there.
    pip_env = {k: v for k, v in env.items() if not k.startswith("XDG_")}
    pip_env.update(HOME=str(isolation.user_home()), PIP_NO_CACHE_DIR="1")
    venv_cmd, install, lab, tests = [c.replace(".venv/", f"{venv}/").replace(" .venv", f" {venv}").split() for c in documented_commands()]
    venv_cmd[0] = sys.executable  # python3, as the README names it, may not be this run's interpreter

    subprocess.run(venv_cmd, cwd=REPO, env=env, check=True, timeout=300)
    result = subprocess.run(install, cwd=REPO, env=pip_env, capture_output=True, text=True, timeout=1800)
    assert result.returncode == 0, f"{' '.join(install)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"

    port, token = _free_port(), secrets.token_hex(8)
    extra = [f"--port={port}", f"--IdentityProvider.token={token}", "--no-browser", "--allow-root"]
    server = subprocess.Popen([*lab, *extra], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline, listing = time.monotonic() + 120, None
        while listing is None:
            try:
                listing = urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5).read()
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "jupyter lab did not start"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert b"00_start_here.ipynb" in listing, "jupyter lab does not serve the notebooks folder"

    run = subprocess.run([*tests, "-q", "-p", "no:cacheprovider", "tests/test_data.py"], cwd=REPO, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and " passed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
