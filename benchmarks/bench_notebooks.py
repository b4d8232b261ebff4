"""How long does each notebook take to execute, against a kernel that only imports what it imports?

For each notebook: the seconds to execute it in a fresh kernel (as nbval does: kernel start
included), the seconds of its *floor* (a fresh kernel that runs only the notebook's import
statements), their ratio, and the slowest cells, so that the time beyond the floor can be
traced to what causes it. The suite ratio sums every notebook that runs in one process;
a notebook that launches worker processes (``run_distributed``) is reported apart, since its
floor would also have to include the interpreters it starts.

Run (isolated like the tests, outputs are not written back):
    .venv/bin/python tests/isolation.py .venv/bin/python benchmarks/bench_notebooks.py [--repeats 3] [NOTEBOOK ...]
"""

from __future__ import annotations

import argparse
import ast
import os
import resource
import statistics
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.nav import ROOT, notebooks


def _client(nb: nbformat.NotebookNode, folder: Path) -> NotebookClient:
    return NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        record_timing=True,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
        allow_errors=True,  # cells tagged raises-exception raise on purpose
    )


# What building the first optimizer costs in a fresh process: torch.optim's add_param_group is
# wrapped by torch._disable_dynamo, whose first call imports torch._dynamo (and sympy).
FIRST_OPTIMIZER = "torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)"


def imports_only(nb: nbformat.NotebookNode, optimizer: bool = False) -> nbformat.NotebookNode:
    """A notebook of one cell: every import statement of ``nb``, in order (then one optimizer)."""
    lines = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:  # IPython magics: not plain Python, and not imports
            continue
        lines += [ast.unparse(node) for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))]
    if optimizer:
        lines += ["import torch", FIRST_OPTIMIZER]
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("\n".join(dict.fromkeys(lines)))])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(nb: nbformat.NotebookNode, folder: Path) -> tuple[float, list[tuple[float, int, str]], float]:
    """Seconds to execute ``nb`` in a fresh kernel, (seconds, index, first line) per code cell,
    and the CPU seconds the kernel used (counted once it has exited: on a busy machine a
    steadier measure than wall time)."""
    cpu = _children_cpu()
    start = time.perf_counter()
    _client(nb, folder).execute()
    total = time.perf_counter() - start
    cells = []
    for i, cell in enumerate(nb.cells):
        timing = cell.metadata.get("execution", {})
        if cell.cell_type == "code" and "shell.execute_reply" in timing:
            began = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            ended = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            cells.append(((ended - began).total_seconds(), i, cell.source.splitlines()[0] if cell.source else ""))
    return total, cells, _children_cpu() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to time (default: all)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (the median is reported)")
    parser.add_argument("--slowest", type=int, default=3, help="slowest cells to list per notebook")
    args = parser.parse_args()
    os.environ["NOTEBOOK_DEVICE"] = "cpu"
    paths = [p.resolve() for p in args.notebooks] or notebooks(ROOT / "notebooks")
    suite = {"in one process": [0.0] * 5, "launching processes": [0.0] * 5}
    print("floor: a fresh kernel that runs the notebook's imports; +optim: and builds one optimizer")
    print(f"{'notebook':28} {'run s':>6} {'floor s':>8} {'ratio':>6} {'+optim s':>9} {'ratio':>6} {'CPU s':>6} {'floor':>6}   slowest cells (s, index, first line)")
    for path in paths:
        source = nbformat.read(path, as_version=4)
        runs, floors, optims, cells, cpus = [], [], [], [], []
        for _ in range(args.repeats):
            seconds, timed, cpu = run(nbformat.from_dict(source), path.parent)
            runs.append(seconds)
            cells.append(timed)
            floor_s, _, floor_cpu = run(imports_only(source), path.parent)
            floors.append(floor_s)
            optims.append(run(imports_only(source, optimizer=True), path.parent)[0])
            cpus.append((cpu, floor_cpu))
        t, f, o = statistics.median(runs), statistics.median(floors), statistics.median(optims)
        c, cf = statistics.median(x for x, _ in cpus), statistics.median(y for _, y in cpus)
        per_cell = {i: (statistics.median(c[k][0] for c in cells), i, cells[0][k][2]) for k, (_, i, _) in enumerate(cells[0])}
        slowest = sorted(per_cell.values(), reverse=True)[: args.slowest]
        kind = "launching processes" if "run_distributed(" in "".join(c.source for c in source.cells) else "in one process"
        for k, value in enumerate((t, f, o, c, cf)):
            suite[kind][k] += value
        shown = "; ".join(f"{s:.2f} [{i}] {line[:40]}" for s, i, line in slowest)
        print(f"{path.stem:28} {t:6.2f} {f:8.2f} {t / f:6.2f} {o:9.2f} {t / o:6.2f} {c:6.2f} {cf:6.2f}   {shown}", flush=True)
    for kind, (t, f, o, c, cf) in suite.items():
        if f:
            print(
                f"suite ({kind}): {t:.1f} s against a floor of {f:.1f} s (ratio {t / f:.2f}), "
                f"{o:.1f} s with the first optimizer (ratio {t / o:.2f}); kernel CPU {c:.1f} s against {cf:.1f} s (ratio {c / cf:.2f})"
            )


if __name__ == "__main__":
    main()
