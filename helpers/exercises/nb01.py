"""Checkers for notebook 01 (parameter groups)."""

from __future__ import annotations

import math
from typing import Any

import torch

from ._core import NOT_DONE_VALUE, Verdict, as_number, checker, describe, not_done, right, unanswered, wrong

__all__ = ["check_body_head_lrs", "check_no_decay_groups"]

_NORMS = (
    torch.nn.LayerNorm,
    torch.nn.GroupNorm,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.modules.instancenorm._InstanceNorm,
)
# Exercise 1: AdamW at this lr, this weight decay on the weights, none on biases and norm layers.
NO_DECAY_LR = 5e-4
NO_DECAY_WD = 0.1
ADAMW_DEFAULT_WD = 0.01
NOTEBOOK_WD = 0.05  # the value section 4 of the notebook uses: a likely copy
NOTEBOOK_LR = 1e-3  # section 4's AdamW lr (AdamW's default too)
# Exercise 2: the learning rates the exercise asks for, and the ones section 4 used (a likely copy).
BODY_LR, HEAD_LR = 3e-4, 3e-3
NOTEBOOK_BODY_LR, NOTEBOOK_HEAD_LR = 1e-4, 1e-2


def _one_line(value: Any) -> str:
    """A one-line description of a learner's value (an optimizer's or a model's repr spans many lines)."""
    if isinstance(value, torch.optim.Optimizer):
        return f"a {type(value).__name__} optimizer"
    if isinstance(value, torch.nn.Module):
        return f"a {type(value).__name__} model"
    return " ".join(describe(value).split())


def _swapped(optimizer: Any, model: Any, call: str) -> Verdict | None:
    if isinstance(optimizer, torch.nn.Module) and isinstance(model, torch.optim.Optimizer):
        return wrong("you passed the model first and the optimizer second", f"the optimizer comes first: {call}")
    return None


def _no_decay_names(model: torch.nn.Module) -> dict[str, str]:
    """Name -> "bias" or "norm" for every bias and every parameter of a normalization layer."""
    names = {}
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if isinstance(module, _NORMS):
                names[full] = "norm"
            elif param_name == "bias":
                names[full] = "bias"
    return names


def _not_one_optimizer(optimizer: Any, what: str) -> Verdict | None:
    """A wrong verdict when ``optimizer`` is not one torch.optim optimizer, else None."""
    if isinstance(optimizer, torch.optim.Optimizer):
        return None
    if isinstance(optimizer, (list, tuple)) and optimizer and all(isinstance(o, torch.optim.Optimizer) for o in optimizer):
        return wrong(
            f"you built {len(optimizer)} optimizers; the exercise asks for one optimizer with several parameter groups",
            "pass a list of dicts to a single optimizer: one dict per group, each with its own options",
        )
    if isinstance(optimizer, (list, tuple)) and optimizer and all(isinstance(g, dict) for g in optimizer):
        return wrong(
            "you gave the list of group dicts itself, not an optimizer built from it",
            f"hand the list to the optimizer's constructor: torch.optim.{what}([...], ...)",
        )
    if isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer):
        return wrong(f"you gave the class {optimizer.__name__}, not an optimizer", f"call it: torch.optim.{what}(groups, ...)")
    return wrong(f"build a torch.optim optimizer, got {_one_line(optimizer)}", f"optimizer = torch.optim.{what}(...)")


def _membership(optimizer: torch.optim.Optimizer, model: torch.nn.Module, prefix: str = "") -> tuple[dict[int, int], Verdict | None]:
    """Map id(parameter) -> group index, or a wrong verdict for a tensor missing, repeated or foreign."""
    where: dict[int, int] = {}
    names = {id(p): prefix + n for n, p in model.named_parameters()}
    for g, group in enumerate(optimizer.param_groups):
        for p in group["params"]:
            if id(p) in where:
                name = names.get(id(p), "a tensor")
                return where, wrong(
                    f"{name} appears twice in the optimizer (PyTorch only warned), so every step() updates it twice",
                    "put each tensor in exactly one group: split the parameters, do not list one twice",
                )
            if id(p) not in names:
                return where, wrong(
                    f"group {g} holds a tensor that is not one of this model's parameters",
                    "build the optimizer from the very model you pass to the checker (running the model's cell again makes new tensors)",
                )
            where[id(p)] = g
    empty = [g for g, group in enumerate(optimizer.param_groups) if not group["params"]]
    for n, p in model.named_parameters():
        if id(p) not in where:
            if empty:
                return where, wrong(
                    f"group {empty[0]} is empty, and {prefix + n} is in no group",
                    "a generator such as model.parameters() or model.named_parameters() is empty once read (notebook 00's "
                    "pitfall): call it again for each group, or turn it into a list first",
                )
            return where, wrong(f"{prefix + n} is in no group, so it is never trained", "every parameter of the model must be in some group")
    return where, None


def _number(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and math.isfinite(number) else None


def _no_decay_expected(model: Any) -> str:
    """The answer for ``model``; a generic one when ``model`` is not a model."""
    if isinstance(model, torch.nn.Module):
        skip = ", ".join(sorted(_no_decay_names(model)))
    else:
        skip = "every bias and every parameter of a normalization layer"
    return (
        f"torch.optim.AdamW([{{'params': <the other weights>, 'weight_decay': {NO_DECAY_WD:g}}}, "
        f"{{'params': <{skip}>, 'weight_decay': 0.0}}], lr={NO_DECAY_LR:g})"
    )


@checker
def check_no_decay_groups(optimizer: Any, model: Any) -> Verdict:
    """Check an ``AdamW`` optimizer (lr 5e-4) that decays every weight by 0.1 except biases
    and normalization-layer parameters, which get no weight decay.

    Every parameter of ``model`` must be in the optimizer exactly once; any grouping is fine.
    Example: ``check_no_decay_groups(optimizer, model)``; ``reveal=True`` shows an answer.
    """
    expected = _no_decay_expected(model if isinstance(model, torch.nn.Module) else optimizer)
    if (verdict := _swapped(optimizer, model, "check_no_decay_groups(optimizer, model)")) is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    if not isinstance(model, torch.nn.Module):
        return wrong(
            f"the second argument must be the model, got {_one_line(model)}", "call check_no_decay_groups(optimizer, model)", expected
        )
    if unanswered(optimizer):
        return not_done(NOT_DONE_VALUE, expected=expected)
    if (verdict := _not_one_optimizer(optimizer, "AdamW")) is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    decoupled = all(g.get("decoupled_weight_decay", False) for g in optimizer.param_groups)
    if not (isinstance(optimizer, torch.optim.Adam) and decoupled):
        name = type(optimizer).__name__
        if isinstance(optimizer, torch.optim.Adam):
            return wrong(
                f"you built {name}, whose weight_decay is L2 added to the gradient and then scaled by Adam; the exercise asks for AdamW",
                "AdamW decays the weights directly (decoupled weight decay): use torch.optim.AdamW",
                expected,
            )
        return wrong(f"you built {name}; the exercise asks for AdamW", "use torch.optim.AdamW", expected)
    where, verdict = _membership(optimizer, model)
    if verdict is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    skip = _no_decay_names(model)
    params = dict(model.named_parameters())
    decay_of = {}
    for name, p in params.items():
        group = optimizer.param_groups[where[id(p)]]
        decay = _number(group.get("weight_decay", 0))
        if decay is None:
            return wrong(f"{name}'s group has weight_decay={group.get('weight_decay')!r}", "weight_decay must be a number", expected)
        decay_of[name] = decay
    weights = [n for n in params if n not in skip]
    if weights and skip and all(decay_of[n] == 0 for n in weights) and all(decay_of[n] != 0 for n in skip):
        return wrong(
            "the decays are swapped: the weights get none, and the biases and normalization parameters get it",
            "give weight decay to the group of weight matrices and weight_decay=0 to the group of biases and norm parameters",
            expected,
        )
    for name in params:
        decay = decay_of[name]
        if skip.get(name) == "norm" and decay != 0:
            return wrong(
                f"{name} belongs to a normalization layer and is decayed",
                "a norm layer's scale and shift get no decay, like biases: note they are 1-D too",
                expected,
            )
        if skip.get(name) == "bias" and decay != 0:
            return wrong(
                f"{name} is a bias and is decayed",
                "biases go in a group with weight_decay=0 (AdamW's default is not 0: say it in the group's dict)",
                expected,
            )
        if name not in skip and decay == 0:
            return wrong(
                f"{name} is a weight that gets no decay",
                "only biases and the normalization layer's parameters skip decay; the Linear weights get the decay the exercise asks for",
                expected,
            )
    for name in weights:
        decay = decay_of[name]
        if not math.isclose(decay, NO_DECAY_WD, rel_tol=1e-6):
            if math.isclose(decay, NOTEBOOK_WD, rel_tol=1e-6):
                hint = "that is the value section 4 of the notebook used; the exercise gives its own"
            elif math.isclose(decay, ADAMW_DEFAULT_WD, rel_tol=1e-6):
                hint = "that is AdamW's default weight_decay: set the exercise's value, in the decayed group's dict or as weight_decay=..."
            else:
                hint = "re-read the weight decay the exercise asks for and set it in the decayed group's dict"
            return wrong(f"{name} decays with weight_decay={decay:g}, not the amount the exercise asks for", hint, expected)
    for g, group in enumerate(optimizer.param_groups):
        lr = _number(group.get("lr"))
        if lr is None or not math.isclose(lr, NO_DECAY_LR, rel_tol=1e-6):
            hint = "re-read the exercise's lr; pass it as lr=... to AdamW (every group then gets it) or set it in each dict"
            if lr is not None and math.isclose(lr, NOTEBOOK_LR, rel_tol=1e-6):
                hint = "that is section 4's lr, and AdamW's default; " + hint
            return wrong(f"group {g} trains at lr={group.get('lr')!r}, not the learning rate the exercise asks for", hint, expected)
    return right(f"{len(skip)} tensors without decay, {len(params) - len(skip)} with, all in one AdamW.")


@checker
def check_body_head_lrs(optimizer: Any, model: Any, body_lr: float = BODY_LR, head_lr: float = HEAD_LR) -> Verdict:
    """Check one ``Adam`` optimizer that trains ``model.body`` at ``body_lr`` and ``model.head`` at ``head_lr``.

    Any grouping is fine as long as every tensor of the body has ``body_lr`` and every
    tensor of the head ``head_lr``. ``AdamW`` with ``weight_decay=0`` in every group computes
    exactly Adam's step and is accepted too. Example: ``check_body_head_lrs(optimizer, net)``.
    """
    expected = (
        f"torch.optim.Adam([{{'params': net.body.parameters(), 'lr': {body_lr:g}}}, "
        f"{{'params': net.head.parameters(), 'lr': {head_lr:g}}}])"
    )
    if (verdict := _swapped(optimizer, model, "check_body_head_lrs(optimizer, net)")) is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    if not isinstance(model, torch.nn.Module) or not all(isinstance(getattr(model, part, None), torch.nn.Module) for part in ("body", "head")):
        return wrong(
            f"the second argument must be the model with .body and .head, got {_one_line(model)}",
            "call check_body_head_lrs(optimizer, net)",
            expected,
        )
    if unanswered(optimizer):
        return not_done(NOT_DONE_VALUE, expected=expected)
    if (verdict := _not_one_optimizer(optimizer, "Adam")) is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    if not isinstance(optimizer, torch.optim.Adam):
        return wrong(f"you built {type(optimizer).__name__}; the exercise asks for Adam", "use torch.optim.Adam with one dict per part", expected)
    decaying = [
        g for g, group in enumerate(optimizer.param_groups)
        if group.get("decoupled_weight_decay", False) and _number(group.get("weight_decay", 0)) != 0
    ]
    if decaying:
        group = optimizer.param_groups[decaying[0]]
        name = "AdamW" if isinstance(optimizer, torch.optim.AdamW) else "Adam with decoupled_weight_decay=True, which is AdamW"
        return wrong(
            f"you built {name}, which also shrinks every weight of group {decaying[0]} (weight_decay={group.get('weight_decay')!r}); "
            "the exercise asks for Adam",
            "use torch.optim.Adam: AdamW's default weight_decay is 0.01, not 0",
            expected,
        )
    where, verdict = _membership(optimizer, model)
    if verdict is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, expected)
    lr_of = {}
    for part in ("body", "head"):
        for name, p in getattr(model, part).named_parameters():
            lr_of[f"{part}.{name}"] = _number(optimizer.param_groups[where[id(p)]].get("lr"))
    body = [lr for name, lr in lr_of.items() if name.startswith("body.")]
    head = [lr for name, lr in lr_of.items() if name.startswith("head.")]

    def close(values: list[float | None], target: float) -> bool:
        return all(v is not None and math.isclose(v, target, rel_tol=1e-6) for v in values)

    if close(body, head_lr) and close(head, body_lr):
        return wrong("the body and head learning rates are swapped", "the pretrained body moves gently: it gets the smaller lr", expected)
    if len(set(lr_of.values())) == 1:
        return wrong(
            "body and head train at the same lr",
            "give body and head a dict each, with its own 'lr'",
            expected,
        )
    section = (NOTEBOOK_BODY_LR, NOTEBOOK_HEAD_LR)
    if (body_lr, head_lr) != section and close(body, section[0]) and close(head, section[1]):
        return wrong(
            "body and head train at section 4's learning rates",
            "the exercise gives its own: re-read the lr it asks for each part",
            expected,
        )
    for part, target in (("body", body_lr), ("head", head_lr)):
        for name, lr in lr_of.items():
            if name.startswith(part + ".") and not (lr is not None and math.isclose(lr, target, rel_tol=1e-6)):
                return wrong(
                    f"{name} trains at lr={'None' if lr is None else format(lr, 'g')}, not the {part}'s lr the exercise asks for",
                    f"re-read the exercise's lr for net.{part}, and put all of net.{part}'s tensors in a group with it",
                    expected,
                )
    return right(f"body at {body_lr:g}, head at {head_lr:g}, in {len(optimizer.param_groups)} groups of one {type(optimizer).__name__}.")
