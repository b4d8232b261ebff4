"""Colours and small plotting plumbing shared by the plot helpers (no global state)."""

from __future__ import annotations

from typing import Any

# Okabe & Ito's colour-blind-safe palette (black left out: it is used for text and marks).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#D55E00",  # vermillion
    "#F0E442",  # yellow
)
MUTED = "#999999"  # for "no gradient" / frozen marks


def colour(i: int) -> str:
    """The i-th palette colour, cycling."""
    return PALETTE[i % len(PALETTE)]


def get_ax(ax: Any = None, figsize: tuple[float, float] = (6.0, 4.0)) -> Any:
    """Return ``ax`` or a new Axes on a new figure (never the implicit current one)."""
    if ax is not None:
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
        return ax
    import matplotlib.pyplot as plt

    _, new_ax = plt.subplots(figsize=figsize)
    return new_ax
