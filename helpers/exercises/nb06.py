"""Checkers for notebook 06."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts


def check_nesterov_step(nesterov_step: Callable[..., Any]) -> CheckResult:
    """Check ``nesterov_step(p, grad, buf, lr, momentum) -> (new_p, new_buf)``: one step of
    ``SGD(lr, momentum, nesterov=True)`` by hand; ``buf`` is ``None`` at the first step.

    Compared with ``torch.optim.SGD`` for three steps. Example: ``check_nesterov_step(nesterov_step)``.
    """
    if (wrong := _not_a_function(nesterov_step)) is not None:
        return wrong
    g = torch.Generator().manual_seed(3)
    start = torch.randn(5, generator=g)
    grads = [torch.randn(5, generator=g) for _ in range(3)]
    w = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    p, buf = start.clone(), None
    for step, grad in enumerate(grads, start=1):
        w.grad = grad.clone()
        optimizer.step()
        ok, out = _call(nesterov_step, p.clone(), grad.clone(), None if buf is None else buf.clone(), 0.1, 0.9)
        if not ok:
            return CheckResult(False)
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            return _report(False, "return two tensors: (new_p, new_buf)")
        p, buf = out
        if not torch.allclose(p, w.detach(), atol=1e-6):
            hint = "buf = momentum * buf + grad (buf = grad at the first step); then p -= lr * (grad + momentum * buf)"
            return _report(False, f"after step {step}: p = {[round(v, 4) for v in p.tolist()]}, SGD gives {[round(v, 4) for v in w.detach().tolist()]}", hint)
        if not torch.allclose(buf, optimizer.state[w]["momentum_buffer"], atol=1e-6):
            return _report(False, f"after step {step} the momentum buffer differs from SGD's momentum_buffer")
    return _report(True, "three Nesterov steps match torch.optim.SGD(nesterov=True).")


def check_closure(make_closure: Callable[..., Any]) -> CheckResult:
    """Check ``make_closure(model, optimizer, x, y) -> closure`` for ``torch.optim.LBFGS``
    (mean-squared-error loss). Runs three LBFGS steps next to a reference closure.

    Example: ``check_closure(make_closure)``.
    """
    if (wrong := _not_a_function(make_closure)) is not None:
        return wrong

    def problem() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(5)
        model = torch.nn.Linear(3, 1)
        with torch.no_grad():
            model.weight.copy_(torch.randn(1, 3, generator=gen))
            model.bias.zero_()
        x = torch.randn(20, 3, generator=gen)
        y = x @ torch.tensor([[2.0], [-1.0], [0.5]]) + 1.0
        return model, torch.optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe"), x, y

    ref, ref_opt, x, y = problem()

    def reference() -> torch.Tensor:
        ref_opt.zero_grad()
        loss = torch.nn.functional.mse_loss(ref(x), y)
        loss.backward()
        return loss

    model, optimizer, _, _ = problem()
    ok, closure = _call(make_closure, model, optimizer, x, y)
    if not ok:
        return CheckResult(False)
    if not callable(closure):
        return _report(False, f"make_closure must return the closure (a function), got {type(closure).__name__}")
    for step in range(1, 4):
        ref_opt.step(reference)
        try:
            optimizer.step(closure)
        except NotImplementedError:
            print(NOT_DONE)
            return CheckResult(False)
        except Exception as exc:
            return _report(False, f"LBFGS's step raised {type(exc).__name__}: {str(exc).splitlines()[0]}",
                           "compute the loss inside the closure, call backward on it, return it")
        if not torch.allclose(model.weight, ref.weight, atol=1e-5):
            return _report(
                False,
                f"after step {step} the weights differ from LBFGS with a correct closure",
                "the closure must zero the grads, compute the loss from the current parameters, call backward, and return that loss",
            )
    return _report(True, "three LBFGS steps with your closure match the reference.")
