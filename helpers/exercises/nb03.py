"""Checkers for notebook 03 (state_dict: what a model and an optimizer remember)."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
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

__all__ = ["check_adam_bytes", "check_snapshot"]


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _adam_state_bytes(model: torch.nn.Module, **options: Any) -> int:
    """The bytes ``torch.optim.Adam`` keeps for a copy of ``model`` after one step."""
    twin = copy.deepcopy(model)
    params = [p for p in twin.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, **options)
    for p in params:
        p.grad = torch.ones_like(p)
    optimizer.step()
    return sum(_nbytes(v) for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor))


@checker
def check_adam_bytes(answer: Any, model: torch.nn.Module) -> Verdict:
    """Check the number of bytes of state ``torch.optim.Adam`` keeps for ``model`` after its first step.

    Any spelling of the whole number is accepted (``2280``, ``2280.0``, ``np.int64``, a 0-d
    tensor). Example: ``check_adam_bytes(answer, model)``; ``reveal=True`` shows the answer.
    """
    if not isinstance(model, torch.nn.Module):
        return wrong(
            f"the second argument must be the model, got {describe(model)}",
            "call it as check_adam_bytes(answer, model) with the model of the exercise",
        )
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return wrong("that model has no trainable parameters, so Adam keeps nothing for it", "pass the model of the exercise as the second argument")
    n_numbers = sum(p.numel() for p in params)
    n_tensors = len(params)
    size = params[0].element_size() if params else 4
    expected = _adam_state_bytes(model)
    reveal = (
        f"{expected} bytes: exp_avg and exp_avg_sq, each {n_numbers} numbers x {size} bytes, "
        f"plus a {size}-byte float32 'step' for each of the {n_tensors} tensors "
        f"(2 x {n_numbers * size} + {n_tensors} x 4)"
    )
    if unanswered(answer):
        return not_done(NOT_DONE_VALUE, expected=reveal)
    if isinstance(answer, (str, bytes, np.str_)):
        return wrong(f"you gave the text {answer!r}", "give a number, without quotes", expected=reveal)
    got = as_number(answer)
    if got is None:
        return wrong(f"give one number of bytes, got {describe(answer)}", "write a whole number, e.g. 1234", expected=reveal)
    if not math.isfinite(got) or got != int(got):
        return wrong(f"you said {got:g}: a number of bytes is a whole number", "count whole bytes: numbers x 4 for float32", expected=reveal)
    got = int(got)
    if got == expected:
        return right(f"{expected} bytes: exp_avg and exp_avg_sq per tensor (2x the parameters) plus a 4-byte step each.")
    param_bytes = n_numbers * size
    weights = [p for p in params if p.dim() > 1]
    weight_bytes = sum(_nbytes(p) for p in weights)
    n_layers = sum(1 for m in model.modules() if any(True for _ in m.parameters(recurse=False)))
    mistakes = [
        (param_bytes, "that is the size of the parameters themselves (1x), not of Adam's state",
         "Adam keeps two tensors the size of each parameter: exp_avg and exp_avg_sq"),
        (2 * param_bytes, "you counted exp_avg and exp_avg_sq, but not the step counters",
         "each tensor also has its own 'step' counter, a float32 scalar (4 bytes)"),
        (2 * param_bytes + 4, "you counted one step counter for the whole model",
         "Adam keeps a 'step' for every tensor: each weight and each bias has its own"),
        (2 * param_bytes + 4 * n_layers, "you counted one step counter per layer",
         "Adam keeps a 'step' for every tensor: a layer's bias has its own, next to its weight's"),
        (2 * param_bytes + 8 * n_tensors, "you counted the step counters as 8 bytes each",
         "'step' is a float32 tensor (4 bytes), not a float64 or int64"),
        # the same number as "the parameters plus Adam's state": one message for both mistakes
        (3 * param_bytes + 4 * n_tensors, "you counted three tensors the size of the parameters: either the parameters themselves "
         "next to the state, or a third moment (max_exp_avg_sq, which exists only with amsgrad=True)",
         "count the optimizer's state only; plain Adam keeps two tensors per parameter, exp_avg and exp_avg_sq"),
        (8 * expected, "that is the size in bits", "a byte is 8 bits: give bytes"),
        (2 * n_numbers + n_tensors, "you counted numbers, not bytes", "a float32 number takes 4 bytes"),
        (2 * n_numbers, "you counted numbers, not bytes (and no step counters)", "a float32 number takes 4 bytes; each tensor also has a 'step'"),
        (2 * param_bytes + expected, "you added the parameters and their gradients: that is the memory of training",
         "the question asks for the optimizer's state only"),
        (2 * weight_bytes + 4 * n_tensors, "you left out the biases", "every bias gets exp_avg and exp_avg_sq too"),
        (2 * weight_bytes + 4 * len(weights), "you left out the biases", "every bias gets exp_avg, exp_avg_sq and a step too"),
    ]
    for value, message, hint in mistakes:
        if got == value:
            return wrong(f"you said {got}: {message}", hint, expected=reveal)
    return wrong(
        f"you said {got}",
        "per tensor Adam keeps exp_avg and exp_avg_sq (each the size of the tensor) and a float32 'step'; float32 is 4 bytes a number",
        expected=reveal,
    )


_SNAPSHOT_FIX = "clone each tensor ({k: v.clone() for k, v in model.state_dict().items()}) or copy.deepcopy(model.state_dict())"


def _snapshot_model() -> torch.nn.Module:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))


@checker
def check_snapshot(snapshot: Callable[[torch.nn.Module], Any]) -> Verdict:
    """Check ``snapshot(model)``: a copy of ``model.state_dict()`` (buffers included) that later
    training does not change and that ``load_state_dict`` restores.

    The model is ``nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))``; after the snapshot it
    takes one SGD step in training mode, which moves its weights and BatchNorm's running
    statistics. Example: ``check_snapshot(snapshot)``.
    """
    if (verdict := not_a_function(snapshot)) is not None:
        return verdict
    model = _snapshot_model()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    params = {id(t) for t in model.parameters()} | {id(t) for t in model.buffers()}
    buffers = {name for name, _ in model.named_buffers()}
    ok, saved = call_student(snapshot, (model,), ("model",))
    if not ok:
        return saved
    if saved is model:
        return wrong("you returned the model itself", "the model changes as it trains: return a copy of its state_dict()")
    if isinstance(saved, torch.nn.Module):
        return wrong(
            "you returned a module, not a dict: a copy of the whole model keeps the values, but the exercise asks for the state_dict",
            "return a dict from names to tensors: the state_dict() of your copy, or a copy of model.state_dict()",
        )
    if not isinstance(saved, Mapping):
        return wrong(f"return a dict like model.state_dict(), got {describe(saved)}", "state_dict() maps names such as '0.weight' to tensors")
    missing = [k for k in reference if k not in saved]
    extra = [str(k) for k in saved if k not in reference]
    if missing and set(missing) == buffers:
        return wrong(
            f"your snapshot leaves out the buffers {missing}",
            "state_dict() holds the buffers (BatchNorm's running statistics) too: copy model.state_dict(), not named_parameters()",
        )
    if missing or extra:
        return wrong(
            f"your dict's keys differ from model.state_dict()'s (missing {missing}, extra {extra})",
            "start from model.state_dict(): the same names, parameters and buffers",
        )
    not_tensors = [k for k in reference if not isinstance(saved[k], torch.Tensor)]
    if not_tensors:
        return wrong(
            f"the values of {not_tensors} are not tensors ({type(saved[not_tensors[0]]).__name__})",
            "keep tensors, which load_state_dict needs: " + _SNAPSHOT_FIX,
        )
    if any(id(saved[k]) in params for k in reference):
        return wrong(
            "your snapshot holds the model's own Parameters and buffers (that is what keep_vars=True returns)",
            "keep_vars=True copies nothing: " + _SNAPSHOT_FIX,
        )
    differ = [k for k in reference if saved[k].shape != reference[k].shape or not torch.equal(saved[k].detach().cpu(), reference[k])]
    if differ:
        return wrong(
            f"right after the snapshot, {differ} already differ from the model's values",
            "copy the values (clone), do not create new tensors (zeros_like, empty_like)",
        )

    with torch.random.fork_rng(devices=[]):
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(8, 3, generator=g), torch.randn(8, 3, generator=g)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
        model.train()
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
    changed = [k for k in reference if not torch.equal(saved[k].detach().cpu(), reference[k])]
    if changed:
        if isinstance(saved, OrderedDict) and hasattr(saved, "_metadata"):
            hint = "model.state_dict() (like a shallow copy of it) copies no tensor: they share memory with the model; " + _SNAPSHOT_FIX
        else:
            hint = "you made a new dict, but its tensors still share memory with the model (detach() shares it too); " + _SNAPSHOT_FIX
        return wrong(f"after one training step your snapshot changed too: {changed}", hint)
    try:
        model.load_state_dict(saved)
    except Exception as exc:  # the learner's values did not load
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return wrong(f"model.load_state_dict(your snapshot) failed: {type(exc).__name__}: {first}", "keep the tensors as state_dict() has them: " + _SNAPSHOT_FIX)
    restored = [k for k, v in model.state_dict().items() if torch.equal(v, reference[k])]
    if len(restored) != len(reference):
        return wrong("loading your snapshot back did not restore every value", "keep the tensors as state_dict() has them: " + _SNAPSHOT_FIX)
    return right("the snapshot kept the values it was taken with, buffers included, and load_state_dict restores them.")
