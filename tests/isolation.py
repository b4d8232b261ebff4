"""A private environment for what the tests and ``make execute`` start: servers, kernels, Chromium.

Everything they write (Jupyter's config, data, runtime and workspace folders, IPython's
history, Matplotlib's font cache, Chromium's profile) goes to a temporary folder instead of
the user's home, and nothing the caller's shell or home holds (``MPLBACKEND=Agg``, a
``matplotlibrc``, an IPython startup file, a ``python3`` kernelspec of another interpreter)
changes a result. The Makefile runs commands through it::

    python tests/isolation.py python -m pytest
"""

from __future__ import annotations

import atexit
import os
import shutil
import site
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

# Folders that otherwise default to places under the user's home (or the user's own choice).
FOLDERS = {
    "HOME": "home",
    "XDG_CONFIG_HOME": "home/.config",
    "XDG_CACHE_HOME": "home/.cache",
    "XDG_DATA_HOME": "home/.local/share",
    "XDG_STATE_HOME": "home/.local/state",
    "JUPYTER_CONFIG_DIR": "jupyter/config",
    "JUPYTER_DATA_DIR": "jupyter/data",
    "JUPYTER_RUNTIME_DIR": "jupyter/runtime",
    "JUPYTERLAB_SETTINGS_DIR": "jupyter/lab/user-settings",
    "JUPYTERLAB_WORKSPACES_DIR": "jupyter/lab/workspaces",
    "IPYTHONDIR": "ipython",
    "MPLCONFIGDIR": "matplotlib",
}
# Settings a caller may hold that would change what kernels show or where Jupyter looks.
DROPPED = (
    "MPLBACKEND",  # Agg (common in headless shells) stops every figure from being displayed
    "MATPLOTLIBRC",
    "PYTHONSTARTUP",
    "JUPYTER_PATH",  # extra kernelspecs and extensions
    "JUPYTER_CONFIG_PATH",
    "JUPYTER_PLATFORM_DIRS",
    "JUPYTER_PREFER_ENV_PATH",
    "JUPYTER_NO_CONFIG",
    "JUPYTERLAB_DIR",
)
MARK = "OPTIM_HELPERS_ISOLATED"  # the folder in use, so nested runs share it
USER_HOME = "OPTIM_HELPERS_USER_HOME"  # the caller's own home, for tests that check it is untouched


def isolated_environ(base: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default ``os.environ``) whose folders all lie under ``base``.

    Creates the folders. Example: ``subprocess.run(cmd, env=isolated_environ(tmp_path))``.
    """
    source = os.environ if environ is None else environ
    env = {k: v for k, v in source.items() if k not in DROPPED}
    env.setdefault(USER_HOME, source.get(USER_HOME) or source.get("HOME") or str(Path.home()))
    # Packages installed with `pip install --user` stay importable although HOME moves.
    env.setdefault("PYTHONUSERBASE", site.getuserbase())
    base = Path(base).resolve()
    for name, sub in FOLDERS.items():
        folder = base / sub
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    env[MARK] = str(base)
    return env


def user_home(environ: Mapping[str, str] | None = None) -> Path:
    """The caller's own home, also from inside an isolated run. Example: ``user_home()``."""
    source = os.environ if environ is None else environ
    return Path(source.get(USER_HOME) or source.get("HOME") or Path.home())


def prepare(env: Mapping[str, str], python: str = sys.executable) -> None:
    """Build Matplotlib's font cache in ``env``'s folder now: a kernel that builds it prints a
    notice into a cell's output. Example: ``prepare(isolated_environ(tmp_path))``."""
    subprocess.run([python, "-c", "import matplotlib.font_manager"], env=dict(env), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def isolate() -> Path:
    """Isolate this process and all it starts, in a temporary folder removed at exit.

    Does nothing but return the folder when the caller already isolated it (``make test``).
    Call it before importing matplotlib. Example: ``isolate()`` at the top of a conftest.
    """
    current = os.environ.get(MARK)
    if current and Path(current).is_dir():
        return Path(current)
    base = Path(tempfile.mkdtemp(prefix="optim-helpers-"))
    atexit.register(shutil.rmtree, base, ignore_errors=True)
    env = isolated_environ(base)
    for name in DROPPED:
        os.environ.pop(name, None)
    os.environ.update(env)
    return base


def run(command: list[str], environ: Mapping[str, str] | None = None) -> int:
    """Run ``command`` isolated in a fresh temporary folder; return its exit status.

    Example: ``run(["python", "-m", "pytest"])``.
    """
    with tempfile.TemporaryDirectory(prefix="optim-helpers-") as tmp:
        env = isolated_environ(Path(tmp), environ)
        prepare(env)
        try:
            process = subprocess.Popen(command, env=env)
        except FileNotFoundError:
            print(f"isolation: command not found: {command[0]}", file=sys.stderr)
            return 127
        while True:
            try:
                status = process.wait()
                break
            except KeyboardInterrupt:  # the command got Ctrl-C too: let it finish its report
                continue
    return status if status >= 0 else 128 - status


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python tests/isolation.py COMMAND [ARG ...]", file=sys.stderr)
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
