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
from ._table import Table, check_every_and_max_steps
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


# The recorder's fast path -------------------------------------------------------------------
# Per recorded step it must read every gradient once and copy every weight (to measure the
# update after the step). What costs is not the arithmetic but launching one small operation
# per tensor from Python, so tensors are handled in bulk:
# - "small" tensors (fewer than BIG elements) of one device and dtype are copied into one flat
#   float64 buffer with a single torch._foreach_copy_, and reduced per tensor with
#   torch.segment_reduce: a handful of operations per step, however many tensors there are;
# - "big" tensors are reduced one by one (sum, dot, aminmax), where the work dwarfs the launch,
#   and their weights are copied with one _foreach_copy_ into buffers kept from step to step;
# - what neither can take (sparse, complex or empty gradients) is measured one by one, and if
#   the bulk path fails anyway, everything is (a hook must never break training).
# The plan (which tensor goes where, the buffers) is kept while the parameters and which of
# them have gradients stay the same; the numbers come back in one .cpu() per step and land in
# a preallocated NumPy table (helpers/_table.py), turned into a DataFrame only when read.
BIG = 1 << 15


class _Small:
    """Small tensors of one device and dtype, measured together in flat buffers.

    A bulk copy is fast only between tensors of one dtype, so the tensors are first copied
    into flat buffers of their own dtype, then each buffer is widened in one operation to
    float64, where the sums keep their digits (float32 on MPS, which has no float64).
    """

    def __init__(self, params: list[torch.Tensor], where: list[int]):
        self.where = where  # positions in the step's parameter list
        sizes = [p.numel() for p in params]
        device, dtype = params[0].device, params[0].dtype
        self.lengths = torch.tensor(sizes, device=device)
        total = sum(sizes)
        wide = torch.float32 if device.type == "mps" else torch.float64

        def views(buffer: torch.Tensor) -> list[torch.Tensor]:
            return [v.view(p.shape) for v, p in zip(buffer.split(sizes), params)]

        self.staged = [torch.empty(total, dtype=dtype, device=device) for _ in range(3)]  # grads, before, after
        self.views = [views(b) for b in self.staged]
        self.wide = [b if dtype == wide else torch.empty(total, dtype=wide, device=device) for b in self.staged]
        self.n = np.array(sizes, dtype=np.float64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.intp)
        self.arrays = [w.numpy() for w in self.wide] if device.type == "cpu" else None

    def _load(self, k: int, tensors: list[torch.Tensor]) -> torch.Tensor:
        torch._foreach_copy_(self.views[k], [tensors[i] for i in self.where])
        if self.wide[k] is not self.staged[k]:
            self.wide[k].copy_(self.staged[k])
        return self.wide[k]

    def _reduce(self, k: int, how: str) -> Any:
        """Per tensor of buffer ``k``: ``sum``, ``squares`` (sum of squares), ``max_abs`` or ``nonzero``.

        On the CPU, NumPy's ``reduceat`` on the buffer's memory (about ten times faster than
        ``torch.segment_reduce`` there); elsewhere ``torch.segment_reduce`` on the device.
        """
        if self.arrays is not None:
            a, at = self.arrays[k], self.offsets
            if how == "sum":
                return np.add.reduceat(a, at)
            if how == "squares":
                return np.add.reduceat(a * a, at)
            if how == "max_abs":
                return np.maximum.reduceat(np.abs(a), at)
            return np.add.reduceat(a != 0, at, dtype=np.float64)
        t = self.wide[k]
        source = {"sum": t, "squares": t * t, "max_abs": t.abs(), "nonzero": (t != 0).to(t.dtype)}[how]
        return torch.segment_reduce(source, "max" if how == "max_abs" else "sum", lengths=self.lengths)

    def _block(self, columns: list[Any]) -> np.ndarray:
        if self.arrays is not None:
            return np.stack(columns, 1)
        return torch.stack(columns, 1).cpu().numpy()

    def before(self, params: list[torch.Tensor], grads: list[torch.Tensor], zeros: bool) -> np.ndarray:
        self._load(0, grads)
        columns = [self._reduce(0, "sum"), self._reduce(0, "squares"), self._reduce(0, "max_abs")]
        if zeros:
            columns.append(self._reduce(0, "nonzero"))
        self._load(1, params)
        return self._block([*columns, self._reduce(1, "sum"), self._reduce(1, "squares")])

    def after(self, params: list[torch.Tensor]) -> np.ndarray:
        after = self._load(2, params)
        torch.sub(self.wide[1], after, out=after)  # before - after
        return self._block([self._reduce(2, "sum"), self._reduce(2, "squares")])


class _Big:
    """Big tensors of one device, each reduced on its own; weight copies kept between steps."""

    def __init__(self, params: list[torch.Tensor], where: list[int]):
        self.where = where
        wide = (torch.float32, torch.float64)
        self.copies = [torch.empty(p.shape, dtype=p.dtype if p.dtype in wide else torch.float32, device=p.device) for p in params]
        self.n = np.array([p.numel() for p in params], dtype=np.float64)

    def before(self, params: list[torch.Tensor], grads: list[torch.Tensor], zeros: bool) -> np.ndarray:
        scalars: list[torch.Tensor] = []
        for i in self.where:
            flat = grads[i].reshape(-1)
            if flat.dtype not in (torch.float32, torch.float64):
                flat = flat.float()
            scalars += [flat.sum(), torch.dot(flat, flat), *torch.aminmax(flat)]
            if zeros:
                scalars.append(torch.count_nonzero(flat))
        torch._foreach_copy_(self.copies, [params[i] for i in self.where])
        for copy in self.copies:
            flat = copy.reshape(-1)
            scalars += [flat.sum(), torch.dot(flat, flat)]
        # One stack and one copy to the host for all the numbers (stack promotes the dtypes).
        m = torch.stack(scalars).to(torch.float64).cpu().numpy()
        k = len(self.where)
        g = m[: len(m) - 2 * k].reshape(k, -1)
        w = m[len(m) - 2 * k :].reshape(k, 2)
        max_abs = np.maximum(np.abs(g[:, 2]), np.abs(g[:, 3]))
        _refine(g, [grads[i] for i in self.where])
        _refine(w, self.copies)
        return np.column_stack([g[:, 0], g[:, 1], max_abs, *([g[:, 4]] if zeros else []), w[:, 0], w[:, 1]])

    def after(self, params: list[torch.Tensor]) -> np.ndarray:
        torch._foreach_sub_(self.copies, [params[i] for i in self.where])  # before - after
        scalars: list[torch.Tensor] = []
        for copy in self.copies:
            flat = copy.reshape(-1)
            scalars += [flat.sum(), torch.dot(flat, flat)]
        u = torch.stack(scalars).to(torch.float64).cpu().numpy().reshape(-1, 2)
        _refine(u, self.copies)
        return u


def _refine(sums: np.ndarray, tensors: list[torch.Tensor]) -> None:
    """Redo in float64 the (sum, sum of squares) rows of ``sums`` that float32 cannot trust.

    The spread comes from ``E[x^2] - E[x]^2``; when the mean is large next to the spread (a
    norm's scale of 1 +- 1e-3, a constant tensor) the float32 sums cancel and leave noise. Such
    tensors (variance under 1% of ``E[x^2]``) are summed again in float64; the others, nearly
    all, keep their fast float32 sums.
    """
    n = np.array([t.numel() for t in tensors], dtype=np.float64)
    mean_square = sums[:, 1] / n
    variance = mean_square - (sums[:, 0] / n) ** 2
    for i in np.flatnonzero(variance < 0.01 * mean_square):
        flat = tensors[i].detach().reshape(-1).double()
        sums[i, 0], sums[i, 1] = flat.sum().item(), torch.dot(flat, flat).item()


class _Plan:
    """How one step's parameters are measured: bulk parts, and the positions measured one by one."""

    def __init__(self, params: list[torch.Tensor], grads: list[torch.Tensor | None], one_by_one: bool):
        small: dict[tuple[torch.device, torch.dtype], list[int]] = {}
        big: dict[torch.device, list[int]] = {}
        self.alone: list[int] = []
        self.measured = [i for i, g in enumerate(grads) if g is not None]
        for i in self.measured:
            p, g = params[i], grads[i]
            if one_by_one or g.layout != torch.strided or not p.is_floating_point() or not p.numel():  # type: ignore[union-attr]
                self.alone.append(i)
            elif p.numel() < BIG:
                small.setdefault((p.device, p.dtype), []).append(i)
            else:
                big.setdefault(p.device, []).append(i)
        self.parts: list[_Small | _Big] = [_Small([params[i] for i in w], w) for ws in small.values() for w in _chunks(ws, params)]
        self.parts += [_Big([params[i] for i in w], w) for w in big.values()]


def _chunks(where: list[int], params: list[torch.Tensor]) -> list[list[int]]:
    """``where`` cut into runs of at most BIG elements in all.

    PyTorch runs an operation on more than 32,768 elements (its grain size) on several
    threads; on a busy machine, waiting for a second thread can cost milliseconds, far more
    than the work. Below the grain size, each bulk operation stays on one thread.
    """
    out: list[list[int]] = [[]]
    total = 0
    for i in where:
        n = params[i].numel()
        if total + n > BIG and out[-1]:
            out.append([])
            total = 0
        out[-1].append(i)
        total += n
    return out


def _grad_numbers(plan: _Plan, params: list[torch.Tensor], grads: list[Any], zeros: bool) -> list[np.ndarray]:
    """Per bulk part: ``[sum, sum of squares, max |g|, (nonzeros), weight sum, weight sum of squares]`` rows."""
    return [part.before(params, grads, zeros) for part in plan.parts]


def _update_numbers(plan: _Plan, params: list[torch.Tensor]) -> list[np.ndarray]:
    """Per bulk part: ``[sum, sum of squares]`` of ``before - after`` for each tensor."""
    return [part.after(params) for part in plan.parts]


def _np_std(total: np.ndarray, squares: np.ndarray, n: np.ndarray) -> np.ndarray:
    mean = total / n
    return np.sqrt(np.maximum(squares / n - mean * mean, 0))


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
    ``value``), built when read from compact arrays (9 bytes per step, parameter and
    statistic, at most twice that while the arrays grow by doubling).

    Cost: ``every=k`` records steps 1, k+1, 2k+1, ... only; the other steps cost one counter
    increment, so ``every=10`` makes the recorder about ten times cheaper. ``max_steps=m`` keeps
    only the last ``m`` recorded steps (a ring buffer: memory stays fixed on long runs). On a
    recorded step the recorder reads every gradient once and copies every weight (about as
    much work as the optimizer's own step for SGD); on the CPU that adds a few percent to the
    step of a model with big layers (``benchmarks/bench_recorders.py`` measures it). While
    active, it keeps one float copy of each parameter; the copies and the hooks go on exit,
    also after an exception (or call ``remove()``).

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
        *,
        every: int = 1,
        max_steps: int | None = None,
    ):
        if isinstance(stats, str) or not stats:
            raise TypeError(f"stats must be a non-empty list of statistic names from {list(STATS)}, got {stats!r}")
        unknown = [s for s in stats if s not in STATS]
        if unknown:
            raise ValueError(f"stats: unknown statistic(s) {unknown}; expected names from {list(STATS)}")
        check_every_and_max_steps(every, max_steps)
        self.stats = tuple(stats)
        self.every = every
        self.max_steps = max_steps
        self._zeros = "zero_frac" in self.stats
        self.model = require_model(model)
        self.optimizer = require_optimizer(optimizer)
        self._names = param_names(optimizer, model)
        self._table = Table(len(self.stats) + 1, max_steps)
        self._slots: dict[tuple[str, int], int] = {}
        self._labels: list[tuple[str, int]] = []
        self._handles: list[Any] = []
        self._plan: _Plan | None = None
        self._plan_key: tuple[Any, ...] | None = None
        self._pending: tuple[Any, ...] | None = None
        self._warned = False
        self.steps = 0

    # hooks ---------------------------------------------------------------------
    def _pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        self.steps += 1
        self._pending = None
        if (self.steps - 1) % self.every:
            return
        # inf or NaN in a gradient or weight is recorded as such, without NumPy's warnings.
        with np.errstate(all="ignore"):
            try:
                self._measure_before(optimizer, one_by_one=False)
            except Exception:
                self._plan = self._plan_key = None
                try:
                    self._measure_before(optimizer, one_by_one=True)
                except Exception as exc:
                    self._pending = None
                    self._warn_once("the gradients", exc)

    def _slot(self, p: torch.Tensor, g: int) -> int:
        name = self._names.get(id(p)) or self._name_later(p, g)
        key = (name, g)
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = len(self._labels)
            self._labels.append(key)
        return slot

    def _measure_before(self, optimizer: torch.optim.Optimizer, one_by_one: bool) -> None:
        groups = optimizer.param_groups
        params = [p for group in groups for p in group["params"]]
        with torch.no_grad():
            grads = [p.grad for p in params]
            # A parameter keeps its id when .data is replaced or the model is cast (.double()):
            # its shape, dtype and device are part of the key too.
            key = (
                one_by_one,
                tuple((id(p), p.shape, p.dtype, p.device, None if g is None else g.layout) for p, g in zip(params, grads)),
            )
            if key != self._plan_key:
                self._plan, self._plan_key = _Plan(params, grads, one_by_one), key
                group_of = [g for g, group in enumerate(groups) for _ in group["params"]]
                self._slot_of = np.array([self._slot(p, group_of[i]) if grads[i] is not None else -1 for i, p in enumerate(params)])
                self._table.ensure_slots(len(self._labels))
            plan = self._plan
            assert plan is not None
            if not plan.measured:
                return
            blocks = _grad_numbers(plan, params, grads, self._zeros) if plan.parts else []
            alone = [self._measure_one(params[i], grads[i]) for i in plan.alone]
        moments, tables = [], []
        for part, m in zip(plan.parts, blocks):
            n = part.n
            columns = {"norm": np.sqrt(m[:, 1]), "mean": m[:, 0] / n, "std": _np_std(m[:, 0], m[:, 1], n), "max_abs": m[:, 2]}
            if self._zeros:
                columns["zero_frac"] = 1 - m[:, 3] / n
            tables.append(np.stack([columns[s] for s in self.stats], 1))
            moments.append((m[:, -2], m[:, -1], n))
        row = self._table.new_row(self.steps)  # taken once every number of the step is there
        for part, table in zip(plan.parts, tables):
            self._table.write(row, self._slot_of[part.where], 0, table)
        for i, (values, _) in zip(plan.alone, alone):
            self._table.write(row, self._slot_of[[i]], 0, np.array([values]))
        self._pending = (plan, params, row, moments, [copy for _, copy in alone])

    def _measure_one(self, p: torch.Tensor, grad: torch.Tensor) -> tuple[list[float], torch.Tensor | None]:
        """The statistics of one parameter the bulk path cannot take, and a copy of its weight."""
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
                before = p.detach().reshape(-1).clone()
            except Exception as exc:
                self._warn_once(f"the weight of {self._names.get(id(p), 'a parameter')}", exc)
        return row, before

    def _post(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> None:
        if self._pending is None:
            return
        with np.errstate(all="ignore"):
            self._record_updates()

    def _record_updates(self) -> None:
        assert self._pending is not None
        plan, params, row, moments, alone = self._pending
        self._pending = None
        last = len(self.stats)
        try:
            with torch.no_grad():
                blocks = _update_numbers(plan, params) if plan.parts else []
            for part, u, (w_sum, w_sq, n) in zip(plan.parts, blocks, moments):
                num, den = _np_std(u[:, 0], u[:, 1], n), _np_std(w_sum, w_sq, n)
                # A 1-element or constant weight has no spread: compare norms instead.
                use_norm = (den == 0) | (n == 1)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(use_norm, np.sqrt(u[:, 1]) / np.sqrt(w_sq), num / den)
                self._table.write(row, self._slot_of[part.where], last, ratio[:, None])
        except Exception as exc:
            for part in plan.parts:
                self._table.write(row, self._slot_of[part.where], last, np.full((len(part.where), 1), np.nan))
            self._warn_once("the update ratios", exc)
        for i, before in zip(plan.alone, alone):
            try:
                ratio = _slow_ratio(params[i], before)
            except Exception as exc:
                ratio = math.nan
                self._warn_once(f"the update of {self._labels[self._slot_of[i]][0]}", exc)
            self._table.write(row, self._slot_of[[i]], last, np.array([[ratio]]))

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
        """Remove the hooks and free the weight copies (the history is kept)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._pending = None
        self._plan = self._plan_key = None

    def __enter__(self) -> "GradientRecorder":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.remove()

    @property
    def active(self) -> bool:
        return bool(self._handles)

    # results -------------------------------------------------------------------
    @property
    def history_bytes(self) -> int:
        """Bytes the recorded numbers take now (the arrays behind ``history``)."""
        return self._table.nbytes

    @property
    def history(self) -> pd.DataFrame:
        """Long-form DataFrame: ``step``, ``parameter``, ``group``, ``statistic``, ``value``.

        One row per recorded step, parameter and statistic, in that order (``update_ratio``
        last); ``parameter`` and ``statistic`` are categorical columns of strings.
        """
        table, order = self._table, self._table.order()
        slots, columns = len(self._labels), len(self.stats) + 1
        rows = len(order)
        values = table.values[order, :slots].reshape(-1)
        step = np.repeat(table.steps[order], slots * columns)
        slot = np.tile(np.repeat(np.arange(slots, dtype=np.int32), columns), rows)
        stat = np.tile(np.arange(columns, dtype=np.int8), rows * slots)
        present = table.present[order, :slots].reshape(-1)
        if not present.all():
            step, slot, stat, values = step[present], slot[present], stat[present], values[present]
        groups = np.array([g for _, g in self._labels], dtype=np.int64)
        return pd.DataFrame(
            {
                "step": step,
                "parameter": _labels(slot, [name for name, _ in self._labels]),
                "group": groups[slot] if slots else np.zeros(0, dtype=np.int64),
                "statistic": _labels(stat, [*self.stats, "update_ratio"]),
                "value": values,
            }
        )

    def wide(self, statistic: str) -> pd.DataFrame:
        """One column per parameter, one row per step, for one statistic."""
        valid = (*self.stats, "update_ratio")
        if statistic not in valid:
            raise ValueError(f"statistic must be one of {list(valid)}, got {statistic!r}")
        column = valid.index(statistic)
        order = self._table.order()
        slots = len(self._labels)
        values = np.where(self._table.present[order, :slots, column], self._table.values[order, :slots, column], np.nan)
        table = pd.DataFrame(values, index=pd.Index(self._table.steps[order], name="step"), columns=pd.Index([n for n, _ in self._labels], name="parameter"))
        return table.dropna(how="all").dropna(axis=1, how="all")

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


def _labels(codes: np.ndarray, labels: list[str]) -> pd.Categorical:
    """A categorical column of strings from integer codes (building millions of strings is slow)."""
    distinct = list(dict.fromkeys(labels))
    if len(distinct) < len(labels):  # a Categorical needs distinct labels: map codes onto them
        codes = np.array([distinct.index(label) for label in labels], dtype=np.int32)[codes]
    return pd.Categorical.from_codes(codes, categories=pd.Index(distinct, dtype=object))


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
