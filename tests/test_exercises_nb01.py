"""Notebook 01's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import warnings

import pytest
import torch
from torch import nn

from helpers import TinyMLP
from helpers.exercises import check_body_head_lrs, check_no_decay_groups, reset_tries


@pytest.fixture(autouse=True)
def fresh_tries():
    reset_tries()
    yield
    reset_tries()


# --- exercise 1: AdamW, lr 5e-4, weight decay 0.1 except biases and the BatchNorm ------------


def norm_model():
    return nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))


def split(model):
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim == 1]
    return decay, no_decay


def by_ndim(cls=torch.optim.AdamW, lr=5e-4, wd=0.1, **kw):
    def build(model):
        decay, no_decay = split(model)
        return cls([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}], lr=lr, **kw)

    return build


def by_name(model):  # three groups, by name: as valid as splitting by shape
    weights = [model[0].weight, model[3].weight]
    biases = [model[0].bias, model[3].bias]
    norm = list(model[1].parameters())
    return torch.optim.AdamW(
        [{"params": weights}, {"params": biases, "weight_decay": 0}, {"params": norm, "weight_decay": 0.0}],
        lr=0.0005,
        weight_decay=0.1,
    )


def defaults_used(model):  # AdamW's own default weight_decay is 0.01, not the exercise's 0.1
    decay, no_decay = split(model)
    return torch.optim.AdamW([{"params": decay}, {"params": no_decay, "weight_decay": 0}], lr=5e-4)


def group_lrs(model):  # the lr in each dict instead of the constructor
    decay, no_decay = split(model)
    return torch.optim.AdamW(
        [{"params": decay, "lr": 5e-4, "weight_decay": 0.1}, {"params": no_decay, "lr": 5e-4, "weight_decay": 0}]
    )


def by_prefix(model):  # split by name: the BatchNorm is module "1"
    named = list(model.named_parameters())
    skip = [p for n, p in named if n.startswith("1.") or n.endswith(".bias")]
    keep = [p for n, p in named if not (n.startswith("1.") or n.endswith(".bias"))]
    return torch.optim.AdamW([{"params": keep}, {"params": skip, "weight_decay": 0.0}], lr=5e-4, weight_decay=0.1)


def named_groups(model):
    named = dict(model.named_parameters())
    return torch.optim.AdamW(
        [
            {"params": [(n, p) for n, p in named.items() if p.ndim > 1], "weight_decay": 0.1},
            {"params": [(n, p) for n, p in named.items() if p.ndim == 1], "weight_decay": 0.0},
        ],
        lr=5e-4,
    )


def adam_decoupled(model):  # Adam(decoupled_weight_decay=True) is AdamW
    decay, no_decay = split(model)
    return torch.optim.Adam(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-4, decoupled_weight_decay=True
    )


def decays_everything(model):
    return torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.1)


def decays_nothing(model):
    return torch.optim.AdamW(model.parameters(), lr=5e-4, weight_decay=0.0)


def norm_weight_decayed(model):  # split by name "bias" only: the BatchNorm's weight gets decay
    named = dict(model.named_parameters())
    bias = [p for n, p in named.items() if n.endswith("bias")]
    rest = [p for n, p in named.items() if not n.endswith("bias")]
    return torch.optim.AdamW([{"params": rest, "weight_decay": 0.1}, {"params": bias, "weight_decay": 0.0}], lr=5e-4)


def biases_decayed(model):  # only the BatchNorm left out
    norm = list(model[1].parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in norm)]
    return torch.optim.AdamW([{"params": rest, "weight_decay": 0.1}, {"params": norm, "weight_decay": 0.0}], lr=5e-4)


def no_decay_group_left_out(model):
    decay, _ = split(model)
    return torch.optim.AdamW(decay, lr=5e-4, weight_decay=0.1)


def bias_relies_on_default(model):  # forgot weight_decay=0 in the second group: it gets the constructor's 0.1
    decay, no_decay = split(model)
    return torch.optim.AdamW([{"params": decay}, {"params": no_decay}], lr=5e-4, weight_decay=0.1)


def twice_in_a_group(model):
    decay, no_decay = split(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.optim.AdamW(
            [{"params": decay + [decay[0]], "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-4
        )


def other_model(model):
    return by_ndim()(norm_model())


def two_optimizers(model):
    decay, no_decay = split(model)
    return torch.optim.AdamW(decay, lr=5e-4, weight_decay=0.1), torch.optim.AdamW(no_decay, lr=5e-4, weight_decay=0.0)


def group_dicts_only(model):
    decay, no_decay = split(model)
    return [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}]


def generator_read_twice(model):  # the second comprehension finds the generator empty
    params = model.parameters()
    decay = [p for p in params if p.ndim > 1]
    no_decay = [p for p in params if p.ndim == 1]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}], lr=5e-4)


def swapped_decays(model):
    decay, no_decay = split(model)
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.0}, {"params": no_decay, "weight_decay": 0.1}], lr=5e-4)


def section_lr(model):  # section 4's AdamW lr, which is also AdamW's default
    return by_ndim(lr=1e-3)(model)


NO_DECAY_WRONG = {
    "Adam instead of AdamW": (by_ndim(torch.optim.Adam), "L2 added to the gradient", "use torch.optim.AdamW"),
    "the generator read twice": (generator_read_twice, "group 1 is empty, and 0.bias is in no group", "empty once read"),
    "decays swapped": (swapped_decays, "the decays are swapped", "weight_decay=0 to the group of biases"),
    "AdamW's default decay on the weights": (defaults_used, "weight_decay=0.01, not the amount", "AdamW's default weight_decay"),
    "section 4's lr": (section_lr, "trains at lr=0.001", "section 4's lr"),
    "SGD instead of AdamW": (by_ndim(torch.optim.SGD, momentum=0.9), "you built SGD", "use torch.optim.AdamW"),
    "lr 0.1": (by_ndim(lr=0.1), "trains at lr=0.1", "re-read the exercise's lr"),
    "lr 1e-4": (by_ndim(lr=1e-4), "trains at lr=0.0001", "re-read the exercise's lr"),
    "weight decay 0.01 by hand": (by_ndim(wd=0.01), "weight_decay=0.01", "AdamW's default"),
    "weight decay 0.5": (by_ndim(wd=0.5), "weight_decay=0.5, not the amount", "re-read the weight decay"),
    "weight decay of section 4": (by_ndim(wd=0.05), "weight_decay=0.05", "section 4 of the notebook"),
    "everything decayed": (decays_everything, "0.bias is a bias and is decayed", "biases go in a group with weight_decay=0"),
    "nothing decayed": (decays_nothing, "0.weight is a weight that gets no decay", "the Linear weights get the decay"),
    "BatchNorm weight decayed": (norm_weight_decayed, "1.weight belongs to a normalization layer", "norm layer's scale and shift"),
    "biases decayed": (biases_decayed, "0.bias is a bias and is decayed", "biases go in a group"),
    "the constructor's decay on biases": (bias_relies_on_default, "0.bias is a bias and is decayed", "AdamW's default is not 0"),
    "a parameter in no group": (no_decay_group_left_out, "0.bias is in no group", "every parameter of the model"),
    "a parameter twice": (twice_in_a_group, "appears twice", "exactly one group"),
    "another model's tensors": (other_model, "not one of this model's parameters", "the very model"),
    "two optimizers": (two_optimizers, "you built 2 optimizers", "a single optimizer"),
    "the group dicts, not an optimizer": (group_dicts_only, "the list of group dicts itself", "torch.optim.AdamW([...]"),
    "the class": (lambda model: torch.optim.AdamW, "the class AdamW", "call it"),
    "a number": (lambda model: 0.01, "build a torch.optim optimizer", "optimizer = torch.optim.AdamW"),
}
NO_DECAY_SECRETS = ("lr=0.0005", "'weight_decay': 0.1", "5e-4", "0.0005")


@pytest.mark.parametrize("case", sorted(NO_DECAY_WRONG))
def test_no_decay_rejects_with_a_hint_not_the_answer(case, capsys):
    build, message, hint = NO_DECAY_WRONG[case]
    model = norm_model()
    assert not check_no_decay_groups(build(model), model)
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith("Not yet.") and message in out, out
    assert f"Hint: {hint}" in out or hint in out.split("Hint: ", 1)[1], out
    assert "The expected answer" not in out and not any(s in out for s in NO_DECAY_SECRETS), out
    assert len(out.strip().splitlines()) == 3, out
    assert "Warning" not in captured.err


@pytest.mark.parametrize("build", [by_ndim(), by_name, group_lrs, by_prefix, named_groups, adam_decoupled])
def test_no_decay_accepts(build, capsys):
    model = norm_model()
    assert check_no_decay_groups(build(model), model)
    assert capsys.readouterr().out.startswith("Correct! 4 tensors without decay, 2 with")


def test_no_decay_accepts_other_norm_layers(capsys):
    model = nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 1))
    assert check_no_decay_groups(by_ndim()(model), model)


def test_no_decay_not_done_and_reveal(capsys):
    model = norm_model()
    assert not check_no_decay_groups(..., model)
    assert capsys.readouterr().out.startswith("Not done yet: replace the `...`")
    assert not check_no_decay_groups(by_ndim(lr=0.1)(model), model, reveal=True)
    out = capsys.readouterr().out
    assert "The expected answer: torch.optim.AdamW(" in out and "lr=0.0005" in out and "'weight_decay': 0.1" in out
    assert "0.bias" in out.split("The expected answer")[1] and "1.weight" in out.split("The expected answer")[1]


def test_no_decay_reveals_after_repeated_tries(capsys):
    model = norm_model()
    for _ in range(2):
        assert not check_no_decay_groups(by_ndim(wd=0.5)(model), model)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_no_decay_groups(by_ndim(wd=0.5)(model), model)
    assert "The expected answer: torch.optim.AdamW(" in capsys.readouterr().out


def test_no_decay_never_raises(capsys):
    model = norm_model()
    assert not check_no_decay_groups(by_ndim()(model), "model")
    assert "the second argument must be the model" in capsys.readouterr().out
    opt = by_ndim()(model)
    opt.param_groups[0]["weight_decay"] = "0.01"
    assert not check_no_decay_groups(opt, model)
    assert "weight_decay must be a number" in capsys.readouterr().out


# --- exercise 2: one Adam, body at 3e-4, head at 3e-3 ----------------------------------------


def net():
    return TinyMLP(3, hidden=12, out_features=4, depth=3)


def two_dicts(cls=torch.optim.Adam, body=3e-4, head=3e-3, **kw):
    def build(n):
        return cls([{"params": n.body.parameters(), "lr": body}, {"params": n.head.parameters(), "lr": head}], **kw)

    return build


def head_by_default(n):
    return torch.optim.Adam([{"params": n.body.parameters(), "lr": 3e-4}, {"params": n.head.parameters()}], lr=3e-3)


def per_layer(n):  # a group per tensor, each with the right lr
    groups = [{"params": [p], "lr": 3e-4} for p in n.body.parameters()]
    return torch.optim.Adam(groups + [{"params": [p], "lr": 0.003} for p in n.head.parameters()])


def named(n):
    return torch.optim.Adam(
        [{"params": n.body.named_parameters(prefix="body"), "lr": 3e-4}, {"params": n.head.named_parameters(prefix="head"), "lr": 3e-3}]
    )


def by_name_prefix(n):
    named_params = list(n.named_parameters())
    return torch.optim.Adam(
        [
            {"params": [p for k, p in named_params if k.startswith("body.")], "lr": 3e-4},
            {"params": [p for k, p in named_params if k.startswith("head.")], "lr": 10 * 3e-4},
        ]
    )


def one_lr(n):
    return torch.optim.Adam(n.parameters(), lr=3e-3)


def head_forgotten(n):
    return torch.optim.Adam(n.body.parameters(), lr=3e-4)


def generator_read_twice_bh(n):  # one generator for both groups: the second group is empty
    params = n.named_parameters()
    body = [p for k, p in params if k.startswith("body.")]
    head = [p for k, p in params if k.startswith("head.")]
    return torch.optim.Adam([{"params": body, "lr": 3e-4}, {"params": head, "lr": 3e-3}])


def two_optimizers_bh(n):
    return torch.optim.Adam(n.body.parameters(), lr=3e-4), torch.optim.Adam(n.head.parameters(), lr=3e-3)


def last_body_layer_in_head(n):
    first = list(n.body[0].parameters()) + list(n.body[2].parameters())
    rest = list(n.body[4].parameters()) + list(n.head.parameters())
    return torch.optim.Adam([{"params": first, "lr": 3e-4}, {"params": rest, "lr": 3e-3}])


def twice(n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body = list(n.body.parameters())
        return torch.optim.Adam([{"params": body + body[:1], "lr": 3e-4}, {"params": n.head.parameters(), "lr": 3e-3}])


BODY_HEAD_WRONG = {
    "SGD instead of Adam": (two_dicts(torch.optim.SGD), "you built SGD", "use torch.optim.Adam"),
    "AdamW instead of Adam": (two_dicts(torch.optim.AdamW), "you built AdamW, which also shrinks every weight", "AdamW's default weight_decay is 0.01"),
    "Adam decoupled": (two_dicts(decoupled_weight_decay=True, weight_decay=0.01), "which is AdamW", "use torch.optim.Adam"),
    "swapped": (two_dicts(body=3e-3, head=3e-4), "swapped", "the pretrained body moves gently"),
    "one lr for all": (one_lr, "body and head train at the same lr", "a dict each"),
    "section 4's lrs": (two_dicts(body=1e-4, head=1e-2), "section 4's learning rates", "the exercise gives its own"),
    "body lr wrong": (two_dicts(body=1e-3), "body.0.weight trains at lr=0.001, not the body's lr", "net.body"),
    "head lr wrong": (two_dicts(head=0.1), "head.weight trains at lr=0.1, not the head's lr", "net.head"),
    "head ten times too big": (two_dicts(head=3e-2), "head.weight trains at lr=0.03", "net.head"),
    "head forgotten": (head_forgotten, "head.weight is in no group", "every parameter of the model"),
    "the generator read twice": (generator_read_twice_bh, "group 1 is empty, and head.weight is in no group", "empty once read"),
    "a layer in the wrong group": (last_body_layer_in_head, "body.4.weight trains at lr=0.003", "all of net.body's tensors"),
    "a parameter twice": (twice, "appears twice", "exactly one group"),
    "two optimizers": (two_optimizers_bh, "you built 2 optimizers", "a single optimizer"),
    "another net": (lambda n: two_dicts()(net()), "not one of this model's parameters", "the very model"),
}


@pytest.mark.parametrize("case", sorted(BODY_HEAD_WRONG))
def test_body_head_rejects_with_a_hint_not_the_answer(case, capsys):
    build, message, hint = BODY_HEAD_WRONG[case]
    n = net()
    assert not check_body_head_lrs(build(n), n)
    captured = capsys.readouterr()
    out = captured.out
    assert out.startswith("Not yet.") and message in out, out
    assert hint in out.split("Hint: ", 1)[1], out
    assert "The expected answer" not in out and "'lr': 0.0003" not in out and "'lr': 0.003" not in out, out
    assert len(out.strip().splitlines()) == 3, out
    assert "Warning" not in captured.err


@pytest.mark.parametrize(
    "build",
    [two_dicts(), head_by_default, per_layer, named, by_name_prefix, two_dicts(weight_decay=1e-5), two_dicts(torch.optim.AdamW, weight_decay=0)],
)
def test_body_head_accepts(build, capsys):
    n = net()
    assert check_body_head_lrs(build(n), n)
    assert capsys.readouterr().out.startswith("Correct! body at 0.0003, head at 0.003")


def test_body_head_other_lrs_and_reveal(capsys):
    n = net()
    assert check_body_head_lrs(two_dicts(body=1e-4, head=1e-2)(n), n, body_lr=1e-4, head_lr=1e-2)  # section 4's, when asked for
    capsys.readouterr()
    assert not check_body_head_lrs(..., n)
    assert capsys.readouterr().out.startswith("Not done yet: replace the `...`")
    assert not check_body_head_lrs(one_lr(n), n, reveal=True)
    assert "The expected answer: torch.optim.Adam([{'params': net.body.parameters(), 'lr': 0.0003}" in capsys.readouterr().out


def test_body_head_never_raises(capsys):
    assert not check_body_head_lrs(two_dicts()(net()), nn.Linear(2, 2))
    assert "with .body and .head" in capsys.readouterr().out
    n = net()
    opt = two_dicts()(n)
    opt.param_groups[0]["lr"] = None
    assert not check_body_head_lrs(opt, n)
    assert "body.0.weight trains at lr=None" in capsys.readouterr().out


@pytest.mark.parametrize("checker, model", [(check_body_head_lrs, net), (check_no_decay_groups, norm_model)])
def test_swapped_arguments_get_one_line(checker, model, capsys):
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    assert not checker(m, opt)
    out = capsys.readouterr().out
    assert "you passed the model first and the optimizer second" in out and "the optimizer comes first" in out, out
    assert len(out.strip().splitlines()) == 3 and "The expected answer" not in out, out
    assert not checker(opt, "net")
    out = capsys.readouterr().out
    assert "got str 'net'" in out and len(out.strip().splitlines()) == 3 and "The expected answer" not in out, out
    assert not checker(m, m)
    out = capsys.readouterr().out
    assert "build a torch.optim optimizer, got a " in out and "model" in out and len(out.strip().splitlines()) == 3, out


@pytest.mark.parametrize("checker, model", [(check_body_head_lrs, net), (check_no_decay_groups, norm_model)])
def test_stub_with_reveal_shows_the_answer(checker, model, capsys):
    assert not checker(..., model(), reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: torch.optim.Adam" in out, out


@pytest.mark.parametrize("checker, model", [(check_body_head_lrs, net), (check_no_decay_groups, norm_model)])
def test_every_wrong_verdict_can_be_revealed(checker, model, capsys):
    table = BODY_HEAD_WRONG if checker is check_body_head_lrs else NO_DECAY_WRONG
    for case, (build, _, _) in sorted(table.items()):
        m = model()
        assert not checker(build(m), m, reveal=True)
        assert "The expected answer: torch.optim.Adam" in capsys.readouterr().out, case
    m = model()
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    for args in [(m, opt), (opt, "net"), (m, m)]:  # swapped, no model, no optimizer
        assert not checker(*args, reveal=True)
        assert "The expected answer: torch.optim.Adam" in capsys.readouterr().out, args
