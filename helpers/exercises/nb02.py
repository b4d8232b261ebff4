"""Checkers for notebook 02 (zero_grad and gradient accumulation)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import NOT_DONE_VALUE, Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, unanswered, wrong

__all__ = ["check_accumulation", "check_moves"]

F = torch.nn.functional

# 24 rows in 3 micro-batches of 8: the number of micro-batches (3) differs from the rows in
# one micro-batch (8) and from the notebook's k (4), so dividing by the wrong one gives a
# different step.
ROWS, K = 24, 3
_PER = ROWS // K
STEPS = 2  # a second call catches gradients left over from the first, and a lost momentum buffer
# Weight decay makes "divide the learning rate instead of the loss" a different step (notebook
# 02's pitfall "Dividing by k in the wrong place"); every right answer still matches exactly.
LR, MOMENTUM, WEIGHT_DECAY = 0.1, 0.9, 0.1
NOTEBOOK_K = 4  # the k of notebook 02's cells, which a learner's function may pick up by mistake

ACCUMULATION_ANSWER = (
    "optimizer.zero_grad() once; then for each (x, y) in batches: "
    "(nn.functional.mse_loss(model(x), y) / len(batches)).backward(); then optimizer.step() once"
)
_BROADCAST = "different to the input size"  # in mse_loss's warning when prediction and target shapes differ


def _accumulation_problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(ROWS, 4, generator=g)
    return model, x, x.sum(1, keepdim=True).sin()


def _optimizer(model: torch.nn.Module) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)


def _batches(x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(zip(x.chunk(K), y.chunk(K)))


# --- the mistakes recognised by where the weights end up, each run the same way as the learner's function ---
# (mistakes of structure, like step() inside the loop or a misplaced zero_grad(), are recognised by
# watching the calls instead: see _Watch)


def _accumulated(loss_fn: Callable[..., torch.Tensor], divide: Callable[[list, int, torch.Tensor], float]) -> Callable[..., None]:
    def run(model, optimizer, batches):
        optimizer.zero_grad()
        for i, (x, y) in enumerate(batches):
            (loss_fn(model(x), y) / divide(batches, i, x)).backward()
        optimizer.step()

    return run


def _last_only(divide: bool) -> Callable[..., None]:
    def run(model, optimizer, batches):
        optimizer.zero_grad()
        for x, y in batches:
            loss = F.mse_loss(model(x), y)
        (loss / len(batches) if divide else loss).backward()
        optimizer.step()

    return run


_BY_K = lambda b, i, x: len(b)  # noqa: E731
_SUM = lambda p, t: F.mse_loss(p, t, reduction="sum")  # noqa: E731
_LAST_HINT = "call backward() on every micro-batch's loss (or on their sum), and clear the gradients only once, before the loop"
_MISTAKES: list[tuple[Callable[..., None], str, str]] = [
    (
        _accumulated(F.mse_loss, lambda b, i, x: 1),
        f"your gradient is {K} times the big batch's: the micro-batch losses were not divided",
        "divide each micro-batch's loss by the number of micro-batches, len(batches)",
    ),
    (
        _accumulated(F.mse_loss, lambda b, i, x: len(x)),
        f"your gradient is {K}/{_PER} of the big batch's: you divided by the rows in a micro-batch ({_PER})",
        "divide by the number of micro-batches, len(batches), not by len(x): mse_loss already averages over the rows",
    ),
    (
        _accumulated(F.mse_loss, lambda b, i, x: ROWS),
        f"your gradient is 1/{_PER} of the big batch's: you divided each micro-batch's mean by all {ROWS} rows",
        "mse_loss already averages over the rows of a micro-batch: divide only by the number of micro-batches, len(batches)",
    ),
    (
        _accumulated(F.mse_loss, lambda b, i, x: len(b) ** 2),
        f"your gradient is 1/{K} of the big batch's: you divided by the number of micro-batches twice",
        "divide each micro-batch's loss by len(batches) once",
    ),
    (
        _accumulated(F.mse_loss, lambda b, i, x: NOTEBOOK_K),
        f"your gradient is {K}/{NOTEBOOK_K} of the big batch's: you divided by {NOTEBOOK_K}, not by the number of micro-batches",
        f"use len(batches): the checker passes {K} micro-batches, and a k fixed elsewhere (the notebook's k = {NOTEBOOK_K}) does not follow the batches passed in",
    ),
    (
        _accumulated(F.mse_loss, lambda b, i, x: i + 1),
        "the micro-batches are weighted unequally: you divided the i-th micro-batch's loss by i + 1",
        "divide every micro-batch's loss by the same number, len(batches)",
    ),
    (
        _accumulated(_SUM, _BY_K),
        f"your gradient is {_PER} times the big batch's: reduction='sum' adds the {_PER} rows of each micro-batch up",
        "use mse_loss's default reduction (the mean), as the exercise asks",
    ),
    (
        _accumulated(_SUM, lambda b, i, x: 1),
        f"your gradient is {ROWS} times the big batch's: the losses are sums (reduction='sum') and were not divided",
        "use mse_loss's default reduction (the mean) and divide each micro-batch's loss by len(batches)",
    ),
    (
        _accumulated(lambda p, t: F.mse_loss(p, t).sqrt(), _BY_K),
        "the gradient is not mse_loss's: it looks like the root of mse_loss",
        "use nn.functional.mse_loss itself, without a square root",
    ),
    (
        _accumulated(F.l1_loss, _BY_K),
        "the gradient is not mse_loss's: it looks like l1_loss",
        "use nn.functional.mse_loss, as the exercise asks",
    ),
    (
        _accumulated(F.smooth_l1_loss, _BY_K),
        "the gradient is not mse_loss's: it looks like smooth_l1_loss / huber_loss",
        "use nn.functional.mse_loss, as the exercise asks",
    ),
    (_last_only(divide=True), "only the last micro-batch's gradient reached the step", _LAST_HINT),
    (_last_only(divide=False), "only the last micro-batch's gradient reached the step, and it was not divided", _LAST_HINT),
]


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run(fn: Callable[..., None]) -> list[torch.Tensor]:
    """The weights after each of STEPS calls of ``fn`` on a fresh problem."""
    model, x, y = _accumulation_problem()
    optimizer = _optimizer(model)
    out = []
    for _ in range(STEPS):
        fn(model, optimizer, _batches(x, y))
        out.append(_weights(model))
    return out


def _big_batch_step(model, optimizer, batches):
    x, y = torch.cat([b[0] for b in batches]), torch.cat([b[1] for b in batches])
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    optimizer.step()


def _big_batch_run() -> list[torch.Tensor]:
    return _run(_big_batch_step)


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-6))


def _implied_gradient(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """The gradient a first SGD step (momentum buffer still empty, weight decay) from ``before`` to ``after`` used."""
    return (before - after) / LR - WEIGHT_DECAY * before


class _Watch:
    """Records, in order, what the learner's function does with the checker's model and optimizer:
    ("zero_grad",), ("forward", rows) (with gradients on), ("backward",) and ("step", lr at that step)."""

    def __init__(self, model: torch.nn.Module, optimizer: torch.optim.Optimizer):
        self.events: list[tuple[Any, ...]] = []
        first = next(model.parameters())  # every loss of this model reaches it
        first.register_post_accumulate_grad_hook(lambda p: self.events.append(("backward",)))
        # The first layer's hook runs for model(x) and model.forward(x) alike (the model's own
        # hook would miss the second). A forward under torch.no_grad() (a loss computed only to
        # be printed) builds no graph and takes no part in the step: it is not recorded.
        layer = next(m for m in model.modules() if next(m.parameters(recurse=False), None) is not None)
        layer.register_forward_pre_hook(lambda module, args: self.events.append(("forward", _rows(args))) if torch.is_grad_enabled() else None)
        optimizer.register_step_pre_hook(lambda opt, args, kwargs: self.events.append(("step", opt.param_groups[0]["lr"])))
        for owner in (optimizer, model):
            original = owner.zero_grad  # bound method of the class

            def zero_grad(*args, _original=original, **kwargs):
                self.events.append(("zero_grad",))
                return _original(*args, **kwargs)

            owner.zero_grad = zero_grad  # this instance only

    def take(self) -> list[tuple[Any, ...]]:
        events, self.events = self.events, []
        return events


def _rows(args: tuple[Any, ...]) -> int:
    return int(args[0].shape[0]) if args and isinstance(args[0], torch.Tensor) and args[0].dim() > 0 else 0


def _where(events: list[tuple[Any, ...]], kind: str) -> list[int]:
    return [i for i, e in enumerate(events) if e[0] == kind]


def _structure_mistake(events: list[tuple[Any, ...]], call: int, moved: bool, lr_now: float, leftover: bool, broadcast: bool) -> tuple[str, str] | None:
    """(message, hint) for a mistake in what the function did, read from its events; None when none is seen."""
    at = f"at call {call}"
    steps, backwards, zeros = _where(events, "step"), _where(events, "backward"), _where(events, "zero_grad")
    forwards = _where(events, "forward")
    if not steps:
        if moved:
            return (
                f"{at} the weights moved, but the optimizer passed in never stepped",
                "use the optimizer given to your function; do not build a new one inside it",
            )
        return f"{at} the weights did not move: optimizer.step() was never called", "call optimizer.step() once, after the loop"
    step_lrs = [events[i][1] for i in steps]
    if any(not math.isclose(lr, LR, rel_tol=1e-9) for lr in step_lrs):
        lr = next(lr for lr in step_lrs if not math.isclose(lr, LR, rel_tol=1e-9))
        left = "" if math.isclose(lr_now, LR, rel_tol=1e-9) else ", and left it changed, so every later step uses it too"
        if math.isclose(lr, LR / K, rel_tol=1e-6):
            return (
                f"{at} your step used the learning rate divided by {K}: you divided the learning rate instead of the loss{left}",
                "divide each micro-batch's loss and leave the lr alone: the lr also scales the weight decay "
                "(the checker's SGD has weight_decay), so lr / k is not the big batch's step",
            )
        return (
            f"{at} your step used lr = {lr:g}, not the optimizer's own: you changed the learning rate{left}",
            "leave optimizer.param_groups alone; scale each micro-batch's loss instead",
        )
    if not backwards:
        return (
            f"{at} no backward() reached the model's weights",
            "call .backward() on the mse_loss of model(x): a loss rebuilt from .item() numbers, or a new tensor, is cut off from the model",
        )
    if len(forwards) < K:
        return f"{at} your function ran the model on {len(forwards)} of the {K} micro-batches", "loop over every (x, y) in batches"
    if len(steps) > 1:
        per_batch = any(backwards[0] < s < backwards[-1] for s in steps)
        if per_batch and any(steps[0] < z < steps[-1] for z in zeros):
            return (
                f"{at} the weights took one step per micro-batch, each from one micro-batch's gradient",
                "zero_grad() once before the loop, backward() inside it, step() once after it: that is what makes one big-batch step",
            )
        if per_batch:
            return (
                f"{at} the weights took one step per micro-batch: optimizer.step() was called {len(steps)} times",
                "call optimizer.step() once, after the loop: the point is one step from all the micro-batches",
            )
        return (
            f"{at} optimizer.step() was called {len(steps)} times",
            "call step() once: a second step() moves the weights again with the same gradients (and momentum)",
        )
    step = steps[0]
    if step < backwards[0]:
        return (
            f"{at} you called step() before the first backward(): it stepped with what .grad held then, "
            "not with this call's gradients (those wait in .grad for the next call)",
            "the step uses the gradients already in .grad: move step() to after the loop of backward passes",
        )
    if backwards[-1] > step:
        late = sum(b > step for b in backwards)
        return (
            f"{at} step() came before the last backward(): the micro-batches before it reached the step, but "
            f"{late} backward pass{'es' if late > 1 else ''} ran after it and {'their gradients were' if late > 1 else 'its gradient was'} "
            "left over in .grad",
            "call step() only once every micro-batch's backward() has run, after the loop",
        )
    if any(backwards[-1] < z < step for z in zeros):
        return (
            f"{at} a zero_grad() between the backward passes and step() wiped the gradients step() needs",
            "clear the gradients before the loop, not after it",
        )
    if any(backwards[0] < z < backwards[-1] for z in zeros):
        return (
            f"{at} a zero_grad() inside the loop wiped the earlier micro-batches' gradients: only the last one reached the step",
            "call zero_grad() once, before the loop over the micro-batches",
        )
    if leftover and not any(z < backwards[0] for z in zeros):
        return (
            f"{at} the gradients of the previous call were still in .grad and were added in",
            "call optimizer.zero_grad() before the loop: backward() adds into .grad",
        )
    if broadcast:
        return (
            f"{at} the prediction and the target have different shapes, so mse_loss broadcast them (and warned)",
            "compare model(x) with y, both (rows, 1): with any other pair of shapes mse_loss broadcasts and compares every prediction with every target",
        )
    return None


def _call_quietly(fn: Callable[..., Any], args: tuple[Any, ...], names: tuple[str, ...]) -> tuple[bool, Any, bool]:
    """call_student, keeping mse_loss's broadcast warning back (the checker names that mistake itself);
    other warnings are shown as usual. Returns (ok, result, whether the broadcast warning came)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, got = call_student(fn, args, names)
    broadcast = False
    for w in caught:
        if _BROADCAST in str(w.message):
            broadcast = True
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return ok, got, broadcast


def _with_expected(verdict: Verdict) -> Verdict:
    """``verdict`` (from the shared helpers: not a function, the stub, an error) with exercise 1's answer to reveal."""
    return Verdict(verdict.kind, verdict.message, verdict.hint, verdict.expected or ACCUMULATION_ANSWER)


@checker
def check_accumulation(accumulate: Callable[..., Any]) -> Verdict:
    """Check ``accumulate(model, optimizer, batches)``: one optimizer step from a list of
    equal-size micro-batches ``[(x, y), ...]`` with ``nn.functional.mse_loss``, equal to one
    step on the whole batch, whatever the optimizer.

    Calls it twice (SGD with momentum and weight decay, 3 micro-batches of 8 rows) next to
    big-batch steps. It watches what the function does (zero_grad, forward, backward and step
    calls, the learning rate at the step) and where the weights end up, and names the mistake.
    Example: ``check_accumulation(accumulate)``.
    """
    if (verdict := not_a_function(accumulate)) is not None:
        return _with_expected(verdict)
    expected_run = _big_batch_run()
    model, x, y = _accumulation_problem()
    first = _weights(model)
    optimizer = _optimizer(model)
    watch = _Watch(model, optimizer)
    mistakes: list[tuple[list[torch.Tensor], str, str]] | None = None
    leftover = False  # .grad still holds a gradient from the previous call
    for call in range(1, STEPS + 1):
        before = _weights(model)
        ok, got, broadcast = _call_quietly(accumulate, (model, optimizer, _batches(x, y)), ("model", "optimizer", "batches"))
        events = watch.take()
        if not ok:
            return _with_expected(got)
        rows = [e[1] for e in events if e[0] == "forward"]
        if any(r > _PER for r in rows):
            return wrong(
                f"your function ran {max(rows)} rows through the model at once",
                "call the model on each micro-batch separately: accumulation exists so the whole batch never has to fit at once",
                expected=ACCUMULATION_ANSWER,
            )
        now = _weights(model)
        backwards, zeros = _where(events, "backward"), _where(events, "zero_grad")
        if _close(now, expected_run[call - 1]):
            leftover = bool(backwards) and not any(z > backwards[-1] for z in zeros)
            continue
        lr_now = optimizer.param_groups[0]["lr"]
        found = _structure_mistake(events, call, not torch.equal(now, before), lr_now, leftover, broadcast)
        if found is not None:
            return wrong(*found, expected=ACCUMULATION_ANSWER)
        if mistakes is None:
            mistakes = [(_run(fn), message, hint) for fn, message, hint in _MISTAKES]
        for weights, message, hint in mistakes:
            if _close(now, weights[call - 1]):
                return wrong(f"at call {call} {message}", hint, expected=ACCUMULATION_ANSWER)
        if call == 1:
            got_grad, wanted = _implied_gradient(first, now), _implied_gradient(first, expected_run[0])
            factor = float(got_grad @ wanted / (wanted @ wanted))
            if factor > 0 and torch.allclose(got_grad, factor * wanted, rtol=1e-3, atol=1e-6):
                return wrong(
                    f"at call 1 your gradient points the right way but is {factor:.3g} times the big batch's",
                    "divide each micro-batch's mean loss by the number of micro-batches, and by nothing else",
                    expected=ACCUMULATION_ANSWER,
                )
        return wrong(
            f"after call {call} the weights differ from one big-batch step",
            "compare your function, line by line, with the first code cell of section 4 of this notebook: "
            "the loss it uses, what that loss is divided by, and where zero_grad(), backward() and step() sit",
            expected=ACCUMULATION_ANSWER,
        )
    return right(f"{STEPS} calls with {K} micro-batches of {_PER} rows match {STEPS} big-batch steps of {ROWS} rows.")


# --- exercise 2 ------------------------------------------------------------------------

MOVES_OPTIMIZER = "torch.optim.Adagrad(params, lr=0.1)"


def _as_bool(value: Any) -> bool | None:
    """``value`` as a bool when it is one in Python's, NumPy's or torch's spelling; else None (0 and 1 are numbers)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.dtype == np.bool_ and value.size == 1:
        return bool(value.reshape(()))
    if isinstance(value, torch.Tensor) and value.dtype == torch.bool and value.numel() == 1 and value.device.type != "meta":
        return bool(value.detach().cpu().reshape(()).item())
    return None


def _moves_after_clearing(set_to_none: bool) -> bool:
    """Exercise 2's experiment: Adagrad(lr=0.1) takes one step, the gradient is cleared, step() again."""
    w = torch.ones(2, requires_grad=True)
    optimizer = torch.optim.Adagrad([w], lr=0.1)
    (w**2).sum().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)
    before = w.detach().clone()
    optimizer.step()
    return not torch.equal(w.detach(), before)


@checker
def check_moves(moves_with_none: Any, moves_with_zeros: Any) -> Verdict:
    """Check the prediction: after one step of ``torch.optim.Adagrad(params, lr=0.1)``, does a
    parameter move at the next ``step()`` (no new ``backward()``) when its ``.grad`` was cleared
    to ``None``, and when it was cleared to zeros? Answer each with ``True`` or ``False``.

    Example: ``check_moves(moves_with_none, moves_with_zeros)``; ``reveal=True`` shows the answer.
    """
    truth = {"moves_with_none": _moves_after_clearing(True), "moves_with_zeros": _moves_after_clearing(False)}
    expected = (
        f"moves_with_none={truth['moves_with_none']} (step() skips a parameter whose .grad is None), "
        f"moves_with_zeros={truth['moves_with_zeros']} (Adagrad's step is lr * grad / (sqrt(sum of squared gradients) + eps): "
        "zero for a zero gradient, and Adagrad keeps no velocity)"
    )
    answers: dict[str, bool] = {}
    for name, value in (("moves_with_none", moves_with_none), ("moves_with_zeros", moves_with_zeros)):
        if value is None:
            return wrong(
                f"{name} is None: None is what zero_grad() leaves in .grad, not an answer",
                "write True (it moves) or False (it stays put)",
                expected=expected,
            )
    if unanswered(moves_with_none, moves_with_zeros):
        return not_done(NOT_DONE_VALUE, expected=expected)
    for name, value in (("moves_with_none", moves_with_none), ("moves_with_zeros", moves_with_zeros)):
        if isinstance(value, (str, bytes, np.str_)):
            return wrong(f"{name} is the text {value!r}", "write True or False, without quotes", expected=expected)
        answer = _as_bool(value)
        if answer is None:
            number = as_number(value)
            if number is not None and number not in (0.0, 1.0):
                return wrong(
                    f"{name} is a number ({number:g}): the question asks whether the parameter moves, not how far",
                    "write True (it moves) or False (it stays put)",
                    expected=expected,
                )
            hint = (
                "write True or False (0 and 1 are numbers, not an answer to a yes/no question)"
                if number is not None
                else "write True or False"
            )
            return wrong(f"{name} should be True or False, got {describe(value)}", hint, expected=expected)
        answers[name] = answer
    none_wrong = answers["moves_with_none"] != truth["moves_with_none"]
    zeros_wrong = answers["moves_with_zeros"] != truth["moves_with_zeros"]
    none_hint = "step() looks at each parameter's .grad first: what does it do with one that is None?"
    if truth["moves_with_zeros"]:
        zeros_hint = "a zero gradient is not skipped: does Adagrad carry anything from the first step into the next one?"
        zeros_after_and = zeros_hint
    else:
        zeros_hint = (
            "Adagrad keeps no velocity: its step is lr * grad / (sqrt(sum of squared gradients) + eps) with this step's grad. "
            "What is that for a gradient of zeros?"
        )
        # The same hint as it reads after "And" (first letter lowered), written out so that it is one catalog message.
        zeros_after_and = (
            "adagrad keeps no velocity: its step is lr * grad / (sqrt(sum of squared gradients) + eps) with this step's grad. "
            "What is that for a gradient of zeros?"
        )
    if none_wrong and zeros_wrong:
        return wrong("both answers are wrong", f"{none_hint} And {zeros_after_and}", expected=expected)
    if none_wrong:
        return wrong("moves_with_none (the .grad cleared to None) is not right", none_hint, expected=expected)
    if zeros_wrong:
        return wrong("moves_with_zeros (the .grad cleared to zeros) is not right", zeros_hint, expected=expected)
    return right(
        "None: step() skips the parameter. Zeros: Adagrad's step lr * grad / (sqrt(sum) + eps) is zero, "
        "and it keeps no velocity, so the parameter stays put either way."
    )
