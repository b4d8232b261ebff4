"""Tests and commands give the same result whatever the caller's shell and home hold, and
write nothing into that home (tests/isolation.py; the browser side is in tests/browser/)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

import isolation

REPO = Path(__file__).resolve().parents[1]
MAKE = shutil.which("make")
FIGURE = "<Figure size 640x480 with 1 Axes>"


def need_make() -> str:
    if MAKE is None:
        pytest.skip("make not found on the PATH: these tests drive the Makefile")
    return MAKE


def figure_notebook(path: Path) -> Path:
    """One cell that shows a figure, with the output a clean run stores."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([0, 1], [0, 1])\nplt.show()")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/plain": FIGURE, "image/png": "iVBORw0KGgo="})]
    cell.execution_count = 1
    nb.cells = [cell]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def users_home(tmp_path: Path) -> Path:
    """A stand-in for the caller's home, holding settings that change results when read."""
    home = tmp_path / "home"
    files = {
        # An IPython startup file: it leaves a mark when a kernel runs it.
        ".ipython/profile_default/startup/00-mark.py": f"open({str(tmp_path / 'startup-ran')!r}, 'w').close()\n",
        ".config/matplotlib/matplotlibrc": "backend: Agg\nfigure.figsize: 3, 2\n",
        # The user's own JupyterLab layout, which a test server must not overwrite.
        ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace": '{"data": {}, "metadata": {"id": "default"}}\n',
        # A kernelspec of another interpreter under the name make execute asks for (JUPYTER_PATH below).
        ".local/share/jupyter/kernels/python3/kernel.json": (
            '{"argv": ["/nonexistent/python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],'
            ' "display_name": "Python 3", "language": "python"}\n'
        ),
    }
    for name, text in files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_text(text)
    return home


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file and folder under ``folder``: modification time and content digest."""
    found = {}
    for path in sorted(folder.rglob("*")):
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "folder"
        found[str(path.relative_to(folder))] = (path.stat().st_mtime_ns, digest)
    return found


def callers_env(home: Path) -> dict[str, str]:
    """A user's shell: HOME, MPLBACKEND=Agg and JUPYTER_PATH exported, no isolation of this test run."""
    env = {k: v for k, v in os.environ.items() if k not in isolation.FOLDERS and not k.startswith("OPTIM_HELPERS_")}
    env.update(HOME=str(home), MPLBACKEND="Agg", JUPYTER_PATH=str(home / ".local/share/jupyter"), PYTHONDONTWRITEBYTECODE="1")
    return env


def make_args() -> list[str]:
    """Run the Makefile with this test run's interpreter, never rebuilding its environment."""
    venv = Path(sys.prefix)
    return [need_make(), "-s", "-C", str(REPO), f"VENV={venv}", "-o", str(venv / ".installed")]


def test_isolated_environ_moves_every_folder_and_drops_the_callers_settings(tmp_path):
    callers = {"HOME": "/home/someone", "MPLBACKEND": "Agg", "JUPYTER_PATH": "/elsewhere", "PATH": "/usr/bin"}
    env = isolation.isolated_environ(tmp_path, callers)
    assert {k: v for k, v in env.items() if k in isolation.DROPPED} == {}
    assert env["PATH"] == "/usr/bin"
    outside = {k: env[k] for k in isolation.FOLDERS if not Path(env[k]).is_relative_to(tmp_path.resolve())}
    assert outside == {}, f"folders left outside the private folder: {outside}"
    assert all(Path(env[k]).is_dir() for k in isolation.FOLDERS)
    assert isolation.user_home(env) == Path("/home/someone")


def test_make_test_ignores_the_callers_settings_and_leaves_their_home_alone(tmp_path):
    home = users_home(tmp_path)
    before = snapshot(home)
    notebook = figure_notebook(tmp_path / "figure.ipynb")
    pytest_args = f"-c pyproject.toml --rootdir=. -q -p no:cacheprovider {notebook}"
    result = subprocess.run(
        [*make_args(), "test", f"PYTEST_ARGS={pytest_args}"],
        env=callers_env(home), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"MPLBACKEND=Agg make test failed:\n{result.stdout[-3000:]}\n{result.stderr[-2000:]}"
    assert "1 passed" in result.stdout
    assert not (tmp_path / "startup-ran").exists(), "a kernel ran the user's IPython startup file"
    assert snapshot(home) == before, "make test changed files in the user's home"


def test_make_execute_ignores_the_callers_settings_and_leaves_their_home_alone(tmp_path):
    # `make execute` = helpers.nav (rewrites the repository's notebooks), then this command line:
    dry = subprocess.run([*make_args(), "-n", "execute", "NOTEBOOKS=x.ipynb"], capture_output=True, text=True, check=True)
    line = next(line for line in dry.stdout.splitlines() if "helpers.execute" in line)
    assert "tests/isolation.py" in line, f"make execute runs its kernels unisolated: {line}"
    home = users_home(tmp_path)
    before = snapshot(home)
    notebook = tmp_path / "figure.ipynb"
    figure_notebook(notebook)
    result = subprocess.run(
        [sys.executable, str(REPO / "tests" / "isolation.py"), sys.executable, "-m", "helpers.execute", str(notebook)],
        cwd=REPO, env=callers_env(home), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outputs = nbformat.read(notebook, as_version=4).cells[0].outputs
    assert [o.data["text/plain"] for o in outputs if "image/png" in o.get("data", {})] == [FIGURE]
    assert not (tmp_path / "startup-ran").exists(), "a kernel ran the user's IPython startup file"
    assert snapshot(home) == before, "make execute changed files in the user's home"


@pytest.mark.browser
def test_make_tests_browser_session_leaves_the_users_jupyterlab_alone(tmp_path):
    """The reported defect: the browser tests' JupyterLab overwrote ~/.jupyter/lab/workspaces/default-*."""
    if not Path("/usr/bin/chromium").exists():
        message = "Chromium not found at /usr/bin/chromium: install it with `apt-get install -y chromium`"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1 makes this a failure)", pytrace=False)
        pytest.skip(message)
    home = users_home(tmp_path)
    before = snapshot(home)
    pytest_args = "-q -p no:cacheprovider -k keeps_its_workspace tests/browser/test_lab.py"
    result = subprocess.run(
        [*make_args(), "test", f"PYTEST_ARGS={pytest_args}"],
        env=callers_env(home), capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
    assert snapshot(home) == before, "the browser tests changed files in the user's home"


@pytest.mark.parametrize("target", ["test", "execute", "check-device"])
def test_every_command_that_runs_notebooks_is_isolated(target):
    dry = subprocess.run([*make_args(), "-n", target], capture_output=True, text=True, check=True)
    runs = [line for line in dry.stdout.splitlines() if "pytest" in line or "helpers.execute" in line]
    assert runs and all("tests/isolation.py" in line for line in runs), dry.stdout


def test_make_lab_drops_an_inherited_mplbackend():
    dry = subprocess.run([*make_args(), "-n", "lab"], capture_output=True, text=True, check=True)
    line = next(line for line in dry.stdout.splitlines() if "jupyter lab" in line)
    assert "-u MPLBACKEND" in line, line


@pytest.mark.parametrize("device", ["cuda:99", "tpu"])
def test_check_device_fails_once_first_with_the_device_message(device):
    start = time.monotonic()
    result = subprocess.run([*make_args(), "check-device", f"DEVICE={device}"], capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - start
    output = (result.stdout + result.stderr).strip()
    assert result.returncode != 0
    assert "pytest" not in output and "FAILED" not in output, output[-2000:]
    assert f"DEVICE={device}" in output and "this machine has" in output, output
    assert len(output.splitlines()) <= 2, output
    assert seconds < 60, f"the device check took {seconds:.0f} s"


def test_this_test_run_is_isolated():
    """Whatever started pytest (make test, or a bare `python -m pytest` through tests/conftest.py)."""
    import matplotlib

    private = Path(os.environ.get(isolation.MARK, "/nonexistent"))
    assert private.is_dir(), "this test run is not isolated (tests/conftest.py calls isolation.isolate())"
    assert "MPLBACKEND" not in os.environ
    assert Path(os.environ["HOME"]).is_relative_to(private)
    assert Path(matplotlib.get_configdir()).is_relative_to(private)


def test_a_bare_pytest_run_is_isolated_too(tmp_path):
    home = users_home(tmp_path)
    before = snapshot(home)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_this_test_run_is_isolated",
         str(Path(__file__))],
        cwd=REPO, env=callers_env(home), capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert snapshot(home) == before, "a bare pytest run changed files in the user's home"
