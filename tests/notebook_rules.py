"""The notebook template of ../shared/STYLE.md as checks: ``check_notebook(path)`` lists what breaks it.

A notebook of an edition folder (``notebooks/zh``, with ``catalog/glossary.json``) is held to the same rules with
that edition's headings (``## 小结``, ``## 练习``, "你将学到", ...), its references ("笔记本 05"、"第 3 节") and the
worked solutions of the English notebooks one folder up.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import nbformat

NAME_RE = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
TITLE_RE = re.compile(r"^#\s+(\d\d)\s+·\s+\S")
LINK_RE = re.compile(r"\]\(([^)\s]+)\)")
WARNING_RE = re.compile(r"\b[A-Za-z]*Warning\b[:(]|\bwarnings\.warn\b")
RAISES_TAGS = {"raises-exception", "nbval-raises-exception"}
IGNORE_TAG = "nbval-ignore-output"
MAX_IGNORED = 0.10
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
# "notebook 05", "notebooks 07 and 08"; "section 3", "notebook 05's section 3", "section 3 of notebook 05".
NOTEBOOK_REF_RE = re.compile(r"\bnotebooks?\s+(\d\d(?:\s*(?:,|and|or|-|–|to)\s*\d\d)*)\b", re.I)
SECTION_REF_RE = re.compile(
    r"(?:\bnotebook\s+(?P<nb_before>\d\d)(?:'s|,)?\s+|\b)sections?\s+(?P<num>\d+)(?:\s+of\s+notebook\s+(?P<nb_after>\d\d))?",
    re.I,
)
# A path of the machine that executed the notebook: home, work and temporary folders,
# virtual environments, site-packages, a Windows drive.
MACHINE_PATH_RE = re.compile(
    r"(?<![\w.])/(?:home|root|work|tmp|var|private|Users|usr|opt|mnt|srv)/[^\s'\"]*"
    r"|site-packages|[\\/]\.venv[\\/]|\b[A-Za-z]:\\[\w\\]"
)
SPOILER_RE = re.compile(r"Correct!|The expected answer")
SPOILERS = ("Correct!", "The expected answer")
# The Chinese edition's references: "笔记本 05"、"笔记本 07 和 08"; "第 3 节"、"第 3、5 节"、"笔记本 05 的第 3 节".
ZH_NOTEBOOK_REF_RE = re.compile(r"笔记本\s*(\d\d(?:\s*(?:、|，|,|和|与|或|至|到|-|–)\s*\d\d)*)")
ZH_SECTION_REF_RE = re.compile(r"(?:笔记本\s*(?P<nb_before>\d\d)\s*(?:的|中的|里的)?\s*)?第\s*(?P<nums>\d+(?:\s*(?:、|，|,|和|与|或)\s*\d+)*)\s*节")
# The text ipywidgets gives a widget displayed without a static picture (helpers.widgets.playground).
WIDGET_REPR_RE = re.compile(
    r"^(?:[VH]?Box|GridBox|Accordion|Tab|Stack|AppLayout|GridspecLayout|TwoByTwoLayout|Output|Dropdown|"
    r"\w*Slider|ToggleButtons|RadioButtons|Checkbox|SelectMultiple|Select|Play)\("
)


def _src(cell) -> str:
    return "".join(cell.source) if isinstance(cell.source, list) else cell.source


def _output_text(out) -> str:
    if out.get("output_type") == "stream":
        return "".join(out.get("text", ""))
    if out.get("output_type") == "error":
        return f"{out.get('ename')}: {out.get('evalue')}"
    data = out.get("data", {})
    return "".join(data.get("text/plain", "")) + "".join(data.get("text/html", ""))


def _all_output_text(out) -> str:
    """Every text an output stores (for the path check): streams, data, error value and traceback."""
    parts = [_output_text(out)]
    if out.get("output_type") == "error":
        parts += out.get("traceback", [])
    for value in out.get("data", {}).values():
        if isinstance(value, str) and not value.startswith("iVBOR"):  # skip base64 images
            parts.append(value)
    return "\n".join(parts)


def edition_headings(path: Path) -> dict[str, str] | None:
    """The headings of the edition ``path`` belongs to (``{"Summary": "小结", ...}`` from the folder's
    ``catalog/glossary.json``), or None for an English notebook."""
    glossary = Path(path).parent / "catalog" / "glossary.json"
    if not glossary.exists():
        return None
    return dict(json.loads(glossary.read_text(encoding="utf-8"))["headings"])


@functools.cache
def _spoiler_re(edition: bool) -> re.Pattern[str]:
    """Verdict texts under the Exercises give an answer away: the English ones, and for an edition their
    translations in ``helpers/i18n`` (the literal text before any placeholder)."""
    words = list(SPOILERS)
    if edition:
        words.append("正确！")
        try:
            from helpers.i18n import load_catalog

            exact, templates = load_catalog("zh")
        except (ImportError, ValueError):
            exact, templates = {}, ()
        pairs = list(exact.items()) + [(t.english, t.translated) for t in templates]
        for english, translated in pairs:
            prefix = re.split(r"\{\d+\}", translated)[0].strip()
            if english.startswith(SPOILERS) and len(prefix) >= 2:
                words.append(prefix)
    return re.compile("|".join(re.escape(w) for w in words))


def _sections(path: Path) -> set[str]:
    nb = nbformat.read(path, as_version=4)
    return {m for c in nb.cells if c.cell_type == "markdown" for m in re.findall(r"^##\s+(\d+)\.", _src(c), re.M)}


def check_references(path: Path, texts: list[str]) -> list[str]:
    """Every "notebook NN" names an existing notebook, every "section N" a section of the notebook it points to."""
    problems = []
    folder = Path(path).parent
    existing = {p.name[:2]: p for p in folder.glob("[0-9][0-9]_*.ipynb")}
    own = Path(path).name[:2]
    for text in texts:
        for m in NOTEBOOK_REF_RE.finditer(text):
            for number in re.findall(r"\d\d", m.group(1)):
                if number not in existing:
                    problems.append(f"{m.group(0)!r} points at notebook {number}, which does not exist")
        refs = [(m.group(0), m.group("nb_before") or m.group("nb_after") or own, [m.group("num")]) for m in SECTION_REF_RE.finditer(text)]
        for m in ZH_NOTEBOOK_REF_RE.finditer(text):
            for number in re.findall(r"\d\d", m.group(1)):
                if number not in existing:
                    problems.append(f"{m.group(0)!r} points at notebook {number}, which does not exist")
        refs += [(m.group(0), m.group("nb_before") or own, re.findall(r"\d+", m.group("nums"))) for m in ZH_SECTION_REF_RE.finditer(text)]
        for said, target, numbers in refs:
            if target not in existing:
                continue  # reported above
            for num in numbers:
                if str(int(num)) not in _sections(existing[target]):
                    where = "this notebook" if target == own else f"notebook {target}"
                    problems.append(f"{said!r} points at section {num} of {where}, which has no '## {num}.' heading")
    return problems


def check_notebook(path: Path, headings: dict[str, str] | None = None) -> list[str]:
    """Every way the notebook at ``path`` breaks the template; empty when it follows it.

    ``headings`` translates the template's words ("Summary", "Exercises", "You will learn", "You need", "Time");
    by default those of the notebook's edition folder (``edition_headings``), else English.
    Example: ``check_notebook(Path("notebooks/zh/01_param_groups.ipynb"))`` -> ``[]``.
    """
    problems: list[str] = []
    path = Path(path)
    edition = headings is not None or edition_headings(path) is not None
    headings = headings if headings is not None else edition_headings(path) or {}

    def h(word: str) -> str:
        return headings.get(word, word)

    match = NAME_RE.match(path.name)
    if not match:
        problems.append(f"file name {path.name!r} is not NN_slug.ipynb (lower case, digits, underscores)")
    nb = nbformat.read(path, as_version=4)
    cells = nb.cells
    code = [c for c in cells if c.cell_type == "code"]

    # Title cell.
    first = cells[0] if cells else None
    if first is None or first.cell_type != "markdown" or not TITLE_RE.match(_src(first).lstrip()):
        problems.append("the first cell is not a markdown title '# NN · Title'")
    else:
        number = _src(first).lstrip()[2:4]
        if match and number != match.group(1):
            problems.append(f"title number {number} differs from the file name's {match.group(1)}")
        for needed in (h("You will learn"), h("You need"), h("Time")):
            if needed not in _src(first):
                problems.append(f"the title cell lacks {needed!r}")

    # Setup cell: the first code cell calls setup_notebook.
    if not code or "setup_notebook(" not in _src(code[0]):
        problems.append("the first code cell does not call setup_notebook(...)")

    # Sections.
    markdown = [_src(c) for c in cells if c.cell_type == "markdown"]
    summary_heading, exercises_heading = f"## {h('Summary')}", f"## {h('Exercises')}"
    for heading in (summary_heading, exercises_heading):
        if not any(re.search(rf"^{re.escape(heading)}(?!\w)", m, re.M) for m in markdown):
            problems.append(f"no {heading!r} section")

    summary = next((m for m in markdown if re.search(rf"^{re.escape(summary_heading)}(?!\w)", m, re.M)), None)
    if summary is not None:
        section = summary.split(summary_heading, 1)[1].split("\n## ", 1)[0]
        bullets = len(re.findall(r"^- ", section, re.M))
        if not 3 <= bullets <= 5:
            problems.append(f"the Summary has {bullets} bullets; write 3 to 5")

    # "notebook NN" and "section N" resolve, in prose and in code comments.
    problems += check_references(path, [_src(c) for c in cells])

    # Navigation lines whose links resolve.
    nav = [m for m in markdown if m.startswith("<!-- nav -->")]
    if len(nav) < 2:
        problems.append(f"expected a navigation line at the top and at the bottom, found {len(nav)}")
    for m in markdown:
        for target in LINK_RE.findall(m):
            if re.match(r"^[a-z]+://|^#|^mailto:", target):
                continue
            file_part = target.split("#", 1)[0]
            if file_part and not (path.parent / file_part).exists():
                problems.append(f"link to {target!r} does not resolve")

    # Execution: every code cell run once, in order 1..n, in one kernel.
    counts = [c.execution_count for c in code if _src(c).strip()]
    if any(n is None for n in counts):
        problems.append(f"{sum(n is None for n in counts)} code cell(s) never executed")
    elif counts != list(range(1, len(counts) + 1)):
        problems.append(f"execution counts are {counts[:8]}..., not 1..n from one fresh kernel")

    # nbval runs a cell's source as is: a trailing ';' does not hide the last value there.
    for i, c in enumerate(code):
        if _src(c).rstrip().endswith(";"):
            problems.append(f"code cell {i} ends with ';' (nbval ignores it): assign the value instead, e.g. ax = ...")

    # Outputs: errors only where tagged, no warnings, something to read.
    outputs = 0
    for i, c in enumerate(code):
        tags = set(c.metadata.get("tags", []))
        outputs += len(c.outputs)
        for out in c.outputs:
            if out.get("output_type") == "error" and not tags & RAISES_TAGS:
                problems.append(f"code cell {i} has an error output ({out.get('ename')}) but no raises-exception tag")
            text = _output_text(out)
            if (out.get("name") == "stderr" and text.strip()) or WARNING_RE.search(text):
                problems.append(f"code cell {i} has warning or stderr text in its output: {text.strip()[:80]!r}")
            if "image/png" in out.get("data", {}):
                md = out.get("metadata", {})
                if not str(md.get("image/png", {}).get("alt") or md.get("alt") or "").strip():
                    problems.append(f"code cell {i} shows an image without alternative text (setup_notebook adds it; re-execute)")
            if WIDGET_REPR_RE.match("".join(out.get("data", {}).get("text/plain", ""))):
                problems.append(
                    f"code cell {i} stores a widget as its repr text ({text.strip()[:30]!r}...), not its picture: "
                    "build widgets with helpers.widgets.playground and re-execute"
                )
            if (found := MACHINE_PATH_RE.search(_all_output_text(out))):
                problems.append(f"code cell {i} stores a path of the machine that executed it: {found.group(0)[:60]!r}")
            if out.get("output_type") == "error":
                shown = " ".join(ANSI_RE.sub("", "".join(out.get("traceback", []))).split())
                lesson = " ".join(ANSI_RE.sub("", f"{out.get('ename')}: {out.get('evalue')}").split()).rstrip(": ")
                if shown.rstrip(": ") != lesson:
                    problems.append(
                        f"code cell {i} stores a traceback beyond its exception line ({len(out.get('traceback', []))} parts): "
                        "call setup_notebook (it sets %xmode Minimal) and re-execute"
                    )
        if tags & RAISES_TAGS and not any(o.get("output_type") == "error" for o in c.outputs):
            problems.append(f"code cell {i} is tagged raises-exception but stored no error")
    if code and outputs == 0:
        problems.append("no stored outputs: execute the notebook (make execute)")

    # Exercises: nothing under them gives an answer away; the worked solutions live in
    # solutions/NN_slug.py (run by run_solutions), not in the notebook.
    start = next(
        (k for k, c in enumerate(cells) if c.cell_type == "markdown" and re.search(rf"^{re.escape(exercises_heading)}(?!\w)", _src(c), re.M)),
        None,
    )
    if start is not None:
        for k, c in enumerate(cells[start:], start):
            if c.cell_type != "code":
                continue
            for out in c.outputs:
                if (found := _spoiler_re(edition).search(_output_text(out))):
                    problems.append(f"cell {k} under the Exercises shows a solution's verdict ({found.group(0)!r})")
        # An edition runs the English notebooks' solutions, one folder up (run_solutions looks there).
        solutions = (path.parent.parent if edition else path.parent) / "solutions" / path.name.replace(".ipynb", ".py")
        exercise_code = "".join(_src(c) for c in cells[start:] if c.cell_type == "code")
        checkers = sorted(set(re.findall(r"\b(check_\w+)\(", exercise_code)))
        if not solutions.exists():
            problems.append(f"no worked solutions file solutions/{solutions.name}")
        else:
            if f"run_solutions(\"solutions/{solutions.name}\")" not in exercise_code:
                problems.append(f"the Solutions cell does not call run_solutions(\"solutions/{solutions.name}\")")
            text = solutions.read_text(encoding="utf-8")
            missing = [name for name in checkers if f"{name}(" not in text]
            if missing:
                problems.append(f"solutions/{solutions.name} never calls {missing}")

    ignored = sum(IGNORE_TAG in c.metadata.get("tags", []) for c in code)
    if code and ignored / len(code) > MAX_IGNORED:
        problems.append(f"{ignored} of {len(code)} code cells are tagged {IGNORE_TAG} (at most 10%)")

    # Metadata.
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append(f"kernelspec is {nb.metadata.get('kernelspec', {}).get('name')!r}, not 'python3'")
    if "widgets" in nb.metadata:
        problems.append("notebook metadata stores widget state (re-execute with make execute)")
    for i, c in enumerate(cells):
        extra = set(c.metadata) - {"tags", "jupyter", "collapsed", "slideshow"}  # slideshow: python -m helpers.slides mark
        if extra:
            problems.append(f"cell {i} carries run metadata {sorted(extra)} (re-execute with make execute)")
    return problems
