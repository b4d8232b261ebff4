"""Checkers for notebook 10 (around step(): gradient clipping, mixed precision and skipped steps)."""

from __future__ import annotations

import contextlib
import functools
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch

from ._core import Verdict, call_student, checker, describe, not_a_function, right, wrong

__all__ = ["check_amp_step", "check_step_happened"]

F = torch.nn.functional
AMP_DTYPE = torch.float16


# --- exercise 1: one mixed-precision step with accumulation and clipping ------------------
#
# The checker builds a small model, SGD with momentum and a GradScaler on the CPU, and calls
# the learner's amp_step four times in a row on the same objects:
AMP_CALLS = (  # (number of micro-batches, max_norm, whether one micro-batch overflows float16)
    (4, 0.02, False),  # clipping acts: a step on scaled gradients or an unclipped one shows here
    (4, 0.02, True),  # an input of 1e5 is inf in float16: the step must be skipped and the scale halve
    (2, 100.0, False),  # clipping does not act: the gradient's size shows (division by k)
    (4, 100.0, False),
)
_AMP_NAMES = ("model", "optimizer", "scaler", "micro_batches", "max_norm")
AmpStep = Callable[..., Any]


def _amp_setup() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.amp.GradScaler, list[tuple[list[Any], float]]]:
    """Fresh objects and the four calls' arguments (always the same numbers)."""
    generator = torch.Generator().manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.5)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    scaler = torch.amp.GradScaler("cpu")
    calls = []
    for k, max_norm, overflow in AMP_CALLS:
        x = torch.randn(8 * k, 2, generator=generator)
        y = torch.randint(0, 3, (8 * k,), generator=generator)
        if overflow:
            x[9, 1] = 1e5  # in the second micro-batch; inf once autocast casts it to float16
        calls.append(([(xb, yb) for xb, yb in zip(x.chunk(k), y.chunk(k))], max_norm))
    return model, optimizer, scaler, calls


def _reference(model, optimizer, scaler, micro_batches, max_norm, *, autocast=True, dtype=AMP_DTYPE, divide=True,
               divisor=None, clip="after unscale", zero="end", step="scaler", loss_in_autocast=True, one_batch=False):
    """amp_step, right by default; the keyword arguments make the plausible mistakes."""
    k = len(micro_batches)
    if one_batch:  # one forward pass over all the micro-batches put together
        micro_batches = [(torch.cat([x for x, _ in micro_batches]), torch.cat([y for _, y in micro_batches]))]
    if zero == "start":
        optimizer.zero_grad()
    for x, y in micro_batches:
        if zero == "each":
            optimizer.zero_grad()
        with torch.autocast("cpu", dtype=dtype, enabled=autocast):
            out = model(x)
            if loss_in_autocast:
                loss = F.cross_entropy(out, y)
        if not loss_in_autocast:  # float16 logits: outside autocast, cross_entropy runs in float16 too
            loss = F.cross_entropy(out, y)
        if divide and not one_batch:
            loss = loss / (len(x) if divisor == "batch size" else divisor or k)
        if step == "no scaler":
            loss.backward()
        else:
            scaler.scale(loss).backward()
        if clip == "each micro-batch":
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    if clip == "before unscale":
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    if step != "no scaler" and clip != "no unscale":
        scaler.unscale_(optimizer)
    if clip in ("after unscale", "no unscale"):
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    elif clip == "each parameter":
        for p in model.parameters():
            torch.nn.utils.clip_grad_norm_(p, max_norm)
    elif clip == "by value":
        torch.nn.utils.clip_grad_value_(model.parameters(), max_norm)
    if zero == "before step":
        optimizer.zero_grad()
    if step == "scaler":
        scaler.step(optimizer)
    else:
        optimizer.step()
    if step != "no scaler":
        scaler.update()
    if zero == "end":
        optimizer.zero_grad()


# (name, keyword arguments of _reference, message, hint); the first whose run matches is named.
_AMP_MISTAKES: tuple[tuple[str, dict[str, Any], str, str], ...] = (
    ("no scaler", {"step": "no scaler"},
     "your step did not go through the scaler: the scale never changed, and the micro-batch that overflowed put NaN "
     "into the weights",
     "the loss is scaled before backward(), and the step and the update go through the GradScaler"),
    ("optimizer.step()", {"step": "optimizer"},
     "a step happened in the call whose gradient overflowed float16: your weights hold NaN now",
     "optimizer.step() steps whatever the gradients hold; only the scaler's step checks for inf and NaN first"),
    ("loss outside autocast", {"loss_in_autocast": False},
     "the scaler found inf in a call where no input overflows: your loss was float16, computed outside autocast on "
     "float16 logits, and it overflowed once multiplied by the scale",
     "inside torch.autocast, cross_entropy runs in float32; outside it, it runs in the dtype of the logits"),
    ("no autocast", {"autocast": False},
     "the micro-batch with the input 1e5 overflowed nothing, so its step happened: your forward pass ran in float32",
     "run the forward pass and the loss inside torch.autocast('cpu', dtype=torch.float16)"),
    ("bfloat16", {"dtype": torch.bfloat16},
     "your forward pass ran in another precision than float16 (bfloat16's range holds 1e5, so nothing overflowed)",
     "the exercise asks for dtype=torch.float16 in torch.autocast"),
    ("clip before unscale", {"clip": "before unscale"},
     "in the call where clipping acts, the step was about 65536 times too short: your clipping saw the scaled gradients",
     "until unscale_ divides them back, the gradients in .grad are multiplied by the loss scale, and clip_grad_norm_ "
     "compares whatever it finds there with max_norm"),
    ("clip each micro-batch", {"clip": "each micro-batch"},
     "the gradient the step used is not the clipped sum of all micro-batches: you clipped inside the micro-batch loop",
     "clipping acts on the gradient the step uses: the sum of every micro-batch's gradient"),
    ("clip each parameter", {"clip": "each parameter"},
     "your clipping gave every parameter tensor a budget of max_norm of its own: the exercise clips all of "
     "model.parameters() as one vector",
     "clip_grad_norm_ measures the total norm of everything it gets in one call"),
    ("clip by value", {"clip": "by value"},
     "your clipping capped each gradient entry at max_norm instead of the total norm (that is clip_grad_value_)",
     "max_norm bounds the norm of all the gradients together"),
    ("one big batch", {"one_batch": True},
     "you ran one forward pass over all the micro-batches put together: the exercise accumulates, with one forward "
     "pass and one scaled backward per micro-batch",
     "loop over micro_batches; the gradients add up in .grad"),
    ("no clipping", {"clip": "none"},
     "in the call where clipping acts, the step was as long as the unclipped gradient: max_norm had no effect",
     "clip the accumulated gradient to max_norm before the scaler's step"),
    ("loss not divided", {"divide": False},
     "in the calls where clipping does not act, the step was as many times too large as there are micro-batches",
     "with accumulation each micro-batch's loss is divided by the number of micro-batches (notebook 02)"),
    ("divided by 4", {"divisor": 4},
     "the call with 2 micro-batches made a step half as large as it should: you divided by 4 whatever the number "
     "of micro-batches",
     "divide by how many micro-batches this call got"),
    ("divided by the batch size", {"divisor": "batch size"},
     "in the calls where clipping does not act, the steps were too small: you divided by the number of samples of a "
     "micro-batch, which cross_entropy already averages over",
     "with accumulation each micro-batch's loss is divided by the number of micro-batches (notebook 02)"),
    ("zero_grad in the loop", {"zero": "each"},
     "only the last micro-batch's gradient reached the step: the gradients were cleared inside the loop",
     "clear the gradients once per call, not between micro-batches"),
    ("no zero_grad", {"zero": "never"},
     "the gradients of the previous call were still in .grad and were added to this call's",
     "leave .grad cleared for the next call (optimizer.zero_grad() once per call, at its start or its end)"),
    ("zero_grad before the step", {"zero": "before step"},
     "your calls never moved the weights: .grad was already cleared when the scaler's step ran",
     "the step reads .grad: clear it after the step (or before the first backward)"),
)


def _snapshot(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scaler: torch.amp.GradScaler) -> tuple[Any, ...]:
    weights = [p.detach().clone() for p in model.parameters()]
    buffers = [optimizer.state[p].get("momentum_buffer") for p in model.parameters()]
    buffers = [None if b is None else b.clone() for b in buffers]
    return weights, buffers, float(scaler.get_scale())


def _close(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-4, atol=1e-6, equal_nan=True)


def _same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return a[2] == b[2] and all(_close(x, y) for x, y in zip(a[0] + a[1], b[0] + b[1]))


def _run(step: Callable[..., Any]) -> list[tuple[Any, ...]]:
    model, optimizer, scaler, calls = _amp_setup()
    snapshots = []
    for micro_batches, max_norm in calls:
        step(model, optimizer, scaler, micro_batches, max_norm)
        snapshots.append(_snapshot(model, optimizer, scaler))
    return snapshots


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """These models are tiny: one thread is much faster than several that wait for each other on a busy CPU."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


@functools.lru_cache(maxsize=1)
def _expected_runs() -> tuple[list[tuple[Any, ...]], tuple[list[tuple[Any, ...]], ...]]:
    reference = _run(_reference)
    mistakes = tuple(_run(functools.partial(_reference, **kwargs)) for _, kwargs, _, _ in _AMP_MISTAKES)
    return reference, mistakes


AMP_ANSWER = (
    "for x, y in micro_batches: (with torch.autocast('cpu', dtype=torch.float16): loss = "
    "F.cross_entropy(model(x), y) / len(micro_batches)); scaler.scale(loss).backward() | after the loop: "
    "scaler.unscale_(optimizer); clip_grad_norm_(model.parameters(), max_norm); scaler.step(optimizer); "
    "scaler.update(); optimizer.zero_grad()"
)

_RAISED_HINTS = (
    ("unscale_() has already been called", "first",
     "unscale_ runs once per optimizer step: after the last micro-batch's backward, not inside the loop"),
    ("unscale_() has already been called", "later",
     "the scaler forgets an unscale_ only at update(): scaler.update() comes after scaler.step(optimizer), once per call"),
    ("unscale_() is being called after step()", "any",
     "the scaler forgets a step only at update(): scaler.update() comes after scaler.step(optimizer), once per call"),
    ("step() has already been called since the last update()", "any",
     "after scaler.step(optimizer), scaler.update() must run before the next step"),
    ("No inf checks were recorded", "any",
     "scaler.update() reads what unscale_ or scaler.step(optimizer) found: it comes after them"),
    ("Attempted unscale_ but _scale is None", "any",
     "unscale_ divides by the scale that scaler.scale(loss) multiplied in: the backward starts from scaler.scale(loss)"),
    ("so it cannot be clipped", "any",
     "with a GradScaler an inf gradient is expected now and then, and scaler.step skips that step: leave "
     "error_if_nonfinite at its default"),
)


@checker
def check_amp_step(amp_step: AmpStep) -> Verdict:
    """Check ``amp_step(model, optimizer, scaler, micro_batches, max_norm)``: one optimizer step from
    the ``(x, y)`` micro-batches with accumulation (each ``cross_entropy`` loss divided by their
    number), the forward pass under ``torch.autocast("cpu", dtype=torch.float16)``, the gradient
    clipped to ``max_norm`` over ``model.parameters()`` after unscaling, ``scaler.step`` and
    ``scaler.update()``, and ``.grad`` cleared for the next call.

    It is called four times on the same objects (``AMP_CALLS``); after each call the weights,
    SGD's momentum buffers and the loss scale are compared with the right run, and a mismatch is
    matched against the runs of plausible mistakes. Example: ``check_amp_step(amp_step)``.
    """
    if (verdict := not_a_function(amp_step)) is not None:
        return verdict
    model, optimizer, scaler, calls = _amp_setup()
    learner = []
    caught: list[warnings.WarningMessage] = []
    for i, (micro_batches, max_norm) in enumerate(calls):
        with warnings.catch_warnings(record=True) as new, _one_thread():
            warnings.simplefilter("always")
            ok, result = call_student(amp_step, (model, optimizer, scaler, micro_batches, max_norm), _AMP_NAMES)
        caught += new
        if not ok:
            if result.kind != "wrong":
                return result
            for text, when, hint in _RAISED_HINTS:
                if text in result.message and (when == "any" or (when == "first") == (i == 0)):
                    return wrong(f"at call {i + 1}: {result.message}", hint, expected=AMP_ANSWER)
            return wrong(f"at call {i + 1}: {result.message}", result.hint, expected=AMP_ANSWER)
        try:
            learner.append(_snapshot(model, optimizer, scaler))
        except Exception as exc:  # the learner replaced the model's parameters by something odd
            return wrong(f"after your step the model cannot be read ({type(exc).__name__}: {exc})",
                         "change the parameters only through the optimizer's step")
    with _one_thread():
        reference, mistakes = _expected_runs()
    if all(_same(a, b) for a, b in zip(learner, reference)):
        return right("autocast, scaled backward per micro-batch, one unscale_, clip, the scaler's step and update.")
    warned = str(caught[0].message).strip().splitlines()[0][:120] if caught else ""
    for (_, _, message, hint), run in zip(_AMP_MISTAKES, mistakes):
        if all(_same(a, b) for a, b in zip(learner, run)):
            return wrong(_with_warning(message, warned), hint, expected=AMP_ANSWER)
    return _describe_difference(learner, reference, warned)


def _with_warning(message: str, warned: str) -> str:
    """``message`` with the learner's first warning after it, when there was one: one catalog
    message "{0} (your code also warned: {1})" around the message, translated on its own.

    Example: ``_with_warning("after call 2 ...", "")`` -> ``"after call 2 ..."``.
    """
    return f"{message} (your code also warned: {warned})" if warned else message


def _describe_difference(learner: list[tuple[Any, ...]], reference: list[tuple[Any, ...]], warned: str) -> Verdict:
    """What differs first, when no known mistake matches; ``warned``: the learner's first warning, or ""."""
    for i, (mine, want) in enumerate(zip(learner, reference)):
        if _same(mine, want):
            continue
        weights_ok = all(_close(a, b) for a, b in zip(mine[0], want[0]))
        if not all(torch.isfinite(w).all() for w in mine[0]):
            message = f"after call {i + 1} your weights hold inf or NaN"
            hint = "a gradient that overflowed must not reach the weights: the scaler's step skips it"
        elif mine[2] < want[2]:
            message = f"after call {i + 1} the loss scale is {mine[2]:g}, lower than after a right step"
            hint = ("update() lowers the scale when the gradients held inf or NaN: did something in your forward, loss or "
                    "backward overflow float16? (and leave the scale to the scaler)")
        elif mine[2] != want[2]:
            message = f"after call {i + 1} the loss scale is {mine[2]:g}, higher than after a right step"
            hint = "scaler.update() once per call, after scaler.step(optimizer); leave the scale to the scaler"
        elif AMP_CALLS[i][2] and not weights_ok:
            message = f"call {i + 1} has a micro-batch that overflows float16, and your weights changed in it"
            hint = "when a gradient holds inf, the scaler's step must skip the optimizer's step"
        else:
            message = f"after call {i + 1} the weights or the momentum buffers differ from one correct step"
            hint = ("go through it in order: autocast forward and loss, divide, scaled backward for each micro-batch; then "
                    "unscale, clip, the scaler's step and update, and clear the gradients")
        return wrong(_with_warning(message, warned), hint, expected=AMP_ANSWER)
    return wrong(_with_warning("your runs differ from the expected ones", warned), "", expected=AMP_ANSWER)  # not reached


# --- exercise 2: did the step happen? --------------------------------------------------------
#
# The learner gets the scale before an iteration and after its update() and says whether
# optimizer.step() ran. The checker feeds it iterations of real GradScalers, recorded with a step
# hook: with the default factors (the scale halves on a skip, doubles on growth) and with others.
SCALER_SETTINGS = (
    {"growth_interval": 2},  # default factors: 2 and 0.5
    {"growth_interval": 2, "growth_factor": 4.0, "backoff_factor": 0.25},
    {"growth_interval": 2, "growth_factor": 1.5, "backoff_factor": 0.9},  # a skip lowers the scale by only 10%
)
# How update() changed the scale (scale_after / scale_before) -> the name of that kind of iteration.
_KINDS = ((1.0, "same"), (2.0, "grew"), (4.0, "grew by 4"), (1.5, "grew by 1.5"), (0.5, "halved"),
          (0.25, "quartered"), (0.9, "times 0.9"))
_GREW = {"grew", "grew by 4", "grew by 1.5"}
_LOWERED = {"halved", "quartered", "times 0.9"}
_OVERFLOWS = (False, False, False, True, False, True, True, False, False, False)


@functools.lru_cache(maxsize=1)
def scale_events() -> tuple[tuple[float, float, bool, str], ...]:
    """``(scale_before, scale_after, step_happened, kind)`` of every iteration the checker replays.

    ``kind`` is ``same``, ``grew``, ``grew by 4``, ``grew by 1.5``, ``halved``, ``quartered`` or ``times 0.9``.
    """
    events = []
    for setting in SCALER_SETTINGS:
        w = torch.zeros(2, requires_grad=True)
        optimizer = torch.optim.SGD([w], lr=0.1)
        scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10, **setting)
        ran = []
        optimizer.register_step_post_hook(lambda *_: ran.append(True))
        for overflow in _OVERFLOWS:
            g = torch.tensor([math.inf if overflow else 1.0, 1.0])
            before, steps = scaler.get_scale(), len(ran)
            scaler.scale((w * g).sum()).backward()
            scaler.step(optimizer)
            scaler.update()
            optimizer.zero_grad()
            after = scaler.get_scale()
            happened = len(ran) > steps
            ratio = after / before
            kind = next(name for r, name in _KINDS if math.isclose(ratio, r, rel_tol=1e-6))  # float32 scales
            events.append((before, after, happened, kind))
    return tuple(events)


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        return bool(value.item())
    return None


STEP_HAPPENED_ANSWER = (
    "return scale_after >= scale_before: update() lowers the scale only after a skipped step (times "
    "backoff_factor); after a step that ran it keeps it or raises it (times growth_factor)"
)


@checker
def check_step_happened(step_happened: Callable[[float, float], Any]) -> Verdict:
    """Check ``step_happened(scale_before, scale_after) -> bool``: True when the iteration's
    ``optimizer.step()`` ran, from ``scaler.get_scale()`` before the iteration and after its
    ``update()`` (one optimizer per scaler).

    The iterations come from real ``GradScaler``s (``scale_events()``): unchanged, grown and
    lowered scales, with the default factors, with ``growth_factor=4, backoff_factor=0.25`` and with
    ``growth_factor=1.5, backoff_factor=0.9``.
    ``True``/``False``, NumPy bools and 0-d bool tensors are accepted. Example:
    ``check_step_happened(step_happened)``.
    """
    if (verdict := not_a_function(step_happened)) is not None:
        return verdict
    events = scale_events()
    wrong_kinds: dict[str, int] = {}
    for before, after, happened, kind in events:
        ok, result = call_student(step_happened, (before, after), ("scale_before", "scale_after"))
        if not ok:
            return result
        said = _as_bool(result)
        if said is None:
            return wrong(
                f"step_happened({before:g}, {after:g}) returned {describe(result)}, not True or False",
                "return a bool: True when the step ran, False when it was skipped",
                expected=STEP_HAPPENED_ANSWER,
            )
        if said != happened:
            wrong_kinds[kind] = wrong_kinds.get(kind, 0) + 1
    if not wrong_kinds:
        return right("a step was skipped exactly when update() lowered the scale, whatever the factors.")
    kinds = set(wrong_kinds)
    counts = {kind: sum(1 for e in events if e[3] == kind) for kind in wrong_kinds}
    everything = {e[3] for e in events}
    if kinds == everything and all(wrong_kinds[k] == counts[k] for k in kinds):
        message, hint = "every answer was the opposite: you return True for a skipped step", "the question is whether the step ran"
    elif kinds <= _GREW:
        if "grew" not in kinds:
            factors = {  # each a whole message (KeyError for a new setting: add its text)
                frozenset({"grew by 1.5"}): "1.5", frozenset({"grew by 4"}): "4", frozenset({"grew by 1.5", "grew by 4"}): "1.5 or 4",
            }[frozenset(kinds)]
            message = f"you said the step was skipped when the scale grew by another factor than 2 ({factors})"
            hint = "the scale grows by growth_factor, which is 2 only by default"
        else:
            message = "you said the step was skipped when the scale grew"
            hint = "update() raises the scale after growth_interval clean iterations in a row: that iteration's step ran too"
    elif kinds == {"same"}:
        message = "you said the step was skipped when the scale stayed the same"
        hint = "most iterations that step leave the scale as it was: it changes only on a skip or on growth"
    elif kinds <= _LOWERED and "halved" not in kinds:
        lowered = {  # each a whole message (KeyError for a new setting: add its text)
            frozenset({"quartered"}): "divided by 4 (backoff_factor=0.25)",
            frozenset({"times 0.9"}): "multiplied by 0.9 (backoff_factor=0.9)",
            frozenset({"quartered", "times 0.9"}): "divided by 4 (backoff_factor=0.25) or multiplied by 0.9 (backoff_factor=0.9)",
        }[frozenset(kinds)]
        message = f"you said the step ran when the scale was {lowered}"
        hint = "a skipped step multiplies the scale by backoff_factor, which is 0.5 only by default"
    elif kinds <= _LOWERED:
        message = "you said the step ran when the scale went down"
        hint = "what does update() do to the scale after an iteration whose gradient held inf?"
    else:
        # The kinds as what the learner's function sees, the ratio of the two scales: code, the same in every language.
        ratio = {name: r for r, name in _KINDS}
        ratios = ", ".join(f"{r:g}" for r in sorted(ratio[k] for k in kinds))
        message = f"wrong for {sum(wrong_kinds.values())} of {len(events)} iterations: those where scale_after / scale_before in [{ratios}]"
        hint = "compare the two scales: after a skipped step, after a normal step, after a growth step"
    return wrong(message, hint, expected=STEP_HAPPENED_ANSWER)
