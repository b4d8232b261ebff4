"""Exercise checkers: each prints "Correct!" or what differs (expected vs got, and a hint).

A checker never lets a traceback from the learner's code escape: it reports it instead.
Each returns a ``CheckResult``: truthy when the answer is right, falsy otherwise.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from typing import Any

import torch

NOT_DONE = "Not done yet: replace `raise NotImplementedError` with your code, then run this cell again."


class CheckResult:
    """What a checker returns: truthy when the answer is right.

    It shows nothing in a notebook (the checker already printed its verdict), so a
    checker call can be the last line of a cell.
    """

    def __init__(self, ok: bool):
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"CheckResult(ok={self.ok})"

    def _ipython_display_(self) -> None:
        pass


def _report(ok: bool, message: str = "", hint: str = "") -> CheckResult:
    if ok:
        print("Correct! " + message if message else "Correct!")
    else:
        print("Not yet. " + message)
        if hint:
            print("Hint: " + hint)
    return CheckResult(ok)


def _call(fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Run learner code; on failure print why (briefly) and return (False, None)."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        print(NOT_DONE)
    except Exception as exc:  # the learner's bug: show it briefly, not as a crash of the checker
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"Your code raised {type(exc).__name__}: {exc} (line {frame.lineno}: {frame.line})")
    return False, None


# --- 00_start_here --------------------------------------------------------------------


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


def check_train_step(train_step: Callable[..., Any]) -> CheckResult:
    """Check ``train_step(model, optimizer, x, y) -> float``: one step of the five-line loop
    with mean-squared-error loss, returning the loss before the step.

    Runs it for three steps next to a reference and compares losses and weights.
    Example: ``check_train_step(train_step)``.
    """
    if not callable(train_step):
        return _report(False, f"pass your function itself, got {type(train_step).__name__}")
    ref_model, x, y = _toy_problem()
    model, _, _ = _toy_problem()
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(1, 4):
        expected = _reference_train_step(ref_model, ref_opt, x, y)
        ok, got = _call(train_step, model, opt, x, y)
        if not ok:
            return CheckResult(False)
        if not isinstance(got, (float, int)) and not (isinstance(got, torch.Tensor) and got.numel() == 1):
            return _report(False, f"return the loss as a number (loss.item()), got {type(got).__name__}")
        got = float(got)
        if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-7):
            return _report(
                False,
                f"at step {step} the returned loss is {got:.6f}, expected {expected:.6f}",
                "compute the loss with torch.nn.functional.mse_loss(model(x), y) before stepping",
            )
        if model.weight.grad is not None and ref_model.weight.grad is not None:
            if step > 1 and not torch.allclose(model.weight.grad, ref_model.weight.grad):
                return _report(
                    False,
                    f"after step {step} the gradient differs from one backward pass's",
                    "clear old gradients with optimizer.zero_grad() before loss.backward()",
                )
        if not torch.allclose(model.weight, ref_model.weight, atol=1e-6):
            return _report(
                False,
                f"after step {step} the weights are {model.weight.detach().flatten().tolist()}, "
                f"expected {ref_model.weight.detach().flatten().tolist()}",
                "the order is: forward, loss, zero_grad, backward, step",
            )
    return _report(True, "three steps match the reference loop exactly.")


def check_sgd_prediction(value: Any) -> CheckResult:
    """Check the predicted ``w`` after one ``SGD(lr=0.1)`` step on ``loss = (w - 5)**2`` from ``w = 2``.

    Example: ``check_sgd_prediction(2.6)``.
    """
    if value is None or value is ...:
        print(NOT_DONE.replace("`raise NotImplementedError`", "the `...`"))
        return CheckResult(False)
    try:
        got = float(value)
    except (TypeError, ValueError):
        return _report(False, f"give a number, got {type(value).__name__} {value!r}")
    w = torch.tensor(2.0, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1)
    ((w - 5) ** 2).backward()
    optimizer.step()
    expected = w.item()
    if math.isclose(got, expected, abs_tol=1e-4):
        return _report(True, f"w.grad was {2 * (2 - 5)}, so w moves to 2 - 0.1 * ({2 * (2 - 5)}) = {expected:.1f}.")
    return _report(
        False,
        f"you said {got}, torch.optim.SGD gives {expected:.4f}",
        "the gradient of (w - 5)**2 is 2 * (w - 5); SGD does w <- w - lr * grad",
    )
