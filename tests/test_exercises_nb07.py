"""Notebook 07's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import math
from decimal import Decimal

import numpy as np
import pytest
import torch
from torch.optim import lr_scheduler as S

from helpers import build_schedule, warmup_cosine
from helpers.exercises import REVEAL_AFTER, check_step_lr, check_warmup_cosine, reset_tries


@pytest.fixture(autouse=True)
def _fresh_tries():
    reset_tries()
    yield
    reset_tries()


# --- check_warmup_cosine: build(model) -> (optimizer, scheduler) -----------------------------


def _groups(model, body=0.01, head=0.1):
    return [{"params": model.body.parameters(), "lr": body}, {"params": model.head.parameters(), "lr": head}]


def _sequential(opt, start=0.2, total_iters=4, t_max=25, milestone=5, eta_min=0.0):
    warm = S.LinearLR(opt, start_factor=start, total_iters=total_iters)
    return S.SequentialLR(opt, [warm, S.CosineAnnealingLR(opt, T_max=t_max, eta_min=eta_min)], milestones=[milestone])


def right(model):
    opt = torch.optim.SGD(_groups(model), momentum=0.9)
    return opt, _sequential(opt)


def right_tensor_lrs_and_a_list(model):  # lrs as 0-d tensors, the body's from the defaults, another optimizer, a list
    opt = torch.optim.AdamW([{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": torch.tensor(0.1)}], lr=torch.tensor(0.01))
    return [opt, _sequential(opt)]


def right_warm_restarts(model):  # restarts only at step 31, after the 30 steps: the same schedule
    opt = torch.optim.SGD(_groups(model, np.float64(0.01), np.float64(0.1)))
    warm = S.LinearLR(opt, start_factor=0.2, total_iters=4)
    return opt, S.SequentialLR(opt, [warm, S.CosineAnnealingWarmRestarts(opt, T_0=25)], milestones=(5,))


def warmup_cosine_mine(t):  # a learner's own factor that happens to share the helper's name
    return (t + 1) / 5 if t < 5 else (1 + math.cos(math.pi * (t - 5) / 25)) / 2


def right_own_function_named_like_the_helper(model):
    opt = torch.optim.SGD(_groups(model))
    return opt, S.LambdaLR(opt, [warmup_cosine_mine, warmup_cosine_mine])


def right_by_hand(model):  # one function per group, written out
    opt = torch.optim.Adam(_groups(model))

    def factor(t):
        return (t + 1) / 5 if t < 5 else (1 + math.cos(math.pi * (t - 5) / 25)) / 2

    return opt, S.LambdaLR(opt, [factor, factor])


def head_first(model):  # the groups in the other order: the checker finds each by its parameters
    opt = torch.optim.SGD(list(reversed(_groups(model))))
    return opt, _sequential(opt)


WRONG = {
    # name: (build, words the message or hint must contain)
    "no warm-up": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, S.CosineAnnealingLR(o, T_max=30)), "no warm-up"),
    "the docs' warm-up: total_iters = 5": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, total_iters=5)), "one step too long"),
    "cosine over all 30 steps": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, t_max=30)), "decays too slowly"),
    "milestone 4": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, milestone=4)), "one step early"),
    "milestone 6": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, milestone=6)), "held for three steps (5, 6 and 7)"),
    "chained, not sequential": (
        lambda m: (o := torch.optim.SGD(_groups(m)))
        and (o, S.ChainedScheduler([S.LinearLR(o, start_factor=0.2, total_iters=4), S.CosineAnnealingLR(o, T_max=30)])),
        "multiply",
    ),
    "warm-up from 0": (
        lambda m: (o := torch.optim.SGD(_groups(m)))
        and (o, S.LambdaLR(o, lambda t: t / 5 if t < 5 else (1 + math.cos(math.pi * (t - 5) / 25)) / 2)),
        "lr of 0",
    ),
    "groups swapped": (lambda m: (o := torch.optim.SGD(_groups(m, 0.1, 0.01))) and (o, _sequential(o)), "each other's base lr"),
    "one group": (lambda m: (o := torch.optim.SGD(m.parameters(), lr=0.1)) and (o, _sequential(o)), "share a parameter group"),
    "same lr in both groups": (lambda m: (o := torch.optim.SGD(_groups(m, 0.1, 0.1))) and (o, _sequential(o)), "the same lr"),
    "head ten times too high": (lambda m: (o := torch.optim.SGD(_groups(m, 0.01, 1.0))) and (o, _sequential(o)), "not 10 times"),
    "a floor (eta_min)": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, eta_min=1e-4)), "floor shared by both groups (0.0001)"),
    "cosine one step short (T_max=24)": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, t_max=24)), "reaching 0 after step 30"),
    "stepped once inside build": (lambda m: (r := right(m)) and (r[0].step(), r[1].step()) and r, "step 1, body group: your schedule gives 0.004"),
    "the helpers' warmup_cosine": (lambda m: (o := torch.optim.AdamW(_groups(m))) and [o, S.LambdaLR(o, warmup_cosine(5, 30))], "off limits"),
    "the helper inside a lambda": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, S.LambdaLR(o, lambda t: warmup_cosine(5, 30)(t))), "off limits"),
    "the helpers' build_schedule": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, build_schedule("warmup_cosine", o, 30, 5)), "off limits"),
    "warm-up from a tenth": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(o, start=0.1)), "n/5 of the base lr"),
    "ReduceLROnPlateau": (lambda m: (o := torch.optim.SGD(_groups(m))) and (o, S.ReduceLROnPlateau(o)), "measured loss"),
    "scheduler on another optimizer": (
        lambda m: (o := torch.optim.SGD(_groups(m))) and (o, _sequential(torch.optim.SGD(_groups(m)))),
        "another optimizer",
    ),
    "only the scheduler": (lambda m: right(m)[1], "two things"),
    "order swapped": (lambda m: tuple(reversed(right(m))), "(scheduler, optimizer)"),
    "head left out": (lambda m: (o := torch.optim.SGD(m.body.parameters(), lr=0.01)) and (o, _sequential(o)), "every parameter"),
    "OneCycleLR sized for 20 steps": (
        lambda m: (o := torch.optim.SGD(_groups(m), momentum=0.9)) and (o, S.OneCycleLR(o, max_lr=[0.01, 0.1], total_steps=20)),
        "stepping your optimizer and scheduler 30 times failed (ValueError: Tried to step 21 times",
    ),
}


RIGHT = [right, right_tensor_lrs_and_a_list, right_warm_restarts, right_own_function_named_like_the_helper, right_by_hand, head_first]


@pytest.mark.parametrize("build", RIGHT, ids=lambda f: f.__name__)
def test_warmup_cosine_accepts_right_answers(build, capsys):
    assert check_warmup_cosine(build)
    assert capsys.readouterr().out.startswith("Correct!")


@pytest.mark.parametrize("name", list(WRONG))
def test_warmup_cosine_rejects_each_mistake_with_its_hint(name, capsys):
    build, words = WRONG[name]
    assert not check_warmup_cosine(build)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and words in out, out
    assert "The expected answer" not in out  # the first wrong try keeps the answer back
    assert "use the same lr" not in out or name == "same lr in both groups"  # both groups at 0 are not "the same lr"


def test_warmup_cosine_names_the_first_step_that_differs(capsys):
    check_warmup_cosine(WRONG["the docs' warm-up: total_iters = 5"][0])
    assert "step 2, body group: your schedule gives 0.0036 (the first of 4 steps that differ)" in capsys.readouterr().out


def test_warmup_cosine_stub_error_and_reveal(capsys):
    def stub(model):
        raise NotImplementedError

    assert not check_warmup_cosine(stub)
    assert capsys.readouterr().out.startswith("Not done yet")
    check_warmup_cosine(stub, reveal=True)
    assert "SequentialLR(optimizer, [LinearLR(optimizer, start_factor=0.2, total_iters=4)" in capsys.readouterr().out

    def broken(model):
        return model.nothing

    assert not check_warmup_cosine(broken)
    assert "your code raised AttributeError" in capsys.readouterr().out
    assert not check_warmup_cosine(3)
    assert "pass your function itself" in capsys.readouterr().out


def test_warmup_cosine_reveals_from_the_third_wrong_try(capsys):
    for _ in range(REVEAL_AFTER):
        check_warmup_cosine(WRONG["no warm-up"][0])
    assert "The expected answer" in capsys.readouterr().out.split("Not yet.")[-1]


def test_warmup_cosine_leaves_the_rng_alone():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    check_warmup_cosine(right)
    assert torch.equal(torch.get_rng_state(), state)


# --- check_step_lr: head lr at step 12 of StepLR(step_size=4, gamma=0.5), head base 0.2 ------


@pytest.mark.parametrize("answer", [0.05, 0.2 * 0.5**2, np.float64(0.05), np.float32(0.05), torch.tensor(0.05), Decimal("0.05"), 1 / 20])
def test_step_lr_accepts_spellings(answer, capsys):
    assert check_step_lr(answer)
    assert capsys.readouterr().out.startswith("Correct!")


STEP_MISTAKES = {
    0.005: "body group",  # the other group
    0.2: "base lr",  # no decay
    0.025: "one halving too many",  # counted step 12's own scheduler.step()
    0.1: "not only once",  # one halving
    0.2 * 0.5**11: "at every step",  # gamma at every step
    0.2 * 0.5 ** (11 / 4): "not in fractions",  # no integer division
    0.25: "factor alone",  # gamma ** 2 without the base
    0.0025: "body group",  # the body's lr halved three times
    0.02: "body group",  # the body's base lr
    0.0125: "halved 4 times",  # counted 4 halvings
    0.00625: "halved 5 times",  # far too many halvings
    0.07: "no count of halvings",  # anything else
}


@pytest.mark.parametrize("answer", list(STEP_MISTAKES))
def test_step_lr_rejects_each_mistake_with_its_hint(answer, capsys):
    assert not check_step_lr(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and STEP_MISTAKES[answer] in out, out
    assert "The expected answer" not in out


def test_step_lr_placeholder_text_and_reveal(capsys):
    assert not check_step_lr(...)
    assert capsys.readouterr().out.startswith("Not done yet")
    assert not check_step_lr("0.05")
    assert "give a number, without quotes" in capsys.readouterr().out
    assert not check_step_lr([0.05])
    assert "give one number" in capsys.readouterr().out
    check_step_lr(..., reveal=True)
    assert "The expected answer: 0.05" in capsys.readouterr().out
