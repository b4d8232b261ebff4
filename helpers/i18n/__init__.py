"""The language the helpers speak: ``set_language``, ``get_language`` and ``tr``.

English is the default and the source: every message is written in English in the code,
and ``tr`` turns it into the current language at the point where it is shown. A catalog
(``helpers/i18n/zh/*.json``, one object ``{"<English template>": "<中文模板>"}`` per file)
holds templates: English messages whose variable parts are written ``{0}``, ``{1}``, … in
order of appearance; the Chinese template may use them in any order. ``tr`` matches the
whole text against every template (the one that explains most of the text wins: its literal
characters plus those of the captured parts that translate) and passes each captured part
through the catalog again, so nested messages are translated too; a captured single token
(a name like ``momentum``, a number, code like ``p.grad``) is kept as written.

Nothing changes on import; ``setup_notebook(..., lang="zh")`` calls :func:`set_language`.

Example::

    >>> set_language("zh"); tr("Correct!")
    '正确！'
"""

from __future__ import annotations

import functools
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LANGUAGES", "STRICT_ENV", "Template", "get_language", "load_catalog", "parse_template", "set_language", "tr"]

LANGUAGES = ("en", "zh")
STRICT_ENV = "HELPERS_STRICT_I18N"
CATALOG_DIR = Path(__file__).resolve().parent
_PLACEHOLDER = re.compile(r"\{(\d+)\}")

_language = ["en"]  # a one-element list, so that nothing rebinds a module global


def set_language(lang: str) -> None:
    """Make the helpers speak ``lang`` (``"en"`` or ``"zh"``) from now on in this process.

    Example: ``set_language("zh")``; ``tr("Correct!")`` then returns ``"正确！"``.
    """
    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGUAGES))}, got {lang!r}")
    if lang != "en":
        load_catalog(lang)  # a broken catalog fails here, at the setup cell, not at the first message
    _language[0] = lang


def get_language() -> str:
    """The language set by :func:`set_language`: ``"en"`` (the default) or ``"zh"``.

    Example: ``get_language()`` -> ``'en'``.
    """
    return _language[0]


@dataclass(frozen=True)
class Template:
    """One catalog entry: the English template, its translation and the regex that matches it."""

    english: str
    translated: str
    pattern: re.Pattern[str]
    literal: int  # how many characters of the English template are not placeholders

    @property
    def placeholders(self) -> set[int]:
        return {int(n) for n in _PLACEHOLDER.findall(self.english)}


def parse_template(english: str, translated: str = "") -> Template:
    """The :class:`Template` of ``english``: ``{0}``, ``{1}``, … become lazy groups, the rest literal.

    A group may be empty (an exception without a message still leaves "your code raised X: ").

    Example: ``parse_template("at step {0}", "第 {0} 步").pattern.fullmatch("at step 3").group(1)`` -> ``'3'``.
    """
    pieces = _PLACEHOLDER.split(english)  # literal, number, literal, number, ..., literal
    regex = "".join(re.escape(p) if i % 2 == 0 else "(.*?)" for i, p in enumerate(pieces))
    literal = sum(len(p) for p in pieces[::2])
    return Template(english, translated, re.compile(regex, re.DOTALL), literal)


@functools.lru_cache(maxsize=None)
def load_catalog(lang: str) -> tuple[dict[str, str], tuple[Template, ...]]:
    """Every entry of ``helpers/i18n/<lang>/*.json``: (exact texts, templates with placeholders).

    Entries with an empty translation are left out (they fall back to English). Raises
    ``ValueError`` naming the file for a file that is not a JSON object of strings, a template
    with no literal text (placeholders only), or a key found in two files with different
    translations.
    """
    exact: dict[str, str] = {}
    templates: dict[str, Template] = {}
    seen: dict[str, tuple[str, str]] = {}
    for file in sorted((CATALOG_DIR / lang).glob("*.json")):
        data = json.loads(file.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
            raise ValueError(f"{file}: expected a JSON object of strings {{English template: translation}}")
        for english, translated in data.items():
            if not translated:
                continue
            if english in seen and seen[english][1] != translated:
                raise ValueError(f"{english!r} is translated differently in {seen[english][0]} and {file.name}")
            seen[english] = (file.name, translated)
            if _PLACEHOLDER.search(english):
                template = parse_template(english, translated)
                if not template.literal:  # it would match any text, and capture that text whole again
                    raise ValueError(f"{file}: the template {english!r} has no literal text (it would match anything)")
                templates[english] = template
            else:
                exact[english] = translated
    ordered = sorted(templates.values(), key=lambda t: (-t.literal, t.english))
    return exact, tuple(ordered)


def tr(text: str) -> str:
    """``text`` in the current language: unchanged in English; else its catalog translation.

    The text is matched whole against the catalog: an exact entry, else the template that
    explains most of it (see :func:`_translate`), each captured part itself passed through
    the catalog unless it is a single token (a name, a number, code: ``momentum``,
    ``p.grad``, ``2.5``), which is kept as written. A text no template matches whole is tried
    as parts joined by "; " or as sentences ("A. B."), each of which must match. No match:
    the English text, or a ``LookupError`` naming it when ``HELPERS_STRICT_I18N=1``.
    Example: ``tr("Hint: ")`` -> ``'提示：'`` after ``set_language("zh")``.
    """
    lang = _language[0]
    if lang == "en":
        return text
    found = _translate(text, lang, True, {})
    if found is None:
        if os.environ.get(STRICT_ENV) == "1":
            raise LookupError(f"no {lang} translation for {text!r} (add it to helpers/i18n/{lang}/: python -m helpers.i18n todo)")
        return text
    return found[0]


_Found = tuple[str, int]  # a translation and its score: how many characters of the English the catalog explains
_Memo = dict[tuple[str, bool], "_Found | None"]


def _translate(text: str, lang: str, compound: bool, memo: _Memo) -> _Found | None:
    """The best translation of ``text`` and its score, or None when no catalog entry matches it
    whole (nor, with ``compound``, each of its parts: see :func:`_compound`).

    The score counts the characters of ``text`` that catalog text accounts for: all of them
    for an exact entry; for a template, its literal characters plus the scores of the captured
    parts that translate. The highest score wins, then the most literal characters: so
    "at call 1 your gradient is 4 times …" takes nb02's "at call {0} {1}" (whose {1} is a
    whole message) over nb10's longer "at call {0}: {1}" (whose parts are not).
    Terminates: every template has literal text, so captured parts are shorter than ``text``.
    """
    key = (text, compound)
    if key in memo:
        return memo[key]
    exact, templates = load_catalog(lang)
    best: _Found | None = (exact[text], len(text)) if text in exact else None
    if best is None:
        for template in templates:  # most literal characters first: a tie in score keeps the earlier
            match = template.pattern.fullmatch(text)
            if match is None:
                continue
            parts = [_nested(part, lang, memo) for part in match.groups()]
            score = template.literal + sum(s for _, s in parts)
            if best is None or score > best[1]:
                best = (_PLACEHOLDER.sub(lambda m, parts=parts: parts[int(m.group(1))][0], template.translated), score)
            if score == len(text):
                break  # every character explained: nothing can score more
    if best is None and compound:
        best = _compound(text, lang, memo)
    memo[key] = best
    return best


def _compound(text: str, lang: str, memo: _Memo) -> _Found | None:
    """A message the checkers build from several catalog messages: parts joined by "; ", or
    sentences ("<where>. <Capitalised message>."), each part translated; else None."""
    if "; " in text:
        pieces, parts, i = text.split("; "), [], 0
        while i < len(pieces):  # the longest run of pieces that is one message (a message may hold "; ")
            for j in range(len(pieces) - (i == 0), i, -1):
                found = _translate("; ".join(pieces[i:j]), lang, False, memo)
                if found is not None:
                    parts.append(found)
                    i = j
                    break
            else:
                break
        if i == len(pieces):
            return "；".join(p for p, _ in parts), sum(s for _, s in parts)
    body = text[:-1] if text.endswith(".") else text
    if body == text and ". " not in text:
        return None
    sentences = []
    for sentence in body.split(". "):
        found = _translate(sentence, lang, False, memo)
        if found is None and sentence[:1].isupper():  # "There is ..." made from "there is ..."
            found = _translate(sentence[0].lower() + sentence[1:], lang, False, memo)
        if found is None:
            found = _translate(sentence + ".", lang, False, memo)  # never compound: "x." would come back here
        if found is None:
            return None
        sentences.append((found[0].rstrip("。."), found[1]))
    return "。".join(s for s, _ in sentences) + ("。" if body != text else ""), sum(s for _, s in sentences)


_TOKEN = re.compile(r"\S*")


def _nested(part: str, lang: str, memo: _Memo) -> _Found:
    """A captured part and its score: kept as written (score 0) when it is a single token (a
    name such as ``momentum`` or ``weight_decay``, a number, code such as ``p.grad``; the
    catalog's one-word entries are labels shown alone) or when no catalog entry matches it;
    else its translation. Example: in "momentum is None, …" the name ``momentum`` stays."""
    if _TOKEN.fullmatch(part):
        return part, 0
    found = _translate(part, lang, True, memo)
    return (part, 0) if found is None else found
