"""Checkers for notebook 06 (what one step does, and when it needs a closure)."""

from __future__ import annotations

import dis
import math
import types
import warnings
from collections.abc import Callable
from copy import deepcopy
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from ._core import Verdict, as_number, call_student, checker, describe, not_a_function, right, wrong

__all__ = ["check_closure", "check_nesterov_step"]

F = torch.nn.functional


# --- exercise 1: one Nesterov step by hand, with weight decay ----------------------------
#
# The notebook's section 1 shows SGD with momentum and weight decay (no Nesterov), so the
# exercise adds what it leaves out: the look-ahead of nesterov=True, with weight decay.


Step = Callable[..., tuple[torch.Tensor, torch.Tensor]]
_STEP_NAMES = ("p", "grad", "buf", "lr", "momentum", "weight_decay")


def _buffer(g, buf, momentum):
    """SGD's momentum_buffer update (dampening 0) from the gradient ``g``."""
    return g.clone() if buf is None else momentum * buf + g


def _nesterov_reference(p, grad, buf, lr, momentum, weight_decay):
    """What ``torch.optim.SGD(lr, momentum, weight_decay, nesterov=True)`` does to one tensor."""
    g = grad + weight_decay * p
    new_buf = _buffer(g, buf, momentum)
    return p - lr * (g + momentum * new_buf), new_buf


# Plausible mistakes, each a whole step function; all are compared over a whole run.
def _classical(p, grad, buf, lr, momentum, wd):
    new_buf = _buffer(grad + wd * p, buf, momentum)
    return p - lr * new_buf, new_buf


def _no_gradient_term(p, grad, buf, lr, momentum, wd):
    new_buf = _buffer(grad + wd * p, buf, momentum)
    return p - lr * momentum * new_buf, new_buf


def _old_buffer_lookahead(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = _buffer(g, buf, momentum)
    return p - lr * (g + momentum * (g if buf is None else buf)), new_buf


def _uphill(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = _buffer(g, buf, momentum)
    return p + lr * (g + momentum * new_buf), new_buf


def _buffer_minus(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = g.clone() if buf is None else momentum * buf - g
    return p - lr * (g + momentum * new_buf), new_buf


def _first_buffer_scaled(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = momentum * g if buf is None else momentum * buf + g
    return p - lr * (g + momentum * new_buf), new_buf


def _dampened(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = g.clone() if buf is None else momentum * buf + (1 - momentum) * g
    return p - lr * (g + momentum * new_buf), new_buf


def _dampened_from_zeros(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = momentum * (torch.zeros_like(p) if buf is None else buf) + (1 - momentum) * g
    return p - lr * (g + momentum * new_buf), new_buf


def _lr_twice(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = lr * g if buf is None else momentum * buf + lr * g
    return p - lr * (g + momentum * new_buf), new_buf


def _lr_in_buffer(p, grad, buf, lr, momentum, wd):  # the "Sutskever" form: right p, buffer scaled by lr
    g = grad + wd * p
    new_buf = lr * g if buf is None else momentum * buf + lr * g
    return p - (lr * g + momentum * new_buf), new_buf


def _velocity(p, grad, buf, lr, momentum, wd):  # v = momentum * v - lr * g: right p, buffer is -lr times SGD's
    g = grad + wd * p
    v = momentum * (torch.zeros_like(p) if buf is None else buf) - lr * g
    return p + momentum * v - lr * g, v


def _lr_on_grad_only(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    new_buf = _buffer(g, buf, momentum)
    return p - lr * g - momentum * new_buf, new_buf


def _no_accumulation(p, grad, buf, lr, momentum, wd):
    g = grad + wd * p
    return p - lr * (1 + momentum) * g, g.clone()


def _swapped_lr_momentum(p, grad, buf, lr, momentum, wd):
    return _nesterov_reference(p, grad, buf, momentum, lr, wd)


def _no_weight_decay(p, grad, buf, lr, momentum, wd):
    return _nesterov_reference(p, grad, buf, lr, momentum, 0.0)


def _decay_wrong_sign(p, grad, buf, lr, momentum, wd):
    return _nesterov_reference(p, grad, buf, lr, momentum, -wd)


def _decay_times_lr(p, grad, buf, lr, momentum, wd):
    return _nesterov_reference(p, grad, buf, lr, momentum, lr * wd)


def _first_step_without_lookahead(p, grad, buf, lr, momentum, wd):
    if buf is None:
        g = grad + wd * p
        return p - lr * g, g.clone()
    return _nesterov_reference(p, grad, buf, lr, momentum, wd)


def _decay_not_in_lookahead(p, grad, buf, lr, momentum, wd):
    new_buf = _buffer(grad + wd * p, buf, momentum)
    return p - lr * (grad + momentum * new_buf), new_buf


def _decay_not_in_buffer(p, grad, buf, lr, momentum, wd):  # = decoupled: p * (1 - lr * wd) - lr * (...)
    new_buf = _buffer(grad, buf, momentum)
    return p - lr * (grad + wd * p + momentum * new_buf), new_buf


_DAMPENING = (
    "your buffer adds (1 - momentum) times the gradient: that is dampening, which SGD's default (and Nesterov) leaves at 0",
    "add the gradient to the buffer unscaled, as in section 1's formula for b",
)
_LOOK_AHEAD = "reread the exercise: Nesterov's direction is this step's gradient plus momentum times the buffer after its update"

# (step function, what is wrong, hint). No hint holds the formula of the answer.
_NESTEROV_MISTAKES: list[tuple[Step, str, str]] = [
    (_classical, "p steps along the buffer alone: that is classical momentum, not Nesterov", _LOOK_AHEAD),
    (
        _no_gradient_term,
        "p steps along momentum times the buffer only: the gradient term of the direction is missing",
        "Nesterov's direction has two terms; add the one you left out",
    ),
    (
        _old_buffer_lookahead,
        "the look-ahead uses the buffer passed in, from before this step's update",
        "update the buffer first, then look ahead along the updated one",
    ),
    (_uphill, "the step went uphill: p moved along the gradient", "subtract the step from p: gradient descent goes against the gradient"),
    (
        _buffer_minus,
        "your buffer subtracts the gradient",
        "the buffer sums gradients (section 1's b); the minus sign belongs only to the step of p",
    ),
    (
        _first_buffer_scaled,
        "at the first step your buffer is momentum times the gradient",
        "at the first step SGD sets the buffer to the gradient itself, unscaled (section 1)",
    ),
    (_dampened, *_DAMPENING),
    (_dampened_from_zeros, *_DAMPENING),
    (
        _lr_twice,
        "the learning rate is applied twice: once inside the buffer and again in the step",
        "keep lr out of the buffer; it multiplies only the step of p",
    ),
    (
        _lr_in_buffer,
        "p is right, but your buffer holds lr times SGD's momentum_buffer (the 'Sutskever' form)",
        "keep lr out of the buffer: it holds gradients only, in SGD's units; lr multiplies only the step",
    ),
    (
        _velocity,
        "p is right, but your buffer is a velocity, -lr times SGD's momentum_buffer (the v = momentum * v - lr * g form)",
        "return the buffer in SGD's units: no lr and no minus sign in it; they come in only when p moves",
    ),
    (
        _lr_on_grad_only,
        "only the gradient term is multiplied by lr; the momentum term is not",
        "lr multiplies the whole direction, both of its terms",
    ),
    (
        _no_accumulation,
        "your buffer does not accumulate: it is just this step's gradient",
        "from the second step on, fold the new gradient into the buf passed in, as in section 1",
    ),
    (
        _swapped_lr_momentum,
        "your function uses lr as the momentum and momentum as the learning rate",
        "the checker passes the arguments in the order (p, grad, buf, lr, momentum, weight_decay): check your parameter list",
    ),
    (
        _no_weight_decay,
        "your step leaves out weight_decay",
        "SGD adds the weight decay term to the gradient first (section 1), and uses that gradient everywhere after",
    ),
    (
        _decay_wrong_sign,
        "your weight decay has the wrong sign: it pushes p away from 0",
        "weight decay adds to the gradient, so that the step pulls p toward 0 (section 1)",
    ),
    (
        _decay_times_lr,
        "your weight decay term is multiplied by lr before it goes into the gradient",
        "in SGD the weight decay term added to the gradient has no lr in it; lr comes in once, in the step of p",
    ),
    (
        _first_step_without_lookahead,
        "at the first step p moves along the gradient alone: the look-ahead is missing there",
        "the first step has a buffer too (set from the gradient): look ahead along it, as at every later step",
    ),
    (
        _decay_not_in_lookahead,
        "the buffer is right, but the look-ahead's gradient term leaves out the weight decay",
        "after weight decay is added, use that one gradient everywhere: in the buffer and in the direction",
    ),
    (
        _decay_not_in_buffer,
        "your weight decay acts on p only, not through the gradient into the buffer (decoupled, as AdamW does)",
        "SGD's weight decay is added to the gradient before the buffer is updated (section 1), so it enters the buffer too",
    ),
]

NESTEROV_ANSWER = (
    "g = grad + weight_decay * p; new_buf = g.clone() if buf is None else momentum * buf + g; "
    "new_p = p - lr * (g + momentum * new_buf); return new_p, new_buf"
)
CLOSURE_ANSWER = (
    "def closure(): optimizer.zero_grad(); loss = nn.functional.mse_loss(model(x), y); loss.backward(); return loss "
    "-- defined inside make_closure, which ends with `return closure`"
)

# (lr, momentum, weight_decay). lr differs from 1 - momentum, or dampening and "lr applied
# twice" give the same first step; the second setting catches numbers written into the code.
_NESTEROV_SETTINGS = ((0.05, 0.9, 0.1), (0.2, 0.5, 0.01))


def _close(a: Any, b: torch.Tensor) -> bool:
    return isinstance(a, torch.Tensor) and a.shape == b.shape and torch.allclose(a.detach().float().cpu(), b, rtol=1e-5, atol=1e-6)


def _nesterov_data() -> tuple[torch.Tensor, list[torch.Tensor]]:
    g = torch.Generator().manual_seed(3)
    start = torch.randn(6, generator=g)
    return start, [torch.randn(6, generator=g) for _ in range(3)]


def _trajectory(step: Step, start: torch.Tensor, grads: list[torch.Tensor], *setting: float) -> list[tuple[torch.Tensor, torch.Tensor]]:
    p, buf, out = start, None, []
    for grad in grads:
        p, buf = step(p, grad, buf, *setting)
        out.append((p, buf))
    return out


def _read_output(out: Any, p: torch.Tensor, step: int) -> Verdict | tuple[torch.Tensor, torch.Tensor]:
    """The learner's (new_p, new_buf) as float32 CPU tensors, or a wrong verdict saying what is off."""
    if isinstance(out, (tuple, list)) and len(out) == 2 and any(isinstance(t, np.ndarray) for t in out):
        return wrong(
            f"at step {step} your function returned NumPy arrays, not tensors",
            "return torch tensors, as torch.optim.SGD keeps them: no .numpy() at the end",
        )
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
        return wrong(
            f"at step {step} your function returned {describe(out)}",
            "return two tensors, (new_p, new_buf): the updated buffer too, at every step",
        )
    if not all(t.is_floating_point() for t in out):
        return wrong(
            f"at step {step} your function returned tensors of dtype {out[0].dtype} and {out[1].dtype}",
            "return real floating-point tensors, computed from the p and grad passed in",
        )
    if any(t.shape != p.shape for t in out):
        return wrong(
            f"at step {step} your function returned tensors of shapes {tuple(out[0].shape)} and {tuple(out[1].shape)}; p has shape {tuple(p.shape)}",
            "new_p and new_buf have p's shape: compute them element-wise, without reducing or broadcasting",
        )
    try:
        new_p, new_buf = (t.detach().to("cpu", torch.float32).clone() for t in out)
    except Exception as exc:  # e.g. tensors on the meta device hold no numbers
        return wrong(
            f"at step {step} your tensors could not be read ({type(exc).__name__})",
            "compute new_p and new_buf from the tensors passed in, on their device",
        )
    return new_p, new_buf


def _nesterov_run(nesterov_step: Callable[..., Any], lr: float, momentum: float, weight_decay: float) -> Verdict | None:
    """Three steps of the learner's function (fed its own outputs) next to ``torch.optim.SGD``;
    None when they all match. A mistake is named from the whole run, since some mistakes give
    the right first step; otherwise the first step that differs says whether p or the buffer."""
    start, grads = _nesterov_data()
    setting = (lr, momentum, weight_decay)
    w = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
    reference = []
    for grad in grads:
        w.grad = grad.clone()
        optimizer.step()
        reference.append((w.detach().clone(), optimizer.state[w]["momentum_buffer"].clone()))

    p, buf = start.clone(), None
    learner: list[tuple[torch.Tensor, torch.Tensor]] = []
    first_off: tuple[int, bool, bool, bool] | None = None  # (step, p right, buffer right, buffer returned unchanged)
    for step, grad in enumerate(grads, start=1):
        args = (p.clone(), grad.clone(), None if buf is None else buf.clone(), *setting)
        kept = [None if a is None else a.clone() for a in args[:3]]
        ok, out = call_student(nesterov_step, args, _STEP_NAMES)
        if not ok:
            return out
        for name, given, copy in zip(("p", "grad", "buf"), args[:3], kept):
            if given is not None and not torch.equal(given, copy):
                return wrong(
                    f"at step {step} your function changed the tensor `{name}` passed in (an in-place operation)",
                    "return new tensors and leave the inputs alone: no p.sub_(...), buf.mul_(...), p -= ... or buf += ...",
                )
        read = _read_output(out, p, step)
        if isinstance(read, Verdict):
            return read
        new_p, new_buf = read
        want_p, want_buf = _nesterov_reference(p, grad, buf, *setting)
        if step == 1 and _close(new_p, want_buf) and _close(new_buf, want_p):
            return wrong("at step 1 the two returned tensors are in the wrong order", "return (new_p, new_buf): the parameter first")
        if first_off is None and not (_close(new_p, want_p) and _close(new_buf, want_buf)):
            first_off = (step, _close(new_p, want_p), _close(new_buf, want_buf), buf is not None and _close(new_buf, buf))
        learner.append((new_p, new_buf))
        p, buf = new_p, new_buf

    def same(run: list[tuple[torch.Tensor, torch.Tensor]]) -> bool:
        return all(_close(a, c) and _close(b, d) for (a, b), (c, d) in zip(learner, run))

    if first_off is None and same(reference):
        return None
    step, p_right, buf_right, buf_unchanged = first_off or (1, False, False, False)
    for mistake, message, hint in _NESTEROV_MISTAKES:
        if same(_trajectory(mistake, start, grads, *setting)):
            return wrong(f"from step {step} on: {message}", hint)
    if p_right and buf_unchanged:
        return wrong(
            f"at step {step} p is right, but you returned the buffer passed in, not the updated one",
            "return the buffer after this step's update: the next step needs it",
        )
    if p_right:
        return wrong(
            f"at step {step} p is right, but the buffer differs from SGD's momentum_buffer",
            "the buffer is section 1's b, built from the gradient with weight decay added: no lr in it",
        )
    if buf_right:
        return wrong(
            f"at step {step} your buffer matches SGD's momentum_buffer, but p does not",
            "the buffer is fine: check the direction p steps along (the look-ahead), and where lr and weight decay enter it",
        )
    if step == 1:
        return wrong(
            "at step 1 neither p nor the buffer matches torch.optim.SGD(nesterov=True)",
            "start with the first step, where buf is None: the buffer starts as the gradient (weight decay added), unscaled",
        )
    return wrong(
        f"step 1 matches, but from step {step} on neither p nor the buffer does",
        "the first step is fine; check the update of a buffer that already exists (section 1's formula for b)",
    )


def _with_answer(verdict: Verdict | None, answer: str) -> Verdict | None:
    """A wrong or not-done verdict, with the answer kept back for ``reveal=True`` (or, when wrong, the third try)."""
    if verdict is None or verdict.kind == "right" or verdict.expected:
        return verdict
    return replace(verdict, expected=answer)


@checker
def check_nesterov_step(nesterov_step: Callable[..., Any]) -> Verdict:
    """Check ``nesterov_step(p, grad, buf, lr, momentum, weight_decay) -> (new_p, new_buf)``: one
    step of ``SGD(lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)`` by hand
    that returns new tensors; ``buf`` is ``None`` at the first step.

    Compared with ``torch.optim.SGD`` for three steps, with two settings of ``lr``,
    ``momentum`` and ``weight_decay``; the tensors passed in must come back unchanged.
    Example: ``check_nesterov_step(nesterov_step)``.
    """
    return _with_answer(_nesterov_verdict(nesterov_step), NESTEROV_ANSWER)  # type: ignore[return-value]


def _nesterov_verdict(nesterov_step: Callable[..., Any]) -> Verdict:
    if (verdict := not_a_function(nesterov_step)) is not None:
        return verdict
    first, second = _NESTEROV_SETTINGS
    if (verdict := _nesterov_run(nesterov_step, *first)) is not None:
        return verdict
    if (verdict := _nesterov_run(nesterov_step, *second)) is not None:
        return wrong(
            f"with lr, momentum, weight_decay = {first} your steps match, but with {second} they do not: " + verdict.message,
            "use the lr, momentum and weight_decay passed in, not fixed numbers",
        )
    return right(
        "three steps match torch.optim.SGD(nesterov=True, weight_decay=...), for two settings of lr, momentum and weight decay."
    )


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
            (F.l1_loss(pred, y).item(), "l1_loss", "the exercise asks for nn.functional.mse_loss, the squared error"),
            (F.huber_loss(pred, y).item(), "huber_loss / smooth_l1_loss", "the exercise asks for nn.functional.mse_loss, the squared error"),
            (math.sqrt(mse), "the root of the mean squared error", "return mse_loss itself, without .sqrt()"),
            (mse / 2, "half the mean squared error", "return mse_loss itself, without a factor"),
        ]


_X_SHAPE, _Y_SHAPE = (40, 3), (40, 1)  # the shapes of _closure_problem's x and y


def _call_closure(closure: Callable[..., Any], which: str) -> tuple[bool, Any]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ok, out = call_student(closure, (), ())
    for warning in caught:
        text = str(warning.message)
        if "target size" in text and "different to the input size" in text:
            return False, wrong(
                f"at the {which} mse_loss warned: {text.split('. ')[0]}",
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
            f"the {which} of your closure failed: {text}",
            "compute the loss inside the closure: LBFGS calls it several times, and each call needs its own forward pass",
        )
    if "shapes cannot be multiplied" in text or "must match the size of tensor" in text:
        return False, wrong(
            f"the {which} of your closure failed: {text}",
            f"the shapes do not fit the model the checker passes: use the model, x and y that make_closure receives "
            f"(here x has shape {_X_SHAPE} and y {_Y_SHAPE}), not other variables of the notebook",
        )
    if "RecursionError" in text:
        return False, wrong(
            f"the {which} of your closure never ended: RecursionError, the closure calls itself again and again",
            "a closure that runs optimizer.step(closure) makes step() call the closure, which steps again...: "
            "the closure only computes the loss and its gradient; the caller runs optimizer.step(closure)",
        )
    if "missing 1 required positional argument: 'closure'" in text:
        return False, wrong(
            f"the {which} of your closure failed: {text}",
            "the closure only computes the loss and its gradient; LBFGS calls it from inside optimizer.step(closure), "
            "so do not call step() in it",
        )
    if "does not require grad" in text:
        return False, wrong(
            f"the {which} of your closure failed: {text}",
            "compute the loss with gradients on: no torch.no_grad() and no .detach() before loss.backward()",
        )
    if "implicitly created only for scalar outputs" in text:
        return False, wrong(
            f"the {which} of your closure failed: {text}",
            "the loss must be one number: keep mse_loss's default reduction='mean'",
        )
    return ok, out


def _probe(
    closure: Callable[..., Any], model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, which: str, previous: float | None = None
) -> Verdict | None:
    """Call the closure once directly, with stale gradients in ``.grad``, and check what it returns and leaves.

    ``which`` names the call as the messages say it, ``"first call"`` or ``"second call"`` (one
    catalog message each), e.g. "the first call of your closure left .grad as it was".
    """
    params = list(model.parameters())
    stale = [torch.full_like(p, 0.25) for p in params]
    for p, s in zip(params, stale):
        p.grad = s.clone()
    expected, grads = _loss_and_grads(model, x, y)
    ok, out = _call_closure(closure, which)
    if not ok:
        return out
    if out is None:
        return wrong(f"your closure returned nothing (None) at its {which}", "end the closure with `return loss`: LBFGS reads the loss from it")
    value = as_number(out)
    if value is None:
        if callable(out):
            return wrong("your closure returned a function", "return the loss tensor itself, not a function")
        return wrong(f"your closure returned {describe(out)}", "return the loss: one number (a 0-d tensor)")
    if not math.isfinite(value):
        return wrong(
            f"at its {which} your closure returned {value}, not a finite loss",
            "return the loss as mse_loss computes it, with no factor or division that can overflow",
        )
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
                "return mse_loss itself, without a factor",
            )
        return wrong(
            f"at its {which} your closure returned {value:.6g}, which is not the mean squared error of the model "
            "on x and y at the current weights, nor a common variant of it (another loss, reduction or factor)",
            "check which loss function you call and which tensors you give it: the model, x and y that make_closure "
            "received, and nn.functional.mse_loss with its default reduction",
        )
    for p, s, g in zip(params, stale, grads):
        if p.grad is None or not p.grad.abs().sum() > 0:
            return wrong(
                f"after the {which} of your closure there is no gradient in .grad",
                "call loss.backward() inside the closure, after optimizer.zero_grad() (not before it)",
            )
        if torch.allclose(p.grad, s):
            return wrong(
                f"the {which} of your closure left .grad as it was",
                "call loss.backward() inside the closure, so each call leaves the gradient at the current weights",
            )
        if torch.allclose(p.grad, s + g, rtol=1e-4, atol=1e-5):
            return wrong(
                f"after the {which} .grad holds the old gradient plus the new one",
                "call optimizer.zero_grad() at the start of the closure: backward() adds into .grad",
            )
        if torch.allclose(p.grad, 2 * g, rtol=1e-4, atol=1e-5) or torch.allclose(p.grad, s + 2 * g, rtol=1e-4, atol=1e-5):
            return wrong(
                f"after the {which} .grad holds twice the gradient: backward() ran twice on the loss",
                "call backward() once per call of the closure: every backward() adds into .grad (retain_graph=True does not change that)",
            )
        if not torch.allclose(p.grad, g, rtol=1e-4, atol=1e-5):
            return wrong(
                f"after the {which} .grad is not the gradient of mse_loss at the current weights",
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
    verdict = _closure_verdict(make_closure)
    if verdict.kind == "wrong" and (used := _notebook_globals(make_closure)):
        verdict = wrong(
            f"{verdict.message}. Your code uses {used} from the notebook, not what make_closure receives",
            "use the model, optimizer, x and y that make_closure receives as parameters: the checker passes its own",
        )
    return _with_answer(verdict, CLOSURE_ANSWER)  # type: ignore[return-value]


def _code_objects(code: types.CodeType) -> list[types.CodeType]:
    """``code`` and the code of every function defined inside it."""
    found = [code]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found += _code_objects(const)
    return found


def _notebook_globals(fn: Any) -> str:
    """The global tensors, models and optimizers ``fn`` or a function inside it reads (e.g. the
    notebook's ``X``), described for a message; "" when none."""
    code, namespace = getattr(fn, "__code__", None), getattr(fn, "__globals__", None)
    if not isinstance(code, types.CodeType) or not isinstance(namespace, dict):
        return ""
    names = dict.fromkeys(  # names read as globals, not attributes (model.weight is no global `weight`)
        ins.argval
        for c in _code_objects(code)
        for ins in dis.get_instructions(c)
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str)
    )
    used = [
        (name, value)
        for name in names
        if isinstance(value := namespace.get(name), (torch.Tensor, torch.nn.Module, torch.optim.Optimizer))
    ]
    return _listed(used)


def _listed(used: list[tuple[str, Any]]) -> str:
    """``"`X` (a tensor), `model` (Linear)"``: each name with what it holds, joined with ", ".

    Built from the front, one name at a time, so that a tensor's entry and the rest of the list
    are one catalog message ("`{0}` (a tensor), {1}"): a translation sees each name whole. A
    module or optimizer is described by its class name, which no language translates.
    Example: ``_listed([("X", torch.zeros(1))])`` -> ``"`X` (a tensor)"``.
    """
    if not used:
        return ""
    (name, value), rest = used[0], _listed(used[1:])
    if isinstance(value, torch.Tensor):
        return f"`{name}` (a tensor), {rest}" if rest else f"`{name}` (a tensor)"
    kind = type(value).__name__
    return f"`{name}` ({kind}), {rest}" if rest else f"`{name}` ({kind})"


def _closure_verdict(make_closure: Callable[..., Any]) -> Verdict:
    if (verdict := not_a_function(make_closure)) is not None:
        return verdict
    names = ("model", "optimizer", "x", "y")
    model, optimizer, x, y = _closure_problem()
    before = [p.detach().clone() for p in model.parameters()]
    ok, closure = call_student(make_closure, (model, optimizer, x, y), names)
    if not ok:
        return closure
    if not all(torch.equal(p.detach(), b) for p, b in zip(model.parameters(), before)):
        return wrong(
            "make_closure itself changed the model's weights: it ran a step",
            "make_closure only builds the closure and returns it; the caller runs optimizer.step(closure) later",
        )
    if isinstance(closure, torch.Tensor) or as_number(closure) is not None:
        code = getattr(make_closure, "__code__", None)
        inner = isinstance(code, types.CodeType) and len(_code_objects(code)) > 1
        if not inner and isinstance(code, types.CodeType) and "backward" in code.co_names:
            return wrong(
                f"make_closure returned {describe(closure)}, the loss: you wrote the closure's work straight into "
                "make_closure, so it ran once, when make_closure was called",
                "put that work in a function defined inside make_closure (def closure(): ...) and return the function; "
                "LBFGS calls it as often as it needs",
            )
        return wrong(
            f"make_closure returned {describe(closure)}, not a function: it calls the closure instead of returning it",
            "return the closure itself (`return closure`, without parentheses); LBFGS will call it",
        )
    if not callable(closure):
        return wrong(f"make_closure returned {describe(closure)}, not a function", "define def closure(): ... inside make_closure and `return closure`")
    verdict = _probe(closure, model, x, y, "first call")  # not inside the `is not None`: the extractor skips comparisons
    if verdict is not None:
        return verdict
    first, _ = _loss_and_grads(model, x, y)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    verdict = _probe(closure, model, x, y, "second call", previous=first)
    if verdict is not None:
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
                f"after LBFGS step {step} the weights differ from LBFGS with a correct closure, though your closure's "
                "first two calls were right",
                "under LBFGS your closure behaves differently: does it depend on how often it was called, or keep "
                "something from an earlier call?",
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
