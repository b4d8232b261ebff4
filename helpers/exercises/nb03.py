"""Checkers for notebook 03."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts


def check_adam_bytes(answer: Any, model: torch.nn.Module) -> CheckResult:
    """Check the number of bytes ``torch.optim.Adam`` keeps for ``model`` after its first step.

    Example: ``check_adam_bytes(2 * 4 * n_params + 4 * n_tensors, model)``.
    """
    import copy

    if _unanswered(answer):
        return CheckResult(False)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return _report(False, f"give a number of bytes, got {type(answer).__name__}")
    twin = copy.deepcopy(model)
    optimizer = torch.optim.Adam(twin.parameters())
    for p in twin.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    expected = sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor))
    if answer == expected:
        return _report(True, f"{expected} bytes: exp_avg and exp_avg_sq per tensor (2x the parameters) plus a 4-byte step each.")
    params = sum(p.numel() * p.element_size() for p in twin.parameters())
    hint = "Adam keeps exp_avg and exp_avg_sq (each the size of the parameter) and a float32 step per tensor"
    if answer == 2 * params:
        hint = "almost: each tensor also has its own 'step' counter, a float32 scalar (4 bytes)"
    return _report(False, f"you said {answer}, Adam keeps {expected} bytes", hint)


def check_snapshot(snapshot: Callable[[torch.nn.Module], Any]) -> CheckResult:
    """Check ``snapshot(model)``: a copy of the model's state_dict that later training does not change.

    Example: ``check_snapshot(lambda m: copy.deepcopy(m.state_dict()))``.
    """
    if (wrong := _not_a_function(snapshot)) is not None:
        return wrong
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    ok, saved = _call(snapshot, model)
    if not ok:
        return CheckResult(False)
    if not isinstance(saved, Mapping) or set(saved) != set(model.state_dict()):
        return _report(False, "return a dict with the same keys as model.state_dict() (buffers included)")
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    model(torch.randn(8, 3)).pow(2).sum().backward()
    optimizer.step()
    changed = [k for k in expected if not torch.equal(saved[k], expected[k])]
    if changed:
        return _report(
            False,
            f"after one training step your snapshot changed too: {changed}",
            "state_dict() tensors share storage with the model: clone them (or copy.deepcopy the dict)",
        )
    return _report(True, "the snapshot kept the values it was taken with, buffers included.")

