"""The static site in Chromium, offline: every request to a host other than 127.0.0.1 is aborted.

Opens the pages of notebooks 00, 01 and 06 from a local file server and checks what a reader
sees: the pictures load, 06's formulas are typeset by the bundled MathJax, the widget cells show
their stored picture, search answers, and nothing was fetched from outside; and the Chinese 01
(``zh/01_param_groups.html``) the same way, with its language switch leading to the English 01.
Screenshots of the pages (site-00.png, site-01.png, site-06.png, site-zh-01.png) go to
build/screenshots/ ($SCREENSHOT_DIR).
The site is ``$SITE_DIR`` when that names a built site (CI runs ``make site`` first), else a
fresh build.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from helpers import nav, site

pytestmark = [
    pytest.mark.browser,
    # sphinx-book-theme 1.4.0 and myst-parser 5.2.0 read `self.app`, which Sphinx 9 deprecates (for Sphinx 11).
    pytest.mark.filterwarnings("ignore:.*Check CHANGES for Sphinx API modifications"),
]

PAGES = ("00_start_here", "01_param_groups", "06_step_and_closure")
NOTEBOOKS = nav.ROOT / "notebooks"

IMAGES = """() => [...document.querySelectorAll('img')].map(img => ({
    src: img.getAttribute('src'), alt: img.getAttribute('alt'), loaded: img.complete && img.naturalWidth > 0,
}))"""
MATH_DONE = """() => window.MathJax && MathJax.startup && MathJax.startup.promise
    && document.querySelectorAll('mjx-container').length > 0"""
MATH = """async () => {
    await MathJax.startup.promise;
    const math = [...document.querySelectorAll('.math')];
    return {
        math: math.length,
        typeset: math.filter(e => e.querySelector('mjx-container')).length,
        errors: document.querySelectorAll('mjx-merror').length,
        text: document.querySelector('main').innerText,
    };
}"""


@pytest.fixture(scope="module")
def site_url(serve, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The site's address on 127.0.0.1: ``$SITE_DIR`` if it names a built site, else a fresh build."""
    given = os.environ.get("SITE_DIR")
    if given:
        folder = Path(given)
        if not (folder / "index.html").is_file():
            pytest.fail(f"SITE_DIR={given} has no index.html: run make site first, or unset SITE_DIR", pytrace=False)
    else:
        folder = tmp_path_factory.mktemp("browser-site") / "site"
        site.build_site(folder)
    return serve(folder)


def _open(page, url: str) -> None:
    page.goto(url, wait_until="networkidle")
    if page.evaluate("() => !!document.querySelector('.math')"):
        page.wait_for_function(MATH_DONE)
        page.evaluate("() => MathJax.startup.promise")


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_offline_with_every_picture(offline_page, site_url: str, screenshot, name: str) -> None:
    errors: list[str] = []  # what the page's scripts log as errors (the theme's, search's, MathJax's)
    offline_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _open(offline_page, f"{site_url}{name}.html")
    images = offline_page.evaluate(IMAGES)
    shot = screenshot(offline_page, f"site-{name[:2]}")
    assert shot.is_file()
    assert images, f"{name}.html shows no image"
    broken = [i["src"] for i in images if not i["loaded"]]
    assert not broken, f"{name}.html: images that did not load: {broken}"
    assert offline_page.blocked == [], f"{name}.html asked for outside resources: {offline_page.blocked}"
    assert not errors, f"{name}.html logged errors: {errors}"


def test_math_of_06_is_typeset_by_the_bundled_mathjax(offline_page, site_url: str) -> None:
    _open(offline_page, f"{site_url}06_step_and_closure.html")
    result = offline_page.evaluate(MATH)
    assert result["math"] >= 10, f"only {result['math']} math elements on 06's page"
    assert result["typeset"] == result["math"], f"{result['math'] - result['typeset']} formulas not typeset"
    assert result["errors"] == 0, "MathJax reported errors in formulas"
    for raw in ("$$", "\\leftarrow", "\\texttt"):
        assert raw not in result["text"], f"raw TeX {raw!r} is left on the page"
    assert offline_page.blocked == [], offline_page.blocked


def _widget_alts(name: str, folder: Path = NOTEBOOKS) -> list[str]:
    """The alternative text stored with the picture of each widget cell of notebook ``name`` in ``folder``."""
    nb = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    cells = [c for c in nb.cells if c.cell_type == "code" and "playground(" in c.source]
    assert cells, f"{name} has no widget cell (a call to a *_playground(...) helper)"
    alts = []
    for cell in cells:
        found = [
            str(o.get("metadata", {}).get("image/png", {}).get("alt", ""))
            for o in cell.get("outputs", [])
            if "image/png" in o.get("data", {})
        ]
        assert found and found[0], (
            f"{folder.name}/{name}: the widget cell {cell.source.splitlines()[0]!r} stores no picture with alt text; "
            "re-execute the notebook (make execute, or make translations for notebooks/zh)"
        )
        alts.append(found[0])
    return alts


@pytest.mark.parametrize("name", ("01_param_groups", "06_step_and_closure"))
def test_widget_cells_show_their_picture(offline_page, site_url: str, name: str) -> None:
    alts = _widget_alts(name)
    _open(offline_page, f"{site_url}{name}.html")
    images = offline_page.evaluate(IMAGES)
    for alt in alts:
        shown = [i for i in images if i["alt"] == alt]
        assert shown, f"{name}.html: no picture with the widget's description {alt[:80]!r}"
        assert all(i["loaded"] for i in shown), f"{name}.html: the widget's picture did not load"
    assert "VBox(children=" not in offline_page.inner_text("main"), "a widget shows as VBox(...) text"


def test_chinese_01_loads_offline_with_its_widget_picture_and_switches_to_english(offline_page, site_url: str, screenshot) -> None:
    errors: list[str] = []
    offline_page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    _open(offline_page, f"{site_url}zh/01_param_groups.html")
    assert offline_page.evaluate("() => document.documentElement.lang") == "zh-CN"
    images = offline_page.evaluate(IMAGES)
    assert screenshot(offline_page, "site-zh-01").is_file()
    assert images, "zh/01_param_groups.html shows no image"
    broken = [i["src"] for i in images if not i["loaded"]]
    assert not broken, f"zh/01_param_groups.html: images that did not load: {broken}"
    for alt in _widget_alts("01_param_groups", NOTEBOOKS / site.EDITION):
        shown = [i for i in images if i["alt"] == alt]
        assert shown and all(i["loaded"] for i in shown), f"zh/01_param_groups.html: no loaded widget picture {alt[:80]!r}"
    assert "VBox(children=" not in offline_page.inner_text("main"), "a widget shows as VBox(...) text"
    switch = offline_page.locator("a.language-switch")
    assert switch.count() == 1 and switch.is_visible() and switch.inner_text().strip() == "English"
    switch.click()
    offline_page.wait_for_url(f"{site_url}01_param_groups.html")
    title = nav.read_entry(NOTEBOOKS / "01_param_groups.ipynb").title
    assert title.split(":")[0] in offline_page.inner_text("h1"), "the switch did not lead to the English 01"
    back = offline_page.locator("a.language-switch")
    assert back.inner_text().strip() == "中文" and back.get_attribute("href") == "zh/01_param_groups.html"
    assert offline_page.blocked == [], offline_page.blocked
    assert not errors, f"logged errors: {errors}"


@pytest.mark.parametrize("folder", ["", f"{site.EDITION}/"], ids=["en", "zh"])
def test_search_finds_zero_grad_offline(offline_page, site_url: str, folder: str) -> None:
    """Each language searches its own pages (the Chinese ones by their Latin terms: jieba is not pinned)."""
    offline_page.goto(f"{site_url}{folder}search.html?q=zero_grad", wait_until="networkidle")
    results = offline_page.locator("#search-results ul.search li")
    results.first.wait_for()
    texts = results.all_inner_texts()
    assert any("zero_grad" in t for t in texts), texts[:5]
    links = results.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert links and all(link.startswith(f"{site_url}{folder}") and f"{site_url}{folder}".count("/") == link.count("/") for link in links), links[:5]
    assert offline_page.blocked == [], offline_page.blocked
