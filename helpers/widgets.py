"""Interactive controls. Each widget only wires sliders to a pure function tested on its own."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import torch

from ._style import get_ax
from .data import TinyMLP, make_spirals
from .lr import LRRecorder
from .optimizers import Lion
from .surfaces import SURFACES, DivergedError, get_surface, plot_trajectories, trace_optimizer

OPTIMIZERS = ("SGD", "Adam", "RMSprop", "LBFGS", "Lion")


def _png(size: tuple[float, float], draw: Callable[[Any], Any]) -> bytes:
    """Draw on a fresh Figure (outside pyplot, so nothing is shown or kept) and return PNG bytes.

    A widget shows its picture as an Image widget's value: the same in JupyterLab, in nbval
    and in nbclient, unlike figures displayed into an Output widget.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, layout="tight")
    draw(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def make_optimizer_factory(name: str, lr: float, momentum: float = 0.0):
    """``params -> optimizer`` for one of ``OPTIMIZERS``; ``momentum`` is beta1 for Adam and
    Lion, RMSprop's momentum (LBFGS has none)."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {name!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum must be in [0, 1), got {momentum}")
    if name == "SGD":
        return lambda p: torch.optim.SGD(p, lr=lr, momentum=momentum)
    if name == "Adam":
        return lambda p: torch.optim.Adam(p, lr=lr, betas=(momentum, 0.999))
    if name == "RMSprop":
        return lambda p: torch.optim.RMSprop(p, lr=lr, momentum=momentum)
    if name == "Lion":
        return lambda p: Lion(p, lr=lr, betas=(momentum, 0.99))
    return lambda p: torch.optim.LBFGS(p, lr=lr, max_iter=5, history_size=10)


def playground_run(
    fn: str = "rosenbrock", optimizer: str = "SGD", lr: float = 0.001, momentum: float = 0.9, steps: int = 60
) -> dict[str, Any]:
    """The computation behind ``optimizer_playground``: one trajectory and a one-line summary.

    Returns ``{"path": (n, 2) tensor, "diverged": bool, "summary": str}``; on divergence the
    path holds the points reached before it.
    """
    surface = get_surface(fn)
    factory = make_optimizer_factory(optimizer, lr, momentum)
    try:
        path = trace_optimizer(surface.name, None, factory, steps)
        diverged = False
    except DivergedError as exc:
        path, diverged = exc.path, True
    end = path[-1]
    loss = surface.fn(end).item()
    if diverged:
        summary = f"{optimizer} diverged after {len(path) - 1} steps (lr={lr:g}): try a smaller learning rate"
    else:
        summary = f"{optimizer} lr={lr:g} momentum={momentum:g}: after {steps} steps at ({end[0]:.3f}, {end[1]:.3f}), loss {loss:.4g}"
    return {"path": path, "diverged": diverged, "summary": summary}


def optimizer_playground(fn: str = "rosenbrock", steps: int = 60, optimizer: str = "SGD", lr: float = 1e-3) -> Any:
    """A widget: pick an optimizer and a surface, move lr and momentum (beta1 for Adam and Lion),
    and the trajectory redraws; ``optimizer`` and ``lr`` are the first ones shown. Returns an ipywidgets ``VBox``."""
    import ipywidgets as w

    get_surface(fn)
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {list(OPTIMIZERS)}, got {optimizer!r}")
    if not 1e-4 <= lr <= 1:
        raise ValueError(f"lr must be in [1e-4, 1] (the slider's range), got {lr}")
    controls = {
        "fn": w.Dropdown(options=sorted(SURFACES), value=fn, description="surface"),
        "optimizer": w.Dropdown(options=list(OPTIMIZERS), value=optimizer, description="optimizer"),
        "lr": w.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, description="lr", readout_format=".4f"),
        "momentum": w.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="momentum"),
    }
    summary = w.HTML(layout=w.Layout(min_height="1.5em"))
    summary.add_class("playground-summary")
    picture = w.Image(format="png")
    picture.add_class("playground-picture")

    def redraw(*_: Any) -> None:
        result = playground_run(
            controls["fn"].value, controls["optimizer"].value, controls["lr"].value, controls["momentum"].value, steps
        )
        summary.value = result["summary"]
        picture.value = _png(
            (6.0, 4.5),
            lambda fig: plot_trajectories(controls["fn"].value, {controls["optimizer"].value: result["path"]}, ax=fig.subplots()),
        )

    def relabel(*_: Any) -> None:
        controls["momentum"].description = {"Adam": "beta1", "Lion": "beta1", "LBFGS": "(unused)"}.get(controls["optimizer"].value, "momentum")

    controls["optimizer"].observe(relabel, names="value")
    for c in controls.values():
        c.observe(redraw, names="value")
    relabel()
    redraw()
    return w.VBox([w.HBox([controls["fn"], controls["optimizer"]]), w.HBox([controls["lr"], controls["momentum"]]), summary, picture])


def train_two_groups(lr_body: float, lr_head: float, steps: int = 100, seed: int = 0) -> dict[str, Any]:
    """The computation behind ``lr_groups_playground``: train ``TinyMLP`` on spirals with the
    body and the head in two groups (Adam, cosine schedule). Returns ``{"lrs": LRRecorder
    history, "losses": [float per step], "names": ["body", "head"]}``."""
    for name, value in (("lr_body", lr_body), ("lr_head", lr_head)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    torch.manual_seed(seed)
    X, y = make_spirals(60, classes=2, seed=seed)
    model = TinyMLP(2, hidden=32, out_features=2, depth=2)
    optimizer = torch.optim.Adam(
        [{"params": model.body.parameters(), "lr": lr_body}, {"params": model.head.parameters(), "lr": lr_head}]
    )
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    losses = []
    with LRRecorder(optimizer, names=["body", "head"]) as rec:
        for _ in range(steps):
            loss = torch.nn.functional.cross_entropy(model(X), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
    return {"lrs": rec.history, "losses": losses, "names": ["body", "head"]}


def plot_two_groups(result: dict[str, Any], axes: Any) -> Any:
    """Per-group LR on ``axes[0]`` and loss on ``axes[1]`` for a ``train_two_groups`` result. Returns the Figure."""
    from .lr import _plot_lr

    _plot_lr(result["lrs"], result["names"], axes[0], "Learning rate per group (cosine)")
    ax = get_ax(axes[1])
    ax.plot(range(1, len(result["losses"]) + 1), result["losses"], color="black")
    ax.set_xlabel("step")
    ax.set_ylabel("training loss")
    ax.set_title("Loss")
    return ax.figure


def lr_groups_playground(steps: int = 100) -> Any:
    """A widget: two groups of a small model (body, head), each with its own lr slider; shows
    the per-group LR plot and the loss curve of a short training. Returns an ipywidgets ``VBox``."""
    import ipywidgets as w

    sliders = {
        "body": w.FloatLogSlider(value=1e-2, base=10, min=-4, max=-0.5, step=0.1, description="lr body", readout_format=".4f"),
        "head": w.FloatLogSlider(value=3e-2, base=10, min=-4, max=-0.5, step=0.1, description="lr head", readout_format=".4f"),
    }
    summary = w.HTML(layout=w.Layout(min_height="1.5em"))
    summary.add_class("playground-summary")
    picture = w.Image(format="png")
    picture.add_class("playground-picture")

    def redraw(*_: Any) -> None:
        result = train_two_groups(sliders["body"].value, sliders["head"].value, steps)
        first = result["lrs"][result["lrs"]["step"] == 1]["lr"].tolist()
        summary.value = (
            f"step 1 lr: body {first[0]:.4g}, head {first[1]:.4g}; "
            f"loss {result['losses'][0]:.4f} → {result['losses'][-1]:.4f} after {steps} steps"
        )
        picture.value = _png((10.0, 3.5), lambda fig: plot_two_groups(result, axes=fig.subplots(1, 2)))

    for s in sliders.values():
        s.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox(list(sliders.values())), summary, picture])

