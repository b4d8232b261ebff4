"""Notebook 00's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import check_sgd_prediction, check_train_step

F = nn.functional


def right_step(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def right_step_numpy(model, optimizer, x, y):
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return np.float64(loss.item())


def no_zero_grad(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def zero_grad_after_backward(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.zero_grad()
    optimizer.step()
    return loss.item()


def no_step(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def returns_tensor(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss


def sum_reduction(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y, reduction="sum")
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def l1(model, optimizer, x, y):
    loss = F.l1_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def loss_after_step(model, optimizer, x, y):
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    optimizer.step()
    return F.mse_loss(model(x), y).item()


def new_optimizer(model, optimizer, x, y):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = F.mse_loss(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def returns_nothing(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


def two_args(model, optimizer):
    return 0.0


def stub(model, optimizer, x, y):
    raise NotImplementedError


def crashes(model, optimizer, x, y):
    return model(x, y)


TRAIN_STEP_WRONG = {
    "no zero_grad": (no_zero_grad, "zero_grad() before loss.backward()"),
    "zero_grad after backward": (zero_grad_after_backward, "zero_grad() must come before backward()"),
    "no step": (no_step, "call optimizer.step()"),
    "returns a tensor": (returns_tensor, "loss.item()"),
    "sum reduction": (sum_reduction, "reduction='sum'"),
    "l1 loss": (l1, "l1_loss"),
    "loss after the step": (loss_after_step, "do not recompute it after the step"),
    "a new optimizer inside": (new_optimizer, "use the optimizer passed in"),
    "returns nothing": (returns_nothing, "got NoneType"),
    "wrong parameters": (two_args, "the checker calls it as two_args(model, optimizer, x, y)"),
    "passes the result": (0.5, "pass your function itself"),
    "crashes": (crashes, "your code raised TypeError"),
}


@pytest.mark.parametrize("case", sorted(TRAIN_STEP_WRONG))
def test_train_step_rejects(case, capsys):
    answer, hint = TRAIN_STEP_WRONG[case]
    assert not check_train_step(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.parametrize("answer", [right_step, right_step_numpy])
def test_train_step_accepts(answer, capsys):
    assert check_train_step(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_train_step_stub_is_not_done(capsys):
    assert not check_train_step(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_train_step_error_is_reported_at_the_learners_line(capsys):
    assert not check_train_step(crashes)
    assert "(your line" in capsys.readouterr().out and "return model(x, y)" in "".join(open(__file__).readlines())


SGD_WRONG = {
    "sign": (1.4, "wrong way"),
    "no factor 2": (2.3, "keep the factor 2"),
    "no lr": (8.0, "forgot the learning rate"),
    "the gradient": (-6, "that is the gradient"),
    "minus the gradient": (6, "minus the gradient"),
    "the move": (0.6, "how far w moves"),
    "the minimum": (5, "does not reach the minimum"),
    "no move": (2, "does move"),
    "text": ("1.4", "without quotes"),
    "a list": ([1.0, 2.0], "give one number"),
    "a bool": (True, "give one number"),
    "something else": (3.3, "the gradient of (w - 5)**2"),
}


@pytest.mark.parametrize("case", sorted(SGD_WRONG))
def test_sgd_prediction_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = SGD_WRONG[case]
    assert not check_sgd_prediction(answer)
    out = capsys.readouterr().out
    assert hint in out and "2.6" not in out, out


@pytest.mark.parametrize("answer", [2.6, 13 / 5, np.float64(2.6), np.float32(2.6), torch.tensor(2.6), torch.tensor([2.6])])
def test_sgd_prediction_accepts(answer, capsys):
    assert check_sgd_prediction(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_sgd_prediction_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(2):
        assert not check_sgd_prediction(2.3)
        assert "2.6" not in capsys.readouterr().out
    assert not check_sgd_prediction(2.3)
    assert "The expected answer: 2.6" in capsys.readouterr().out
    assert not check_sgd_prediction(..., reveal=True)
    assert "The expected answer: 2.6" in capsys.readouterr().out
