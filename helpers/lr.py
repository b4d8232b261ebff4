"""Learning rates per parameter group: record them while training, or preview a schedule."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._checks import require_optimizer, require_positive_int
from ._style import colour, get_ax
from ._table import Table, check_every_and_max_steps

COLUMNS = ("lr", "momentum", "beta1")


def _float(value: Any) -> float:
    return float(value.item()) if isinstance(value, torch.Tensor) else float(value)


def group_values(optimizer: torch.optim.Optimizer) -> list[dict[str, float]]:
    """For each group: its ``lr``, and ``momentum`` or ``beta1`` where the group has one."""
    out = []
    for group in optimizer.param_groups:
        row = {"lr": _float(group["lr"])}
        if "momentum" in group:
            row["momentum"] = _float(group["momentum"])
        if "betas" in group:
            row["beta1"] = _float(group["betas"][0])
        out.append(row)
    return out


def _check_names(names: Sequence[str] | None, groups: int, *, later_groups: bool) -> list[str] | None:
    """``names`` as a list after checking it gives one distinct string per group.

    With ``later_groups`` the list may be longer: the extra names are for groups that
    ``add_param_group`` adds later. Example: ``_check_names(["body", "head"], 2, later_groups=False)``.
    """
    if names is None:
        return None
    if isinstance(names, (str, bytes)) or not isinstance(names, Iterable):
        raise TypeError(f"names must be a list of strings, one per group, got {names!r}")
    given = list(names)
    if not all(isinstance(n, str) for n in given):
        raise TypeError(f"names must be a list of strings, one per group, got {given!r}")
    if len(given) < groups or (len(given) > groups and not later_groups):
        more = " (or more: extra names label groups added later with add_param_group)" if later_groups else ""
        raise ValueError(f"names: the optimizer has {groups} parameter group(s), so give {groups} name(s){more}; got {len(given)}: {given!r}")
    repeated = sorted({n for n in given if given.count(n) > 1})
    if repeated:
        raise ValueError(f"names must be distinct (they label the groups' lines), got {repeated!r} more than once")
    return given


def _names_for(names: Sequence[str] | None, n: int) -> list[str]:
    given = list(names or [])
    return [given[g] if g < len(given) else f"group {g}" for g in range(n)]


def _plot_lr(history: pd.DataFrame, names: Sequence[str] | None, ax: Any, title: str) -> Any:
    if history.empty:
        raise ValueError("nothing recorded yet: call optimizer.step() while the recorder is on")
    from matplotlib.ticker import MaxNLocator

    ax = get_ax(ax)
    groups = sorted(history["group"].unique())
    labels = _names_for(names, max(groups) + 1)
    for g in groups:
        part = history[history["group"] == g]
        ax.plot(part["step"], part["lr"], color=colour(g), label=labels[g], linewidth=1.8, drawstyle="steps-post")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    ax.legend()
    return ax


class LRRecorder:
    """Record every group's learning rate (and momentum or beta1) at every ``optimizer.step()``.

    The values recorded for step k are the ones step k used (read just before it). A group
    added later with ``add_param_group`` appears from the step it was added. ``history`` is a
    DataFrame with one row per step and group: ``step``, ``group``, ``lr``, and
    ``momentum``/``beta1`` where present. ``names`` labels the groups in ``plot()``: one
    distinct name per group the optimizer has now (fewer raise ``ValueError``); names beyond
    those label the groups added later, in order, and a group beyond the list is ``group g``.
    Use as a context manager (or ``start()``/``remove()``)::

        with LRRecorder(optimizer, names=["backbone", "head"]) as lrs:
            ...
        lrs.plot()

    ``every=k`` records steps 1, k+1, 2k+1, ... only; ``max_steps=m`` keeps the last ``m``
    recorded steps (a ring buffer, for very long runs). The numbers live in preallocated
    arrays (27 bytes per step and group); ``history`` builds the DataFrame when read.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        names: Sequence[str] | None = None,
        *,
        every: int = 1,
        max_steps: int | None = None,
    ):
        self.optimizer = require_optimizer(optimizer)
        self.names = _check_names(names, len(self.optimizer.param_groups), later_groups=True)
        check_every_and_max_steps(every, max_steps)
        self.every = every
        self.max_steps = max_steps
        self._table = Table(len(COLUMNS), max_steps)
        self._handle: Any = None
        self.steps = 0

    def _pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.steps += 1
        if (self.steps - 1) % self.every:
            return
        values = group_values(optimizer)
        table = self._table
        table.ensure_slots(len(values))
        row = table.new_row(self.steps)
        for g, group in enumerate(values):
            for c, column in enumerate(COLUMNS):
                if column in group:
                    table.values[row, g, c] = group[column]
                    table.present[row, g, c] = True

    def start(self) -> "LRRecorder":
        if self._handle is None:
            self._handle = self.optimizer.register_step_pre_hook(self._pre)
        return self

    def remove(self) -> None:
        """Remove the hook (the history is kept)."""
        if self._handle is not None:
            self._handle.remove()
            self._handle = None

    def __enter__(self) -> "LRRecorder":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    @property
    def history_bytes(self) -> int:
        """Bytes the recorded numbers take now (the arrays behind ``history``)."""
        return self._table.nbytes

    @property
    def history(self) -> pd.DataFrame:
        table, order = self._table, self._table.order()
        present = table.present[order]
        recorded = present[:, :, 0]  # lr: every group present at a step has one
        steps, groups = np.nonzero(recorded)
        frame = {"step": table.steps[order][steps], "group": groups.astype(np.int64)}
        for c, column in enumerate(COLUMNS):
            if c == 0 or present[:, :, c].any():
                frame[column] = table.values[order][steps, groups, c]
        return pd.DataFrame(frame, columns=["step", "group", *(c for c in COLUMNS if c in frame)])

    def plot(self, ax: Any = None) -> Any:
        """One line per group: the learning rate each step used. Returns the Axes."""
        return _plot_lr(self.history, self.names, ax, "Learning rate per parameter group")


def lr_schedule(
    make_optimizer: Callable[[], torch.optim.Optimizer],
    make_scheduler: Callable[[torch.optim.Optimizer], Any],
    steps: int,
) -> pd.DataFrame:
    """Each group's learning rate over ``steps`` steps of a real scheduler, without training.

    ``make_optimizer()`` builds the optimizer (it is never stepped, so no parameter moves);
    ``make_scheduler(optimizer)`` builds the scheduler. Returns the same columns as
    ``LRRecorder.history``. Example:
    ``lr_schedule(lambda: SGD(model.parameters(), lr=0.1), lambda o: StepLR(o, 10), 30)``.
    """
    require_positive_int(steps, "steps")
    if not callable(make_optimizer) or not callable(make_scheduler):
        raise TypeError("make_optimizer and make_scheduler must be callables: lambda: SGD(...), lambda opt: StepLR(opt, ...)")
    optimizer = make_optimizer()
    require_optimizer(optimizer, "make_optimizer()")
    scheduler = make_scheduler(optimizer)
    if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
        raise TypeError("ReduceLROnPlateau follows a measured loss, so it has no schedule to preview")
    if not hasattr(scheduler, "step") or getattr(scheduler, "optimizer", optimizer) is not optimizer:
        raise TypeError("make_scheduler(optimizer) must return a learning-rate scheduler built on that optimizer")
    rows = []
    with warnings.catch_warnings():
        # We step the scheduler alone on purpose: the optimizer is never stepped in a preview.
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)` before")
        for step in range(1, steps + 1):
            for g, values in enumerate(group_values(optimizer)):
                rows.append({"step": step, "group": g, **values})
            scheduler.step()
    return pd.DataFrame(rows)


def plot_lr_schedule(
    make_optimizer: Callable[[], torch.optim.Optimizer],
    make_scheduler: Callable[[torch.optim.Optimizer], Any],
    steps: int,
    ax: Any = None,
    *,
    names: Sequence[str] | None = None,
) -> Any:
    """Preview a schedule for every group (see ``lr_schedule``); one line per group. Returns the Axes.

    ``names`` gives one distinct label per group (a list of another length raises ``ValueError``).
    """
    history = lr_schedule(make_optimizer, make_scheduler, steps)
    names = _check_names(names, int(history["group"].max()) + 1, later_groups=False)
    return _plot_lr(history, names, ax, "Learning-rate schedule per parameter group")
