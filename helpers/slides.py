"""Slide decks from the notebooks: ``python -m helpers.slides mark [--check]`` and ``build [FOLDER]``.

``mark`` writes Jupyter's slideshow metadata (``cell.metadata["slideshow"]["slide_type"]``, what
JupyterLab's property inspector and RISE read) into every notebook, from the rules in
:func:`slide_types`; ``mark --check`` changes nothing and exits 1 naming the stale notebooks.
``build`` (``make slides``) writes one reveal.js deck per notebook, ``NN_topic.slides.html``, and
an ``index.html`` into FOLDER (default ``build/slides``), with reveal.js 5 (from the installed
``sphinx_revealjs``) and MathJax 3 (from ``sphinx-mathjax-offline``) copied next to them: a deck
loads nothing from outside its folder. Press S in a deck for the speaker notes.
"""

from __future__ import annotations

import argparse
import ast
import base64
import html
import importlib.util
import logging
import math
import re
import shutil
import struct
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat

from .nav import NAV_MARK, ROOT, Plan, heading_parts, notebooks, read_entry, read_plan

SLIDE_TYPES = ("slide", "subslide", "fragment", "-", "skip", "notes")
TEMPLATES = Path(__file__).resolve().parent / "templates"
TEMPLATE = "slides"  # helpers/templates/slides: extends nbconvert's reveal template
REVEAL_DIR = "reveal.js"  # out/reveal.js/{dist,plugin/notes}
MATHJAX_DIR = "mathjax"  # out/mathjax/tex-chtml.js and what it loads
# What the decks load from the installed packages; paths relative to each package's folder.
MATHJAX_FILES = ("tex-chtml.js", "input/tex/extensions", "output/chtml/fonts/woff-v2")
REVEAL_FILES = ("dist", "plugin/notes", "LICENSE")
REVEAL_THEME = "white"  # the only theme copied: others import their fonts from Google's servers
IN_CLASS_RE = re.compile(r"^\*\*In class\*\*.*(?:\n(?!\s*\n).+)*", re.M)  # the whole paragraph

# The room on one slide, in lines of code (15px type, 960x700 slide; see the template's CSS).
# A prose line is taller than a code line and holds fewer characters.
SLIDE_LINES = 32
STRETCH = 1.4  # the code an explanation introduces stays with it up to this (the deck zooms out)
SHORT_CODE = 5  # a code cell this short (an assert) stays on the slide above it up to STRETCH too
CODE_CHARS = 95
PROSE_CHARS = 80
PROSE_LINE = 1.45
LINE_PX = 19
IMAGE_WIDTH_PX = 900
IMAGE_MAX_PX = 500  # the template caps images at this height
DECK_OUTPUT_TAG = "deck-outputs-only"  # a deck cell that shows its outputs without its code


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _wrapped(text: str, width: int) -> int:
    return sum(max(1, math.ceil(len(line) / width)) for line in text.splitlines())


def _png_height(output: dict) -> float:
    """The image's height on a slide, in lines (its pixel size is in the PNG header)."""
    meta = output.get("metadata", {}).get("image/png", {})
    data = output["data"]["image/png"]
    try:
        width, height = struct.unpack(">II", base64.b64decode(data[:32])[16:24])
    except (ValueError, struct.error):
        width, height = IMAGE_WIDTH_PX, IMAGE_MAX_PX
    width, height = meta.get("width", width), meta.get("height", height)
    shown = min(height * min(1.0, IMAGE_WIDTH_PX / max(width, 1)), IMAGE_MAX_PX)
    return shown / LINE_PX


def cell_lines(cell: dict) -> float:
    """About how many code lines of a slide ``cell`` fills, outputs included."""
    text = _source(cell)
    if cell.get("cell_type") != "code":
        lines = 0.0
        for line in text.splitlines():
            if not line.strip():
                lines += 0.5
            elif line.startswith("#"):
                lines += 2.5
            elif line.startswith("$$"):
                lines += 2.0
            elif line.startswith("|"):
                lines += 1.2 * _wrapped(line, PROSE_CHARS * 2)
            else:
                lines += PROSE_LINE * _wrapped(line, PROSE_CHARS)
        return lines + 1
    lines = _wrapped(text, CODE_CHARS) + 1.0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "image/png" in data:
            lines += _png_height(output)
        elif output.get("output_type") == "stream":
            lines += _wrapped("".join(output.get("text", "")), CODE_CHARS) + 0.5
        elif output.get("output_type") == "error":
            lines += _wrapped("\n".join(output.get("traceback", [])), CODE_CHARS) + 0.5
        elif "text/plain" in data:
            lines += _wrapped(_source({"source": data["text/plain"]}), CODE_CHARS) + 0.5
    return lines


def slide_types(cells: Sequence[dict]) -> list[str]:
    """The slide type of each cell: the rules that make a notebook a deck for a 960x700 slide.

    - The title cell opens the deck (``slide``).
    - Skipped: the navigation lines (``<!-- nav -->``), the setup cell (the first code cell:
      its imports say nothing on a slide), the ``### Solutions`` cell and the
      ``run_solutions(...)`` cell (the worked answers are not shown in class).
    - A markdown cell with a level-2 heading (``## N. ...``, Pitfalls, Summary, Exercises) starts
      a new slide; the exercises and their stubs are slides too, to pose them in class.
    - Within a section, cells share a slide while they fit (:func:`cell_lines` against
      ``SLIDE_LINES``); a cell that does not fit starts a vertical subslide. A markdown cell
      goes where its first code cell fits too; after a short one (a third of a slide) that
      code cell stays with it while both fill at most ``STRETCH`` slides, so a sentence stays
      with the code it introduces; so does a short code cell (an assert) with the slide above.
      A cell too long for any slide gets a subslide of its own. The deck zooms out a slide
      that is taller than 700px (to 60% at most).

    >>> slide_types([{"cell_type": "markdown", "source": "# 00 · Title"}])
    ['slide']
    """
    types: list[str] = []
    used = 0.0
    first_code = next((k for k, c in enumerate(cells) if c.get("cell_type") == "code"), None)
    for k, cell in enumerate(cells):
        text, kind = _source(cell), cell.get("cell_type")
        if k == 0:
            types.append("slide")
            used = cell_lines(cell)
            continue
        if (
            text.startswith(NAV_MARK)
            or k == first_code
            or (kind == "markdown" and re.match(r"\s*### Solutions\b", text))
            or (kind == "code" and "run_solutions(" in text)
        ):
            types.append("skip")
            continue
        need = cell_lines(cell)
        if kind == "markdown" and re.search(r"^## ", text, re.M):
            types.append("slide")
            used = need
            continue
        ahead = cells[k + 1] if k + 1 < len(cells) else None
        together = need
        if kind == "markdown" and ahead is not None and ahead.get("cell_type") == "code":
            together += cell_lines(ahead)
        after_text = (
            cells[k - 1].get("cell_type") == "markdown" and types[-1] != "skip" and cell_lines(cells[k - 1]) <= SLIDE_LINES / 3
        )
        if kind == "code" and (after_text or need <= SHORT_CODE) and used + need <= SLIDE_LINES * STRETCH:
            types.append("-")
            used += need
        elif used + together <= SLIDE_LINES:
            types.append("-")
            used += need
        else:
            types.append("subslide")
            used = need
    return types


def marked(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with every cell's ``slideshow`` metadata set by :func:`slide_types`."""
    out = nbformat.from_dict(nb)
    for cell, kind in zip(out.cells, slide_types(out.cells)):
        cell.metadata["slideshow"] = {"slide_type": kind}
    return out


def mark(root: Path | None = None, check: bool = False) -> list[str]:
    """Write the slide marks into every notebook under ``root/notebooks`` (the repository's by
    default), or with ``check`` only list them. Returns the notebooks that were or are stale."""
    root = ROOT if root is None else root
    stale = []
    for path in notebooks(root / "notebooks"):
        nb = nbformat.read(path, as_version=4)
        new = marked(nb)
        if [c.metadata for c in new.cells] != [c.metadata for c in nb.cells]:
            stale.append(str(path.relative_to(root)))
            if not check:
                path.write_text(nbformat.writes(new) + "\n", encoding="utf-8")
    return stale


def _section_start(text: str) -> int | None:
    """Where the first level-2 heading (``## ``) of a markdown text starts, fenced code aside."""
    fenced, at = False, 0
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        elif not fenced and line.startswith("## "):
            return at
        at += len(line)
    return None


def split_sections(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    r"""A copy of ``nb`` where a markdown cell holding text above its first ``## `` heading is cut
    in two, so that the end of one section stays on that section's slides instead of opening
    the next one. The text right after the setup cell (which the deck skips) talks about that
    cell's output, so a deck leaves it out.

    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("Tail.\n\n## 2. Next", id="c")])
    >>> [c.source for c in split_sections(nb).cells]
    ['Tail.', '## 2. Next']
    """
    out = nbformat.from_dict(nb)
    setup = next((k for k, c in enumerate(out.cells) if c.cell_type == "code"), None)
    cells = []
    for k, cell in enumerate(out.cells):
        at = _section_start(cell.source) if cell.cell_type == "markdown" else None
        if at:  # text above the heading (0: the cell opens with it)
            if setup is None or k != setup + 1:
                cells.append(nbformat.v4.new_markdown_cell(cell.source[:at].rstrip(), id=f"{cell.get('id', 'cell')}-tail"[:64]))
            cell.source = cell.source[at:]
        cells.append(cell)
    out.cells = cells
    return out


def _code_blocks(source: str) -> list[str]:
    """A cell's code cut where a top-level statement starts after a blank line (a ``def``, a
    loop, an assignment), never inside one; one block when it does not parse (a magic)."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return [source]
    lines = source.split("\n")
    starts = [min([s.lineno] + [d.lineno for d in getattr(s, "decorator_list", [])]) - 1 for s in body]
    cuts = [k for k in starts if k > 0 and not lines[k - 1].strip()]
    edges = [0, *cuts, len(lines)]
    return ["\n".join(lines[a:b]) for a, b in zip(edges, edges[1:]) if "\n".join(lines[a:b]).strip()]


def split_long_code(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` where a code cell taller than a slide (:func:`cell_lines` over
    ``SLIDE_LINES``) is cut at its top-level statements (:func:`_code_blocks`) into cells that
    each fit, its outputs under the last one, or on a slide of their own (``DECK_OUTPUT_TAG``:
    the deck hides that cell's input) when they do not fit there. A deck shows the code at
    its size instead of zooming a long cell out until it cannot be read from the back."""
    out = nbformat.from_dict(nb)
    setup = next((k for k, c in enumerate(out.cells) if c.cell_type == "code"), None)
    cells = []
    for k, cell in enumerate(out.cells):
        if cell.cell_type != "code" or k == setup or cell_lines(cell) <= SLIDE_LINES:  # the deck skips the setup cell
            cells.append(cell)
            continue
        chunks: list[str] = []
        for block in _code_blocks(cell.source):
            joined = f"{chunks[-1]}\n{block}" if chunks else block
            if chunks and _wrapped(joined.strip("\n"), CODE_CHARS) + 1 <= SLIDE_LINES:
                chunks[-1] = joined
            else:
                chunks.append(block)
        chunks = [c.strip("\n") for c in chunks]
        if len(chunks) == 1 and cell_lines(cell) - _wrapped(chunks[0], CODE_CHARS) - 1 <= SLIDE_LINES / 3:
            cells.append(cell)  # one statement with short outputs: nothing to cut
            continue
        outputs = cell.outputs
        base = cell.get("id", "cell")
        for n, chunk in enumerate(chunks):
            part = nbformat.v4.new_code_cell(chunk, id=f"{base}-{n}"[:64] if n else base)
            part.metadata = dict(cell.metadata)
            cells.append(part)
        last = cells[-1]
        last.outputs = outputs
        if cell_lines(last) > SLIDE_LINES * STRETCH and outputs:
            last.outputs = []
            shown = nbformat.v4.new_code_cell("", id=f"{base}-outputs"[:64])
            shown.metadata = {"tags": [DECK_OUTPUT_TAG]}
            shown.outputs = outputs
            cells.append(shown)
    out.cells = cells
    return out


def _section_notes(cells: list, plan: Plan) -> list:
    """``cells`` with a speaker-notes cell after each cell whose ``## `` headings the plan names:
    what of them to show and what to skip, so the deck follows the notebook's In class line
    (the right arrow jumps over a section's slides to the next section)."""
    taught = {p.key for p in plan.taught}
    skipped = {p.key: p for p in plan.skipped}
    out = []
    for cell in cells:
        out.append(cell)
        if cell.cell_type != "markdown":
            continue
        said, skips = [], 0
        for key, _ in heading_parts(cell.source):
            what = f"section {key}" if key.isdigit() else f"the {key}"
            if key in taught:
                said.append(f"show {what}")
            elif key in skipped:
                skips += 1
                said.append(f"skip {what}" + (f" ({skipped[key].note})" if skipped[key].note else ""))
        if not said:
            continue
        text = f"**In class** ({plan.minutes} minutes for this notebook): " + "; ".join(said) + "."
        if skips == len(said):
            text += " The right arrow passes over its slides."
        notes = nbformat.v4.new_markdown_cell(text, id=f"{cell.get('id', 'cell')}-notes"[:64])
        notes.metadata["slideshow"] = {"slide_type": "notes"}
        out.append(notes)
    return out


def deck_notebook(nb: nbformat.NotebookNode, plan: Plan | None = None) -> nbformat.NotebookNode:
    """The notebook as a deck shows it: its sections cut apart (:func:`split_sections`), its
    long code cells too (:func:`split_long_code`), marked, with the title cell's ``**In class**`` paragraph moved into a speaker-notes cell
    right after the title (press S in the deck), and with ``plan`` (the notebook's
    :func:`helpers.nav.read_plan`) a note on each section it shows or skips."""
    out = marked(split_long_code(split_sections(nb)))
    if plan is not None and plan.minutes:
        out.cells = _section_notes(out.cells, plan)
    title = out.cells[0] if out.cells else None
    found = IN_CLASS_RE.search(title.source) if title is not None and title.cell_type == "markdown" else None
    if found:
        title.source = re.sub(r"\n{3,}", "\n\n", title.source.replace(found.group(0), "")).strip()
        notes = nbformat.v4.new_markdown_cell(found.group(0).strip(), id=f"{title.get('id', 'title')}-notes"[:64])
        notes.metadata["slideshow"] = {"slide_type": "notes"}
        out.cells.insert(1, notes)
    return out


def _package_folder(module: str, sub: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the package {module!r} is not installed: run `make venv` (pip install -r requirements.txt)")
    folder = Path(next(iter(spec.submodule_search_locations))) / sub
    if not folder.is_dir():
        raise RuntimeError(f"{folder} is missing: reinstall {module!r} (pip install --force-reinstall -r requirements.txt)")
    return folder


def _skipped_files(folder: str, names: list[str]) -> set[str]:
    """What :func:`copy_assets` leaves out: source maps, ES modules, caches, and every reveal.js
    theme but the one the decks use (``dist/theme/*.css``)."""
    skip = set(shutil.ignore_patterns("*.map", "*.esm.js", "__pycache__")(folder, names))
    if Path(folder).parts[-2:] == ("dist", "theme"):
        skip |= {n for n in names if n.endswith(".css") and n != f"{REVEAL_THEME}.css"}
    return skip


def copy_assets(out: Path) -> None:
    """Copy reveal.js 5 (its ``REVEAL_THEME`` theme) and MathJax 3 (CHTML, its fonts and TeX
    extensions) into ``out``."""
    reveal = _package_folder("sphinx_revealjs", "_static/revealjs")
    mathjax = _package_folder("sphinx-mathjax-offline", "static/mathjax")
    for folder, target, names in ((reveal, REVEAL_DIR, REVEAL_FILES), (mathjax, MATHJAX_DIR, MATHJAX_FILES)):
        for name in names:
            src, dst = folder / name, out / target / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            if src.is_dir():
                shutil.copytree(src, dst, ignore=_skipped_files)
            else:
                shutil.copy2(src, dst)


def _exporter():
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    exporter = SlidesExporter(
        extra_template_basedirs=[str(TEMPLATES)],
        template_name=TEMPLATE,
        reveal_url_prefix=REVEAL_DIR,
        reveal_theme=REVEAL_THEME,
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width="960",
        reveal_height="700",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
        config=Config({"TagRemovePreprocessor": {"remove_input_tags": {DECK_OUTPUT_TAG}}}),
    )
    return exporter


class _Warnings(logging.Handler):
    """Collects what nbconvert logs at WARNING or above (e.g. images without alternative text)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _link_decks(body: str, names: set[str], out: Path) -> str:
    """Links as a deck needs them: ``NN_topic.ipynb#anchor`` opens that notebook's deck, and a
    link to anything that is not in ``out`` (a folder next to the notebooks, another site)
    becomes its plain text, so that every link in a deck works offline."""

    def swap(match: re.Match) -> str:
        href, text = html.unescape(match.group(1)), match.group(2)
        parts = urlsplit(href)
        if not parts.scheme and not parts.netloc and not parts.path:
            return match.group(0)  # an anchor in the deck
        stem = parts.path[: -len(".ipynb")] if parts.path.endswith(".ipynb") else None
        if not parts.scheme and not parts.netloc and stem in names:
            return match.group(0).replace(match.group(1), f"{stem}.slides.html", 1)
        target = (out / unquote(parts.path)).resolve()  # "../x" or "/x" would work on this disk only
        if not parts.scheme and not parts.netloc and target.is_relative_to(out.resolve()) and target.is_file():
            return match.group(0)
        return f'<span class="offline-link">{text}</span>'

    return re.sub(r'<a\b[^>]*?\bhref="([^"]*)"[^>]*>(.*?)</a>', swap, body, flags=re.S)


def _inline(text: str) -> str:
    """Markdown's inline code and bold as HTML, everything else escaped."""
    text = html.escape(text, quote=False)
    text = re.sub(r"`([^`]+)`", r"<code>\1</code>", text)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", text)


def _index(decks: list[tuple[str, str, str, str]]) -> str:
    """The contents page: (deck file, title, question, "In class" line) per deck."""
    rows = "\n".join(
        f'<li><a href="{html.escape(name)}">{html.escape(title)}</a><br>{_inline(question)}'
        + (f'<br><span class="plan">{_inline(plan)}</span>' if plan else "")
        + "</li>"
        for name, title, question, plan in decks
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Slides: learn PyTorch's optimizer API by running it</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5; }}
ul {{ list-style: none; padding: 0; }} li {{ margin: 0 0 1.1rem; }} a {{ font-weight: 600; }}
.plan {{ color: #444; font-size: 0.92em; }} code {{ font-size: 0.92em; background: #f2f2f2; padding: 0 0.2em; }}
</style>
</head>
<body>
<h1>Slides: learn PyTorch's optimizer API by running it</h1>
<p>One deck per notebook. Arrow keys move: right to the next section, down through a section's slides;
Esc shows the overview, S opens the speaker notes (the notebook's plan for a class). Nothing is
loaded from the network.</p>
<ul>
{rows}
</ul>
</body>
</html>
"""


def build(out: Path, root: Path | None = None) -> list[Path]:
    """Write a deck per notebook of ``root/notebooks`` (the repository's by default), an
    ``index.html`` and the files they load into ``out`` (a new or empty folder, or an earlier
    build, which is replaced). Returns the decks.

    The decks follow :func:`slide_types` whatever marks the files hold. Warnings nbconvert
    logs (an image without alternative text) are printed with the notebook's name.
    """
    root = ROOT if root is None else root
    paths = notebooks(root / "notebooks")
    if not paths:
        raise ValueError(f"no notebooks named NN_topic.ipynb in {root / 'notebooks'}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} is a file, not a folder: give a new or empty folder (e.g. build/slides)")
    if out.is_dir() and any(out.iterdir()):
        if not ((out / "index.html").is_file() and (out / REVEAL_DIR).is_dir()):
            raise ValueError(f"{out} holds files that are not slides: give a new or empty folder (e.g. build/slides)")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out)
    exporter = _exporter()
    warnings = _Warnings()
    exporter.log.addHandler(warnings)
    decks, listed = [], []
    stems = {p.stem for p in paths}
    try:
        for path in paths:
            entry = read_entry(path)
            source = nbformat.read(path, as_version=4)
            lesson = None  # the In class line, read and checked, for the section slides' notes
            if source.cells and "**In class**" in source.cells[0].source:
                try:
                    lesson = read_plan(path)
                except ValueError as exc:
                    print(f"{path.name}: the section slides get no In class notes: {exc}", file=sys.stderr)
            nb = deck_notebook(source, lesson)
            nb.metadata["title"] = f"{entry.number} · {entry.title}"
            before = len(warnings.messages)
            body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem, "path": str(path.parent)}})
            for message in warnings.messages[before:]:
                print(f"{path.name}: {message}", file=sys.stderr)
            target = out / f"{path.stem}.slides.html"
            target.write_text(_link_decks(body, stems, out), encoding="utf-8")
            decks.append(target)
            plan = IN_CLASS_RE.search(nb.cells[1].source) if len(nb.cells) > 1 and nb.cells[1].source.startswith("**In class**") else None
            listed.append((target.name, f"{entry.number} · {entry.title}", entry.question, plan.group(0) if plan else ""))
    finally:
        exporter.log.removeHandler(warnings)
    (out / "index.html").write_text(_index(listed), encoding="utf-8")
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    marking = commands.add_parser("mark", help="write the slide marks into the notebooks")
    marking.add_argument("--check", action="store_true", help="change nothing; exit 1 if a notebook is stale")
    building = commands.add_parser("build", help="write the decks and an index.html")
    building.add_argument("folder", nargs="?", type=Path, default=ROOT / "build" / "slides")
    args = parser.parse_args(argv)
    if args.command == "mark":
        stale = mark(check=args.check)
        if args.check and stale:
            print("stale slide marks in: " + ", ".join(stale) + "\nrun `python -m helpers.slides mark`")
            return 1
        print(("marked: " + ", ".join(stale)) if stale else "slide marks are current")
        return 0
    start = time.perf_counter()
    try:
        decks = build(args.folder)
    except (ValueError, RuntimeError) as error:  # a wrong folder, a package missing: say which, no traceback
        print(f"make slides: {error}", file=sys.stderr)
        return 1
    print(f"wrote {len(decks)} decks and index.html to {args.folder} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
