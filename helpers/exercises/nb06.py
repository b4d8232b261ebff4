"""Checkers for notebook 06 (what one step does, and when it needs a closure)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from typing import Any

import torch

from ._core import Verdict, as_number, call_student, checker, describe, not_a_function, right, wrong

__all__ = ["check_closure", "check_nesterov_step"]

F = torch.nn.functional


# --- exercise 1: one Nesterov step by hand ------------------------------------------------


Step = Callable[[torch.Tensor, torch.Tensor, "torch.Tensor | None", float, float], tuple[torch.Tensor, torch.Tensor]]


def _nesterov_reference(p, grad, buf, lr, momentum):
    """What ``torch.optim.SGD(lr, momentum, nesterov=True)`` does to one tensor (dampening 0)."""
    new_buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * (grad + momentum * new_buf), new_buf


def _classical(p, grad, buf, lr, momentum):
    new_buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * new_buf, new_buf


def _uphill(p, grad, buf, lr, momentum):
    new_buf = grad.clone() if buf is None else momentum * buf + grad
    return p + lr * (grad + momentum * new_buf), new_buf


def _dampened(p, grad, buf, lr, momentum):
    new_buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    return p - lr * (grad + momentum * new_buf), new_buf


def _dampened_from_zeros(p, grad, buf, lr, momentum):
    new_buf = momentum * (torch.zeros_like(p) if buf is None else buf) + (1 - momentum) * grad
    return p - lr * (grad + momentum * new_buf), new_buf


def _lr_twice(p, grad, buf, lr, momentum):
    new_buf = lr * grad if buf is None else momentum * buf + lr * grad
    return p - lr * (grad + momentum * new_buf), new_buf


def _lr_in_buffer(p, grad, buf, lr, momentum):  # the "Sutskever" form: right p, buffer scaled by lr
    new_buf = lr * grad if buf is None else momentum * buf + lr * grad
    return p - (lr * grad + momentum * new_buf), new_buf


def _lr_on_grad_only(p, grad, buf, lr, momentum):
    new_buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * grad - momentum * new_buf, new_buf


def _no_accumulation(p, grad, buf, lr, momentum):
    return p - lr * (1 + momentum) * grad, grad.clone()


_DAMPENING = (
    "your buffer adds (1 - momentum) * grad: that is dampening, which SGD's default (and Nesterov) leaves at 0",
    "add the gradient itself to the buffer: buf = momentum * buf + grad",
)

# (step function, what is wrong, hint) for the mistakes learners make.
_NESTEROV_MISTAKES: list[tuple[Step, str, str]] = [
    (
        _classical,
        "that is classical momentum (p - lr * buf), not Nesterov",
        "Nesterov steps along grad + momentum * buf, with buf already updated to momentum * buf + grad",
    ),
    (_uphill, "the step went uphill: p moved along the gradient", "subtract the step: p - lr * (grad + momentum * buf)"),
    (_dampened, *_DAMPENING),
    (_dampened_from_zeros, *_DAMPENING),
    (
        _lr_twice,
        "the learning rate is applied twice: once inside the buffer and again in the step",
        "keep lr out of the buffer (buf = momentum * buf + grad); multiply by lr only in the step",
    ),
    (
        _lr_in_buffer,
        "p is right, but your buffer holds lr times SGD's momentum_buffer",
        "keep lr out of the buffer: buf = momentum * buf + grad; lr multiplies only the step",
    ),
    (
        _lr_on_grad_only,
        "only the gradient is multiplied by lr; the momentum term is not",
        "multiply the whole direction by lr: p - lr * (grad + momentum * buf)",
    ),
    (
        _no_accumulation,
        "your buffer does not accumulate: it is just this step's gradient",
        "from the second step on, buf = momentum * buf + grad, with the buf passed in",
    ),
]

NESTEROV_ANSWER = (
    "new_buf = grad.clone() if buf is None else momentum * buf + grad; "
    "new_p = p - lr * (grad + momentum * new_buf); return new_p, new_buf"
)
CLOSURE_ANSWER = (
    "def closure(): optimizer.zero_grad(); loss = nn.functional.mse_loss(model(x), y); loss.backward(); return loss "
    "-- defined inside make_closure, which ends with `return closure`"
)

# lr must differ from 1 - momentum, or dampening and "lr applied twice" give the same first step.
_NESTEROV_SETTINGS = ((0.05, 0.9), (0.2, 0.5))


def _close(a: Any, b: torch.Tensor) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.detach().float().cpu(), b, rtol=1e-5, atol=1e-6)


def _trajectory(step: Step, start: torch.Tensor, grads: list[torch.Tensor], lr: float, momentum: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    p, buf, out = start, None, []
    for grad in grads:
        p, buf = step(p, grad, buf, lr, momentum)
        out.append((p, buf))
    return out


def _nesterov_run(nesterov_step: Callable[..., Any], lr: float, momentum: float) -> Verdict | None:
    """Three steps of the learner's function (fed its own outputs) next to ``torch.optim.SGD``;
    None when they all match. A mistake is named from the whole run, since some mistakes give
    the right first step."""
    g = torch.Generator().manual_seed(3)
    start = torch.randn(6, generator=g)
    grads = [torch.randn(6, generator=g) for _ in range(3)]
    w = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=momentum, nesterov=True)
    reference = []
    for grad in grads:
        w.grad = grad.clone()
        optimizer.step()
        reference.append((w.detach().clone(), optimizer.state[w]["momentum_buffer"].clone()))

    p, buf = start.clone(), None
    learner: list[tuple[torch.Tensor, torch.Tensor]] = []
    for step, grad in enumerate(grads, start=1):
        args = (p.clone(), grad.clone(), None if buf is None else buf.clone(), lr, momentum)
        kept = [None if a is None else a.clone() for a in args[:3]]
        ok, out = call_student(nesterov_step, args, ("p", "grad", "buf", "lr", "momentum"))
        if not ok:
            return out
        for name, given, copy in zip(("p", "grad", "buf"), args[:3], kept):
            if given is not None and not torch.equal(given, copy):
                return wrong(
                    f"at step {step} your function changed the tensor `{name}` passed in (an in-place operation)",
                    "return new tensors and leave the inputs alone: write new_p = p - lr * (...) and "
                    "new_buf = momentum * buf + grad, not p.sub_(...), buf.mul_(...) or p -= ...",
                )
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            return wrong(
                f"at step {step} your function returned {describe(out)}",
                "return two tensors: (new_p, new_buf); at the first step new_buf is the gradient itself",
            )
        new_p, new_buf = (t.detach().float().cpu().clone() for t in out)
        if step == 1 and _close(new_p, reference[0][1]) and _close(new_buf, reference[0][0]):
            return wrong("at step 1 the two returned tensors are in the wrong order", "return (new_p, new_buf): the parameter first")
        learner.append((new_p, new_buf))
        p, buf = new_p, new_buf

    def same(run: list[tuple[torch.Tensor, torch.Tensor]]) -> bool:
        return all(_close(a, c) and _close(b, d) for (a, b), (c, d) in zip(learner, run))

    if same(reference):
        return None
    step = next(k for k, ((a, b), (c, d)) in enumerate(zip(learner, reference), start=1) if not (_close(a, c) and _close(b, d)))
    want_p = reference[step - 1][0]
    expected = NESTEROV_ANSWER
    for mistake, message, hint in _NESTEROV_MISTAKES:
        if same(_trajectory(mistake, start, grads, lr, momentum)):
            return wrong(f"from step {step} on: {message}", hint, expected=expected)
    if _close(learner[step - 1][0], want_p):
        return wrong(
            f"at step {step} p is right, but the buffer differs from SGD's momentum_buffer",
            "return the updated buffer: buf = grad at the first step, then momentum * buf + grad",
            expected=expected,
        )
    return wrong(
        f"at step {step} p differs from torch.optim.SGD(nesterov=True)",
        "buf = grad at the first step, momentum * buf + grad after; then p - lr * (grad + momentum * buf)",
        expected=expected,
    )


def _with_answer(verdict: Verdict | None, answer: str) -> Verdict | None:
    """A wrong verdict, with the answer kept back for ``reveal=True`` or the third wrong try."""
    if verdict is None or verdict.kind != "wrong" or verdict.expected:
        return verdict
    return replace(verdict, expected=answer)


@checker
def check_nesterov_step(nesterov_step: Callable[..., Any]) -> Verdict:
    """Check ``nesterov_step(p, grad, buf, lr, momentum) -> (new_p, new_buf)``: one step of
    ``SGD(lr, momentum, nesterov=True)`` by hand that returns new tensors; ``buf`` is ``None``
    at the first step.

    Compared with ``torch.optim.SGD`` for three steps, with two settings of ``lr`` and
    ``momentum``; the tensors passed in must come back unchanged. Example:
    ``check_nesterov_step(nesterov_step)``.
    """
    if (verdict := not_a_function(nesterov_step)) is not None:
        return verdict
    (lr, momentum), (lr2, momentum2) = _NESTEROV_SETTINGS
    if (verdict := _with_answer(_nesterov_run(nesterov_step, lr, momentum), NESTEROV_ANSWER)) is not None:
        return verdict
    if (verdict := _nesterov_run(nesterov_step, lr2, momentum2)) is not None:
        return wrong(
            f"with lr={lr}, momentum={momentum} your steps match, but with lr={lr2}, momentum={momentum2} they do not: "
            + verdict.message,
            "use the lr and momentum passed in, not fixed numbers",
            expected=NESTEROV_ANSWER,
        )
    return right("three Nesterov steps match torch.optim.SGD(nesterov=True), for two settings of lr and momentum.")


# --- exercise 2: a closure for LBFGS -------------------------------------------------------


def _closure_problem() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
    """A linear fit with noisy targets and a few outliers, so that losses other than the mean
    squared error (Huber, L1) have other minima and other values."""
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(40, 3, generator=gen)
    y = x @ torch.tensor([[2.0], [-1.0], [0.5]]) + 1.0 + 0.3 * torch.randn(40, 1, generator=gen)
    y[:4] += torch.tensor([[9.0], [-7.0], [8.0], [6.0]])  # outliers
    model = torch.nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=gen))
        model.bias.zero_()
    return model, torch.optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe"), x, y


def _loss_and_grads(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    """The mean squared error at the model's current weights and its gradients, leaving the model alone."""
    copy = deepcopy(model)
    params = list(copy.parameters())
    loss = F.mse_loss(copy(x), y)
    grads = torch.autograd.grad(loss, params)
    return loss.item(), [g.detach() for g in grads]


def _other_losses(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[tuple[float, str, str]]:
    with torch.no_grad():
        pred = model(x)
        mse = F.mse_loss(pred, y).item()
        return [
            (F.mse_loss(pred, y, reduction="sum").item(), "the summed squared error (reduction='sum')", "keep mse_loss's default reduction='mean'"),
            (F.l1_loss(pred, y).item(), "l1_loss", "use nn.functional.mse_loss(model(x), y)"),
            (F.huber_loss(pred, y).item(), "huber_loss / smooth_l1_loss", "use nn.functional.mse_loss(model(x), y)"),
            (math.sqrt(mse), "the root of the mean squared error", "return mse_loss itself, without .sqrt()"),
            (mse / 2, "half the mean squared error", "return mse_loss itself, without a factor"),
        ]


def _call_closure(closure: Callable[..., Any], which: str) -> tuple[bool, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, out = call_student(closure, (), ())
    for warning in caught:
        text = str(warning.message)
        if "target size" in text and "different to the input size" in text:
            return False, wrong(
                f"at the {which} call mse_loss warned: {text.split('. ')[0]}",
                "model(x) and y must have the same shape (here both (N, 1)): do not squeeze one of them, or mse_loss broadcasts them",
            )
    for warning in caught:  # any other warning: show it, as it would have shown without the checker
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    if ok or not isinstance(out, Verdict) or out.kind != "wrong":
        return ok, out
    text = out.message
    if "but the checker calls it as" in text:
        return False, wrong(
            "LBFGS calls the closure with no arguments, but yours takes some",
            "define it as def closure(): and use the model, optimizer, x and y that make_closure received",
        )
    if "backward through the graph a second time" in text:
        return False, wrong(
            f"the {which} call of your closure failed: {text}",
            "compute the loss inside the closure: LBFGS calls it several times, and each call needs its own forward pass",
        )
    if "missing 1 required positional argument: 'closure'" in text:
        return False, wrong(
            f"the {which} call of your closure failed: {text}",
            "the closure only computes the loss and its gradient; LBFGS calls it from inside optimizer.step(closure), "
            "so do not call step() in it",
        )
    if "does not require grad" in text:
        return False, wrong(
            f"the {which} call of your closure failed: {text}",
            "compute the loss with gradients on: no torch.no_grad() and no .detach() before loss.backward()",
        )
    if "implicitly created only for scalar outputs" in text:
        return False, wrong(
            f"the {which} call of your closure failed: {text}",
            "the loss must be one number: keep mse_loss's default reduction='mean'",
        )
    return ok, out


def _probe(
    closure: Callable[..., Any], model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, which: str, previous: float | None = None
) -> Verdict | None:
    """Call the closure once directly, with stale gradients in ``.grad``, and check what it returns and leaves."""
    params = list(model.parameters())
    stale = [torch.full_like(p, 0.25) for p in params]
    for p, s in zip(params, stale):
        p.grad = s.clone()
    expected, grads = _loss_and_grads(model, x, y)
    ok, out = _call_closure(closure, which)
    if not ok:
        return out
    if out is None:
        return wrong(f"your closure returned nothing (None) at its {which} call", "end the closure with `return loss`: LBFGS reads the loss from it")
    value = as_number(out)
    if value is None:
        if callable(out):
            return wrong("your closure returned a function", "return the loss tensor itself, not a function")
        return wrong(f"your closure returned {describe(out)}", "return the loss: one number (a 0-d tensor)")
    if not math.isclose(value, expected, rel_tol=1e-5, abs_tol=1e-7):
        if previous is not None and math.isclose(value, previous, rel_tol=1e-6, abs_tol=1e-9):
            return wrong(
                "when the weights changed, your closure returned the same loss as before: a stale value",
                "compute the loss inside the closure, from the current parameters, at every call, and return that loss",
            )
        for candidate, what, hint in _other_losses(model, x, y):
            if math.isclose(value, candidate, rel_tol=1e-5, abs_tol=1e-7):
                return wrong(f"your closure returns {what}, not the mean squared error", hint)
        if expected > 0 and value > 0 and math.isclose(value / expected, round(value / expected), rel_tol=1e-5):
            return wrong(
                f"your closure returns {round(value / expected)} times the mean squared error",
                "return mse_loss(model(x), y) itself, without a factor",
            )
        return wrong(
            f"at its {which} call your closure returned a loss that is not mse_loss at the current weights",
            "compute loss = nn.functional.mse_loss(model(x), y) inside the closure, from the current parameters, and return it",
        )
    for p, s, g in zip(params, stale, grads):
        if p.grad is None or not p.grad.abs().sum() > 0:
            return wrong(
                f"after the {which} call of your closure there is no gradient in .grad",
                "call loss.backward() inside the closure, after optimizer.zero_grad() (not before it)",
            )
        if torch.allclose(p.grad, s):
            return wrong(
                f"the {which} call of your closure left .grad as it was",
                "call loss.backward() inside the closure, so each call leaves the gradient at the current weights",
            )
        if torch.allclose(p.grad, s + g, rtol=1e-4, atol=1e-5):
            return wrong(
                f"after the {which} call .grad holds the old gradient plus the new one",
                "call optimizer.zero_grad() at the start of the closure: backward() adds into .grad",
            )
        if not torch.allclose(p.grad, g, rtol=1e-4, atol=1e-5):
            return wrong(
                f"after the {which} call .grad is not the gradient of mse_loss at the current weights",
                "call backward() on the same loss you return, computed from the current parameters",
            )
    return None


@checker
def check_closure(make_closure: Callable[..., Any]) -> Verdict:
    """Check ``make_closure(model, optimizer, x, y) -> closure`` for ``torch.optim.LBFGS`` with
    ``nn.functional.mse_loss`` (mean reduction).

    Calls the closure twice at different weights (with stale gradients left in ``.grad``) and
    checks the loss it returns and the gradient it leaves, then runs three LBFGS steps next to
    a reference closure. The data are noisy with outliers, so Huber or L1 losses end elsewhere.
    Example: ``check_closure(make_closure)``.
    """
    return _with_answer(_closure_verdict(make_closure), CLOSURE_ANSWER)  # type: ignore[return-value]


def _closure_verdict(make_closure: Callable[..., Any]) -> Verdict:
    if (verdict := not_a_function(make_closure)) is not None:
        return verdict
    names = ("model", "optimizer", "x", "y")
    model, optimizer, x, y = _closure_problem()
    ok, closure = call_student(make_closure, (model, optimizer, x, y), names)
    if not ok:
        return closure
    if isinstance(closure, torch.Tensor) or as_number(closure) is not None:
        return wrong(
            f"make_closure returned {describe(closure)}, not a function",
            "return the closure itself (`return closure`, without parentheses); LBFGS will call it",
        )
    if not callable(closure):
        return wrong(f"make_closure returned {describe(closure)}, not a function", "define def closure(): ... inside make_closure and `return closure`")
    if (verdict := _probe(closure, model, x, y, "first")) is not None:
        return verdict
    first, _ = _loss_and_grads(model, x, y)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    if (verdict := _probe(closure, model, x, y, "second", previous=first)) is not None:
        return verdict

    ref, ref_opt, _, _ = _closure_problem()

    def reference() -> torch.Tensor:
        ref_opt.zero_grad()
        loss = F.mse_loss(ref(x), y)
        loss.backward()
        return loss

    model, optimizer, _, _ = _closure_problem()
    ok, closure = call_student(make_closure, (model, optimizer, x, y), names)
    if not ok:
        return closure
    for step in range(1, 4):
        want = ref_opt.step(reference)
        ok, got = call_student(optimizer.step, (closure,), ("closure",))
        if not ok:
            return got
        if not torch.allclose(model.weight, ref.weight, atol=1e-4) or not torch.allclose(model.bias, ref.bias, atol=1e-4):
            return wrong(
                f"after LBFGS step {step} the weights differ from LBFGS with a correct closure",
                "the closure must zero the grads, compute mse_loss from the current parameters, call backward(), and return that loss",
            )
        number = as_number(got)
        if number is None or not math.isclose(number, want.item(), rel_tol=1e-4, abs_tol=1e-6):
            return wrong(
                f"at LBFGS step {step} optimizer.step(closure) returned {describe(got)}, not the loss",
                "return the loss from the closure: step() hands back what the first call returned",
            )
    if isinstance(got, torch.Tensor):
        return right("the closure returns the fresh loss with a fresh gradient, and three LBFGS steps match the reference.")
    return right(
        "three LBFGS steps match the reference. You return a Python number: LBFGS accepts it (it calls float() "
        "on the loss), though the usual closure returns the loss tensor."
    )
