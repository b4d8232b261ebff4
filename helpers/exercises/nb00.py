"""Checkers for notebook 00 (the training loop)."""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook

from ._core import Verdict, as_number, call_student, checker, describe, not_a_function, number_answer, right, wrong

__all__ = ["check_sgd_prediction", "check_train_step"]

TRAIN_STEP_EXPECTED = (
    "prediction = model(x); loss = torch.nn.functional.mse_loss(prediction, y); optimizer.zero_grad(); "
    "loss.backward(); optimizer.step(); return loss.item()"
)


def _toy_problem(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = torch.nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=g))
        model.bias.zero_()
    return model, x, y


def _reference_train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    prediction = model(x)
    loss = torch.nn.functional.mse_loss(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def _other_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[float, str, str]]:
    """The losses a learner may compute by mistake at the current weights: (value, what it is, hint)."""
    F = torch.nn.functional
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the broadcasting case warns; the checker must not
        p = model(x)
        mse = F.mse_loss(p, y).item()
        flat = p.squeeze(1)
        return [
            (
                F.mse_loss(p, y, reduction="sum").item(),
                "mse_loss with reduction='sum' (the exercise asks for the mean)",
                "use the default reduction='mean': torch.nn.functional.mse_loss(prediction, y)",
            ),
            (
                F.mse_loss(p, y, reduction="sum").item() / 2,
                "half the sum of the squared errors, not their mean",
                "mse_loss averages over the samples: use torch.nn.functional.mse_loss(prediction, y) as it is",
            ),
            (
                2 * mse,
                "twice the mean squared error",
                "return the loss itself: torch.nn.functional.mse_loss(prediction, y), with no extra factor",
            ),
            (
                mse / 2,
                "half the mean squared error",
                "return the loss itself: torch.nn.functional.mse_loss(prediction, y), with no extra factor",
            ),
            (
                F.mse_loss(flat, y).item(),
                f"the mse_loss of a prediction of shape {tuple(flat.shape)} against y of shape {tuple(y.shape)}: "
                f"broadcasting compared every prediction with every target ({len(y)} x {len(y)} pairs)",
                "prediction and y must have the same shape: do not squeeze one of them (PyTorch warns about this)",
            ),
            (F.l1_loss(p, y).item(), "l1_loss (the exercise asks for mse_loss)", "use torch.nn.functional.mse_loss(prediction, y)"),
            (
                F.smooth_l1_loss(p, y).item(),
                "smooth_l1_loss / huber_loss (the exercise asks for mse_loss)",
                "use torch.nn.functional.mse_loss(prediction, y)",
            ),
            (
                math.sqrt(mse),
                "the root of the mean squared error (the exercise asks for mse_loss itself)",
                "use torch.nn.functional.mse_loss(prediction, y), without the square root",
            ),
        ]


def _mse_now(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        return torch.nn.functional.mse_loss(model(x), y).item()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7)


@contextlib.contextmanager
def _watch_steps() -> Iterator[list[torch.optim.Optimizer]]:
    """Collect every optimizer whose step() runs inside the block (any optimizer, ours or new)."""
    stepped: list[torch.optim.Optimizer] = []
    handle = register_optimizer_step_post_hook(lambda opt, args, kwargs: stepped.append(opt))
    try:
        yield stepped
    finally:
        handle.remove()


def _with_expected(verdict: Verdict) -> Verdict:
    return Verdict(verdict.kind, verdict.message, verdict.hint, TRAIN_STEP_EXPECTED)


@checker
def check_train_step(train_step: Callable[..., Any]) -> Verdict:
    """Check ``train_step(model, optimizer, x, y) -> float``: one step of the five-line loop
    with ``nn.functional.mse_loss``, returning the loss (a Python number) computed before the step.

    Runs it for three steps next to a reference loop (SGD with momentum) and compares the
    returned losses, the gradients and the weights. Example: ``check_train_step(train_step)``;
    ``reveal=True`` shows the five lines.
    """
    if (verdict := not_a_function(train_step)) is not None:
        return _with_expected(verdict)
    return _with_expected(_judge_train_step(train_step))


def _judge_train_step(train_step: Callable[..., Any]) -> Verdict:
    ref_model, x, y = _toy_problem()
    model, _, _ = _toy_problem()
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    previous_grad = None
    for step in range(1, 4):
        start = model.weight.detach().clone()
        mistakes = _other_losses(model, x, y)
        expected = _reference_train_step(ref_model, ref_opt, x, y)
        with _watch_steps() as stepped, warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            ok, got = call_student(train_step, (model, opt, x, y), ("model", "optimizer", "x", "y"))
        if not ok:
            return got
        ours = sum(o is opt for o in stepped)
        others = [o for o in stepped if o is not opt]
        moved = not torch.equal(model.weight, start)
        if isinstance(got, (torch.Tensor, np.ndarray)):  # a 0-d tensor or array too: not a Python number
            kind = "a tensor" if isinstance(got, torch.Tensor) else "a NumPy array"
            return wrong(
                f"you returned {kind} (shape {tuple(got.shape)}); the exercise asks for a Python number",
                "return loss.item(): a float, detached from the graph",
            )
        number = as_number(got)
        if number is None:
            return wrong(f"return the loss as a number, got {describe(got)}", "return loss.item() at the end")
        if not _close(number, expected):
            for value, mistake, hint in mistakes:
                if _close(number, value):
                    return wrong(f"at step {step} the returned loss is {mistake}", hint)
            if not moved:
                return wrong(f"at step {step} the returned loss differs, and the weights did not move", "call optimizer.step() once per call")
            if _close(number, _mse_now(model, x, y)):
                return wrong(
                    f"at step {step} the returned loss is the one at the weights after the step",
                    "compute the loss before optimizer.step() and return that value; do not recompute it after the step",
                )
            shapes = [str(w.message).split(". ")[0] for w in caught if "size" in str(w.message)]
            return wrong(
                f"at step {step} the returned loss is not the mean squared error of model(x) and y"
                + (f" (PyTorch said: {shapes[0]})" if shapes else ""),
                "check the formula: torch.nn.functional.mse_loss(model(x), y) with its default mean, "
                "and check that model(x) and y have the same shape",
            )
        if others and not ours:
            return wrong(
                f"at step {step} an optimizer built inside train_step ({type(others[0]).__name__}) stepped, not the one you were given",
                "use the optimizer passed in; do not build a new one inside train_step (a new one forgets its momentum every call)",
            )
        if not ours and moved:
            return wrong(
                f"at step {step} the weights moved, but optimizer.step() never ran: they were updated by hand",
                "call optimizer.step(): it applies the optimizer's own rule (here with momentum), "
                "which a hand-written w -= lr * w.grad leaves out",
            )
        if not ours:
            return wrong(f"at step {step} the weights did not move: optimizer.step() never ran", "call optimizer.step() after loss.backward()")
        if ours > 1:
            return wrong(f"at step {step} optimizer.step() ran {ours} times in one call", "one optimizer.step() per call of train_step")
        if not moved:
            grad = model.weight.grad
            if grad is None or not grad.any():
                return wrong(
                    f"at step {step} the weights did not move and .grad is " + ("None" if grad is None else "all zeros"),
                    "zero_grad() must come before backward(): called after it, it wipes the gradient step() needs",
                )
            return wrong(f"at step {step} the weights did not move", "call optimizer.step() after loss.backward()")
        grad, ref_grad = model.weight.grad, ref_model.weight.grad
        if grad is not None and not torch.allclose(grad, ref_grad, atol=1e-6):
            if torch.allclose(grad, 2 * ref_grad, atol=1e-6):
                return wrong(
                    f"at step {step} the gradient is exactly twice mse_loss's: backward() ran twice on this loss",
                    "call loss.backward() once per step",
                )
            if step > 1 and previous_grad is not None and torch.allclose(grad, ref_grad + previous_grad, atol=1e-5):
                return wrong(
                    f"at step {step} the gradient is bigger than one backward pass gives: the previous step's gradient was added in",
                    "call optimizer.zero_grad() before loss.backward()",
                )
            return wrong(f"at step {step} the gradient differs from mse_loss's", "call loss.backward() on the mse_loss of model(x) and y")
        previous_grad = None if grad is None else grad.detach().clone()
        if not torch.allclose(model.weight, ref_model.weight, atol=1e-6):
            return wrong(
                f"after step {step} the weights differ from the five-line loop's",
                "the order is: forward, loss, zero_grad, backward, step; one of each per call",
            )
    return right("three steps match the reference loop: same losses, gradients and weights.")


@checker
def check_sgd_prediction(value: Any) -> Verdict:
    """Check the predicted ``w`` after one ``SGD(lr=0.1)`` step on ``loss = (w - 5)**2`` from ``w = 2``.

    Example: ``check_sgd_prediction(my_answer)``; ``reveal=True`` shows the answer.
    """
    w = torch.tensor(2.0, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1)
    ((w - 5) ** 2).backward()
    grad = w.grad.item()
    optimizer.step()
    expected = w.item()
    reveal = f"{expected:.1f} (w.grad = 2 * (2 - 5) = {grad:g}, and w - lr * grad = 2 - 0.1 * ({grad:g}) = {expected:.1f})"
    got = number_answer(value, example="1.23 (the value of w after the step)", expected=reveal)
    if isinstance(got, Verdict):
        return got
    if math.isclose(got, expected, abs_tol=1e-4):
        return right(f"w.grad was {grad:g}, so w moves to 2 - 0.1 * ({grad:g}) = {expected:.1f}.")
    mistakes = [
        (2 + 0.1 * grad, "the step went the wrong way", "SGD subtracts: w <- w - lr * grad, and grad is negative here"),
        (2 - 0.1 * grad / 2, "the step is half as long as it should be", "the derivative of (w - 5)**2 is 2 * (w - 5): keep the factor 2"),
        (2 - grad, "that step forgot the learning rate", "multiply the gradient by lr = 0.1"),
        (grad, "that is the gradient, not the new w", "the question asks for w after the step: w - lr * grad"),
        (-grad, "that is minus the gradient, not the new w", "the question asks for w after the step: w - lr * grad"),
        (-0.1 * grad, "that is how far w moves, not where it lands", "add the move to the starting w = 2"),
        (0.1 * grad, "that is lr * grad, the amount SGD subtracts, not the new w", "subtract it from the starting w: w - lr * grad"),
        ((2 - 5) ** 2, "that is the loss at w = 2, not the new w", "the question asks for w after the step: w - lr * grad"),
        ((expected - 5) ** 2, "that is the loss after the step, not the new w", "the question asks for w itself: w - lr * grad"),
        (5.0, "one step does not reach the minimum at 5", "compute a single step: w - lr * grad"),
        (2.0, "the step does move w", "w.grad is not zero at w = 2, so w - lr * grad differs from 2"),
    ]
    for value_, message, hint in mistakes:
        if math.isclose(got, value_, abs_tol=1e-4):
            return wrong(f"you said {got:g}: {message}", hint, expected=reveal)
    return wrong(f"you said {got:g}", "the gradient of (w - 5)**2 is 2 * (w - 5); SGD does w <- w - lr * grad", expected=reveal)
