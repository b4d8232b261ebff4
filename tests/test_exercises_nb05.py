"""Notebook 05's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import random
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
import torch

from helpers import load_checkpoint
from helpers.exercises import REVEAL_AFTER, check_lr_after_load, check_resume, resume_setup

# --- check_resume -----------------------------------------------------------------------
# The checker writes torch.save({"model", "optimizer", "scheduler", "step", "rng"}) and wants
# resume(path) -> (model, optimizer, scheduler, step).


def right(path):
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    torch.set_rng_state(data["rng"])
    return model, optimizer, scheduler, data["step"]


def right_variants(path):
    """A list, the step as a 0-d tensor, the RNG set through torch.random, the scheduler loaded first."""
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path)  # weights_only=True is the default
    scheduler.load_state_dict(data["scheduler"])
    model.load_state_dict(data["model"], strict=True)
    optimizer.load_state_dict(data["optimizer"])
    torch.random.set_rng_state(data["rng"])
    return [model, optimizer, scheduler, torch.tensor(data["step"])]


def right_numpy_step(path):
    *objects, step = right(path)
    return (*objects, np.int64(step))


def _without(path, skip):
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    if "model" not in skip:
        model.load_state_dict(data["model"])
    if "optimizer" not in skip:
        optimizer.load_state_dict(data["optimizer"])
    if "scheduler" not in skip:
        scheduler.load_state_dict(data["scheduler"])
    if "rng" not in skip:
        torch.set_rng_state(data["rng"])
    return model, optimizer, scheduler, data["step"]


def model_only(path):
    return _without(path, {"optimizer", "scheduler", "rng"})


def no_rng(path):
    return _without(path, {"rng"})


def no_scheduler(path):
    return _without(path, {"scheduler"})


def no_optimizer(path):
    return _without(path, {"optimizer"})


def no_model(path):
    return _without(path, {"model"})


def rng_before_building(path):
    data = torch.load(path, weights_only=True)
    torch.set_rng_state(data["rng"])  # too early: building the objects draws random numbers afterwards
    model, optimizer, scheduler = resume_setup()
    model.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    return model, optimizer, scheduler, data["step"]


def with_load_checkpoint(path):  # copying the notebook's line: the file is not a save_checkpoint file
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler)
    return model, optimizer, scheduler, 6


def reseeds(path):
    *objects, step = right(path)
    torch.manual_seed(0)  # "make it reproducible": seeding again is not restoring
    return (*objects, step)


def new_lr_after_load(path):
    model, optimizer, scheduler, step = right(path)
    for group in optimizer.param_groups:
        group["lr"] = 0.01
    return model, optimizer, scheduler, step


def steps_the_scheduler(path):
    model, optimizer, scheduler, step = right(path)
    scheduler.step()
    return model, optimizer, scheduler, step


def new_optimizer_after_load(path):
    model, optimizer, scheduler, step = right(path)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, scheduler, step


def assign_true(path):  # the pitfall the notebook shows: the optimizer keeps the replaced parameters
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"], assign=True)
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    torch.set_rng_state(data["rng"])
    return model, optimizer, scheduler, data["step"]


def three_objects(path):  # the old exercise's return
    return right(path)[:3]


def step_zero(path):
    return (*right(path)[:3], 0)


def step_as_text(path):
    return (*right(path)[:3], "6")


def scheduler_none(path):
    model, optimizer, _, step = right(path)
    return model, optimizer, None, step


def scheduler_state_dict(path):
    model, optimizer, scheduler, step = right(path)
    return model, optimizer, scheduler.state_dict(), step


def swapped(path):
    model, optimizer, scheduler, step = right(path)
    return optimizer, model, scheduler, step


def no_argument():
    return resume_setup()


def sgd_instead(path):
    model, _, _ = resume_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"])
    scheduler.load_state_dict(data["scheduler"])
    return model, optimizer, scheduler, data["step"]


def other_architecture(path):
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5), 6


def trains_one_step(path):
    model, optimizer, scheduler, step = right(path)
    x = torch.randn(8, 4)
    torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)).backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler, step


def stub(path):
    raise NotImplementedError


LEFT_OUT_OPTIMIZER = "the optimizer's state is empty"
LEFT_OUT_SCHEDULER = "the scheduler counts from zero"
LEFT_OUT_RNG = "random number generator is not where the checkpoint left it"

RESUME_WRONG = {
    # name: (answer, what the output must say, what it must not say)
    "model only": (model_only, [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER, LEFT_OUT_RNG, "'optimizer' entry"], []),
    "no RNG": (no_rng, [LEFT_OUT_RNG, "'rng' entry"], [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER]),
    "RNG before building": (rng_before_building, [LEFT_OUT_RNG, "building the objects"], [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER]),
    "no scheduler": (no_scheduler, [LEFT_OUT_SCHEDULER, "'scheduler' entry"], [LEFT_OUT_OPTIMIZER, LEFT_OUT_RNG]),
    "no optimizer": (no_optimizer, [LEFT_OUT_OPTIMIZER], [LEFT_OUT_SCHEDULER, LEFT_OUT_RNG]),
    "no model": (no_model, ["the model's weights are not the saved ones", "'model' entry"], [LEFT_OUT_OPTIMIZER]),
    "load_checkpoint on a torch.save file": (with_load_checkpoint, ["CheckpointError", "plain torch.save", "torch.load"], []),
    "seeds again": (reseeds, [LEFT_OUT_RNG, "seeding again is not restoring"], [LEFT_OUT_OPTIMIZER]),
    "new lr after loading": (new_lr_after_load, ["hyperparameters (its lr)", "do not set a new lr after loading"], [LEFT_OUT_RNG]),
    "steps the scheduler": (steps_the_scheduler, ["scheduler's count differs", "do not step the scheduler"], [LEFT_OUT_RNG]),
    "new optimizer after loading": (new_optimizer_after_load, ["drives another optimizer"], []),
    "assign=True": (assign_true, ["does not hold this model's parameters", "assign=True"], []),
    "three objects, no step": (three_objects, ["must return four things", "3 objects"], []),
    "step 0": (step_zero, ["the step you returned is not the one the file holds", "'step' entry"], []),
    "step as text": (step_as_text, ["should be the step counter"], []),
    "scheduler None": (scheduler_none, ["the scheduler you returned is None"], []),
    "scheduler.state_dict()": (scheduler_state_dict, ["the scheduler you returned is a dict"], []),
    "swapped objects": (swapped, ["order (optimizer, model, scheduler)"], []),
    "no parameter": (no_argument, ["the checker calls it as no_argument(path)"], []),
    "passes the result": (resume_setup(), ["pass your function itself"], []),
    "SGD instead of Adam": (sgd_instead, ["the optimizer is SGD,", "Adam"], []),
    "another architecture": (other_architecture, ["not the one resume_setup() builds"], []),
    "trains inside resume": (trains_one_step, ["the model's weights are not the saved ones", "do not step it while resuming", LEFT_OUT_RNG], []),
}
SOLUTION_CODE = ("torch.set_rng_state(", "load_state_dict(data", "data['", 'data["', "torch.load(path")


@pytest.mark.parametrize("case", sorted(RESUME_WRONG))
def test_resume_rejects_with_the_part_left_out(case, capsys):
    answer, says, not_says = RESUME_WRONG[case]
    assert not check_resume(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet."), out
    for text in says:
        assert text in out, (text, out)
    for text in not_says:
        assert text not in out, (text, out)
    assert "The expected answer" not in out and not any(code in out for code in SOLUTION_CODE), out


@pytest.mark.parametrize("answer", [right, right_variants, right_numpy_step])
def test_resume_accepts(answer, capsys):
    assert check_resume(answer)
    assert capsys.readouterr().out.startswith("Correct! 6 + 6 steps")


def test_resume_stub_is_not_done(capsys):
    assert not check_resume(stub)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "load" not in out


def test_resume_stub_reveals_the_answer_when_asked(capsys):
    assert not check_resume(stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: data = torch.load(path" in out


@pytest.mark.parametrize("case", sorted(RESUME_WRONG))
def test_resume_every_wrong_verdict_reveals_the_answer_when_asked(case, capsys):
    assert not check_resume(RESUME_WRONG[case][0], reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and "The expected answer: data = torch.load(path" in out, out


def test_resume_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(REVEAL_AFTER - 1):
        assert not check_resume(no_rng)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_resume(no_rng)
    assert "The expected answer: data = torch.load(path" in capsys.readouterr().out
    assert not check_resume(no_scheduler, reveal=True)
    assert "The expected answer" in capsys.readouterr().out


def test_resume_leaves_the_callers_random_state_alone(capsys):
    torch.manual_seed(7)
    random.seed(7)
    np.random.seed(7)
    expected = (torch.rand(1), random.random(), np.random.rand())
    torch.manual_seed(7)
    random.seed(7)
    np.random.seed(7)
    check_resume(right)
    check_resume(model_only)
    assert (torch.rand(1), random.random(), np.random.rand()) == expected


# --- check_lr_after_load ----------------------------------------------------------------
# SGD(lr=0.1) + StepLR(3, 0.5) saved after 7 steps; SGD(lr=0.5) + StepLR built, both loaded, 2 steps.

LR_WRONG = {
    "the new constructor's lr": (0.5, "overwrites"),
    "the saved run's starting lr": (0.1, "count the halvings"),
    "halved only once before saving": (0.05, "halved its lr more than once"),
    "the lr right after loading": (0.025, "the 2 steps after it change it"),
    "the constructor's lr on the loaded schedule": (0.25, "loading the optimizer restores the saved one"),
    "one halving too many": (0.00625, "one halving too many"),
    "zero": (0, "does not reset the learning rate to zero"),
    "the constructor's lr halved twice": (0.125, "0.5 halved 2 times: but load_state_dict overwrites the constructor's lr"),
    "the constructor's lr halved 3 times (count 9)": (0.0625, "0.5 halved 3 times: but load_state_dict overwrites"),
    "the constructor's lr halved 4 times": (0.03125, "0.5 halved 4 times: but load_state_dict overwrites"),
    "the constructor's lr halved 5 times": (0.015625, "0.5 halved 5 times: but load_state_dict overwrites"),
    "something else": (0.3, "no count of halvings"),
    "text": ("0.0125", "without quotes"),
    "a list": ([0.0125], "give one number"),
    "a bool": (True, "give one number"),
    "a tensor of two": (torch.tensor([0.0125, 0.5]), "give one number"),
    "nan": (float("nan"), "give one number"),
    "Decimal NaN": (Decimal("NaN"), "give one number"),
}


@pytest.mark.parametrize("case", sorted(LR_WRONG))
def test_lr_after_load_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = LR_WRONG[case]
    assert not check_lr_after_load(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "0.0125" not in out.replace("'0.0125'", "").replace("[0.0125", ""), out


@pytest.mark.parametrize("answer", [
    0.0125, 1.25e-2, 0.1 * 0.5**3, Fraction(1, 80), Decimal("0.0125"), np.float64(0.0125), np.float32(0.0125),
    np.float16(0.0125), torch.tensor(0.0125), torch.tensor([0.0125]), torch.tensor(0.0125, dtype=torch.float16),
    torch.tensor(0.0125, dtype=torch.bfloat16), np.array(0.0125),
])
def test_lr_after_load_accepts(answer, capsys):
    assert check_lr_after_load(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_lr_after_load_placeholder_and_reveal(capsys):
    assert not check_lr_after_load(...)
    assert capsys.readouterr().out.startswith("Not done yet: replace the `...` with your answer")
    for _ in range(REVEAL_AFTER - 1):
        check_lr_after_load(0.5)
    assert "The expected answer" not in capsys.readouterr().out
    check_lr_after_load(0.5)
    assert "The expected answer: 0.0125" in capsys.readouterr().out


def test_lr_after_load_placeholder_reveals_the_answer_when_asked(capsys):
    assert not check_lr_after_load(..., reveal=True)
    assert "The expected answer: 0.0125" in capsys.readouterr().out


# --- the Chinese edition: a count of objects is one catalog message, shown whole --------------



def test_resume_count_of_objects_reads_whole_in_chinese(chinese):
    verdict = check_resume.__wrapped__(lambda path: (1, 2, 3))
    assert verdict.message.endswith("; it returned 3 objects")
    assert chinese(verdict.message).endswith("；它返回了 3 个对象")
    assert chinese(check_resume.__wrapped__(lambda path: None).message).endswith("；它返回的是 NoneType None")
