"""The static site (``make site``, helpers/site.py), checked in its HTML files (no browser).

The site is built once per session into a temporary folder, or taken from ``$SITE_DIR`` when
that names a built site (CI runs ``make site`` first). tests/browser/test_site.py opens it in
Chromium.
"""

from __future__ import annotations

import html
import os
import re
import shutil
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


# ---- A page per notebook, the home page, the teacher page ---------------------------------------


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_each_notebook_is_a_page_with_its_title(site_dir: Path, path: Path) -> None:
    page = site_dir / f"{path.stem}.html"
    assert page.is_file(), f"no page {page.name} for {path.name}"
    entry = nav.read_entry(path)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S)
    assert h1 and f"{entry.number} · {entry.title}" in _straight(_text(h1.group(1))), f"{page.name}: the title is not its h1"


def test_home_page_is_the_map_and_links_teachers_and_downloads(site_dir: Path) -> None:
    index = (site_dir / "index.html").read_text(encoding="utf-8")
    hrefs = {v for tag, key, v in Page(index).links if tag == "a"}
    for path in NOTEBOOKS:
        assert f"{path.stem}.html" in hrefs, f"the home page does not link {path.stem}.html"
        assert _straight(nav.read_entry(path).title) in _straight(_text(index)), f"the map lacks {path.stem}'s title"
    assert "teachers.html" in hrefs
    assert f"student/{site.STUDENT_ZIP}" in hrefs


def test_teacher_page_exists_and_links_the_notebooks(site_dir: Path) -> None:
    page = site_dir / "teachers.html"
    assert page.is_file(), "no teachers.html"
    hrefs = [v for tag, key, v in _page(page).links if tag == "a"]
    assert any(h.startswith("00_start_here.html") for h in hrefs)
    assert any("#" in h and not h.startswith("#") and h.split("#")[0].endswith(".html") for h in hrefs), (
        "the teacher page has no link to a section of a notebook"
    )


# ---- Links, and nothing from outside -------------------------------------------------------------


def test_every_internal_link_resolves(site_dir: Path) -> None:
    """Every internal href/src names a file of the site, and every #fragment an id in its page."""
    parsed = {p: _page(p) for p in pages(site_dir)}
    assert len(parsed) >= len(NOTEBOOKS) + 2
    broken = []
    for path, page in parsed.items():
        for tag, key, value in page.links:
            if not value or EXTERNAL.match(value):
                continue
            parts = urlsplit(value)
            target = path if not parts.path else (path.parent / unquote(parts.path)).resolve()
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{path.name}: <{tag} {key}={value!r}> names no file")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = parsed[target].ids if target in parsed else _page(target).ids
                if unquote(parts.fragment) not in ids:
                    broken.append(f"{path.name}: <{tag} {key}={value!r}>: no id {parts.fragment!r} in {target.name}")
    assert not broken, f"{len(broken)} broken links:\n" + "\n".join(broken[:40])


def test_pages_and_styles_load_nothing_from_outside(site_dir: Path) -> None:
    outside = []
    for path in pages(site_dir):
        for tag, key, value in _page(path).links:
            if tag in ("script", "link", "img", "iframe", "source", "video", "audio", "embed") and EXTERNAL.match(value):
                if not value.startswith("data:"):
                    outside.append(f"{path.name}: <{tag} {key}={value}>")
    for css in site_dir.rglob("*.css"):
        for m in CSS_URL.finditer(css.read_text(encoding="utf-8", errors="replace")):
            url = m.group(1) or m.group(2)
            if EXTERNAL.match(url) and not url.startswith("data:"):
                outside.append(f"{css.relative_to(site_dir)}: url({url})")
    assert not outside, "the site loads from outside:\n" + "\n".join(outside)


def test_math_is_bundled(site_dir: Path) -> None:
    page = (site_dir / "06_step_and_closure.html").read_text(encoding="utf-8")
    scripts = [v for tag, key, v in Page(page).links if tag == "script" and "mathjax" in v.lower()]
    assert scripts and all((site_dir / urlsplit(s).path).is_file() for s in scripts), scripts
    assert 'class="math' in page and "$$" not in _text(page), "06's display math was not turned into math"


def test_search_index_has_the_api_names(site_dir: Path) -> None:
    index = (site_dir / "searchindex.js").read_text(encoding="utf-8")
    assert (site_dir / "search.html").is_file() and '"zero_grad"' in index


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


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_worked_solutions_are_collapsed_behind_a_labelled_control(site_dir: Path, path: Path) -> None:
    solutions = path.parent / "solutions" / f"{path.stem}.py"
    assert solutions.is_file()
    checks = re.findall(r"^assert .+$", solutions.read_text(encoding="utf-8"), re.M)  # one per exercise
    assert checks, f"{solutions.name} has no top-level assert to look for"
    page = (site_dir / f"{path.stem}.html").read_text(encoding="utf-8")
    blocks = [(tag, text) for tag, text in _details_blocks(page) if all(c in text for c in checks)]
    assert blocks, f"{path.stem}.html: the worked solutions are not inside a <details> element"
    tag, text = blocks[0]
    assert " open" not in tag, "the solutions are shown open"
    assert site.SHOW_SOLUTIONS in text, "the control does not say to try first"
    outside = re.sub(r"<details\b.*?</details>", "", page, flags=re.S)
    assert checks[0] not in _text(outside), "solution code is also shown outside the collapsed element"
    assert "Every worked solution in" in _text(outside), "the run_solutions(...) output is not visible"


def _errors(path: Path) -> list[tuple[str, str]]:
    nb = nbformat.read(path, as_version=4)
    return [(o.ename, o.evalue) for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if _errors(p)], ids=lambda p: p.stem)
def test_error_outputs_read_as_type_and_message(site_dir: Path, path: Path) -> None:
    page = (site_dir / f"{path.stem}.html").read_text(encoding="utf-8")
    blocks = [_text(m.group(1)) for m in re.finditer(r'<div class="[^"]*traceback[^"]*">(.*?)</div>\s*</div>', page, re.S)]
    errors = _errors(path)
    assert len(blocks) == len(errors), f"{len(errors)} errors stored, {len(blocks)} shown"
    for block, (ename, evalue) in zip(blocks, errors):
        assert block.strip().startswith(f"{ename}: "), block[:200]
        assert evalue.splitlines()[0].strip() in block
        assert not ANSI.search(block), f"ANSI escape left in: {block[:200]!r}"
    assert "\x1b" not in page


# ---- Student downloads ------------------------------------------------------------------------


def test_student_downloads_exist_without_solutions(site_dir: Path) -> None:
    folder = site_dir / site.STUDENT_FOLDER
    for path in NOTEBOOKS:
        copy = folder / path.name
        assert copy.is_file(), f"no student copy of {path.name}"
        assert "run_solutions" not in copy.read_text(encoding="utf-8")
        page = (site_dir / f"{path.stem}.html").read_text(encoding="utf-8")
        assert f'href="student/{path.name}"' in page, f"{path.stem}.html does not link its student edition"
    with zipfile.ZipFile(folder / site.STUDENT_ZIP) as zf:
        names = zf.namelist()
        for path in NOTEBOOKS:
            member = f"optimizer-notebooks/{path.name}"
            assert member in names
            assert b"run_solutions" not in zf.read(member)
        assert not any("solutions/" in n for n in names)


# ---- The parts, on small inputs ---------------------------------------------------------------


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
    root = tmp_path / "repo"
    shutil.copytree(nav.ROOT / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(nav.ROOT / "README.md", root / "README.md")
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
