"""helpers.distributed: run_distributed starts torchrun, returns each rank's report, fails clearly, leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import matplotlib.axes
import pytest
import torch

from helpers import DistributedError, plot_bytes_per_rank, report, run_distributed, show_script
from helpers import distributed as dist_helpers

# Each script writes the pids of its rank and of the process that forked it (torchrun's fork
# server) into PIDS, so that a test can check that none of them outlives the run.
PREAMBLE = """
import os, sys, time
import torch
import torch.distributed as dist
from helpers.distributed import report
pids = sys.argv[1]
rank = int(os.environ["RANK"])
with open(os.path.join(pids, f"rank{rank}"), "w") as f:
    f.write(f"{os.getpid()} {os.getppid()}")
"""


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "job.py"
    path.write_text(PREAMBLE + textwrap.dedent(body))
    (tmp_path / "pids").mkdir(exist_ok=True)
    return path


def live(pid: int) -> bool:
    return dist_helpers._alive(pid)


def started_pids(tmp_path: Path) -> list[int]:
    return [int(p) for f in (tmp_path / "pids").iterdir() for p in f.read_text().split()]


def assert_nothing_left(tmp_path: Path) -> None:
    pids = started_pids(tmp_path)
    assert pids, "the script never ran"
    assert not [p for p in pids if live(p)], "a process of the run is still alive"


def test_returns_each_ranks_report_in_rank_order(tmp_path):
    job = script(tmp_path, """
        dist.init_process_group("gloo")
        t = torch.full((2,), float(rank))
        dist.all_reduce(t)  # a real collective: 0 + 1 + 2
        report({"rank": rank, "world": dist.get_world_size(), "sum": t, "backend": dist.get_backend()})
        dist.destroy_process_group()
    """)
    results = run_distributed(job, 3, args=[str(tmp_path / "pids")], timeout=120)
    assert [r["rank"] for r in results] == [0, 1, 2]
    assert all(r["world"] == 3 and r["backend"] == "gloo" and torch.equal(r["sum"], torch.full((2,), 3.0)) for r in results)
    assert_nothing_left(tmp_path)


def test_a_rank_that_raises_is_one_clear_error_and_stops_the_others(tmp_path):
    job = script(tmp_path, """
        dist.init_process_group("gloo")
        if rank == 1:
            raise ValueError("rank one is unhappy")
        dist.barrier()  # rank 0 waits here for rank 1, which never comes
    """)
    start = time.monotonic()
    with pytest.raises(DistributedError) as info:
        run_distributed(job, 2, args=[str(tmp_path / "pids")], timeout=120)
    error = info.value
    assert str(error) == "rank 1 of 2 failed: ValueError: rank one is unhappy (job.py, line 13)"
    assert (error.rank, error.error_type, error.error_message) == (1, "ValueError", "rank one is unhappy")
    assert "rank one is unhappy" in error.log  # that rank's own output (its traceback)
    assert time.monotonic() - start < 60  # the waiting rank did not keep the run alive until the timeout
    assert_nothing_left(tmp_path)


def test_a_rank_that_hangs_is_killed_at_the_timeout(tmp_path):
    job = script(tmp_path, """
        if rank == 1:
            time.sleep(3600)
        report("finished")
    """)
    start = time.monotonic()
    with pytest.raises(DistributedError, match=r"^timed out after 15 s: rank 1 of 2 had not finished; every process of the run was stopped$"):
        run_distributed(job, 2, args=[str(tmp_path / "pids")], timeout=15)
    assert time.monotonic() - start < 15 + dist_helpers.KILL_GRACE + 12
    assert_nothing_left(tmp_path)


def test_a_rank_that_exits_with_an_error_status(tmp_path):
    job = script(tmp_path, """
        if rank == 0:
            sys.exit(3)
        report("fine")
    """)
    with pytest.raises(DistributedError, match=r"^rank 0 of 2 failed: SystemExit: exit status 3$"):
        run_distributed(job, 2, args=[str(tmp_path / "pids")], timeout=120)
    assert_nothing_left(tmp_path)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(script=42, nprocs=2), TypeError, "script must be a path"),
        (dict(script="job.txt", nprocs=2), ValueError, "must be a .py file"),
        (dict(script="missing.py", nprocs=2), ValueError, "does not exist"),
        (dict(nprocs=2.0), TypeError, "nprocs must be an int, got float"),
        (dict(nprocs=True), TypeError, "nprocs must be an int, got bool"),
        (dict(nprocs=0), ValueError, "nprocs must be between 1 and 64, got 0"),
        (dict(nprocs=2, args="a b"), TypeError, "args must be a list of str"),
        (dict(nprocs=2, args=[1]), TypeError, "args must be a list of str"),
        (dict(nprocs=2, timeout=0), ValueError, "timeout must be > 0 seconds, got 0"),
        (dict(nprocs=2, timeout="5"), TypeError, "timeout must be a number of seconds"),
        (dict(nprocs=2, device=3), TypeError, "device must be None, a str or a torch.device"),
        (dict(nprocs=2, device="tpu"), ValueError, "device must be 'cpu', 'cuda' or 'mps'"),
        (dict(nprocs=2, env={"A": 1}), TypeError, "env must be a dict of str -> str"),
    ],
)
def test_bad_arguments_are_refused_before_anything_starts(tmp_path, kwargs, error, match):
    job = tmp_path / "job.py"
    job.write_text("raise SystemExit('never run')\n")
    kwargs = {"script": job, **kwargs}
    with pytest.raises(error, match=match):
        run_distributed(kwargs.pop("script"), **kwargs)


def test_cuda_is_used_only_with_a_gpu_per_rank(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert dist_helpers._choose_device("cuda", 2) == "cuda"
    assert dist_helpers._choose_device(torch.device("cuda", 0), 2) == "cuda"
    assert dist_helpers._choose_device("cuda", 3) == "cpu"  # fewer GPUs than ranks: gloo on the CPU
    assert dist_helpers._choose_device("mps", 2) == "cpu"
    assert dist_helpers._choose_device(None, 2) == dist_helpers._choose_device("cpu", 2) == "cpu"


def test_report_outside_a_run_says_so(monkeypatch):
    monkeypatch.delenv(dist_helpers.RESULTS_ENV, raising=False)
    with pytest.raises(RuntimeError, match="inside a process started by run_distributed"):
        report(1)


def test_show_script_shows_a_part_dedented(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("import os\n\n\ndef f():\n    # --- part: one ---\n    a = 1\n\n    # --- part: two ---\n    b = 2\n")
    shown = show_script(path, part="one")
    assert shown.code == "a = 1" and repr(shown) == "# s.py\na = 1"
    assert show_script(path, part="two").code == "b = 2"
    assert "```python\nb = 2\n```" in show_script(path, part="two")._repr_markdown_()
    assert show_script(path).code.startswith("import os")
    with pytest.raises(ValueError, match="part 'three' is not in s.py; its parts: one, two"):
        show_script(path, part="three")
    with pytest.raises(ValueError, match="is not a file"):
        show_script(tmp_path / "nothing.py")
    with pytest.raises(TypeError, match="part must be a str"):
        show_script(path, part=1)


def test_every_part_the_notebook_shows_exists():
    folder = Path(__file__).resolve().parents[1] / "notebooks" / "distributed"
    for file, part in [("common.py", "join"), ("ddp.py", "save"), ("zero.py", "consolidate"), ("fsdp.py", "load"), ("pitfalls.py", "the fix")]:
        assert show_script(folder / file, part=part).code


def test_plot_bytes_per_rank():
    table = {"DDP": {1: 8736, 2: 8736, 4: 8736}, "ZeRO": {1: 8736, 2: 4368, 4: 2184}}
    ax = plot_bytes_per_rank(table)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert ax.get_title() and ax.get_xlabel() == "number of ranks N" and "KiB" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["DDP", "ZeRO", "one process's state / N"]
    assert list(ax.get_lines()[1].get_ydata()) == [8736 / 1024, 4368 / 1024, 2184 / 1024]
    for bad, error in [({}, TypeError), ({"DDP": {}}, TypeError), ({"DDP": {0: 1}}, ValueError), ({"DDP": {1: -1}}, ValueError), ({"DDP": {"1": 1}}, ValueError)]:
        with pytest.raises(error):
            plot_bytes_per_rank(bad)


def test_importing_prints_and_starts_nothing():
    code = "import os, threading; e = dict(os.environ); import helpers.distributed; assert dict(os.environ) == e; print(threading.active_count())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "1\n" and out.stderr == ""
