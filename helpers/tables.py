"""Readable tables of what an optimizer holds: its groups and its state (pandas DataFrames)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from ._checks import param_names, require_optimizer
from ._style import colour, get_ax

# Switches that choose an implementation rather than the maths of the update.
IMPLEMENTATION_FLAGS = ("foreach", "fused", "differentiable", "capturable")


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    return value


def param_group_table(
    optimizer: torch.optim.Optimizer, model: torch.nn.Module | None = None, *, flags: bool = False
) -> pd.DataFrame:
    """One row per parameter the optimizer holds, with its group's hyperparameters.

    Columns: ``group``, ``name`` (from ``model``, else the group's ``param_names``, else
    ``group{g}.param{i}``), ``shape``, ``numel``, ``requires_grad``, ``has_grad``, then one
    column per hyperparameter (``lr``, ``momentum``, ``betas``, ...). Implementation switches
    (``foreach``, ``fused``, ...) are left out unless ``flags=True``.
    Example: ``param_group_table(optimizer, model)``.
    """
    require_optimizer(optimizer)
    names = param_names(optimizer, model)
    rows = []
    for g, group in enumerate(optimizer.param_groups):
        hyper = {
            k: _plain(v)
            for k, v in group.items()
            if k not in ("params", "param_names") and (flags or k not in IMPLEMENTATION_FLAGS)
        }
        for p in group["params"]:
            rows.append(
                {
                    "group": g,
                    "name": names[id(p)],
                    "shape": tuple(p.shape),
                    "numel": p.numel(),
                    "requires_grad": p.requires_grad,
                    "has_grad": p.grad is not None,
                    **hyper,
                }
            )
    return pd.DataFrame(rows)


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        text = f"{tuple(value.shape)} {str(value.dtype).replace('torch.', '')}"
        if value.numel() == 1:
            text += f" = {value.item():g}"
        return text
    return repr(value)


def _nbytes(value: Any) -> int:
    return value.numel() * value.element_size() if isinstance(value, torch.Tensor) else 0


def optimizer_state_table(optimizer: torch.optim.Optimizer, model: torch.nn.Module | None = None) -> pd.DataFrame:
    """One row per parameter: what the optimizer keeps for it and how many bytes that takes.

    Columns: ``group``, ``name``, ``param_bytes``, one column per state entry (e.g.
    ``momentum_buffer`` or ``step``, ``exp_avg``, ``exp_avg_sq``) described as
    ``"(shape) dtype"``, and ``state_bytes``. A last row named ``total`` sums the bytes, so
    the state's size sits next to the parameters' own. State is created at the first
    ``step()``: before it, every ``state_bytes`` is 0.
    Example: ``optimizer_state_table(torch.optim.Adam(model.parameters()), model)``.
    """
    require_optimizer(optimizer)
    names = param_names(optimizer, model)
    rows = []
    for g, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            state = optimizer.state.get(p, {})
            row: dict[str, Any] = {"group": g, "name": names[id(p)], "param_bytes": _nbytes(p)}
            row.update({key: _describe(value) for key, value in state.items()})
            row["state_bytes"] = sum(_nbytes(v) for v in state.values())
            rows.append(row)
    table = pd.DataFrame(rows)
    entries = [c for c in table.columns if c not in ("group", "name", "param_bytes", "state_bytes")]
    table = table[["group", "name", "param_bytes", *entries, "state_bytes"]].astype({"group": object})
    total = {"group": "", "name": "total", "param_bytes": int(table["param_bytes"].sum())}
    total.update({c: "" for c in entries})
    total["state_bytes"] = int(table["state_bytes"].sum())
    table = pd.concat([table, pd.DataFrame([total])], ignore_index=True)
    table[entries] = table[entries].fillna("")
    return table


def state_bytes(optimizer: torch.optim.Optimizer) -> tuple[int, int]:
    """``(parameter bytes, optimizer-state bytes)`` for everything the optimizer holds."""
    total = optimizer_state_table(optimizer).iloc[-1]
    return int(total["param_bytes"]), int(total["state_bytes"])


def plot_state_bytes(optimizers: Mapping[str, torch.optim.Optimizer], ax: Any = None) -> Any:
    """Bar chart: the parameters' bytes next to each optimizer's state bytes.

    ``optimizers`` maps a label to an optimizer that has taken at least one step.
    Example: ``plot_state_bytes({"SGD": sgd, "Adam": adam})``. Returns the Axes.
    """
    if not isinstance(optimizers, Mapping) or not optimizers:
        raise TypeError("optimizers must be a non-empty dict of label -> optimizer, e.g. {'Adam': adam}")
    labels, params, states = [], [], []
    for label, opt in optimizers.items():
        p, s = state_bytes(require_optimizer(opt, f"optimizers[{label!r}]"))
        labels.append(str(label))
        params.append(p / 1024)
        states.append(s / 1024)
    ax = get_ax(ax)
    xs = range(len(labels))
    width = 0.38
    ax.bar([x - width / 2 for x in xs], params, width, color=colour(0), label="parameters")
    ax.bar([x + width / 2 for x in xs], states, width, color=colour(1), label="optimizer state")
    for x, p, s in zip(xs, params, states):
        ax.annotate(f"{s / p:.1f}×" if p else "", (x + width / 2, s), ha="center", va="bottom", fontsize=9)
    ax.set_xticks(list(xs), labels)
    ax.set_ylabel("KiB")
    ax.set_title("Parameter bytes vs optimizer-state bytes")
    ax.legend()
    return ax
