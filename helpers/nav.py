"""One source of truth for navigation: ``python -m helpers.nav`` (or ``make nav``).

Writes, from the notebooks' own titles:
- the navigation line of every notebook (each markdown cell that starts with ``<!-- nav -->``),
- the collection map in 00 (the markdown cell that starts with ``<!-- map -->``),
- the notebook table in README.md (between ``<!-- notebooks:start -->`` and ``<!-- notebooks:end -->``),
- the teacher's path in README.md (between ``<!-- teachers:start -->`` and ``<!-- teachers:end -->``), from each
  notebook's ``**Time** N minutes.`` and ``**In class** ...`` lines (``teachers_markdown`` gives the same as a page).
``python -m helpers.nav --check`` changes nothing and exits 1 listing what is stale.

The ``**In class**`` line follows the Time line in each notebook's first cell, in one of two forms::

    **In class** 12 minutes: sections 1, 2 and 4. Skip 3, 5, the pitfalls and the exercises (homework).
    **In class** skipped: needs notebooks 05 and 06; assign it after class.

Sections are named by the numbers of their ``## N. Title`` headings, the other parts by name (the pitfalls,
the summary, the exercises); a note in brackets may follow any of them. Every numbered section is either taught
or skipped, and the taught minutes of all notebooks add up to ``CLASS_MINUTES``.
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
TEACHERS_START = "<!-- teachers:start -->"
TEACHERS_END = "<!-- teachers:end -->"
CLASS_MINUTES = 90
TIME_RE = re.compile(r"^\*\*Time\*\*\s+(\d+) minutes?\.?\s*$")
IN_CLASS_PREFIX = "**In class**"
TAUGHT_RE = re.compile(r"^(\d+) minutes?: (sections? .+?)\.(?:\s+Skip (.+)\.)?\s*$")
SKIPPED_RE = re.compile(r"^skipped: (\S.*?)\s*$")
PART_NAMES = ("pitfalls", "summary", "exercises")
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


# --- the teacher's path --------------------------------------------------------------------


def heading_text(markdown: str) -> str:
    """A heading's text as JupyterLab renders it: code spans without backticks, links as their text, no emphasis.

    ``heading_text("2. What `zero_grad()` leaves behind")`` -> ``"2. What zero_grad() leaves behind"``.
    """
    parts = re.split(r"(`+)(.+?)\1", markdown)  # [text, ticks, code, text, ticks, code, text, ...]
    out = []
    for k, part in enumerate(parts):
        if k % 3 == 2:
            out.append(part)  # code: kept as written
        elif k % 3 == 0:
            part = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", part)  # [text](url) -> text
            out.append(re.sub(r"(\*\*|__|\*)", "", part))
    return "".join(out).strip()


def heading_anchor(markdown: str) -> str:
    """JupyterLab's anchor of a heading: its rendered text with spaces turned into '-' (as the Contents link).

    ``heading_anchor("5. Map of the collection")`` -> ``"5.-Map-of-the-collection"``.
    """
    return heading_text(markdown).replace(" ", "-")


@dataclass(frozen=True)
class Part:
    """One part of a notebook a teacher can show or skip: a numbered section, the pitfalls, the summary, the exercises."""

    key: str  # "3" for section 3, else "pitfalls", "summary" or "exercises"
    heading: str  # the heading as written, without the '## '
    note: str = ""  # e.g. "homework", from "the exercises (homework)"

    @property
    def anchor(self) -> str:
        return heading_anchor(self.heading)


@dataclass(frozen=True)
class Plan:
    """What the first cell of one notebook says about time: self-study minutes, and what a class shows of it."""

    entry: Entry
    time: int  # minutes for self-study, from the Time line
    minutes: int  # minutes in class; 0 when the class skips the notebook
    taught: tuple[Part, ...]  # in the order the line names them
    skipped: tuple[Part, ...]
    reason: str  # why the class skips the notebook ("" when it is taught)


def notebook_parts(path: Path) -> dict[str, str]:
    """The notebook's ``## N. Title`` sections and its ``## Pitfalls``/``## Summary``/``## Exercises``: key -> heading."""
    nb = nbformat.read(path, as_version=4)
    parts: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for heading in re.findall(r"^##\s+(.+?)\s*$", _source(cell), re.M):
            numbered = re.match(r"(\d+)\.\s", heading)
            if numbered:
                parts.setdefault(numbered.group(1), heading)
            elif heading.lower() in PART_NAMES:
                parts.setdefault(heading.lower(), heading)
    return parts


def _parts(name: str, text: str, parts: dict[str, str], what: str) -> list[Part]:
    """The items of '1, 2 and 4' or '3, the pitfalls and the exercises (homework)', checked against the notebook."""
    found = []
    for item in re.split(r"\s*,\s*(?:and\s+)?|\s+and\s+", text.strip()):
        note = re.search(r"\s*\(([^()]*)\)$", item)
        core = item[: note.start()] if note else item
        key = core.strip().lower().removeprefix("the ").strip()
        if not (key.isdigit() or key in PART_NAMES):
            raise ValueError(
                f"{name}: cannot read {item!r} in the In class line's {what}: "
                "name sections by number (1, 2 and 4) and the other parts as 'the pitfalls', 'the summary', 'the exercises'"
            )
        key = str(int(key)) if key.isdigit() else key
        if key not in parts:
            label = f"section {key}" if key.isdigit() else f"'## {key.capitalize()}'"
            have = ", ".join(k for k in parts if k.isdigit())
            raise ValueError(f"{name}: the In class line names {label}, which the notebook does not have (its sections: {have})")
        found.append(Part(key, parts[key], note.group(1) if note else ""))
    return found


def read_plan(path: Path) -> Plan:
    """The Time and In class lines of one notebook's first cell, checked against its sections.

    Raises ``ValueError`` naming the notebook when a line is missing or malformed, a section does not exist, a
    section is neither taught nor skipped, or the class takes longer than the Time line.
    """
    name = path.name
    entry = read_entry(path)
    lines = [ln.strip() for ln in _source(nbformat.read(path, as_version=4).cells[0]).splitlines() if ln.strip()]
    at = next((k for k, ln in enumerate(lines) if ln.startswith("**Time**")), None)
    if at is None:
        raise ValueError(f"{name}: the first cell has no '**Time** N minutes.' line")
    time = TIME_RE.match(lines[at])
    if not time:
        raise ValueError(f"{name}: the Time line must read '**Time** N minutes.', got {lines[at]!r}")
    line = lines[at + 1] if at + 1 < len(lines) else ""
    if not line.startswith(IN_CLASS_PREFIX):
        raise ValueError(
            f"{name}: the line after the Time line must be the teacher's '**In class** N minutes: sections 1, 2 and 4. "
            "Skip 3, the pitfalls and the exercises.' (or '**In class** skipped: why.'), got "
            f"{line!r}"
        )
    rest = line.removeprefix(IN_CLASS_PREFIX).strip()
    minutes = int(time.group(1))
    skipped = SKIPPED_RE.match(rest)
    if skipped:
        return Plan(entry, minutes, 0, (), (), skipped.group(1).rstrip("."))
    taught = TAUGHT_RE.match(rest)
    if not taught:
        raise ValueError(
            f"{name}: cannot read the In class line {line!r}: write '**In class** N minutes: sections 1, 2 and 4. "
            "Skip 3, the pitfalls and the exercises.' or '**In class** skipped: why.'"
        )
    parts = notebook_parts(path)
    shown = _parts(name, re.sub(r"^sections?\s+", "", taught.group(2)), parts, "sections")
    left = _parts(name, taught.group(3), parts, "Skip list") if taught.group(3) else []
    keys = [p.key for p in shown + left]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise ValueError(f"{name}: the In class line names {', '.join(twice)} more than once (taught and skipped?)")
    unsaid = [k for k in parts if k.isdigit() and k not in keys]
    if unsaid:
        raise ValueError(f"{name}: the In class line neither teaches nor skips section(s) {', '.join(unsaid)}: add them to one list")
    in_class = int(taught.group(1))
    if not 0 < in_class <= minutes:
        raise ValueError(f"{name}: {in_class} minutes in class, but the notebook's Time line gives {minutes}: the class cannot take longer")
    return Plan(entry, minutes, in_class, tuple(shown), tuple(left), "")


def teacher_plans(root: Path | None = None) -> list[Plan]:
    """Every notebook's plan, in order (see ``read_plan``)."""
    root = ROOT if root is None else root
    return [read_plan(p) for p in notebooks(root / "notebooks")]


def _short(entry: Entry) -> str:
    return f"{entry.number} · {entry.title.split(':')[0]}"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _skip_text(parts: tuple[Part, ...]) -> str:
    """'sections 3, 5 (the map), the pitfalls and the exercises (homework)' for the table's Skip column."""
    items = [(p.key if p.key.isdigit() else f"the {p.key}") + (f" ({p.note})" if p.note else "") for p in parts]
    if not items:
        return "nothing"
    numbers = sum(p.key.isdigit() for p in parts)
    return ("sections " if numbers > 1 else "section " if numbers else "") + _listing(items)


def _teachers_body(plans: list[Plan], prefix: str, level: int) -> str:
    h = "#" * level
    taught = [p for p in plans if p.minutes]
    total = sum(p.minutes for p in taught)
    if total != CLASS_MINUTES:
        each = ", ".join(f"{p.entry.number}: {p.minutes}" for p in taught)
        raise ValueError(
            f"the In class lines add up to {total} minutes, not {CLASS_MINUTES} ({each}): "
            "change the minutes in the notebooks' In class lines"
        )
    out = [
        f"{h} A {CLASS_MINUTES}-minute class",
        "",
        "A walkthrough on a projector: open each notebook, run its cells from the top (the setup cell first), talk "
        "through the sections under *Show* and pass over the rest, which students read at home. The minutes come "
        "from the **In class** line under each notebook's title; `python -m helpers.nav` adds them up and refuses a "
        f"plan that does not come to {CLASS_MINUTES}.",
        "",
        "| # | Notebook | Show | Minutes | Running total | Skip |",
        "|---|---|---|---|---|---|",
    ]
    running = 0
    for k, p in enumerate(taught, 1):
        running += p.minutes
        link = f"{prefix}{p.entry.path.name}"
        shown = " · ".join(f"[{part.heading}]({link}#{part.anchor})" for part in p.taught)  # headings hold commas
        out.append(f"| {k} | [{_short(p.entry)}]({link}) | {shown} | {p.minutes} | {running} | {_skip_text(p.skipped)} |")
    out += ["", f"**Total: {total} minutes**, {len(taught)} notebooks."]
    left = [p for p in plans if not p.minutes]
    if left:
        out += ["", "Left out of the class, for after it:", ""]
        out += [f"- [{_short(p.entry)}]({prefix}{p.entry.path.name}): {p.reason}." for p in left]
    study = sum(p.time for p in plans)
    out += [
        "",
        f"{h} The full self-study path",
        "",
        "Every notebook in order, with every section, the pitfalls and the exercises, at the pace of its **Time** line:",
        "",
        "| Notebook | Minutes | Running total |",
        "|---|---|---|",
    ]
    running = 0
    for p in plans:
        running += p.time
        out.append(f"| [{_short(p.entry)}]({prefix}{p.entry.path.name}) | {p.time} | {running} |")
    out += [
        "",
        f"**Total: {study} minutes** ({study // 60} h {study % 60:02d} min).",
        "",
        f"{h} Slides and the student edition",
        "",
        "- **Slides**: `make slides` builds one deck per notebook into `build/slides/`, which works offline; the "
        'arrow keys move between slides and "s" opens the speaker notes.',
        "- **Student edition**: `make student` writes `build/student/`, the notebooks without their worked "
        "solutions, exercise cells ready to fill: hand these to the class.",
    ]
    return "\n".join(out)


def teachers_markdown(root: Path | None = None, prefix: str = "") -> str:
    """The "For teachers" page: the 90-minute class, the full self-study path, slides and the student edition.

    ``prefix`` goes before every notebook file name (the README uses ``"notebooks/"``, a page next to the notebooks
    ``""``); section links use JupyterLab's anchors (``01_param_groups.ipynb#2.-Several-groups:-one-dict-each``).
    Raises ``ValueError`` when a notebook's Time or In class line is wrong or the class does not add up to 90 minutes.
    Example: ``Path("teachers.md").write_text(teachers_markdown())``.
    """
    return "# For teachers\n\n" + _teachers_body(teacher_plans(root), prefix, level=2) + "\n"


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


def _replace_between(text: str, start: str, end: str, body: str, where: str) -> str:
    if start not in text or end not in text:
        raise ValueError(f"README.md: add the markers {start} and {end} where {where} goes")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    return f"{head}{start}\n{body}\n{end}{tail}"


def _updated_readme(readme: Path, entries: list[Entry], plans: list[Plan]) -> str | None:
    text = readme.read_text(encoding="utf-8")
    new = _replace_between(text, README_START, README_END, table(entries, prefix="notebooks/"), "the notebook table")
    teachers = _teachers_body(plans, prefix="notebooks/", level=3)
    new = _replace_between(new, TEACHERS_START, TEACHERS_END, teachers, "the teacher's path (under '## For teachers')")
    return new if new != text else None


def sync(root: Path | None = None, check: bool = False) -> list[str]:
    """Bring navigation, the map, the README table and teacher's path up to date (with check, list what is stale).

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
    readme = root / "README.md"
    new_readme = _updated_readme(readme, entries, [read_plan(e.path) for e in entries])  # checks before any write
    for i, e in enumerate(entries):
        new = _updated_notebook(e.path, entries, i, anchor)
        if new is not None:
            stale.append(str(e.path.relative_to(root)))
            if not check:
                e.path.write_text(new, encoding="utf-8")
    if new_readme is not None:
        stale.append("README.md")
        if not check:
            readme.write_text(new_readme, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if anything is stale")
    args = parser.parse_args(argv)
    try:
        stale = sync(check=args.check)
    except ValueError as error:  # a notebook or README.md the generator cannot read: say which and what to fix
        print(f"helpers.nav: {error}", file=sys.stderr)
        return 1
    if args.check and stale:
        print("stale navigation in: " + ", ".join(stale) + "\nrun `make nav` (python -m helpers.nav)")
        return 1
    print(("updated: " + ", ".join(stale)) if stale else "navigation is current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
