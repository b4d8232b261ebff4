"""Checkers for notebook 05 (checkpoints and resuming training exactly)."""

from __future__ import annotations

import copy
import decimal
import math
import random
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._core import NOT_DONE_VALUE, Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, unanswered, wrong

__all__ = ["check_lr_after_load", "check_resume", "resume_setup"]

RESUME_STEPS = (6, 6)  # steps before the checkpoint, steps after it
SAVED_ENTRIES = ("model", "optimizer", "scheduler", "step", "rng")  # what the checker's torch.save writes


def resume_setup() -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """Fresh model, optimizer and scheduler for the resume exercise (as a new process would build them).

    Returns ``(model, optimizer, scheduler)``: a small MLP with dropout, ``Adam(lr=0.01)`` and
    ``StepLR(step_size=5, gamma=0.5)``. Example: ``model, optimizer, scheduler = resume_setup()``.
    """
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    return model, optimizer, scheduler


def _resume_train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> None:
    model.train()
    for _ in range(steps):
        x = torch.randn(8, 4)  # the data come from the RNG too, like a shuffled loader
        loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def _is_scheduler(obj: Any) -> bool:
    return isinstance(obj, (torch.optim.lr_scheduler.LRScheduler, torch.optim.lr_scheduler.ReduceLROnPlateau))


def _kind(obj: Any) -> str:
    """What a returned object is, in the exercise's words."""
    if isinstance(obj, torch.nn.Module):
        return "model"
    if isinstance(obj, torch.optim.Optimizer):
        return "optimizer"
    if _is_scheduler(obj):
        return "scheduler"
    return "other"


def _check_objects(objects: Any, saved_step: int) -> Verdict | None:
    """A wrong verdict when ``resume`` did not return (model, optimizer, scheduler, step) bound together."""
    hint = "end with: return model, optimizer, scheduler, step (the step read from the file)"
    if not isinstance(objects, (tuple, list)):
        return wrong(f"resume(path) must return four things (model, optimizer, scheduler, step); it returned {describe(objects)}", hint)
    if len(objects) != 4:
        return wrong(f"resume(path) must return four things (model, optimizer, scheduler, step); it returned {len(objects)} objects", hint)
    *objects, step = objects
    number = as_number(step)
    if number is None or not float(number).is_integer():
        return wrong(
            f"the fourth thing you returned should be the step counter (a whole number), but it is {describe(step)}",
            "return the file's 'step' entry as the fourth value",
        )
    if int(number) != saved_step:
        return wrong(
            "the step you returned is not the one the file holds",
            "read the step from the file's 'step' entry, do not count it yourself",
        )
    kinds = [_kind(o) for o in objects]
    if sorted(kinds) == ["model", "optimizer", "scheduler"] and kinds != ["model", "optimizer", "scheduler"]:
        return wrong(
            f"the objects come back in the order ({', '.join(kinds)})",
            "return them in the order the checker unpacks them: model, optimizer, scheduler",
        )
    names = ("model", "optimizer", "scheduler")
    wanted = {"model": "a torch.nn.Module", "optimizer": "a torch.optim optimizer", "scheduler": "a learning-rate scheduler"}
    for position, (name, obj, kind) in enumerate(zip(names, objects, kinds)):
        if kind == name:
            continue
        if obj is None:
            return wrong(
                f"the {name} you returned is None",
                f"return the {name} object itself (build it with resume_setup(), restore it, return it)",
            )
        if isinstance(obj, dict):
            return wrong(
                f"the {name} you returned is a dict (a state_dict?), not {wanted[name]}",
                f"return the {name} object after loading its state into it; a state_dict is only what it holds",
            )
        return wrong(
            f"object {position + 1} should be the {name}, but it is {describe(obj)}",
            f"return model, optimizer, scheduler: {wanted[name]} in place {position + 1}",
        )
    model, optimizer, scheduler = objects
    with torch.random.fork_rng(devices=[]):  # building the reference must not move the learner's RNG
        reference = resume_setup()
    for name, obj, ref in zip(names, objects, reference):
        if name != "model" and type(obj) is not type(ref):
            return wrong(
                f"the {name} is {type(obj).__name__}, but the checkpoint holds the state of the {type(ref).__name__} "
                "that resume_setup() builds",
                f"keep the {name} resume_setup() returns and load the saved state into it",
            )
    if {k: tuple(v.shape) for k, v in model.state_dict().items()} != {k: tuple(v.shape) for k, v in reference[0].state_dict().items()}:
        return wrong(
            "the model is not the one resume_setup() builds (other layers or shapes)",
            "build the model with resume_setup() and load the saved weights into it",
        )
    own = {id(p) for p in model.parameters()}
    trained = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if trained != own:
        return wrong(
            "the optimizer you returned does not hold this model's parameters (it trains other tensors)",
            "load the weights into the model resume_setup() built and return that model; model.load_state_dict(..., "
            "assign=True) replaces the parameters the optimizer holds, so copy into them (assign=False, the default)",
        )
    if getattr(scheduler, "optimizer", None) is not optimizer:
        return wrong(
            "the scheduler you returned drives another optimizer than the one you returned",
            "keep the three objects resume_setup() builds together; do not build a new optimizer after the scheduler",
        )
    return None


def _same_tensors(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.cpu(), b.cpu())
    return a == b


def _diagnose(saved: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    """What the resume left out: (what is wrong, hint) per part, comparing the state right
    after ``resume`` with what the checkpoint holds."""
    problems = []
    model_ok = saved["model"].keys() == after["model"].keys() and all(
        _same_tensors(saved["model"][k], after["model"][k]) for k in saved["model"]
    )
    if not model_ok:
        problems.append((
            "the model's weights are not the saved ones",
            "load the file's 'model' entry into the model",
        ))
    opt_saved, opt_after = saved["optimizer"], after["optimizer"]
    if not opt_after["state"]:
        problems.append((
            "the optimizer's state is empty: Adam restarts its moments",
            "load the optimizer's state_dict too (the file's 'optimizer' entry): the moments and the lr live there",
        ))
    else:
        same_state = opt_saved["state"].keys() == opt_after["state"].keys() and all(
            opt_saved["state"][i].keys() == opt_after["state"][i].keys()
            and all(_same_tensors(v, opt_after["state"][i][k]) for k, v in opt_saved["state"][i].items())
            for i in opt_saved["state"]
        )
        if not same_state:
            problems.append((
                "the optimizer's state (Adam's moments) differs from the saved one",
                "load the optimizer's state_dict from the checkpoint and do not step it while resuming",
            ))
    hyper = [{k: v for k, v in g.items() if k != "params"} for g in opt_after["param_groups"]]
    hyper_saved = [{k: v for k, v in g.items() if k != "params"} for g in opt_saved["param_groups"]]
    if opt_after["state"] and hyper != hyper_saved:  # (with an empty state, the message above covers the lr)
        problems.append((
            "the optimizer's hyperparameters (its lr) are not the saved ones",
            "load_state_dict restores every group's lr; do not set a new lr after loading",
        ))
    sched_saved, sched_after = saved["scheduler"], after["scheduler"]
    if sched_after.get("last_epoch") != sched_saved.get("last_epoch"):
        if sched_after.get("last_epoch") == 0:
            problems.append((
                "the scheduler counts from zero again, so every later decay comes late",
                "load the scheduler's state_dict too (the file's 'scheduler' entry)",
            ))
        else:
            problems.append((
                "the scheduler's count differs from the checkpoint's",
                "load the scheduler's state_dict and do not step the scheduler while resuming",
            ))
    if not torch.equal(after["rng"], saved["rng"]):
        problems.append((
            "the random number generator is not where the checkpoint left it (not restored, or used or re-seeded afterwards), "
            "so dropout masks and data differ from the uninterrupted run",
            "the file's 'rng' entry is the torch RNG state when it was saved: put it back, after anything that "
            "draws random numbers (building the objects does); seeding again is not restoring",
        ))
    return problems


def _snapshot(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict[str, Any]:
    return {
        "model": copy.deepcopy(model.state_dict()),
        "optimizer": copy.deepcopy(optimizer.state_dict()),
        "scheduler": copy.deepcopy(scheduler.state_dict()),
        "rng": torch.get_rng_state(),
    }


def _same_run(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    weights = all(_same_tensors(p, q) for p, q in zip(a[0].parameters(), b[0].parameters()))
    sa, sb = a[1].state_dict(), b[1].state_dict()
    state = sa["state"].keys() == sb["state"].keys() and all(
        sa["state"][i].keys() == sb["state"][i].keys() and all(_same_tensors(v, sb["state"][i][k]) for k, v in sa["state"][i].items())
        for i in sa["state"]
    )
    lrs = [g["lr"] for g in a[1].param_groups] == [g["lr"] for g in b[1].param_groups]
    return weights and state and lrs


_EXPECTED_RESUME = (
    "data = torch.load(path, weights_only=True); model.load_state_dict(data['model']); "
    "optimizer.load_state_dict(data['optimizer']); scheduler.load_state_dict(data['scheduler']); "
    "torch.set_rng_state(data['rng']); return model, optimizer, scheduler, data['step']"
)
RESUME_ANSWER = _EXPECTED_RESUME + " (all four parts restored; then the two runs agree bit for bit)"


@checker
def check_resume(resume: Callable[..., Any]) -> Verdict:
    """Check ``resume(path) -> (model, optimizer, scheduler, step)``: build fresh objects with
    ``resume_setup()`` and restore a file written with plain ``torch.save`` of a dict with the
    entries ``SAVED_ENTRIES`` (``"rng"`` is ``torch.get_rng_state()``), so that training continues exactly.

    The checker trains 12 steps straight, and 6 steps + ``torch.save`` + ``resume`` + 6 steps, and
    compares every weight, Adam moment and learning rate bit for bit. When they differ it says which
    part the resume left out (model, optimizer state, scheduler, RNG).
    Example: ``check_resume(resume)``; ``reveal=True`` shows the expected code with any verdict but a right one.
    """
    verdict = _resume_verdict(resume)
    if verdict.kind == "right" or verdict.expected:
        return verdict
    return replace(verdict, expected=RESUME_ANSWER)


def _resume_verdict(resume: Callable[..., Any]) -> Verdict:
    if (verdict := not_a_function(resume)) is not None:
        return verdict
    before, after_steps = RESUME_STEPS
    expected = RESUME_ANSWER
    rngs = (torch.get_rng_state(), random.getstate(), np.random.get_state())
    try:
        torch.manual_seed(0)
        straight = resume_setup()
        _resume_train(*straight, sum(RESUME_STEPS))
        torch.manual_seed(0)
        first = resume_setup()
        _resume_train(*first, before)
        saved = _snapshot(*first)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "run.pt"
            torch.save(
                {"model": first[0].state_dict(), "optimizer": first[1].state_dict(), "scheduler": first[2].state_dict(),
                 "step": before, "rng": torch.get_rng_state()},
                path,
            )
            torch.manual_seed(1234)  # a new process starts with other random numbers
            ok, objects = call_student(resume, (path,), ("path",))
        if not ok:
            if objects.kind == "wrong" and "CheckpointError" in objects.message:
                return wrong(
                    objects.message,
                    "this file was written with plain torch.save, not save_checkpoint: read it with torch.load and "
                    "put each entry back yourself",
                    expected=expected,
                )
            return objects
        if (verdict := _check_objects(objects, before)) is not None:
            return verdict
        objects = tuple(objects)[:3]
        try:
            after = _snapshot(*objects)
        except Exception as exc:  # e.g. a scheduler whose state_dict cannot be copied
            return wrong(f"the objects you returned cannot be inspected ({type(exc).__name__}: {exc})", "return the objects resume_setup() built")
        try:
            _resume_train(*objects, after_steps)
        except Exception as exc:
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            return wrong(
                f"training the objects you returned failed ({type(exc).__name__}: {first_line})",
                "return the model, optimizer and scheduler built by resume_setup(), restored from the file",
            )
    finally:
        torch.set_rng_state(rngs[0])
        random.setstate(rngs[1])
        np.random.set_state(rngs[2])
    if _same_run(straight, objects):
        return right(f"{before} + {after_steps} steps with your resume equal {sum(RESUME_STEPS)} steps straight, bit for bit.")
    problems = _diagnose(saved, after)
    if not problems:
        return wrong(
            "right after your resume everything matched the file, but the next steps differ from the uninterrupted run",
            "resume should only restore: do not train, step or re-seed anything inside it",
            expected=expected,
        )
    message = (
        f"training after your resume differs from {sum(RESUME_STEPS)} steps straight. Right after resume(path): "
        + "; ".join(what for what, _ in problems)
    )
    hint = "; ".join(dict.fromkeys(h for _, h in problems))
    return wrong(message, hint, expected=expected)


# Exercise 2: the saved run, and what the learner rebuilds.
LR_SAVED_RUN = {"lr": 0.1, "step_size": 3, "gamma": 0.5, "steps": 7}
LR_NEW_LR, LR_STEPS_AFTER = 0.5, 2


def _lr_after_load(load_optimizer: bool = True, load_scheduler: bool = True, steps_after: int = LR_STEPS_AFTER) -> float:
    """The lr the next step uses after: the saved run (SGD + StepLR, LR_SAVED_RUN) is saved; a new SGD(lr=0.5)
    + StepLR is built, the chosen state_dicts loaded, then ``steps_after`` training steps."""
    run = LR_SAVED_RUN
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=run["lr"])
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=run["step_size"], gamma=run["gamma"])
    for _ in range(run["steps"]):
        optimizer.step()
        scheduler.step()
    saved_optimizer, saved_scheduler = optimizer.state_dict(), scheduler.state_dict()
    w = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=LR_NEW_LR)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=run["step_size"], gamma=run["gamma"])
    if load_optimizer:
        optimizer.load_state_dict(saved_optimizer)
    if load_scheduler:
        scheduler.load_state_dict(saved_scheduler)
    for _ in range(steps_after):
        optimizer.step()
        scheduler.step()
    return optimizer.param_groups[0]["lr"]


def _answer_number(answer: Any) -> float | None:
    if isinstance(answer, decimal.Decimal):
        return float(answer) if answer.is_finite() else None
    return as_number(answer)


@checker
def check_lr_after_load(answer: Any) -> Verdict:
    """Check: a run with ``SGD(lr=0.1)`` and ``StepLR(step_size=3, gamma=0.5)`` is saved after 7 steps
    (both state_dicts). A new ``SGD(lr=0.5)`` and the same ``StepLR`` are built, both state_dicts loaded,
    then 2 training steps (``optimizer.step(); scheduler.step()``). Which lr does the next step use?

    Any spelling of the number is accepted (``np.float16``, a 0-d tensor of any float dtype, ``Decimal``).
    Example: ``check_lr_after_load(my_answer)``; ``reveal=True`` shows the answer.
    """
    expected = _lr_after_load()
    reveal = (
        f"{expected:g}: loading restores the lr 0.025 and the scheduler's count 7; its 2 steps bring the count "
        "to 9, a multiple of step_size 3, so the lr halves once more"
    )
    if unanswered(answer):
        return not_done(NOT_DONE_VALUE, expected=reveal)
    if isinstance(answer, (str, bytes, np.str_)):
        return wrong(f"you gave the text {answer!r}", "give a number, without quotes", expected=reveal)
    got = _answer_number(answer)
    if got is None or not math.isfinite(got):
        return wrong(f"give one number, got {describe(answer)}", "write the learning rate as a number, e.g. 0.123", expected=reveal)
    if math.isclose(got, expected, rel_tol=4e-3):  # float16 and bfloat16 spellings round by up to 0.4%
        return right("the loaded lr and count carry on: the 2 steps reach the count 9, where StepLR halves again.")
    run = LR_SAVED_RUN
    mistakes = [
        (LR_NEW_LR, "that is the lr passed to the new constructor, which load_state_dict overwrites",
         "the optimizer's state_dict holds its param_groups: loading brings back the lr of the saved run"),
        (run["lr"], "that is the saved run's starting lr: it had already been halved before saving",
         "count the halvings: StepLR halves whenever its count reaches a multiple of step_size"),
        (_lr_after_load(steps_after=0), "that is the lr right after loading (the scheduler's count is loaded too, so "
         "it does not start from zero): the 2 steps after it change it",
         "follow the scheduler's count through the 2 steps after loading: does it reach a multiple of step_size?"),
        (_lr_after_load(load_optimizer=False), "that would be the new constructor's lr, halved by the loaded schedule: "
         "but the optimizer's state_dict is loaded too",
         "the lr comes from the optimizer's param_groups, and loading the optimizer restores the saved one"),
        *(
            (LR_NEW_LR * run["gamma"] ** k, f"that is the new constructor's lr {LR_NEW_LR:g} halved {k} times: but "
             "load_state_dict overwrites the constructor's lr with the saved one",
             "the optimizer's state_dict holds its param_groups: after loading, the lr is the saved run's, not 0.5")
            for k in range(2, 6)
        ),
        (expected / 2, "one halving too many", "the scheduler's count is 7 when loaded: which multiples of step_size lie "
         "within the 2 steps after it?"),
        (run["lr"] * run["gamma"], "the saved run had halved its lr more than once before it was saved",
         "count the halvings: StepLR halves whenever its count reaches a multiple of step_size"),
        (0.0, "loading does not reset the learning rate to zero", "the state_dict carries the lr the optimizer had when saved"),
    ]
    for value, message, hint in mistakes:
        if math.isclose(got, value, rel_tol=4e-3, abs_tol=1e-12):
            return wrong(f"you said {got:g}: {message}", hint, expected=reveal)
    return wrong(
        f"you said {got:g}, which no count of halvings from these learning rates gives",
        "start from the lr the saved run had when saved, then follow the scheduler's count through the 2 steps",
        expected=reveal,
    )
