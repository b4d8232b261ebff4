"""The static site (``make site``, helpers/site.py), checked in its HTML files (no browser).

The site is built once per session into a temporary folder, or taken from ``$SITE_DIR`` when
that names a built site (CI runs ``make site`` first). tests/browser/test_site.py opens it in
Chromium. The Chinese edition's pages lie in ``zh/``; the checks of links, outside resources and
alternative text cover both languages.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from helpers import nav, site

# sphinx-book-theme 1.4.0 and myst-parser 5.2.0 read `self.app`, which Sphinx 9 deprecates (for Sphinx 11).
pytestmark = pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications")

NOTEBOOKS = nav.notebooks(nav.ROOT / "notebooks")
ZH = nav.notebooks(nav.ROOT / "notebooks" / site.EDITION)  # the Chinese edition: pages in zh/
BOTH = [(p, "") for p in NOTEBOOKS] + [(p, f"{site.EDITION}/") for p in ZH]  # (notebook, its folder on the site)
SWITCH = re.compile(r'<a class="[^"]*\blanguage-switch\b[^"]*" href="([^"]*)"[^>]*>([^<]*)</a>')
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//)", re.I)  # http:, mailto:, data:, //host
ANSI = re.compile(r"\x1b|\[\d+(?:;\d+)*m")
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)|@import\s+['\"]([^'\"]+)['\"]")


class Page(HTMLParser):
    """The ids, the links (tag, attribute, value) and the <img> attributes of one HTML page."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []
        self.images: list[dict[str, str | None]] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(values[key])
        for key in ("href", "src"):
            if values.get(key) is not None:
                self.links.append((tag, key, values[key]))
        if tag == "img":
            self.images.append(values)


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$SITE_DIR`` if it names one, else a fresh build (warnings fail it)."""
    given = os.environ.get("SITE_DIR")
    if given:
        folder = Path(given)
        if not (folder / "index.html").is_file():
            pytest.fail(f"SITE_DIR={given} has no index.html: run make site first, or unset SITE_DIR", pytrace=False)
        return folder
    folder = tmp_path_factory.mktemp("site") / "site"
    site.build_site(folder)
    return folder


def pages(folder: Path) -> list[Path]:
    """Every HTML page of the site (the theme's _static/*.html are template fragments, not pages)."""
    return sorted(p for p in folder.rglob("*.html") if "_static" not in p.relative_to(folder).parts)


def _page(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _straight(text: str) -> str:
    """Sphinx typesets quotes in prose (smartquotes); compare with the notebooks' straight ones."""
    return text.translate(str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'}))


def _ids(item: tuple[Path, str]) -> str:
    path, folder = item
    return f"{folder.strip('/')}-{path.stem}" if folder else path.stem


def _copy_repo(tmp_path: Path) -> Path:
    """A copy of what ``build_site(root=...)`` reads: the notebooks of both languages, the READMEs, and
    what the student zip carries (the helpers source, pyproject.toml, requirements.txt)."""
    root = tmp_path / "repo"
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    shutil.copytree(nav.ROOT / "notebooks", root / "notebooks", ignore=skip)
    shutil.copytree(nav.ROOT / "helpers", root / "helpers", ignore=skip)
    for name in ("README.md", "README.zh-CN.md", "pyproject.toml", "requirements.txt"):
        shutil.copy(nav.ROOT / name, root / name)
    return root


# ---- A page per notebook, the home page, the teacher page ---------------------------------------


def test_the_chinese_edition_has_every_notebook() -> None:
    assert [p.name for p in ZH] == [p.name for p in NOTEBOOKS], "notebooks/zh/ lacks notebooks: run make translations"


@pytest.mark.parametrize("item", BOTH, ids=_ids)
def test_each_notebook_is_a_page_with_its_title(site_dir: Path, item: tuple[Path, str]) -> None:
    path, folder = item
    page = site_dir / f"{folder}{path.stem}.html"
    assert page.is_file(), f"no page {folder}{page.name} for {path.name}"
    entry = nav.read_entry(path)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S)
    assert h1 and _straight(f"{entry.number} · {entry.title}") in _straight(_text(h1.group(1))), f"{page.name}: the title is not its h1"


def test_home_page_is_the_map_and_links_teachers_and_downloads(site_dir: Path) -> None:
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    hrefs = {v for tag, key, v in Page(index).links if tag == "a"}
    for path in NOTEBOOKS:
        assert f"{path.stem}.html" in hrefs, f"the home page does not link {path.stem}.html"
        assert _straight(nav.read_entry(path).title) in _straight(_text(index)), f"the map lacks {path.stem}'s title"
    assert "teachers.html" in hrefs
    assert f"student/{site.STUDENT_ZIP}" in hrefs


def test_chinese_home_page_is_the_chinese_map(site_dir: Path) -> None:
    index = (site_dir / "zh" / "index.html").read_text(encoding="utf-8")
    hrefs = {v for tag, key, v in Page(index).links if tag == "a"}
    assert '<html lang="zh-CN"' in index
    assert nav.LABELS["zh"].header.split("|")[2].strip() in _text(index), "the Chinese map's header row is missing"
    for path in ZH:
        assert f"{path.stem}.html" in hrefs, f"zh/index.html does not link {path.stem}.html"
        assert _straight(nav.read_entry(path).title) in _straight(_text(index)), f"the Chinese map lacks {path.stem}'s title"
    assert f"student/{site.LANGUAGES['zh'].student_zip}" in hrefs
    assert "../teachers.html" in hrefs, "the Chinese home page does not lead to the (English) teacher page"


def test_every_page_switches_to_the_same_page_in_the_other_language(site_dir: Path) -> None:
    """The switch in the header: English X.html -> zh/X.html ("中文"), zh/X.html -> ../X.html ("English");
    a page the other language lacks (the English-only teacher page) leads to its home page."""
    built = [p for p in pages(site_dir) if p.relative_to(site_dir).parts[0] not in (site.SLIDES_FOLDER,)]
    assert len([p for p in built if p.parent == site_dir / "zh"]) >= len(NOTEBOOKS) + 2
    wrong = []
    for path in built:
        chinese = path.parent == site_dir / "zh"
        found = SWITCH.findall(path.read_text(encoding="utf-8"))
        other = site_dir / path.name if chinese else site_dir / "zh" / path.name
        href = ("../" if chinese else "zh/") + (path.name if other.is_file() else "index.html")
        if found != [(href, "English" if chinese else "中文")]:
            wrong.append(f"{path.relative_to(site_dir)}: {found}, want [{href!r}]")
    assert not wrong, "pages without the right language switch:\n" + "\n".join(wrong)
    assert SWITCH.findall((site_dir / "teachers.html").read_text(encoding="utf-8")) == [("zh/index.html", "中文")]


def test_teacher_page_exists_and_links_the_notebooks(site_dir: Path) -> None:
    page = site_dir / "teachers.html"
    assert page.is_file(), "no teachers.html"
    hrefs = [v for tag, key, v in _page(page).links if tag == "a"]
    assert any(h.startswith("00_start_here.html") for h in hrefs)
    assert any("#" in h and not h.startswith("#") and h.split("#")[0].endswith(".html") for h in hrefs), (
        "the teacher page has no link to a section of a notebook"
    )


def test_teacher_page_links_the_slide_decks_on_the_site(site_dir: Path) -> None:
    hrefs = [v for tag, key, v in _page(site_dir / "teachers.html").links if tag == "a"]
    assert f"{site.SLIDES_FOLDER}/index.html" in hrefs, "the teacher page does not link the slides"
    index = (site_dir / site.SLIDES_FOLDER / "index.html").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        deck = site_dir / site.SLIDES_FOLDER / f"{path.stem}.slides.html"
        assert deck.is_file() and deck.name in index, f"the site has no deck {deck.name}, or its index does not list it"


# ---- Links, and nothing from outside -------------------------------------------------------------


def test_every_internal_link_resolves(site_dir: Path) -> None:
    """Every internal href/src names a file of the site (in its folder: a link that leaves it works
    on this disk only), and every #fragment an id in its page."""
    site_dir = site_dir.resolve()
    parsed = {p: _page(p) for p in pages(site_dir)}
    assert len(parsed) >= len(NOTEBOOKS) + 2
    assert len([p for p in parsed if p.parent == site_dir / "zh"]) >= len(NOTEBOOKS) + 2, "the Chinese pages are not checked"
    broken = []
    for path, page in parsed.items():
        for tag, key, value in page.links:
            if not value or EXTERNAL.match(value):
                continue
            parts = urlsplit(value)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_relative_to(site_dir):
                broken.append(f"{path.name}: <{tag} {key}={value!r}> leaves the site's folder")
                continue
            if not target.is_file():
                broken.append(f"{path.name}: <{tag} {key}={value!r}> names no file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _page(target).ids
                # A browser tries the fragment as written, then decoded (nbconvert's ids in the decks are encoded).
                if parts.fragment not in ids and unquote(parts.fragment) not in ids:
                    broken.append(f"{path.name}: <{tag} {key}={value!r}>: no id {parts.fragment!r} in {target.name}")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:40])


def test_pages_and_styles_load_nothing_from_outside(site_dir: Path) -> None:
    outside = []
    for path in pages(site_dir):
        for tag, key, value in _page(path).links:
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio", "embed") and EXTERNAL.match(value):
                if not value.startswith("data:"):
                    outside.append(f"{path.name}: <{tag} {key}={value}>")
    styles = [(css.relative_to(site_dir), css.read_text(encoding="utf-8", errors="replace")) for css in site_dir.rglob("*.css")]
    for path in pages(site_dir):  # a page's own <style> elements and style="..." attributes
        text = path.read_text(encoding="utf-8")
        styles += [(path.name, s) for s in re.findall(r"<style\b[^>]*>(.*?)</style>", text, re.S | re.I)]
        styles += [(path.name, html.unescape(s)) for s in re.findall(r"""\bstyle\s*=\s*["']([^"']*)""", text, re.I)]
    for where, css in styles:
        for m in CSS_URL.finditer(css):
            url = m.group(1) or m.group(2)
            if EXTERNAL.match(url) and not url.startswith("data:"):
                outside.append(f"{where}: url({url})")
    assert not outside, "the site loads from outside:\n" + "\n".join(outside)


def test_math_is_bundled(site_dir: Path) -> None:
    page = (site_dir / "06_step_and_closure.html").read_text(encoding="utf-8")
    scripts = [v for tag, key, v in Page(page).links if tag == "script" and "mathjax" in v.lower()]
    assert scripts and all((site_dir / urlsplit(s).path).is_file() for s in scripts), scripts
    assert 'class="math' in page and "$$" not in _text(page), "06's display math was not turned into math"


def test_search_index_has_the_api_names(site_dir: Path) -> None:
    index = (site_dir / "searchindex.js").read_text(encoding="utf-8")
    assert (site_dir / "search.html").is_file() and '"zero_grad"' in index


def test_chinese_pages_have_their_own_search_index_with_the_api_names(site_dir: Path) -> None:
    """Without jieba (not pinned) Sphinx's Chinese index holds the Latin terms of the pages, not Chinese words."""
    index = (site_dir / "zh" / "searchindex.js").read_text(encoding="utf-8")
    assert (site_dir / "zh" / "search.html").is_file() and '"zero_grad"' in index
    assert all(f'"{p.stem}"' in index for p in ZH), "a Chinese page is missing from zh/searchindex.js"
    # Sphinx 9.0's Chinese search names a JavaScript stemmer its script does not define (site.chinese_search_language)
    data = (site_dir / "zh" / "_static" / "language_data.js").read_text(encoding="utf-8")
    stemmer = re.search(r"window\.Stemmer = (\w+);", data)
    assert stemmer and re.search(rf"\b(?:var|let|const|class|function)\s+{stemmer.group(1)}\b", data), (
        f"zh/_static/language_data.js sets window.Stemmer to {stemmer and stemmer.group(1)}, which it does not define"
    )


def test_chinese_contents_links_reach_the_map_heading(site_dir: Path) -> None:
    """The navigation line's 目录 link (a JupyterLab anchor of a Chinese heading) leads to the heading above the map."""
    heading = nav.contents_anchor(ZH[0]).replace("-", " ")
    first = (site_dir / "zh" / ZH[0].with_suffix(".html").name).read_text(encoding="utf-8")
    for path in ZH[1:]:
        page = (site_dir / "zh" / f"{path.stem}.html").read_text(encoding="utf-8")
        found = re.findall(rf'<a [^>]*href="{ZH[0].stem}\.html#([^"]+)"[^>]*>\s*(?:<span[^>]*>)?{nav.LABELS["zh"].contents}', page)
        assert found, f"zh/{path.stem}.html: no {nav.LABELS['zh'].contents} link to a section of {ZH[0].stem}.html"
        section = re.search(rf'<section id="{re.escape(found[0])}">\s*(?:<span [^>]*></span>)?\s*<h2>(.*?)</h2>', first, re.S)
        assert section and heading in _text(section.group(1)), f"zh/{path.stem}.html: #{found[0]} is not the heading {heading!r}"


# ---- Images, solutions, errors ----------------------------------------------------------------


def test_every_image_has_alternative_text(site_dir: Path) -> None:
    missing = []
    for path in pages(site_dir):
        for img in _page(path).images:
            if not (img.get("alt") or "").strip():
                missing.append(f"{path.name}: {img.get('src')}")
    assert not missing, (
        f"{len(missing)} images without alternative text (the notebook output needs metadata['image/png']['alt']; "
        "re-execute the notebook):\n" + "\n".join(missing[:30])
    )


def _details_blocks(page: str) -> list[tuple[str, str]]:
    """(opening tag, plain text) of every <details> element (MyST-NB's are not nested)."""
    return [(m.group(1), _text(m.group(2))) for m in re.finditer(r"(<details\b[^>]*>)(.*?)</details>", page, re.S)]


def _run_solutions_output(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "run_solutions(" in c.source]
    return "".join(o.get("text", "") for c in cells for o in c.get("outputs", []) if o.output_type == "stream")


@pytest.mark.parametrize("item", BOTH, ids=_ids)
def test_worked_solutions_are_collapsed_behind_a_labelled_control(site_dir: Path, item: tuple[Path, str]) -> None:
    path, folder = item
    solutions = nav.ROOT / "notebooks" / "solutions" / f"{path.stem}.py"
    assert solutions.is_file()
    checks = re.findall(r"^assert .+$", solutions.read_text(encoding="utf-8"), re.M)  # one per exercise
    assert checks, f"{solutions.name} has no top-level assert to look for"
    page = (site_dir / f"{folder}{path.stem}.html").read_text(encoding="utf-8")
    blocks = [(tag, text) for tag, text in _details_blocks(page) if all(c in text for c in checks)]
    assert blocks, f"{folder}{path.stem}.html: the worked solutions are not inside a <details> element"
    tag, text = blocks[0]
    assert " open" not in tag, "the solutions are shown open"
    words = site.LANGUAGES["zh" if folder else "en"]
    assert words.show_solutions in text, "the control does not say to try first"
    outside = re.sub(r"<details\b.*?</details>", "", page, flags=re.S)
    assert checks[0] not in _text(outside), "solution code is also shown outside the collapsed element"
    if not folder:
        assert "Every worked solution in" in _text(outside), "the run_solutions(...) output is not visible"
    shown = _run_solutions_output(path).strip()
    assert shown, f"{path}: the run_solutions(...) cell has no stored output: execute the notebook"
    assert shown.splitlines()[0] in _straight(_text(outside)), "the run_solutions(...) output is not visible"


def _errors(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(o.ename, o.evalue) for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("item", [(p, f) for p, f in BOTH if _errors(p)], ids=_ids)
def test_error_outputs_read_as_type_and_message(site_dir: Path, item: tuple[Path, str]) -> None:
    path, folder = item
    page = (site_dir / f"{folder}{path.stem}.html").read_text(encoding="utf-8")
    blocks = [_text(m.group(1)) for m in re.finditer(r'<div class="[^"]*traceback[^"]*">(.*?)</div>\s*</div>', page, re.S)]
    errors = _errors(path)
    assert len(blocks) == len(errors), f"{len(errors)} errors stored, {len(blocks)} shown"
    for block, (ename, evalue) in zip(blocks, errors):
        assert block.strip().startswith(f"{ename}: "), block[:200]
        assert evalue.splitlines()[0].strip() in block
        assert not ANSI.search(block), f"ANSI escape left in: {block[:200]!r}"
    assert "\x1b" not in page


# ---- Student downloads ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_student_downloads_exist_without_solutions(site_dir: Path, lang: str) -> None:
    words = site.LANGUAGES[lang]
    folder = site_dir / words.prefix() / site.STUDENT_FOLDER
    notebooks = NOTEBOOKS if lang == "en" else ZH
    assert notebooks
    for path in notebooks:
        copy = folder / path.name
        assert copy.is_file(), f"no student copy of {path.name}"
        assert "run_solutions" not in copy.read_text(encoding="utf-8")
        page = (site_dir / f"{words.prefix()}{path.stem}.html").read_text(encoding="utf-8")
        assert f'href="student/{path.name}"' in page, f"{words.prefix()}{path.stem}.html does not link its student edition"
    with zipfile.ZipFile(folder / words.student_zip) as zf:
        names = zf.namelist()
        for path in notebooks:
            member = f"{words.zip_folder}/{words.notebooks(Path('.')).as_posix()}/{path.name}"
            assert member in names
            assert b"run_solutions" not in zf.read(member)
        assert not any("solutions/" in n for n in names)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_student_zip_unpacks_into_a_folder_that_runs(site_dir: Path, tmp_path: Path, lang: str) -> None:
    """Unzipped: the notebooks, the helpers source, pyproject.toml, requirements.txt (whose `-e .` installs
    helpers from this folder) and a README.txt with the commands; no worked solution anywhere."""
    words = site.LANGUAGES[lang]
    with zipfile.ZipFile(site_dir / words.prefix() / site.STUDENT_FOLDER / words.student_zip) as zf:
        zf.extractall(tmp_path / "unzipped")
    top = tmp_path / "unzipped" / words.zip_folder
    assert [p.name for p in (tmp_path / "unzipped").iterdir()] == [words.zip_folder], "the zip must unpack into one folder"
    notebooks = words.notebooks(top)
    assert [p.name for p in nav.notebooks(notebooks)] == [p.name for p in NOTEBOOKS]
    assert sorted(p.name for p in (top / "notebooks" / "distributed").glob("*.py")) == sorted(
        p.name for p in (nav.ROOT / "notebooks" / "distributed").glob("*.py")
    )
    requirements = (top / "requirements.txt").read_text(encoding="utf-8")
    assert "-e ." in requirements.splitlines() and (top / "pyproject.toml").is_file()
    readme = (top / "README.txt").read_text(encoding="utf-8")
    for command in ("python3 -m venv .venv", ".venv/bin/python -m pip install -r requirements.txt", ".venv/bin/jupyter lab"):
        assert command in readme, f"README.txt lacks {command!r}"
    assert f"{notebooks.relative_to(top).as_posix()}/00_start_here.ipynb" in readme
    # No worked solution: no solutions folder, no run_solutions cell, no solution's assert in a notebook.
    assert not list(top.rglob("solutions"))
    answers = [a for f in (nav.ROOT / "notebooks" / "solutions").glob("*.py") for a in re.findall(r"^assert .+$", f.read_text(encoding="utf-8"), re.M)]
    for path in nav.notebooks(notebooks):
        text = path.read_text(encoding="utf-8")
        assert "run_solutions(" not in text and not [a for a in answers if a in text], f"{path.name} holds a solution"
    # `-e .` finds the package: helpers imports from the folder, and setuptools builds it offline from there.
    env = {**os.environ, "PYTHONPATH": str(top)}
    found = subprocess.run(
        [sys.executable, "-c", "import helpers, helpers.exercises; print(helpers.__file__)"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert found.returncode == 0, found.stderr[-2000:]
    assert Path(found.stdout.strip()).resolve() == (top / "helpers" / "__init__.py").resolve()
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir",
         "-q", "-w", str(tmp_path / "wheel"), str(top)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    assert "README.md" not in built.stderr, "pyproject.toml names a README the zip lacks"
    (wheel,) = (tmp_path / "wheel").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        assert {"helpers/__init__.py", "helpers/exercises/__init__.py", "helpers/i18n/zh/core.json"} <= set(zf.namelist())


# ---- The parts, on small inputs ---------------------------------------------------------------


def test_jupyterlab_anchors_of_chinese_headings_become_the_site_heading_ids() -> None:
    anchors = site.anchor_map({"00.ipynb": ["# 00 · 从这里开始", "## 5. 全系列总览：`step()` 之后"]})
    text = "[目录](00.ipynb#5.-全系列总览：step()-之后) [x](#5.-全系列总览：step()-之后)"
    assert site.rewrite_anchors(text, "00.ipynb", anchors) == "[目录](00.ipynb#5-全系列总览step-之后) [x](#5-全系列总览step-之后)"


def test_jupyterlab_anchors_become_the_site_heading_ids() -> None:
    anchors = site.anchor_map({"a.ipynb": ["# 01 · Title", "## 6. Changing a group's `lr` at `step()`\n\n## Pitfalls"]})
    text = "[x](a.ipynb#6.-Changing-a-group's-lr-at-step()) [y](#Pitfalls) [z](a.ipynb#Nowhere) [w](b.ipynb)"
    assert site.rewrite_anchors(text, "a.ipynb", anchors) == (
        "[x](a.ipynb#6-changing-a-groups-lr-at-step) [y](#pitfalls) [z](a.ipynb#Nowhere) [w](b.ipynb)"
    )


def _notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    error = nbformat.v4.new_output("error", ename="ValueError", evalue="bad lr", traceback=["\x1b[31mValueError\x1b[39m: bad lr"])
    widget = nbformat.v4.new_output(
        "display_data",
        data={"text/plain": "summary", "image/png": "iVBORw0KGgo=", site.WIDGET_VIEW: {"model_id": "x"}},
        metadata={"image/png": {"alt": "summary"}},
    )
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 00 · T"),
        nbformat.v4.new_code_cell("raise ValueError", outputs=[error]),
        nbformat.v4.new_code_cell("playground()", outputs=[widget]),
        nbformat.v4.new_markdown_cell("### Solutions\n\nTry first."),
        nbformat.v4.new_code_cell('run_solutions("solutions/00_t.py")'),
        nbformat.v4.new_markdown_cell("<!-- nav -->\n[Contents](#x)"),
    ]
    nb.metadata["widgets"] = {"state": {}}
    return nb


def test_site_notebook_prepares_errors_widgets_solutions_and_download() -> None:
    page = site.site_notebook(_notebook(), "00_t.ipynb", "def answer():\n    return 1\n", {})
    sources = [c.source for c in page.cells]
    assert 'href="student/00_t.ipynb"' in sources[1]
    assert page.cells[2].outputs[0].traceback == ["ValueError: bad lr"]
    assert site.WIDGET_VIEW not in page.cells[3].outputs[0].data and "image/png" in page.cells[3].outputs[0].data
    assert "widgets" not in page.metadata
    # after "### Solutions" and the run_solutions(...) cell, collapsed
    assert sources[4].startswith("### Solutions") and sources[5].startswith("run_solutions(")
    assert sources[6].startswith("def answer") and page.cells[6].metadata["tags"] == ["hide-input"]


def test_site_notebook_in_chinese_words_its_download_and_solutions_and_relinks_one_folder_up() -> None:
    nb = _notebook()
    nb.cells[3].source = "### 答案\n\n完整答案在 [solutions/00_t.py](../solutions/00_t.py)，脚本在 [这里](../distributed)。"
    page = site.site_notebook(nb, "00_t.ipynb", "x = 1\n", {}, lang="zh")
    zh = site.LANGUAGES["zh"]
    assert page.cells[1].source.startswith('<a class="student-download" href="student/00_t.ipynb" download>下载')
    assert "](solutions/00_t.py)" in page.cells[4].source and "](distributed.md)" in page.cells[4].source
    assert page.cells[6].source == "x = 1\n" and page.cells[6].metadata["mystnb"]["code_prompt_show"] == zh.show_solutions
    with pytest.raises(site.SiteBuildError, match="no '### 答案' markdown cell"):
        site.site_notebook(_notebook(), "00_t.ipynb", "x = 1\n", {}, lang="zh")  # an English heading on a Chinese page


def test_relink_leaves_english_links_one_folder_up_alone() -> None:
    assert site.relink("[a](../solutions/x.py) [b](distributed)") == "[a](../solutions/x.py) [b](distributed.md)"
    assert site.relink("[a](../solutions/x.py) [b](../distributed/)", "zh") == "[a](solutions/x.py) [b](distributed.md)"


def test_language_switch_leads_to_the_same_page_or_the_home_page() -> None:
    english = site.language_switch(nav.ROOT, "en")
    chinese = site.language_switch(nav.ROOT, "zh")
    assert (english["label"], english["lang"], chinese["label"], chinese["lang"]) == ("中文", "zh-CN", "English", "en")
    assert site.switch_target("01_param_groups", english) == "zh/01_param_groups.html"
    assert site.switch_target("teachers", english) == "zh/index.html"  # the teacher page is English only
    assert site.switch_target("teachers", chinese) == "../teachers.html"
    assert site.switch_target("search", chinese) == "../search.html"


def _fake_repo(tmp_path: Path, english: list[str], chinese: list[str]) -> Path:
    for folder, names in ((tmp_path / "notebooks", english), (tmp_path / "notebooks" / "zh", chinese)):
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:
            (folder / name).write_text("{}")
    return tmp_path


def test_build_stops_when_the_chinese_edition_lacks_a_notebook(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path / "repo", ["00_a.ipynb", "01_b.ipynb", "02_c.ipynb"], ["00_a.ipynb", "02_c.ipynb"])
    with pytest.raises(site.SiteBuildError, match=r"zh lacks 01_b\.ipynb: the 中文 edition is part of the site; generate it with `make translations`"):
        site.build_site(tmp_path / "site", root=root)
    assert not (tmp_path / "site").exists() and not (tmp_path / "site-src").exists()
    shutil.rmtree(root / "notebooks" / "zh")
    with pytest.raises(site.SiteBuildError, match=r"lacks 00_a\.ipynb, 01_b\.ipynb, 02_c\.ipynb"):
        site.build_site(tmp_path / "site", root=root)


def test_build_stops_on_a_chinese_notebook_without_an_english_one(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path / "repo", ["00_a.ipynb"], ["00_a.ipynb", "01_old.ipynb"])
    with pytest.raises(site.SiteBuildError, match=r"has 01_old\.ipynb, which no English notebook matches"):
        site.edition_notebooks(root)


def test_student_zip_needs_the_package_files(tmp_path: Path) -> None:
    root = _fake_repo(tmp_path / "repo", ["00_a.ipynb"], [])
    with pytest.raises(site.SiteBuildError, match="needs requirements.txt, pyproject.toml, helpers/__init__.py"):
        site.student_zip(root / "notebooks", root)


def test_site_notebook_refuses_solutions_without_a_solutions_heading() -> None:
    nb = _notebook()
    del nb.cells[3]
    with pytest.raises(site.SiteBuildError, match="Solutions"):
        site.site_notebook(nb, "00_t.ipynb", "x = 1\n", {})


def test_build_refuses_a_folder_that_is_not_a_site(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(site.SiteBuildError, match="not a site built before"):
        site.build_site(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_stored_alt_text_reaches_the_page_and_no_alt_is_invented(tmp_path: Path) -> None:
    """A copy of the repository whose first notebook image has alt metadata: the page shows it,
    and an image without it gets an empty alt (not its file name)."""
    root = _copy_repo(tmp_path)
    for path in nav.notebooks(root / "notebooks"):  # the first with two images
        nb = nbformat.read(path, as_version=4)
        images = [o for c in nb.cells for o in c.get("outputs", []) if "image/png" in o.get("data", {})]
        if len(images) >= 2:
            break
    assert len(images) >= 2, "no notebook has two images for this test"
    for output in images:
        output.setdefault("metadata", {}).get("image/png", {}).pop("alt", None)
    images[0].metadata["image/png"] = {"alt": "A test description"}
    nbformat.write(nb, path)
    site.build_site(tmp_path / "site", root=root)
    imgs = _page(tmp_path / "site" / f"{path.stem}.html").images
    alts = [img.get("alt") for img in imgs]
    assert "A test description" in alts
    assert "" in alts and not any(a and a.endswith(".png") for a in alts)


def test_build_keeps_a_source_folder_it_did_not_write(tmp_path: Path) -> None:
    """The sources go to OUT-src next to OUT and are replaced each build: only when they are ours."""
    src = tmp_path / "site-src"
    src.mkdir()
    (src / "precious.txt").write_text("keep me")
    with pytest.raises(site.SiteBuildError, match="site-src exists and is not the sources of a site built before"):
        site.build_site(tmp_path / "site")
    assert (src / "precious.txt").read_text() == "keep me"
    assert not (tmp_path / "site").exists()


def test_sources_are_rewritten_over_their_earlier_folder(tmp_path: Path) -> None:
    src = tmp_path / "site-src"
    site.write_sources(src, nav.ROOT)
    (src / "00_old_name.ipynb").write_text("{}")  # a notebook renamed since
    site.write_sources(src, nav.ROOT)
    assert not (src / "00_old_name.ipynb").exists() and (src / "conf.py").is_file()


def test_build_refuses_a_file_for_its_folder(tmp_path: Path) -> None:
    (tmp_path / "site").write_text("not a folder")
    with pytest.raises(site.SiteBuildError, match="site is a file, not a folder"):
        site.build_site(tmp_path / "site")


def test_a_notebook_without_its_in_class_line_stops_the_build_with_a_message(tmp_path: Path) -> None:
    """A notebook added without the teacher's In class line: make site says which, no traceback."""
    root = _copy_repo(tmp_path)
    path = root / "notebooks" / "03_state_dict.ipynb"
    nb = nbformat.read(path, as_version=4)
    nb.cells[0].source = re.sub(r"\*\*In class\*\*[^\n]*", "", nb.cells[0].source)
    nbformat.write(nb, path)
    with pytest.raises(site.SiteBuildError, match=r"03_state_dict\.ipynb: the line after the Time line"):
        site.build_site(tmp_path / "site", root=root)
