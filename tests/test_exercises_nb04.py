"""Notebook 04's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import numpy as np
import pytest
import torch

from helpers.exercises import REVEAL_AFTER, check_new_group_defaults, check_unfreeze_last
from helpers.exercises._core import reset_tries

# --- check_unfreeze_last ---------------------------------------------------------------
# The exercise's backbone: Linear, ReLU, Linear, ReLU, Linear, ReLU; its last Linear is model[0][4].
LR = 3e-4
SOLUTION_CODE = ("requires_grad_(True), then", "model[0][4]", "'lr': 0.0003")


def right(model, optimizer):
    last = model[0][4]
    last.requires_grad_(True)
    optimizer.add_param_group({"params": last.parameters(), "lr": 3e-4})


def right_list_and_loop(model, optimizer):
    params = [model[0][4].weight, model[0][4].bias]
    for p in params:
        p.requires_grad = True
    optimizer.add_param_group({"params": params, "lr": 0.0003})


def right_by_type(model, optimizer):
    last = [m for m in model[0] if isinstance(m, torch.nn.Linear)][-1]
    last.requires_grad_(True)
    optimizer.add_param_group({"params": list(last.parameters()), "lr": 3e-4, "momentum": 0.9})


def right_negative_index(model, optimizer):
    model[0][-2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][-2].parameters(), "lr": 3e-4})


def right_tensor_lr(model, optimizer):  # a 0-d float32 tensor is a valid lr
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": torch.tensor(3e-4)})


def right_filter_frozen_out(model, optimizer):
    model[0][4].requires_grad_(True)
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    optimizer.add_param_group({"params": [p for p in model.parameters() if p.requires_grad and id(p) not in held], "lr": LR})


def right_no_momentum(model, optimizer):  # the exercise says nothing about momentum
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": 3e-4, "momentum": 0})


UNFREEZE_RIGHT = [right, right_list_and_loop, right_by_type, right_negative_index, right_tensor_lr, right_filter_frozen_out, right_no_momentum]


@pytest.mark.parametrize("answer", UNFREEZE_RIGHT, ids=lambda f: f.__name__)
def test_unfreeze_last_accepts(answer, capsys):
    assert check_unfreeze_last(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def everything(model, optimizer):
    model[0].requires_grad_(True)
    optimizer.add_param_group({"params": model[0].parameters(), "lr": LR})


def the_first(model, optimizer):
    model[0][0].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][0].parameters(), "lr": LR})


def the_middle(model, optimizer):  # the notebook's old index: model[0][2] is no longer the last
    model[0][2].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][2].parameters(), "lr": LR})


def forgot_optimizer(model, optimizer):
    model[0][4].requires_grad_(True)


def new_optimizer(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer = torch.optim.SGD([{"params": model[1].parameters()}, {"params": model[0][4].parameters(), "lr": LR}], lr=0.1)


def forgot_requires_grad(model, optimizer):
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": LR})


def default_lr(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters()})


def section_lr(model, optimizer):  # the lr of section 2's phase 2
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": 1e-3})


def weight_only_in_group(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": [model[0][4].weight], "lr": LR})


def weight_only_unfrozen(model, optimizer):
    model[0][4].weight.requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": LR})


def attribute_not_method(model, optimizer):
    model[0][4].requires_grad = True
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": LR})


def the_relu_after(model, optimizer):
    model[0][-1].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][-1].parameters(), "lr": LR})


def a_relu_by_index(model, optimizer):  # thinks index 1 is the second Linear
    model[0][1].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][1].parameters(), "lr": LR})


def appended_by_hand(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.param_groups.append({"params": list(model[0][4].parameters()), "lr": LR})


def lr_as_text(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": "3e-4"})


def lr_as_list(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters(), "lr": [3e-4]})


def filter_pattern_of_section_3(model, optimizer):  # picks up the still-frozen Linears too
    model[0][4].requires_grad_(True)
    held = {id(p) for g in optimizer.param_groups for p in g["params"]}
    optimizer.add_param_group({"params": [p for p in model.parameters() if id(p) not in held], "lr": LR})


def into_head_group(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.param_groups[0]["params"].extend(model[0][4].parameters())


def head_lr_changed(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model[0][4].parameters()})
    for group in optimizer.param_groups:
        group["lr"] = LR


def two_groups(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": [model[0][4].weight], "lr": LR})
    optimizer.add_param_group({"params": [model[0][4].bias], "lr": LR})


def froze_head(model, optimizer):
    right(model, optimizer)
    model[1].requires_grad_(False)


def model_parameters(model, optimizer):
    model[0][4].requires_grad_(True)
    optimizer.add_param_group({"params": model.parameters(), "lr": LR})


def stub(model, optimizer):
    raise NotImplementedError


UNFREEZE_WRONG = {
    "the whole backbone": (everything, "the first Linear layers were unfrozen too"),
    "the first Linear instead": (the_first, "you unfroze another Linear of the backbone, not the last one"),
    "the middle Linear instead": (the_middle, "you unfroze another Linear of the backbone, not the last one"),
    "forgot add_param_group": (forgot_optimizer, "still has 1 group"),
    "a new optimizer inside": (new_optimizer, "do not build a new one"),
    "forgot requires_grad": (forgot_requires_grad, "in the optimizer but still frozen"),
    "nothing at all": (lambda m, o: None, "the last Linear is still frozen"),
    "the constructor's lr": (default_lr, "the constructor's lr (0.1)"),
    "section 2's lr": (section_lr, "lr=0.001, not at the lr the exercise asks for"),
    "weight without bias in the group": (weight_only_in_group, "lacks the last Linear's ['bias']"),
    "only the weight unfrozen": (weight_only_unfrozen, "its ['bias'] is still frozen"),
    "attribute, not the method": (attribute_not_method, "requires_grad as an attribute of a module"),
    "the ReLU after it": (the_relu_after, "a ReLU has none"),
    "a ReLU by index": (a_relu_by_index, "a ReLU has none"),
    "appended to param_groups by hand": (appended_by_hand, "use optimizer.add_param_group"),
    "lr as text": (lr_as_text, "without quotes"),
    "lr as a list": (lr_as_list, "not a list"),
    "section 3's filter": (filter_pattern_of_section_3, "frozen ones included"),
    "into the head's group": (into_head_group, "into the head's group"),
    "head lr changed": (head_lr_changed, "the head's group changed"),
    "weight and bias in two groups at the same lr": (two_groups, "now has 3 groups: the exercise asks for the last Linear as one new group"),
    "froze the head": (froze_head, "the head is frozen now"),
    "model.parameters() again": (model_parameters, "your code raised ValueError: some parameters appear in more than one parameter group"),
    "passes the result": (None, "pass your function itself"),
    "wrong parameters": (lambda model: None, "the checker calls it as"),
}


@pytest.mark.parametrize("case", sorted(UNFREEZE_WRONG))
def test_unfreeze_last_rejects_with_a_hint(case, capsys):
    reset_tries()
    answer, hint = UNFREEZE_WRONG[case]
    assert not check_unfreeze_last(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "failed on its own" not in out, out
    assert "The expected answer" not in out
    assert not any(code in out for code in SOLUTION_CODE), out  # no first try shows the solution code


def test_unfreeze_last_stub_is_not_done(capsys):
    assert not check_unfreeze_last(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_unfreeze_last_stub_reveals_the_answer(capsys):
    assert not check_unfreeze_last(stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: model[0][4].requires_grad_(True)" in out, out


@pytest.mark.parametrize("answer", [None, lambda model: None, model_parameters], ids=["result", "parameters", "crash"])
def test_unfreeze_last_every_wrong_verdict_can_reveal(answer, capsys):
    reset_tries()
    assert not check_unfreeze_last(answer, reveal=True)
    assert "The expected answer: model[0][4].requires_grad_(True)" in capsys.readouterr().out


def test_unfreeze_last_exercise_text_asks_for_one_group():
    """Two groups at the same lr train the same; the checker rejects them because the exercise says "one new group"."""
    import nbformat
    from pathlib import Path

    text = next(c.source for c in nbformat.read(Path(__file__).resolve().parents[1] / "notebooks" / "04_add_param_group.ipynb", as_version=4).cells if "Gradual unfreezing" in c.source)
    assert "as one new group" in text


def test_unfreeze_last_reveals_after_repeated_tries(capsys):
    reset_tries()
    for _ in range(REVEAL_AFTER - 1):
        assert not check_unfreeze_last(default_lr)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_unfreeze_last(default_lr)
    assert "The expected answer: model[0][4].requires_grad_(True)" in capsys.readouterr().out


def test_unfreeze_last_leaves_the_learners_rng_alone():
    torch.manual_seed(5)
    expected = torch.rand(3)
    torch.manual_seed(5)
    check_unfreeze_last(right)
    assert torch.equal(torch.rand(3), expected)


def test_unfreeze_last_follows_its_lr_parameter(capsys):
    def at_1e3(model, optimizer):
        model[0][4].requires_grad_(True)
        optimizer.add_param_group({"params": model[0][4].parameters(), "lr": 1e-3})

    assert check_unfreeze_last(at_1e3, lr=1e-3)
    assert not check_unfreeze_last(at_1e3)


# --- check_new_group_defaults ----------------------------------------------------------
# SGD([{'params': a, 'momentum': 0.9}], lr=0.1, weight_decay=5e-4), then add_param_group({'params': b, 'lr': 0.01}):
# the new group gets momentum 0 (SGD's own default: 0.9 was in the first group's dict only) and weight_decay 5e-4.

DEFAULTS_WRONG = {
    "the first group's momentum": ((0.9, 5e-4), "does not copy the first group's momentum"),
    "the first group's momentum, no weight decay": ((0.9, 0), "does not copy the first group's momentum"),
    "PyTorch's zeros": ((0, 0), "weight_decay was a keyword of the constructor"),
    "swapped": ((5e-4, 0), "swapped"),
    "the constructor's lr as weight decay": ((0.9, 0.1), "the constructor's lr (0.1) as the weight decay"),
    "the constructor's lr as momentum": ((0.1, 5e-4), "the constructor's lr (0.1) as the momentum"),
    "the new group's lr": ((0.01, 5e-4), "the new group's own lr (0.01) as the momentum"),
    "scaled by the lr ratio": ((0, 5e-5), "scaled the weight decay by the groups' lr ratio"),
    "None for no momentum": ((None, 5e-4), "momentum is None, which is not a number"),
    "None for the weight decay": ((0, None), "weight_decay is None, which is not a number"),
    "section 1's weight decay": ((0, 1e-4), "the weight decay is wrong (the momentum is right)"),
    "something else": ((0.5, 1e-3), "the momentum is wrong, and so is the weight decay"),
    "SGD's default dampening for momentum": ((0.5, 5e-4), "the momentum is wrong (the weight decay is right)"),
    "text": (("0", "5e-4"), "without quotes"),
    "a tuple for one": (((0.5, 0.2), 0), "give momentum as one number"),
    "a list for weight decay": ((0, [5e-4]), "give weight_decay as one number"),
    "a bool": ((True, 5e-4), "give momentum as one number"),
    "a two-element tensor": ((0, torch.tensor([5e-4, 5e-4])), "give weight_decay as one number"),
}


@pytest.mark.parametrize("case", sorted(DEFAULTS_WRONG))
def test_new_group_defaults_rejects_with_a_hint_not_the_answer(case, capsys):
    reset_tries()
    answer, hint = DEFAULTS_WRONG[case]
    assert not check_new_group_defaults(*answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "momentum=0," not in out and "weight_decay=0.0005" not in out, out


@pytest.mark.parametrize(
    "answer",
    [(0, 5e-4), (0.0, 0.0005), (np.float64(0.0), np.float32(5e-4)), (torch.tensor(0.0), torch.tensor(5e-4)), (np.int64(0), 5e-4), (False * 1, 5 / 10_000)],
    ids=repr,
)
def test_new_group_defaults_accepts(answer, capsys):
    assert check_new_group_defaults(*answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_new_group_defaults_keywords(capsys):
    assert check_new_group_defaults(momentum=0, weight_decay=5e-4)


def test_new_group_defaults_placeholder(capsys):
    assert not check_new_group_defaults(..., ...)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "0.0005" not in out


def test_new_group_defaults_reveals_only_when_asked_or_after_repeated_tries(capsys):
    reset_tries()
    for _ in range(REVEAL_AFTER - 1):
        assert not check_new_group_defaults(0.9, 5e-4)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_new_group_defaults(0.9, 5e-4)
    assert "The expected answer: momentum=0, weight_decay=0.0005" in capsys.readouterr().out
    assert not check_new_group_defaults(..., ..., reveal=True)
    assert "The expected answer: momentum=0, weight_decay=0.0005" in capsys.readouterr().out
