"""A slide deck in Chromium, offline: reveal.js starts, MathJax typesets, the keys move, the
speaker notes open, and nothing is fetched from outside 127.0.0.1.

The decks come from ``$SLIDES_DIR`` when set (CI builds them first with ``make slides``), else
they are built into a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import slides

pytestmark = pytest.mark.browser

DECK = "06_step_and_closure.slides.html"
READY = "() => window.Reveal && Reveal.isReady() && window.MathJax && MathJax.startup && MathJax.startup.document"
TYPESET = "() => MathJax.startup.promise.then(() => document.querySelectorAll('.reveal .slides mjx-container').length)"
INDICES = "() => Reveal.getIndices()"
FIRST_WITH_SUBSLIDES = """() => Reveal.getHorizontalSlides().findIndex(
    section => section.querySelectorAll(':scope > section').length > 1)"""
RAW_MATH = """() => [...document.querySelectorAll('.reveal .slides .jp-MarkdownOutput')]
    .some(cell => /\\$\\$|\\$[^$\\s][^$]*\\$/.test(cell.textContent))"""
ZOOMED_TOO_FAR = """() => { const slide = Reveal.getCurrentSlide();
    return slide.scrollHeight * (Number(slide.style.zoom) || 1) > Reveal.getConfig().height * 1.05; }"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> Path:
    given = os.environ.get("SLIDES_DIR")
    if given:
        folder = Path(given)
        assert (folder / DECK).is_file(), f"SLIDES_DIR={given} holds no {DECK}: run `make slides` (or unset SLIDES_DIR)"
        return folder
    folder = tmp_path_factory.mktemp("slides")
    slides.build(folder)
    return folder


def test_a_deck_runs_offline_and_moves_with_the_keys(decks, serve, offline_page, screenshot):
    page = offline_page
    failed: list[str] = []
    page.on("response", lambda response: failed.append(f"{response.status} {response.url}") if response.status >= 400 else None)
    page.on("pageerror", lambda error: failed.append(f"script error: {error}"))
    page.goto(serve(decks) + DECK)
    page.wait_for_function(READY)
    assert page.evaluate(TYPESET) > 10, "MathJax typeset no formula"
    assert not page.evaluate(RAW_MATH), "a formula is left as raw $...$ text"

    # The speaker notes open from the title slide and show its "In class" line.
    with page.context.expect_page() as opened:
        page.keyboard.press("s")
    notes = opened.value
    notes.wait_for_function("() => document.querySelector('.speaker-controls-notes .value')")
    notes.wait_for_function("() => document.querySelector('.speaker-controls-notes .value').textContent.includes('In class')")
    notes.close()

    before = page.evaluate(INDICES)
    assert (before["h"], before["v"]) == (0, 0)
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Reveal.getIndices().h === 1")
    assert page.evaluate(INDICES) != before
    shown = page.locator(".reveal .slides section.present section.present, .reveal .slides > section.present:not(.stack)").first
    assert shown.locator("mjx-container").count() > 0, "section 1's formulas are not typeset on its slide"
    assert not page.evaluate(ZOOMED_TOO_FAR)
    screenshot(page, "slides-06.png")

    stack = page.evaluate(FIRST_WITH_SUBSLIDES)
    assert stack >= 1, "no section of the deck has vertical subslides"
    page.evaluate("(h) => Reveal.slide(h, 0)", stack)
    page.keyboard.press("ArrowDown")
    page.wait_for_function("(h) => { const i = Reveal.getIndices(); return i.h === h && i.v === 1; }", arg=stack)
    assert page.locator(".reveal .slides section.present section.present .jp-Cell").count() > 0, "the subslide is empty"

    assert page.blocked == [], f"requests outside 127.0.0.1: {page.blocked}"
    assert failed == [], f"failed requests or script errors: {failed}"
