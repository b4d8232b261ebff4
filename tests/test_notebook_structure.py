"""Every notebook follows the template; each rule is shown to fail on a bad notebook.

The Chinese edition (notebooks/zh) follows the same rules with its own headings (tests/notebook_rules.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from helpers import nav
from notebook_rules import check_notebook

NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks")
ZH_NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks" / "zh")


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under notebooks/"
    assert NOTEBOOKS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS + ZH_NOTEBOOKS, ids=lambda p: str(p.relative_to(nav.ROOT / "notebooks")))
def test_notebook_follows_template(path):
    assert check_notebook(path) == []


def test_navigation_and_readme_are_current():
    stale = nav.sync(check=True)
    assert stale == [], f"stale navigation in {stale}: run `make nav`"


# --- the rules can fail -------------------------------------------------------------


def _exercise_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("answer = ...\ncheck_answer(answer)", execution_count=10)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Not done yet\n")]
    return cell


def _solutions_cell() -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell('run_solutions("solutions/98_good.py")', execution_count=11)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Every worked solution passes.\n")]
    return cell


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
    boom.outputs = [nbformat.v4.new_output("error", ename="ValueError", evalue="x", traceback=["\x1b[31mValueError\x1b[39m: x\n"])]
    cells = [title, navcell, setup, work, boom]
    cells += [nbformat.v4.new_code_cell(f"x{i} = {i}", execution_count=4 + i) for i in range(6)]
    cells += [
        nbformat.v4.new_markdown_cell("## Summary\n- a\n- b\n- c"),
        nbformat.v4.new_markdown_cell("## Exercises\n1. b"),
        _exercise_cell(),
        nbformat.v4.new_markdown_cell("### Solutions\nIn solutions/98_good.py."),
        _solutions_cell(),
        nbformat.v4.new_markdown_cell(navcell.source),
    ]
    nb.cells = cells
    return nb


def _write(tmp_path: Path, nb, name: str = "98_good.ipynb") -> Path:
    (tmp_path / "99_other.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 2. Two")])))
    (tmp_path / "solutions").mkdir(exist_ok=True)
    (tmp_path / "solutions" / "98_good.py").write_text("assert check_answer(42)\n")
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
    "summary": (lambda nb: setattr(nb.cells[-6], "source", "## Recap"), None, "no '## Summary' section"),
    "summary bullets": (lambda nb: setattr(nb.cells[-6], "source", "## Summary\n- only one"), None, "write 3 to 5"),
    "exercises": (lambda nb: setattr(nb.cells[-5], "source", "## Homework"), None, "no '## Exercises' section"),
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
    "missing notebook": (lambda nb: _md(nb, "As notebook 42 shows."), None, "points at notebook 42"),
    "missing notebooks in a range": (lambda nb: _md(nb, "Notebooks 99 and 43 follow."), None, "points at notebook 43"),
    "missing section": (lambda nb: _md(nb, "See section 4 below."), None, "section 4 of this notebook"),
    "missing section elsewhere": (lambda nb: _md(nb, "Notebook 99's section 3 shows it."), None, "section 3 of notebook 99"),
    "missing section after": (lambda nb: _md(nb, "as in section 7 of notebook 99"), None, "section 7 of notebook 99"),
    "section in a comment": (lambda nb: setattr(_code(nb, 1), "source", "x = 1  # see section 9"), None, "section 9 of this notebook"),
    "machine path": (lambda nb: _out(nb, "saved to /home/ada/optim/ckpt.pt\n"), None, "path of the machine"),
    "venv path": (lambda nb: _out(nb, "File C:\\Users\\ada\\x.py\n"), None, "path of the machine"),
    "site-packages": (lambda nb: _out(nb, "in .../site-packages/torch/optim/sgd.py\n"), None, "path of the machine"),
    "temporary path": (lambda nb: _out(nb, "wrote /tmp/tmpab12/ckpt.pt\n"), None, "path of the machine"),
    "long traceback": (
        lambda nb: _code(nb, 2).outputs[0].traceback.insert(0, "File /x/y.py:3, in f\n----> 3 raise ValueError('x')"),
        None,
        "traceback beyond its exception line",
    ),
    "visible verdict": (lambda nb: _code(nb, -1).outputs.append(nbformat.v4.new_output("stream", name="stdout", text="Correct! 2.6\n")), None, "shows a solution's verdict"),
    "revealed answer": (lambda nb: _code(nb, -2).outputs.append(nbformat.v4.new_output("stream", name="stdout", text="The expected answer: 2.6\n")), None, "shows a solution's verdict"),
    "solution not run": (lambda nb: setattr(_code(nb, -1), "source", "pass"), None, "does not call run_solutions"),
}


def _md(nb, text):
    nb.cells.insert(3, nbformat.v4.new_markdown_cell(text))


def _out(nb, text):
    _code(nb, 1).outputs.append(nbformat.v4.new_output("stream", name="stdout", text=text))


@pytest.mark.parametrize("case", sorted(BAD_CASES))
def test_each_rule_fails_on_a_bad_notebook(tmp_path, case):
    mutate, name, expected = BAD_CASES[case]
    nb = _good()
    mutate(nb)
    path = _write(tmp_path, nb, name or "98_good.ipynb")
    problems = check_notebook(path)
    assert any(expected in p for p in problems), problems


def test_solutions_file_rules(tmp_path):
    path = _write(tmp_path, _good())
    (tmp_path / "solutions" / "98_good.py").write_text("assert True\n")
    assert any("never calls ['check_answer']" in p for p in check_notebook(path))
    (tmp_path / "solutions" / "98_good.py").unlink()
    assert any("no worked solutions file" in p for p in check_notebook(path))


def test_good_references_pass(tmp_path):
    nb = _good()
    for text in ("Notebook 99 comes next.", "Notebook 99's section 2 and notebook 98 agree.", "section 2 of notebook 99"):
        _md(nb, text)
    assert check_notebook(_write(tmp_path, nb)) == []


# --- the Chinese edition: the same rules with the glossary's headings -----------------------------

GLOSSARY = nav.ROOT / "notebooks" / "zh" / "catalog" / "glossary.json"
ZH_HEADINGS = json.loads(GLOSSARY.read_text(encoding="utf-8"))["headings"]


def _good_zh() -> nbformat.NotebookNode:
    """``_good()`` as the Chinese edition writes it: Chinese headings, solutions one folder up."""
    nb = _good()
    nb.cells[0].source = "# 98 · 好\n一个问题。\n\n**你将学到** a\n\n**预备知识** b\n\n**时间** 5 分钟。"
    nb.cells[-6].source = "## 小结\n- a\n- b\n- c"
    nb.cells[-5].source = "## 练习\n1. b"
    nb.cells[-3].source = "### 答案\n在 [solutions/98_good.py](../solutions/98_good.py) 里。"
    _code(nb, 0).source = 'device = setup_notebook(seed=0, lang="zh")'
    return nb


def _write_zh(tmp_path: Path, nb, name: str = "98_good.ipynb") -> Path:
    """An edition folder like notebooks/zh: tmp/zh/ with catalog/glossary.json, the solutions in tmp/solutions."""
    folder = tmp_path / "zh"
    (folder / "catalog").mkdir(parents=True)
    (folder / "catalog" / "glossary.json").write_text(GLOSSARY.read_text(encoding="utf-8"), encoding="utf-8")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 2. 二")])
    (folder / "99_other.ipynb").write_text(nbformat.writes(other))
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "98_good.py").write_text("assert check_answer(42)\n")
    path = folder / name
    nbformat.write(nb, path)
    return path


def test_the_chinese_headings_come_from_the_glossary():
    assert {k: ZH_HEADINGS[k] for k in ("Summary", "Exercises", "You will learn", "You need", "Time")} == {
        "Summary": "小结", "Exercises": "练习", "You will learn": "你将学到", "You need": "预备知识", "Time": "时间"}


def test_good_chinese_notebook_passes(tmp_path):
    assert check_notebook(_write_zh(tmp_path, _good_zh())) == []


def test_an_english_notebook_in_the_edition_folder_fails(tmp_path):
    problems = check_notebook(_write_zh(tmp_path, _good()))
    assert "no '## 小结' section" in problems and "the title cell lacks '你将学到'" in problems


ZH_BAD_CASES = {
    "summary": (lambda nb: setattr(nb.cells[-6], "source", "## Summary\n- a\n- b\n- c"), "no '## 小结' section"),
    "summary bullets": (lambda nb: setattr(nb.cells[-6], "source", "## 小结\n- 只有一条"), "write 3 to 5"),
    "exercises": (lambda nb: setattr(nb.cells[-5], "source", "## Exercises\n1. b"), "no '## 练习' section"),
    "objectives": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("你将学到", "目标")), "lacks '你将学到'"),
    "prerequisites": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("预备知识", "需要")), "lacks '预备知识'"),
    "time": (lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace("时间", "用时")), "lacks '时间'"),
    "solutions link in the folder": (lambda nb: setattr(nb.cells[-3], "source", "### 答案\n[x](solutions/98_good.py)"), "does not resolve"),
    "missing notebook": (lambda nb: _md(nb, "正如笔记本 42 所示。"), "points at notebook 42"),
    "missing notebook in a list": (lambda nb: _md(nb, "笔记本 99 和 43 接着讲。"), "points at notebook 43"),
    "missing section": (lambda nb: _md(nb, "见下面第 4 节。"), "section 4 of this notebook"),
    "missing section in a list": (lambda nb: _md(nb, "## 1. 一\n\n**课堂** 5 分钟：第 1、4 节。"), "section 4 of this notebook"),
    "missing section elsewhere": (lambda nb: _md(nb, "笔记本 99 的第 3 节讲过。"), "section 3 of notebook 99"),
    "visible verdict": (lambda nb: _code(nb, -1).outputs.append(nbformat.v4.new_output("stream", name="stdout", text="正确！2.6\n")), "verdict"),
}


@pytest.mark.parametrize("case", sorted(ZH_BAD_CASES))
def test_each_rule_fails_on_a_bad_chinese_notebook(tmp_path, case):
    mutate, expected = ZH_BAD_CASES[case]
    nb = _good_zh()
    mutate(nb)
    problems = check_notebook(_write_zh(tmp_path, nb))
    assert any(expected in p for p in problems), problems


def test_good_chinese_references_pass(tmp_path):
    nb = _good_zh()
    for text in ("笔记本 99 接着讲。", "笔记本 99 的第 2 节和笔记本 98 一致。", "笔记本 99 第 2 节"):
        _md(nb, text)
    assert check_notebook(_write_zh(tmp_path, nb)) == []


def test_a_chinese_notebook_needs_the_english_solutions_one_folder_up(tmp_path):
    path = _write_zh(tmp_path, _good_zh())
    (tmp_path / "solutions" / "98_good.py").unlink()
    assert any("no worked solutions file" in p for p in check_notebook(path))
