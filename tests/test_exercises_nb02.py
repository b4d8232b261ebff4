"""Notebook 02's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import warnings
from fractions import Fraction

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import check_accumulation, check_moves, reset_tries
from helpers.exercises.nb02 import (
    ACCUMULATION_ANSWER,
    K,
    LR,
    NOTEBOOK_K,
    ROWS,
    WEIGHT_DECAY,
    _accumulation_problem,
    _batches,
    _big_batch_run,
    _MISTAKES,
    _run,
)

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


def right_grad_divided_after(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
    for p in model.parameters():
        p.grad /= len(batches)
    optimizer.step()


def right_cat_outputs(model, optimizer, batches):
    optimizer.zero_grad()
    out = torch.cat([model(x) for x, _ in batches])
    F.mse_loss(out, torch.cat([y for _, y in batches])).backward()
    optimizer.step()


def right_mse_module_reversed(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (nn.MSELoss()(y, model(x)) / len(batches)).backward()
    with torch.no_grad():
        optimizer.step()


k = NOTEBOOK_K  # the notebook's global k, which a learner's function may pick up


def divide_by_rows(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(x)).backward()
    optimizer.step()


def divide_by_all_rows(model, optimizer, batches):
    rows = sum(len(x) for x, _ in batches)
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / rows).backward()
    optimizer.step()


def divide_by_notebook_k(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / k).backward()
    optimizer.step()


def divide_by_running_count(model, optimizer, batches):
    optimizer.zero_grad()
    for i, (x, y) in enumerate(batches):
        (F.mse_loss(model(x), y) / (i + 1)).backward()
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


def model_zero_grad_inside_undivided(model, optimizer, batches):
    for x, y in batches:
        model.zero_grad()
        F.mse_loss(model(x), y).backward()
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


def everyday_loop(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        optimizer.step()


def step_twice(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()
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


def no_backward(model, optimizer, batches):
    optimizer.zero_grad()
    total = sum(F.mse_loss(model(x), y) for x, y in batches) / len(batches)
    optimizer.step()
    return total


def loss_from_items(model, optimizer, batches):
    optimizer.zero_grad()
    total = 0.0
    for x, y in batches:
        total += F.mse_loss(model(x), y).item() / len(batches)
    torch.tensor(total, requires_grad=True).backward()
    optimizer.step()


def backward_once_after_the_loop(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        loss = F.mse_loss(model(x), y) / len(batches)
    loss.backward()
    optimizer.step()


def lr_divided_and_left(model, optimizer, batches):
    for group in optimizer.param_groups:
        group["lr"] /= len(batches)
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
    optimizer.step()


def lr_divided_and_restored(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model(x), y).backward()
    for group in optimizer.param_groups:
        group["lr"] /= len(batches)
    optimizer.step()
    for group in optimizer.param_groups:
        group["lr"] *= len(batches)


def lr_halved(model, optimizer, batches):
    optimizer.param_groups[0]["lr"] = 0.05
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()
    optimizer.param_groups[0]["lr"] = 0.1


def squeezed_prediction(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x).squeeze(), y) / len(batches)).backward()
    optimizer.step()


def l1(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.l1_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def root_of_mse(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y).sqrt() / len(batches)).backward()
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


def divide_by_two_point_five(model, optimizer, batches):  # a factor the table does not know
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) / 2.5).backward()
    optimizer.step()


def huber_loss(model, optimizer, batches):  # another loss the table does not know
    optimizer.zero_grad()
    for x, y in batches:
        (F.huber_loss(model(x), y, delta=0.3) / len(batches)).backward()
    optimizer.step()


def squared_mse(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), y) ** 2 / len(batches)).backward()
    optimizer.step()


def step_before_the_loop(model, optimizer, batches):
    optimizer.zero_grad()
    optimizer.step()
    for x, y in batches:
        (F.mse_loss(model(x), y) / len(batches)).backward()


def step_every_two(model, optimizer, batches):  # 3 micro-batches: the third backward comes after the only step
    optimizer.zero_grad()
    for i, (x, y) in enumerate(batches):
        (F.mse_loss(model(x), y) / len(batches)).backward()
        if (i + 1) % 2 == 0:
            optimizer.step()
            optimizer.zero_grad()


def forward_method_undivided(model, optimizer, batches):  # model.forward(x) skips the model's own hooks
    optimizer.zero_grad()
    for x, y in batches:
        F.mse_loss(model.forward(x), y).backward()
    optimizer.step()


def target_is_the_input(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model(x), x) / len(batches)).backward()
    optimizer.step()


def right_logs_the_whole_batch_without_grad(model, optimizer, batches):
    right_accumulate(model, optimizer, batches)
    with torch.no_grad():  # a loss for printing only: no graph, no part in the step
        F.mse_loss(model(torch.cat([x for x, _ in batches])), torch.cat([y for _, y in batches])).item()


def right_calls_forward(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (F.mse_loss(model.forward(x), y) / len(batches)).backward()
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
    "divides by all the rows": (divide_by_all_rows, f"divided each micro-batch's mean by all {ROWS} rows"),
    "divides by the notebook's k": (divide_by_notebook_k, f"you divided by {NOTEBOOK_K}, not by the number of micro-batches"),
    "divides by a running count": (divide_by_running_count, "divided the i-th micro-batch's loss by i + 1"),
    "does not divide": (no_division, "were not divided"),
    "zero_grad inside the loop": (zero_grad_inside, "a zero_grad() inside the loop wiped the earlier micro-batches' gradients"),
    "model.zero_grad inside, undivided": (model_zero_grad_inside_undivided, "a zero_grad() inside the loop wiped"),
    "step inside the loop": (step_inside, "one step per micro-batch: optimizer.step() was called 3 times"),
    "step and zero_grad inside the loop": (step_and_zero_grad_inside, "one step per micro-batch, each from one micro-batch's gradient"),
    "the everyday loop, undivided": (everyday_loop, "one step per micro-batch, each from one micro-batch's gradient"),
    "step twice after the loop": (step_twice, "optimizer.step() was called 2 times"),
    "no zero_grad": (no_zero_grad, "gradients of the previous call were still in .grad"),
    "sum reduction": (sum_reduction, "reduction='sum'"),
    "sum reduction, undivided": (sum_reduction_undivided, "the losses are sums (reduction='sum') and were not divided"),
    "zero_grad between backward and step": (zero_grad_before_step, "a zero_grad() between the backward passes and step() wiped"),
    "no step": (no_step, "optimizer.step() was never called"),
    "no backward": (no_backward, "no backward() reached the model's weights"),
    "loss from .item() numbers": (loss_from_items, "no backward() reached the model's weights"),
    "backward once, after the loop": (backward_once_after_the_loop, "only the last micro-batch's gradient reached the step"),
    "lr / k left changed": (lr_divided_and_left, "you divided the learning rate instead of the loss, and left it changed"),
    "lr / k restored afterwards": (lr_divided_and_restored, "you divided the learning rate instead of the loss"),
    "another lr at the step": (lr_halved, "your step used lr = 0.05, not the optimizer's own: you changed the learning rate"),
    "squeezed prediction broadcasts": (squeezed_prediction, "the prediction and the target have different shapes, so mse_loss broadcast them"),
    "x as the target broadcasts": (target_is_the_input, "compare model(x) with y, both (rows, 1)"),
    "huber loss (unknown to the table)": (huber_loss, "the first code cell of section 4"),
    "mse_loss squared (unknown to the table)": (squared_mse, "the first code cell of section 4"),
    "step before the loop": (step_before_the_loop, "you called step() before the first backward()"),
    "step every two micro-batches of three": (step_every_two, "1 backward pass ran after it and its gradient was left over in .grad"),
    "model.forward(x), undivided": (forward_method_undivided, "the micro-batch losses were not divided"),
    "l1 loss": (l1, "l1_loss"),
    "root of mse": (root_of_mse, "the root of mse_loss"),
    "a new optimizer inside": (new_optimizer, "do not build a new one"),
    "the whole batch at once": (whole_batch_at_once, "ran 24 rows through the model at once"),
    "first micro-batch only": (first_batch_only, "ran the model on 1 of the 3 micro-batches"),
    "divides by k twice": (divide_by_k_squared, "you divided by the number of micro-batches twice"),
    "an unknown factor": (divide_by_two_point_five, "your gradient points the right way but is 1.2 times the big batch's"),
    "wrong parameters": (wrong_parameters, "the checker calls it as wrong_parameters(model, optimizer, batches)"),
    "passes the result (None)": (None, "pass your function itself"),
    "passes a number": (0.5, "pass your function itself"),
    "crashes": (crashes, "your code raised"),
}
# The hints that would blame another mistake than the one made: none of them may show up.
OTHER_HINTS = ["wiped", "were not divided", "one step per micro-batch", "previous call", "learning rate"]


@pytest.mark.parametrize("case", sorted(ACCUMULATION_WRONG))
def test_accumulation_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = ACCUMULATION_WRONG[case]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker lets no warning of the learner's code through twice
        assert not check_accumulation(answer)
    captured = capsys.readouterr()
    assert captured.out.startswith("Not yet.") and hint in captured.out, captured.out
    assert ACCUMULATION_ANSWER not in captured.out and "Warning" not in captured.err
    for other in OTHER_HINTS:
        assert other not in captured.out or other in hint, (other, captured.out)


@pytest.mark.parametrize(
    "answer",
    [
        right_accumulate,
        right_sum_then_backward,
        right_mean_of_losses,
        right_sum_reduction_over_all_rows,
        right_weighted_by_share,
        right_zero_grad_after_step,
        right_grad_divided_after,
        right_cat_outputs,
        right_mse_module_reversed,
        right_logs_the_whole_batch_without_grad,
        right_calls_forward,
    ],
)
def test_accumulation_accepts(answer, capsys):
    assert check_accumulation(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_accumulation_data_tells_the_mistakes_apart():
    """Every recognised mistake ends somewhere else than the right answer, and than every other mistake."""
    assert len({K, ROWS // K, NOTEBOOK_K}) == 3  # dividing by the micro-batches, their rows or the notebook's k differs
    right = _big_batch_run()
    assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(_run(right_accumulate), right))
    runs = [_run(fn)[0] for fn, _, _ in _MISTAKES]  # told apart at the first call already
    for i, run in enumerate(runs):
        assert not torch.allclose(run, right[0], rtol=1e-3, atol=1e-5), _MISTAKES[i][1]
        for j in range(i):
            assert not torch.allclose(run, runs[j], rtol=1e-3, atol=1e-5), (_MISTAKES[i][1], _MISTAKES[j][1])


def test_lr_over_k_differs_from_the_big_step_because_of_weight_decay():
    """Restoring the lr after a step with lr / k would be right for plain SGD; the checker's weight decay tells it apart."""
    assert WEIGHT_DECAY > 0
    moved = _run(lr_divided_and_restored)[0]
    assert not torch.allclose(moved, _big_batch_run()[0], rtol=1e-3, atol=1e-5)
    assert LR == 0.1


def test_accumulation_stub_is_not_done(capsys):
    assert not check_accumulation(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_accumulation_fallback_hint_points_without_the_recipe(capsys):
    """A mistake no rule names gets a pointer to the notebook, not the steps of the answer."""
    for answer in (huber_loss, squared_mse):
        assert not check_accumulation(answer)
        out = capsys.readouterr().out
        assert "the weights differ from one big-batch step" in out and "section 4" in out, out
        assert "len(batches)" not in out and "once" not in out, out


def test_accumulation_stub_reveals_the_answer(capsys):
    assert not check_accumulation(stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: " + ACCUMULATION_ANSWER in out, out


def test_accumulation_every_wrong_verdict_can_reveal(capsys):
    for answer in (None, wrong_parameters, crashes, huber_loss):
        reset_tries()
        assert not check_accumulation(answer, reveal=True)
        assert "The expected answer: " + ACCUMULATION_ANSWER in capsys.readouterr().out


def test_accumulation_error_is_reported_at_the_learners_line(capsys):
    assert not check_accumulation(crashes)
    out = capsys.readouterr().out
    assert "(your line" in out and "F.mse_loss(model(x, y), y).backward()" in out, out


def test_accumulation_lets_other_warnings_through(capsys):
    def warns(model, optimizer, batches):
        warnings.warn("the learner's own warning", UserWarning)
        right_accumulate(model, optimizer, batches)

    with pytest.warns(UserWarning, match="the learner's own warning"):
        assert check_accumulation(warns)


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


# --- exercise 2: moves (Adagrad) -------------------------------------------------------

MOVES_EXPECTED = "moves_with_none=False"


def test_moves_truth_on_this_torch():
    """The exercise's experiment: Adagrad skips a None gradient and does not move on a zero one."""
    from helpers.exercises.nb02 import _moves_after_clearing

    assert _moves_after_clearing(True) is False and _moves_after_clearing(False) is False


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


MOVES_WRONG = {
    "zeros move (SGD momentum's answer)": ((False, True), "Adagrad keeps no velocity"),
    "None moves": ((True, False), "moves_with_none (the .grad cleared to None) is not right"),
    "both move": ((True, True), "both answers are wrong"),
    "yes/no text": (("no", "yes"), "without quotes"),
    "True as text": (("False", "False"), "without quotes"),
    "0 and 0": ((0, 0), "0 and 1 are numbers"),
    "0.0 and 1.0": ((0.0, 1.0), "0 and 1 are numbers"),
    "a distance": ((False, 0.18), "moves_with_zeros is a number (0.18): the question asks whether the parameter moves, not how far"),
    "a distance tensor": ((torch.tensor(0.0079), False), "moves_with_none is a number (0.0079)"),
    "a distance as a Fraction": ((False, Fraction(1, 8)), "not how far"),
    "None as an answer": ((None, False), "moves_with_none is None: None is what zero_grad() leaves in .grad, not an answer"),
    "None for zeros": ((False, None), "moves_with_zeros is None"),
    "a list": (([False], False), "moves_with_none should be True or False, got list"),
    "a float tensor": ((torch.tensor(0.0), torch.tensor(1.0)), "0 and 1 are numbers"),
    "None right, zeros as 1": ((False, 1), "moves_with_zeros should be True or False, got int 1"),
    "an object whose repr fails": ((_BadRepr(), False), "moves_with_none should be True or False, got a _BadRepr"),
    "a bool tensor on meta": ((torch.tensor(True, device="meta"), False), "moves_with_none should be True or False"),
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
        (False, False),
        (np.bool_(False), np.bool_(False)),
        (torch.tensor(False), torch.tensor(False)),
        (torch.tensor([False]), torch.tensor([False])),
        (np.array(False), np.array([False])),
        (1 > 2, 2 > 3),
    ],
)
def test_moves_accepts(answers, capsys):
    assert check_moves(*answers)
    assert capsys.readouterr().out.startswith("Correct!")


def test_moves_accepts_keywords(capsys):
    assert check_moves(moves_with_none=False, moves_with_zeros=False)


@pytest.mark.parametrize("answers", [(..., False), (False, ...), (..., ...)])
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


# --- the Chinese edition: every hint above is one catalog message, shown whole ----------------



def test_moves_hints_read_whole_in_chinese(chinese):
    both = check_moves.__wrapped__(True, True)
    assert " None? And adagrad keeps no velocity: its step is " in both.hint  # the English, as before
    assert "另外，Adagrad 不保留速度" in chinese(both.hint) and "adagrad" not in chinese(both.hint)
    assert chinese(check_moves.__wrapped__(0, 1).hint) == "写 True 或 False（0 和 1 是数字，不是对是非题的回答）"
    assert chinese(check_moves.__wrapped__("yes", True).hint) == "写 True 或 False，不要加引号"
