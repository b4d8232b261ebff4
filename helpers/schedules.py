"""Learning-rate schedules per parameter group: a warm-up-then-cosine factor, five named schedules
to preview side by side, a safe way to rescale a running schedule, and a playground widget.

Every curve here comes from a real ``torch.optim.lr_scheduler`` object stepped on a throwaway
optimizer (see ``helpers.lr.lr_schedule``): what you see is what PyTorch computes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
import torch
from torch.optim import lr_scheduler

from ._checks import require_positive_int
from .i18n import tr
from .lr import _check_names, lr_schedule, plot_lr_schedule

SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "one_cycle")
_WARMUP_SCHEDULES = ("warmup_cosine", "one_cycle")


def _require_count(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be an int >= 0, got {type(value).__name__} {value!r}")
    if value < 0:
        raise ValueError(f"{arg} must be an int >= 0, got {value}")
    return value


class WarmupCosine:
    """The factor of the base lr at each step: a linear warm-up, then a cosine decay.

    Step ``t`` (counted from 0, as ``LambdaLR`` counts) uses ``(t + 1) / warmup_steps`` during the
    warm-up (so the first step already moves, and step ``warmup_steps - 1`` uses the full base lr),
    then ``min_factor + (1 - min_factor) * (1 + cos(pi * (t - warmup_steps) / (total_steps -
    warmup_steps))) / 2``, from 1 down towards ``min_factor`` at step ``total_steps``; it stays at
    ``min_factor`` after that. Pass one per group to ``LambdaLR`` (it is a plain object, so
    ``LambdaLR.state_dict()`` saves its settings). Build it with :func:`warmup_cosine`.
    """

    def __init__(self, warmup_steps: int, total_steps: int, min_factor: float = 0.0):
        self.warmup_steps = warmup_steps
        self.total_steps = total_steps
        self.min_factor = min_factor

    def __call__(self, t: int) -> float:
        if t < self.warmup_steps:
            return (t + 1) / self.warmup_steps
        decay = self.total_steps - self.warmup_steps
        progress = min(t - self.warmup_steps, decay) / decay
        return self.min_factor + (1 - self.min_factor) * (1 + math.cos(math.pi * progress)) / 2

    def __repr__(self) -> str:
        return f"warmup_cosine(warmup_steps={self.warmup_steps}, total_steps={self.total_steps}, min_factor={self.min_factor})"


def warmup_cosine(warmup_steps: int, total_steps: int, min_factor: float = 0.0) -> WarmupCosine:
    """A warm-up-then-cosine factor for ``LambdaLR``, one per group (see :class:`WarmupCosine`).

    ``warmup_steps=0`` is a plain cosine. Returns a callable ``t -> factor``.
    Example: ``LambdaLR(optimizer, [lambda t: 1.0, warmup_cosine(5, 100)])`` (backbone constant, head warmed up).
    """
    _require_count(warmup_steps, "warmup_steps")
    require_positive_int(total_steps, "total_steps")
    if warmup_steps >= total_steps:
        raise ValueError(f"warmup_steps must be smaller than total_steps, got warmup_steps={warmup_steps}, total_steps={total_steps}")
    if isinstance(min_factor, bool) or not isinstance(min_factor, (int, float)):
        raise TypeError(f"min_factor must be a number from 0 to 1, got {type(min_factor).__name__} {min_factor!r}")
    if not 0 <= min_factor <= 1:
        raise ValueError(f"min_factor must be from 0 to 1 (a fraction of the base lr), got {min_factor}")
    return WarmupCosine(warmup_steps, total_steps, float(min_factor))


def build_schedule(name: str, optimizer: torch.optim.Optimizer, steps: int, warmup_steps: int = 0) -> Any:
    """One of ``SCHEDULES`` built on ``optimizer``, each group from its own lr, over ``steps`` steps.

    ``constant``: ``LambdaLR`` with factor 1; ``step``: ``StepLR`` halving every third of the run;
    ``cosine``: ``CosineAnnealingLR(T_max=steps)``; ``warmup_cosine``: ``LambdaLR`` with
    :func:`warmup_cosine`; ``one_cycle``: ``OneCycleLR`` with each group's lr as its ``max_lr``
    and the warm-up as its rising phase. Only the last two use ``warmup_steps``.
    Example: ``scheduler = build_schedule("one_cycle", optimizer, steps=100, warmup_steps=10)``.
    """
    if name not in SCHEDULES:
        raise ValueError(f"name must be one of {list(SCHEDULES)}, got {name!r}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    require_positive_int(steps, "steps")
    _require_count(warmup_steps, "warmup_steps")
    if name in _WARMUP_SCHEDULES and warmup_steps >= steps:
        raise ValueError(f"warmup_steps must be smaller than steps, got warmup_steps={warmup_steps}, steps={steps}")
    if name == "constant":
        return lr_scheduler.LambdaLR(optimizer, lambda t: 1.0)
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=max(1, steps // 3), gamma=0.5)
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if name == "warmup_cosine":
        return lr_scheduler.LambdaLR(optimizer, warmup_cosine(warmup_steps, steps))
    max_lrs = [float(group["lr"]) for group in optimizer.param_groups]
    return lr_scheduler.OneCycleLR(optimizer, max_lr=max_lrs, total_steps=steps, pct_start=max(warmup_steps, 1) / steps)


def _base_lrs(base_lrs: Any) -> list[float]:
    if isinstance(base_lrs, (str, bytes)) or not isinstance(base_lrs, Iterable):
        raise TypeError(f"base_lrs must be a list of numbers, one per group, got {base_lrs!r}")
    lrs = list(base_lrs)
    if not lrs or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lrs):
        raise TypeError(f"base_lrs must be a non-empty list of numbers, one per group, got {lrs!r}")
    if not all(math.isfinite(v) and v > 0 for v in lrs):
        raise ValueError(f"base_lrs must all be > 0, got {lrs!r}")
    return [float(v) for v in lrs]


def _throwaway_optimizer(base_lrs: Sequence[float]) -> torch.optim.Optimizer:
    groups = [{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in base_lrs]
    return torch.optim.SGD(groups, lr=base_lrs[0], momentum=0.9)  # momentum: OneCycleLR cycles it


def schedule_lrs(name: str, base_lrs: Sequence[float], steps: int, warmup_steps: int = 0) -> pd.DataFrame:
    """Each group's lr at every step of the named schedule (see :func:`build_schedule`), no training.

    A pure function: a throwaway optimizer with one group per entry of ``base_lrs`` is never
    stepped; the real scheduler is. Returns the columns of ``lr_schedule``: ``step`` (from 1),
    ``group``, ``lr`` (and ``momentum``). Example: ``schedule_lrs("cosine", [0.01, 0.1], steps=50)``.
    """
    lrs = _base_lrs(base_lrs)
    build_schedule(name, _throwaway_optimizer(lrs), steps, warmup_steps)  # validate before previewing
    return lr_schedule(lambda: _throwaway_optimizer(lrs), lambda opt: build_schedule(name, opt, steps, warmup_steps), steps)


def _plain_log_axis(ax: Any) -> None:
    """A log-scale y axis labelled 0.1, 0.01, 1e-05 without minor ticks: over several decades the
    minor ticks and the mathtext labels (10^-2) take most of the drawing time."""
    from matplotlib.ticker import FuncFormatter, NullLocator

    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


def plot_schedules(
    names: Sequence[str] = SCHEDULES,
    base_lrs: Sequence[float] = (0.01, 0.1),
    steps: int = 60,
    warmup_steps: int = 10,
    *,
    group_names: Sequence[str] = ("body", "head"),
    fig: Any = None,
) -> Any:
    """Side by side, one panel per named schedule, one line per group (``plot_lr_schedule`` each).

    The y axis is logarithmic, so two groups whose lrs keep a constant ratio are two parallel
    lines. ``fig``: a matplotlib Figure to draw on (default: a new one). Returns the Figure.
    Example: ``plot_schedules(base_lrs=(0.001, 0.01), steps=100, warmup_steps=10)``.
    """
    if isinstance(names, str) or not names or not all(n in SCHEDULES for n in names):
        raise ValueError(f"names must be a non-empty list taken from {list(SCHEDULES)}, got {names!r}")
    lrs = _base_lrs(base_lrs)
    labels = _check_names(group_names, len(lrs), later_groups=False)
    for name in names:
        build_schedule(name, _throwaway_optimizer(lrs), steps, warmup_steps)  # validate before drawing
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(3.0 * len(names), 3.2), layout="constrained")
    axes = fig.subplots(1, len(names), sharey=True, squeeze=False)[0]
    for ax, name in zip(axes, names):
        plot_lr_schedule(
            lambda: _throwaway_optimizer(lrs), lambda opt, n=name: build_schedule(n, opt, steps, warmup_steps), steps, ax=ax, names=labels
        )
        _plain_log_axis(ax)
        ax.set_title(name.replace("_", " "))
        if ax is not axes[0]:
            ax.set_ylabel("")
            ax.get_legend().remove()
    fig.suptitle(f"{len(names)} schedules, two groups (base lrs {', '.join(f'{v:g}' for v in lrs)}; log scale)")
    return fig


def _schedulers_in(scheduler: Any) -> list[Any]:
    inner = getattr(scheduler, "_schedulers", None)
    if inner:
        return [s for child in inner for s in _schedulers_in(child)]
    return [scheduler]


def scale_schedule(scheduler: Any, factor: float, groups: Sequence[int] | None = None) -> None:
    """Multiply the rest of a running schedule by ``factor`` for the given groups (default: all).

    Setting ``group["lr"]`` alone is undone at the next ``scheduler.step()`` by schedulers that
    compute the lr from their base (``LambdaLR``, ``OneCycleLR``, ...). This scales every value
    the scheduler computes from as well: the group's ``lr`` and ``initial_lr``, the scheduler's
    ``base_lrs`` (and ``max_lrs``/``min_lrs``, and OneCycleLR's per-group ``max_lr``/``min_lr``),
    inside ``SequentialLR``/``ChainedScheduler`` too. Schedulers with a shared ``eta_min`` other
    than 0 are refused. Example: ``scale_schedule(scheduler, 0.1, groups=[1])`` (head lr / 10 from now on).
    """
    if isinstance(factor, bool) or not isinstance(factor, (int, float)):
        raise TypeError(f"factor must be a number > 0, got {type(factor).__name__} {factor!r}")
    if not math.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a number > 0, got {factor!r}")
    if not hasattr(scheduler, "optimizer") or not isinstance(scheduler.optimizer, torch.optim.Optimizer):
        raise TypeError(f"scheduler must be a learning-rate scheduler, got {type(scheduler).__name__}")
    optimizer = scheduler.optimizer
    n = len(optimizer.param_groups)
    chosen = list(range(n)) if groups is None else list(groups)
    if not chosen or not all(isinstance(g, int) and not isinstance(g, bool) and 0 <= g < n for g in chosen):
        raise ValueError(f"groups must list group indices from 0 to {n - 1}, got {groups!r}")
    parts = _schedulers_in(scheduler)
    for part in parts:
        if getattr(part, "eta_min", 0) != 0:
            raise ValueError(
                f"{type(part).__name__} has eta_min={part.eta_min}, one floor shared by every group, which cannot be "
                "scaled per group: rebuild that scheduler instead"
            )
    for g in chosen:
        group = optimizer.param_groups[g]
        for key in ("lr", "initial_lr", "max_lr", "min_lr"):
            if key in group:
                group[key] = group[key] * factor
        for part in parts:
            for attr in ("base_lrs", "max_lrs", "min_lrs"):
                values = getattr(part, attr, None)
                if isinstance(values, list) and len(values) == n:
                    values[g] = values[g] * factor
            last = getattr(part, "_last_lr", None)
            if isinstance(last, list) and len(last) == n:
                last[g] = last[g] * factor
    last = getattr(scheduler, "_last_lr", None)
    if isinstance(last, list) and len(last) == n:
        scheduler._last_lr = [float(group["lr"]) for group in optimizer.param_groups]


def schedule_summary(history: pd.DataFrame, group_names: Sequence[str] = ("body", "head")) -> str:
    """One line about a ``schedule_lrs`` result: each group's peak lr and the step it is first
    reached, and the lrs of the last step, in the current language.
    Example: ``schedule_summary(schedule_lrs("cosine", [0.01, 0.1], 50))``."""
    return _summaries(history, group_names)[1]


def _summaries(history: pd.DataFrame, group_names: Sequence[str]) -> tuple[str, str]:
    """:func:`schedule_summary` in English and in the current language (each part translated on
    its own: the whole line would match its templates the wrong way)."""
    parts, shown, last = [], [], []
    for g, name in enumerate(group_names):
        rows = history[history["group"] == g]
        peak = rows.loc[rows["lr"].idxmax()]
        # Only "at step N" is a template: "{name} {lr} at step {N}" would match any sentence with "at step".
        step = int(peak["step"])
        said = tr(where := f"at step {step}")
        shown.append(f"{name} {peak['lr']:.4g}" + (" " if said[:1].isascii() else "") + said)  # no space before （
        parts.append(f"{name} {peak['lr']:.4g} {where}")
        last.append(f"{name} {rows['lr'].iloc[-1]:.3g}")
    steps = int(history["step"].max())
    english = f"peak lr: {', '.join(parts)}; at step {steps}: {', '.join(last)}"
    return english, tr(f"peak lr: {', '.join(shown)}; at step {steps}: {', '.join(last)}")


def schedule_playground(steps: int = 60) -> Any:
    """A widget: pick a schedule, the warm-up length and each group's base lr; both groups' curves
    redraw, computed in the kernel by :func:`schedule_lrs`. Returns an ipywidgets ``VBox`` (a
    ``helpers.widgets.playground``: without a kernel it shows a picture of its first state)."""
    import ipywidgets as w

    from .widgets import _label, _png, _say, playground

    require_positive_int(steps, "steps")
    controls = {
        "schedule": _label(w.Dropdown(options=list(SCHEDULES), value="warmup_cosine"), "schedule"),
        "warmup": _label(w.IntSlider(value=10, min=0, max=steps // 2, step=1), "warm-up"),
        "body": _label(w.FloatLogSlider(value=1e-3, base=10, min=-4, max=0, step=0.1, readout_format=".4f"), "body lr"),
        "head": _label(w.FloatLogSlider(value=1e-2, base=10, min=-4, max=0, step=0.1, readout_format=".4f"), "head lr"),
    }
    summary = w.HTML(layout=w.Layout(min_height="1.5em"))
    summary.add_class("playground-summary")
    picture = w.Image(format="png")
    picture.add_class("playground-picture")

    def redraw(*_: Any) -> None:
        name = controls["schedule"].value
        history = schedule_lrs(name, [controls["body"].value, controls["head"].value], steps, controls["warmup"].value)
        english, shown = _summaries(history, ["body", "head"])
        _say(summary, f"{name}: {english}", f"{name}: {shown}")

        def draw(fig: Any) -> None:
            from .lr import _plot_lr

            ax = _plot_lr(history, ["body", "head"], fig.subplots(), f"{name.replace('_', ' ')}: lr per group")
            _plain_log_axis(ax)

        picture.value = _png((6.0, 3.5), draw)

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return playground([[controls["schedule"], controls["warmup"]], [controls["body"], controls["head"]]], summary, picture)
