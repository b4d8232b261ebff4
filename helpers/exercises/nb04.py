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
    wrong,
)

__all__ = ["check_new_group_defaults", "check_unfreeze_last"]


def _frozen_model() -> tuple[torch.nn.Sequential, torch.nn.Sequential, torch.nn.Linear]:
    """``nn.Sequential(backbone, head)``: a frozen backbone of three Linear layers, each followed by a ReLU."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        backbone = torch.nn.Sequential(
            torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU()
        )
        head = torch.nn.Linear(8, 3)
    backbone.requires_grad_(False)
    return torch.nn.Sequential(backbone, head), backbone, head


def _ids(tensors: Any) -> set[int]:
    return {id(p) for p in tensors}


def _with_expected(verdict: Verdict, expected: str) -> Verdict:
    """``verdict`` (from the shared helpers: not a function, the stub, an error) with the answer to reveal."""
    return Verdict(verdict.kind, verdict.message, verdict.hint, verdict.expected or expected)


@checker
def check_unfreeze_last(unfreeze: Callable[..., Any], lr: float = 3e-4) -> Verdict:
    """Check ``unfreeze(model, optimizer)``: make the backbone's last ``Linear`` trainable and
    hand it to the optimizer as a new group at ``lr``; the rest of the backbone stays frozen.

    The model is ``nn.Sequential(backbone, head)`` with a frozen ``backbone`` of
    ``Linear, ReLU, Linear, ReLU, Linear, ReLU``; the optimizer is ``SGD(head.parameters(),
    lr=0.1, momentum=0.9)``. After ``unfreeze`` one training step must move the last Linear
    and the head, and leave the other Linears where they were. Example: ``check_unfreeze_last(unfreeze)``.
    """
    model, backbone, head = _frozen_model()
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    linears = [i for i, m in enumerate(backbone) if isinstance(m, torch.nn.Linear)]
    last_i = linears[-1]
    last = list(backbone[last_i].parameters())
    others = [p for i in linears[:-1] for p in backbone[i].parameters()]
    reveal = (
        f"model[0][{last_i}].requires_grad_(True), then "
        f"optimizer.add_param_group({{'params': model[0][{last_i}].parameters(), 'lr': {lr:g}}})"
    )
    if (verdict := not_a_function(unfreeze)) is not None:
        return _with_expected(verdict, reveal)
    ok, got = call_student(unfreeze, (model, optimizer), ("model", "optimizer"))
    if not ok:
        return _with_expected(got, reveal)
    groups = optimizer.param_groups

    # groups put together by hand: check them before anything runs a step with them
    for group in groups[1:]:
        missing = sorted(k for k in optimizer.defaults if k not in group)
        if missing:
            return wrong(
                f"a group you added lacks the keys {missing}: a dict appended to optimizer.param_groups by hand gets no defaults",
                "use optimizer.add_param_group({...}), which fills every key you leave out from optimizer.defaults",
                expected=reveal,
            )
        if isinstance(group.get("lr"), (str, bytes)):
            return wrong(f"the new group's lr is the text {group['lr']!r}", "give the learning rate as a number, without quotes", expected=reveal)
        if as_number(group.get("lr")) is None:
            return wrong(f"the new group's lr is {describe(group.get('lr'))}, not a number", "'lr' takes one number, not a list", expected=reveal)

    flagged = [name for name, m in model.named_modules() if m.__dict__.get("requires_grad") is not None]
    last_free = [p.requires_grad for p in last]
    others_free = any(p.requires_grad for p in others)
    new_ids = _ids(p for g in groups[1:] for p in g["params"])
    if others_free and not any(last_free):
        return wrong(
            "you unfroze another Linear of the backbone, not the last one",
            "count every layer of the backbone, the ReLUs included (Linear, ReLU, Linear, ReLU, Linear, ReLU), from 0; or use a negative index",
            expected=reveal,
        )
    if others_free:
        return wrong("the first Linear layers were unfrozen too", "unfreeze only the backbone's last Linear, not the whole backbone", expected=reveal)
    if not all(last_free):
        if flagged:
            return wrong(
                "you set requires_grad as an attribute of a module: a Module has no such switch, so that only made a new attribute "
                "and its parameters stay frozen",
                "call the method requires_grad_(True) on the module (with the underscore and parentheses), or set requires_grad on each of its parameters",
                expected=reveal,
            )
        if any(last_free):
            frozen = [n for n, p in backbone[last_i].named_parameters() if not p.requires_grad]
            return wrong(f"you unfroze only part of the last Linear: its {frozen} is still frozen", "unfreeze the layer's bias as well as its weight", expected=reveal)
        if new_ids & _ids(last):
            return wrong(
                "the last Linear is in the optimizer but still frozen (requires_grad=False): it gets no gradient and never moves",
                "call requires_grad_(True) on it as well",
                expected=reveal,
            )
        if len(groups) > 1 and not new_ids:
            return wrong(
                "the group you added holds no tensors: the layer you picked has no parameters (a ReLU has none)",
                "pick the backbone's last Linear layer, not the ReLU after it",
                expected=reveal,
            )
        return wrong("the last Linear is still frozen", "call requires_grad_(True) on the backbone's last Linear", expected=reveal)
    if not all(p.requires_grad for p in head.parameters()):
        return wrong("the head is frozen now", "leave the head as it is: it keeps training", expected=reveal)
    if _ids(groups[0]["params"]) & _ids(last):
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
        return wrong(
            f"the optimizer now has {len(groups)} groups: the exercise asks for the last Linear as one new group",
            "add one group that holds the last Linear's weight and bias together",
            expected=reveal,
        )
    head_group, new = groups
    head_lr = as_number(head_group["lr"])
    if _ids(head_group["params"]) != _ids(head.parameters()) or head_lr is None or not math.isclose(head_lr, 0.1) or head_group["momentum"] != 0.9:
        return wrong("the head's group changed", "leave the first group (the head, lr=0.1) as it is and add a second group", expected=reveal)
    if new_ids & _ids(others):
        return wrong(
            "the new group also holds the other Linears' tensors, which are still frozen (a filter over model.parameters() picks up "
            "every tensor the optimizer does not hold yet, frozen ones included)",
            "put only the last Linear's parameters into the new group",
            expected=reveal,
        )
    if new_ids != _ids(last):
        missing = [n for n, p in backbone[last_i].named_parameters() if id(p) not in new_ids]
        return wrong(f"the new group lacks the last Linear's {missing}", "give the whole layer: a Linear's parameters() holds its weight and bias", expected=reveal)
    new_lr = as_number(new["lr"])
    if not math.isclose(new_lr, lr, rel_tol=1e-6):
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
    try:
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    except Exception as exc:  # something the checks above did not foresee in the learner's groups
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return wrong(f"one training step with your optimizer failed: {type(exc).__name__}: {first}", "add the group with optimizer.add_param_group({...})", expected=reveal)
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    still = {f"0.{i}.{k}" for i in linears[:-1] for k in ("weight", "bias")}
    if moved & still:
        return wrong("one training step moved another Linear of the backbone", "keep every Linear but the last frozen", expected=reveal)
    if not {f"0.{last_i}.weight", "1.weight"} <= moved:
        return wrong(f"one training step moved only {sorted(moved)}", "the last Linear and the head must both train", expected=reveal)
    return right(f"the last Linear trains at lr={lr:g}, the other Linears stay frozen, the head keeps lr=0.1.")


def _defaults_question() -> tuple[torch.optim.Optimizer, dict[str, Any]]:
    """The exercise: momentum set in the first group's dict, weight decay in the constructor; then a new group."""
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([{"params": [a], "momentum": 0.9}], lr=0.1, weight_decay=5e-4)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    return optimizer, optimizer.param_groups[1]


@checker
def check_new_group_defaults(momentum: Any, weight_decay: Any) -> Verdict:
    """Check: ``SGD([{'params': a, 'momentum': 0.9}], lr=0.1, weight_decay=5e-4)``, then
    ``add_param_group({'params': b, 'lr': 0.01})``: what momentum and weight decay does the new group get?

    Any spelling of the numbers is accepted (``np.float64``, a 0-d tensor). Example:
    ``check_new_group_defaults(momentum, weight_decay)``; ``reveal=True`` shows the answer.
    """
    optimizer, group = _defaults_question()
    want_m, want_wd = float(group["momentum"]), float(group["weight_decay"])
    first_m = float(optimizer.param_groups[0]["momentum"])
    reveal = (
        f"momentum={want_m:g}, weight_decay={want_wd:g}: the keys the new group leaves out are copied from optimizer.defaults, "
        "which holds the constructor's keyword arguments (and SGD's own default momentum, 0), not the first group's dict"
    )
    if momentum is ... or weight_decay is ...:
        return not_done(NOT_DONE_VALUE, expected=reveal)
    for name, value in (("momentum", momentum), ("weight_decay", weight_decay)):
        if value is None:
            return wrong(f"{name} is None, which is not a number", f"a group always holds a number for {name}: which one would it be here?", expected=reveal)
        if isinstance(value, (str, bytes, np.str_)):
            return wrong(f"you gave {name} as the text {value!r}", "give numbers, without quotes", expected=reveal)
        if as_number(value) is None:
            return wrong(f"give {name} as one number, got {describe(value)}", "one number each, e.g. momentum = 0.5", expected=reveal)
    m, wd = as_number(momentum), as_number(weight_decay)

    def same(x: float, y: float) -> bool:
        return math.isclose(x, y, rel_tol=1e-5, abs_tol=1e-12)

    m_ok, wd_ok = same(m, want_m), same(wd, want_wd)
    if m_ok and wd_ok:
        return right("keys a new group leaves out come from optimizer.defaults: the constructor's keywords, not another group's dict.")
    if same(m, want_wd) and same(wd, want_m):
        return wrong("the two values are swapped", "the first argument is the momentum, the second the weight decay", expected=reveal)
    lrs = {0.1: "the constructor's lr (0.1)", 0.01: "the new group's own lr (0.01)"}
    for value, label in lrs.items():
        for name, got in (("momentum", m), ("weight decay", wd)):
            if same(got, value):
                return wrong(f"you gave {label} as the {name}", "lr is a key of its own; the question is about momentum and weight_decay", expected=reveal)
    if same(m, first_m):
        return wrong(
            "the new group does not copy the first group's momentum: 0.9 was set in the first group's dict, which is not optimizer.defaults"
            + ("" if wd_ok else " (the weight decay is wrong too)"),
            "a key the new dict leaves out comes from optimizer.defaults: the constructor's keyword arguments, and SGD's own default for the rest",
            expected=reveal,
        )
    if same(wd, 0.0) and not wd_ok:
        where = "the weight decay is wrong" + (" (the momentum is right)" if m_ok else ", and so is the momentum")
        return wrong(
            f"{where}: weight_decay was a keyword of the constructor, so it is in optimizer.defaults",
            "the constructor's keyword arguments go into optimizer.defaults, and a new group copies what it leaves out from there",
            expected=reveal,
        )
    scale = 0.01 / 0.1
    if same(wd, want_wd * scale) or same(wd, want_wd / scale):
        return wrong(
            "you scaled the weight decay by the groups' lr ratio",
            "add_param_group copies the missing values as they are; only 'lr' was given for the new group",
            expected=reveal,
        )
    if not m_ok:
        where = "the momentum is wrong" + (" (the weight decay is right)" if wd_ok else ", and so is the weight decay")
        return wrong(where, "the new group's dict sets only 'lr'; every other key comes from optimizer.defaults: what did the constructor's keywords say about momentum?", expected=reveal)
    return wrong("the weight decay is wrong (the momentum is right)", "weight_decay is filled from optimizer.defaults: look at the constructor's keyword arguments", expected=reveal)
