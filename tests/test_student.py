"""The student edition (``make student``): no solutions left, and it runs as a student finds it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

from helpers import nav
from helpers.execute import execute
from helpers.student import STUDENT_NOTE_ZH, student_notebook, write_student_edition

NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks")


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("student")
    write_student_edition(folder)
    return folder


def test_every_notebook_and_nothing_of_the_solutions(edition):
    assert sorted(p.name for p in edition.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    assert not (edition / "solutions").exists()
    assert (edition / "distributed").is_dir()  # the worker scripts notebook 09 runs


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_solution_code_or_output_is_left(edition, path):
    text = (edition / path.name).read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    everything = "\n".join(
        [c.source for c in nb.cells] + [json.dumps(o) for c in nb.cells for o in c.get("outputs", [])]
    )
    assert "run_solutions" not in everything and "solutions/" not in everything
    assert not re.search(r"worked solution", everything, re.I)
    assert any(c.cell_type == "markdown" and c.source.startswith("### Solutions\n\nThis is the student edition") for c in nb.cells[_exercises_start(nb):])


def test_the_transformation_keeps_everything_else():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        student = student_notebook(nb)
        expected = []
        for cell in nb.cells:
            if "run_solutions(" in cell.source:
                continue
            if cell.source.startswith("### Solutions"):
                expected.append("### Solutions")
            else:
                expected.append(re.sub(r"run_solutions, |, run_solutions|\n\s+run_solutions,", "", cell.source))
        got = ["### Solutions" if c.source.startswith("### Solutions") else c.source for c in student.cells]
        assert got == expected, path.name
        assert sum("run_solutions" in c.source for c in nb.cells) == 2  # the original is untouched: import and call


def _exercises_start(nb) -> int:
    return next(k for k, c in enumerate(nb.cells) if c.cell_type == "markdown" and re.search(r"^## Exercises\b", c.source, re.M))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_student_edition_runs_and_every_exercise_says_not_done_yet(edition, path):
    target = edition / path.name
    execute(target)  # raises on any error outside the cells tagged raises-exception
    nb = nbformat.read(target, as_version=4)
    start = _exercises_start(nb)
    checks = [c for c in nb.cells[start:] if c.cell_type == "code" and re.search(r"\bcheck_\w+\(", c.source)]
    assert checks, "no exercise cell calls a checker"
    for cell in checks:
        shown = "".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.outputs)
        assert "not done yet" in shown.lower(), cell.source[:80]
        assert not any(o.output_type == "error" for o in cell.outputs), cell.source[:80]


@pytest.mark.parametrize("path", sorted((nav.ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.stem)
def test_the_chinese_notebooks_lose_their_solutions_too(path):
    nb = nbformat.read(path, as_version=4)
    student = student_notebook(nb)
    text = "\n".join(c.source for c in student.cells)
    assert "run_solutions" not in text and "solutions/" not in text, path.name  # no call, no link to ../solutions/
    notes = [c.source for c in student.cells if c.source.startswith("### 答案")]
    assert notes == [STUDENT_NOTE_ZH], path.name  # the Chinese note replaces the Chinese heading
    assert len(student.cells) == len(nb.cells) - 1  # only the run_solutions cell is gone
