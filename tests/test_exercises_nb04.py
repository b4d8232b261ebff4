"""Notebook 04's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import numpy as np
import pytest
import torch

from helpers.exercises import REVEAL_AFTER, check_new_group_defaults, check_unfreeze_last

# --- check_unfreeze_last ---------------------------------------------------------------


def right(model, optimizer):
    last = model[0][2]
    last.requires_grad_(True)
    optimizer.add_param_group({"params": last.parameters(), "lr": 1e-3})


def right_list_and_loop(model, optimizer):
    params = [model[0][2].weight, model[0][2].bias]
    for p in params:
        p.requires_grad = True
    optimizer.add_param_group({"params": params, "lr": 0.001})


def right_by_type(model, optimizer):
    last = [m for m in model[0] if isinstance(m, torch.nn.Linear)][-1]
    last.requires_grad_(True)
    optimizer.add_param_group({"params": list(last.parameters()), "lr": 1e-3, "momentum": 0.9})


@pytest.mark.parametrize("answer", [right, right_list_and_loop, right_by_type], ids=lambda f: f.__name__)
def test_unfreeze_last_accepts(answer, capsys):
    assert check_unfreeze_last(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def everything(model, optimizer):
    model[0].requires_grad_(True)
    optimizer.add_param_group({"params": model[0].parameters(), "lr": 1e-3})


def the_first(model, optimizer):
    model[0][0].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][0].parameters(), "lr": 1e-3})


def forgot_optimizer(model, optimizer):
    model[0][2].requires_grad_(True)


def new_optimizer(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer = torch.optim.SGD([{"params": model[1].parameters()}, {"params": model[0][2].parameters(), "lr": 1e-3}], lr=0.1)


def forgot_requires_grad(model, optimizer):
    optimizer.add_param_group({"params": model[0][2].parameters(), "lr": 1e-3})


def default_lr(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][2].parameters()})


def other_lr(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][2].parameters(), "lr": 1e-2})


def weight_only(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": [model[0][2].weight], "lr": 1e-3})


def into_head_group(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.param_groups[0]["params"].extend(model[0][2].parameters())


def head_lr_changed(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][2].parameters(), "lr": 1e-3})
    optimizer.param_groups[0]["lr"] = 1e-3


def whole_backbone_group(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0].parameters(), "lr": 1e-3})


def two_groups(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": [model[0][2].weight], "lr": 1e-3})
    optimizer.add_param_group({"params": [model[0][2].bias], "lr": 1e-3})


def froze_head(model, optimizer):
    right(model, optimizer)
    model[1].requires_grad_(False)


def model_parameters(model, optimizer):
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model.parameters(), "lr": 1e-3})


def stub(model, optimizer):
    raise NotImplementedError


UNFREEZE_WRONG = {
    "the whole backbone": (everything, "the first Linear was unfrozen too"),
    "the first Linear instead": (the_first, "you unfroze the first Linear of the backbone, not the last"),
    "forgot add_param_group": (forgot_optimizer, "still has 1 group"),
    "a new optimizer inside": (new_optimizer, "do not build a new one"),
    "forgot requires_grad": (forgot_requires_grad, "in the optimizer but still frozen"),
    "nothing at all": (lambda m, o: None, "the last Linear is still frozen"),
    "the constructor's lr": (default_lr, "the constructor's lr (0.1)"),
    "another lr": (other_lr, "lr=0.01"),
    "weight without bias": (weight_only, "lacks the last Linear's ['bias']"),
    "into the head's group": (into_head_group, "into the head's group"),
    "head lr changed": (head_lr_changed, "the head's group changed"),
    "whole backbone in the group": (whole_backbone_group, "also holds the first Linear's tensors"),
    "two groups": (two_groups, "now has 3 groups"),
    "froze the head": (froze_head, "the head is frozen now"),
    "model.parameters() again": (model_parameters, "your code raised ValueError: some parameters appear in more than one parameter group"),
    "passes the result": (None, "pass your function itself"),
    "wrong parameters": (lambda model: None, "the checker calls it as"),
}


@pytest.mark.parametrize("case", sorted(UNFREEZE_WRONG))
def test_unfreeze_last_rejects_with_a_hint(case, capsys):
    answer, hint = UNFREEZE_WRONG[case]
    assert not check_unfreeze_last(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "model[0][2].parameters(), 'lr'" not in out


def test_unfreeze_last_stub_is_not_done(capsys):
    assert not check_unfreeze_last(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_unfreeze_last_reveals_after_repeated_tries(capsys):
    for _ in range(REVEAL_AFTER - 1):
        assert not check_unfreeze_last(default_lr)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_unfreeze_last(default_lr)
    assert "The expected answer: model[0][2].requires_grad_(True)" in capsys.readouterr().out


def test_unfreeze_last_leaves_the_learners_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_unfreeze_last(right)
    assert torch.equal(torch.rand(3), expected)


# --- check_new_group_defaults ----------------------------------------------------------

DEFAULTS_WRONG = {
    "PyTorch's zeros": ((0, 0), "does not fall back to SGD's built-in defaults"),
    "momentum only": ((0.9, 0), "the weight decay is wrong (the momentum is right)"),
    "weight decay only": ((0.0, 1e-4), "momentum is wrong (the weight decay is right): the new group does get momentum"),
    "swapped": ((1e-4, 0.9), "swapped"),
    "scaled by the lr ratio": ((0.09, 1e-5), "scaled a value by the new group's lr ratio"),
    "the lr for momentum": ((0.01, 1e-4), "0.01 is the new group's lr"),
    "something else": ((0.5, 1e-3), "momentum is wrong too"),
    "wrong weight decay": ((0.9, 1e-3), "the weight decay is wrong (the momentum is right)"),
    "text": (("0.9", "1e-4"), "without quotes"),
    "a tuple for one": (((0.5, 0.2), 0), "give momentum as one number"),
    "a bool": ((True, 1e-4), "give momentum as one number"),
}


@pytest.mark.parametrize("case", sorted(DEFAULTS_WRONG))
def test_new_group_defaults_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = DEFAULTS_WRONG[case]
    assert not check_new_group_defaults(*answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "momentum=0.9" not in out and "0.0001" not in out, out


@pytest.mark.parametrize(
    "answer",
    [(0.9, 1e-4), (0.9, 0.0001), (np.float64(0.9), np.float32(1e-4)), (torch.tensor(0.9), torch.tensor(1e-4)), (9e-1, 1e-4)],
    ids=repr,
)
def test_new_group_defaults_accepts(answer, capsys):
    assert check_new_group_defaults(*answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_new_group_defaults_keywords(capsys):
    assert check_new_group_defaults(momentum=0.9, weight_decay=1e-4)


def test_new_group_defaults_placeholder(capsys):
    assert not check_new_group_defaults(..., ...)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "0.9" not in out


def test_new_group_defaults_first_wrong_try_does_not_give_the_answer(capsys):
    for _ in range(REVEAL_AFTER - 1):
        assert not check_new_group_defaults(0, 0)
        assert "0.9" not in capsys.readouterr().out
    assert not check_new_group_defaults(0, 0)
    assert "The expected answer: momentum=0.9, weight_decay=0.0001" in capsys.readouterr().out
    assert not check_new_group_defaults(..., ..., reveal=True)
    assert "The expected answer: momentum=0.9" in capsys.readouterr().out
