"""Find every user-facing English message in the helpers' source (AST), as catalog templates.

- ``helpers/*.py``: the string arguments of ``tr(...)`` calls (the widgets, the setup report),
  and the English argument of the widgets' ``_label(control, english)`` and
  ``_say(summary, english, …)``, which call ``tr`` themselves; ``tr(text := f"…")`` counts too.
- ``helpers/exercises/_core.py`` and ``nbNN.py``: every message-like string (a checker's
  messages are made in many places — mistake tables, module constants, f-strings — and
  shown through ``tr`` in ``_core._show``), plus ``tr(...)`` arguments.

A template is the English text with each f-string expression written ``{0}``, ``{1}``, … in
order of appearance. Concatenations (``"a " + f"{b}"``) are joined, and a conditional
(``x if c else y``) inside a message gives one template per branch.

Example: ``extract()["nb00"]`` -> ``{"you said {0}": ["helpers/exercises/nb00.py:255"], ...}``.
"""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterator
from pathlib import Path

__all__ = ["CORE", "catalog_name", "extract", "templates_in"]

HELPERS = Path(__file__).resolve().parents[1]
CORE = "core"
_PH = object()  # a placeholder in a template under construction
_MAX_VARIANTS = 16

# Calls that translate one of their arguments: the callee and that argument's position.
_TRANSLATING = {"tr": 0, "_label": 1, "_say": 1}
# Calls whose string arguments are shown to the learner, even a single word.
_MESSAGE_CALLS = {"wrong", "right", "not_done", "number_answer", "Verdict", "print", "tr"}
# Calls whose string arguments are never shown: names, keys, separators, library options.
_NEVER_CALLS = {"getattr", "setattr", "hasattr", "isinstance", "issubclass", "dict", "set", "frozenset", "open", "Path"}
_NEVER_METHODS = {
    "split", "rsplit", "join", "startswith", "endswith", "replace", "strip", "rstrip", "lstrip", "get", "pop",
    "setdefault", "index", "count", "encode", "decode", "find", "partition", "removeprefix", "removesuffix",
}
_NEVER_MODULES = {"torch", "np", "numpy", "F", "warnings", "re", "math", "dis", "types", "inspect", "os", "sys", "json", "functools"}


def catalog_name(path: Path, root: Path = HELPERS) -> str | None:
    """The catalog (``core`` or ``nbNN``) a source file under ``root`` belongs to; None for a file not scanned."""
    rel = path.resolve().relative_to(root.resolve())
    if rel.parts[0] == "i18n":
        return None
    if len(rel.parts) == 1:
        return CORE
    if rel.parts[0] == "exercises" and len(rel.parts) == 2:
        if rel.stem == "_core":
            return CORE
        if re.fullmatch(r"nb\d\d", rel.stem):
            return rel.stem
    return None


def extract(root: Path = HELPERS) -> dict[str, dict[str, list[str]]]:
    """Every template in the helpers under ``root``: ``{catalog: {template: [file:line, ...]}}``.

    A template found in several files belongs to the first catalog in the order core, nb00, …, nb10.
    """
    found: dict[str, dict[str, list[str]]] = {}
    files = sorted(root.glob("*.py")) + sorted((root / "exercises").glob("*.py"))
    for file in files:
        name = catalog_name(file, root)
        if name is None:
            continue
        broad = file.parent.name == "exercises"
        where = file.relative_to(root.parent).as_posix()
        for template, line in templates_in(file.read_text(encoding="utf-8"), broad=broad):
            found.setdefault(name, {}).setdefault(template, []).append(f"{where}:{line}")
    owner: dict[str, str] = {}
    for name in sorted(found, key=lambda n: (n != CORE, n)):
        for template in found[name]:
            owner.setdefault(template, name)
    result: dict[str, dict[str, list[str]]] = {}
    for name, templates in found.items():
        for template, places in templates.items():
            result.setdefault(owner[template], {}).setdefault(template, []).extend(places)
    return {name: dict(sorted(t.items())) for name, t in sorted(result.items())}


def templates_in(source: str, *, broad: bool) -> Iterator[tuple[str, int]]:
    """(template, line) for every message in ``source``: ``tr`` arguments, or with ``broad`` every
    message-like string (see the module docstring)."""
    tree = ast.parse(source)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    docstrings = _docstrings(tree)
    constants = {
        target.id: stmt.value
        for stmt in getattr(tree, "body", [])
        if isinstance(stmt, ast.Assign) and _is_text(stmt.value)
        for target in stmt.targets
        if isinstance(target, ast.Name)
    }
    if broad:
        yield from _augmented(tree)
    for node in ast.walk(tree):
        position = _TRANSLATING.get(_callee(node), -1) if isinstance(node, ast.Call) else -1
        if position >= 0 and len(node.args) > position:
            for parts in _variants(node.args[position], constants):  # tr(STATIC_NOTE), tr(NOTE + "."), _label(c, "lr")
                template = _render(parts)
                if _keep(template, parts, True):
                    yield template, node.lineno
            continue
        if not _is_text(node) or _is_text_part(node, parents) or id(node) in docstrings:
            continue
        call = _call_of(node, parents)
        if not broad or (call is not None and _callee(call) in _TRANSLATING) or _excluded(node, parents, call):
            continue  # the translating calls' arguments are taken above
        shown = call is not None and _callee(call) in _MESSAGE_CALLS
        for parts in _variants(node):
            template = _render(parts)
            if _keep(template, parts, shown):
                yield template, node.lineno


def _augmented(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """``hint = "a"`` then ``hint += " b"`` in one function: the template ``"a b"`` too."""
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        assigned: dict[str, list[ast.AST]] = {}
        for node in ast.walk(function):
            if isinstance(node, ast.Assign) and _is_text(node.value):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
        for node in ast.walk(function):
            if isinstance(node, ast.AugAssign) and isinstance(node.op, ast.Add) and isinstance(node.target, ast.Name) and _is_text(node.value):
                for start in assigned.get(node.target.id, []):
                    for parts in _product([_variants(start), _variants(node.value)]):
                        template = _render(parts)
                        if _keep(template, parts, False):
                            yield template, node.lineno


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _is_text(node: ast.AST) -> bool:
    """A string expression: a str constant, an f-string, a concatenation or conditional holding one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str)
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _is_text(node.left) or _is_text(node.right)
    if isinstance(node, ast.IfExp):
        return _is_text(node.body) or _is_text(node.orelse)
    return False


def _is_text_part(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    """True when ``node`` is a piece of a bigger string expression (it is extracted with it)."""
    parent = parents.get(node)
    if isinstance(parent, (ast.BinOp, ast.IfExp)) and _is_text(parent) and node is not getattr(parent, "test", None):
        return True
    if isinstance(parent, ast.JoinedStr):
        return True
    if isinstance(parent, ast.FormattedValue) and node is parent.value and isinstance(node, (ast.IfExp, ast.Constant)):
        return True
    return False


def _call_of(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> ast.Call | None:
    """The call ``node`` is a direct argument of (positional or keyword), else None."""
    parent = parents.get(node)
    if isinstance(parent, ast.keyword):
        parent = parents.get(parent)
        return parent if isinstance(parent, ast.Call) else None
    if isinstance(parent, ast.Call) and node in parent.args:
        return parent
    return None


def _callee(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _excluded(node: ast.AST, parents: dict[ast.AST, ast.AST], call: ast.Call | None) -> bool:
    """Strings that are never shown: in raise statements, keys, comparisons, library calls."""
    if call is not None:
        if _callee(call) == "Verdict" and call.args and node is call.args[0]:
            return True  # the verdict's kind: "right", "wrong", "not_done"
        func = call.func
        if isinstance(func, ast.Name) and func.id in _NEVER_CALLS:
            return True
        if isinstance(func, ast.Attribute):
            if func.attr in _NEVER_METHODS:
                return True
            base = func
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in _NEVER_MODULES:
                return True
    child, parent = node, parents.get(node)
    while parent is not None:
        if isinstance(parent, (ast.Raise, ast.Compare, ast.Assert)):
            return True
        if isinstance(parent, ast.Subscript) and child is parent.slice:
            return True
        if isinstance(parent, ast.Dict) and child in parent.keys:
            return True
        if isinstance(parent, ast.Expr) and child is node:  # a bare string statement
            return True
        if isinstance(parent, ast.stmt):
            return False
        child, parent = parent, parents.get(parent)
    return False


def _variants(node: ast.AST, constants: dict[str, ast.AST] | None = None) -> list[list[object]]:
    """The texts ``node`` can make, each a list of literal strings and placeholders; a name in
    ``constants`` (module-level strings) stands for its value."""
    if isinstance(node, ast.Name) and constants and node.id in constants:
        return _variants(constants[node.id])
    if isinstance(node, ast.NamedExpr):  # tr(english := f"...")
        return _variants(node.value, constants)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [[node.value]]
    if isinstance(node, ast.JoinedStr):
        pieces = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                pieces.append([[value.value]])
            elif (
                isinstance(value, ast.FormattedValue)
                and value.conversion == -1
                and value.format_spec is None
                and isinstance(value.value, (ast.IfExp, ast.Constant))
                and _is_text(value.value)
            ):
                pieces.append(_variants(value.value))
            else:
                pieces.append([[_PH]])
        return _product(pieces)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (_is_text(node) or constants):
        return _product([_variants(node.left, constants), _variants(node.right, constants)])
    if isinstance(node, ast.IfExp) and _is_text(node):
        return (_variants(node.body, constants) + _variants(node.orelse, constants))[:_MAX_VARIANTS]
    return [[_PH]]


def _product(pieces: list[list[list[object]]]) -> list[list[object]]:
    return [list(itertools.chain.from_iterable(combo)) for combo in itertools.islice(itertools.product(*pieces), _MAX_VARIANTS)]


def _render(parts: list[object]) -> str:
    """The template text: adjacent literals joined, placeholders numbered in order."""
    out, n = [], 0
    for part in parts:
        if part is _PH:
            out.append("{%d}" % n)
            n += 1
        else:
            out.append(str(part))
    return "".join(out)


def _keep(template: str, parts: list[object], shown: bool) -> bool:
    """A template worth translating: it has words, and is a whole message rather than a name."""
    literal = "".join(p for p in parts if p is not _PH)
    letters = sum(c.isalpha() for c in literal)
    if _PH in parts and letters < 3:
        return False  # "{0} {1}", "a {0}": would match almost anything
    if letters == 0 or template != template.strip() and not template.strip():
        return False
    return shown or bool(re.search(r"[A-Za-z]\W*\s\W*\S", literal))


CATALOGS = (CORE,) + tuple(f"nb{n:02d}" for n in range(11))
_NUMBERED = re.compile(r"\{(\d+)\}")


def read_catalog(name: str, lang: str = "zh", root: Path = HELPERS / "i18n") -> dict[str, str]:
    """The entries of ``<root>/<lang>/<name>.json`` (empty when the file does not exist yet)."""
    file = root / lang / f"{name}.json"
    if not file.exists():
        return {}
    import json

    data = json.loads(file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{file}: expected a JSON object {{English template: translation}}")
    return data


def todo(lang: str = "zh", names: tuple[str, ...] = CATALOGS, root: Path = HELPERS) -> dict[str, dict[str, list[str]]]:
    """What each catalog still needs: ``{catalog: {"missing": [...], "unused": [...], "placeholders": [...]}}``.

    - missing: extracted templates of that catalog without a non-empty translation in its file
      (each as ``template<TAB>file:line``);
    - unused: entries of the file that are not templates of that catalog (stale, or in the wrong file);
    - placeholders: entries whose translation uses another set of ``{n}`` than the English.
    Example: ``todo(names=("nb05",))["nb05"]["missing"]`` -> ``[]`` once nb05.json is complete.
    """
    extracted = extract(root)
    report: dict[str, dict[str, list[str]]] = {}
    for name in names:
        if name not in CATALOGS:
            raise ValueError(f"catalog must be one of {', '.join(CATALOGS)}, got {name!r}")
        wanted = extracted.get(name, {})
        have = read_catalog(name, lang, root / "i18n")
        report[name] = {
            "missing": [f"{t}\t{wanted[t][0]}" for t in sorted(wanted, key=lambda t: _place_key(wanted[t][0])) if not have.get(t)],
            "unused": [t for t in have if t not in wanted],
            "placeholders": [
                t for t, zh in have.items() if zh and set(_NUMBERED.findall(t)) != set(_NUMBERED.findall(zh))
            ],
        }
    return report


def _place_key(place: str) -> tuple[str, int]:
    file, _, line = place.rpartition(":")
    return file, int(line)
