"""A general line plot in the collection's palette, for series a lesson collects by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._style import colour, get_ax


def plot_lines(
    series: Mapping[str, Sequence[float]],
    ax: Any = None,
    *,
    title: str,
    xlabel: str = "step",
    ylabel: str = "value",
    logy: bool = False,
    start: int = 0,
    styles: Mapping[str, str] | None = None,
    vlines: Sequence[float] = (),
) -> Any:
    """One labelled line per entry of ``series`` (label -> values), x running from ``start``.

    ``styles`` may give a matplotlib line style per label (e.g. ``{"resumed": "--"}``);
    ``vlines`` marks x positions (e.g. phase boundaries) with dotted vertical lines.
    Returns the Axes. Example: ``plot_lines({"loss": losses}, title="Training loss")``.
    """
    if not isinstance(series, Mapping) or not series:
        raise TypeError("series must be a non-empty dict of label -> list of numbers")
    ax = get_ax(ax)
    styles = dict(styles or {})
    for i, (label, values) in enumerate(series.items()):
        values = [float(v) for v in values]
        if not values:
            raise ValueError(f"series[{label!r}] is empty")
        ax.plot(range(start, start + len(values)), values, styles.get(label, "-"), color=colour(i), label=str(label), linewidth=1.8)
    for x in vlines:
        ax.axvline(x, color="black", linestyle=":", linewidth=1)
    if logy:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend()
    return ax


def _clean(text: str) -> str:
    return " ".join(str(text).split())


def _axis_part(axis: str, label: str, scale: str) -> str:
    """``"y: loss (log scale)"``; a label that only names its axis reads ``"x axis"``, and a scale the
    label already names (``"loss scale (log scale)"``) is not said twice."""
    label = _clean(label)
    if not label:
        return ""
    text = f"{axis} axis" if label.lower() == axis.split()[0].lower() else f"{axis}: {label}"
    named = f"{scale} scale" in label.lower() or f"{scale}-scale" in label.lower()
    return text + (f" ({scale} scale)" if scale not in ("linear", "") and not named else "")


def _legend_entries(holder: Any) -> list[str]:
    legend = holder.get_legend() if hasattr(holder, "get_legend") else holder
    if legend is None:
        return []
    return [t for t in (_clean(text.get_text()) for text in legend.get_texts()) if t]


def _panel_text(axes: list[Any]) -> str:
    """One panel (an Axes and its twins sharing its place): title; x; y; legend."""
    main = axes[0]
    title = " ".join(_clean(main.get_title(loc)) for loc in ("left", "center", "right") if main.get_title(loc).strip())
    parts = [title] if title else []
    x, y = _axis_part("x", main.get_xlabel(), main.get_xscale()), _axis_part("y", main.get_ylabel(), main.get_yscale())
    parts += ["x and y axes"] if (x, y) == ("x axis", "y axis") else [x, y]  # not "x: x; y: y"
    entries = _legend_entries(main)
    for twin in axes[1:]:
        parts.append(_axis_part("y (right)", twin.get_ylabel(), twin.get_yscale()))
        entries += _legend_entries(twin)
    if entries:
        parts.append("legend: " + ", ".join(entries))
    return "; ".join(p for p in parts if p)


def figure_alt_text(fig: Any) -> str:
    """A text alternative to ``fig`` for readers who cannot see it: its suptitle, then per panel
    its title, x and y labels (with a non-linear scale named, once) and legend entries; axes
    labelled just "x" and "y" read "x and y axes".

    Hidden axes and colour bars are left out; a twin axis (``ax.twinx()``) is described with
    its panel. ``setup_notebook`` attaches it to every figure a notebook shows (the ``alt`` of
    its ``image/png`` output). Returns one line. Example: ``figure_alt_text(ax.figure)`` gives
    ``"Figure. Loss; x: step; y: training loss; legend: SGD, Adam."``
    """
    from matplotlib.figure import FigureBase

    if not isinstance(fig, FigureBase):
        raise TypeError(f"fig must be a matplotlib Figure, got {type(fig).__name__}; for an Axes pass ax.figure")
    panels: list[list[Any]] = []
    for ax in fig.get_axes():
        if not ax.get_visible() or ax.get_label() == "<colorbar>":
            continue
        box = ax.get_position().bounds
        home = next(
            (p for p in panels if p[0].get_position().bounds == box and ax.get_shared_x_axes().joined(ax, p[0])), None
        )
        if home is not None:
            home.append(ax)
        else:
            panels.append([ax])
    suptitle = _clean(fig.get_suptitle())
    head = "Figure" + (f", {len(panels)} panels" if len(panels) > 1 else "") + (f": {suptitle}" if suptitle else "")
    head += "" if head.endswith(".") else "."
    figure_legend = [entry for legend in fig.legends for entry in _legend_entries(legend)]
    texts = [_panel_text(p) or "no title or axis labels" for p in panels]
    if not panels:
        body = "No axes."
    elif len(panels) == 1:
        body = (_panel_text(panels[0]) or "No title or axis labels") + "."
    else:
        body = " ".join(f"{k}: {t}." for k, t in enumerate(texts, 1))
    text = f"{head} {body}"
    if figure_legend:
        text += " Legend: " + ", ".join(figure_legend) + "."
    return text
