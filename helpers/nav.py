"""One source of truth for navigation: ``python -m helpers.nav`` (or ``make nav``).

Writes, from the notebooks' own titles:
- the navigation line of every notebook (each markdown cell that starts with ``<!-- nav -->``),
- the collection map in 00 (the markdown cell that starts with ``<!-- map -->``),
- the notebook table in README.md (between ``<!-- notebooks:start -->`` and ``<!-- notebooks:end -->``).
``python -m helpers.nav --check`` changes nothing and exits 1 listing what is stale.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

NAV_MARK = "<!-- nav -->"
MAP_MARK = "<!-- map -->"
README_START = "<!-- notebooks:start -->"
README_END = "<!-- notebooks:end -->"
NAME_RE = re.compile(r"^(\d\d)_[a-z0-9_]+\.ipynb$")
TITLE_RE = re.compile(r"^#\s+(\d\d)\s+·\s+(.+?)\s*$")

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Entry:
    path: Path
    number: str
    title: str
    question: str


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def read_entry(path: Path) -> Entry:
    """Title and question of one notebook, from its first cell."""
    nb = nbformat.read(path, as_version=4)
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{path.name}: the first cell must be a markdown title cell '# NN · Title'")
    lines = [ln for ln in _source(nb.cells[0]).splitlines() if ln.strip()]
    match = TITLE_RE.match(lines[0]) if lines else None
    if not match:
        raise ValueError(f"{path.name}: the first line must read '# NN · Title', got {lines[:1]}")
    question = lines[1].strip() if len(lines) > 1 else ""
    return Entry(path, match.group(1), match.group(2), question)


def notebooks(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.ipynb") if NAME_RE.match(p.name))


def contents_anchor(first: Path) -> str:
    """JupyterLab's anchor of the heading above the map in the first notebook (spaces become '-').

    The Contents link points there: JupyterLab (root ``notebooks/``) cannot open ``../README.md``.
    """
    nb = nbformat.read(first, as_version=4)
    for k, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and _source(cell).startswith(MAP_MARK):
            above = _source(nb.cells[k - 1]) if k else ""
            headings = re.findall(r"^#{1,6}\s+(.+?)\s*$", above, re.M)
            if headings:
                return headings[-1].replace(" ", "-")
    raise ValueError(f"{first.name}: put a heading (e.g. '## 5. Map of the collection') in the cell above the {MAP_MARK} cell")


def nav_line(entries: list[Entry], i: int, anchor: str = "") -> str:
    parts = []
    if i > 0:
        prev = entries[i - 1]
        parts.append(f"[← {prev.number} · {prev.title}]({prev.path.name})")
    target = f"#{anchor}" if i == 0 else f"{entries[0].path.name}#{anchor}"
    parts.append(f"[Contents]({target})")
    if i + 1 < len(entries):
        nxt = entries[i + 1]
        parts.append(f"[{nxt.number} · {nxt.title} →]({nxt.path.name})")
    return f"{NAV_MARK}\n" + " · ".join(parts)


def table(entries: list[Entry], prefix: str) -> str:
    rows = ["| # | Notebook | The question it answers |", "|---|---|---|"]
    for e in entries:
        rows.append(f"| {e.number} | [{e.title}]({prefix}{e.path.name}) | {e.question} |")
    return "\n".join(rows)


def _updated_notebook(path: Path, entries: list[Entry], i: int, anchor: str) -> str | None:
    """The notebook's new JSON text, or None when it is already current."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        src = _source(cell)
        if src.startswith(NAV_MARK):
            new = nav_line(entries, i, anchor)
        elif src.startswith(MAP_MARK):
            new = f"{MAP_MARK}\n" + table(entries, prefix="")
        else:
            continue
        if src != new:
            cell.source = new
            changed = True
    return nbformat.writes(nb) + "\n" if changed else None


def _updated_readme(readme: Path, entries: list[Entry]) -> str | None:
    text = readme.read_text(encoding="utf-8")
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme}: add the markers {README_START} and {README_END} where the table goes")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{table(entries, prefix='notebooks/')}\n{README_END}{tail}"
    return new if new != text else None


def sync(root: Path | None = None, check: bool = False) -> list[str]:
    """Bring navigation, the map and the README table up to date (or, with check, list what is stale).

    Returns the paths (relative to ``root``, the repository by default) that were or are stale.
    """
    root = ROOT if root is None else root
    folder = root / "notebooks"
    entries = [read_entry(p) for p in notebooks(folder)]
    numbers = [e.number for e in entries]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"two notebooks share a number: {numbers}")
    stale: list[str] = []
    anchor = contents_anchor(entries[0].path)
    for i, e in enumerate(entries):
        new = _updated_notebook(e.path, entries, i, anchor)
        if new is not None:
            stale.append(str(e.path.relative_to(root)))
            if not check:
                e.path.write_text(new, encoding="utf-8")
    readme = root / "README.md"
    new_readme = _updated_readme(readme, entries)
    if new_readme is not None:
        stale.append("README.md")
        if not check:
            readme.write_text(new_readme, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is stale")
    args = parser.parse_args(argv)
    stale = sync(check=args.check)
    if args.check and stale:
        print("stale navigation in: " + ", ".join(stale) + "\nrun `make nav` (python -m helpers.nav)")
        return 1
    print(("updated: " + ", ".join(stale)) if stale else "navigation is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
