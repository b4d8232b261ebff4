"""Checkers for notebook 03 (state_dict: what a model and an optimizer remember)."""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import (
    Verdict,
    call_student,
    checker,
    describe,
    not_a_function,
    number_answer,
    right,
    wrong,
)

__all__ = ["check_adam_bytes", "check_snapshot"]


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


def _adam_state_bytes(model: torch.nn.Module, **options: Any) -> int:
    """The bytes ``torch.optim.Adam`` keeps for a copy of ``model`` after one step."""
    twin = copy.deepcopy(model)
    optimizer = torch.optim.Adam(twin.parameters(), **options)
    for p in twin.parameters():
        if p.requires_grad:  # a frozen tensor gets no gradient, so no state
            p.grad = torch.ones_like(p)
    optimizer.step()
    return sum(_nbytes(v) for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor))


def _with_expected(verdict: Verdict, expected: str) -> Verdict:
    """``verdict`` (from the shared helpers: not a function, the stub, an error) with the answer to reveal."""
    return Verdict(verdict.kind, verdict.message, verdict.hint, verdict.expected or expected)


_ADAM_BYTES_FIX = (
    "per trainable tensor, Adam keeps exp_avg and exp_avg_sq (and max_exp_avg_sq with amsgrad=True), each the tensor's size, "
    "plus a 4-byte float32 'step'; frozen tensors get nothing: pass the exercise's model to see the number"
)


def _without_bias(model: torch.nn.Module) -> list[tuple[str, torch.nn.Module]]:
    """The trainable layers built without a bias (``bias=False``): their ``bias`` attribute is None."""
    return [
        (name, m)
        for name, m in model.named_modules()
        if isinstance(getattr(m, "weight", None), torch.Tensor) and m.weight.requires_grad and m.weight.dim() > 1
        and "bias" in m.__dict__.get("_parameters", {}) and m.bias is None
    ]


def _layer_label(model: torch.nn.Module, name: str, module: torch.nn.Module) -> str:
    """'the middle Linear (model[2])' and the like, for a hint."""
    kind = type(module).__name__
    same = [n for n, m in model.named_modules() if type(m) is type(module)]
    where = "[" + "][".join(name.split(".")) + "]" if all(part.isdigit() for part in name.split(".")) else "." + name
    if len(same) == 3 and same.index(name) == 1:
        return f"the middle {kind} (model{where})"
    return f"the {kind} model{where}"


@checker
def check_adam_bytes(answer: Any, model: torch.nn.Module, amsgrad: bool = False) -> Verdict:
    """Check the number of bytes of state ``torch.optim.Adam(model.parameters(), amsgrad=amsgrad)``
    keeps for ``model`` after its first step (frozen tensors get none).

    Any spelling of the whole number is accepted (``5568``, ``5568.0``, ``np.int64``, a 0-d
    tensor). Example: ``check_adam_bytes(answer, model, amsgrad=True)``; ``reveal=True`` shows the answer.
    """
    if not isinstance(model, torch.nn.Module):
        return wrong(
            f"the second argument must be the model, got {describe(model)}",
            "call it as check_adam_bytes(answer, model, ...) with the model of the exercise",
            expected=_ADAM_BYTES_FIX,
        )
    all_params = list(model.parameters())
    params = [p for p in all_params if p.requires_grad]
    if not params:
        return wrong(
            "that model has no trainable parameters, so Adam keeps nothing for it",
            "pass the model of the exercise as the second argument",
            expected=_ADAM_BYTES_FIX,
        )
    amsgrad = bool(amsgrad)
    moments = 3 if amsgrad else 2
    names = "exp_avg, exp_avg_sq and max_exp_avg_sq" if amsgrad else "exp_avg and exp_avg_sq"
    n_numbers = sum(p.numel() for p in params)
    n_tensors = len(params)
    size = params[0].element_size()
    param_bytes = n_numbers * size
    expected = _adam_state_bytes(model, amsgrad=amsgrad)
    frozen = len(all_params) - n_tensors
    reveal = (
        f"{expected} bytes: {names}, each {n_numbers} numbers x {size} bytes "
        f"(the {n_tensors} trainable tensors only{f'; the {frozen} frozen ones get no state' if frozen else ''}), "
        f"plus a 4-byte float32 'step' for each of those {n_tensors} tensors ({moments} x {param_bytes} + {n_tensors} x 4)"
    )
    got = number_answer(answer, what="one number of bytes", example="1234", expected=reveal)
    if isinstance(got, Verdict):
        return got
    if not math.isfinite(got) or got != int(got):
        return wrong(f"you said {got:g}: a number of bytes is a whole number", "count whole bytes: numbers x 4 for float32", expected=reveal)
    got = int(got)
    if got == expected:
        return right(f"{expected} bytes: {names} for each trainable tensor ({moments}x their size) plus a 4-byte step each.")
    weights = [p for p in params if p.dim() > 1]
    weight_bytes = sum(_nbytes(p) for p in weights)
    n_layers = sum(1 for m in model.modules() if any(p.requires_grad for p in m.parameters(recurse=False)))
    all_bytes = sum(_nbytes(p) for p in all_params)
    other = 2 if amsgrad else 3
    other_names = "two (exp_avg, exp_avg_sq): you left out amsgrad's max_exp_avg_sq" if amsgrad else "three: max_exp_avg_sq exists only with amsgrad=True"
    steps = 4 * n_tensors
    # Checked in this order: the first match gives the message (a value two mistakes share names both).
    mistakes = [
        (param_bytes, "that is the size of the parameters themselves (1x), not of Adam's state",
         f"Adam keeps {moments} tensors the size of each trainable parameter: {names}"),
        (param_bytes + steps, "you counted one moment tensor per parameter (exp_avg only?)",
         f"Adam keeps {moments} such tensors per parameter: {names}"),
        (other * param_bytes + steps, f"you counted {other_names}",
         f"count the moment tensors this optimizer keeps: {names}"),
        (moments * param_bytes, "you counted the moments, but not the step counters",
         "each tensor also has its own 'step' counter, a float32 scalar (4 bytes)"),
        (moments * param_bytes + 4, "you counted one step counter for the whole model",
         "Adam keeps a 'step' for every tensor it trains, not one for the model"),
        (moments * param_bytes + 4 * n_layers, "you counted one step counter per layer",
         "Adam keeps a 'step' for every tensor: a layer's bias has its own, next to its weight's"),
        (moments * param_bytes + 8 * n_tensors, "you counted the step counters as 8 bytes each",
         "'step' is a float32 tensor (4 bytes), not a float64 or int64"),
        (moments * param_bytes + 8 * n_layers, "you counted 8 bytes of steps per layer: either an 8-byte step for each layer, "
         "or a 4-byte step for a weight and a bias in every layer",
         "count the tensors: a layer built with bias=False has a weight only, and 'step' is a 4-byte float32"),
        (param_bytes + expected, "you counted the parameters themselves next to the state",
         "count the optimizer's state only"),
        (2 * param_bytes + expected, "you added the parameters and their gradients: that is the memory of training",
         "the question asks for the optimizer's state only"),
        (8 * expected, "that is the size in bits", "a byte is 8 bits: give bytes"),
        (moments * n_numbers + n_tensors, "you counted numbers, not bytes", "a float32 number takes 4 bytes"),
        (moments * n_numbers, "you counted numbers, not bytes (and no step counters)", "a float32 number takes 4 bytes; each tensor also has a 'step'"),
        (2 * expected, "you counted 8 bytes per number", "a float32 number takes 4 bytes (8 is float64)"),
        (moments * 8 * n_numbers + steps, "you counted 8 bytes per number", "a float32 number takes 4 bytes (8 is float64)"),
        (moments * weight_bytes + steps, "you left out the biases", f"every bias gets {names} too"),
        (moments * weight_bytes + 4 * len(weights), "you left out the biases", f"every bias gets {names} and a step too"),
    ]
    for name, layer in _without_bias(model):  # a bias counted where the layer was built with bias=False
        bias_bytes = layer.weight.shape[0] * size
        label = _layer_label(model, name, layer)
        for bias_steps in (steps + 4, steps):
            mistakes.append((
                moments * (param_bytes + bias_bytes) + bias_steps,
                f"you counted a bias for {label}",
                f"{label} has bias=False: no bias, so no state for it",
            ))
    if frozen:
        all_steps = 4 * len(all_params)
        mistakes += [
            (moments * all_bytes + all_steps, "you counted state for the frozen tensors too",
             "a frozen tensor (requires_grad=False) gets no gradient, so Adam never creates state for it"),
            (moments * all_bytes + steps, "you counted moments for the frozen tensors too",
             "a frozen tensor gets no gradient, so Adam creates no exp_avg (or anything else) for it"),
            (other * all_bytes + all_steps, f"you counted state for the frozen tensors too, and {other_names}",
             "a frozen tensor gets no state; and count the moment tensors this optimizer keeps"),
        ]
    for value, message, hint in mistakes:
        if got == value and value != expected:
            return wrong(f"you said {got}: {message}", hint, expected=reveal)
    return wrong(
        f"you said {got}",
        f"per trainable tensor Adam{' (amsgrad=True)' if amsgrad else ''} keeps {names} (each the size of the tensor) "
        "and a float32 'step'; a frozen tensor gets nothing; float32 is 4 bytes a number",
        expected=reveal,
    )


_SNAPSHOT_FIX = "{k: v.clone() for k, v in model.state_dict().items()}, or copy.deepcopy(model.state_dict())"


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
        return _with_expected(verdict, _SNAPSHOT_FIX)
    model = _snapshot_model()
    reference = {k: v.clone() for k, v in model.state_dict().items()}
    params = {id(t) for t in model.parameters()} | {id(t) for t in model.buffers()}
    buffers = {name for name, _ in model.named_buffers()}
    ok, saved = call_student(snapshot, (model,), ("model",))
    if not ok:
        return _with_expected(saved, _SNAPSHOT_FIX)
    if saved is model:
        return wrong("you returned the model itself", "the model changes as it trains: return a copy of its state_dict()", expected=_SNAPSHOT_FIX)
    if isinstance(saved, torch.nn.Module):
        return wrong(
            "you returned a module, not a dict: a copy of the whole model keeps the values, but the exercise asks for the state_dict",
            "return a dict from names to tensors: the state_dict() of your copy, or a copy of model.state_dict()",
            expected=_SNAPSHOT_FIX,
        )
    if not isinstance(saved, Mapping):
        return wrong(f"return a dict like model.state_dict(), got {describe(saved)}", "state_dict() maps names such as '0.weight' to tensors", expected=_SNAPSHOT_FIX)
    missing = [k for k in reference if k not in saved]
    extra = [str(k) for k in saved if k not in reference]
    if missing and set(missing) == buffers:
        return wrong(
            f"your snapshot leaves out the buffers {missing}",
            "state_dict() holds the buffers (BatchNorm's running statistics) too: copy model.state_dict(), not named_parameters()",
            expected=_SNAPSHOT_FIX,
        )
    if missing or extra:
        return wrong(
            f"your dict's keys differ from model.state_dict()'s (missing {missing}, extra {extra})",
            "start from model.state_dict(): the same names, parameters and buffers",
            expected=_SNAPSHOT_FIX,
        )
    not_tensors = [k for k in reference if not isinstance(saved[k], torch.Tensor)]
    if not_tensors:
        return wrong(
            f"the values of {not_tensors} are not tensors ({type(saved[not_tensors[0]]).__name__})",
            "load_state_dict needs tensors: copy each tensor as a tensor (a list or an array is not one)",
            expected=_SNAPSHOT_FIX,
        )
    own = [k for k in reference if id(saved[k]) in params]  # the model's own tensor objects, not copies
    if own and set(own) <= buffers and len(own) < len(reference):
        return wrong(
            f"your parameters are copies, but the buffers {own} are the model's own tensors: they still share memory with it",
            "copy the buffers too (named_buffers() gives the model's own tensors, like named_parameters())",
            expected=_SNAPSHOT_FIX,
        )
    if own and len(own) < len(reference):
        return wrong(
            f"your snapshot holds the model's own tensors for {own}: they share memory with it",
            "make a copy of every tensor, parameters and buffers alike",
            expected=_SNAPSHOT_FIX,
        )
    if own:
        return wrong(
            "your snapshot holds the model's own Parameters and buffers (that is what keep_vars=True returns)",
            "keep_vars=True copies nothing: its values are the model's Parameters themselves; make copies of the tensors",
            expected=_SNAPSHOT_FIX,
        )
    differ = [k for k in reference if saved[k].shape != reference[k].shape or not torch.equal(saved[k].detach().cpu(), reference[k])]
    if differ:
        return wrong(
            f"right after the snapshot, {differ} already differ from the model's values",
            "copy the values (clone), do not create new tensors (zeros_like, empty_like)",
            expected=_SNAPSHOT_FIX,
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
            hint = "model.state_dict() (like a shallow copy of it) copies no tensor: they share memory with the model; make copies of the tensors themselves"
        elif set(changed) <= buffers:
            hint = f"your parameters are copies, but the buffers {changed} still share memory with the model: copy them too"
        else:
            hint = (
                "you made a new dict, but its tensors still share memory with the model (detach(), .data, contiguous(), "
                "and .cpu() or .to() to the device a tensor is already on, all copy nothing): make real copies of the tensors"
            )
        return wrong(f"after one training step your snapshot changed too: {changed}", hint, expected=_SNAPSHOT_FIX)
    try:
        model.load_state_dict(saved)
    except Exception as exc:  # the learner's values did not load
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return wrong(f"model.load_state_dict(your snapshot) failed: {type(exc).__name__}: {first}", "keep the names, shapes and dtypes as state_dict() has them", expected=_SNAPSHOT_FIX)
    restored = [k for k, v in model.state_dict().items() if torch.equal(v, reference[k])]
    if len(restored) != len(reference):
        return wrong("loading your snapshot back did not restore every value", "keep the values exactly as state_dict() has them", expected=_SNAPSHOT_FIX)
    return right("the snapshot kept the values it was taken with, buffers included, and load_state_dict restores them.")
