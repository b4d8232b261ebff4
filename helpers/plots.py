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
