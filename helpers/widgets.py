"""Interactive controls. Each widget only wires sliders to a pure function tested on its own.

Every widget factory returns a box built by :func:`playground`: live in JupyterLab, and a
static picture of its state when displayed (controls, picture, summary line) wherever a
notebook is read without a kernel (nbconvert HTML, GitHub, the documentation site).
"""

from __future__ import annotations

import base64
import functools
import html
import io
import re
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ._style import MUTED, PALETTE, get_ax
from .i18n import tr
from .data import TinyMLP, make_spirals
from .lr import LRRecorder
from .optimizers import Lion
from .surfaces import SURFACES, DivergedError, get_surface, plot_trajectories, trace_optimizer

OPTIMIZERS = ("SGD", "Adam", "RMSprop", "LBFGS", "Lion")
_DPI = 80  # the widgets' pictures and their static pictures: 1 inch = 80 pixels


def _png(size: tuple[float, float], draw: Callable[[Any], Any]) -> bytes:
    """Draw on a fresh Figure (outside pyplot, so nothing is shown or kept) and return PNG bytes.

    A widget shows its picture as an Image widget's value: the same in JupyterLab, in nbval
    and in nbclient, unlike figures displayed into an Output widget.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="tight")
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


# --- the static picture every widget carries ------------------------------------------

STATIC_NOTE = "Interactive widget (run the notebook to use it)"
_TAG_RE = re.compile(r"<[^>]+>")


def _label(control: Any, english: str) -> Any:
    """Give ``control`` the description ``tr(english)`` and remember the English, which a static
    picture draws where no font has the translation's glyphs. Returns the control.

    Example: ``_label(w.FloatSlider(), "momentum").description`` -> ``'动量'`` in Chinese.
    """
    shown = tr(english)
    control.description = shown
    control._english_description = (shown, english)
    return control


def _say(summary: Any, english: str, shown: str | None = None) -> None:
    """Set a summary ``HTML`` widget's value to ``shown`` (default ``tr(english)``), remembering
    the English for a static picture drawn without a Chinese font (see :func:`_label`).
    Example: ``_say(summary, f"loss {loss:.4f}")``."""
    shown = tr(english) if shown is None else shown
    summary._english_value = (shown, english)
    summary.value = shown


def _english(widget: Any, trait: str) -> str:
    """The English of ``widget.<trait>`` as :func:`_label` or :func:`_say` set it; the trait's
    value as it is when it was set otherwise (or changed since)."""
    value = getattr(widget, trait)
    shown, english = getattr(widget, f"_english_{trait}", (None, None))
    return english if shown == value else value


def control_readout(control: Any, english: bool = False) -> str:
    """``"description: value"`` as the control shows it: a slider's value in its own
    ``readout_format`` (``lr: 0.0010``), a dropdown's label; with ``english``, the English
    description :func:`_label` gave it. Example: ``control_readout(slider)``."""
    value = getattr(control, "label", None)
    if value is None:
        value = control.value
        fmt = getattr(control, "readout_format", None)
        if fmt and isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                value = format(value, fmt)
            except ValueError:  # a d3 format Python does not read: show the plain number
                value = f"{value:g}"
    name = (_english(control, "description") if english else getattr(control, "description", "")) or type(control).__name__
    name = name.strip()
    return f"{name}: {value}"


def _plain(markup: str) -> str:
    """The text of an HTML widget's value, tags removed and entities decoded, on one line."""
    return " ".join(html.unescape(_TAG_RE.sub(" ", markup)).split())


class StaticPicture:
    """What makes an ipywidgets box show a picture where there is no kernel (mixed into
    :func:`playground`'s box; it needs the ``_controls``, ``_summary`` and ``_picture`` it sets).

    Its ``_repr_mimebundle_`` returns what ipywidgets returns (the live view, which JupyterLab
    prefers) plus ``image/png`` (:meth:`static_png`) and, as ``text/plain`` and as the image's
    ``alt``, :meth:`static_text`. Both show the widget as it is when displayed: moving a
    control afterwards changes the live widget, not what was stored. ``helpers.execute``
    drops the live view from stored outputs, so a static rendering shows the picture.
    """

    _controls: tuple[Any, ...]
    _summary: Any
    _picture: Any

    def static_readouts(self) -> list[str]:
        """Each control as ``"description: value"`` (see :func:`control_readout`), in display order."""
        return [control_readout(c) for c in self._controls]

    def static_text(self) -> str:
        """One line for readers without a kernel: the controls' values and the summary line.

        Example: ``Interactive widget (run the notebook to use it). surface: bowl · lr: 0.0010 → <summary>``.
        """
        return f"{tr(STATIC_NOTE + '.')} {' · '.join(self.static_readouts())} → {_plain(self._summary.value)}"

    def static_png(self) -> bytes:
        """PNG bytes: the controls' values above the widget's current picture and its summary line
        (in English where no font on this machine draws the current language's text)."""
        english = ([control_readout(c, english=True) for c in self._controls], _plain(_english(self._summary, "value")))
        return compose_static_picture(self.static_readouts(), bytes(self._picture.value), _plain(self._summary.value), english)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        data = super()._repr_mimebundle_(**kwargs)  # type: ignore[misc]  # ipywidgets: text/plain + the live view
        if data is None:
            return None
        text = self.static_text()
        data = {**data, "text/plain": text, "image/png": base64.b64encode(self.static_png()).decode("ascii")}
        return data, {"image/png": {"alt": text}}


@functools.cache
def _playground_class() -> type:
    """``Playground(StaticPicture, ipywidgets.VBox)``, made on first use: importing helpers
    does not import ipywidgets (which registers itself with a running kernel)."""
    import ipywidgets as w

    class Playground(StaticPicture, w.VBox):
        """A widget's box: rows of controls, the summary line, the picture; see :class:`StaticPicture`."""

    Playground.__qualname__ = "Playground"
    return Playground


def playground(rows: Sequence[Sequence[Any]], summary: Any, picture: Any) -> Any:
    """The box every widget factory returns: one ``HBox`` per row of controls, then the ``summary``
    (an ``HTML`` widget) and the ``picture`` (an ``Image`` widget).

    In JupyterLab it is the live widget; without a kernel it shows a static picture of its
    state when displayed (see :class:`StaticPicture`). Returns an ipywidgets ``VBox``.
    Example: ``playground([[lr_slider, momentum_slider]], summary, picture)``.
    """
    import ipywidgets as w

    rows = [list(row) for row in rows]
    controls = tuple(c for row in rows for c in row)
    if not controls or not all(isinstance(c, w.ValueWidget) for c in controls):
        raise TypeError(
            "rows must be lists of ipywidgets controls (sliders, dropdowns), at least one; "
            f"got {[type(c).__name__ for c in controls]}"
        )
    if not isinstance(summary, w.HTML) or not isinstance(picture, w.Image):
        raise TypeError(
            f"summary must be an ipywidgets HTML and picture an ipywidgets Image, got {type(summary).__name__} and {type(picture).__name__}"
        )
    box = _playground_class()([w.HBox(row) for row in rows] + [summary, picture])
    box._controls, box._summary, box._picture = controls, summary, picture
    return box


# --- text in a picture: a font with a glyph for every character -------------------------

# Fonts that draw simplified Chinese, tried first (each is still checked by its charmap).
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN", "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei", "Microsoft YaHei", "PingFang SC", "Hiragino Sans GB", "SimHei", "Heiti SC", "Arial Unicode MS",
)


@functools.cache
def _charmap(path: str) -> frozenset[int]:
    """The code points the font file at ``path`` has glyphs for (none for a file FreeType cannot read)."""
    from matplotlib.ft2font import FT2Font

    try:
        return frozenset(FT2Font(path).get_charmap())
    except (OSError, RuntimeError, ValueError):
        return frozenset()


def _default_font() -> str:
    """The file of the font matplotlib draws text with when given none (DejaVu Sans)."""
    from matplotlib.font_manager import FontProperties, findfont

    return findfont(FontProperties())


def find_font(text: str) -> str | None:
    """The file of a font with a glyph for every character of ``text``: matplotlib's default font
    when it has them all (English), else the first font matplotlib's font manager lists on this
    machine that has them, the Chinese fonts of ``CJK_FONTS`` first; None when there is none.

    Fonts are judged by their charmaps, not their names. Matplotlib's own other fonts are
    left out: its Last Resort font has a box for every character. Example:
    ``find_font("交互式控件")`` -> ``'/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'`` or None.
    """
    needed = frozenset(ord(c) for c in text if not c.isspace())
    default = _default_font()
    return default if needed <= _charmap(default) else _font_covering(needed)


@functools.lru_cache(maxsize=64)
def _font_covering(needed: frozenset[int]) -> str | None:
    """The first font (see :func:`find_font`) whose charmap holds every code point in ``needed``."""
    import matplotlib
    from matplotlib import font_manager

    bundled = Path(matplotlib.get_data_path()).resolve()
    rank = {name.casefold(): k for k, name in enumerate(CJK_FONTS)}

    def order(entry: Any) -> tuple[int, bool, int, str]:
        weight = entry.weight if isinstance(entry.weight, int) else font_manager.weight_dict.get(entry.weight, 400)
        return rank.get(entry.name.casefold(), len(rank)), entry.style != "normal", abs(weight - 400), entry.fname

    for entry in sorted(font_manager.fontManager.ttflist, key=order):
        if not Path(entry.fname).resolve().is_relative_to(bundled) and needed <= _charmap(entry.fname):
            return entry.fname
    return None


def _font(size: float, font: str | None, **style: Any) -> dict[str, Any]:
    """``Figure.text`` keywords: ``size`` points in ``font`` (a file), or in the default font for None."""
    if font is None:
        return {"fontsize": size, **({"fontweight": style["weight"]} if "weight" in style else {})}
    from matplotlib.font_manager import FontProperties

    return {"fontproperties": FontProperties(fname=font, size=size, **style)}


def _wrap(text: str, width_px: float, fontsize: float, sep: str = " ", font: str | None = None) -> list[str]:
    """Break ``text`` at ``sep`` into lines that fit ``width_px`` at ``fontsize`` points, measured
    in ``font`` (a file; None: DejaVu Sans, matplotlib's default)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, _DPI)
    prop = FontProperties(size=fontsize) if font is None else FontProperties(fname=font, size=fontsize)

    def fits(line: str) -> bool:
        return renderer.get_text_width_height_descent(line, prop, ismath=False)[0] <= width_px

    def cut(word: str) -> list[str]:
        if font is None:  # a word wider than the line is cut by character count (rare: long numbers)
            return textwrap.wrap(word, max(8, int(width_px / (fontsize * 0.75))))
        pieces = [""]  # Chinese runs without spaces: cut where the measured line is full
        for char in word:
            if pieces[-1] and not fits(pieces[-1] + char):
                pieces.append("")
            pieces[-1] += char
        return pieces

    lines: list[str] = []
    for word in text.split(sep):
        if lines and fits(lines[-1] + sep + word):
            lines[-1] += sep + word
        else:
            lines += cut(word) if not fits(word) else [word]
    return lines or [""]


def compose_static_picture(
    readouts: Sequence[str], picture: bytes, summary: str, english: tuple[Sequence[str], str] | None = None
) -> bytes:
    """PNG bytes of a widget's static picture: a note and the controls' values (``readouts``)
    in a frame, the widget's own ``picture`` (PNG bytes, pixel for pixel) and the ``summary`` line.

    Drawn on a Figure outside pyplot (nothing shown or kept), in the palette of ``helpers._style``,
    with text large enough for a projector. Text matplotlib's default font cannot draw (Chinese)
    is drawn in a font of this machine that can (:func:`find_font`); where there is none, the
    picture shows ``english`` (the readouts and the summary in English) instead, so that no glyph
    is missing and matplotlib warns about nothing. ``ValueError`` when neither can be drawn.
    Example: ``compose_static_picture(["lr: 0.01"], png, "loss 0.1")``.
    """
    from matplotlib.figure import Figure
    from matplotlib.image import imread
    from matplotlib.patches import FancyBboxPatch

    note = tr(STATIC_NOTE)
    font = find_font("".join([note, *readouts, summary]))
    if font is None and english is not None:
        note, readouts, summary = STATIC_NOTE, english[0], english[1]
        font = find_font("".join([note, *readouts, summary]))
    if font is None:
        raise ValueError(
            "no font on this machine has a glyph for every character of the widget's text: install a "
            "Chinese font (e.g. Noto Sans CJK SC), or pass english=(readouts, summary) to draw English instead"
        )
    font = None if font == _default_font() else font

    image = imread(io.BytesIO(picture), format="png") if picture else None
    img_h, img_w = image.shape[:2] if image is not None else (0, 0)
    margin, gap, big, small = 14, 10, 15.0, 12.5  # pixels; font sizes in points
    line = big * _DPI / 72 * 1.45  # pixels per line of big text
    width = max(img_w + 2 * margin, 660)
    text_w = width - 2 * margin - 16
    strip = _wrap(" · ".join(readouts), text_w, big, sep=" · ", font=font) if readouts else []
    lines = _wrap(summary, text_w + 16, big, font=font) if summary else []
    note_h = small * _DPI / 72 * 1.6
    strip_h = len(strip) * line + 12 if strip else 0
    height = margin + note_h + strip_h + gap + img_h + gap + len(lines) * line + margin

    fig = Figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI, facecolor="white")

    def at(x: float, y_from_top: float) -> tuple[float, float]:
        return x / width, 1 - y_from_top / height

    y = margin
    fig.text(*at(margin, y), note, color=PALETTE[0], va="top", **_font(small, font, weight="bold"))
    y += note_h
    if strip:
        x0, y0 = at(margin, y + strip_h)
        fig.patches.append(
            FancyBboxPatch(
                (x0, y0), (width - 2 * margin) / width, strip_h / height, boxstyle="round,pad=0,rounding_size=0.01",
                transform=fig.transFigure, facecolor="#F2F7FB", edgecolor=PALETTE[0], linewidth=1.2,
            )
        )
        for k, text in enumerate(strip):
            fig.text(*at(margin + 8, y + 6 + k * line), text, color="black", va="top", **_font(big, font))
        y += strip_h
    y += gap
    if image is not None:
        fig.figimage(image, xo=int((width - img_w) / 2), yo=int(height - y - img_h), origin="upper")
        y += img_h
    y += gap
    for k, text in enumerate(lines):
        fig.text(*at(margin, y + k * line), text, color="black", va="top", **_font(big, font))
    fig.patches.append(
        FancyBboxPatch((0, 0), 1, 1, boxstyle="square,pad=0", transform=fig.transFigure, fill=False, edgecolor=MUTED, linewidth=1.5)
    )
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    return buffer.getvalue()


def make_optimizer_factory(name: str, lr: float, momentum: float = 0.0):
    """``params -> optimizer`` for one of ``OPTIMIZERS``; ``momentum`` is beta1 for Adam and
    Lion, RMSprop's momentum (LBFGS has none)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if name == "SGD":
        return lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum)
    if name == "Adam":
        return lambda p: torch.optim.Adam(p, lr=lr, betas=(momentum, 0.999))
    if name == "RMSprop":
        return lambda p: torch.optim.RMSprop(p, lr=lr, momentum=momentum)
    if name == "Lion":
        return lambda p: Lion(p, lr=lr, betas=(momentum, 0.99))
    return lambda p: torch.optim.LBFGS(p, lr=lr, max_iter=5, history_size=10)


def playground_run(
    fn: str = "rosenbrock", optimizer: str = "SGD", lr: float = 0.001, momentum: float = 0.9, steps: int = 60
) -> dict[str, Any]:
    """The computation behind ``optimizer_playground``: one trajectory and a one-line summary.

    Returns ``{"path": (n, 2) tensor, "diverged": bool, "summary": str, "english": str}``: the
    summary in the current language and in English; on divergence the path holds the points
    reached before it.
    """
    surface = get_surface(fn)
    factory = make_optimizer_factory(optimizer, lr, momentum)
    try:
        path = trace_optimizer(surface.name, None, factory, steps)
        diverged = False
    except DivergedError as exc:
        path, diverged = exc.path, True
    end = path[-1]
    loss = surface.fn(end).item()
    if diverged:
        summary = tr(english := f"{optimizer} diverged after {len(path) - 1} steps (lr={lr:g}): try a smaller learning rate")
    else:
        summary = tr(english := f"{optimizer} lr={lr:g} momentum={momentum:g}: after {steps} steps at ({end[0]:.3f}, {end[1]:.3f}), loss {loss:.4g}")
    return {"path": path, "diverged": diverged, "summary": summary, "english": english}


def optimizer_playground(fn: str = "rosenbrock", steps: int = 60, optimizer: str = "SGD", lr: float = 1e-3) -> Any:
    """A widget: pick an optimizer and a surface, move lr and momentum (beta1 for Adam and Lion),
    and the trajectory redraws; ``optimizer`` and ``lr`` are the first ones shown. Returns an ipywidgets ``VBox``
    (a :func:`playground`: without a kernel it shows a picture of its first state)."""
    import ipywidgets as w

    get_surface(fn)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if not 1e-4 <= lr <= 1:
        raise ValueError(f"lr must be in [1e-4, 1] (the slider's range), got {lr}")
    controls = {
        "fn": _label(w.Dropdown(options=sorted(SURFACES), value=fn), "surface"),
        "optimizer": _label(w.Dropdown(options=list(OPTIMIZERS), value=optimizer), "optimizer"),
        "lr": _label(w.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, readout_format=".4f"), "lr"),
        "momentum": _label(w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01), "momentum"),
    }
    summary = w.HTML(layout=w.Layout(min_height="1.5em"))
    summary.add_class("playground-summary")
    picture = w.Image(format="png")
    picture.add_class("playground-picture")

    def redraw(*_: Any) -> None:
        result = playground_run(
            controls["fn"].value, controls["optimizer"].value, controls["lr"].value, controls["momentum"].value, steps
        )
        _say(summary, result["english"], result["summary"])
        picture.value = _png(
            (6.0, 4.5),
            lambda fig: plot_trajectories(controls["fn"].value, {controls["optimizer"].value: result["path"]}, ax=fig.subplots()),
        )

    def relabel(*_: Any) -> None:
        name = controls["optimizer"].value
        _label(controls["momentum"], "beta1" if name in ("Adam", "Lion") else "(unused)" if name == "LBFGS" else "momentum")

    controls["optimizer"].observe(relabel, names="value")
    for c in controls.values():
        c.observe(redraw, names="value")
    relabel()
    redraw()
    return playground([[controls["fn"], controls["optimizer"]], [controls["lr"], controls["momentum"]]], summary, picture)


def train_two_groups(lr_body: float, lr_head: float, steps: int = 100, seed: int = 0) -> dict[str, Any]:
    """The computation behind ``lr_groups_playground``: train ``TinyMLP`` on spirals with the
    body and the head in two groups (Adam, cosine schedule). Returns ``{"lrs": LRRecorder
    history, "losses": [float per step], "names": ["body", "head"]}``."""
    for name, value in (("lr_body", lr_body), ("lr_head", lr_head)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    torch.manual_seed(seed)
    X, y = make_spirals(60, classes=2, seed=seed)
    model = TinyMLP(2, hidden=32, out_features=2, depth=2)
    optimizer = torch.optim.Adam(
        [{"params": model.body.parameters(), "lr": lr_body}, {"params": model.head.parameters(), "lr": lr_head}]
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses = []
    with LRRecorder(optimizer, names=["body", "head"]) as rec:
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return {"lrs": rec.history, "losses": losses, "names": ["body", "head"]}


def plot_two_groups(result: dict[str, Any], axes: Any) -> Any:
    """Per-group LR on ``axes[0]`` and loss on ``axes[1]`` for a ``train_two_groups`` result. Returns the Figure."""
    from .lr import _plot_lr

    _plot_lr(result["lrs"], result["names"], axes[0], "Learning rate per group (cosine)")
    ax = get_ax(axes[1])
    ax.plot(range(1, len(result["losses"]) + 1), result["losses"], color="black")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Loss")
    return ax.figure


def lr_groups_playground(steps: int = 100) -> Any:
    """A widget: two groups of a small model (body, head), each with its own lr slider; shows
    the per-group LR plot and the loss curve of a short training. Returns an ipywidgets ``VBox``
    (a :func:`playground`: without a kernel it shows a picture of its first state)."""
    import ipywidgets as w

    sliders = {
        "body": _label(w.FloatLogSlider(value=1e-2, base=10, min=-4, max=-0.5, step=0.1, readout_format=".4f"), "lr body"),
        "head": _label(w.FloatLogSlider(value=3e-2, base=10, min=-4, max=-0.5, step=0.1, readout_format=".4f"), "lr head"),
    }
    summary = w.HTML(layout=w.Layout(min_height="1.5em"))
    summary.add_class("playground-summary")
    picture = w.Image(format="png")
    picture.add_class("playground-picture")

    def redraw(*_: Any) -> None:
        result = train_two_groups(sliders["body"].value, sliders["head"].value, steps)
        first = result["lrs"][result["lrs"]["step"] == 1]["lr"].tolist()
        _say(
            summary,
            f"step 1 lr: body {first[0]:.4g}, head {first[1]:.4g}; "
            f"loss {result['losses'][0]:.4f} → {result['losses'][-1]:.4f} after {steps} steps",
        )
        picture.value = _png((10.0, 3.5), lambda fig: plot_two_groups(result, axes=fig.subplots(1, 2)))

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return playground([list(sliders.values())], summary, picture)

