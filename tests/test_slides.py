"""The slide decks (``make slides``, helpers/slides.py): the marking rules, ``mark --check``, and
decks that load nothing from outside their folder."""

from __future__ import annotations

import base64
import io
import json
import os
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import matplotlib.pyplot as plt
import nbformat
import pytest

from helpers import nav, slides

NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks")
TITLE = "# 00 · A tiny lesson\nWhat does it show?\n\n**Time** 5 minutes.\n\n**In class** 3 minutes: section 1 only."


def _md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text)


def _code(text: str, *outputs: dict) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def _stream(text: str) -> dict:
    return {"output_type": "stream", "name": "stdout", "text": text}


def _lines(n: int, width: int = 20) -> str:
    return "\n".join(f"x{i} = {'1' * width}" for i in range(n))


def _notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    nb.cells = list(cells)
    return nb


def _lesson() -> nbformat.NotebookNode:
    """A notebook with every kind of cell the rules know, in the collection's order."""
    return _notebook(
        _md(TITLE),  # 0
        _md("<!-- nav -->\n[Contents](#map)"),  # 1
        _code("import torch\n\nfrom helpers import run_solutions, setup_notebook\n\ndevice = setup_notebook(seed=0)", _stream("Python 3.11 | torch\n")),  # 2
        _md("## 1. A first idea\n\nOne sentence."),  # 3
        _code("print(1 + 1)\nassert 1 + 1 == 2", _stream("2\n")),  # 4
        _md("More about it, before the next code:"),  # 5
        _code(_lines(12), _stream("done\n")),  # 6
        _md("Tail of section 1.\n\n## 2. A second idea\n\nIts heading sits below a sentence."),  # 7
        _code("print(2)", _stream("2\n")),  # 8
        _md("## Pitfalls\n\n**A mistake.**"),  # 9
        _code("raise ValueError('no')", {"output_type": "error", "ename": "ValueError", "evalue": "no", "traceback": ["ValueError: no"]}),  # 10
        _md("## Summary\n\n- one\n- two\n\n## Exercises\n\n**1.** Do it."),  # 11
        _code("def answer():\n    raise NotImplementedError\n\n\ncheck_answer(answer)", _stream("not done yet\n")),  # 12
        _md("### Solutions\n\nThe worked solutions are in [solutions/00_a.py](solutions/00_a.py)."),  # 13
        _code('run_solutions("solutions/00_a.py")', _stream("all correct\n")),  # 14
        _md("<!-- nav -->\n[Contents](#map)"),  # 15
    )


# ---- the rules -------------------------------------------------------------------------------


def test_the_rules_on_a_small_lesson():
    types = slides.slide_types(_lesson().cells)
    assert types == [
        "slide",  # the title opens the deck
        "skip",  # navigation
        "skip",  # the setup cell's imports
        "slide",  # ## 1.
        "-",
        "-",  # fits with section 1 so far
        "-",
        "slide",  # a "## 2." heading below a sentence still starts a slide
        "-",
        "slide",  # ## Pitfalls
        "-",
        "slide",  # ## Summary and ## Exercises: the exercise is posed in class
        "-",  # its stub, with "not done yet"
        "skip",  # ### Solutions
        "skip",  # run_solutions(...)
        "skip",  # navigation
    ]
    assert set(types) <= set(slides.SLIDE_TYPES)


def test_a_long_section_breaks_into_subslides_and_text_stays_with_its_code():
    long_code = _lines(25)
    nb = _notebook(
        _md(TITLE),
        _code("device = setup_notebook(seed=0)"),
        _md("## 1. Long\n\nA sentence."),
        _code(long_code, _stream("a\nb\n")),
        _md("Next, a short sentence:"),
        _code(long_code, _stream("c\n")),
        _code("assert True"),
        _md("A long explanation.\n\n" + "\n\n".join("A sentence of eighty characters, or close enough to wrap once here." for _ in range(8))),
        _code(long_code),
    )
    types = slides.slide_types(nb.cells)
    assert types[3] == "-"  # the code stays under its heading
    assert types[4:7] == ["subslide", "-", "-"]  # a new vertical slide: sentence, its code, the assert
    assert types[7:9] == ["subslide", "subslide"]  # a long text and a long code do not share a slide
    for k, cell in enumerate(nb.cells):  # and no slide holds more than STRETCH slides' worth
        if types[k] in ("slide", "subslide"):
            end = next((j for j in range(k + 1, len(types)) if types[j] in ("slide", "subslide")), len(types))
            room = sum(slides.cell_lines(c) for c, t in zip(nb.cells[k:end], types[k:end]) if t != "skip")
            assert room <= slides.SLIDE_LINES * slides.STRETCH, (k, room)


def test_cell_lines_counts_wrapped_code_outputs_and_pictures():
    short, wide = _code("x = 1"), _code("y = " + "1" * (3 * slides.CODE_CHARS))
    assert slides.cell_lines(wide) == slides.cell_lines(short) + 3
    with_output = _code("x = 1", _stream("\n".join("row" for _ in range(10)) + "\n"))
    assert slides.cell_lines(with_output) == pytest.approx(slides.cell_lines(short) + 10.5)
    fig, ax = plt.subplots(figsize=(9, 4), dpi=100)  # 900 x 400 pixels
    ax.plot([0, 1])
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    png = {"output_type": "display_data", "data": {"image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": "<Figure>"}, "metadata": {}}
    assert slides.cell_lines(_code("plot()", png)) == pytest.approx(slides.cell_lines(short) + 400 / slides.LINE_PX)
    png["metadata"] = {"image/png": {"width": 450, "height": 200}}  # a retina picture shown at half size
    assert slides.cell_lines(_code("plot()", png)) == pytest.approx(slides.cell_lines(short) + 200 / slides.LINE_PX)


def test_marked_sets_every_cell_and_leaves_the_rest():
    nb = _lesson()
    nb.cells[4].metadata["tags"] = ["keep-me"]
    out = slides.marked(nb)
    assert [c.metadata["slideshow"]["slide_type"] for c in out.cells] == slides.slide_types(nb.cells)
    assert out.cells[4].metadata["tags"] == ["keep-me"]
    assert "slideshow" not in nb.cells[0].metadata  # the notebook passed in is untouched
    assert [c.source for c in out.cells] == [c.source for c in nb.cells]


def test_the_in_class_line_becomes_speaker_notes():
    deck = slides.deck_notebook(_lesson())
    assert "In class" not in deck.cells[0].source and deck.cells[0].source.endswith("**Time** 5 minutes.")
    notes = deck.cells[1]
    assert notes.source == "**In class** 3 minutes: section 1 only."
    assert notes.metadata["slideshow"] == {"slide_type": "notes"}
    assert notes.id == f"{deck.cells[0].id}-notes"  # the same id every build: decks do not churn
    plain = _lesson()
    plain.cells[0].source = "# 00 · A tiny lesson\nWhat does it show?"
    assert len(slides.deck_notebook(plain).cells) == len(slides.split_sections(plain).cells)


def test_a_section_heading_below_text_starts_its_slide_and_the_text_stays_above():
    nb = _lesson()
    nb.cells.insert(3, _md("The line above is the environment report.\n\n## 0. Before"))  # right after the setup cell
    nb.cells.append(_md("```text\n## not a heading, a line of code\n```\nSome text."))
    cells = slides.split_sections(nb).cells
    sources = [c.source for c in cells]
    assert "## 0. Before" in sources and not any("environment report" in s for s in sources)  # it talks of a skipped output
    at = sources.index("Tail of section 1.")
    assert sources[at + 1].startswith("## 2. A second idea") and cells[at + 1].id == nb.cells[8].id
    assert cells[at].id == f"{nb.cells[8].id}-tail"
    assert sources[-1] == nb.cells[-1].source  # a fenced "## " line is code, not a heading
    assert [c.source for c in nb.cells][8].startswith("Tail of section 1.")  # the notebook passed in is untouched
    deck = slides.deck_notebook(nb)
    kinds = {c.source: c.metadata["slideshow"]["slide_type"] for c in deck.cells}
    assert kinds["Tail of section 1."] == "-" and kinds[sources[at + 1]] == "slide"


def _long_code() -> str:
    """Three top-level blocks of 14 lines each: too tall for one slide together."""
    body = "\n".join(f"    x{i} = {i}" for i in range(12))
    return f"def first():\n{body}\n    return x0\n\n\ndef second():\n{body}\n    return x1\n\n\nfor k in range(3):\n{body}\n    print(k)"


def test_a_code_cell_taller_than_a_slide_is_cut_at_its_top_level_statements(tmp_path):
    setup = _code("import torch\n\n\n" + _long_code())  # the setup cell is skipped, so never cut
    long = _code(_long_code(), _stream("0\n1\n2\n"))
    magic = _code("%%time\n" + _long_code())  # not Python: left whole
    nb = _notebook(_md(TITLE), setup, _md("## 1. Long"), long, magic)
    assert slides.cell_lines(long) > slides.SLIDE_LINES
    cells = slides.split_long_code(nb).cells
    assert cells[1].source == setup.source and cells[-1].source == magic.source
    parts = cells[3:-1]
    assert len(parts) == 2 and parts[0].id == long.id and parts[1].id == f"{long.id}-1"
    assert parts[0].source.startswith("def first():") and parts[0].source.endswith("return x1")  # two defs fit, whole
    assert parts[1].source.startswith("for k in range(3):") and parts[1].outputs == long.outputs and not parts[0].outputs
    assert all(slides.cell_lines(c) <= slides.SLIDE_LINES for c in parts)
    assert [c.source for c in nb.cells] == [c.source for c in _notebook(_md(TITLE), setup, _md("## 1. Long"), long, magic).cells]

    tall = _code(_long_code(), _stream("\n".join(str(k) for k in range(40)) + "\n"))  # outputs too tall to share its slide
    nb.cells[3] = tall
    cells = slides.split_long_code(nb).cells
    shown = cells[-2]
    assert shown.metadata["tags"] == [slides.DECK_OUTPUT_TAG] and shown.outputs == tall.outputs and not cells[-3].outputs
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_a.ipynb").write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    [deck] = slides.build(tmp_path / "out", tmp_path)
    text = deck.read_text(encoding="utf-8")
    cells = {m.group(1): m.group(2) for m in re.finditer(r'id="cell-id=([^"]+)">(.*?)(?=<div class="jp-Cell |</section>)', text, re.S)}
    assert '<div class="jp-InputArea' not in cells[shown.id] and "\n39\n" in cells[shown.id]  # its outputs, not its code
    assert '<div class="jp-InputArea' in cells[tall.id] and "first" in cells[tall.id]


def test_each_section_slide_says_whether_the_class_shows_or_skips_it(tmp_path):
    nb = _lesson()
    nb.cells[0].source = TITLE.replace("section 1 only.", "section 1. Skip 2, the pitfalls and the exercises (homework).")
    path = tmp_path / "00_a.ipynb"
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    deck = slides.deck_notebook(nb, nav.read_plan(path))
    notes = [(deck.cells[k - 1].source.split("\n")[0], c.source) for k, c in enumerate(deck.cells) if c.metadata["slideshow"]["slide_type"] == "notes"]
    assert notes[0][1].startswith("**In class** 3 minutes: section 1.")  # the title's line
    assert notes[1:] == [
        ("## 1. A first idea", "**In class** (3 minutes for this notebook): show section 1."),
        ("## 2. A second idea", "**In class** (3 minutes for this notebook): skip section 2. The right arrow passes over its slides."),
        ("## Pitfalls", "**In class** (3 minutes for this notebook): skip the pitfalls. The right arrow passes over its slides."),
        ("## Summary", "**In class** (3 minutes for this notebook): skip the exercises (homework). The right arrow passes over its slides."),
    ]
    assert not [c for c in slides.deck_notebook(nb).cells[2:] if c.metadata["slideshow"]["slide_type"] == "notes"]  # no plan, no notes


# ---- mark and mark --check ---------------------------------------------------------------------


def _root(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("00_a.ipynb", "01_b.ipynb"):
        nb = _lesson()
        nb.cells[0].source = nb.cells[0].source.replace("00 ·", f"{name[:2]} ·")
        (folder / name).write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return tmp_path


def test_mark_check_changes_nothing_and_mark_writes_only_the_marks(tmp_path, monkeypatch, capsys):
    root = _root(tmp_path)
    before = {p.name: p.read_text(encoding="utf-8") for p in (root / "notebooks").glob("*.ipynb")}
    monkeypatch.setattr(slides, "ROOT", root)
    assert slides.main(["mark", "--check"]) == 1
    assert "notebooks/00_a.ipynb, notebooks/01_b.ipynb" in capsys.readouterr().out
    assert {p.name: p.read_text(encoding="utf-8") for p in (root / "notebooks").glob("*.ipynb")} == before

    assert slides.main(["mark"]) == 0
    assert slides.mark(root, check=True) == []
    assert slides.main(["mark", "--check"]) == 0
    for name, text in before.items():
        marked = json.loads((root / "notebooks" / name).read_text(encoding="utf-8"))
        for cell in marked["cells"]:
            assert set(cell["metadata"]["slideshow"]) == {"slide_type"}
            del cell["metadata"]["slideshow"]
        assert marked == json.loads(text)  # nothing else changed


def test_mark_check_names_a_notebook_edited_after_marking(tmp_path):
    root = _root(tmp_path)
    slides.mark(root)
    path = root / "notebooks" / "01_b.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(4, _md("## 9. A new section, not marked yet"))
    path.write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    assert slides.mark(root, check=True) == ["notebooks/01_b.ipynb"]


def test_the_repository_notebooks_are_marked():
    stale = slides.mark(check=True)
    assert stale == [], f"stale slide marks in {stale}: run `python -m helpers.slides mark`"


# ---- the built decks --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> Path:
    """The decks of ``$SLIDES_DIR`` when set (CI checks its own ``make slides``), else a fresh build."""
    given = os.environ.get("SLIDES_DIR")
    if given:
        assert (Path(given) / "index.html").is_file(), f"SLIDES_DIR={given} holds no index.html: run `make slides` (or unset SLIDES_DIR)"
        return Path(given)
    out = tmp_path_factory.mktemp("slides")
    slides.build(out)
    return out


class _Tags(HTMLParser):
    """Every tag's name and attributes, as a browser reads them (whatever the quoting)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def _links(text: str) -> list[str]:
    return [attrs[key] or "" for _, attrs in _Tags(text).tags for key in ("src", "href") if key in attrs]


def test_a_deck_per_notebook_and_an_index(decks):
    names = sorted(p.name for p in decks.glob("*.slides.html"))
    assert names == [f"{p.stem}.slides.html" for p in NOTEBOOKS]
    index = (decks / "index.html").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        entry = nav.read_entry(path)
        assert f'href="{path.stem}.slides.html"' in index
        assert escape(f"{entry.number} · {entry.title}") in index
        plan = slides.IN_CLASS_RE.search(nbformat.read(path, as_version=4).cells[0].source)
        if plan:  # the teacher's plan for a class, next to each deck
            assert "<strong>In class</strong> " + escape(plan.group(0)[len("**In class** "):], quote=False).split("`")[0] in index
    assert "`" not in index  # inline code is shown as code


def test_every_link_stays_in_the_folder_and_exists(decks):
    pages = sorted(decks.glob("*.html"))
    assert len(pages) == len(NOTEBOOKS) + 1
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert "//cdn" not in html and "unpkg.com" not in html and "cdnjs" not in html, page.name
        for link in _links(html):
            parts = urlsplit(link)
            if parts.scheme == "data" or (not parts.path and parts.fragment):
                continue  # an inline picture, an anchor in the page
            assert not parts.scheme and not parts.netloc and not link.startswith("//"), f"{page.name} loads {link}"
            assert (page.parent / unquote(parts.path)).is_file(), f"{page.name} links {link}, which is not in {decks}"


def test_reveal_and_mathjax_files_are_there(decks):
    for name in ("reveal.js/dist/reveal.js", "reveal.js/dist/reveal.css", "reveal.js/dist/theme/white.css", "reveal.js/plugin/notes/notes.js"):
        assert (decks / name).is_file(), name
    assert "reveal.js 5.2.0" in (decks / "reveal.js/dist/reveal.js").read_text(encoding="utf-8")[:200]
    assert (decks / "mathjax/tex-chtml.js").is_file()
    assert (decks / "mathjax/input/tex/extensions/textmacros.js").is_file()  # loaded by the template
    assert [p.name for p in (decks / "reveal.js/dist/theme").glob("*.css")] == ["white.css"]  # the others load Google fonts
    outside = [str(p.relative_to(decks)) for p in decks.rglob("*.css") if re.search(r"url\(\s*['\"]?(https?:)?//", p.read_text(encoding="utf-8"))]
    assert not outside, f"styles that load from outside the folder: {outside}"
    assert sorted(p.name for p in (decks / "mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))  # CHTML's fonts
    deck = (decks / "06_step_and_closure.slides.html").read_text(encoding="utf-8")
    scripts = [attrs["src"] for tag, attrs in _Tags(deck).tags if tag == "script" and attrs.get("src")]
    assert scripts == ["mathjax/tex-chtml.js", "reveal.js/dist/reveal.js", "reveal.js/plugin/notes/notes.js"]
    assert '["$", "$"]' in deck and '["$$", "$$"]' in deck
    assert "$$" in deck  # the formulas are there for MathJax to typeset (tests/browser/test_slides.py looks)


def test_links_between_notebooks_open_the_other_decks(decks):
    deck = (decks / "06_step_and_closure.slides.html").read_text(encoding="utf-8")
    assert "02_zero_grad.slides.html" in _links(deck)  # "You need 02 · zero_grad"
    assert ".ipynb" not in " ".join(_links(deck))


def test_a_link_that_cannot_work_in_a_deck_keeps_its_text(tmp_path):
    (tmp_path / "here.txt").write_text("x")
    body = (
        '<p><a href="01_b.ipynb#Section-2">01 · B</a>, <a href="distributed">the <code>distributed/</code> folder</a>, '
        '<a href="https://example.org/x">a site</a>, <a href="here.txt">a file</a>, <a class="anchor-link" href="#top">¶</a></p>'
    )
    assert slides._link_decks(body, {"00_a", "01_b"}, tmp_path) == (
        '<p><a href="01_b.slides.html">01 · B</a>, <span class="offline-link">the <code>distributed/</code> folder</span>, '
        '<span class="offline-link">a site</span>, <a href="here.txt">a file</a>, <a class="anchor-link" href="#top">¶</a></p>'
    )


def test_speaker_notes_hold_the_in_class_line(decks):
    for path in NOTEBOOKS:
        title = nbformat.read(path, as_version=4).cells[0].source
        deck = (decks / f"{path.stem}.slides.html").read_text(encoding="utf-8")
        notes = re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)
        if "**In class**" in title:
            plan = nav.read_plan(path)
            assert notes and "In class" in notes[0], path.name
            assert (f"{plan.minutes} minutes" if plan.minutes else "skipped") in notes[0], path.name
            sections = " ".join(notes[1:])  # then a note on each section slide the plan names
            for verb, parts in (("show", plan.taught), ("skip", plan.skipped)):
                for part in parts:
                    what = f"section {part.key}" if part.key.isdigit() else f"the {part.key}"
                    assert f"{verb} {what}" in sections, (path.name, verb, what)
            assert plan.minutes or not notes[1:], path.name  # a notebook the class skips has no section notes
        else:
            assert not notes, path.name


def test_every_picture_in_the_decks_has_its_alternative_text(decks):
    for path in NOTEBOOKS:
        deck = (decks / f"{path.stem}.slides.html").read_text(encoding="utf-8")
        assert "No description has been provided for this image" not in deck, f"{path.name}: an image without alt text (setup_notebook adds it; re-execute)"


def _picture_notebook(tmp_path: Path, alt: str | None) -> Path:
    fig, ax = plt.subplots(figsize=(2, 2), dpi=50)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    meta = {"image/png": {"alt": alt}} if alt else {}
    png = {"output_type": "display_data", "data": {"image/png": base64.b64encode(buf.getvalue()).decode(), "text/plain": "<Figure>"}, "metadata": meta}
    nb = _lesson()
    nb.cells[4].outputs.append(nbformat.from_dict(png))
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "00_a.ipynb").write_text(nbformat.writes(nb) + "\n", encoding="utf-8")
    return tmp_path


def test_a_picture_gets_the_alt_text_of_its_output_metadata(tmp_path, capsys):
    root = _picture_notebook(tmp_path, alt='Loss against step: it falls from 1.0 to "0.1"')
    [deck] = slides.build(tmp_path / "out", root)
    [img] = [attrs for tag, attrs in _Tags(deck.read_text(encoding="utf-8")).tags if tag == "img"]
    assert img["alt"] == 'Loss against step: it falls from 1.0 to "0.1"'
    assert "Alternative text is missing" not in capsys.readouterr().err


def test_a_picture_without_alt_text_is_reported(tmp_path, capsys):
    root = _picture_notebook(tmp_path, alt=None)
    slides.build(tmp_path / "out", root)
    assert "00_a.ipynb: Alternative text is missing on 1 image(s)." in capsys.readouterr().err


def test_a_small_build_is_the_same_twice(tmp_path):
    root = _root(tmp_path)
    first = [p.read_bytes() for p in slides.build(tmp_path / "one", root)]
    second = [p.read_bytes() for p in slides.build(tmp_path / "two", root)]
    assert first == second
    assert (tmp_path / "two" / "index.html").read_bytes() == (tmp_path / "one" / "index.html").read_bytes()


def test_build_says_what_is_missing(tmp_path):
    (tmp_path / "notebooks").mkdir()
    with pytest.raises(ValueError, match="no notebooks named NN_topic.ipynb"):
        slides.build(tmp_path / "out", tmp_path)


def test_build_replaces_an_earlier_build_but_no_other_folder(tmp_path):
    root = _root(tmp_path)
    out = tmp_path / "out"
    slides.build(out, root)
    (out / "stale.slides.html").write_text("old")
    slides.build(out, root)  # an earlier build is replaced
    assert not (out / "stale.slides.html").exists()
    with pytest.raises(ValueError, match="holds files that are not slides"):
        slides.build(root, root)  # e.g. a typo naming the repository
    assert (root / "notebooks" / "00_a.ipynb").is_file()


def test_a_link_out_of_the_deck_folder_keeps_its_text(tmp_path):
    out = tmp_path / "slides"
    out.mkdir()
    (tmp_path / "secret.txt").write_text("x")
    body = f'<a href="../secret.txt">up</a> <a href="{tmp_path}/secret.txt">absolute</a>'
    assert slides._link_decks(body, set(), out) == '<span class="offline-link">up</span> <span class="offline-link">absolute</span>'


def test_make_slides_says_what_is_wrong_with_the_folder_in_one_line(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("x")
    assert slides.main(["build", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "holds files that are not slides" in err and "Traceback" not in err
    assert slides.main(["build", str(tmp_path / "keep.txt")]) == 1
    assert "keep.txt is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "keep.txt").read_text() == "x"
