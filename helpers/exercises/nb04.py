"""Checkers for notebook 04."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts


def check_unfreeze_last(unfreeze: Callable[..., Any], lr: float = 1e-3) -> CheckResult:
    """Check ``unfreeze(model, optimizer)``: make the backbone's last ``Linear`` trainable and
    hand it to the optimizer as a new group at ``lr``; the rest of the backbone stays frozen.

    The model is ``nn.Sequential(backbone, head)`` with a frozen ``backbone`` of two Linear
    layers; the optimizer trains the head. Example: ``check_unfreeze_last(unfreeze)``.
    """
    if (wrong := _not_a_function(unfreeze)) is not None:
        return wrong
    backbone = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU())
    head = torch.nn.Linear(8, 3)
    model = torch.nn.Sequential(backbone, head)
    backbone.requires_grad_(False)
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    ok, _ = _call(unfreeze, model, optimizer)
    if not ok:
        return CheckResult(False)
    last = list(backbone[2].parameters())
    first = list(backbone[0].parameters())
    if not all(p.requires_grad for p in last):
        return _report(False, "the last block is still frozen", "call requires_grad_(True) on it")
    if any(p.requires_grad for p in first):
        return _report(False, "the first block was unfrozen too", "unfreeze only the last Linear of the backbone")
    if len(optimizer.param_groups) != 2:
        return _report(False, f"the optimizer has {len(optimizer.param_groups)} group(s), expected 2", "optimizer.add_param_group({'params': ..., 'lr': ...})")
    new = optimizer.param_groups[1]
    if {id(p) for p in new["params"]} != {id(p) for p in last}:
        return _report(False, "the new group does not hold exactly the last block's weight and bias")
    if not math.isclose(float(new["lr"]), lr):
        return _report(False, f"the new group's lr is {float(new['lr']):g}, expected {lr:g}")
    return _report(True, f"the last block trains at lr={lr:g}, the first stays frozen, the head keeps lr=0.1.")


def check_new_group_defaults(momentum: Any, weight_decay: Any) -> CheckResult:
    """Check: ``SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)``, then
    ``add_param_group({'params': w, 'lr': 0.01})``: what momentum and weight decay does the new group get?

    Example: ``check_new_group_defaults(0.9, 1e-4)``.
    """
    if _unanswered(momentum, weight_decay):
        return CheckResult(False)
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([a], lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    group = optimizer.param_groups[1]
    try:
        right = math.isclose(float(momentum), group["momentum"]) and math.isclose(float(weight_decay), group["weight_decay"])
    except (TypeError, ValueError):
        return _report(False, "give two numbers")
    if right:
        return _report(True, "keys a new group leaves out are filled from the constructor's defaults.")
    return _report(
        False,
        f"you said momentum={momentum}, weight_decay={weight_decay}; the group got {group['momentum']}, {group['weight_decay']}",
        "add_param_group fills the missing keys from optimizer.defaults",
    )

