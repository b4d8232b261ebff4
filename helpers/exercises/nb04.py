"""Checkers for notebook 04 (add_param_group: growing what the optimizer trains)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import (
    NOT_DONE_VALUE,
    Verdict,
    as_number,
    call_student,
    checker,
    describe,
    not_a_function,
    not_done,
    right,
    unanswered,
    wrong,
)

__all__ = ["check_new_group_defaults", "check_unfreeze_last"]


def _frozen_model() -> tuple[torch.nn.Sequential, torch.nn.Sequential, torch.nn.Linear]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU())
        head = torch.nn.Linear(8, 3)
    backbone.requires_grad_(False)
    return torch.nn.Sequential(backbone, head), backbone, head


@checker
def check_unfreeze_last(unfreeze: Callable[..., Any], lr: float = 1e-3) -> Verdict:
    """Check ``unfreeze(model, optimizer)``: make the backbone's last ``Linear`` trainable and
    hand it to the optimizer as a new group at ``lr``; the rest of the backbone stays frozen.

    The model is ``nn.Sequential(backbone, head)`` with a frozen ``backbone`` of
    ``Linear, ReLU, Linear, ReLU``; the optimizer is ``SGD(head.parameters(), lr=0.1,
    momentum=0.9)``. After ``unfreeze`` one training step must move the last Linear and the
    head, and leave the first Linear where it was. Example: ``check_unfreeze_last(unfreeze)``.
    """
    if (verdict := not_a_function(unfreeze)) is not None:
        return verdict
    model, backbone, head = _frozen_model()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    first, last = list(backbone[0].parameters()), list(backbone[2].parameters())
    reveal = f"model[0][2].requires_grad_(True), then optimizer.add_param_group({{'params': model[0][2].parameters(), 'lr': {lr:g}}})"
    ok, got = call_student(unfreeze, (model, optimizer), ("model", "optimizer"))
    if not ok:
        return got
    last_free = all(p.requires_grad for p in last)
    first_free = any(p.requires_grad for p in first)
    if first_free and not last_free:
        return wrong("you unfroze the first Linear of the backbone, not the last", "the last Linear is model[0][2] (model[0][0] is the first)", expected=reveal)
    if first_free:
        return wrong("the first Linear was unfrozen too", "unfreeze only the backbone's last Linear, not the whole backbone", expected=reveal)
    if not last_free:
        added = {id(p) for g in optimizer.param_groups[1:] for p in g["params"]}
        if added & {id(p) for p in last}:
            return wrong(
                "the last Linear is in the optimizer but still frozen (requires_grad=False): it gets no gradient and never moves",
                "call requires_grad_(True) on it as well",
                expected=reveal,
            )
        return wrong("the last Linear is still frozen", "call requires_grad_(True) on the backbone's last Linear", expected=reveal)
    if not all(p.requires_grad for p in head.parameters()):
        return wrong("the head is frozen now", "leave the head as it is: it keeps training", expected=reveal)
    groups = optimizer.param_groups
    if {id(p) for p in groups[0]["params"]} & {id(p) for p in last}:
        return wrong(
            "you put the last Linear into the head's group, so it trains at the head's lr",
            "give it a group of its own with optimizer.add_param_group({...})",
            expected=reveal,
        )
    if len(groups) == 1:
        return wrong(
            "the optimizer you were given still has 1 group: the unfrozen layer would get gradients, but step() never moves it",
            "hand it to that optimizer with optimizer.add_param_group({...}); do not build a new one",
            expected=reveal,
        )
    if len(groups) > 2:
        return wrong(f"the optimizer now has {len(groups)} groups", "add one group that holds the last Linear's weight and bias", expected=reveal)
    head_group, new = groups
    if {id(p) for p in head_group["params"]} != {id(p) for p in head.parameters()} or not math.isclose(float(head_group["lr"]), 0.1) or head_group["momentum"] != 0.9:
        return wrong("the head's group changed", "leave the first group (the head, lr=0.1) as it is and add a second group", expected=reveal)
    new_ids, last_ids = {id(p) for p in new["params"]}, {id(p) for p in last}
    if new_ids & {id(p) for p in first}:
        return wrong("the new group also holds the first Linear's tensors, which stay frozen", "put only the last Linear's parameters into the new group", expected=reveal)
    if new_ids != last_ids:
        missing = [n for n, p in backbone[2].named_parameters() if id(p) not in new_ids]
        return wrong(f"the new group lacks the last Linear's {missing}", "give the whole layer: model[0][2].parameters() holds its weight and bias", expected=reveal)
    new_lr = float(new["lr"])
    if not math.isclose(new_lr, lr, rel_tol=1e-9):
        if math.isclose(new_lr, float(optimizer.defaults["lr"])):
            return wrong(
                f"the new group trains at the constructor's lr ({new_lr:g}), not at the one the exercise asks for",
                "a key left out of the group's dict comes from optimizer.defaults: put 'lr' into the dict",
                expected=reveal,
            )
        return wrong(f"the new group trains at lr={new_lr:g}, not at the lr the exercise asks for", "set 'lr' in the dict you pass to add_param_group", expected=reveal)

    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    with torch.random.fork_rng(devices=[]):
        g = torch.Generator().manual_seed(0)
        x, y = torch.randn(16, 8, generator=g), torch.randint(0, 3, (16,), generator=g)
    optimizer.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    optimizer.step()
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    if moved & {"0.0.weight", "0.0.bias"}:
        return wrong("one training step moved the first Linear", "keep the first Linear frozen", expected=reveal)
    if not {"0.2.weight", "1.weight"} <= moved:
        return wrong(f"one training step moved only {sorted(moved)}", "the last Linear and the head must both train", expected=reveal)
    return right(f"the last Linear trains at lr={lr:g}, the first stays frozen, the head keeps lr=0.1.")


@checker
def check_new_group_defaults(momentum: Any, weight_decay: Any) -> Verdict:
    """Check: ``SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)``, then
    ``add_param_group({'params': w, 'lr': 0.01})``: what momentum and weight decay does the new group get?

    Any spelling of the numbers is accepted (``np.float64``, a 0-d tensor). Example:
    ``check_new_group_defaults(momentum, weight_decay)``; ``reveal=True`` shows the answer.
    """
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([a], lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    group = optimizer.param_groups[1]
    want_m, want_wd = float(group["momentum"]), float(group["weight_decay"])
    reveal = f"momentum={want_m:g}, weight_decay={want_wd:g}: the keys the new group leaves out are copied from optimizer.defaults"
    if unanswered(momentum, weight_decay):
        return not_done(NOT_DONE_VALUE, expected=reveal)
    for name, value in (("momentum", momentum), ("weight_decay", weight_decay)):
        if isinstance(value, (str, bytes, np.str_)):
            return wrong(f"you gave {name} as the text {value!r}", "give numbers, without quotes", expected=reveal)
        if as_number(value) is None:
            return wrong(f"give {name} as one number, got {describe(value)}", "one number each, e.g. momentum = 0.5", expected=reveal)
    m, wd = as_number(momentum), as_number(weight_decay)

    def same(x: float, y: float) -> bool:
        return math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-12)

    if same(m, want_m) and same(wd, want_wd):
        return right("keys a new group leaves out are filled from the constructor's values in optimizer.defaults.")
    if same(m, want_wd) and same(wd, want_m):
        return wrong("the two values are swapped", "the first argument is the momentum, the second the weight decay", expected=reveal)
    if same(m, 0.0) and same(wd, 0.0):
        return wrong(
            "a new group does not fall back to SGD's built-in defaults (0)",
            "the keys it leaves out come from optimizer.defaults, which holds what this constructor was given",
            expected=reveal,
        )
    scale = 0.01 / 0.1
    if same(m, want_m * scale) or same(wd, want_wd * scale):
        return wrong(
            "you scaled a value by the new group's lr ratio",
            "add_param_group copies the missing values as they are; only 'lr' was given for the new group",
            expected=reveal,
        )
    if same(m, 0.01) or same(wd, 0.01):
        return wrong("0.01 is the new group's lr, not its momentum or weight decay", "lr is the only key the new group's dict sets", expected=reveal)
    if not same(m, want_m):
        where = "momentum is wrong" + (" too" if not same(wd, want_wd) else " (the weight decay is right)")
        if same(m, 0.0):
            return wrong(f"{where}: the new group does get momentum", "a key the dict leaves out comes from optimizer.defaults, not from SGD's default of 0", expected=reveal)
        return wrong(where, "the new group's dict sets only 'lr'; every other key comes from optimizer.defaults", expected=reveal)
    if same(wd, 0.0):
        return wrong("the weight decay is wrong (the momentum is right): the new group does get weight decay", "weight_decay is filled from optimizer.defaults like momentum", expected=reveal)
    return wrong("the weight decay is wrong (the momentum is right)", "weight_decay is filled from optimizer.defaults like momentum", expected=reveal)
