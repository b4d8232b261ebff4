"""Notebook 05's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import random

import numpy as np
import pytest
import torch

from helpers import load_checkpoint
from helpers.exercises import REVEAL_AFTER, check_lr_after_load, check_resume, resume_setup

# --- check_resume -----------------------------------------------------------------------


def right(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler)
    return model, optimizer, scheduler


def right_by_hand(path):
    """Plain torch.load, every part restored by hand (the torch RNG is the one this training uses)."""
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    torch.set_rng_state(data["rng"]["torch"])
    return [model, optimizer, scheduler]  # a list is as good as a tuple


def model_only(path):  # the notebook's stub
    model, optimizer, scheduler = resume_setup()
    model.load_state_dict(torch.load(path, weights_only=True)["model"])
    return model, optimizer, scheduler


def no_rng(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, restore_rng=False)
    return model, optimizer, scheduler


def no_scheduler(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer)
    return model, optimizer, scheduler


def no_optimizer(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, scheduler=scheduler)
    return model, optimizer, scheduler


def by_hand_without_rng(path):
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"])
    optimizer.load_state_dict(data["optimizer"])
    scheduler.load_state_dict(data["scheduler"])
    return model, optimizer, scheduler


def reseeds(path):
    model, optimizer, scheduler = right(path)
    torch.manual_seed(0)  # "make it reproducible": seeding again is not restoring
    return model, optimizer, scheduler


def new_lr_after_load(path):
    model, optimizer, scheduler = right(path)
    for group in optimizer.param_groups:
        group["lr"] = 0.01
    return model, optimizer, scheduler


def steps_the_scheduler(path):
    model, optimizer, scheduler = right(path)
    scheduler.step()
    return model, optimizer, scheduler


def new_optimizer_after_load(path):
    model, optimizer, scheduler = right(path)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, scheduler


def other_model(path):
    model, optimizer, scheduler = right(path)
    model = resume_setup()[0]
    model.load_state_dict(torch.load(path, weights_only=True)["model"])
    return model, optimizer, scheduler


def scheduler_none(path):
    model, optimizer, _ = right(path)
    return model, optimizer, None


def scheduler_state_dict(path):
    model, optimizer, scheduler = right(path)
    return model, optimizer, scheduler.state_dict()


def swapped(path):
    model, optimizer, scheduler = right(path)
    return optimizer, model, scheduler


def returns_model(path):
    return right(path)[0]


def no_argument():
    return resume_setup()


def crashes(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=torch.optim.SGD(model[0].parameters(), lr=0.1))
    return model, optimizer, scheduler


def sgd_instead(path):
    model, _, _ = resume_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    load_checkpoint(path, model=model, scheduler=scheduler)
    return model, optimizer, scheduler


def plateau_scheduler(path):
    model, optimizer, _ = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer)
    return model, optimizer, torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)


def other_architecture(path):
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return model, optimizer, torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)


def trains_one_step(path):
    model, optimizer, scheduler = right(path)
    x = torch.randn(8, 4)
    torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True)).backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def stub(path):
    raise NotImplementedError


LEFT_OUT_OPTIMIZER = "the optimizer's state is empty"
LEFT_OUT_SCHEDULER = "the scheduler counts from zero"
LEFT_OUT_RNG = "random number generator is not where the checkpoint left it"

RESUME_WRONG = {
    # name: (answer, what the message must say, what it must not say)
    "model only (plain torch.load)": (model_only, [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER, LEFT_OUT_RNG, "load the optimizer's state_dict"], []),
    "restore_rng=False": (no_rng, [LEFT_OUT_RNG, "restore_rng=False"], [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER]),
    "no scheduler": (no_scheduler, [LEFT_OUT_SCHEDULER, "load the scheduler's state_dict"], [LEFT_OUT_OPTIMIZER, LEFT_OUT_RNG]),
    "no optimizer": (no_optimizer, [LEFT_OUT_OPTIMIZER], [LEFT_OUT_SCHEDULER, LEFT_OUT_RNG]),
    "by hand, without the RNG": (by_hand_without_rng, [LEFT_OUT_RNG], [LEFT_OUT_OPTIMIZER, LEFT_OUT_SCHEDULER]),
    "seeds again": (reseeds, [LEFT_OUT_RNG, "seeding again is not restoring"], [LEFT_OUT_OPTIMIZER]),
    "new lr after loading": (new_lr_after_load, ["hyperparameters (its lr)", "do not set a new lr after loading"], [LEFT_OUT_RNG]),
    "steps the scheduler": (steps_the_scheduler, ["scheduler's count differs", "do not step the scheduler"], [LEFT_OUT_RNG]),
    "new optimizer after loading": (new_optimizer_after_load, ["drives another optimizer"], []),
    "another model": (other_model, ["does not hold this model's parameters"], []),
    "scheduler None": (scheduler_none, ["the scheduler you returned is None"], []),
    "scheduler.state_dict()": (scheduler_state_dict, ["the scheduler you returned is a dict"], []),
    "swapped objects": (swapped, ["order (optimizer, model, scheduler)", "model, optimizer, scheduler"], []),
    "returns the model only": (returns_model, ["must return the three objects", "Sequential"], []),
    "no parameter": (no_argument, ["the checker calls it as no_argument(path)"], []),
    "passes the result": (resume_setup(), ["pass your function itself"], []),
    "crashes": (crashes, ["your code raised CheckpointError", "your line"], []),
    "SGD instead of Adam": (sgd_instead, ["the optimizer is SGD,", "Adam"], []),
    "ReduceLROnPlateau": (plateau_scheduler, ["the scheduler is ReduceLROnPlateau,", "StepLR"], []),
    "another architecture": (other_architecture, ["not the one resume_setup() builds"], []),
    "trains inside resume": (trains_one_step, ["the model's weights are not the saved ones", "do not step it while resuming", LEFT_OUT_RNG], []),
}
NUMBERS = ("0.0025", "0.005", "0.00125")  # the learning rates a wrong try must not give away


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
    assert "The expected answer" not in out and not any(n in out for n in NUMBERS), out


@pytest.mark.parametrize("answer", [right, right_by_hand])
def test_resume_accepts(answer, capsys):
    assert check_resume(answer)
    assert capsys.readouterr().out.startswith("Correct! 6 + 6 steps")


def test_resume_stub_is_not_done(capsys):
    assert not check_resume(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_resume_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(REVEAL_AFTER - 1):
        assert not check_resume(no_rng)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_resume(no_rng)
    assert "The expected answer: load_checkpoint(path, model=model" in capsys.readouterr().out
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

LR_WRONG = {
    "the new constructor's lr": (0.5, "overwrites"),
    "the mean": (0.255, "does not mix"),
    "the product": (0.005, "does not multiply"),
    "zero": (0, "does not reset the learning rate to zero"),
    "Adam's default": (1e-3, "Adam's default lr"),
    "something else": (0.1, "neither the saved lr nor the new one"),
    "text": ("0.01", "without quotes"),
    "a list": ([0.01], "give one number"),
    "a bool": (True, "give one number"),
    "a tensor of two": (torch.tensor([0.01, 0.5]), "give one number"),
}


@pytest.mark.parametrize("case", sorted(LR_WRONG))
def test_lr_after_load_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = LR_WRONG[case]
    assert not check_lr_after_load(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "0.01" not in out.replace("'0.01'", "").replace("[0.01", ""), out  # the learner's own text aside


@pytest.mark.parametrize("answer", [0.01, 1e-2, 1 / 100, np.float64(0.01), np.float32(0.01), torch.tensor(0.01), torch.tensor([0.01])])
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
    assert "The expected answer: 0.01" in capsys.readouterr().out
