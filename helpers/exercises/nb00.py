"""Checkers for notebook 00 (the training loop)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import NOT_DONE_VALUE, Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, unanswered, wrong

__all__ = ["check_sgd_prediction", "check_train_step"]


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


def _other_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, float]:
    """The losses a learner may compute by mistake, at the current weights."""
    with torch.no_grad():
        p = model(x)
        F = torch.nn.functional
        return {
            "mse_loss with reduction='sum' (the exercise asks for the mean)": F.mse_loss(p, y, reduction="sum").item(),
            "l1_loss (the exercise asks for mse_loss)": F.l1_loss(p, y).item(),
            "smooth_l1_loss / huber_loss (the exercise asks for mse_loss)": F.smooth_l1_loss(p, y).item(),
            "the root of the mean squared error (the exercise asks for mse_loss itself)": F.mse_loss(p, y).sqrt().item(),
        }


@checker
def check_train_step(train_step: Callable[..., Any]) -> Verdict:
    """Check ``train_step(model, optimizer, x, y) -> float``: one step of the five-line loop
    with ``nn.functional.mse_loss``, returning the loss (a Python number) computed before the step.

    Runs it for three steps next to a reference loop (SGD with momentum) and compares the
    returned losses, the gradients and the weights. Example: ``check_train_step(train_step)``.
    """
    if (verdict := not_a_function(train_step)) is not None:
        return verdict
    ref_model, x, y = _toy_problem()
    model, _, _ = _toy_problem()
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(1, 4):
        start = model.weight.detach().clone()
        mistakes = _other_losses(model, x, y)
        expected = _reference_train_step(ref_model, ref_opt, x, y)
        ok, got = call_student(train_step, (model, opt, x, y), ("model", "optimizer", "x", "y"))
        if not ok:
            return got
        if isinstance(got, torch.Tensor):
            return wrong(
                "you returned a tensor; the exercise asks for a Python number",
                "return loss.item(): a float, detached from the graph",
            )
        number = as_number(got)
        if number is None:
            return wrong(f"return the loss as a number, got {describe(got)}", "return loss.item() at the end")
        if not math.isclose(number, expected, rel_tol=1e-5, abs_tol=1e-7):
            for mistake, value in mistakes.items():
                if math.isclose(number, value, rel_tol=1e-5, abs_tol=1e-7):
                    return wrong(f"at step {step} the returned loss is {mistake}", "use torch.nn.functional.mse_loss(model(x), y)")
            if torch.equal(model.weight, start):
                return wrong(f"at step {step} the returned loss differs, and the weights did not move", "call optimizer.step() once per call")
            return wrong(
                f"at step {step} the returned loss is not the one computed before the step",
                "compute the loss before optimizer.step() and return that value; do not recompute it after the step",
                expected=f"{expected:.6f} at step {step}",
            )
        if torch.equal(model.weight, start):
            if model.weight.grad is None:
                return wrong(
                    f"at step {step} the weights did not move and .grad is None",
                    "zero_grad() must come before backward(): called after it, it wipes the gradient step() needs",
                )
            return wrong(f"at step {step} the weights did not move", "call optimizer.step() after loss.backward()")
        if model.weight.grad is not None and not torch.allclose(model.weight.grad, ref_model.weight.grad, atol=1e-6):
            if step > 1:
                return wrong(
                    f"at step {step} the gradient is bigger than one backward pass gives: old gradients were added in",
                    "call optimizer.zero_grad() before loss.backward()",
                )
            return wrong(f"at step {step} the gradient differs from mse_loss's", "call loss.backward() on the mse_loss of model(x) and y")
        if not torch.allclose(model.weight, ref_model.weight, atol=1e-6):
            if step > 1 and not opt.state:
                return wrong(
                    f"after step {step} the weights differ, and the optimizer you were given holds no momentum",
                    "use the optimizer passed in; do not build a new one inside train_step",
                )
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
    if unanswered(value):
        return not_done(NOT_DONE_VALUE, expected=reveal)
    if isinstance(value, (str, bytes, np.str_)):
        return wrong(f"you gave the text {value!r}", "give a number, without quotes", expected=reveal)
    got = as_number(value)
    if got is None:
        return wrong(f"give one number, got {describe(value)}", "write the value of w after the step, e.g. 1.23", expected=reveal)
    if math.isclose(got, expected, abs_tol=1e-4):
        return right(f"w.grad was {grad:g}, so w moves to 2 - 0.1 * ({grad:g}) = {expected:.1f}.")
    mistakes = [
        (2 + 0.1 * grad, "the step went the wrong way", "SGD subtracts: w <- w - lr * grad, and grad is negative here"),
        (2 - 0.1 * grad / 2, "the step is half as long as it should be", "the derivative of (w - 5)**2 is 2 * (w - 5): keep the factor 2"),
        (2 - grad, "that step forgot the learning rate", "multiply the gradient by lr = 0.1"),
        (grad, "that is the gradient, not the new w", "the question asks for w after the step: w - lr * grad"),
        (-grad, "that is minus the gradient, not the new w", "the question asks for w after the step: w - lr * grad"),
        (-0.1 * grad, "that is how far w moves, not where it lands", "add the move to the starting w = 2"),
        (5.0, "one step does not reach the minimum at 5", "compute a single step: w - lr * grad"),
        (2.0, "the step does move w", "w.grad is not zero at w = 2, so w - lr * grad differs from 2"),
    ]
    for value_, message, hint in mistakes:
        if math.isclose(got, value_, abs_tol=1e-4):
            return wrong(f"you said {got:g}: {message}", hint, expected=reveal)
    return wrong(f"you said {got:g}", "the gradient of (w - 5)**2 is 2 * (w - 5); SGD does w <- w - lr * grad", expected=reveal)
