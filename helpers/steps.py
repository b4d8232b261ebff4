"""Around ``optimizer.step()``: which steps a ``GradScaler`` really took, and gradient norms per group.

``StepRecorder`` notes, at every ``scaler.update()``, whether ``optimizer.step()`` ran since the
previous update and which loss scale the iteration used; ``plot_loss_scale`` draws it with the
skipped steps marked. ``group_grad_norms`` measures each parameter group's gradient norm (the
number ``clip_grad_norm_`` returns for that group) and ``plot_clipping`` compares norms before
and after clipping.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._checks import require_optimizer
from ._style import colour, get_ax

SKIPPED = "#D55E00"  # vermillion (Okabe & Ito): a step that did not happen
HISTORY_COLUMNS = ["iteration", "stepped", "optimizer_steps", "scale", "next_scale"]


def _require_scaler(scaler: Any) -> torch.amp.GradScaler:
    if not isinstance(scaler, torch.amp.GradScaler):
        raise TypeError(
            f"scaler must be a torch.amp.GradScaler, got {type(scaler).__name__}; "
            f"build one with torch.amp.GradScaler('cpu') or torch.amp.GradScaler('cuda')"
        )
    return scaler


class StepRecorder:
    """Record, at every ``scaler.update()``, whether ``optimizer.step()`` really ran in that iteration.

    Use as a context manager around an AMP training loop::

        with StepRecorder(optimizer, scaler) as steps:
            for ...: scaler.scale(loss).backward(); scaler.step(optimizer); scaler.update()
        steps.skipped, steps.plot()

    ``scaler.step()`` skips ``optimizer.step()`` when a gradient holds inf or NaN, and then no
    step hook runs at all: so the recorder counts the optimizer's steps with a step post-hook,
    and closes an iteration at each ``scaler.update()`` (it wraps that method of this scaler
    instance while active). ``history`` has one row per iteration: ``iteration`` (from 1),
    ``stepped``, ``optimizer_steps`` (how many times ``optimizer.step()`` ran in it),
    ``scale`` (the loss scale the iteration's backward used) and ``next_scale`` (after
    ``update()``). On exit (also after an exception, or with ``remove()``) the hook and the
    wrapper go, and the scaler is as it was.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler):
        self.optimizer = require_optimizer(optimizer)
        self.scaler = _require_scaler(scaler)
        self._steps_since_update = 0
        self._stepped: list[bool] = []
        self._counts: list[int] = []
        self._scales: list[float] = []
        self._next: list[float] = []
        self._handle: Any = None
        self._wrapper: Any = None
        self._previous: Any = None  # what scaler.__dict__ held under "update" before start()
        self._scale = float(scaler.get_scale())

    # hooks ---------------------------------------------------------------------
    def _post(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self._steps_since_update += 1

    def _close_iteration(self) -> None:
        after = float(self.scaler.get_scale())
        self._stepped.append(self._steps_since_update > 0)
        self._counts.append(self._steps_since_update)
        self._scales.append(self._scale)
        self._next.append(after)
        self._scale, self._steps_since_update = after, 0

    # life cycle ----------------------------------------------------------------
    def start(self) -> "StepRecorder":
        """Register the hook and wrap ``scaler.update`` (done by ``with``); returns the recorder."""
        if self.active:
            return self
        self._scale = float(self.scaler.get_scale())
        self._steps_since_update = 0
        self._handle = self.optimizer.register_step_post_hook(self._post)
        inner = self.scaler.update  # the class's method, or another recorder's wrapper

        def update(*args: Any, **kwargs: Any) -> Any:
            result = inner(*args, **kwargs)
            if self._wrapper is update:  # still recording (a removed recorder only passes through)
                self._close_iteration()
            return result

        self._previous = self.scaler.__dict__.get("update")
        self._wrapper = update
        self.scaler.update = update  # type: ignore[method-assign]
        return self

    def remove(self) -> None:
        """Remove the hook and the wrapper; what was recorded stays."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None
        if self._wrapper is not None:
            if self.scaler.__dict__.get("update") is self._wrapper:
                if self._previous is None:
                    del self.scaler.update
                else:
                    self.scaler.update = self._previous  # type: ignore[method-assign]
            self._wrapper = None

    def __enter__(self) -> "StepRecorder":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    # results -------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._handle is not None

    @property
    def history(self) -> pd.DataFrame:
        """One row per iteration: iteration, stepped, optimizer_steps, scale, next_scale."""
        return pd.DataFrame(
            {
                "iteration": range(1, len(self._stepped) + 1),
                "stepped": self._stepped,
                "optimizer_steps": self._counts,
                "scale": self._scales,
                "next_scale": self._next,
            },
            columns=HISTORY_COLUMNS,
        )

    @property
    def skipped(self) -> list[int]:
        """The iterations (counted from 1) in which ``optimizer.step()`` did not run."""
        return [i for i, stepped in enumerate(self._stepped, start=1) if not stepped]

    def plot(self, ax: Any = None) -> Any:
        """``plot_loss_scale(self.history, ax)``: the loss scale per iteration, skipped steps marked."""
        return plot_loss_scale(self.history, ax=ax)


def plot_loss_scale(history: pd.DataFrame, ax: Any = None, *, title: str = "Loss scale per iteration") -> Any:
    """The loss scale each iteration used (log 2 axis), with the iterations whose step was skipped marked.

    ``history`` is a ``StepRecorder.history`` (columns ``iteration``, ``stepped``, ``scale``).
    Returns the Axes. Example: ``plot_loss_scale(recorder.history)``.
    """
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a StepRecorder's history (a pandas DataFrame), got {type(history).__name__}")
    missing = [c for c in ("iteration", "stepped", "scale") if c not in history.columns]
    if missing:
        raise ValueError(f"history lacks the column(s) {missing}; pass a StepRecorder's history")
    if history.empty:
        raise ValueError("history is empty: no scaler.update() was recorded")
    ax = get_ax(ax)
    ax.step(history["iteration"], history["scale"], where="post", color=colour(0), linewidth=1.8, label="loss scale")
    skipped = history[~history["stepped"].astype(bool)]
    ax.plot(
        skipped["iteration"], skipped["scale"], "x", color=SKIPPED, markersize=8, markeredgewidth=2,
        label=f"skipped step ({len(skipped)})",
    )
    ax.set_yscale("log", base=2)
    ax.set_title(title)
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss scale (log scale)")
    ax.legend()
    return ax


def group_grad_norms(optimizer: torch.optim.Optimizer, names: Sequence[str] | None = None) -> dict[str, float]:
    """Each parameter group's total gradient 2-norm, as ``clip_grad_norm_(group["params"], ...)`` measures it.

    Parameters without a gradient are left out (a group with none gets 0.0). The keys are
    ``names`` (one per group) or ``"group 0"``, ``"group 1"``, ... Returns ``{name: norm}``.
    Example: ``group_grad_norms(optimizer, names=["body", "head"])``.
    """
    require_optimizer(optimizer)
    groups = optimizer.param_groups
    if names is None:
        labels = [f"group {g}" for g in range(len(groups))]
    else:
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise TypeError(f"names must be a list of str, one per group, got {type(names).__name__}")
        if len(names) != len(groups):
            raise ValueError(f"names has {len(names)} name(s) but the optimizer has {len(groups)} group(s)")
        labels = [str(n) for n in names]
    norms = {}
    for label, group in zip(labels, groups):
        grads = [p.grad for p in group["params"] if p.grad is not None]
        norms[label] = float(torch.nn.utils.get_total_norm(grads)) if grads else 0.0
    return norms


def _as_norms(values: Any, label: str) -> dict[str, float]:
    if isinstance(values, pd.Series):
        values = values.to_dict()
    if not isinstance(values, Mapping) or not values:
        raise TypeError(f"norms[{label!r}] must be a non-empty dict of name -> norm, got {type(values).__name__}")
    out = {}
    for name, value in values.items():
        number = _as_float(value)
        if number is None:
            raise TypeError(f"norms[{label!r}][{name!r}] must be a number, got {type(value).__name__}")
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"norms[{label!r}][{name!r}] must be a finite norm (>= 0), got {value!r}")
        out[str(name)] = number
    return out


def _as_float(value: Any) -> float | None:
    """A plain number (Python, NumPy or a one-element tensor) as a float; None for anything else (bool, text)."""
    if isinstance(value, torch.Tensor):
        return float(value.detach().cpu().reshape(())) if value.numel() == 1 and not value.dtype == torch.bool else None
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    return None


def plot_clipping(
    norms: Mapping[str, Any],
    ax: Any = None,
    *,
    max_norm: float | None = None,
    title: str = "Gradient norm before and after clipping",
    xlabel: str = "parameter group",
) -> Any:
    """Grouped bars: for each name (a group or a parameter), one bar per series of ``norms``.

    ``norms`` maps a series label (``"before"``, ``"clipped"``, ...) to ``{name: norm}`` (a dict
    or a pandas Series, e.g. ``grad_stats(model).set_index("name")["norm"]``); every series
    names the same things. ``max_norm`` draws the clipping threshold; ``xlabel`` says what the
    names are (``"parameter"`` for per-parameter norms). Returns the Axes.
    Example: ``plot_clipping({"before": before, "after": after}, max_norm=1.0)``.
    """
    if not isinstance(norms, Mapping) or not norms:
        raise TypeError("norms must be a non-empty dict of series label -> {name: norm}")
    series = {str(label): _as_norms(values, label) for label, values in norms.items()}
    names = list(next(iter(series.values())))
    for label, values in series.items():
        if list(values) != names:
            raise ValueError(f"norms[{label!r}] names {list(values)}, expected the same names as the first series: {names}")
    if max_norm is not None:
        number = _as_float(max_norm)
        if number is None or not (math.isfinite(number) and number > 0):
            raise ValueError(f"max_norm must be a positive number, got {max_norm!r}")
        max_norm = number
    ax = get_ax(ax)
    width = 0.8 / len(series)
    for i, (label, values) in enumerate(series.items()):
        xs = [k + (i - (len(series) - 1) / 2) * width for k in range(len(names))]
        ax.bar(xs, [values[n] for n in names], width=width, color=colour(i), label=label)
    if max_norm is not None:
        ax.axhline(max_norm, color="black", linestyle="--", linewidth=1, label=f"max_norm = {max_norm:g}")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the legend above the bars
    ax.set_xticks(range(len(names)))
    long = max(len(n) for n in names) > 8
    ax.set_xticklabels(names, rotation=30 if long else 0, ha="right" if long else "center")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("gradient norm")
    ax.legend()
    return ax
