"""Notebook 02's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import check_accumulation, check_moves, reset_tries
from helpers.exercises.nb02 import ACCUMULATION_ANSWER, K, ROWS, _accumulation_problem, _batches, _big_batch_run, _MISTAKES, _run

F = nn.functional


@pytest.fixture(autouse=True)
def _fresh_tries():
    reset_tries()
    yield
    reset_tries()


# --- exercise 1: accumulate ------------------------------------------------------------


def right_accumulate(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        loss = F.mse_loss(model(x), y) / len(batches)
        loss.backward()
    optimizer.step()


def right_sum_then_backward(model, optimizer, batches):
    optimizer.zero_grad()
    total = sum(F.mse_loss(model(x), y) for x, y in batches) / len(batches)
    total.backward()
    optimizer.step()


def right_mean_of_losses(model, optimizer, batches):
    optimizer.zero_grad()
    torch.stack([F.mse_loss(model(x), y) for x, y in batches]).mean().backward()
    optimizer.step()


def right_sum_reduction_over_all_rows(model, optimizer, batches):
    rows = sum(len(x) for x, _ in batches)
    model.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y, reduction="sum") / rows).backward()
    optimizer.step()


def right_weighted_by_share(model, optimizer, batches):
    rows = sum(len(x) for x, _ in batches)
    optimizer.zero_grad(set_to_none=False)
    for x, y in batches:
        (F.mse_loss(model(x), y) * len(x) / rows).backward()
    optimizer.step()


def right_zero_grad_after_step(model, optimizer, batches):
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()
    optimizer.zero_grad()


def divide_by_rows(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(x)).backward()
    optimizer.step()


def no_division(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
    optimizer.step()


def zero_grad_inside(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def step_inside(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
        optimizer.step()


def step_and_zero_grad_inside(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        (F.mse_loss(model(x), y) / len(batches)).backward()
        optimizer.step()


def no_zero_grad(model, optimizer, batches):
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def sum_reduction(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y, reduction="sum") / len(batches)).backward()
    optimizer.step()


def sum_reduction_undivided(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x), y, reduction="sum").backward()
    optimizer.step()


def zero_grad_before_step(model, optimizer, batches):
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.zero_grad()
    optimizer.step()


def no_step(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()


def l1(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.l1_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def new_optimizer(model, optimizer, batches):
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    opt.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    opt.step()


def whole_batch_at_once(model, optimizer, batches):
    x = torch.cat([x for x, _ in batches])
    y = torch.cat([y for _, y in batches])
    optimizer.zero_grad()
    F.mse_loss(model(x), y).backward()
    optimizer.step()


def first_batch_only(model, optimizer, batches):
    optimizer.zero_grad()
    x, y = batches[0]
    F.mse_loss(model(x), y).backward()
    optimizer.step()


def divide_by_k_squared(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches) ** 2).backward()
    optimizer.step()


def wrong_parameters(model, batches):
    pass


def crashes(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x, y), y).backward()  # the learner's bug
    optimizer.step()


def stub(model, optimizer, batches):
    raise NotImplementedError


ACCUMULATION_WRONG = {
    "divides by the rows of a micro-batch": (divide_by_rows, "you divided by the rows in a micro-batch"),
    "does not divide": (no_division, "were not divided"),
    "zero_grad inside the loop": (zero_grad_inside, "a zero_grad() inside the loop wiped the others"),
    "step inside the loop": (step_inside, "one step per micro-batch"),
    "step and zero_grad inside the loop": (step_and_zero_grad_inside, "one step per micro-batch"),
    "no zero_grad": (no_zero_grad, "gradients of the previous call were still in .grad"),
    "sum reduction": (sum_reduction, "reduction='sum'"),
    "sum reduction, undivided": (sum_reduction_undivided, "reduction='sum'"),
    "zero_grad between backward and step": (zero_grad_before_step, "a zero_grad() after the backward passes wipes"),
    "no step": (no_step, "call optimizer.step() once, after the loop"),
    "l1 loss": (l1, "l1_loss"),
    "a new optimizer inside": (new_optimizer, "do not build a new one"),
    "the whole batch at once": (whole_batch_at_once, "ran 24 rows through the model at once"),
    "first micro-batch only": (first_batch_only, "the weights differ from one big-batch step"),
    "divides by k twice": (divide_by_k_squared, "0.333 times the big batch's"),
    "wrong parameters": (wrong_parameters, "the checker calls it as wrong_parameters(model, optimizer, batches)"),
    "passes the result (None)": (None, "pass your function itself"),
    "passes a number": (0.5, "pass your function itself"),
    "crashes": (crashes, "your code raised"),
}


@pytest.mark.parametrize("case", sorted(ACCUMULATION_WRONG))
def test_accumulation_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = ACCUMULATION_WRONG[case]
    assert not check_accumulation(answer)
    captured = capsys.readouterr()
    assert captured.out.startswith("Not yet.") and hint in captured.out, captured.out
    assert ACCUMULATION_ANSWER not in captured.out and "Warning" not in captured.err


@pytest.mark.parametrize(
    "answer",
    [right_accumulate, right_sum_then_backward, right_mean_of_losses, right_sum_reduction_over_all_rows, right_weighted_by_share, right_zero_grad_after_step],
)
def test_accumulation_accepts(answer, capsys):
    assert check_accumulation(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_accumulation_data_tells_the_mistakes_apart():
    """Every recognised mistake ends somewhere else than the right answer, and than every other mistake."""
    assert K != ROWS // K  # dividing by the micro-batches or by their rows differs
    right = _big_batch_run()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_run(right_accumulate), right))
    runs = [_run(fn)[-1] for fn, _, _ in _MISTAKES]
    for i, run in enumerate(runs):
        assert not torch.allclose(run, right[-1], rtol=1e-3, atol=1e-5), _MISTAKES[i][1]
        for j in range(i):
            assert not torch.allclose(run, runs[j], rtol=1e-3, atol=1e-5), (_MISTAKES[i][1], _MISTAKES[j][1])


def test_accumulation_stub_is_not_done(capsys):
    assert not check_accumulation(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_accumulation_error_is_reported_at_the_learners_line(capsys):
    assert not check_accumulation(crashes)
    out = capsys.readouterr().out
    assert "(your line" in out and "F.mse_loss(model(x, y), y).backward()" in out, out


def test_accumulation_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(2):
        assert not check_accumulation(no_division)
        assert ACCUMULATION_ANSWER not in capsys.readouterr().out
    assert not check_accumulation(no_division)
    assert "The expected answer: " + ACCUMULATION_ANSWER in capsys.readouterr().out
    reset_tries()
    assert not check_accumulation(divide_by_rows, reveal=True)
    assert "The expected answer: " + ACCUMULATION_ANSWER in capsys.readouterr().out


def test_accumulation_leaves_the_problem_unchanged():
    """The checker builds its problem afresh: running it twice gives the same verdict."""
    model, x, y = _accumulation_problem()
    assert len(_batches(x, y)) == K and all(len(b[0]) == ROWS // K for b in _batches(x, y))
    assert check_accumulation(right_accumulate) and check_accumulation(right_accumulate)


# --- exercise 2: moves -----------------------------------------------------------------

MOVES_EXPECTED = "moves_with_none=False"

MOVES_WRONG = {
    "None moves too": ((True, True), "moves_with_none (the .grad cleared to None) is not right"),
    "zeros stay too": ((False, False), "moves_with_zeros (the .grad cleared to zeros) is not right"),
    "swapped": ((True, False), "both answers are the wrong way round"),
    "yes/no text": (("no", "yes"), "without quotes"),
    "True as text": (("False", "True"), "without quotes"),
    "0 and 1": ((0, 1), "0 and 1 are numbers"),
    "0.0 and 1.0": ((0.0, 1.0), "0 and 1 are numbers"),
    "a list": (([False], True), "moves_with_none should be True or False, got list"),
    "a float tensor": ((torch.tensor(0.0), torch.tensor(1.0)), "0 and 1 are numbers"),
    "None right, zeros as 1": ((False, 1), "moves_with_zeros should be True or False, got int 1"),
}


@pytest.mark.parametrize("case", sorted(MOVES_WRONG))
def test_moves_rejects_with_a_hint_not_the_answer(case, capsys):
    answers, hint = MOVES_WRONG[case]
    assert not check_moves(*answers)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert MOVES_EXPECTED not in out


@pytest.mark.parametrize(
    "answers",
    [
        (False, True),
        (np.bool_(False), np.bool_(True)),
        (torch.tensor(False), torch.tensor(True)),
        (torch.tensor([False]), torch.tensor([True])),
        (np.array(False), np.array([True])),
        (1 > 2, 2 > 1),
    ],
)
def test_moves_accepts(answers, capsys):
    assert check_moves(*answers)
    assert capsys.readouterr().out.startswith("Correct!")


def test_moves_accepts_keywords(capsys):
    assert check_moves(moves_with_none=False, moves_with_zeros=True)


@pytest.mark.parametrize("answers", [(..., True), (False, ...), (..., ...), (None, True)])
def test_moves_unanswered_is_not_done(answers, capsys):
    assert not check_moves(*answers)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet: replace the `...`") and MOVES_EXPECTED not in out


def test_moves_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(2):
        assert not check_moves(True, True)
        assert MOVES_EXPECTED not in capsys.readouterr().out
    assert not check_moves(True, True)
    assert "The expected answer: " + MOVES_EXPECTED in capsys.readouterr().out
    assert not check_moves(..., ..., reveal=True)
    assert "The expected answer: " + MOVES_EXPECTED in capsys.readouterr().out
