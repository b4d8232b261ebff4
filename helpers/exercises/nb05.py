"""Checkers for notebook 05."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import torch

from ._core import NOT_DONE, CheckResult
from ._legacy import _call, _not_a_function, _report, _unanswered  # TEMPORARY: move to _core verdicts


def resume_setup() -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """Fresh model, optimizer and scheduler for the resume exercise (as a new process would build them)."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    return model, optimizer, scheduler


def _resume_train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> None:
    for _ in range(steps):
        x = torch.randn(8, 4)
        loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def check_resume(resume: Callable[[Any], Any]) -> CheckResult:
    """Check ``resume(path) -> (model, optimizer, scheduler)``: build fresh objects with
    ``resume_setup()`` and restore a checkpoint so that training continues exactly.

    The checker trains 12 steps straight, and 6 steps + save + ``resume`` + 6 steps, and
    compares every weight. Example: ``check_resume(resume)``.
    """
    import tempfile
    from pathlib import Path

    from ..checkpoint import save_checkpoint

    if (wrong := _not_a_function(resume)) is not None:
        return wrong
    rng = torch.get_rng_state()
    try:
        torch.manual_seed(0)
        straight = resume_setup()
        _resume_train(*straight, 12)
        torch.manual_seed(0)
        first = resume_setup()
        _resume_train(*first, 6)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ckpt.pt"
            save_checkpoint(path, model=first[0], optimizer=first[1], scheduler=first[2], step=6)
            torch.manual_seed(1234)  # a new process starts with other random numbers
            ok, objects = _call(resume, path)
        if not ok:
            return CheckResult(False)
        if not (isinstance(objects, tuple) and len(objects) == 3):
            return _report(False, "return the three objects: model, optimizer, scheduler")
        _resume_train(*objects, 6)
    finally:
        torch.set_rng_state(rng)
    same = all(torch.equal(a, b) for a, b in zip(straight[0].parameters(), objects[0].parameters()))
    if same:
        return _report(True, "6 + 6 steps with your resume equal 12 steps straight, bit for bit.")
    lr = objects[1].param_groups[0]["lr"]
    hint = "restore the optimizer and scheduler too, and the RNG (dropout, data): load_checkpoint(path, model=..., optimizer=..., scheduler=...)"
    return _report(False, f"the weights after resuming differ from an uninterrupted run (the lr now is {lr:g}, uninterrupted {straight[1].param_groups[0]['lr']:g})", hint)


def check_lr_after_load(answer: Any) -> CheckResult:
    """Check: an optimizer saved with ``lr=0.01`` is rebuilt with ``lr=0.5`` and loaded; which lr does the next step use?

    Example: ``check_lr_after_load(0.01)``.
    """
    if _unanswered(answer):
        return CheckResult(False)
    w = torch.zeros(1, requires_grad=True)
    saved = torch.optim.SGD([w], lr=0.01).state_dict()
    optimizer = torch.optim.SGD([w], lr=0.5)
    optimizer.load_state_dict(saved)
    expected = optimizer.param_groups[0]["lr"]
    try:
        ok = math.isclose(float(answer), expected)
    except (TypeError, ValueError):
        return _report(False, f"give a number, got {answer!r}")
    if ok:
        return _report(True, "load_state_dict brings back the saved hyperparameters; set a new lr after loading.")
    return _report(False, f"you said {answer}, the next step uses {expected:g}", "the optimizer's state_dict holds its param_groups, lr included")

