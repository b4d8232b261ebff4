"""Gradients: per-parameter statistics, their pictures, and a recorder of every step."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._checks import param_names, require_model, require_optimizer
from ._style import MUTED, colour, get_ax

NONFINITE = "#D55E00"  # vermillion (Okabe & Ito): inf or NaN gradients

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


def _values(g: torch.Tensor) -> tuple[torch.Tensor, int]:
    """A gradient's values as a flat real float tensor, and how many elements the gradient has.

    A sparse gradient gives its stored values (duplicates summed), the other elements being
    implicit zeros; a complex one gives the magnitudes ``|g|``, so that the norm is
    ``sqrt(sum |g|**2)`` like ``torch.linalg.vector_norm`` and nothing is silently dropped.
    """
    g = g.detach()
    if g.layout == torch.sparse_coo:
        stored = g.coalesce().values()
    elif g.layout != torch.strided:  # the compressed layouts (CSR, CSC, BSR, BSC) hold no duplicates
        stored = g.values()
    else:
        stored = g
    flat = stored.reshape(-1)
    if flat.is_complex():
        flat = flat.abs()
    return (flat if flat.dtype in (torch.float32, torch.float64) else flat.float()), g.numel()


def _stats_floats(g: torch.Tensor) -> dict[str, float]:
    """The five statistics of one gradient with at least one element, as floats.

    Implicit zeros of a sparse gradient count as elements (the statistics are the dense
    gradient's); for a complex gradient they are those of ``|g|``.
    """
    flat, n = _values(g)
    total, squares = _moments(flat)
    if flat.numel():
        low, high = torch.aminmax(flat)
        max_abs = torch.maximum(low.abs(), high.abs()).to(total.dtype)
        nonzero = torch.count_nonzero(flat)
    else:  # a sparse gradient that stores nothing: all zeros
        max_abs, nonzero = torch.zeros_like(total), torch.zeros((), dtype=torch.int64, device=total.device)
    values = torch.stack(
        [squares.sqrt(), total / n, _std(total, squares, n), max_abs, 1 - nonzero / n]
    ).to(torch.float64)
    return dict(zip(STATS, values.tolist()))


def _status_and_stats(p: torch.Tensor) -> tuple[str, dict[str, float]]:
    """``(status, statistics)`` of one parameter; see ``grad_stats`` for the statuses."""
    if not p.requires_grad:
        return "frozen", {}
    g = p.grad
    if g is None:
        return "no grad", {}
    if g.numel() == 0:
        return "empty", {}
    stats = _stats_floats(g)
    # Only when a statistic is not finite is it worth a pass to ask whether the elements are
    # (a float32 sum of squares can overflow to inf while every element is finite).
    if not all(math.isfinite(v) for v in stats.values()):
        flat, _ = _values(g)
        if not bool(torch.isfinite(flat).all()):
            return "non-finite", stats
    return ("ok" if g.layout == torch.strided else "sparse"), stats


def grad_stats(model: torch.nn.Module) -> pd.DataFrame:
    """One row per parameter: ``name``, ``shape``, ``status`` and the gradient's statistics.

    ``status`` is the first that applies of: ``"frozen"`` (``requires_grad=False``), ``"no
    grad"`` (``.grad is None``), ``"empty"`` (a parameter with 0 elements), ``"non-finite"``
    (the gradient holds inf or NaN; the statistics are computed anyway, so ``norm`` is inf or
    NaN), ``"sparse"`` (a sparse gradient, e.g. from ``nn.Embedding(sparse=True)``: the
    statistics are those of the dense gradient it stands for) and ``"ok"``. The statistics
    (``norm``, ``mean``, ``std``, ``max_abs``, ``zero_frac``) are NaN when there is nothing to
    measure (frozen, no grad, empty), never zeros. For a complex gradient they are those of
    the magnitudes ``|g|`` (``norm`` is ``torch.linalg.vector_norm(g)``).
    Example: ``loss.backward(); grad_stats(model)``.
    """
    require_model(model)
    rows = []
    for name, p in model.named_parameters():
        status, stats = _status_and_stats(p)
        rows.append({"name": name, "shape": tuple(p.shape), "status": status, **stats})
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

    Parameters without a gradient, frozen or empty get a grey band labelled with their status
    instead of a bar, so "no gradient" never looks like "a zero gradient"; a gradient whose
    norm or max |g| is inf or NaN gets a red band labelled ``inf`` or ``NaN``, and the title
    counts them. Example: ``plot_grad_flow(model)``. Returns the Axes.
    """
    stats = _as_stats(model_or_stats)
    if stats.empty:
        raise ValueError("model_or_stats has no parameters to draw")
    ax = get_ax(ax, figsize=(max(6.0, 0.6 * len(stats)), 4.0))
    xs = np.arange(len(stats))
    norm = stats["norm"].to_numpy(dtype=float)
    max_abs = stats["max_abs"].to_numpy(dtype=float)
    measured = stats["status"].isin(["ok", "sparse", "non-finite"]).to_numpy()
    finite = np.isfinite(norm) & np.isfinite(max_abs)
    ok = measured & finite
    bad = (measured & ~finite) | (stats["status"] == "non-finite").to_numpy()
    ok &= ~bad
    width = 0.4
    ax.bar(xs[ok] - width / 2, norm[ok], width, color=colour(0), label="norm")
    ax.bar(xs[ok] + width / 2, max_abs[ok], width, color=colour(1), label="max |g|")
    first = True
    for x, status in zip(xs[~ok & ~bad], stats["status"][~ok & ~bad]):
        ax.axvspan(x - 0.45, x + 0.45, color=MUTED, alpha=0.3, hatch="//", label="no gradient" if first else None)
        ax.text(x, 0.5, status, rotation=90, ha="center", va="center", transform=ax.get_xaxis_transform(), fontsize=9)
        first = False
    first = True
    for x in xs[bad]:
        ax.axvspan(x - 0.45, x + 0.45, color=NONFINITE, alpha=0.3, label="inf/NaN gradient" if first else None)
        word = "NaN" if np.isnan(norm[x]) or np.isnan(max_abs[x]) else "inf"
        ax.text(x, 0.5, word, rotation=90, ha="center", va="center", transform=ax.get_xaxis_transform(), fontsize=9)
        first = False
    if log and ok.any():
        ax.set_yscale("log")
    ax.set_xticks(xs, stats["name"], rotation=45, ha="right")
    ax.set_xlim(-0.6, len(stats) - 0.4)
    ax.set_xlabel("parameter")
    ax.set_ylabel("gradient")
    title = "Gradient per parameter"
    if bad.any():
        title += f" ({int(bad.sum())} with inf/NaN)"
    ax.set_title(title)
    ax.legend()
    return ax


def _count_non_finite(values: np.ndarray) -> str:
    """E.g. ``"1 NaN, 2 +inf not drawn"``, or ``""`` when every value is finite."""
    counts = (("NaN", np.isnan(values)), ("+inf", np.isposinf(values)), ("-inf", np.isneginf(values)))
    parts = [f"{int(mask.sum())} {word}" for word, mask in counts if mask.any()]
    return f"{', '.join(parts)} not drawn" if parts else ""


def plot_grad_histograms(model: torch.nn.Module, *, bins: int = 30, names: Sequence[str] | None = None, ncols: int = 4) -> Any:
    """One small histogram of gradient values per parameter (``names`` picks some).

    Parameters without a gradient (or with 0 elements) get an empty panel that says so. Values
    that are inf or NaN are counted in the panel's title, not drawn; a sparse gradient shows its
    stored values (the title says how many of all), a complex one its magnitudes ``|g|``.
    Returns the Figure. Example: ``plot_grad_histograms(model, names=["0.weight", "2.weight"])``.
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
        if p.grad is None or p.grad.numel() == 0:
            word = "frozen" if not p.requires_grad else "no grad" if p.grad is None else "empty (0 elements)"
            ax.text(0.5, 0.5, word, ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        flat, n = _values(p.grad)
        values = flat.float().cpu().numpy()
        notes = []
        if p.grad.layout != torch.strided:
            notes.append(f"sparse: {values.size} of {n} stored")
        counted = _count_non_finite(values)
        if counted:
            notes.append(counted)
            values = values[np.isfinite(values)]
        if notes:
            ax.set_title("\n".join([name, *notes]), fontsize=9, color=NONFINITE if counted else "black")
        if values.size:
            ax.hist(values, bins=bins, color=colour(i))
        else:
            ax.text(0.5, 0.5, "no finite values", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("|gradient value|" if p.grad.is_complex() else "gradient value", fontsize=8)
        ax.set_ylabel("count", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("Gradient histograms per parameter")
    fig.tight_layout()
    return fig


def _slow_ratio(p: torch.Tensor, before: torch.Tensor | None) -> float:
    """``std(update) / std(weight before)`` of one parameter measured on its own; the norm ratio
    for a 1-element or constant weight; NaN without a copy (a parameter with 0 elements).

    A real weight uses the same sums as the recorder's fast path; a complex one is measured in
    complex128, whose std is ``sqrt(mean |w - mean w|**2)`` as in ``torch.std``.
    """
    if before is None:
        return math.nan
    now = p.detach().reshape(-1)
    n = before.numel()
    if before.is_complex():
        b = before.to(torch.complex128)
        u = now.to(torch.complex128) - b
        num, den = torch.std(u, correction=0), torch.std(b, correction=0)
        u_norm, b_norm = torch.linalg.vector_norm(u), torch.linalg.vector_norm(b)
    else:
        b = before if before.dtype in (torch.float32, torch.float64) else before.float()
        u = now.to(b.dtype) - b
        (b_sum, b_sq), (u_sum, u_sq) = _moments(b), _moments(u)
        num, den = _std(u_sum, u_sq, n), _std(b_sum, b_sq, n)
        u_norm, b_norm = u_sq.sqrt(), b_sq.sqrt()
    ratio = u_norm / b_norm if n == 1 or den == 0 else num / den
    return float(ratio)


class GradientRecorder:
    """Record, at every ``optimizer.step()``, per-parameter gradient statistics and the update ratio.

    Use as a context manager around training::

        with GradientRecorder(model, optimizer) as rec:
            for ...: loss.backward(); optimizer.step()
        rec.plot_update_ratios()

    Before each step it records the gradient statistics the step uses (``stats``: by default
    ``norm``, ``mean``, ``std``, ``max_abs``; add ``zero_frac`` for the fraction of exact
    zeros, which costs one more pass over each gradient); after it, ``update_ratio``: ``std(update) / std(weight
    before)`` (the norm ratio for 1-element or constant weights), around 1e-3 is a common rule of thumb (Karpathy) for a healthy rate, not a law.
    ``history`` is a long-form DataFrame (``step``, ``parameter``, ``group``, ``statistic``,
    ``value``); it holds Python floats only. While active, the recorder keeps one scratch copy
    of each parameter to measure the update; the copies and the hooks go on exit, also after
    an exception (or call ``remove()``).

    The hooks never raise into ``optimizer.step()``: a parameter with 0 elements records NaN,
    a sparse gradient the statistics of the dense gradient it stands for, a complex one those
    of ``|g|`` (its update ratio uses the complex std), and a value that cannot be computed
    for any other reason records NaN with one ``RuntimeWarning`` per recorder.
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
        self._slow: dict[int, tuple[list[float], torch.Tensor, torch.Tensor | None]] = {}
        self._scratch: dict[int, torch.Tensor] = {}
        self._weight_moments: tuple[torch.Tensor, ...] = ()
        self._warned = False
        self.steps = 0

    # hooks ---------------------------------------------------------------------
    # The hooks run at every step, so per parameter they only launch a few fast reductions
    # (sum, dot, aminmax, and count_nonzero when zero_frac is asked for); the arithmetic is
    # done once per step on stacked vectors, and one .tolist() brings the numbers back.
    # Parameters the fast path cannot take (sparse, complex or empty gradients) are measured
    # one by one; if the fast path fails anyway (e.g. a model spread over several devices,
    # whose numbers cannot be stacked), every parameter is. A hook must never break training.
    def _pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.steps += 1
        try:
            self._measure_before(optimizer, one_by_one=False)
        except Exception:
            try:
                self._measure_before(optimizer, one_by_one=True)
            except Exception as exc:
                self._before, self._keys, self._slow = [], [], {}
                self._warn_once("the gradients", exc)

    def _measure_before(self, optimizer: torch.optim.Optimizer, one_by_one: bool) -> None:
        self._before, self._keys, self._slow = [], [], {}
        scalars: list[torch.Tensor] = []
        with torch.no_grad():
            for g, group in enumerate(optimizer.param_groups):
                for p in group["params"]:
                    grad = p.grad
                    if grad is None:
                        continue
                    self._keys.append((self._names.get(id(p)) or self._name_later(p, g), g))
                    if one_by_one or grad.layout != torch.strided:
                        self._slow[len(self._keys) - 1] = self._measure_one(p, grad)
                        continue
                    flat = grad.reshape(-1)  # under no_grad: plain views, no autograd bookkeeping
                    weight = p.reshape(-1)
                    if flat.dtype not in (torch.float32, torch.float64):
                        if flat.is_complex():
                            self._slow[len(self._keys) - 1] = self._measure_one(p, grad)
                            continue
                        flat, weight = flat.float(), weight.float()
                    if not flat.numel():
                        self._slow[len(self._keys) - 1] = self._measure_one(p, grad)
                        continue
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
            rows: list[list[float]] = []
            if scalars:
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
                rows = torch.stack([columns[name] for name in self.stats], 1).tolist()
                self._weight_moments = (m[:, 4], m[:, 5], n)
        fast = iter(rows)
        for i, (name, g) in enumerate(self._keys):
            row = self._slow[i][0] if i in self._slow else next(fast)
            self._rows.extend((self.steps, name, g, s, v) for s, v in zip(self.stats, row))

    def _measure_one(self, p: torch.Tensor, grad: torch.Tensor) -> tuple[list[float], torch.Tensor, torch.Tensor | None]:
        """The statistics of one parameter the fast path cannot take, and a copy of its weight."""
        row = [math.nan] * len(self.stats)
        if grad.numel():
            try:
                stats = _stats_floats(grad)
                row = [stats[s] for s in self.stats]
            except Exception as exc:
                self._warn_once(f"the gradient of {self._names.get(id(p), 'a parameter')}", exc)
        before = None
        if p.numel():
            try:
                weight = p.detach().reshape(-1)
                before = self._scratch.get(id(p))
                if before is None or before.shape != weight.shape or before.dtype != weight.dtype:
                    before = self._scratch[id(p)] = torch.empty_like(weight)
                before.copy_(weight)
            except Exception as exc:
                before = None
                self._warn_once(f"the weight of {self._names.get(id(p), 'a parameter')}", exc)
        return row, p, before

    def _post(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if not self._keys:
            return
        try:
            ratios = self._update_ratios()
        except Exception as exc:
            ratios = [math.nan] * len(self._keys)
            self._warn_once("the update ratios", exc)
        for (name, g), v in zip(self._keys, ratios):
            self._rows.append((self.steps, name, g, "update_ratio", v))
        self._before, self._keys, self._slow = [], [], {}

    def _update_ratios(self) -> list[float]:
        fast: list[float] = []
        if self._before:
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
                fast = torch.where(use_norm, u[:, 1].sqrt() / b_sq.sqrt(), num / den).tolist()
        rows = iter(fast)
        out = []
        for i, (name, _) in enumerate(self._keys):
            if i not in self._slow:
                out.append(next(rows))
                continue
            _, p, before = self._slow[i]
            try:
                out.append(_slow_ratio(p, before))
            except Exception as exc:
                out.append(math.nan)
                self._warn_once(f"the update of {name}", exc)
        return out

    def _warn_once(self, what: str, exc: Exception) -> None:
        if self._warned:
            return
        self._warned = True
        try:
            warnings.warn(
                f"GradientRecorder could not measure {what} at step {self.steps} ({type(exc).__name__}: {exc}); "
                f"it records NaN there and training goes on (this warning is shown once per recorder)",
                RuntimeWarning,
                stacklevel=4,
            )
        except Warning:  # warnings turned into errors must not break the user's step either
            pass

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
        self._before, self._keys, self._slow = [], [], {}
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
