"""Run a script on several local processes with ``torchrun`` and collect each rank's results as data.

The notebook side calls :func:`run_distributed`; the script it starts calls :func:`report`
once per rank to hand a value back (a dict of numbers, strings, lists, tensors). Nothing is
scraped from printed text: each rank's value travels through a file in a temporary folder
that the launcher reads with ``torch.load(weights_only=True)`` and then deletes.

What the launcher guarantees:

- ``torchrun`` rendezvous on 127.0.0.1 at a free port, so several runs never collide;
  gloo on the CPU, NCCL when CUDA is asked for and there is one GPU per process;
- a rank that raises ends the run at once with one :class:`DistributedError` naming that
  rank, its exception and message, and the line of the script it came from;
- a run that outlives ``timeout`` is killed, and so is every process it started: no worker
  is left behind, whatever happens (also when the caller is interrupted).

Example: ``results = run_distributed("distributed/lessons.py", 2, args=["ddp"])``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RESULTS_ENV = "HELPERS_DIST_RESULTS"  # the folder where each rank writes its files
DEVICE_ENV = "HELPERS_DIST_DEVICE"  # "cpu" or "cuda": the device the ranks compute on
MAX_PROCS = 64
KILL_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
ERROR_GRACE = 10.0  # seconds torchrun gets to stop the other ranks itself after one failed


class DistributedError(RuntimeError):
    """A distributed run failed: a rank raised, a rank died, or the run timed out.

    ``rank`` is the rank whose failure is reported (None for a timeout of several ranks),
    ``error_type`` and ``error_message`` that rank's exception, ``log`` its captured output.
    """

    def __init__(self, message: str, *, rank: int | None = None, error_type: str = "", error_message: str = "", log: str = ""):
        super().__init__(message)
        self.rank = rank
        self.error_type = error_type
        self.error_message = error_message
        self.log = log


# --- the worker side -------------------------------------------------------------------


def _rank() -> int:
    value = os.environ.get("RANK")
    if value is None:
        raise RuntimeError("report() runs inside a process started by run_distributed (torchrun sets RANK); RANK is not set")
    return int(value)


def report(value: Any) -> None:
    """Hand this rank's result back to :func:`run_distributed` (call it once per rank).

    ``value`` may hold what ``torch.load(weights_only=True)`` reads back: dicts, lists,
    tuples, str, int, float, bool, None and tensors. Example: ``report({"bytes": 4368})``.
    """
    import torch

    folder = os.environ.get(RESULTS_ENV)
    if not folder:
        raise RuntimeError(f"report() runs inside a process started by run_distributed ({RESULTS_ENV} is not set)")
    rank = _rank()
    final = Path(folder) / f"rank{rank}.pt"
    temporary = final.with_suffix(".pt.tmp")
    torch.save(value, temporary)
    os.replace(temporary, final)  # the launcher never reads half a file


def _where(exc: BaseException, script: Path) -> str:
    """'lessons.py, line 12' for the deepest frame in the script's folder, else ''."""
    folder = str(script.parent.resolve()) + os.sep
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if os.path.abspath(f.filename).startswith(folder)]
    if not frames:
        return ""
    return f"{Path(frames[-1].filename).name}, line {frames[-1].lineno}"


def _worker_main(argv: list[str]) -> None:
    """Run one rank: ``python -m helpers.distributed SCRIPT [ARGS...]`` (what torchrun starts)."""
    import runpy

    folder = Path(os.environ[RESULTS_ENV])
    rank = _rank()
    (folder / f"rank{rank}.pid").write_text(str(os.getpid()))
    # This rank's output goes to its own file (C libraries' too), never to the caller's screen.
    log = open(folder / f"rank{rank}.log", "w", buffering=1)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    sys.stdout = sys.stderr = log
    script = Path(argv[0]).resolve()
    sys.argv = [str(script), *argv[1:]]
    sys.path.insert(0, str(script.parent))  # the script imports its neighbours, as `python script.py` would
    code = 0
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code:
            _write_error(folder, rank, "SystemExit", f"exit status {exc.code}", "")
    except BaseException as exc:  # noqa: BLE001 - every failure is reported as data
        code = 1
        message = str(exc) if str(exc) else repr(exc)
        _write_error(folder, rank, type(exc).__name__, message, _where(exc, script))
        traceback.print_exc()
    if code == 0:
        (folder / f"rank{rank}.done").write_text("")
    log.flush()
    if code:
        raise SystemExit(code)


def _write_error(folder: Path, rank: int, kind: str, message: str, where: str) -> None:
    record = {"rank": rank, "type": kind, "message": message, "where": where, "time": time.time()}
    temporary = folder / f"rank{rank}.error.tmp"
    temporary.write_text(json.dumps(record))
    os.replace(temporary, folder / f"rank{rank}.error.json")


# --- the launcher side -----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _choose_device(device: Any, nprocs: int) -> str:
    import torch

    if device is None:
        return "cpu"
    if isinstance(device, torch.device):
        kind = device.type
    elif isinstance(device, str):
        kind = device.strip().lower().split(":")[0]
    else:
        raise TypeError(f"device must be None, a str or a torch.device, got {type(device).__name__} {device!r}")
    if kind not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'cpu', 'cuda' or 'mps', got {device!r}")
    # NCCL needs one GPU per process; with fewer (or on MPS, which has no backend) the ranks use the CPU and gloo.
    if kind == "cuda" and torch.cuda.is_available() and torch.cuda.device_count() >= nprocs:
        return "cuda"
    return "cpu"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a finished child of ours that nobody reaped yet is a zombie, not a live process
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _worker_pids(folder: Path) -> list[int]:
    pids = []
    for file in folder.glob("rank*.pid"):
        try:
            pids.append(int(file.read_text()))
        except (OSError, ValueError):
            pass
    return pids


def _ours(pid: int, group: int) -> bool:
    """True while ``pid`` is a live process of the run's process group (not a reused pid)."""
    try:
        return os.getpgid(pid) == group and _alive(pid)
    except (ProcessLookupError, PermissionError):
        return False


def _kill_all(launcher: subprocess.Popen, folder: Path) -> None:
    """Stop torchrun and every rank; return once they are gone.

    torchrun gets SIGTERM first, so that it stops its ranks and its fork server in order (and
    reaps them); whatever is left after KILL_GRACE seconds gets SIGKILL: the process group
    while torchrun still leads it, and every rank that wrote its pid.
    """
    group = launcher.pid
    pids = _worker_pids(folder)

    def gone(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            if launcher.poll() is not None and not any(_ours(p, group) for p in pids):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    if launcher.poll() is None:
        launcher.send_signal(signal.SIGTERM)
    if gone(KILL_GRACE):
        return
    if launcher.poll() is None:
        try:
            os.killpg(group, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    for pid in pids:
        if _ours(pid, group):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    gone(10.0)


def _read_errors(folder: Path) -> list[dict[str, Any]]:
    errors = []
    for file in folder.glob("rank*.error.json"):
        try:
            errors.append(json.loads(file.read_text()))
        except (OSError, ValueError):
            pass
    return sorted(errors, key=lambda e: (e["time"], e["rank"]))


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_distributed(
    script: str | os.PathLike[str],
    nprocs: int,
    *,
    args: Sequence[str] = (),
    device: Any = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> list[Any]:
    """Run ``script`` on ``nprocs`` local processes with ``torchrun``; return each rank's reported value.

    The list is indexed by rank: ``results[r]`` is what rank ``r`` passed to :func:`report`
    (None if it reported nothing). ``device``: the caller's device; the ranks compute on CUDA
    (NCCL) only when it is CUDA and there is a GPU per process, else on the CPU (gloo); they
    read it from the ``HELPERS_DIST_DEVICE`` environment variable. ``env`` adds environment
    variables for the ranks.

    Raises :class:`DistributedError` when a rank raises (the first one to fail: its
    exception, message and script line), exits with an error, or the run outlives
    ``timeout`` seconds; every process of the run is gone before it returns or raises.
    Example: ``run_distributed("distributed/lessons.py", 2, args=["ddp"], device=device)``.
    """
    import torch

    if os.name == "nt":
        raise RuntimeError("run_distributed needs Linux or macOS: it starts the ranks from a fork server and stops them by process group")
    if not isinstance(script, (str, os.PathLike)):
        raise TypeError(f"script must be a path to a .py file, got {type(script).__name__} {script!r}")
    from ._paths import find_path  # here, not at the top: this file also runs as the ranks' script

    path = find_path(script)
    if path.suffix != ".py":
        raise ValueError(f"script must be a .py file, got {str(script)!r}")
    if not path.is_file():
        raise ValueError(f"script {str(script)!r} does not exist (relative to {Path.cwd().name}/)")
    if isinstance(nprocs, bool) or not isinstance(nprocs, int):
        raise TypeError(f"nprocs must be an int, got {type(nprocs).__name__} {nprocs!r}")
    if not 1 <= nprocs <= MAX_PROCS:
        raise ValueError(f"nprocs must be between 1 and {MAX_PROCS}, got {nprocs}")
    if isinstance(args, (str, bytes)) or not all(isinstance(a, str) for a in args):
        raise TypeError(f"args must be a list of str, got {args!r}")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"timeout must be a number of seconds, got {type(timeout).__name__} {timeout!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
    if env is not None and not (isinstance(env, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())):
        raise TypeError(f"env must be a dict of str -> str, got {env!r}")
    chosen = _choose_device(device, nprocs)

    with tempfile.TemporaryDirectory(prefix="run_distributed-") as name:
        folder = Path(name)
        command = [
            sys.executable, "-P", str(Path(__file__).resolve()), "--torchrun",
            "--nnodes=1", f"--nproc-per-node={nprocs}",
            "--master-addr=127.0.0.1", f"--master-port={_free_port()}",
            "--max-restarts=0", "--monitor-interval=0.05",
            "--start-method=forkserver", "--run-path", str(Path(__file__).resolve()), str(path.resolve()), *args,
        ]  # fmt: skip
        environ = {**os.environ, **(env or {}), RESULTS_ENV: str(folder), DEVICE_ENV: chosen, "OMP_NUM_THREADS": "1"}
        environ.pop("TORCHELASTIC_ERROR_FILE", None)
        with open(folder / "torchrun.log", "w") as log:
            launcher = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=environ, start_new_session=True
            )
            timed_out = False
            failed_at = 0.0
            try:
                deadline = time.monotonic() + timeout
                while launcher.poll() is None:
                    now = time.monotonic()
                    if now > deadline:
                        timed_out = True
                        break
                    if not failed_at and any(folder.glob("rank*.error.json")):
                        failed_at = now  # a rank failed: the others may be waiting for it in a collective
                    if failed_at and now > failed_at + ERROR_GRACE:
                        break  # torchrun did not stop them: we do
                    time.sleep(0.05)
            finally:
                _kill_all(launcher, folder)  # also on KeyboardInterrupt: nothing may outlive the call
        errors = _read_errors(folder)
        done = {r for r in range(nprocs) if (folder / f"rank{r}.done").exists()}
        if errors:
            # The first failure is the cause; later ones are often its consequence (a peer gone mid-collective).
            first = errors[0]
            where = f" ({first['where']})" if first["where"] else ""
            raise DistributedError(
                f"rank {first['rank']} of {nprocs} failed: {first['type']}: {first['message']}{where}",
                rank=first["rank"], error_type=first["type"], error_message=first["message"],
                log=_tail(folder / f"rank{first['rank']}.log"),
            )  # fmt: skip
        if timed_out:  # (a run that failed was reported above, even if torchrun was slow to stop)
            waiting = sorted(set(range(nprocs)) - done)
            raise DistributedError(
                f"timed out after {timeout:g} s: rank{'s' if len(waiting) > 1 else ''} "
                f"{', '.join(map(str, waiting))} of {nprocs} had not finished; every process of the run was stopped",
                rank=waiting[0] if len(waiting) == 1 else None,
            )
        missing = sorted(set(range(nprocs)) - done)
        if launcher.returncode != 0 or missing:
            rank = missing[0] if missing else None
            raise DistributedError(
                f"torchrun exited with status {launcher.returncode}"
                + (f"; rank {rank} of {nprocs} ended without finishing its script (killed?)" if missing else "")
                + "; its last lines:\n" + _tail(folder / "torchrun.log"),
                rank=rank, log=_tail(folder / f"rank{rank}.log") if rank is not None else "",
            )  # fmt: skip
        results = []
        for r in range(nprocs):
            file = folder / f"rank{r}.pt"
            results.append(torch.load(file, weights_only=True) if file.exists() else None)
        return results


# --- showing the scripts ---------------------------------------------------------------


class Script:
    """Source code shown in a notebook: highlighted in JupyterLab, plain text elsewhere."""

    def __init__(self, name: str, code: str):
        self.name = name
        self.code = code

    def __repr__(self) -> str:
        return f"# {self.name}\n{self.code}"

    def _repr_markdown_(self) -> str:
        return f"`{self.name}`\n```python\n{self.code}\n```"


def show_script(path: str | os.PathLike[str], part: str | None = None) -> Script:
    """A script's code to display read-only, whole or one part of it.

    A part runs from a line ``# --- part: NAME ---`` to the next such line (or the end of
    the file), dedented. Example: ``show_script("distributed/lessons.py", part="ddp")``.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a path to a file, got {type(path).__name__} {path!r}")
    from ._paths import find_path  # here, not at the top: this file also runs as the ranks' script

    file = find_path(path)
    if not file.is_file():
        raise ValueError(f"path {str(path)!r} is not a file (relative to {Path.cwd().name}/)")
    lines = file.read_text(encoding="utf-8").splitlines()
    if part is None:
        chosen = lines
    else:
        if not isinstance(part, str):
            raise TypeError(f"part must be a str or None, got {type(part).__name__} {part!r}")
        marks = [i for i, line in enumerate(lines) if line.strip().startswith("# --- part:")]
        names = {lines[i].strip()[len("# --- part:"):].strip(" -"): i for i in marks}
        if part not in names:
            raise ValueError(f"part {part!r} is not in {file.name}; its parts: {', '.join(names) or 'none'}")
        start = names[part]
        end = next((i for i in marks if i > start), len(lines))
        chosen = lines[start + 1 : end]
    while chosen and not chosen[0].strip():
        chosen = chosen[1:]
    while chosen and not chosen[-1].strip():
        chosen = chosen[:-1]
    return Script(file.name, textwrap.dedent("\n".join(chosen)))


# --- the picture -------------------------------------------------------------------------


def plot_bytes_per_rank(table: Mapping[str, Mapping[int, float]], ax: Any = None) -> Any:
    """Optimizer-state bytes each rank keeps against the number of ranks, one line per strategy.

    ``table`` maps a label (e.g. "DDP") to ``{number of ranks: bytes per rank}``. A dotted
    line marks "the one-process state / N". Returns the Axes.
    Example: ``plot_bytes_per_rank({"DDP": {1: 8736, 2: 8736}, "ZeRO": {1: 8736, 2: 4368}})``.
    """
    from ._style import MUTED, colour, get_ax

    if not isinstance(table, Mapping) or not table:
        raise TypeError("table must be a non-empty dict of label -> {ranks: bytes}, e.g. {'DDP': {1: 8736, 2: 8736}}")
    for label, row in table.items():
        if not isinstance(row, Mapping) or not row:
            raise TypeError(f"table[{label!r}] must be a non-empty dict of ranks -> bytes, got {row!r}")
        for n, b in row.items():
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"table[{label!r}] has the key {n!r}; keys are numbers of ranks (int >= 1)")
            if isinstance(b, bool) or not isinstance(b, (int, float)) or b < 0:
                raise ValueError(f"table[{label!r}][{n}] is {b!r}; values are byte counts (numbers >= 0)")
    ax = get_ax(ax)
    markers = "osD^v"
    ranks = sorted({n for row in table.values() for n in row})
    for i, (label, row) in enumerate(table.items()):
        xs = sorted(row)
        ax.plot(xs, [row[n] / 1024 for n in xs], marker=markers[i % len(markers)], color=colour(i), label=str(label), linewidth=1.8)
    first = next(iter(table.values()))
    if 1 in first:
        ax.plot(ranks, [first[1] / 1024 / n for n in ranks], ":", color=MUTED, label="one process's state / N")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ranks, [str(n) for n in ranks])
    ax.set_xlabel("number of ranks N")
    ax.set_ylabel("optimizer state per rank (KiB)")
    ax.set_title("Optimizer-state bytes per rank")
    ax.legend()
    return ax


# Modules every rank of a training script imports: the fork server that starts the ranks
# imports them once, and each rank begins as a copy of it instead of importing them again
# (about 3 s of CPU per rank).
PRELOAD = (
    "torch",
    "torch.nn.parallel",
    "torch.distributed.optim",
    "torch.distributed.fsdp",
    "torch.distributed.checkpoint",
    "helpers.distributed",
)


def _torchrun_main(argv: list[str]) -> None:
    """torchrun itself (``torch.distributed.run``), its ranks forked from a server that imported PRELOAD."""
    import multiprocessing
    from multiprocessing import forkserver

    multiprocessing.set_forkserver_preload(list(PRELOAD))
    forkserver.ensure_running()  # the server imports PRELOAD while this process imports torchrun
    from torch.distributed.run import main

    code = 0
    try:
        main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - torchrun's ChildFailedError: the ranks' own files say why
        traceback.print_exc()
        code = 1
    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is not None:
        try:  # torchrun has joined every rank: the server's own teardown (a second with torch loaded) serves nothing
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    stop = getattr(server, "_stop", None)
    if stop is not None:
        stop()  # reap the fork server (an orphan would stay a zombie where PID 1 reaps nothing) and remove its socket
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip the interpreter's teardown (a second or more with torch loaded)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--torchrun"]:
        _torchrun_main(sys.argv[2:])
    else:
        _worker_main(sys.argv[1:])
