"""The Chinese edition, generated from the English notebooks: ``python -m helpers.translate`` (``make translations``).

The English notebooks ``notebooks/NN_topic.ipynb`` are the source. Each has a catalog
``notebooks/zh/catalog/NN_topic.json`` that holds, per markdown cell id, the English text it translates,
that text's fingerprint and the Chinese::

    {"ef1bcbfb": {"fingerprint": "<sha256 of en, 16 hex digits>", "en": "<English>", "zh": "<中文>"}}

``python -m helpers.translate`` writes ``notebooks/zh/NN_topic.ipynb`` for every English notebook: the cells in
the English order with the same ids and metadata; markdown from the catalog (links into ``solutions/`` and
``distributed`` one folder up), navigation lines and the map made by ``helpers.nav`` with Chinese labels; code
cells identical but for ``setup_notebook(..., lang="zh")``, keeping the stored outputs of a code cell whose id and
source are unchanged (the others are left empty for ``python -m helpers.execute --unexecuted notebooks/zh``).
A cell without a translation falls back to its English text, and ``--check`` fails on it.

``python -m helpers.translate --check`` writes nothing and exits 1 listing every problem: cells without a
translation, stale translations (with the English diff), Chinese notebooks that differ from what the generator
makes (outputs aside), code cells that differ from the English beyond the setup call, orphan catalog entries,
glossary terms not used, Time and In class lines with other numbers than the English.

``python -m helpers.translate todo [NN]`` prints what a translator has to do, and adds an entry with an empty
``"zh"`` for each cell that has none (it never overwrites a translation).
"""

from __future__ import annotations

import argparse
import copy
import difflib
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import nav

LANG = "zh"
GLOSSARY = "glossary.json"
_SETUP_RE = re.compile(r"\bsetup_notebook\(([^()]*)\)")
_RELINK_RE = re.compile(r"\]\((solutions/|distributed)")
_CODE_SPAN_RE = re.compile(r"(`+).+?\1", re.S)
_LINK_TARGET_RE = re.compile(r"\]\([^)]*\)")
_COMMENT_RE = re.compile(r"<!--.*?-->", re.S)


def fingerprint(text: str) -> str:
    """The fingerprint of an English markdown source: its SHA-256, first 16 hex digits.

    Example: ``fingerprint("## Summary")`` -> ``"30ac03ff33731529"``.
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def is_generated(cell: dict) -> bool:
    """True for a navigation line or the map: ``helpers.nav`` writes them in each language, no catalog entry."""
    return cell.get("cell_type") == "markdown" and _source(cell).startswith((nav.NAV_MARK, nav.MAP_MARK))


def translatable(cell: dict) -> bool:
    """True for a markdown cell that needs a catalog entry (every one but the generated ones)."""
    return cell.get("cell_type") == "markdown" and not is_generated(cell)


def localize_code(source: str) -> str:
    """The Chinese edition's code: the setup call gets ``lang="zh"``, everything else is the English code.

    Example: ``localize_code("device = setup_notebook(seed=0)")`` -> ``'device = setup_notebook(seed=0, lang="zh")'``.
    """

    def add_lang(match: re.Match[str]) -> str:
        args = match.group(1).strip()
        if re.search(r"\blang\s*=", args):
            raise ValueError(f"the English setup call already names a language: {match.group(0)!r}")
        return f'setup_notebook({args + ", " if args else ""}lang="{LANG}")'

    return _SETUP_RE.sub(add_lang, source)


def relink(markdown: str) -> str:
    """Links into ``solutions/`` and ``distributed`` point one folder up, as ``notebooks/zh`` is one folder down.

    Example: ``relink("[答案](solutions/01_param_groups.py)")`` -> ``"[答案](../solutions/01_param_groups.py)"``.
    """
    return _RELINK_RE.sub(r"](../\1", markdown)


# --- catalogs ----------------------------------------------------------------------------------


def catalog_folder(root: Path) -> Path:
    """``notebooks/zh/catalog`` under ``root``. Example: ``catalog_folder(ROOT) / "glossary.json"``."""
    return root / "notebooks" / LANG / "catalog"


def catalog_path(root: Path, english: Path) -> Path:
    """Where the catalog of an English notebook lives: ``notebooks/zh/catalog/NN_topic.json``.

    Example: ``catalog_path(ROOT, ROOT / "notebooks/01_param_groups.ipynb").name`` -> ``"01_param_groups.json"``.
    """
    return catalog_folder(root) / f"{english.stem}.json"


def load_catalog(path: Path) -> dict[str, dict[str, str]]:
    """The catalog at ``path`` (empty when there is none yet); ``ValueError`` naming the file and entry if malformed.

    Example: ``load_catalog(Path("notebooks/zh/catalog/01_param_groups.json"))["ef1bcbfb"]["zh"]``.
    """
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path.name}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path.name}: must hold one JSON object keyed by cell id, got {type(data).__name__}")
    for key, entry in data.items():
        if not (isinstance(entry, dict) and set(entry) == {"fingerprint", "en", "zh"} and all(isinstance(v, str) for v in entry.values())):
            raise ValueError(f'{path.name}: entry {key!r} must be {{"fingerprint": str, "en": str, "zh": str}}, got {entry!r:.120}')
    return data


def dump_catalog(catalog: dict[str, dict[str, str]]) -> str:
    """A catalog's text as stored: ``indent=1`` JSON, Chinese unescaped, keys in the given order.

    Example: ``path.write_text(dump_catalog({"ef1bcbfb": {"fingerprint": "...", "en": "# 01 · ...", "zh": "# 01 · ..."}}))``.
    """
    return json.dumps(catalog, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def load_glossary(root: Path) -> dict[str, dict[str, str]]:
    """``notebooks/zh/catalog/glossary.json``: ``{"terms": {English: 中文}, "headings": {English: 中文}}``."""
    path = catalog_folder(root) / GLOSSARY
    data = json.loads(path.read_text(encoding="utf-8"))
    return {"terms": dict(data.get("terms", {})), "headings": dict(data.get("headings", {}))}


def _term_re(term: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![A-Za-z0-9_]){re.escape(term)}(?:s|es)?(?![A-Za-z0-9_])", re.I)


def prose(markdown: str) -> str:
    """The words of a markdown text that a glossary term may be in: code spans, link targets and comments left out."""
    return _LINK_TARGET_RE.sub("]", _CODE_SPAN_RE.sub(" ", _COMMENT_RE.sub(" ", markdown)))


def missing_terms(english: str, chinese: str, terms: dict[str, str]) -> list[str]:
    """The glossary terms of ``english`` (whole words, plurals too, outside code) whose Chinese ``chinese`` lacks.

    Example: ``missing_terms("Each parameter group", "每组", {"parameter group": "参数组"})`` -> ``["parameter group"]``.
    """
    text = prose(english)
    return [term for term, zh in terms.items() if _term_re(term).search(text) and zh not in chinese]


# --- the generator -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Generated:
    """One Chinese notebook as the generator makes it, with the cells that fell back to English."""

    english: Path
    path: Path
    notebook: nbformat.NotebookNode
    untranslated: tuple[str, ...]  # cell ids


def english_notebooks(root: Path) -> list[Path]:
    """The source notebooks ``notebooks/NN_topic.ipynb`` under ``root``, in order."""
    return nav.notebooks(root / "notebooks")


def _translate_notebook(root: Path, english: Path) -> Generated:
    en = nbformat.read(english, as_version=4)
    catalog = load_catalog(catalog_path(root, english))
    target = root / "notebooks" / LANG / english.name
    old = {c.get("id"): c for c in nbformat.read(target, as_version=4).cells} if target.exists() else {}
    nb = copy.deepcopy(en)
    untranslated = []
    for cell in nb.cells:
        if translatable(cell):
            entry = catalog.get(cell.id)
            if entry and entry["zh"].strip():
                cell.source = relink(entry["zh"])
            else:
                cell.source = relink(_source(cell))  # the English, until it is translated
                untranslated.append(cell.id)
        elif cell.cell_type == "code":
            cell.source = localize_code(_source(cell))
            before = old.get(cell.id)
            if before is not None and before.cell_type == "code" and _source(before) == cell.source:
                cell.outputs, cell.execution_count = before.outputs, before.execution_count
            else:
                cell.outputs, cell.execution_count = [], None
    return Generated(english, target, nb, tuple(untranslated))


def generate(root: Path | None = None) -> list[Generated]:
    """Every Chinese notebook as the generator makes it (in memory), navigation and map filled in.

    Raises ``ValueError`` for a malformed catalog or a Chinese title that does not read ``# NN · 标题``.
    Example: ``[g.path.name for g in generate()]`` -> ``["00_start_here.ipynb", ...]``.
    """
    root = nav.ROOT if root is None else root
    made = [_translate_notebook(root, p) for p in english_notebooks(root)]
    if made:
        entries = [nav.entry_of(g.notebook, g.path) for g in made]
        anchor = nav.contents_anchor_of(made[0].notebook, made[0].path)
        for i, g in enumerate(made):
            nav.fill_generated(g.notebook, entries, i, anchor, nav.LABELS[LANG])
    return made


def _text(nb: nbformat.NotebookNode) -> str:
    return nbformat.writes(nb) + "\n"


def write(root: Path | None = None) -> tuple[list[str], list[str]]:
    """Write the Chinese notebooks that changed and the table of ``README.zh-CN.md``; remove Chinese notebooks
    whose English one is gone. Returns (paths written or removed, cells that fell back to English).

    Example: ``write()`` -> ``(["notebooks/zh/01_param_groups.ipynb"], [])``.
    """
    root = nav.ROOT if root is None else root
    made = generate(root)
    changed: list[str] = []
    for g in made:
        text = _text(g.notebook)
        if not g.path.exists() or g.path.read_text(encoding="utf-8") != text:
            g.path.parent.mkdir(parents=True, exist_ok=True)
            g.path.write_text(text, encoding="utf-8")
            changed.append(str(g.path.relative_to(root)))
    names = {g.path.name for g in made}
    for extra in nav.notebooks(root / "notebooks" / LANG):
        if extra.name not in names:
            extra.unlink()
            changed.append(f"{extra.relative_to(root)} (removed: no English notebook)")
    if made:
        readme, text = nav.edition_readme(root, LANG, [nav.entry_of(g.notebook, g.path) for g in made])
        if text is not None:
            readme.write_text(text, encoding="utf-8")
            changed.append(readme.name)
    fallbacks = [f"{g.english.name} cell {cell_id}" for g in made for cell_id in g.untranslated]
    return changed, fallbacks


# --- the checks --------------------------------------------------------------------------------


def _first_line(text: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if ln.strip()), "")[:80]


def english_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    """The unified diff from the English a translation was made from to the current English."""
    lines = difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=old_name, tofile=new_name, lineterm="")
    return "\n".join(lines)


def catalog_problems(root: Path, english: Path, glossary: dict[str, str] | None = None) -> list[str]:
    """Missing, stale, inconsistent and orphan entries of one English notebook's catalog, and unused glossary terms.

    Example: ``catalog_problems(ROOT, ROOT / "notebooks/01_param_groups.ipynb")`` -> ``[]`` when it is complete.
    """
    path = catalog_path(root, english)
    where = str(path.relative_to(root))
    try:
        catalog = load_catalog(path)
    except ValueError as error:
        return [f"{where}: {error}"]
    problems = []
    cells = nbformat.read(english, as_version=4).cells
    ids = set()
    for cell in cells:
        if not translatable(cell):
            continue
        ids.add(cell.id)
        src = _source(cell)
        entry = catalog.get(cell.id)
        if entry is None or not entry["zh"].strip():
            problems.append(f"{english.name} cell {cell.id} has no translation in {where}: {_first_line(src)!r}")
            continue
        if entry["fingerprint"] != fingerprint(entry["en"]):
            problems.append(f"{where}: entry {cell.id}'s fingerprint is not that of its en text: set it to {fingerprint(entry['en'])}")
        elif entry["fingerprint"] != fingerprint(src):
            diff = english_diff(entry["en"], src, f"{where} [{cell.id}] en", f"notebooks/{english.name} cell {cell.id}")
            problems.append(
                f"{english.name} cell {cell.id}: stale translation in {where} (the English changed after it was "
                f"translated; update zh, then set en to the new English and fingerprint to {fingerprint(src)}); "
                f"the English diff:\n{diff}"
            )
        if glossary:
            lacking = missing_terms(src, entry["zh"], glossary)
            if lacking:
                wanted = ", ".join(f"{t!r} -> {glossary[t]!r}" for t in lacking)
                problems.append(f"{english.name} cell {cell.id}: the translation in {where} does not use the glossary's {wanted}")
    for key in catalog:
        if key not in ids:
            problems.append(f"{where}: orphan entry {key} (no such markdown cell in {english.name}): remove it")
    return problems


def _skeleton(nb: nbformat.NotebookNode) -> dict:
    data = json.loads(nbformat.writes(nb))
    for cell in data["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return data


def notebook_problems(g: Generated, root: Path) -> list[str]:
    """How the Chinese notebook on disk differs from what the generator makes (outputs aside), and code cells
    that differ from the English beyond the setup call's ``lang="zh"``."""
    where = str(g.path.relative_to(root))
    if not g.path.exists():
        return [f"{where} is missing: run `make translations` (python -m helpers.translate)"]
    stored = nbformat.read(g.path, as_version=4)
    problems = []
    english = {c.id: c for c in nbformat.read(g.english, as_version=4).cells}
    for cell in stored.cells:
        en = english.get(cell.get("id"))
        if cell.cell_type != "code" or en is None or en.cell_type != "code":
            continue
        if _source(cell) != localize_code(_source(en)):
            diff = english_diff(localize_code(_source(en)), _source(cell), f"notebooks/{g.english.name} cell {cell.id}", f"{where} cell {cell.id}")
            problems.append(f"{where}: code cell {cell.id} differs from the English beyond lang=\"{LANG}\":\n{diff}")
        if cell.metadata.get("tags", []) != en.metadata.get("tags", []):
            problems.append(f"{where}: code cell {cell.id} has tags {cell.metadata.get('tags', [])}, the English {en.metadata.get('tags', [])}")
    want, have = _skeleton(g.notebook), _skeleton(stored)
    if want != have:
        got = {c.get("id"): c for c in have["cells"]}
        first = next((c.get("id") for c in want["cells"] if got.get(c.get("id")) != c), None)
        at = f" (first at cell {first})" if first else " (cell order or notebook metadata)"
        problems.append(f"{where} differs from what the generator makes{at}: run `make translations`")
    return problems


def check(root: Path | None = None) -> list[str]:
    """Every problem of the Chinese edition (see the module's docstring); empty when it is complete and current.

    Example: ``check()`` -> ``[]``.
    """
    root = nav.ROOT if root is None else root
    englishes = english_notebooks(root)
    terms = load_glossary(root)["terms"]
    problems = []
    for english in englishes:
        problems += catalog_problems(root, english, terms)
    known = {p.stem for p in englishes}
    for path in sorted(catalog_folder(root).glob("*.json")):
        if path.name != GLOSSARY and path.stem not in known:
            problems.append(f"{path.relative_to(root)}: orphan catalog (no notebooks/{path.stem}.ipynb): remove it")
    try:
        made = generate(root)
    except ValueError as error:
        return problems + [f"the generator stops: {error}"]
    for g in made:
        problems += notebook_problems(g, root)
    names = {g.path.name for g in made}
    problems += [f"notebooks/{LANG}/{p.name}: no English notebook {p.name}: run `make translations` to remove it"
                 for p in nav.notebooks(root / "notebooks" / LANG) if p.name not in names]
    try:
        problems += nav.edition_plan_problems(root, LANG)
    except ValueError as error:
        problems.append(str(error))
    return problems


# --- todo: what a translator has to do ------------------------------------------------------------


def todo(root: Path | None = None, number: str | None = None) -> str:
    """What needs translating or re-translating (with the English diff), per notebook; adds an entry with
    ``"zh": ""`` for every cell that has none and puts the catalog in the notebook's cell order (orphans last).
    A translation is never overwritten. ``number`` ("01") limits it to one notebook.

    Example: ``print(todo(number="01"))``.
    """
    root = nav.ROOT if root is None else root
    englishes = [p for p in english_notebooks(root) if number is None or p.name[:2] == number]
    if not englishes:
        raise ValueError(f"no English notebook numbered {number!r}")
    out, to_translate, to_redo = [], 0, 0
    for english in englishes:
        path = catalog_path(root, english)
        catalog = load_catalog(path)
        ordered: dict[str, dict[str, str]] = {}
        for cell in nbformat.read(english, as_version=4).cells:
            if not translatable(cell):
                continue
            src = _source(cell)
            entry = catalog.get(cell.id)
            if entry is None or not entry["zh"].strip():
                ordered[cell.id] = {"fingerprint": fingerprint(src), "en": src, "zh": ""}  # nothing to lose
                to_translate += 1
                out.append(f"{english.name} cell {cell.id}: translate into \"zh\":\n{_indent(src)}")
                continue
            ordered[cell.id] = entry
            if entry["fingerprint"] != fingerprint(src):
                to_redo += 1
                diff = english_diff(entry["en"], src, "en (translated)", "en (now)")
                out.append(
                    f"{english.name} cell {cell.id}: the English changed; update \"zh\", then set \"en\" to the new English "
                    f"and \"fingerprint\" to {fingerprint(src)}:\n{_indent(diff)}"
                )
        for key, entry in catalog.items():
            if key not in ordered:
                ordered[key] = entry
                out.append(f"{english.name}: entry {key} is an orphan (no such markdown cell): remove it once its text is reused")
        text = dump_catalog(ordered)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    out.append(f"{to_translate} cell(s) to translate, {to_redo} to re-translate")
    return "\n\n".join(out)


def _indent(text: str) -> str:
    return "\n".join("    " + ln for ln in text.splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["todo"], help="todo: list what to translate and add empty entries")
    parser.add_argument("number", nargs="?", help="with todo: one notebook's number, e.g. 01")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 listing every problem")
    args = parser.parse_args(argv)
    try:
        if args.command == "todo":
            print(todo(number=args.number))
            return 0
        if args.number is not None:
            parser.error("a notebook number goes with todo only")
        if args.check:
            problems = check()
            if problems:
                print("\n".join(problems))
                print(f"\n{len(problems)} problem(s) in the Chinese edition: `python -m helpers.translate todo` lists what to translate")
                return 1
            print("the Chinese edition is complete and current")
            return 0
        changed, fallbacks = write()
    except ValueError as error:
        print(f"helpers.translate: {error}", file=sys.stderr)
        return 1
    print(("wrote: " + ", ".join(changed)) if changed else "the Chinese notebooks are current")
    if fallbacks:
        print(f"{len(fallbacks)} markdown cell(s) have no translation and show the English: `python -m helpers.translate todo`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
