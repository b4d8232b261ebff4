"""Argument checks at the public boundary: clear TypeError/ValueError messages."""

from __future__ import annotations

from typing import Any

import torch


def require_optimizer(optimizer: Any, arg: str = "optimizer") -> torch.optim.Optimizer:
    if isinstance(optimizer, torch.nn.Module):
        raise TypeError(
            f"{arg} must be a torch.optim.Optimizer, got a model ({type(optimizer).__name__}); "
            f"pass the optimizer, e.g. torch.optim.SGD(model.parameters(), lr=0.1)"
        )
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{arg} must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    if not any(len(g["params"]) for g in optimizer.param_groups):
        raise ValueError(f"{arg} holds no parameters; build it from the model's parameters")
    return optimizer


def require_model(model: Any, arg: str = "model") -> torch.nn.Module:
    if isinstance(model, torch.optim.Optimizer):
        raise TypeError(
            f"{arg} must be a torch.nn.Module, got an optimizer ({type(model).__name__}); "
            f"pass the model whose parameters it trains"
        )
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{arg} must be a torch.nn.Module, got {type(model).__name__}")
    if not any(True for _ in model.parameters()):
        raise ValueError(f"{arg} ({type(model).__name__}) has no parameters")
    return model


def require_positive_int(value: Any, arg: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{arg} must be a positive int, got {type(value).__name__} {value!r}")
    if value <= 0:
        raise ValueError(f"{arg} must be a positive int (>= 1), got {value}")
    return value


def param_names(optimizer: torch.optim.Optimizer, model: torch.nn.Module | None = None) -> dict[int, str]:
    """Map ``id(param)`` to a readable name for every parameter the optimizer holds.

    Names come from ``model.named_parameters()``, else the group's ``param_names``
    (present when the optimizer was built from named parameters), else ``group{g}.param{i}``.
    """
    by_id: dict[int, str] = {}
    if model is not None:
        require_model(model)
        by_id = {id(p): n for n, p in model.named_parameters()}
    names: dict[int, str] = {}
    for g, group in enumerate(optimizer.param_groups):
        group_names = group.get("param_names")
        for i, p in enumerate(group["params"]):
            if id(p) in by_id:
                names[id(p)] = by_id[id(p)]
            elif group_names is not None and i < len(group_names):
                names[id(p)] = group_names[i]
            else:
                names[id(p)] = f"group{g}.param{i}"
    return names
