"""Re-execute notebooks in place on the CPU: ``python -m helpers.execute [--unexecuted] [NOTEBOOK or FOLDER ...]``.

Each notebook runs top to bottom in a fresh kernel with ``NOTEBOOK_DEVICE=cpu``, from its own
folder (``notebooks/`` or ``notebooks/zh/``). A folder stands for its ``NN_topic.ipynb``
notebooks; with no argument, the English notebooks run, then the Chinese ones. ``--unexecuted``
runs only those with a code cell that has never run (the generator ``helpers.translate``
empties the cells whose code changed). Cells tagged ``raises-exception`` may raise; any other
error stops with a message. Run metadata that churns (timings, widget state, the exact Python
version) is not stored, so a re-run that changes nothing leaves the file unchanged.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from .nav import ROOT, notebooks

# "slideshow": {"slide_type": ...} marks a cell for the reveal.js slides.
KEEP_CELL_METADATA = ("tags", "jupyter", "collapsed", "slideshow")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _coalesce_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how the kernel splits them depends on timing."""
    merged: list = []
    for output in outputs:
        if (
            output.get("output_type") == "stream"
            and merged
            and merged[-1].get("output_type") == "stream"
            and merged[-1].get("name") == output.get("name")
        ):
            merged[-1]["text"] = "".join(merged[-1]["text"]) + "".join(output["text"])
        else:
            merged.append(output)
    return merged


def clean(nb: nbformat.NotebookNode) -> None:
    """Drop run-to-run noise from a notebook's metadata."""
    nb.metadata = nbformat.from_dict(
        {
            "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }
    )
    for cell in nb.cells:
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k in KEEP_CELL_METADATA})
        if "outputs" in cell:
            cell.outputs = _coalesce_streams(cell.outputs)
        # A widget view points at a model (random id) whose state is not stored: keep the rest,
        # the text nbval compares and, for the helpers' widgets, the static picture (and its alt)
        # that JupyterLab, nbconvert and the site show until the cell is run.
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data and "text/plain" in data:
                del data[WIDGET_VIEW]


def execute(path: Path, timeout: int = 300) -> float:
    """Execute one notebook in place; return the seconds it took."""
    nb = nbformat.read(path, as_version=4)
    os.environ["NOTEBOOK_DEVICE"] = "cpu"
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=True,  # False trips nbclient on Output widgets; clean() drops the state
        # The kernel's start-up notice ("running over TCP without encryption") is not news here.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    clean(nb)
    nbformat.validate(nb)
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return seconds


def unexecuted(path: Path) -> bool:
    """True when a code cell of the notebook at ``path`` holds code but has never run.

    Example: ``unexecuted(Path("notebooks/zh/01_param_groups.ipynb"))`` -> ``False`` once executed.
    """
    nb = nbformat.read(path, as_version=4)
    return any(c.cell_type == "code" and "".join(c.source).strip() and c.execution_count is None for c in nb.cells)


def targets(args: list[str], root: Path | None = None) -> list[Path]:
    """The notebooks named by ``args`` (files, or folders for their ``NN_topic.ipynb``); with none, the English
    notebooks then the Chinese ones. Raises ``ValueError`` for a path that is neither.

    Example: ``targets(["notebooks/zh"])`` -> ``[.../notebooks/zh/00_start_here.ipynb, ...]``.
    """
    root = ROOT if root is None else root
    if not args:
        return notebooks(root / "notebooks") + notebooks(root / "notebooks" / "zh")
    found: list[Path] = []
    for arg in args:
        path = Path(arg).resolve()
        if path.is_dir():
            found += notebooks(path)
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise ValueError(f"{arg}: not a notebook (.ipynb) nor a folder of notebooks")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks or folders (default: notebooks/, then notebooks/zh/)")
    parser.add_argument("--unexecuted", action="store_true", help="only the notebooks with a code cell never run")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        paths = targets(args.paths)
    except ValueError as error:
        print(f"helpers.execute: {error}", file=sys.stderr)
        return 1
    if args.unexecuted:
        paths = [p for p in paths if unexecuted(p)]
        if not paths:
            print("every notebook is executed")
    for path in paths:
        seconds = execute(path)
        print(f"executed {path.parent.name}/{path.name} in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
