"""Notebook 00's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import check_sgd_prediction, check_train_step, reset_tries
from helpers.exercises.nb00 import TRAIN_STEP_EXPECTED

F = nn.functional


@pytest.fixture(autouse=True)
def fresh_tries():
    reset_tries()
    yield
    reset_tries()


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


def zeros_after_backward(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.zero_grad(set_to_none=False)  # fills zeros: step() then has nothing to apply
    optimizer.step()
    return loss.item()


def returns_detached(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()  # a 0-d tensor, not a Python number


def returns_0d_array(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach().numpy()  # a 0-d ndarray, not a Python number


def returns_array_of_item(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return np.array(loss.item())


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


def half_sum(model, optimizer, x, y):
    loss = ((model(x) - y) ** 2).sum() / 2
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def doubled(model, optimizer, x, y):
    loss = 2 * F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def squeezed(model, optimizer, x, y):  # (16,) against (16, 1): broadcasting makes 16 x 16 pairs
    loss = F.mse_loss(model(x).squeeze(), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def root_mse(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y).sqrt()
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def huber(model, optimizer, x, y):
    loss = F.huber_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def by_hand(model, optimizer, x, y):  # no optimizer.step(): SGD without the momentum
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad
    return loss.item()


def backward_twice(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward(retain_graph=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def step_twice(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    optimizer.step()
    return loss.item()


def loss_of_other_weights(model, optimizer, x, y):  # a loss that matches no known formula
    loss = F.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item() + 0.123


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
    "zero_grad(set_to_none=False) after backward": (zeros_after_backward, ".grad is all zeros\nHint: zero_grad() must come before backward()"),
    "no step": (no_step, "call optimizer.step()"),
    "returns a tensor": (returns_tensor, "you returned a tensor (shape ())"),
    "returns loss.detach()": (returns_detached, "you returned a tensor (shape ()); the exercise asks for a Python number\nHint: return loss.item()"),
    "returns loss.detach().numpy()": (returns_0d_array, "you returned a NumPy array (shape ()); the exercise asks for a Python number\nHint: return loss.item()"),
    "returns np.array(loss.item())": (returns_array_of_item, "a NumPy array (shape ())"),
    "sum reduction": (sum_reduction, "reduction='sum'"),
    "l1 loss": (l1, "l1_loss"),
    "loss after the step": (loss_after_step, "do not recompute it after the step"),
    "a new optimizer inside": (new_optimizer, "use the optimizer passed in"),
    "half the sum": (half_sum, "half the sum of the squared errors"),
    "twice the loss": (doubled, "twice the mean squared error"),
    "squeezed prediction": (squeezed, "do not squeeze one of them"),
    "root of the mse": (root_mse, "the root of the mean squared error"),
    "huber loss": (huber, "smooth_l1_loss / huber_loss"),
    "update by hand": (by_hand, "a hand-written w -= lr * w.grad"),
    "backward twice": (backward_twice, "backward() ran twice"),
    "step twice": (step_twice, "ran 2 times in one call"),
    "a loss no formula explains": (loss_of_other_weights, "check the formula"),
    "returns nothing": (returns_nothing, "got NoneType"),
    "returns the optimizer": (lambda model, optimizer, x, y: optimizer, "return the loss as a number, got SGD SGD ("),
    "wrong parameters": (two_args, "the checker calls it as two_args(model, optimizer, x, y)"),
    "passes the result": (0.5, "pass your function itself"),
    "crashes": (crashes, "your code raised TypeError"),
}


@pytest.mark.parametrize("case", sorted(TRAIN_STEP_WRONG))
def test_train_step_rejects(case, capsys):
    answer, hint = TRAIN_STEP_WRONG[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker lets no warning out, not even the learner's own
        assert not check_train_step(answer)
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith("Not yet.") and hint in out, out
    assert len(out.strip().splitlines()) == 3, out  # one line each: what is wrong, the hint, how to see the answer
    assert "The expected answer" not in out and TRAIN_STEP_EXPECTED not in out, out
    assert "Warning" not in captured.err


def test_train_step_hints_name_the_mistake_not_a_neighbour(capsys):
    """Mistakes that once got someone else's hint: each now gets its own."""
    for answer, not_this in [
        (half_sum, "recompute"),
        (doubled, "recompute"),
        (squeezed, "recompute"),
        (by_hand, "new one inside"),
        (backward_twice, "gradient differs"),
    ]:
        assert not check_train_step(answer)
        assert not_this not in capsys.readouterr().out


def test_train_step_reveals_the_five_lines(capsys):
    assert not check_train_step(no_step, reveal=True)
    assert f"The expected answer: {TRAIN_STEP_EXPECTED}" in capsys.readouterr().out
    reset_tries()
    for _ in range(2):
        assert not check_train_step(sum_reduction)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_train_step(sum_reduction)  # the third wrong try
    assert "The expected answer: prediction = model(x)" in capsys.readouterr().out


def zero_grad_last(model, optimizer, x, y):  # clearing after the step is the same loop
    loss = F.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    return loss.item()


def model_zero_grad(model, optimizer, x, y):
    prediction = model(x)
    model.zero_grad()
    loss = ((prediction - y) ** 2).mean()
    loss.backward()
    optimizer.step()
    return torch.tensor(loss.item()).item()


@pytest.mark.parametrize("answer", [right_step, right_step_numpy, zero_grad_last, model_zero_grad])
def test_train_step_accepts(answer, capsys):
    assert check_train_step(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_train_step_stub_is_not_done(capsys):
    assert not check_train_step(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_train_step_stub_with_reveal_shows_the_answer(capsys):
    assert not check_train_step(stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and f"The expected answer: {TRAIN_STEP_EXPECTED}" in out, out


def test_sgd_prediction_stub_with_reveal_shows_the_answer(capsys):
    assert not check_sgd_prediction(..., reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: 2.6" in out, out


def test_train_step_every_wrong_verdict_can_be_revealed(capsys):
    for case in sorted(TRAIN_STEP_WRONG):
        reset_tries()
        assert not check_train_step(TRAIN_STEP_WRONG[case][0], reveal=True)
        assert f"The expected answer: {TRAIN_STEP_EXPECTED}" in capsys.readouterr().out, case


def test_sgd_prediction_every_wrong_verdict_can_be_revealed(capsys):
    for case in sorted(SGD_WRONG):
        assert not check_sgd_prediction(SGD_WRONG[case][0], reveal=True)
        assert "The expected answer: 2.6" in capsys.readouterr().out, case


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
    "lr * grad": (-0.6, "that is lr * grad"),
    "the loss before": (9, "the loss at w = 2"),
    "the loss after": (5.76, "the loss after the step"),
    "a fraction the wrong way": (Fraction(7, 5), "wrong way"),
    "text": ("1.4", "without quotes"),
    "a list": ([1.0, 2.0], "give one number"),
    "a bool": (True, "give one number"),
    "an array": (np.zeros((3, 3)), "give one number, got ndarray array([[0., 0., 0.], [0., 0."),
    "something else": (3.3, "the gradient of (w - 5)**2"),
}


@pytest.mark.parametrize("case", sorted(SGD_WRONG))
def test_sgd_prediction_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = SGD_WRONG[case]
    assert not check_sgd_prediction(answer)
    out = capsys.readouterr().out
    assert hint in out and "2.6" not in out, out
    assert len(out.strip().splitlines()) == 3, out


@pytest.mark.parametrize("answer", [2.6, 13 / 5, Fraction(13, 5), np.float64(2.6), np.float32(2.6), torch.tensor(2.6), torch.tensor([2.6])])
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
