"""Checkers for notebook 02."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts


def _accumulation_problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(16, 4, generator=g)
    return model, x, x.sum(1, keepdim=True).sin()


def check_accumulation(accumulate: Callable[..., Any]) -> CheckResult:
    """Check ``accumulate(model, optimizer, batches)``: one optimizer step from several
    micro-batches ``[(x, y), ...]`` (mean-squared-error loss) that equals one step on the
    whole batch. Example: ``check_accumulation(accumulate)``.
    """
    if (wrong := _not_a_function(accumulate)) is not None:
        return wrong
    ref, x, y = _accumulation_problem()
    mine, _, _ = _accumulation_problem()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    my_opt = torch.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    for step in (1, 2):
        start = [p.detach().clone() for p in mine.parameters()]
        ref_opt.zero_grad()
        torch.nn.functional.mse_loss(ref(x), y).backward()
        ref_opt.step()
        ok, _ = _call(accumulate, mine, my_opt, list(zip(x.chunk(4), y.chunk(4))))
        if not ok:
            return CheckResult(False)
        if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ref.parameters(), mine.parameters())):
            with torch.no_grad():
                moved = sum(float((b - a).norm() ** 2) for a, b in zip(start, mine.parameters())) ** 0.5
                expected = sum(float((r - a).norm() ** 2) for a, r in zip(start, ref.parameters())) ** 0.5
            hint = "divide each micro-batch loss by the number of micro-batches; zero_grad once before, step once after"
            if step == 1 and abs(moved / expected - 4) < 0.1:
                hint = "the update is 4x too big: " + hint
            return _report(
                False, f"after step {step} your weights moved {moved:.4g}, the big-batch step moves {expected:.4g}", hint
            )
    return _report(True, "two accumulated steps of 4 micro-batches match two big-batch steps.")


def check_moves(moves_with_none: Any, moves_with_zeros: Any) -> CheckResult:
    """Check the prediction: after some momentum-SGD steps, does a parameter move at the next
    ``step()`` when its ``.grad`` is ``None``, and when it is zeros?

    Example: ``check_moves(False, True)``.
    """
    if _unanswered(moves_with_none, moves_with_zeros):
        return CheckResult(False)
    if not all(isinstance(v, bool) for v in (moves_with_none, moves_with_zeros)):
        return _report(False, "answer with True or False for each")
    truth = {}
    for label, set_to_none in (("None", True), ("zeros", False)):
        w = torch.ones(2, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        (w**2).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=set_to_none)
        before = w.detach().clone()
        opt.step()
        truth[label] = not torch.equal(w, before)
    wrong = []
    if moves_with_none != truth["None"]:
        wrong.append(f"with .grad None it {'moves' if truth['None'] else 'stays put'} (step() skips it)")
    if moves_with_zeros != truth["zeros"]:
        wrong.append(f"with .grad zeros it {'moves' if truth['zeros'] else 'stays put'} (momentum keeps pushing)")
    if wrong:
        return _report(False, "; ".join(wrong), "step() skips a parameter whose grad is None, but not one whose grad is zeros")
    return _report(True, "None: skipped, stays put. Zeros: the momentum buffer still moves it.")

