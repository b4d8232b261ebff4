"""Every notebook follows the template; each rule is shown to fail on a bad notebook."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from helpers import nav
from notebook_rules import check_notebook

NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_template(path):
    assert check_notebook(path) == []


def test_navigation_and_readme_are_current():
    stale = nav.sync(check=True)
    assert stale == [], f"stale navigation in {stale}: run `make nav`"


# --- the rules can fail -------------------------------------------------------------


def _good() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    title = nbformat.v4.new_markdown_cell(
        "# 98 · Good\nA question.\n\n**You will learn** a\n\n**You need** b\n\n**Time** 5 min"
    )
    navcell = nbformat.v4.new_markdown_cell("<!-- nav -->\n[next](99_other.ipynb)")
    setup = nbformat.v4.new_code_cell("device = setup_notebook(seed=0)", execution_count=1)
    setup.outputs = [nbformat.v4.new_output("stream", name="stdout", text="cpu\n")]
    work = nbformat.v4.new_code_cell("1 + 1", execution_count=2)
    work.outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]
    boom = nbformat.v4.new_code_cell("raise ValueError('x')", execution_count=3)
    boom.metadata["tags"] = ["raises-exception"]
    boom.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=[])]
    cells = [title, navcell, setup, work, boom]
    cells += [nbformat.v4.new_code_cell(f"x{i} = {i}", execution_count=4 + i) for i in range(6)]
    cells += [
        nbformat.v4.new_markdown_cell("## Summary\n- a\n- b\n- c"),
        nbformat.v4.new_markdown_cell("## Exercises\n1. b"),
        nbformat.v4.new_markdown_cell(navcell.source),
    ]
    nb.cells = cells
    return nb


def _write(tmp_path: Path, nb, name: str = "98_good.ipynb") -> Path:
    (tmp_path / "99_other.ipynb").write_text("{}")
    path = tmp_path / name
    nbformat.write(nb, path)
    return path


def test_good_notebook_passes(tmp_path):
    assert check_notebook(_write(tmp_path, _good())) == []


def _code(nb, i):
    return [c for c in nb.cells if c.cell_type == "code"][i]


BAD_CASES = {
    "file name": (lambda nb: None, "Bad Name.ipynb", "is not NN_slug"),
    "title": (lambda nb: setattr(nb.cells[0], "source", "Good notebook"), None, "first cell is not a markdown title"),
    "title number": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("98", "97")), None, "differs from the file name"),
    "objectives": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("You will learn", "")), None, "lacks 'You will learn'"),
    "time": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("Time", "")), None, "lacks 'Time'"),
    "setup": (lambda nb: setattr(_code(nb, 0), "source", "import torch"), None, "does not call setup_notebook"),
    "summary": (lambda nb: setattr(nb.cells[-3], "source", "## Recap"), None, "no '## Summary' section"),
    "summary bullets": (lambda nb: setattr(nb.cells[-3], "source", "## Summary\n- only one"), None, "write 3 to 5"),
    "exercises": (lambda nb: setattr(nb.cells[-2], "source", "## Homework"), None, "no '## Exercises' section"),
    "navigation": (lambda nb: nb.cells.pop(), None, "navigation line at the top and at the bottom"),
    "dead link": (lambda nb: setattr(nb.cells[1], "source", "<!-- nav -->\n[next](42_missing.ipynb)"), None, "does not resolve"),
    "unexecuted": (lambda nb: setattr(_code(nb, 1), "execution_count", None), None, "never executed"),
    "order": (lambda nb: setattr(_code(nb, 1), "execution_count", 7), None, "not 1..n"),
    "untagged error": (lambda nb: _code(nb, 2).metadata.pop("tags"), None, "no raises-exception tag"),
    "warning": (
        lambda nb: _code(nb, 1).outputs.append(
            nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n")
        ),
        None,
        "warning or stderr",
    ),
    "warning in stdout": (
        lambda nb: _code(nb, 1).outputs.append(
            nbformat.v4.new_output("stream", name="stdout", text="FutureWarning: soon\n")
        ),
        None,
        "warning or stderr",
    ),
    "semicolon": (lambda nb: setattr(_code(nb, 1), "source", "plot();"), None, "ends with ';'"),
    "kernelspec": (lambda nb: nb.metadata.update(kernelspec={"name": "julia"}), None, "kernelspec is 'julia'"),
    "ignored outputs": (
        lambda nb: [_code(nb, i).metadata.update(tags=["nbval-ignore-output"]) for i in (3, 4)],
        None,
        "tagged nbval-ignore-output",
    ),
    "run metadata": (lambda nb: _code(nb, 1).metadata.update(execution={"t": 1}), None, "carries run metadata"),
    "no outputs": (lambda nb: [setattr(c, "outputs", []) for c in nb.cells if c.cell_type == "code"], None, "no stored outputs"),
    "tag without error": (lambda nb: setattr(_code(nb, 2), "outputs", []), None, "stored no error"),
}


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_each_rule_fails_on_a_bad_notebook(tmp_path, case):
    mutate, name, expected = BAD_CASES[case]
    nb = _good()
    mutate(nb)
    path = _write(tmp_path, nb, name or "98_good.ipynb")
    problems = check_notebook(path)
    assert any(expected in p for p in problems), problems
