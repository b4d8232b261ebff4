"""Gradients: per-parameter statistics, their pictures, and a recorder of every step."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._checks import param_names, require_model, require_optimizer
from ._style import MUTED, colour, get_ax

STATS = ("norm", "mean", "std", "max_abs", "zero_frac")
_STAT_COLUMNS = list(STATS)


SMALL = 1 << 14  # below this many elements, sums are taken in float64 (cheap, and exact enough)


def _moments(flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum and sum of squares in two fast passes (var_mean and std are several times slower on CPU).

    The variance comes from these as E[x^2] - E[x]^2; small tensors are summed in float64 so
    that the subtraction keeps its digits; large float32 ones use float32 sums for speed.
    """
    if flat.numel() < SMALL and flat.dtype != torch.float64:
        flat = flat.double()
    return flat.sum(), torch.dot(flat, flat)


def _std(total: torch.Tensor, squares: torch.Tensor, n: Any) -> torch.Tensor:
    mean = total / n
    return (squares / n - mean * mean).clamp_min(0).sqrt()


def _flat(t: torch.Tensor) -> torch.Tensor:
    flat = t.detach().reshape(-1)
    return flat if flat.dtype in (torch.float32, torch.float64) else flat.float()


def _stats_tensor(g: torch.Tensor) -> torch.Tensor:
    """The five statistics of one gradient as one float64 tensor."""
    flat = _flat(g)
    n = flat.numel()
    total, squares = _moments(flat)
    low, high = torch.aminmax(flat)
    return torch.stack(
        [
            squares.sqrt(),
            total / n,
            _std(total, squares, n),
            torch.maximum(low.abs(), high.abs()),
            1 - torch.count_nonzero(flat) / n,
        ]
    ).to(torch.float64)


def grad_stats(model: torch.nn.Module) -> pd.DataFrame:
    """One row per parameter: ``name``, ``shape``, ``status`` and the gradient's statistics.

    ``status`` is ``"ok"``, ``"no grad"`` (``.grad is None``) or ``"frozen"``
    (``requires_grad=False``); the statistics (``norm``, ``mean``, ``std``, ``max_abs``,
    ``zero_frac``) are NaN when there is no gradient, never zeros.
    Example: ``loss.backward(); grad_stats(model)``.
    """
    require_model(model)
    rows = []
    for name, p in model.named_parameters():
        row: dict[str, Any] = {"name": name, "shape": tuple(p.shape)}
        if not p.requires_grad:
            row["status"] = "frozen"
        elif p.grad is None:
            row["status"] = "no grad"
        else:
            row["status"] = "ok"
            row.update(zip(STATS, _stats_tensor(p.grad).tolist()))
        rows.append(row)
    table = pd.DataFrame(rows, columns=["name", "shape", "status", *STATS])
    table[list(STATS)] = table[list(STATS)].astype(float)
    return table


def _as_stats(model_or_stats: Any) -> pd.DataFrame:
    if isinstance(model_or_stats, pd.DataFrame):
        missing = {"name", "status", "norm", "max_abs"} - set(model_or_stats.columns)
        if missing:
            raise ValueError(f"model_or_stats: a DataFrame from grad_stats() is expected; missing columns {sorted(missing)}")
        return model_or_stats
    if isinstance(model_or_stats, torch.nn.Module):
        return grad_stats(model_or_stats)
    raise TypeError(f"model_or_stats must be a torch.nn.Module or grad_stats(...) DataFrame, got {type(model_or_stats).__name__}")


def plot_grad_flow(model_or_stats: torch.nn.Module | pd.DataFrame, ax: Any = None, *, log: bool = False) -> Any:
    """Per-parameter bars of the gradient's norm and max |g|.

    Parameters without a gradient or frozen get a grey band labelled ``no grad`` / ``frozen``
    instead of a bar, so "no gradient" never looks like "a zero gradient".
    Example: ``plot_grad_flow(model)``. Returns the Axes.
    """
    stats = _as_stats(model_or_stats)
    if stats.empty:
        raise ValueError("model_or_stats has no parameters to draw")
    ax = get_ax(ax, figsize=(max(6.0, 0.6 * len(stats)), 4.0))
    xs = np.arange(len(stats))
    ok = (stats["status"] == "ok").to_numpy()
    width = 0.4
    ax.bar(xs[ok] - width / 2, stats["norm"][ok], width, color=colour(0), label="norm")
    ax.bar(xs[ok] + width / 2, stats["max_abs"][ok], width, color=colour(1), label="max |g|")
    first = True
    for x, status in zip(xs[~ok], stats["status"][~ok]):
        ax.axvspan(x - 0.45, x + 0.45, color=MUTED, alpha=0.3, hatch="//", label="no gradient" if first else None)
        ax.text(x, 0.5, status, rotation=90, ha="center", va="center", transform=ax.get_xaxis_transform(), fontsize=9)
        first = False
    if log and ok.any():
        ax.set_yscale("log")
    ax.set_xticks(xs, stats["name"], rotation=45, ha="right")
    ax.set_xlim(-0.6, len(stats) - 0.4)
    ax.set_xlabel("parameter")
    ax.set_ylabel("gradient")
    ax.set_title("Gradient per parameter")
    ax.legend()
    return ax


def plot_grad_histograms(model: torch.nn.Module, *, bins: int = 30, names: Sequence[str] | None = None, ncols: int = 4) -> Any:
    """One small histogram of gradient values per parameter (``names`` picks some).

    Parameters without a gradient get an empty panel that says so. Returns the Figure.
    Example: ``plot_grad_histograms(model, names=["0.weight", "2.weight"])``.
    """
    import matplotlib.pyplot as plt

    require_model(model)
    params = dict(model.named_parameters())
    if names is None:
        chosen = list(params)
    else:
        if isinstance(names, str):
            raise TypeError("names must be a list of parameter names, not one string")
        unknown = [n for n in names if n not in params]
        if unknown:
            raise ValueError(f"names: unknown parameter(s) {unknown}; the model has {list(params)}")
        chosen = list(names)
    if not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive int, got {bins!r}")
    ncols = max(1, min(ncols, len(chosen)))
    nrows = math.ceil(len(chosen) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.0 * ncols, 2.4 * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        if i >= len(chosen):
            ax.set_visible(False)
            continue
        name = chosen[i]
        p = params[name]
        ax.set_title(name, fontsize=9)
        if p.grad is None:
            ax.text(0.5, 0.5, "frozen" if not p.requires_grad else "no grad", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.hist(p.grad.detach().float().cpu().reshape(-1).numpy(), bins=bins, color=colour(i))
        ax.set_xlabel("gradient value", fontsize=8)
        ax.set_ylabel("count", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("Gradient histograms per parameter")
    fig.tight_layout()
    return fig


class GradientRecorder:
    """Record, at every ``optimizer.step()``, per-parameter gradient statistics and the update ratio.

    Use as a context manager around training::

        with GradientRecorder(model, optimizer) as rec:
            for ...: loss.backward(); optimizer.step()
        rec.plot_update_ratios()

    Before each step it records the gradient statistics the step uses (``stats``: by default
    ``norm``, ``mean``, ``std``, ``max_abs``; add ``zero_frac`` for the fraction of exact
    zeros, which costs one more pass over each gradient); after it, ``update_ratio``: ``std(update) / std(weight
    before)`` (the norm ratio for 1-element or constant weights), healthy around 1e-3.
    ``history`` is a long-form DataFrame (``step``, ``parameter``, ``group``, ``statistic``,
    ``value``); it holds Python floats only. While active, the recorder keeps one scratch copy
    of each parameter to measure the update; the copies and the hooks go on exit, also after
    an exception (or call ``remove()``).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        stats: Sequence[str] = ("norm", "mean", "std", "max_abs"),
    ):
        if isinstance(stats, str) or not stats:
            raise TypeError(f"stats must be a non-empty list of statistic names from {list(STATS)}, got {stats!r}")
        unknown = [s for s in stats if s not in STATS]
        if unknown:
            raise ValueError(f"stats: unknown statistic(s) {unknown}; expected names from {list(STATS)}")
        self.stats = tuple(stats)
        self._zeros = "zero_frac" in self.stats
        self.model = require_model(model)
        self.optimizer = require_optimizer(optimizer)
        self._names = param_names(optimizer, model)
        self._rows: list[tuple[int, str, int, str, float]] = []
        self._handles: list[Any] = []
        self._before: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._keys: list[tuple[str, int]] = []
        self._scratch: dict[int, torch.Tensor] = {}
        self._weight_moments: tuple[torch.Tensor, ...] = ()
        self.steps = 0

    # hooks ---------------------------------------------------------------------
    # The hooks run at every step, so per parameter they only launch a few fast reductions
    # (sum, dot, aminmax, and count_nonzero when zero_frac is asked for); the arithmetic is
    # done once per step on stacked vectors, and one .tolist() brings the numbers back.
    def _pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.steps += 1
        self._before, self._keys = [], []
        scalars: list[torch.Tensor] = []
        with torch.no_grad():
            for g, group in enumerate(optimizer.param_groups):
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    self._keys.append((self._names.get(id(p)) or self._name_later(p, g), g))
                    flat = p.grad.reshape(-1)  # under no_grad: plain views, no autograd bookkeeping
                    weight = p.reshape(-1)
                    if flat.dtype not in (torch.float32, torch.float64):
                        flat, weight = flat.float(), weight.float()
                    # _post measures the update against a copy of the weight. The buffer is
                    # reused from step to step (a fresh allocation per step costs page faults)
                    # and freed when the recorder stops. Its moments are taken right after the
                    # copy, while it is still in cache.
                    buffer = self._scratch.get(id(p))
                    if buffer is None or buffer.shape != weight.shape or buffer.dtype != weight.dtype:
                        buffer = self._scratch[id(p)] = torch.empty_like(weight)
                    buffer.copy_(weight)
                    self._before.append((p, buffer))
                    scalars += [*_moments(flat), *torch.aminmax(flat), *_moments(buffer)]
                    if self._zeros:
                        scalars.append(torch.count_nonzero(flat))
            if not self._keys:
                return
            width = 7 if self._zeros else 6
            m = torch.stack(scalars).to(torch.float64).reshape(-1, width)  # stack promotes dtypes
            n = torch.tensor([float(b.numel()) for _, b in self._before], dtype=torch.float64, device=m.device)
            total, squares, low, high = m[:, 0], m[:, 1], m[:, 2], m[:, 3]
            columns = {
                "norm": squares.sqrt(),
                "mean": total / n,
                "std": _std(total, squares, n),
                "max_abs": torch.maximum(low.abs(), high.abs()),
            }
            if self._zeros:
                columns["zero_frac"] = 1 - m[:, 6] / n
            stats = torch.stack([columns[name] for name in self.stats], 1)
            self._weight_moments = (m[:, 4], m[:, 5], n)
        for (name, g), row in zip(self._keys, stats.tolist()):
            self._rows.extend((self.steps, name, g, s, v) for s, v in zip(self.stats, row))

    def _post(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if not self._before:
            return
        with torch.no_grad():
            scalars: list[torch.Tensor] = []
            for p, before in self._before:
                update = torch.sub(p.reshape(-1).to(before.dtype), before, out=before)  # reuse the copy's memory
                scalars += _moments(update)
            u = torch.stack(scalars).to(torch.float64).reshape(-1, 2)
            b_sum, b_sq, n = self._weight_moments
            num, den = _std(u[:, 0], u[:, 1], n), _std(b_sum, b_sq, n)
            # A 1-element or constant weight has no spread: compare norms instead.
            use_norm = (den == 0) | (n == 1)
            ratios = torch.where(use_norm, u[:, 1].sqrt() / b_sq.sqrt(), num / den)
        for (name, g), v in zip(self._keys, ratios.tolist()):
            self._rows.append((self.steps, name, g, "update_ratio", v))
        self._before = []

    def _name_later(self, p: torch.Tensor, g: int) -> str:
        # A parameter added with add_param_group after the recorder started.
        self._names = param_names(self.optimizer, self.model)
        return self._names.get(id(p), f"group{g}.param?")

    # lifecycle -----------------------------------------------------------------
    def start(self) -> "GradientRecorder":
        if not self._handles:
            self._handles = [
                self.optimizer.register_step_pre_hook(self._pre),
                self.optimizer.register_step_post_hook(self._post),
            ]
        return self

    def remove(self) -> None:
        """Remove the hooks (the history is kept)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._before = []
        self._scratch = {}

    def __enter__(self) -> "GradientRecorder":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    @property
    def active(self) -> bool:
        return bool(self._handles)

    # results -------------------------------------------------------------------
    @property
    def history(self) -> pd.DataFrame:
        """Long-form DataFrame: ``step``, ``parameter``, ``group``, ``statistic``, ``value``."""
        return pd.DataFrame(self._rows, columns=["step", "parameter", "group", "statistic", "value"])

    def wide(self, statistic: str) -> pd.DataFrame:
        """One column per parameter, one row per step, for one statistic."""
        valid = (*self.stats, "update_ratio")
        if statistic not in valid:
            raise ValueError(f"statistic must be one of {list(valid)}, got {statistic!r}")
        h = self.history
        h = h[h["statistic"] == statistic]
        return h.pivot_table(index="step", columns="parameter", values="value", sort=False)

    def _plot(self, statistic: str, ax: Any, title: str, ylabel: str) -> Any:
        table = self.wide(statistic)
        if table.empty:
            raise ValueError("nothing recorded yet: call optimizer.step() inside the recorder first")
        ax = get_ax(ax)
        for i, name in enumerate(table.columns):
            ax.plot(table.index, table[name], color=colour(i), label=name, linewidth=1.5)
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        return ax

    def plot_norms(self, ax: Any = None, statistic: str = "norm") -> Any:
        """One line per parameter: the gradient ``statistic`` (default ``norm``) at each step."""
        ax = self._plot(statistic, ax, f"Gradient {statistic} per parameter", f"gradient {statistic}")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
        return ax

    def plot_update_ratios(self, ax: Any = None) -> Any:
        """One line per parameter: update-to-weight ratio per step, log scale, 1e-3 reference."""
        ax = self._plot("update_ratio", ax, "Update-to-weight ratio per parameter", "std(update) / std(weight)")
        ax.set_yscale("log")
        ax.axhline(1e-3, color="black", linestyle="--", linewidth=1, label="1e-3 reference")
        ax.legend(fontsize=8)
        return ax


def plot_grad_norms(snapshots: Sequence[pd.DataFrame], ax: Any = None, *, xlabel: str = "backward passes") -> Any:
    """One line per parameter: its gradient norm in each ``grad_stats`` snapshot, in order.

    Take a snapshot after each ``backward()`` to watch gradients accumulate.
    Example: ``plot_grad_norms([grad_stats(model) for ...])``. Returns the Axes.
    """
    if isinstance(snapshots, pd.DataFrame) or not isinstance(snapshots, Sequence) or not snapshots:
        raise TypeError("snapshots must be a non-empty list of grad_stats(model) DataFrames")
    frames = [_as_stats(s) for s in snapshots]
    ax = get_ax(ax)
    xs = range(1, len(frames) + 1)
    for i, name in enumerate(frames[0]["name"]):
        norms = [float(f.loc[f["name"] == name, "norm"].iloc[0]) if (f["name"] == name).any() else float("nan") for f in frames]
        ax.plot(xs, norms, marker="o", color=colour(i), label=name)
    ax.set_xticks(list(xs))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("gradient norm")
    ax.set_title("Gradient norm per parameter")
    ax.legend(fontsize=8)
    return ax
