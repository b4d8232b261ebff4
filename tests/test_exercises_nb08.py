"""Notebook 08's checkers against tables of plausible wrong answers, and right ones in other spellings."""

import re

import pytest
import torch

from helpers.exercises import REVEAL_AFTER, check_adagrad, check_muon_split, muon_split_model
from helpers.exercises.nb08 import ADAGRAD_ANSWER, MUON_SPLIT_ANSWER, _AdagradLike, _mistake

# --- check_adagrad ----------------------------------------------------------------------


class Right(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                s = self.state[p].setdefault("sum", torch.zeros_like(p))
                s.addcmul_(p.grad, p.grad)
                p.addcdiv_(p.grad, s.sqrt().add_(group["eps"]), value=-group["lr"])
        return loss


class RightFormula(torch.optim.Optimizer):
    """Operators instead of in-place calls, state made eagerly in __init__, p.data updates: all fine."""

    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, {"lr": lr, "eps": eps})
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["sum"] = torch.zeros_like(p)

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.state[p]["sum"] = self.state[p]["sum"] + p.grad**2
                    p.data = p.data - group["lr"] * p.grad / (torch.sqrt(self.state[p]["sum"]) + group["eps"])
        return loss


class FromTorch(torch.optim.Adagrad):
    """torch's own Adagrad under another name: the exercise is to write step, so it is refused."""

    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, lr=lr, eps=eps)


class NoNoGrad(Right):
    def step(self, closure=None):  # the decorator is missing
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                s = self.state[p].setdefault("sum", torch.zeros_like(p))
                s.addcmul_(p.grad, p.grad)
                p.addcdiv_(p.grad, s.sqrt().add_(group["eps"]), value=-group["lr"])


class NoSkip(Right):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                s = self.state[p].setdefault("sum", torch.zeros_like(p))
                s.addcmul_(p.grad, p.grad)
                p.addcdiv_(p.grad, s.sqrt().add_(group["eps"]), value=-group["lr"])


class Rebinds(Right):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                s = self.state[p].setdefault("sum", torch.zeros_like(p))
                s.add_(p.grad**2)
                p = p - group["lr"] * p.grad / (s.sqrt() + group["eps"])  # noqa: PLW2901 - the mistake


class IgnoresClosure(Right):
    @torch.no_grad()
    def step(self, closure=None):
        super().step()  # never calls the closure
        return None


class ClosureWithoutEnableGrad(Right):
    @torch.no_grad()
    def step(self, closure=None):
        loss = closure() if closure is not None else None
        super().step()
        return loss


class ReturnsNothing(Right):
    @torch.no_grad()
    def step(self, closure=None):
        super().step(closure)


class ReturnsFloat(Right):
    @torch.no_grad()
    def step(self, closure=None):
        loss = super().step(closure)
        return None if loss is None else loss.item()


class EpsOnSelf(Right):
    """eps kept on self is right here: no scheduler or group changes it."""

    def __init__(self, params, lr=0.01, eps=1e-10):
        super().__init__(params, lr=lr)
        self.my_eps = eps

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            group["eps"] = self.my_eps
        return super().step(closure)


class NotAnOptimizer:
    def __init__(self, params, lr=0.01, eps=1e-10):
        self.params = list(params)

    def step(self, closure=None):
        pass


class NoEps(Right):
    def __init__(self, params, lr=0.01):
        super().__init__(params, lr=lr)


class Stub(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01, eps=1e-10):
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        raise NotImplementedError


def _without_learners_line(out):
    """The verdict without what quotes the learner's own code (its line, its error), which may hold anything."""
    return re.sub(r"^Not yet\. your code raised [^\n]*", "", re.sub(r"\(your line \d+: [^\n]*\)", "", out), flags=re.M)


def _from(mistake):
    return _mistake(mistake)


# case -> (answer, a piece of the printed verdict that names the mistake)
ADAGRAD_WRONG = {
    "eps inside the root": (_from("eps inside the root"), "eps is inside the square root"),
    "no square root": (_from("no square root"), "not by its square root"),
    "no accumulation": (_from("no accumulation"), "does not sum over the steps"),
    "sum of |g|": (_from("sum of |g|"), "sums |g|, not g squared"),
    "decaying average": (_from("decaying average"), "that is RMSprop"),
    "accumulates after": (_from("accumulates after"), "from before this step's g**2 is added"),
    "starts at one": (_from("starts at one"), "starts at 1"),
    "uphill": (_from("uphill"), "went uphill"),
    "lr on self": (_from("lr on self"), "change nothing"),
    "default eps": (_from("default eps"), "default eps is not 1e-10"),
    "default lr": (_from("default lr"), "default lr is not 0.01"),
    "eps ignored": (_from("eps ignored"), "does not use the eps it was given"),
    "torch's Adagrad itself": (torch.optim.Adagrad, "torch.optim.Adagrad's own step()"),
    "a subclass of torch's Adagrad": (FromTorch, "torch.optim.Adagrad's own step()"),
    "returns loss.item()": (ReturnsFloat, "not the tensor the closure returned"),
    "no @torch.no_grad()": (NoNoGrad, "@torch.no_grad()"),
    "no skip of None grads": (NoSkip, "p.grad is None"),
    "rebinds p": (Rebinds, "leaves every parameter as it was"),
    "ignores the closure": (IgnoresClosure, "called the closure 0 times"),
    "closure without enable_grad": (ClosureWithoutEnableGrad, "torch.enable_grad()"),
    "returns nothing": (ReturnsNothing, "not the closure's loss"),
    "not an Optimizer subclass": (NotAnOptimizer, "not a subclass of torch.optim.Optimizer"),
    "an instance": (Right([torch.zeros(1, requires_grad=True)]), "pass your class itself"),
    "no eps parameter": (NoEps, "the checker builds it as"),
    "a function": (lambda params, lr=0.01, eps=1e-10: Right(params, lr, eps), "pass your class itself"),
}

# Pieces of the answer: no first-try message or hint may hold one.
ADAGRAD_PIECES = ["addcmul_", "addcdiv_", "s.sqrt().add_", "setdefault('sum'", ADAGRAD_ANSWER]


def test_the_mistake_classes_are_right_without_a_mistake():
    """The table's machinery with no switch on is torch.optim.Adagrad, so each row tests one mistake."""
    assert check_adagrad(_AdagradLike)


@pytest.mark.parametrize("case", sorted(ADAGRAD_WRONG))
def test_adagrad_rejects(case, capsys):
    answer, piece = ADAGRAD_WRONG[case]
    assert not check_adagrad(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and piece in out, out
    assert "The expected answer" not in out


@pytest.mark.parametrize("case", sorted(ADAGRAD_WRONG))
def test_adagrad_first_try_holds_no_piece_of_the_answer(case, capsys):
    assert not check_adagrad(ADAGRAD_WRONG[case][0])
    out = _without_learners_line(capsys.readouterr().out)
    assert not [piece for piece in ADAGRAD_PIECES if piece in out], out


@pytest.mark.parametrize("answer", [Right, RightFormula, EpsOnSelf], ids=lambda c: c.__name__)
def test_adagrad_accepts(answer, capsys):
    assert check_adagrad(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_adagrad_stub_is_not_done(capsys):
    assert not check_adagrad(Stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_adagrad_reveals_only_when_asked_or_from_the_third_try(capsys):
    wrong = ADAGRAD_WRONG["uphill"][0]
    for _ in range(REVEAL_AFTER - 1):
        assert not check_adagrad(wrong)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_adagrad(wrong)
    assert "The expected answer: " + ADAGRAD_ANSWER in capsys.readouterr().out
    assert not check_adagrad(Stub, reveal=True)
    assert "The expected answer: " + ADAGRAD_ANSWER in capsys.readouterr().out


def test_adagrad_error_is_reported_at_the_learners_line(capsys):
    assert not check_adagrad(NoSkip)
    assert "(your line" in capsys.readouterr().out


def test_adagrad_problem_tells_the_mistakes_apart():
    """Every mistake of the table gives another trajectory than torch.optim.Adagrad, and than each other."""
    from helpers.exercises.nb08 import _ADAGRAD_MISTAKES, _RUNS, _adagrad_run, _close_runs, _reference

    runs = {}
    for name, _, _ in [("", "", "")] + _ADAGRAD_MISTAKES:
        cls = _AdagradLike if not name else _mistake(name)
        runs[name] = [_adagrad_run(lambda g, kw, c=cls: c(g, **kw), *run) for run in _RUNS]
    for k, run in enumerate(_RUNS):
        assert _close_runs(runs[""][k], _adagrad_run(_reference, *run))
    names = list(runs)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not all(_close_runs(x, y) for x, y in zip(runs[a], runs[b])), (a, b)


# --- check_muon_split -------------------------------------------------------------------


def split_right(model):
    muon, adamw = [], []
    for name, p in model.named_parameters():
        (muon if name.startswith("blocks.") and p.ndim == 2 else adamw).append(p)
    return muon, adamw


def split_named_pairs(model):
    named = list(model.named_parameters())
    return [(n, p) for n, p in named if "blocks" in n and p.dim() == 2], [(n, p) for n, p in named if not ("blocks" in n and p.dim() == 2)]


def split_by_modules(model):
    """Through the modules: the Linear weights inside the blocks; generators, returned as a tuple."""
    muon = [m.weight for block in model.blocks for m in block.modules() if isinstance(m, torch.nn.Linear)]
    ids = {id(p) for p in muon}
    return (p for p in muon), (p for p in model.parameters() if id(p) not in ids)


def split_all_2d(model):
    named = list(model.named_parameters())
    return [p for _, p in named if p.ndim == 2], [p for _, p in named if p.ndim != 2]


def split_all_2d_but_embed(model):  # forgets the head, and pos_embed does not say "embed."?
    named = list(model.named_parameters())
    hidden = [p for n, p in named if p.ndim == 2 and "tok_embed" not in n]
    ids = {id(p) for p in hidden}
    return hidden, [p for _, p in named if id(p) not in ids]


def split_weight_in_name(model):
    named = list(model.named_parameters())
    muon = [p for n, p in named if "blocks" in n and n.endswith("weight")]  # catches the norms' weights too
    ids = {id(p) for p in muon}
    return muon, [p for _, p in named if id(p) not in ids]


def split_everything_to_muon(model):
    return list(model.parameters()), []


def split_hidden_in_both(model):
    muon, _ = split_right(model)
    return muon, list(model.parameters())


def split_forgets_biases(model):
    named = list(model.named_parameters())
    muon, _ = split_right(model)
    return muon, [p for n, p in named if not n.startswith("blocks.") and p.ndim == 2]


def split_only_up(model):
    named = list(model.named_parameters())
    muon = [p for n, p in named if n.endswith("up.weight")]
    ids = {id(p) for p in muon}
    return muon, [p for _, p in named if id(p) not in ids]


def split_swapped(model):
    muon, adamw = split_right(model)
    return adamw, muon


def split_names(model):
    named = list(model.named_parameters())
    return [n for n, p in named if n.startswith("blocks.") and p.ndim == 2], [n for n, p in named if not (n.startswith("blocks.") and p.ndim == 2)]


def split_clones(model):
    muon, adamw = split_right(model)
    return [p.detach().clone() for p in muon], adamw


def split_hard_coded(model):
    names = ["blocks.0.up.weight", "blocks.0.down.weight", "blocks.1.up.weight", "blocks.1.down.weight"]
    params = dict(model.named_parameters())
    return [params[n] for n in names], [p for n, p in params.items() if n not in names]


def split_by_excluded_names(model):
    named = list(model.named_parameters())
    return [p for n, p in named if p.ndim == 2 and "embed" not in n and "head" not in n], tuple(
        p for n, p in named if not (p.ndim == 2 and "embed" not in n and "head" not in n)
    )


def split_excludes_two_prefixes(model):  # pos_embed is a matrix whose name starts with neither
    named = list(model.named_parameters())
    muon = [p for n, p in named if p.ndim == 2 and not n.startswith(("tok_embed", "lm_head"))]
    ids = {id(p) for p in muon}
    return muon, [p for _, p in named if id(p) not in ids]


def split_sets(model):
    muon, adamw = split_right(model)
    return set(muon), set(adamw)


def split_another_model(model):  # splits the notebook's muon_split_model(), not the argument
    return split_right(muon_split_model())


def split_optimizers(model):
    muon, adamw = split_right(model)
    return torch.optim.Muon(muon), torch.optim.AdamW(adamw)


def split_one_list(model):
    return split_right(model)[0]


def split_stub(model):
    raise NotImplementedError


# case -> (answer, a piece of the printed verdict that names the mistake)
SPLIT_WRONG = {
    "every 2-D parameter to Muon": (split_all_2d, "went to Muon: 2-D, but not the weight of a hidden layer"),
    "head and pos_embed to Muon": (split_all_2d_but_embed, "lm_head.weight went to Muon"),
    "'weight' in the name": (split_weight_in_name, "not 2-D (Muon refuses it"),
    "everything to Muon": (split_everything_to_muon, "not 2-D"),
    "hidden weights in both": (split_hidden_in_both, "in both lists"),
    "forgets biases and norms": (split_forgets_biases, "in neither list"),
    "only the up projections": (split_only_up, "blocks.0.down.weight, blocks.1.down.weight are weight matrices of a hidden layer, but went to AdamW"),
    "swapped": (split_swapped, "swapped"),
    "names, not tensors": (split_names, "holds names"),
    "clones": (split_clones, "not one of the model's parameters"),
    "hard-coded names": (split_hard_coded, "with 3 blocks"),
    "one list": (split_one_list, "return two lists"),
    "pos_embed to Muon": (split_excludes_two_prefixes, "pos_embed went to Muon"),
    "sets": (split_sets, "is a set"),
    "another model's parameters": (split_another_model, "of another model"),
    "optimizers, not lists": (split_optimizers, "is an optimizer (Muon)"),
    "passes a number": (3, "pass your function itself"),
}

SPLIT_PIECES = ["startswith('blocks.')", "p.ndim == 2 else adamw", MUON_SPLIT_ANSWER]


@pytest.mark.parametrize("case", sorted(SPLIT_WRONG))
def test_muon_split_rejects(case, capsys):
    answer, piece = SPLIT_WRONG[case]
    assert not check_muon_split(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and piece in out, out
    assert "The expected answer" not in out
    assert not [p for p in SPLIT_PIECES if p in out], out


@pytest.mark.parametrize("answer", [split_right, split_named_pairs, split_by_modules, split_by_excluded_names], ids=lambda f: f.__name__)
def test_muon_split_accepts(answer, capsys):
    assert check_muon_split(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_muon_split_stub_is_not_done(capsys):
    assert not check_muon_split(split_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_muon_split_reveals_when_asked(capsys):
    assert not check_muon_split(split_all_2d, reveal=True)
    assert "The expected answer: " + MUON_SPLIT_ANSWER in capsys.readouterr().out


def test_muon_split_model_has_what_the_exercise_describes():
    names = {n: tuple(p.shape) for n, p in muon_split_model().named_parameters()}
    assert names["pos_embed"] == (8, 16) and "tok_embed.weight" in names and "lm_head.weight" in names
    assert "lm_head.bias" not in names and "blocks.1.down.weight" in names and "blocks.2.up.weight" not in names
    assert "blocks.2.up.weight" in dict(muon_split_model(blocks=3).named_parameters())
    assert torch.equal(muon_split_model().pos_embed, muon_split_model().pos_embed)  # seeded
    with pytest.raises(ValueError, match="blocks must be a positive int"):
        muon_split_model(blocks=0)


def test_muon_refuses_what_the_hint_says():
    """The checker's 'Muon refuses it' is PyTorch's own ValueError for a 1-D parameter."""
    with pytest.raises(ValueError, match="Muon only supports 2D parameters"):
        torch.optim.Muon([torch.zeros(3, requires_grad=True)])


# --- the groups that differ, in both languages ----------------------------------------------



@pytest.mark.parametrize(
    "groups, english, in_chinese", [((0,), "group 0", "组 0"), ((1,), "group 1", "组 1"), ((0, 1), "group 0 and group 1", "组 0 和组 1")]
)
def test_adagrad_names_the_groups_that_differ(groups, english, in_chinese, chinese):
    class LongerSteps(Right):
        """Right, except that the steps of ``groups`` are 10% too long."""

        @torch.no_grad()
        def step(self, closure=None):
            lrs = [group["lr"] for group in self.param_groups]
            for g in groups:
                self.param_groups[g]["lr"] *= 1.1
            try:
                return super().step(closure)
            finally:
                for group, lr in zip(self.param_groups, lrs):
                    group["lr"] = lr

    message = check_adagrad.__wrapped__(LongerSteps).message
    assert message == f"with lr=0.2, eps=0.5, after the first step the parameters of {english} differ from torch.optim.Adagrad's"
    assert chinese(message) == f"使用 lr=0.2, eps=0.5 时，第一步之后 {in_chinese} 的参数就与 torch.optim.Adagrad 的不同"
