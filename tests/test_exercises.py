import torch
from torch import nn

from helpers.exercises import check_sgd_prediction, check_train_step


def right_step(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_step(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def stub(model, optimizer, x, y):
    raise NotImplementedError


def crashes(model, optimizer, x, y):
    return model(x, y)


def test_train_step_right(capsys):
    assert check_train_step(right_step)
    assert capsys.readouterr().out.startswith("Correct!")


def test_train_step_without_zero_grad(capsys):
    assert not check_train_step(no_zero_grad)
    out = capsys.readouterr().out
    assert "Not yet" in out and "zero_grad" in out


def test_train_step_without_step(capsys):
    assert not check_train_step(no_step)
    assert "after step 1 the weights are" in capsys.readouterr().out


def test_train_step_stub_and_crash_are_reported_not_raised(capsys):
    assert not check_train_step(stub)
    assert "Not done yet" in capsys.readouterr().out
    assert not check_train_step(crashes)
    assert "Your code raised TypeError" in capsys.readouterr().out


def test_train_step_wrong_return(capsys):
    assert not check_train_step(lambda m, o, x, y: right_step(m, o, x, y) and "loss")
    assert "return the loss as a number" in capsys.readouterr().out
    assert not check_train_step("train_step")


def test_sgd_prediction(capsys):
    assert check_sgd_prediction(2.6)
    assert check_sgd_prediction(torch.tensor(2.6))
    assert not check_sgd_prediction(2.3)
    assert "torch.optim.SGD gives 2.6000" in capsys.readouterr().out
    assert not check_sgd_prediction(...)
    assert not check_sgd_prediction("two")


def test_check_result_shows_nothing_in_a_notebook():
    result = check_sgd_prediction(2.6)
    assert result._ipython_display_() is None and repr(result) == "CheckResult(ok=True)"
