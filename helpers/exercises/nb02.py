"""Checkers for notebook 02 (zero_grad and gradient accumulation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import NOT_DONE_VALUE, Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, unanswered, wrong

__all__ = ["check_accumulation", "check_moves"]

F = torch.nn.functional

# 24 rows in 3 micro-batches of 8: the number of micro-batches (3) differs from the rows in
# one micro-batch (8), so dividing by the wrong one gives a different step.
ROWS, K = 24, 3
_PER = ROWS // K
STEPS = 2  # a second call catches gradients left over from the first, and a lost momentum buffer
LR, MOMENTUM = 0.1, 0.9

ACCUMULATION_ANSWER = (
    "optimizer.zero_grad() once; then for each (x, y) in batches: "
    "(nn.functional.mse_loss(model(x), y) / len(batches)).backward(); then optimizer.step() once"
)


def _accumulation_problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(ROWS, 4, generator=g)
    return model, x, x.sum(1, keepdim=True).sin()


def _batches(x: torch.Tensor, y: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return list(zip(x.chunk(K), y.chunk(K)))


# --- the mistakes the checker recognises, each run the same way as the learner's function ---


def _accumulated(loss_fn: Callable[..., torch.Tensor], divide: Callable[[list, torch.Tensor], float]) -> Callable[..., None]:
    def run(model, optimizer, batches):
        optimizer.zero_grad()
        for x, y in batches:
            (loss_fn(model(x), y) / divide(batches, x)).backward()
        optimizer.step()

    return run


def _zero_grad_inside(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def _step_inside(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
        optimizer.step()


def _step_and_zero_inside(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        (F.mse_loss(model(x), y) / len(batches)).backward()
        optimizer.step()


def _no_zero_grad(model, optimizer, batches):
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


_BY_K = lambda batches, x: len(batches)  # noqa: E731
_MISTAKES: list[tuple[Callable[..., None], str, str]] = [
    (
        _accumulated(F.mse_loss, lambda b, x: 1),
        f"your step is {K} times the big batch's: the micro-batch losses were not divided",
        "divide each micro-batch's loss by the number of micro-batches, len(batches)",
    ),
    (
        _accumulated(F.mse_loss, lambda b, x: len(x)),
        f"your step is {K}/{_PER} of the big batch's: you divided by the rows in a micro-batch ({_PER})",
        "divide by the number of micro-batches, len(batches), not by len(x): mse_loss already averages over the rows",
    ),
    (
        _accumulated(lambda p, t: F.mse_loss(p, t, reduction="sum"), _BY_K),
        f"your step is {_PER} times the big batch's: reduction='sum' adds the {_PER} rows of each micro-batch up",
        "use mse_loss's default reduction (the mean), as the exercise asks",
    ),
    (
        _accumulated(lambda p, t: F.mse_loss(p, t, reduction="sum"), lambda b, x: 1),
        f"your step is {ROWS} times the big batch's: the losses are sums (reduction='sum') and were not divided",
        "use mse_loss's default reduction (the mean) and divide each micro-batch's loss by len(batches)",
    ),
    (
        _zero_grad_inside,
        "only the last micro-batch's gradient reached the step: a zero_grad() inside the loop wiped the others",
        "call optimizer.zero_grad() once, before the loop over the micro-batches",
    ),
    (
        _step_inside,
        "the weights took one step per micro-batch",
        "call optimizer.step() once, after the loop: the point is one step from all the micro-batches",
    ),
    (
        _step_and_zero_inside,
        "the weights took one step per micro-batch, each from one micro-batch's gradient",
        "zero_grad() once before the loop, backward() inside it, step() once after it",
    ),
    (
        _no_zero_grad,
        "the gradients of the previous call were still in .grad and were added in",
        "call optimizer.zero_grad() before the loop: backward() adds into .grad",
    ),
    (
        _accumulated(F.l1_loss, _BY_K),
        "the step is not mse_loss's: it looks like l1_loss",
        "use nn.functional.mse_loss, as the exercise asks",
    ),
    (
        _accumulated(F.smooth_l1_loss, _BY_K),
        "the step is not mse_loss's: it looks like smooth_l1_loss / huber_loss",
        "use nn.functional.mse_loss, as the exercise asks",
    ),
]


def _weights(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _run(fn: Callable[..., None]) -> list[torch.Tensor]:
    """The weights after each of STEPS calls of ``fn`` on a fresh problem."""
    model, x, y = _accumulation_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    out = []
    for _ in range(STEPS):
        fn(model, optimizer, _batches(x, y))
        out.append(_weights(model))
    return out


def _big_batch_run() -> list[torch.Tensor]:
    model, x, y = _accumulation_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    out = []
    for _ in range(STEPS):
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()
        out.append(_weights(model))
    return out


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return bool(torch.allclose(a, b, rtol=1e-4, atol=1e-6))


@checker
def check_accumulation(accumulate: Callable[..., Any]) -> Verdict:
    """Check ``accumulate(model, optimizer, batches)``: one optimizer step from a list of
    equal-size micro-batches ``[(x, y), ...]`` with ``nn.functional.mse_loss``, equal to one
    step on the whole batch.

    Calls it twice (SGD with momentum, 3 micro-batches of 8 rows) next to big-batch steps
    and names the mistake when the weights differ. Example: ``check_accumulation(accumulate)``.
    """
    if (verdict := not_a_function(accumulate)) is not None:
        return verdict
    expected_run = _big_batch_run()
    start_model, _, _ = _accumulation_problem()
    first = _weights(start_model)
    model, x, y = _accumulation_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    rows_seen: list[int] = []
    model.register_forward_pre_hook(lambda module, args: rows_seen.append(int(args[0].shape[0])) if args else None)
    mistakes: list[tuple[list[torch.Tensor], str, str]] | None = None
    for step in range(1, STEPS + 1):
        before = _weights(model)
        ok, got = call_student(accumulate, (model, optimizer, _batches(x, y)), ("model", "optimizer", "batches"))
        if not ok:
            return got
        if any(rows > _PER for rows in rows_seen):
            return wrong(
                f"your function ran {max(rows_seen)} rows through the model at once",
                "call the model on each micro-batch separately: accumulation exists so the whole batch never has to fit at once",
                expected=ACCUMULATION_ANSWER,
            )
        now = _weights(model)
        if _close(now, expected_run[step - 1]):
            continue
        if torch.equal(now, before):
            grads = [p.grad for p in model.parameters()]
            if all(g is None or not g.any() for g in grads):
                return wrong(
                    f"at call {step} the weights did not move and the gradients are empty",
                    "a zero_grad() after the backward passes wipes what step() needs: clear the gradients before the loop",
                    expected=ACCUMULATION_ANSWER,
                )
            return wrong(f"at call {step} the weights did not move", "call optimizer.step() once, after the loop", expected=ACCUMULATION_ANSWER)
        if mistakes is None:
            mistakes = [(_run(fn), message, hint) for fn, message, hint in _MISTAKES]
        for weights, message, hint in mistakes:
            if _close(now, weights[step - 1]):
                return wrong(f"at call {step} {message}", hint, expected=ACCUMULATION_ANSWER)
        if not optimizer.state:
            return wrong(
                f"at call {step} the weights moved, but the optimizer passed in holds no momentum",
                "use the optimizer given to your function; do not build a new one inside it",
                expected=ACCUMULATION_ANSWER,
            )
        moved, wanted = now - before, expected_run[step - 1] - (first if step == 1 else expected_run[step - 2])
        if step == 1:
            factor = float(moved @ wanted / (wanted @ wanted))
            if factor > 0 and torch.allclose(moved, factor * wanted, rtol=1e-3, atol=1e-6):
                return wrong(
                    f"at call 1 your step points the right way but is {factor:.3g} times the big batch's",
                    "divide each micro-batch's mean loss by the number of micro-batches, and by nothing else",
                    expected=ACCUMULATION_ANSWER,
                )
        return wrong(
            f"after call {step} the weights differ from one big-batch step",
            "zero_grad() once, then backward() on each micro-batch's mse_loss divided by len(batches), then step() once",
            expected=ACCUMULATION_ANSWER,
        )
    return right(f"{STEPS} calls with {K} micro-batches of {_PER} rows match {STEPS} big-batch steps of {ROWS} rows.")


# --- exercise 2 ------------------------------------------------------------------------


def _as_bool(value: Any) -> bool | None:
    """``value`` as a bool when it is one in Python's, NumPy's or torch's spelling; else None (0 and 1 are numbers)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.dtype == np.bool_ and value.size == 1:
        return bool(value.reshape(()))
    if isinstance(value, torch.Tensor) and value.dtype == torch.bool and value.numel() == 1:
        return bool(value.reshape(()).item())
    return None


def _moves_after_clearing(set_to_none: bool) -> bool:
    w = torch.ones(2, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9)
    (w**2).sum().backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=set_to_none)
    before = w.detach().clone()
    optimizer.step()
    return not torch.equal(w.detach(), before)


@checker
def check_moves(moves_with_none: Any, moves_with_zeros: Any) -> Verdict:
    """Check the prediction: after one step of ``SGD(lr=0.1, momentum=0.9)``, does a parameter
    move at the next ``step()`` (no new ``backward()``) when its ``.grad`` was cleared to
    ``None``, and when it was cleared to zeros? Answer each with ``True`` or ``False``.

    Example: ``check_moves(moves_with_none, moves_with_zeros)``; ``reveal=True`` shows the answer.
    """
    truth = {"None": _moves_after_clearing(True), "zeros": _moves_after_clearing(False)}
    expected = (
        f"moves_with_none={truth['None']} (step() skips a parameter whose .grad is None), "
        f"moves_with_zeros={truth['zeros']} (the momentum buffer still moves a parameter whose .grad is zeros)"
    )
    if unanswered(moves_with_none, moves_with_zeros):
        return not_done(NOT_DONE_VALUE, expected=expected)
    answers = {}
    for name, value in (("moves_with_none", moves_with_none), ("moves_with_zeros", moves_with_zeros)):
        if isinstance(value, (str, bytes, np.str_)):
            return wrong(f"{name} is the text {value!r}", "write True or False, without quotes", expected=expected)
        answer = _as_bool(value)
        if answer is None:
            hint = "write True or False"
            if as_number(value) is not None:
                hint += " (0 and 1 are numbers, not an answer to a yes/no question)"
            return wrong(f"{name} should be True or False, got {describe(value)}", hint, expected=expected)
        answers[name] = answer
    none_wrong = answers["moves_with_none"] != truth["None"]
    zeros_wrong = answers["moves_with_zeros"] != truth["zeros"]
    none_hint = "step() looks at each parameter's .grad first: what does it do with one that is None?"
    zeros_hint = "with momentum, step() uses the momentum buffer, and a zero gradient does not empty it"
    if none_wrong and zeros_wrong:
        return wrong("both answers are the wrong way round", f"{none_hint} And {zeros_hint}.", expected=expected)
    if none_wrong:
        return wrong("moves_with_none (the .grad cleared to None) is not right", none_hint, expected=expected)
    if zeros_wrong:
        return wrong("moves_with_zeros (the .grad cleared to zeros) is not right", zeros_hint, expected=expected)
    return right("None: step() skips the parameter, it stays put. Zeros: the momentum buffer still moves it.")
