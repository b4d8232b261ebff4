"""Widgets and figures read without a kernel: each widget's static picture, every figure's alt text."""

from __future__ import annotations

import base64
import io
import warnings
from pathlib import Path

import ipywidgets as w
import matplotlib
import nbformat
import pytest
from IPython.core.formatters import DisplayFormatter
from nbclient import NotebookClient
from nbconvert import HTMLExporter
from PIL import Image

import helpers
from helpers import lr_groups_playground, optimizer_playground, schedule_playground, widgets
from helpers.execute import WIDGET_VIEW, clean
from helpers.widgets import STATIC_NOTE, StaticPicture, compose_static_picture, control_readout, playground
from notebook_rules import check_notebook
from test_notebook_structure import _code, _good, _write

WIDGETS = {
    "optimizer_playground": lambda: optimizer_playground("rosenbrock"),
    "lr_groups_playground": lambda: lr_groups_playground(steps=20),
    "schedule_playground": lambda: schedule_playground(steps=30),
}


def _controls(box) -> list:
    found = [box] if isinstance(box, w.ValueWidget) and not isinstance(box, (w.HTML, w.Image)) else []
    for child in getattr(box, "children", ()):
        found += _controls(child)
    return found


def _png(data: str) -> Image.Image:
    raw = base64.b64decode(data)
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(raw))


@pytest.mark.parametrize("name", sorted(WIDGETS))
def test_widget_bundle_has_picture_text_alt_and_live_view(name):
    box = WIDGETS[name]()
    data, metadata = box._repr_mimebundle_()
    text = data["text/plain"]
    assert text.startswith(STATIC_NOTE + ". ") and "\n" not in text
    controls = _controls(box)
    assert len(controls) == 4 if name != "lr_groups_playground" else len(controls) == 2
    for control in controls:
        assert f"{control.description}: " in text, (control.description, text)
    summary = next(c for c in box.children if isinstance(c, w.HTML)).value
    assert text.endswith(" → " + summary)
    assert metadata == {"image/png": {"alt": text}}
    assert data[WIDGET_VIEW]["model_id"] == box.model_id  # JupyterLab still gets the live widget
    image = _png(data["image/png"])
    picture = Image.open(io.BytesIO(next(c for c in box.children if isinstance(c, w.Image)).value))
    assert 660 <= image.width <= 1000 and picture.height + 80 <= image.height <= picture.height + 250
    assert image.width >= picture.width


def test_text_names_each_value_as_the_control_shows_it():
    box = optimizer_playground("bowl", steps=10, optimizer="Adam", lr=0.01)
    text = box.static_text()
    assert "surface: bowl · optimizer: Adam · lr: 0.0100 · beta1: 0.90 → Adam lr=0.01 momentum=0.9: after 10 steps" in text
    assert optimizer_playground("bowl", steps=10, optimizer="Adam", lr=0.01).static_text() == text  # nbval compares it


def test_picture_is_of_the_state_when_displayed():
    box = lr_groups_playground(steps=10)
    first = box._repr_mimebundle_()[0]
    slider = next(c for c in _controls(box) if c.description == "lr body")
    slider.value = 0.1
    second = box._repr_mimebundle_()[0]
    assert "lr body: 0.1000" in second["text/plain"] and "body 0.1," in second["text/plain"]
    assert second["image/png"] != first["image/png"]


def test_ipython_display_formatter_keeps_live_view_and_adds_picture():
    box = schedule_playground(steps=20)
    data, metadata = DisplayFormatter().format(box)
    assert set(data) == {"text/plain", "image/png", WIDGET_VIEW}
    assert data["text/plain"] == metadata["image/png"]["alt"] == box.static_text()


def test_every_widget_factory_uses_the_mechanism():
    factories = [name for name in helpers.__all__ if name.endswith("_playground")]
    assert sorted(factories) == sorted(WIDGETS), "a new widget: add it to WIDGETS above"
    for name in factories:
        made = getattr(helpers, name)(**({"steps": 5} if name != "optimizer_playground" else {"steps": 5, "fn": "bowl"}))
        assert isinstance(made, StaticPicture) and isinstance(made, w.VBox), f"{name} does not return helpers.widgets.playground(...)"


def test_playground_refuses_what_is_not_a_widget():
    summary, picture = w.HTML(), w.Image(format="png")
    with pytest.raises(TypeError, match="rows must be lists of ipywidgets controls"):
        playground([["lr"]], summary, picture)
    with pytest.raises(TypeError, match="rows must be lists"):
        playground([], summary, picture)
    with pytest.raises(TypeError, match="summary must be an ipywidgets HTML and picture an ipywidgets Image, got str and Image"):
        playground([[w.IntSlider()]], "loss 1", picture)


def test_control_readout_uses_the_controls_own_format():
    assert control_readout(w.FloatLogSlider(value=1e-3, min=-4, max=0, description="lr", readout_format=".4f")) == "lr: 0.0010"
    assert control_readout(w.FloatSlider(value=0.9, description="momentum")) == "momentum: 0.90"
    assert control_readout(w.IntSlider(value=10, description="warm-up")) == "warm-up: 10"
    assert control_readout(w.Dropdown(options=["SGD", "Adam"], value="Adam", description="optimizer")) == "optimizer: Adam"
    assert control_readout(w.FloatSlider(value=0.5, description="x", readout_format=".2s")) == "x: 0.5"  # d3's SI format


def test_long_lines_wrap_and_the_picture_grows():
    small = Image.new("RGB", (200, 100), "white")
    buffer = io.BytesIO()
    small.save(buffer, format="PNG")
    short = Image.open(io.BytesIO(compose_static_picture(["lr: 0.1"], buffer.getvalue(), "loss 1")))
    long = Image.open(io.BytesIO(compose_static_picture([f"control {k}: {k}.000" for k in range(12)], buffer.getvalue(), "word " * 80)))
    assert short.width == long.width == 660
    assert long.height > short.height + 100


def test_summary_markup_is_read_as_text():
    box = lr_groups_playground(steps=5)
    next(c for c in box.children if isinstance(c, w.HTML)).value = "<b>loss</b> 1 &lt; 2"
    assert box.static_text().endswith("→ loss 1 < 2")


# --- the notebook rules ---------------------------------------------------------------


def _with_output(output) -> nbformat.NotebookNode:
    nb = _good()
    _code(nb, 1).outputs.append(output)
    return nb


def _image(metadata) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}, metadata=metadata)


@pytest.mark.parametrize("metadata", [{}, {"image/png": {"alt": ""}}, {"image/png": {"width": 3}}])
def test_rule_image_without_alt(tmp_path, metadata):
    problems = check_notebook(_write(tmp_path, _with_output(_image(metadata))))
    assert any("image without alternative text" in p for p in problems), problems


@pytest.mark.parametrize("metadata", [{"image/png": {"alt": "Figure. Loss."}}, {"alt": "Figure. Loss."}])
def test_rule_image_with_alt_passes(tmp_path, metadata):
    assert check_notebook(_write(tmp_path, _with_output(_image(metadata)))) == []


@pytest.mark.parametrize("text", ["VBox(children=(HBox(children=(FloatLogSlider(value=0.01", "FloatSlider(value=0.9)", "HBox(children=())"])
def test_rule_widget_without_picture(tmp_path, text):
    out = nbformat.v4.new_output("execute_result", data={"text/plain": text}, execution_count=2)
    problems = check_notebook(_write(tmp_path, _with_output(out)))
    assert any("stores a widget as its repr text" in p for p in problems), problems


def test_rule_leaves_other_reprs_alone(tmp_path):
    out = nbformat.v4.new_output("execute_result", data={"text/plain": "Text(0.5, 1.0, 'Loss')"}, execution_count=2)
    assert check_notebook(_write(tmp_path, _with_output(out))) == []


# --- in a real kernel -----------------------------------------------------------------


def test_kernel_stores_alt_text_and_widget_picture(tmp_path):
    """setup_notebook, then a figure, a widget and setup_notebook again, in a real kernel; then
    what helpers.execute stores, nbconvert's HTML of it, and the notebook rules on it."""
    cells = [
        "from helpers import setup_notebook, plot_lines, lr_groups_playground\ndevice = setup_notebook(seed=0)",
        "ax = plot_lines({'SGD': [3, 2, 1]}, title='Loss', ylabel='loss')",
        "lr_groups_playground(steps=5)",
        "device = setup_notebook(seed=0)\nimport matplotlib.pyplot as plt\nfig, axes = plt.subplots(1, 2)\nt = axes[1].set_title('B')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    ).execute()
    figure, widget, again = ([o for o in nb.cells[k].outputs if "data" in o] for k in (1, 2, 3))
    assert [o.metadata["image/png"]["alt"] for o in figure] == ["Figure. Loss; x: step; y: loss; legend: SGD."]
    assert [o.metadata["image/png"]["alt"] for o in again] == ["Figure, 2 panels. 1: no title or axis labels. 2: B."]
    (shown,) = widget
    assert set(shown.data) == {"text/plain", "image/png", WIDGET_VIEW}
    assert shown.data["text/plain"].startswith(STATIC_NOTE + ". lr body: 0.0100 · lr head: 0.0300 → step 1 lr: body 0.01")
    assert shown.metadata["image/png"]["alt"] == shown.data["text/plain"]

    clean(nb)
    assert set(shown.data) == {"text/plain", "image/png"} and shown.metadata["image/png"]["alt"]
    lab, _ = HTMLExporter().from_notebook_node(nb)  # nbconvert's default template: shows the picture
    assert lab.count("<img ") == 3 and "VBox(" not in lab and "Interactive widget" not in lab
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)  # its lab template drops alt texts
    assert "No description has been provided" not in html
    assert 'alt="Figure. Loss; x: step; y: loss; legend: SGD."' in html
    assert html.count(f'alt="{STATIC_NOTE}. lr body: 0.0100') == 1 and "VBox(" not in html


# --- Chinese: a font with the glyphs, or the picture in English -------------------------


@pytest.fixture
def chinese():
    """The helpers speak Chinese for the test; English and the font search's cache after it."""
    from helpers.i18n import set_language

    set_language("zh")
    widgets._font_covering.cache_clear()
    yield
    set_language("en")
    widgets._font_covering.cache_clear()


def _drawn_texts(monkeypatch) -> list[tuple[str, str | None]]:
    """Record every ``Figure.text`` call as (text, font file or None for the default font)."""
    from matplotlib.figure import Figure

    drawn, original = [], Figure.text

    def text(self, x, y, s, *args, **kwargs):
        prop = kwargs.get("fontproperties")
        drawn.append((s, prop.get_file() if prop is not None else None))
        return original(self, x, y, s, *args, **kwargs)

    monkeypatch.setattr(Figure, "text", text)
    return drawn


def test_without_a_chinese_font_the_picture_is_the_english_one(chinese, monkeypatch):
    monkeypatch.setattr(widgets, "_font_covering", lambda needed: None)  # no font on the machine has the glyphs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data, metadata = lr_groups_playground(steps=5)._repr_mimebundle_()
    assert data["text/plain"].startswith("交互式控件（运行笔记本即可使用）。 学习率 body: 0.0100") and metadata["image/png"]["alt"] == data["text/plain"]
    from helpers.i18n import set_language

    set_language("en")
    english = lr_groups_playground(steps=5)._repr_mimebundle_()[0]
    assert data["image/png"] == english["image/png"]  # pixel for pixel the English widget's picture


def test_with_a_chinese_font_the_picture_is_drawn_in_it(chinese, monkeypatch):
    font = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSerif.ttf")  # stands in for a Chinese font
    assert widgets._charmap(font) and font != widgets._default_font()
    monkeypatch.setattr(widgets, "_font_covering", lambda needed: font)
    drawn = _drawn_texts(monkeypatch)
    box = schedule_playground(steps=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stand-in has no Chinese glyphs; a real one would
        png = box.static_png()
    assert drawn[0] == ("交互式控件（运行笔记本即可使用）", font)
    assert drawn[1][0].startswith("调度: warmup_cosine · 预热: 10") and {f for _, f in drawn} == {font}
    assert "学习率峰值" in "".join(t for t, _ in drawn[1:])
    assert _png(base64.b64encode(png).decode()).width >= 660


def test_a_long_chinese_line_is_cut_where_it_is_full():
    font = widgets._default_font()
    lines = widgets._wrap("9" * 300, 200, 15, font=font)
    assert "".join(lines) == "9" * 300 and len(lines) > 3
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    width = RendererAgg(1, 1, 80).get_text_width_height_descent
    assert all(width(line, FontProperties(fname=font, size=15), ismath=False)[0] <= 200 for line in lines)


def test_compose_refuses_text_no_font_draws_without_an_english_version(chinese, monkeypatch):
    monkeypatch.setattr(widgets, "_font_covering", lambda needed: None)
    with pytest.raises(ValueError, match="no font on this machine has a glyph"):
        compose_static_picture(["学习率: 0.1"], b"", "损失 1")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compose_static_picture(["学习率: 0.1"], b"", "损失 1", (["lr: 0.1"], "loss 1"))[:4] == b"\x89PNG"


def test_find_font_judges_fonts_by_their_charmap(monkeypatch):
    from matplotlib import font_manager

    ascii_only = frozenset(range(32, 127))
    last_resort = str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "LastResortHE-Regular.ttf")
    charmaps = {
        "/fonts/NotoSansCJK-fake.ttc": ascii_only,  # the right name, but no Chinese glyphs
        "/fonts/other.ttf": ascii_only | {ord("交"), ord("互")},
        "/fonts/wqy-microhei.ttc": ascii_only | {ord("交"), ord("互")},
        last_resort: frozenset(range(0x110000)),  # matplotlib's own: a box for every character
    }
    entries = {
        "noto": font_manager.FontEntry(fname="/fonts/NotoSansCJK-fake.ttc", name="Noto Sans CJK SC"),
        "other": font_manager.FontEntry(fname="/fonts/other.ttf", name="Other Sans"),
        "wqy": font_manager.FontEntry(fname="/fonts/wqy-microhei.ttc", name="WenQuanYi Micro Hei"),
        "last": font_manager.FontEntry(fname=last_resort, name="Last Resort High-Efficiency"),
    }
    real = widgets._charmap
    monkeypatch.setattr(widgets, "_charmap", lambda path: charmaps.get(path) or real(path))
    def found(*names: str, text: str = "交互") -> str | None:
        monkeypatch.setattr(font_manager.fontManager, "ttflist", [entries[n] for n in names])
        widgets._font_covering.cache_clear()
        return widgets.find_font(text)

    try:
        assert found("other", "noto", "wqy", "last") == "/fonts/wqy-microhei.ttc"  # a known Chinese font first
        assert found("noto", "other", "last") == "/fonts/other.ttf"  # any font whose charmap has the glyphs
        assert found("noto", "last") is None
        assert found("noto", text="lr: 0.0100 · momentum: 0.90 → loss") == widgets._default_font()  # English: the default
    finally:
        widgets._font_covering.cache_clear()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_no_widget_picture_warns_with_the_fonts_of_this_machine(lang):
    from helpers.i18n import set_language

    set_language(lang)
    widgets._font_covering.cache_clear()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            for name, make in sorted(WIDGETS.items()):
                data, _ = make()._repr_mimebundle_()
                assert _png(data["image/png"]).width >= 660, name
                assert data["text/plain"].startswith(STATIC_NOTE if lang == "en" else "交互式控件"), name
    finally:
        set_language("en")


def test_live_controls_and_summaries_are_labelled_in_chinese_and_remember_the_english(chinese):
    """The browser draws a live widget's labels (no matplotlib font involved): they are Chinese; the
    English is kept for a static picture drawn without a Chinese font."""
    box = optimizer_playground("bowl", steps=5)
    assert [c.description for c in _controls(box)] == ["曲面", "优化器", "学习率", "动量"]
    next(c for c in _controls(box) if isinstance(c, w.Dropdown) and c.description == "优化器").value = "Adam"
    assert [control_readout(c, english=True) for c in _controls(box)][2:] == ["lr: 0.0010", "beta1: 0.90"]
    assert box._summary.value.startswith("Adam lr=0.001 momentum=0.9：5 步后位于")
    assert widgets._english(box._summary, "value").startswith("Adam lr=0.001 momentum=0.9: after 5 steps at")
    schedule = schedule_playground(steps=20)
    assert [c.description for c in _controls(schedule)] == ["调度", "预热", "body 学习率", "head 学习率"]
    assert "学习率峰值" in schedule._summary.value and "peak lr" in widgets._english(schedule._summary, "value")
    schedule._summary.value = "changed by hand"
    assert widgets._english(schedule._summary, "value") == "changed by hand"  # no stale English
