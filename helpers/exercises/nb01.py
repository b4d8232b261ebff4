"""Checkers for notebook 01."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts

_NORMS = (
    torch.nn.LayerNorm,
    torch.nn.GroupNorm,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.modules.instancenorm._InstanceNorm,
)


def _no_decay_names(model: torch.nn.Module) -> set[str]:
    """Biases and every parameter of a normalization layer."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if param_name == "bias" or isinstance(module, _NORMS):
                names.add(full)
    return names


def _group_of(optimizer: torch.optim.Optimizer) -> dict[int, dict[str, Any]]:
    return {id(p): group for group in optimizer.param_groups for p in group["params"]}


def check_no_decay_groups(optimizer: Any, model: torch.nn.Module) -> CheckResult:
    """Check an optimizer that decays every weight except biases and normalization weights.

    Every parameter of ``model`` must be in the optimizer exactly once; biases and the
    parameters of norm layers in a group with ``weight_decay == 0``; all others in a group
    with ``weight_decay > 0``. Example: ``check_no_decay_groups(optimizer, model)``.
    """
    if _unanswered(optimizer):
        return CheckResult(False)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return _report(False, f"build a torch.optim optimizer, got {type(optimizer).__name__}")
    groups = _group_of(optimizer)
    no_decay = _no_decay_names(model)
    for name, p in model.named_parameters():
        group = groups.get(id(p))
        if group is None:
            return _report(False, f"{name} is not in the optimizer", "every parameter must be trained")
        decay = float(group.get("weight_decay", 0))
        if name in no_decay and decay != 0:
            return _report(False, f"{name} has weight_decay={decay:g}, expected 0", "biases and norm-layer weights get no decay")
        if name not in no_decay and decay == 0:
            return _report(False, f"{name} has weight_decay=0, expected > 0", "only biases and norm-layer weights skip decay")
    return _report(True, f"{len(no_decay)} tensors without decay, {sum(1 for _ in model.parameters()) - len(no_decay)} with.")


def check_body_head_lrs(optimizer: Any, model: torch.nn.Module, body_lr: float = 1e-4, head_lr: float = 1e-2) -> CheckResult:
    """Check one optimizer that trains ``model.body`` at ``body_lr`` and ``model.head`` at ``head_lr``.

    Example: ``check_body_head_lrs(optimizer, model)``.
    """
    if _unanswered(optimizer):
        return CheckResult(False)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return _report(False, f"build a torch.optim optimizer, got {type(optimizer).__name__}")
    groups = _group_of(optimizer)
    for part, lr in (("body", body_lr), ("head", head_lr)):
        for name, p in getattr(model, part).named_parameters():
            group = groups.get(id(p))
            if group is None:
                return _report(False, f"{part}.{name} is not in the optimizer", "pass one dict per part: {'params': model.body.parameters(), 'lr': ...}")
            if not math.isclose(float(group["lr"]), lr, rel_tol=1e-9):
                return _report(False, f"{part}.{name} trains at lr={float(group['lr']):g}, expected {lr:g}")
    return _report(True, f"body at {body_lr:g}, head at {head_lr:g}, in {len(optimizer.param_groups)} groups of one optimizer.")

