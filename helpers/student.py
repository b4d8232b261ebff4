"""The student edition: every notebook without its solutions. ``python -m helpers.student [FOLDER]``.

Writes each notebook to FOLDER (default ``build/student``) with its "### Solutions" section
(``### 答案`` in the Chinese edition)
replaced by a short note, the ``run_solutions(...)`` cell and its output removed, and
``run_solutions`` dropped from the setup cell's import. Everything else (the lessons, their
stored outputs, the exercise stubs that answer "not done yet", the navigation) is kept. The
worked solutions (``notebooks/solutions/``) are not copied; the worker scripts notebook 09
runs (``notebooks/distributed/``) are.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import nbformat

from .nav import ROOT, notebooks

STUDENT_NOTE = (
    "### Solutions\n\n"
    "This is the student edition, without the answers. Stuck? Every checker "
    "takes `reveal=True` and then shows the expected answer (from the third wrong try it shows it "
    "by itself); your teacher has the solutions."
)
# The Chinese edition (notebooks/zh/) heads its solutions "### 答案".
STUDENT_NOTE_ZH = (
    "### 答案\n\n"
    "这是学生版，不含答案。卡住了？每个检查器都接受 `reveal=True`，然后给出预期的答案"
    "（答错第三次时它会自己给出）；参考答案在老师那里。"
)
_NOTES = {"Solutions": STUDENT_NOTE, "答案": STUDENT_NOTE_ZH}
# Folders next to the notebooks that the student edition needs, besides the notebooks.
KEEP_FOLDERS = ("distributed",)


def _drop_import(source: str, name: str) -> str:
    """``source`` without ``name`` in its ``from helpers import ...`` statement."""
    source = re.sub(rf"^\s+{name},\n", "", source, flags=re.M)  # one name per line, in parentheses
    source = re.sub(rf",\s*{name}\b(?=[,\n)])", "", source)  # "a, name, b" or "a, name"
    return re.sub(rf"(?<=import )\b{name},\s*", "", source)  # "import name, b"


def student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` without its solutions (see the module's docstring)."""
    out = nbformat.from_dict(nb)
    cells = []
    for cell in out.cells:
        heading = re.match(r"\s*### (Solutions|答案)(?=\s|$)", cell.source) if cell.cell_type == "markdown" else None
        if heading:
            cells.append(nbformat.v4.new_markdown_cell(_NOTES[heading.group(1)], id=cell.get("id")))
            continue
        if cell.cell_type == "code" and "run_solutions(" in cell.source:
            continue
        if cell.cell_type == "code" and "run_solutions" in cell.source:
            cell.source = _drop_import(cell.source, "run_solutions")
        cells.append(cell)
    out.cells = cells
    return out


def write_student_edition(folder: Path, source: Path | None = None) -> list[Path]:
    """Write the student edition of every notebook in ``source`` (the repository's notebooks
    folder by default) into ``folder``, replacing what was there. Returns the notebooks written."""
    source = source or ROOT / "notebooks"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    written = []
    for path in notebooks(source):
        nb = student_notebook(nbformat.read(path, as_version=4))
        target = folder / path.name
        target.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
        written.append(target)
    for name in KEEP_FOLDERS:
        if (source / name).is_dir():
            shutil.copytree(source / name, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    folder = Path(args[0]) if args else ROOT / "build" / "student"
    written = write_student_edition(folder)
    print(f"wrote {len(written)} student notebooks (no solutions) to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
