"""2-D loss surfaces, optimizer trajectories on them, and their picture.

The functions take a tensor of shape ``(..., 2)`` and return the loss of shape ``(...)``,
so the same function draws the contour grid and drives the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Union

import numpy as np
import torch

from ._checks import require_positive_int
from ._style import colour, get_ax

Fn = Callable[[torch.Tensor], torch.Tensor]
PathLike = Union[torch.Tensor, np.ndarray, Sequence[Sequence[float]]]


def _xy(xy: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(xy, torch.Tensor):
        raise TypeError(f"{name}: xy must be a torch.Tensor of shape (..., 2), got {type(xy).__name__}")
    if xy.shape[-1:] != (2,):
        raise ValueError(f"{name}: xy must have shape (..., 2), got {tuple(xy.shape)}")
    return xy[..., 0], xy[..., 1]


def bowl(xy: torch.Tensor, condition: float = 10.0) -> torch.Tensor:
    """Quadratic bowl ``0.5 * (x**2 + condition * y**2)``; minimum 0 at (0, 0).

    ``condition`` is the ratio of the largest to the smallest curvature (>= 1): the larger,
    the narrower the valley and the more plain SGD zig-zags. Example: ``bowl(torch.zeros(2))``.
    """
    if not condition >= 1:
        raise ValueError(f"bowl: condition must be >= 1, got {condition}")
    x, y = _xy(xy, "bowl")
    return 0.5 * (x**2 + condition * y**2)


def rosenbrock(xy: torch.Tensor, a: float = 1.0, b: float = 100.0) -> torch.Tensor:
    """Rosenbrock's banana ``(a - x)**2 + b * (y - x**2)**2``; minimum 0 at (a, a**2).

    Example: ``rosenbrock(torch.tensor([1.0, 1.0]))`` is 0.
    """
    x, y = _xy(xy, "rosenbrock")
    return (a - x) ** 2 + b * (y - x**2) ** 2


def saddle(xy: torch.Tensor) -> torch.Tensor:
    """Saddle ``x**2 - y**2`` (plus a small quartic wall so it is bounded below); the origin is a saddle point.

    Example: ``saddle(torch.zeros(2))`` is 0.
    """
    x, y = _xy(xy, "saddle")
    return x**2 - y**2 + 0.25 * y**4


@dataclass(frozen=True)
class Surface:
    """A named test function with a sensible plotting window and starting point."""

    name: str
    fn: Fn
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    start: tuple[float, float]
    minimum: tuple[float, float] | None
    log_levels: bool = False


SURFACES: dict[str, Surface] = {
    "bowl": Surface("bowl", bowl, (-4.5, 4.5), (-2.5, 2.5), (-4.0, 2.0), (0.0, 0.0)),
    "rosenbrock": Surface("rosenbrock", rosenbrock, (-2.0, 2.0), (-1.0, 3.0), (-1.5, 2.5), (1.0, 1.0), True),
    "saddle": Surface("saddle", saddle, (-2.0, 2.0), (-2.5, 2.5), (-1.5, 0.01), None),
}


def get_surface(fn: str | Fn) -> Surface:
    """Look up a surface by name, or wrap a callable in a default window."""
    if isinstance(fn, str):
        if fn not in SURFACES:
            raise ValueError(f"fn: unknown surface {fn!r}; expected one of {sorted(SURFACES)} or a callable")
        return SURFACES[fn]
    for s in SURFACES.values():
        if s.fn is fn:
            return s
    if not callable(fn):
        raise TypeError(f"fn must be a surface name or a callable taking (..., 2) tensors, got {type(fn).__name__}")
    name = getattr(fn, "__name__", "f")
    return Surface(name, fn, (-3.0, 3.0), (-3.0, 3.0), (-2.0, 2.0), None)


class DivergedError(ValueError):
    """The loss became inf or nan; ``path`` holds the finite points up to then."""

    def __init__(self, message: str, path: torch.Tensor, step: int):
        super().__init__(message)
        self.path = path
        self.step = step


def _start_point(start: Any) -> torch.Tensor:
    """``start`` as a float64 CPU tensor of shape ``(2,)``, or a clear error naming it."""
    if isinstance(start, (str, bytes)):
        raise TypeError(f"start must be 2 real numbers (x, y), got the {type(start).__name__} {start!r}")
    try:
        raw = torch.as_tensor(start).detach()
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(f"start must be 2 real numbers (x, y), got {type(start).__name__} {start!r}") from None
    if raw.is_complex():
        raise TypeError(f"start must be 2 real numbers (x, y), got complex values {raw.tolist()}; pass the real parts")
    if raw.dtype == torch.bool:
        raise TypeError(f"start must be 2 real numbers (x, y), got booleans {raw.tolist()}")
    if raw.shape != (2,):
        raise ValueError(f"start must be 2 numbers (x, y), got shape {tuple(raw.shape)}")
    start_t = raw.to(device="cpu", dtype=torch.float64)
    if not torch.isfinite(start_t).all():
        raise ValueError(f"start must be finite, got {start_t.tolist()}")
    return start_t


def _check_loss(loss: Any, name: str) -> torch.Tensor:
    """The function's value at the point, checked to be one real number that autograd can differentiate."""
    if not isinstance(loss, torch.Tensor):
        raise TypeError(f"fn ({name}) must return a tensor (the loss at xy), got {type(loss).__name__}")
    if loss.numel() != 1:
        raise ValueError(
            f"fn ({name}) must return one number for one point of shape (2,), got shape {tuple(loss.shape)}; "
            f"reduce it, e.g. (xy ** 2).sum(-1)"
        )
    if not loss.dtype.is_floating_point:
        raise TypeError(f"fn ({name}) must return a real floating-point loss, got dtype {loss.dtype}")
    if loss.grad_fn is None:
        raise ValueError(f"fn ({name}) returned a value that does not depend on its input xy, so it has no gradient")
    return loss.reshape(())


def trace_optimizer(
    fn: str | Fn,
    start: Sequence[float] | torch.Tensor | None,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    steps: int,
) -> torch.Tensor:
    """Run a real ``torch.optim`` optimizer on a 2-D function and return its path.

    ``make_optimizer`` receives the list with the one 2-element parameter, e.g.
    ``lambda p: torch.optim.SGD(p, lr=0.1)``. Every step goes through a closure, so
    ``LBFGS`` works too. Returns a float64 CPU tensor of shape ``(steps + 1, 2)``: the start,
    then the point after each step. If the loss turns inf or nan, raises ``DivergedError``
    (a ``ValueError``) whose ``path`` attribute holds the points reached so far. A ``start``
    that is not 2 real finite numbers, or an ``fn`` that does not return one real number
    depending on ``xy``, raises ``TypeError``/``ValueError`` saying what was given.
    Example: ``trace_optimizer("bowl", (-4, 2), lambda p: torch.optim.SGD(p, lr=0.1), 20)``.
    """
    surface = get_surface(fn)
    require_positive_int(steps, "steps")
    if not callable(make_optimizer):
        raise TypeError(
            f"make_optimizer must be a callable taking a list of tensors, got {type(make_optimizer).__name__}; "
            f"e.g. lambda p: torch.optim.SGD(p, lr=0.1)"
        )
    start_t = _start_point(surface.start if start is None else start)
    point = start_t.clone().requires_grad_(True)
    optimizer = make_optimizer([point])
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"make_optimizer must return a torch.optim.Optimizer, got {type(optimizer).__name__}")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = _check_loss(surface.fn(point), surface.name)
        loss.backward()
        return loss

    path = [start_t.clone()]
    for step in range(1, steps + 1):
        loss = optimizer.step(closure)
        now = point.detach().clone()
        if not (torch.isfinite(now).all() and (loss is None or torch.isfinite(loss).all())):
            raise DivergedError(
                f"{type(optimizer).__name__} diverged on {surface.name} at step {step} "
                f"(the loss or the point became inf/nan); try a smaller learning rate",
                torch.stack(path),
                step,
            )
        path.append(now)
    return torch.stack(path)


def _as_path(path: PathLike, label: str) -> np.ndarray:
    if isinstance(path, torch.Tensor):
        arr = path.detach().cpu().double().numpy()
    else:
        try:
            arr = np.asarray(path, dtype=float)
        except (TypeError, ValueError):
            raise TypeError(f"paths[{label!r}] must be a tensor or array of shape (n, 2), got {type(path).__name__}") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] < 1:
        raise ValueError(f"paths[{label!r}] must have shape (n, 2) with n >= 1, got {arr.shape}")
    return arr


def plot_trajectories(
    fn: str | Fn,
    paths: Mapping[str, PathLike] | Sequence[PathLike],
    ax: Any = None,
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    title: str | None = None,
) -> Any:
    """Draw contour lines of ``fn`` and one labelled path per entry of ``paths``.

    ``paths`` maps labels to ``(n, 2)`` paths (a plain list is labelled ``path 0, ...``).
    Starts are marked with a circle, ends with a cross; the known minimum with a star.
    Returns the Axes. Example: ``plot_trajectories("bowl", {"SGD": path})``.
    """
    surface = get_surface(fn)
    if isinstance(paths, Mapping):
        items = list(paths.items())
    elif isinstance(paths, (torch.Tensor, np.ndarray)):
        raise TypeError("paths must be a dict of label -> path or a list of paths, not a single tensor; wrap it: {'SGD': path}")
    elif isinstance(paths, Sequence):
        items = [(f"path {i}", p) for i, p in enumerate(paths)]
    else:
        raise TypeError(f"paths must be a dict of label -> (n, 2) path, got {type(paths).__name__}")
    if not items:
        raise ValueError("paths is empty; give at least one path")
    arrays = [(str(label), _as_path(p, str(label))) for label, p in items]

    xlim = xlim or surface.xlim
    ylim = ylim or surface.ylim
    ax = get_ax(ax, figsize=(6.0, 4.5))
    xs = np.linspace(*xlim, 200)
    ys = np.linspace(*ylim, 200)
    gx, gy = np.meshgrid(xs, ys)
    grid = torch.from_numpy(np.stack([gx, gy], axis=-1))
    with torch.no_grad():
        z = surface.fn(grid).numpy()
    if surface.log_levels:
        levels = np.logspace(-1, np.log10(max(z.max(), 1.0)), 15)
    else:
        levels = np.linspace(z.min(), z.max(), 18)[1:-1] if z.max() > z.min() else 10
    ax.contour(gx, gy, z, levels=levels, colors="#bbbbbb", linewidths=0.8)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", color="black", markersize=12, linestyle="none", label="minimum")
    for i, (label, arr) in enumerate(arrays):
        c = colour(i)
        ax.plot(arr[:, 0], arr[:, 1], "-", color=c, linewidth=1.8, marker=".", markersize=4, label=label)
        ax.plot(arr[0, 0], arr[0, 1], "o", color=c, markersize=7)
        ax.plot(arr[-1, 0], arr[-1, 1], "X", color=c, markersize=8, markeredgecolor="black")
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title or f"Optimizer paths on {surface.name} (o start, X end)")
    ax.legend(loc="best", fontsize=8)
    return ax
