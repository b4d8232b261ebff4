"""Checkers for notebook 07 (learning-rate schedules, per parameter group)."""

from __future__ import annotations

import decimal
import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
from torch.optim import lr_scheduler

from ..data import TinyMLP
from ._core import NOT_DONE_VALUE, Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, unanswered, wrong

__all__ = ["check_step_lr", "check_warmup_cosine"]


# --- exercise 1: warm-up then cosine, for two groups --------------------------------------
#
# Steps are counted from 1, as LRRecorder counts them: step n uses the lr that the groups hold
# before the n-th optimizer.step().

BASE_LRS = {"body": 0.01, "head": 0.1}
WARMUP, TOTAL = 5, 30
_REL = 1e-6

WARMUP_COSINE_ANSWER = (
    "optimizer = torch.optim.SGD([{'params': model.body.parameters(), 'lr': 0.01}, "
    "{'params': model.head.parameters(), 'lr': 0.1}], momentum=0.9); "
    "scheduler = SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.2, total_iters=4), "
    "CosineAnnealingLR(optimizer, T_max=25)], milestones=[5]); return optimizer, scheduler"
)


def _run_lrs(optimizer: torch.optim.Optimizer, scheduler: Any, steps: int = TOTAL) -> list[list[float]]:
    """Each group's lr at steps 1..steps (read before each optimizer.step(), then both step)."""
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the learner's order of calls is not what is checked here
        for _ in range(steps):
            out.append([float(group["lr"]) for group in optimizer.param_groups])
            optimizer.step()
            scheduler.step()
    return out


def _two_groups(lrs: tuple[float, float] = (BASE_LRS["body"], BASE_LRS["head"])) -> torch.optim.Optimizer:
    return torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs], momentum=0.9)


def _sequential(start: float = 1 / WARMUP, total_iters: int = WARMUP - 1, milestone: int = WARMUP, t_max: int = TOTAL - WARMUP, lrs=None):
    def make(opt):
        warm = lr_scheduler.LinearLR(opt, start_factor=start, total_iters=total_iters)
        return lr_scheduler.SequentialLR(opt, [warm, lr_scheduler.CosineAnnealingLR(opt, T_max=t_max)], milestones=[milestone])

    return make


def _reference(make: Callable[[torch.optim.Optimizer], Any], lrs: tuple[float, float] | None = None) -> list[list[float]]:
    opt = _two_groups(lrs or (BASE_LRS["body"], BASE_LRS["head"]))
    return _run_lrs(opt, make(opt))


def _expected_lrs() -> list[list[float]]:
    return _reference(_sequential())


# Plausible mistakes: (what it is, how to build it on a two-group optimizer, message, hint).
def _mistakes() -> list[tuple[list[list[float]], str, str]]:
    swap = (BASE_LRS["head"], BASE_LRS["body"])
    return [
        (
            _reference(lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL)),
            "there is no warm-up: step 1 already uses the full base lr",
            "start each group at a fifth of its base lr and rise linearly over the first 5 steps (LinearLR), then hand over to the cosine",
        ),
        (
            _reference(_sequential(total_iters=WARMUP)),
            "the warm-up is one step too long: the lr is still below the base lr at step 5, then jumps at step 6",
            "LinearLR reaches end_factor after total_iters scheduler steps: how many scheduler steps come before step 5?",
        ),
        (
            _reference(_sequential(t_max=TOTAL)),
            "the cosine decays too slowly: it spans more steps than the 25 left after the warm-up",
            "after the milestone the cosine starts from 0, so T_max counts only the steps after the warm-up",
        ),
        (
            _reference(_sequential(milestone=WARMUP - 1)),
            "the cosine takes over one step early, before the warm-up reached the base lr",
            "the milestone counts scheduler steps: after how many of them must the cosine take over, if step 6 is its first?",
        ),
        (
            _reference(_sequential(milestone=WARMUP + 1)),
            "the cosine starts one step late, at step 7: the base lr is held for three steps (5, 6 and 7) instead of two",
            "the milestone counts scheduler steps: after how many of them must the cosine take over, if step 6 is its first?",
        ),
        (
            _reference(
                lambda opt: lr_scheduler.ChainedScheduler(
                    [lr_scheduler.LinearLR(opt, start_factor=1 / WARMUP, total_iters=WARMUP - 1), lr_scheduler.CosineAnnealingLR(opt, T_max=TOTAL)]
                )
            ),
            "during the warm-up the lr already decays: the warm-up and the cosine multiply",
            "ChainedScheduler (or two schedulers on one optimizer) multiplies their factors at every step; SequentialLR runs one, then the other, at the milestone",
        ),
        (
            _reference(lambda opt: lr_scheduler.LambdaLR(opt, lambda t: t / WARMUP if t < WARMUP else 0.5 * (1 + math.cos(math.pi * (t - WARMUP) / (TOTAL - WARMUP))))),
            "step 1 uses an lr of 0, so the first step does nothing",
            "the warm-up starts at a fifth of the base lr (step n of the warm-up uses n/5 of it), not at 0",
        ),
        (
            _reference(_sequential(), lrs=swap),
            "the two groups have each other's base lr",
            "the body (the backbone) gets the smaller lr, 0.01, and the head 0.1",
        ),
    ]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=_REL, abs_tol=1e-12)


def _shared_floor(got: list[list[float]]) -> float | None:
    """The floor ``eta`` when every step from 7 on is ``eta + (base - eta) * c`` for both groups with
    one ``eta`` > 0 and one factor ``c`` per step (a CosineAnnealingLR ``eta_min``, which both groups
    share); else None. Solving ``(b - eta) / (B - eta) = (h - eta) / (H - eta)`` for ``eta`` per step."""
    body_base, head_base = BASE_LRS["body"], BASE_LRS["head"]
    etas = []
    for body, head in got[WARMUP + 1 :]:
        denominator = body - head + head_base - body_base
        if abs(denominator) < 1e-12:
            return None
        etas.append((head_base * body - body_base * head) / denominator)
    if etas and etas[0] > 1e-9 and all(math.isclose(e, etas[0], rel_tol=1e-4) for e in etas):
        return etas[0]
    return None


def _same_run(got: list[list[float]], ref: list[list[float]]) -> bool:
    return all(_close(x, y) for row, ref_row in zip(got, ref) for x, y in zip(row, ref_row))


def _uses_helper(fn: Any, seen: set[int] | None = None) -> bool:
    """Whether ``fn`` (a learner's function, or a scheduler's lr lambda) is, calls or holds the
    helpers' warm-up-then-cosine factor: a global name (or ``module.name``) in its code or in its
    nested functions that resolves to it, or such an object among the variables it closes over.
    A learner's own function that happens to be called ``warmup_cosine`` is not the helper."""
    import types

    from .. import schedules

    helper = (schedules.warmup_cosine, schedules.WarmupCosine, schedules.build_schedule)
    seen = set() if seen is None else seen
    if id(fn) in seen:
        return False
    seen.add(id(fn))
    if isinstance(fn, schedules.WarmupCosine):
        return True
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    codes, names = [code], set()
    while codes:
        current = codes.pop()
        names |= set(current.co_names)
        codes += [c for c in current.co_consts if hasattr(c, "co_names")]
    scope = getattr(fn, "__globals__", {})
    held = [scope[n] for n in names if n in scope] + [c.cell_contents for c in (getattr(fn, "__closure__", None) or ()) if _filled(c)]
    for value in held:
        if any(value is h for h in helper) or isinstance(value, schedules.WarmupCosine):
            return True
        if isinstance(value, types.ModuleType) and any(getattr(value, n, None) is h for n in names for h in helper):
            return True
        if isinstance(value, types.FunctionType) and _uses_helper(value, seen):
            return True
    return False


def _filled(cell: Any) -> bool:
    try:
        cell.cell_contents
    except ValueError:  # an empty cell
        return False
    return True


def _lr_lambdas(scheduler: Any) -> list[Any]:
    """Every lr function of the LambdaLR/MultiplicativeLR schedulers in ``scheduler`` (nested ones too)."""
    inner = getattr(scheduler, "_schedulers", None)
    if inner:
        return [f for child in inner for f in _lr_lambdas(child)]
    return list(getattr(scheduler, "lr_lambdas", []))


def _group_index(optimizer: torch.optim.Optimizer, params: list[torch.Tensor]) -> set[int]:
    ids = {id(p) for p in params}
    return {g for g, group in enumerate(optimizer.param_groups) if ids & {id(p) for p in group["params"]}}


@checker
def check_warmup_cosine(build: Callable[..., Any]) -> Verdict:
    """Check ``build(model) -> (optimizer, scheduler)``: two groups (``model.body`` at lr 0.01,
    ``model.head`` at 0.1), a linear warm-up over steps 1-5 from a fifth of each base lr to the
    base lr, then a cosine from the base lr at step 6 down to 0 at step 31 (30 steps in all).

    The checker runs 30 steps and compares every step's lr of both groups with the reference;
    it names the first step that differs, and the mistake when it recognises one. Any scheduler
    that gives the exact lrs passes, except the helpers' ``warmup_cosine`` (or ``build_schedule``),
    which does the counting the exercise is about.
    Example: ``check_warmup_cosine(build)``; ``reveal=True`` shows the expected code.
    """
    if (verdict := not_a_function(build)) is not None:
        return verdict
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = TinyMLP(4, hidden=8, out_features=3, depth=2)
    ok, result = call_student(build, (model,), ("model",))
    if not ok:
        return result if result.kind != "not_done" else not_done(expected=WARMUP_COSINE_ANSWER)
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return wrong(
            f"build(model) must return two things, (optimizer, scheduler); it returned {describe(result)}",
            "end with: return optimizer, scheduler",
            WARMUP_COSINE_ANSWER,
        )
    optimizer, scheduler = result
    if isinstance(optimizer, lr_scheduler.LRScheduler) and isinstance(scheduler, torch.optim.Optimizer):
        return wrong("the two come back in the order (scheduler, optimizer)", "return optimizer, scheduler", WARMUP_COSINE_ANSWER)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return wrong(f"the first thing returned should be the optimizer, got {describe(optimizer)}", "return optimizer, scheduler", WARMUP_COSINE_ANSWER)
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        return wrong(
            "ReduceLROnPlateau follows a measured loss; this schedule is fixed in advance",
            "build the warm-up and the cosine from LinearLR, CosineAnnealingLR and SequentialLR",
            WARMUP_COSINE_ANSWER,
        )
    if not isinstance(scheduler, lr_scheduler.LRScheduler):
        return wrong(f"the second thing returned should be a learning-rate scheduler, got {describe(scheduler)}", "return optimizer, scheduler", WARMUP_COSINE_ANSWER)
    if getattr(scheduler, "optimizer", None) is not optimizer:
        return wrong(
            "the scheduler drives another optimizer than the one returned",
            "build every scheduler (the inner ones of SequentialLR too) on the optimizer you return",
            WARMUP_COSINE_ANSWER,
        )
    held = {id(p) for group in optimizer.param_groups for p in group["params"]}
    if not {id(p) for p in model.parameters()} <= held:
        return wrong(
            "the optimizer does not hold every parameter of the model",
            "give it model.body.parameters() in one group and model.head.parameters() in another",
            WARMUP_COSINE_ANSWER,
        )
    body, head = _group_index(optimizer, list(model.body.parameters())), _group_index(optimizer, list(model.head.parameters()))
    if body & head:
        return wrong(
            "the body and the head share a parameter group, so they cannot have different lrs",
            "two groups: [{'params': model.body.parameters(), 'lr': ...}, {'params': model.head.parameters(), 'lr': ...}]",
            WARMUP_COSINE_ANSWER,
        )
    if len(body) != 1 or len(head) != 1:
        return wrong(
            "the body's (or the head's) parameters are spread over several groups",
            "one group for model.body.parameters(), one for model.head.parameters()",
            WARMUP_COSINE_ANSWER,
        )
    if _uses_helper(build) or any(_uses_helper(f) for f in _lr_lambdas(scheduler)):
        return wrong(
            "your schedule comes from the helpers' warmup_cosine, which is off limits here: it does the counting "
            "this exercise is about",
            "build it from LinearLR, CosineAnnealingLR and SequentialLR (or write the factor yourself)",
            WARMUP_COSINE_ANSWER,
        )
    b, h = body.pop(), head.pop()
    try:
        got_all = _run_lrs(optimizer, scheduler)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return wrong(
            f"stepping your optimizer and scheduler 30 times failed ({type(exc).__name__}: {first})",
            "the run has 30 steps: optimizer.step() then scheduler.step() each time",
            WARMUP_COSINE_ANSWER,
        )
    got = [[row[b], row[h]] for row in got_all]
    expected = _expected_lrs()
    if _same_run(got, expected):
        return right("every one of the 30 steps uses the right lr in both groups.")
    first = next(
        (n, name, row[k])
        for n, (row, ref) in enumerate(zip(got, expected), start=1)
        for k, name in enumerate(("body", "head"))
        if not _close(row[k], ref[k])
    )
    differ = sum(any(not _close(x, y) for x, y in zip(row, ref)) for row, ref in zip(got, expected))
    where = f"step {first[0]}, {first[1]} group: your schedule gives {first[2]:.4g} (the first of {differ} steps that differ)"
    for ref, message, hint in _mistakes():
        if _same_run(got, ref):
            return wrong(f"{where}. {message[0].upper()}{message[1:]}.", hint, WARMUP_COSINE_ANSWER)
    if _shared_floor(got) is not None:
        return wrong(
            f"{where}. The cosine stops at a floor shared by both groups ({_shared_floor(got):.3g}), so it never reaches 0 "
            "and the head's lr is no longer 10 times the body's",
            "the cosine goes all the way down to 0: look at CosineAnnealingLR's eta_min",
            WARMUP_COSINE_ANSWER,
        )
    if all(_close(row[0], row[1]) for row in got):
        return wrong(
            f"{where}. The body and the head use the same lr",
            "give each group its own 'lr' (0.01 and 0.1); one scheduler then keeps their ratio",
            WARMUP_COSINE_ANSWER,
        )
    if not all(_close(row[1], 10 * row[0]) for row in got):
        return wrong(
            f"{where}. The head's lr is not 10 times the body's at every step",
            "the same warm-up and cosine for both groups, each from its own base lr (0.01 and 0.1)",
            WARMUP_COSINE_ANSWER,
        )
    hint = (
        "during the warm-up, step n uses n/5 of the base lr (steps 1 to 5)"
        if first[0] <= WARMUP
        else "from step 6 the cosine starts at the base lr and decays over the 25 remaining steps, reaching 0 after step 30"
    )
    return wrong(where + ".", hint, WARMUP_COSINE_ANSWER)


# --- exercise 2: predict the lr of a StepLR ----------------------------------------------

STEP_RUN = {"lr_body": 0.02, "lr_head": 0.2, "step_size": 4, "gamma": 0.5, "step": 12}


def _step_lr_at(step: int, base: float) -> float:
    """The lr the head group uses at ``step`` (from 1) of the exercise's StepLR run, by running it."""
    run = STEP_RUN
    opt = _two_groups((run["lr_body"], base))
    scheduler = lr_scheduler.StepLR(opt, step_size=run["step_size"], gamma=run["gamma"])
    return _run_lrs(opt, scheduler, steps=step)[-1][1]


@checker
def check_step_lr(answer: Any) -> Verdict:
    """Check: SGD with two groups (body lr 0.02, head lr 0.2) and ``StepLR(step_size=4, gamma=0.5)``;
    each step calls ``optimizer.step()`` then ``scheduler.step()``. Which lr does the head group use
    at step 12 (steps counted from 1: step 1 uses 0.2)?

    Any spelling of the number is accepted (``np.float64``, a 0-d tensor, ``Decimal``).
    Example: ``check_step_lr(0.123)``; ``reveal=True`` shows the answer.
    """
    run = STEP_RUN
    expected = _step_lr_at(run["step"], run["lr_head"])
    calls = run["step"] - 1
    halvings = calls // run["step_size"]
    reveal = (
        f"{expected:g}: before step {run['step']} the scheduler has stepped {calls} times, and StepLR halves at "
        f"its counts 4 and 8, so the head's 0.2 is halved {halvings} times"
    )
    if unanswered(answer):
        return not_done(NOT_DONE_VALUE, expected=reveal)
    if isinstance(answer, (str, bytes)):
        return wrong(f"you gave the text {answer!r}", "give a number, without quotes", expected=reveal)
    got = (float(answer) if answer.is_finite() else None) if isinstance(answer, decimal.Decimal) else as_number(answer)
    if got is None or not math.isfinite(got):
        return wrong(f"give one number, got {describe(answer)}", "write the learning rate as a number, e.g. 0.123", expected=reveal)
    if math.isclose(got, expected, rel_tol=1e-3):
        return right(f"{halvings} halvings: the scheduler has stepped {calls} times before step {run['step']}.")
    head, gamma, size = run["lr_head"], run["gamma"], run["step_size"]
    mistakes = [
        (run["lr_body"] * gamma**halvings, "that is the body group's lr", "each group decays from its own base lr: the question asks for the head's"),
        (head, "that is the head's base lr: StepLR has changed it by step 12", "StepLR multiplies the lr by gamma every step_size scheduler steps"),
        (head * gamma ** (halvings + 1), "one halving too many", "step n uses the lr set by the scheduler.step() calls before it: how many are there before step 12?"),
        (head * gamma, "StepLR halves every step_size steps, not only once", "count every multiple of step_size that the scheduler's count reaches"),
        (head * gamma**calls, "that halves at every step", "StepLR multiplies by gamma only when its count reaches a multiple of step_size"),
        (head * gamma ** (calls / size), "the halvings come whole, not in fractions", "count them with integer division: how many multiples of 4 are there up to the count?"),
        (gamma**halvings, "that is the factor alone", "multiply the factor by the head's base lr"),
    ]
    for value, message, hint in mistakes:
        if math.isclose(got, value, rel_tol=1e-3, abs_tol=1e-15):
            return wrong(f"you said {got:g}: {message}", hint, expected=reveal)
    for k in range(0, 3 * run["step"]):
        if math.isclose(got, run["lr_body"] * gamma**k, rel_tol=1e-3):
            return wrong(f"you said {got:g}: that is a value of the body group's lr", mistakes[0][2], expected=reveal)
        if math.isclose(got, head * gamma**k, rel_tol=1e-3):
            return wrong(
                f"you said {got:g}: the head's lr halved {k} times, which is not the count of halvings before step {run['step']}",
                "step n uses the lr set by the n - 1 scheduler.step() calls before it, and StepLR halves when its count reaches a multiple of step_size",
                expected=reveal,
            )
    return wrong(
        f"you said {got:g}, which no count of halvings of either group's lr gives",
        "start from the head's base lr and halve it once for every multiple of 4 that the scheduler's count reaches before step 12",
        expected=reveal,
    )
