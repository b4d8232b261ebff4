"""Checkers for notebook 08 (writing your own optimizer, and two optimizers in one loop)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch
from torch import nn

from ._core import Verdict, as_number, call_student, checker, describe, not_a_function, not_done, right, wrong

__all__ = ["check_adagrad", "check_muon_split", "muon_split_model"]


def _with_answer(verdict: Verdict, answer: str) -> Verdict:
    """A wrong or not-done verdict, with the answer kept back for ``reveal=True`` (or the third wrong try)."""
    if verdict.kind == "right" or verdict.expected:
        return verdict
    return replace(verdict, expected=answer)


# --- exercise 1: Adagrad as an optimizer ------------------------------------------------

ADAGRAD_ANSWER = (
    "in __init__: super().__init__(params, dict(lr=lr, eps=eps)); in step (under @torch.no_grad()): call the closure "
    "inside torch.enable_grad() and return its loss; for each group, for each p with p.grad not None: "
    "s = self.state[p].setdefault('sum', torch.zeros_like(p)); s.addcmul_(p.grad, p.grad); "
    "p.addcdiv_(p.grad, s.sqrt().add_(group['eps']), value=-group['lr'])"
)


class _AdagradLike(torch.optim.Optimizer):
    """Adagrad with switches for the mistakes learners make; all switches off is torch.optim.Adagrad's maths."""

    mistake = ""

    def __init__(self, params: Any, lr: float = 0.01, eps: float = 1e-10) -> None:
        if self.mistake == "default eps":
            eps = 1e-8 if eps == 1e-10 else eps
        if self.mistake == "default lr":
            lr = 1e-3 if lr == 0.01 else lr
        super().__init__(params, dict(lr=lr, eps=eps))
        self.first_lr = lr

    @torch.no_grad()
    def step(self, closure: Any = None) -> Any:
        loss = None
        if closure is not None and self.mistake != "ignores closure":
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr = self.first_lr if self.mistake == "lr on self" else group["lr"]
            eps = 1e-10 if self.mistake == "eps ignored" else group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                state = self.state[p]
                s = state.setdefault("sum", torch.ones_like(p) if self.mistake == "starts at one" else torch.zeros_like(p))
                if self.mistake == "accumulates after":
                    p.sub_(lr * g / (s.sqrt() + eps))
                    s.add_(g * g)
                    continue
                if self.mistake == "no accumulation":
                    s.copy_(g * g)
                elif self.mistake == "sum of |g|":
                    s.add_(g.abs())
                elif self.mistake == "decaying average":
                    s.mul_(0.99).add_(0.01 * g * g)
                else:
                    s.add_(g * g)
                if self.mistake == "eps inside the root":
                    denominator = (s + eps).sqrt()
                elif self.mistake == "no square root":
                    denominator = s + eps
                else:
                    denominator = s.sqrt() + eps
                step = lr * g / denominator
                p.add_(step) if self.mistake == "uphill" else p.sub_(step)
        return loss


def _mistake(name: str) -> type:
    return type(f"Adagrad_{name.replace(' ', '_')}", (_AdagradLike,), {"mistake": name})


_EPS_HINT = "the formula is p - lr * g / (sqrt(s) + eps): eps is added after the square root"

# (name of the switch, what is wrong, hint). No hint holds the code of the answer.
_ADAGRAD_MISTAKES: list[tuple[str, str, str]] = [
    ("eps inside the root", "your eps is inside the square root: sqrt(s + eps)", _EPS_HINT),
    ("no square root", "your step divides by s itself, not by its square root", "divide by sqrt(s) + eps: the root of the summed squares"),
    (
        "no accumulation",
        "your s holds only this step's squared gradient: it does not sum over the steps",
        "keep s in self.state[p] and add this step's g**2 to it at every step",
    ),
    ("sum of |g|", "your s sums |g|, not g squared", "Adagrad sums the squared gradients, g * g"),
    (
        "decaying average",
        "your s is a decaying average of g**2 (that is RMSprop), not a sum",
        "Adagrad adds g**2 to s with no decay: s + g**2",
    ),
    (
        "accumulates after",
        "your step uses s from before this step's g**2 is added",
        "add g**2 to s first, then step with the updated s",
    ),
    ("starts at one", "your s starts at 1, not at 0", "start each parameter's sum from zeros (torch.zeros_like(p))"),
    ("uphill", "the step went uphill: p moved along the gradient", "subtract the step: p - lr * ..."),
    (
        "lr on self",
        "your step uses the lr given to __init__ for every group and every step; a second group's lr and the scheduler change nothing",
        "read the learning rate from the group, group['lr'], inside step(), as Lion does in section 4",
    ),
    (
        "default eps",
        "with the default eps your steps differ: your default eps is not 1e-10",
        "give __init__ the default eps=1e-10, as torch.optim.Adagrad has",
    ),
    (
        "default lr",
        "with the default lr your steps differ: your default lr is not 0.01",
        "give __init__ the default lr=0.01, as the exercise (and torch.optim.Adagrad) has",
    ),
    (
        "eps ignored",
        "with eps=0.5 your steps are those of eps=1e-10: your step does not use the eps it was given",
        "read eps from the group, group['eps'], as you read the lr",
    ),
]


def _adagrad_problem(tiny: bool) -> tuple[list[torch.Tensor], list[list[torch.Tensor | None]]]:
    """Four parameters (the last gets no gradient) and 4 steps of gradients of varied sizes."""
    gen = torch.Generator().manual_seed(8)
    shapes = [(4, 3), (3,), (2,), (2,)]
    starts = [torch.randn(s, generator=gen) for s in shapes]
    grads: list[list[torch.Tensor | None]] = []
    for step in range(4):
        these: list[torch.Tensor | None] = [torch.randn(s, generator=gen) * (3.0 if step % 2 else 0.5) for s in shapes[:3]]
        if tiny:  # a gradient far below 1: the default eps decides its step
            these[1][0] = 1e-9  # type: ignore[index]
        grads.append(these + [None])
    return starts, grads


_RUNS = (
    # (constructor kwargs, StepLR(step_size, gamma) or None, gradients with a tiny entry);
    # the second run leaves lr and eps at their defaults, so a wrong default shows.
    ({"lr": 0.2, "eps": 0.5}, None, False),
    ({}, (2, 0.1), True),
)


def _groups(params: list[torch.Tensor]) -> list[dict[str, Any]]:
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.05}]


def _adagrad_run(make: Callable[[list[dict[str, Any]], dict[str, Any]], Any], kwargs: dict[str, Any], schedule: Any, tiny: bool) -> list[list[torch.Tensor]]:
    """Run an optimizer class on the problem; yield ('built'|'stepped', step, params) or raise what the class raised."""
    starts, grads = _adagrad_problem(tiny)
    params = [s.clone().requires_grad_(True) for s in starts]
    optimizer = make(_groups(params), kwargs)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, *schedule) if schedule else None
    out = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else g.clone()
        optimizer.step()
        out.append([p.detach().clone() for p in params])
        if scheduler is not None:
            scheduler.step()
    return out


def _reference(groups: list[dict[str, Any]], kwargs: dict[str, Any]) -> torch.optim.Optimizer:
    return torch.optim.Adagrad(groups, foreach=False, **kwargs)


def _close_runs(a: list[list[torch.Tensor]], b: list[list[torch.Tensor]]) -> bool:
    return all(torch.allclose(x, y, rtol=1e-5, atol=1e-6) for xs, ys in zip(a, b) for x, y in zip(xs, ys))


def _learner_error(text: str) -> Verdict | None:
    if "leaf Variable that requires grad" in text or "a leaf Variable" in text:
        return wrong(
            f"{text}",
            "decorate step with @torch.no_grad(): an in-place update of a parameter must not be recorded by autograd",
        )
    if "NoneType" in text:
        return wrong(
            f"{text}",
            "a parameter may have no gradient (p.grad is None): skip it, as SGDByHand and Lion do",
        )
    return None


def _run_learner(cls: type, kwargs: dict[str, Any], schedule: Any, tiny: bool) -> tuple[bool, Any]:
    def make(groups: list[dict[str, Any]], kw: dict[str, Any]) -> Any:
        return cls(groups, **kw)

    ok, out = call_student(lambda: _adagrad_run(make, kwargs, schedule, tiny), (), ())
    if not ok:
        if out.kind == "wrong" and (better := _learner_error(out.message)) is not None:
            return False, better
        return False, out
    return True, out


@checker
def check_adagrad(adagrad_class: Any) -> Verdict:
    """Check ``MyAdagrad(params, lr=0.01, eps=1e-10)``, a ``torch.optim.Optimizer`` subclass, against
    ``torch.optim.Adagrad(params, lr=lr, eps=eps)``.

    Runs both for 4 steps in two settings (two parameter groups, one parameter without a gradient;
    the second with the default lr and eps and a ``StepLR``), then checks ``step(closure)``. Example: ``check_adagrad(MyAdagrad)``.
    """
    return _with_answer(_adagrad_verdict(adagrad_class), ADAGRAD_ANSWER)


def _adagrad_verdict(cls: Any) -> Verdict:
    if not isinstance(cls, type):
        return wrong(
            f"pass your class itself, got {describe(cls)}",
            "write class MyAdagrad(torch.optim.Optimizer): ... and pass MyAdagrad, without parentheses: not an optimizer built from it",
        )
    if not issubclass(cls, torch.optim.Optimizer):
        return wrong(
            f"{cls.__name__} is not a subclass of torch.optim.Optimizer",
            "write class MyAdagrad(torch.optim.Optimizer): the base class gives you param_groups, state, zero_grad and the rest",
        )
    try:
        inspect.signature(cls).bind([], lr=0.1, eps=0.1)
    except TypeError:
        return wrong(
            f"your class is built as {cls.__name__}{inspect.signature(cls)}, but the checker builds it as {cls.__name__}(params, lr=..., eps=...)",
            "define __init__(self, params, lr=0.01, eps=1e-10)",
        )
    except ValueError:
        pass
    if getattr(cls, "step", None) is torch.optim.Adagrad.step:
        return wrong(
            f"{cls.__name__} steps with torch.optim.Adagrad's own step(): the exercise is to write the update yourself",
            "subclass torch.optim.Optimizer (not torch.optim.Adagrad) and write __init__ and step",
        )
    for kwargs, schedule, tiny in _RUNS:
        ok, learner = _run_learner(cls, kwargs, schedule, tiny)
        if not ok:
            return learner
        reference = _adagrad_run(_reference, kwargs, schedule, tiny)
        if _close_runs(learner, reference):
            continue
        starts, _ = _adagrad_problem(tiny)
        if all(torch.equal(x, s) for x, s in zip(learner[0], starts)):
            return wrong(
                "your step leaves every parameter as it was",
                "change the parameter in place (p.add_, p.sub_, ...): p = p - ... only rebinds the name p",
            )
        if not torch.equal(learner[-1][3], starts[3]):
            return wrong(
                "a parameter whose .grad is None moved",
                "skip the parameters that have no gradient: if p.grad is None: continue",
            )
        for name, message, hint in _ADAGRAD_MISTAKES:
            if _close_runs(learner, _adagrad_run(lambda g, kw, n=name: _mistake(n)(g, **kw), kwargs, schedule, tiny)):
                return wrong(message, hint)
        step = next(k for k in range(len(learner)) if not _close_runs(learner[k : k + 1], reference[k : k + 1]))
        groups = sorted({0 if i < 2 else 1 for i in range(3) if not torch.allclose(learner[step][i], reference[step][i], rtol=1e-5, atol=1e-6)})
        where = {(0,): "group 0", (1,): "group 1", (0, 1): "group 0 and group 1"}.get(tuple(groups), "")  # whole messages
        setting = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "the default lr and eps"
        if step == 0:
            return wrong(
                f"with {setting}, after the first step the parameters of {where} differ from torch.optim.Adagrad's",
                "check the first step, where s was 0: s becomes g**2, and p moves by lr * g / (sqrt(s) + eps)",
            )
        return wrong(
            f"with {setting}, step 1 matches torch.optim.Adagrad but step {step + 1} differs in {where}",
            "check what carries over between steps: s in self.state[p], and the lr read from the group at every step",
        )
    # step(closure): the closure is called once, inside enable_grad, and its loss returned.
    weight = torch.ones(3, requires_grad=True)
    losses: list[torch.Tensor] = []

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (weight**2).sum()
        loss.backward()
        losses.append(loss)
        return loss

    ok, optimizer = call_student(lambda: cls([weight], lr=0.1), (), ())
    if not ok:
        return optimizer
    ok, returned = call_student(lambda: optimizer.step(closure), (), ())
    if not ok:
        if "does not require grad" in returned.message:
            return wrong(
                "step(closure) fails: the closure's loss has no graph under torch.no_grad()",
                "call the closure inside `with torch.enable_grad():`, as SGDByHand does in section 1",
            )
        return returned
    if len(losses) != 1:
        return wrong(
            f"step(closure) called the closure {len(losses)} times, not once",
            "in step: if closure is not None, call it once (inside torch.enable_grad()) before updating",
        )
    if returned is not losses[0] and as_number(returned) is not None and as_number(returned) == losses[0].item():
        return wrong(
            f"step(closure) returned the loss as {describe(returned)}, not the tensor the closure returned",
            "return the closure's result as it is, as torch.optim's optimizers do",
        )
    if returned is not losses[0]:
        return wrong(
            f"step(closure) returned {describe(returned)}, not the closure's loss",
            "keep what the closure returned and return it at the end of step (None when there is no closure)",
        )
    return right("4 steps match torch.optim.Adagrad in two settings (two groups, a scheduler, a parameter without gradient), and step(closure) works.")


# --- exercise 2: Muon for the hidden matrices, AdamW for the rest ------------------------


class _Block(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, 2 * dim)
        self.down = nn.Linear(2 * dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(torch.relu(self.up(self.norm(x))))


class SplitExerciseModel(nn.Module):
    """Token and position embeddings, ``blocks`` of LayerNorm + two Linear layers, a final norm, an output head."""

    def __init__(self, vocab: int = 32, context: int = 8, dim: int = 16, blocks: int = 2) -> None:
        super().__init__()
        self.tok_embed = nn.Embedding(vocab, dim)
        self.pos_embed = nn.Parameter(0.02 * torch.randn(context, dim))
        self.blocks = nn.ModuleList(_Block(dim) for _ in range(blocks))
        self.norm = nn.LayerNorm(dim)
        self.lm_head = nn.Linear(dim, vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tok_embed(tokens) + self.pos_embed[: tokens.shape[-1]]
        for block in self.blocks:
            x = block(x)
        return self.lm_head(self.norm(x))


def muon_split_model(blocks: int = 2, seed: int = 0) -> nn.Module:
    """The model of notebook 08's exercise 2 (seeded). Example: ``print(muon_split_model())``."""
    if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 1:
        raise ValueError(f"blocks must be a positive int, got {blocks!r}")
    torch.manual_seed(seed)
    return SplitExerciseModel(blocks=blocks)


MUON_SPLIT_ANSWER = (
    "muon, adamw = [], []; for name, p in model.named_parameters(): "
    "(muon if name.startswith('blocks.') and p.ndim == 2 else adamw).append(p); return muon, adamw"
)


def _hidden(name: str, p: torch.Tensor) -> bool:
    return name.startswith("blocks.") and p.ndim == 2


def _as_params(part: Any, which: str, by_id: dict[int, str]) -> tuple[list[torch.Tensor], Verdict | None]:
    """The learner's list as parameters, or a verdict on what it holds instead."""
    if isinstance(part, torch.Tensor):
        return [], wrong(
            f"your {which} is one tensor, not a list of parameters",
            "return a list of the model's parameters for each optimizer",
        )
    if isinstance(part, torch.optim.Optimizer):
        return [], wrong(
            f"your {which} is an optimizer ({type(part).__name__}), not a list of parameters",
            "return the parameters only: the checker (and later your training code) builds the optimizers from them",
        )
    if isinstance(part, (set, frozenset)):
        return [], wrong(
            f"your {which} is a set: its order can change from one run to the next",
            "return lists: an optimizer's state_dict keeps its state by parameter position, so the order must not change",
        )
    if isinstance(part, (str, bytes)) or not hasattr(part, "__iter__"):
        return [], wrong(f"your {which} is {describe(part)}, not a list of parameters", "return two lists of the model's parameters")
    items = list(part)
    params = []
    for item in items:
        if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], torch.Tensor):
            item = item[1]
        if isinstance(item, str):
            return [], wrong(
                f"your {which} holds names ({item!r}), not parameters",
                "put the parameters themselves in the lists (or (name, parameter) pairs, as named_parameters() gives)",
            )
        if isinstance(item, dict):
            return [], wrong(
                f"your {which} holds a dict (a parameter group)",
                "return plain lists of parameters; each optimizer is built from one list",
            )
        if not isinstance(item, torch.Tensor):
            return [], wrong(f"your {which} holds {describe(item)}", "return lists of the model's parameters")
        if id(item) not in by_id and isinstance(item, nn.Parameter):
            return [], wrong(
                f"your {which} holds a parameter of shape {tuple(item.shape)} of another model, not of the model the checker passed",
                "take the parameters of the argument `model`, the one split_params receives",
            )
        if id(item) not in by_id:
            return [], wrong(
                f"your {which} holds a tensor of shape {tuple(item.shape)} that is not one of the model's parameters",
                "use the parameters themselves, from model.named_parameters(): no .clone(), .detach() or .data, which make other tensors",
            )
        params.append(item)
    return params, None


def _split_verdict(split_params: Callable[..., Any], blocks: int) -> Verdict | None:
    model = muon_split_model(blocks=blocks)
    by_id = {id(p): n for n, p in model.named_parameters()}
    ok, out = call_student(split_params, (model,), ("model",))
    if not ok:
        return out
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return wrong(f"your function returned {describe(out)}", "return two lists: (muon_params, adamw_params)")
    muon, verdict = _as_params(out[0], "first list (Muon's)", by_id)
    if verdict is not None:
        return verdict
    adamw, verdict = _as_params(out[1], "second list (AdamW's)", by_id)
    if verdict is not None:
        return verdict
    muon_names, adamw_names = [by_id[id(p)] for p in muon], [by_id[id(p)] for p in adamw]
    params = dict(model.named_parameters())
    want_muon = {n for n, p in params.items() if _hidden(n, p)}
    if set(muon_names) == set(params) - want_muon and set(adamw_names) == want_muon:
        return wrong("the two lists are swapped", "return (muon_params, adamw_params): Muon's list first")
    both = sorted(set(muon_names) & set(adamw_names))
    if both:
        return wrong(
            f"{', '.join(both)} {'is' if len(both) == 1 else 'are'} in both lists: two optimizers would step the same tensor",
            "give every parameter to exactly one optimizer",
        )
    repeated = sorted({n for n in muon_names if muon_names.count(n) > 1} | {n for n in adamw_names if adamw_names.count(n) > 1})
    if repeated:
        return wrong(f"{', '.join(repeated)} appears twice in one list", "list each parameter once")
    neither = [n for n in params if n not in muon_names and n not in adamw_names]
    if neither:
        return wrong(
            f"{', '.join(neither[:4])}{' ...' if len(neither) > 4 else ''} {'is' if len(neither) == 1 else 'are'} in neither list: nothing would train {'it' if len(neither) == 1 else 'them'}",
            "every parameter of the model goes to one of the two optimizers: what is not Muon's is AdamW's",
        )
    not_2d = [n for n in muon_names if params[n].ndim != 2]
    if not_2d:
        try:
            torch.optim.Muon(muon)
            refusal = ""
        except ValueError as exc:
            refusal = f" (Muon refuses it: {exc})"
        return wrong(
            f"{', '.join(not_2d)} went to Muon but {'is' if len(not_2d) == 1 else 'are'} not 2-D{refusal}",
            "Muon takes matrices only: biases and normalization weights go to AdamW",
        )
    embeddings = [n for n in muon_names if not n.startswith("blocks.")]
    if embeddings:
        return wrong(
            f"{', '.join(embeddings)} went to Muon: 2-D, but not the weight of a hidden layer",
            "the embeddings (tok_embed, and pos_embed, a table of positions) and the output head lm_head go to AdamW, "
            "however they are named: look at where each parameter sits in the model",
        )
    missed = sorted(want_muon - set(muon_names))
    if missed:
        return wrong(
            f"{', '.join(missed)} {'is a weight matrix' if len(missed) == 1 else 'are weight matrices'} of a hidden layer, but went to AdamW",
            "every 2-D weight inside the blocks goes to Muon",
        )
    try:
        torch.optim.Muon(muon, lr=0.02)
        torch.optim.AdamW(adamw, lr=3e-3)
    except Exception as exc:  # not expected once the checks above pass
        return wrong(f"building the optimizers failed: {type(exc).__name__}: {exc}", "return lists of the model's parameters")
    return None


@checker
def check_muon_split(split_params: Callable[..., Any]) -> Verdict:
    """Check ``split_params(model) -> (muon_params, adamw_params)``: the 2-D weights of the hidden
    layers (inside ``model.blocks``) for Muon, every other parameter for AdamW, each exactly once.

    Runs on ``muon_split_model()`` and on one with 3 blocks. Example: ``check_muon_split(split_params)``.
    """
    if (verdict := not_a_function(split_params)) is not None:
        return verdict
    verdict = _split_verdict(split_params, blocks=2)
    if verdict is not None:
        return _with_answer(verdict, MUON_SPLIT_ANSWER)
    verdict = _split_verdict(split_params, blocks=3)
    if verdict is not None:
        if verdict.kind == "not_done":
            return _with_answer(verdict, MUON_SPLIT_ANSWER)
        return _with_answer(
            wrong(
                "right for the model with 2 blocks, but with 3 blocks: " + verdict.message,
                "decide from each parameter's name and shape, not from a list of names written by hand",
            ),
            MUON_SPLIT_ANSWER,
        )
    return right("Muon gets the hidden weight matrices, AdamW the embeddings, norms, biases and head, with 2 blocks and with 3.")
