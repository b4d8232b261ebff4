"""Notebook 06's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import pytest
import torch
from torch import nn

from helpers.exercises import check_closure, check_nesterov_step, reset_tries
from helpers.exercises.nb06 import _closure_problem

F = nn.functional


@pytest.fixture(autouse=True)
def _fresh_tries():
    reset_tries()
    yield
    reset_tries()


# --- exercise 1: nesterov_step -------------------------------------------------------------


def nesterov_right(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * (grad + momentum * buf), buf


def nesterov_zero_buffer(p, grad, buf, lr, momentum):
    # Started at zeros: with dampening 0 (which Nesterov requires), momentum * 0 + grad is
    # exactly grad, so this is the same step as SGD's "buf = grad at the first step".
    if buf is None:
        buf = torch.zeros_like(p)
    buf = momentum * buf + grad
    return p - lr * (grad + momentum * buf), buf


def nesterov_list(p, grad, buf, lr, momentum):
    buf = grad if buf is None else buf * momentum + grad  # no clone: fine, nothing is changed in place
    return [p - lr * grad - lr * momentum * buf, buf]


def nesterov_in_place_p(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    p.sub_(lr * (grad + momentum * buf))
    return p, buf


def nesterov_in_place_buf(p, grad, buf, lr, momentum):
    if buf is None:
        buf = grad.clone()
    else:
        buf.mul_(momentum).add_(grad)
    return p - lr * (grad + momentum * buf), buf


def nesterov_augmented_assignment(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    p -= lr * (grad + momentum * buf)
    return p, buf


def classical(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * buf, buf


def wrong_sign(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p + lr * (grad + momentum * buf), buf


def dampening(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + (1 - momentum) * grad
    return p - lr * (grad + momentum * buf), buf


def zero_buffer_dampened(p, grad, buf, lr, momentum):
    buf = torch.zeros_like(p) if buf is None else buf
    buf = momentum * buf + (1 - momentum) * grad
    return p - lr * (grad + momentum * buf), buf


def zero_buffer_old_lookahead(p, grad, buf, lr, momentum):
    # grad + momentum * (the old buffer) is the new buffer itself: classical momentum in disguise
    old = torch.zeros_like(p) if buf is None else buf
    return p - lr * (grad + momentum * old), momentum * old + grad


def lr_twice(p, grad, buf, lr, momentum):
    buf = lr * grad if buf is None else momentum * buf + lr * grad
    return p - lr * (grad + momentum * buf), buf


def sutskever_buffer(p, grad, buf, lr, momentum):
    buf = lr * grad if buf is None else momentum * buf + lr * grad
    return p - (lr * grad + momentum * buf), buf


def lr_on_grad_only(p, grad, buf, lr, momentum):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * grad - momentum * buf, buf


def no_accumulation(p, grad, buf, lr, momentum):
    buf = grad.clone()
    return p - lr * (grad + momentum * buf), buf


def swapped_outputs(p, grad, buf, lr, momentum):
    new_p, new_buf = nesterov_right(p, grad, buf, lr, momentum)
    return new_buf, new_p


def hard_coded(p, grad, buf, lr, momentum):
    return nesterov_right(p, grad, buf, 0.05, 0.9)  # the checker's first setting


def returns_p_only(p, grad, buf, lr, momentum):
    return nesterov_right(p, grad, buf, lr, momentum)[0]


def four_args(p, grad, buf, lr):
    return p, buf


def nesterov_stub(p, grad, buf, lr, momentum):
    raise NotImplementedError


def nesterov_crashes(p, grad, buf, lr, momentum):
    return p - lr * (grad + momentum * buf), buf  # buf is None at the first step


NESTEROV_WRONG = {
    "in place on p": (nesterov_in_place_p, "changed the tensor `p` passed in"),
    "in place on buf": (nesterov_in_place_buf, "changed the tensor `buf` passed in"),
    "p -= ...": (nesterov_augmented_assignment, "changed the tensor `p` passed in"),
    "classical momentum": (classical, "classical momentum"),
    "wrong sign": (wrong_sign, "went uphill"),
    "dampening": (dampening, "dampening"),
    "zero buffer, dampened": (zero_buffer_dampened, "dampening"),
    "old buffer in the look-ahead": (zero_buffer_old_lookahead, "classical momentum"),
    "lr applied twice": (lr_twice, "applied twice"),
    "lr inside the buffer": (sutskever_buffer, "lr times SGD's momentum_buffer"),
    "lr on the gradient only": (lr_on_grad_only, "momentum term is not"),
    "no accumulation": (no_accumulation, "does not accumulate"),
    "outputs swapped": (swapped_outputs, "wrong order"),
    "hard-coded lr and momentum": (hard_coded, "use the lr and momentum passed in"),
    "returns p only": (returns_p_only, "return two tensors"),
    "wrong parameters": (four_args, "the checker calls it as four_args(p, grad, buf, lr, momentum)"),
    "passes the result": (torch.zeros(3), "pass your function itself"),
    "crashes on None": (nesterov_crashes, "your code raised TypeError"),
}


@pytest.mark.parametrize("case", sorted(NESTEROV_WRONG))
def test_nesterov_step_rejects(case, capsys):
    answer, hint = NESTEROV_WRONG[case]
    assert not check_nesterov_step(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "new_p = p - lr * (grad + momentum * new_buf)" not in out


def test_the_nesterov_data_tell_the_mistakes_apart():
    """On the checker's data, every formula-level mistake has its own three-step run (the two
    spellings of dampening aside), so each gets its own message."""
    from helpers.exercises.nb06 import _NESTEROV_MISTAKES, _NESTEROV_SETTINGS, _close, _nesterov_reference, _trajectory

    g = torch.Generator().manual_seed(3)
    start = torch.randn(6, generator=g)
    grads = [torch.randn(6, generator=g) for _ in range(3)]
    for lr, momentum in _NESTEROV_SETTINGS:
        runs = [_trajectory(f, start, grads, lr, momentum) for f, _, _ in _NESTEROV_MISTAKES]
        runs.append(_trajectory(_nesterov_reference, start, grads, lr, momentum))
        for i in range(len(runs)):
            for j in range(i):
                assert not all(_close(a, c) and _close(b, d) for (a, b), (c, d) in zip(runs[i], runs[j])), (i, j)


@pytest.mark.parametrize("answer", [nesterov_right, nesterov_zero_buffer, nesterov_list])
def test_nesterov_step_accepts(answer, capsys):
    assert check_nesterov_step(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_nesterov_step_stub_is_not_done(capsys):
    assert not check_nesterov_step(nesterov_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_nesterov_step_error_is_reported_at_the_learners_line(capsys):
    assert not check_nesterov_step(nesterov_crashes)
    assert "(your line" in capsys.readouterr().out


def test_nesterov_step_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(2):
        assert not check_nesterov_step(classical)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_nesterov_step(classical)
    assert "The expected answer: new_buf = " in capsys.readouterr().out
    reset_tries()
    assert not check_nesterov_step(classical, reveal=True)
    assert "The expected answer: new_buf = " in capsys.readouterr().out


# --- exercise 2: make_closure --------------------------------------------------------------


def closure_factory(loss_fn, zero=True, backward=True, give=lambda loss: loss):
    def make_closure(model, optimizer, x, y):
        def closure():
            if zero:
                optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            if backward:
                loss.backward()
            return give(loss)

        return closure

    return make_closure


closure_right = closure_factory(F.mse_loss)
# mse_loss(y, pred) is the same function of the weights as mse_loss(pred, y) (the square is
# symmetric): the same value and the same gradient, so it is accepted.
closure_swapped = closure_factory(lambda pred, y: F.mse_loss(y, pred))
closure_by_hand = closure_factory(lambda pred, y: ((pred - y) ** 2).mean())
# LBFGS calls float() on what the closure returns, so a Python number works too (accepted, with a note).
closure_item = closure_factory(F.mse_loss, give=lambda loss: loss.item())
closure_detached = closure_factory(F.mse_loss, give=lambda loss: loss.detach())


def closure_model_zero_grad(model, optimizer, x, y):
    def closure():
        model.zero_grad(set_to_none=False)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    return closure


def closure_outside(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)  # computed once, outside

    def closure():
        optimizer.zero_grad()
        loss.backward()
        return loss

    return closure


def closure_outside_retained(model, optimizer, x, y):
    loss = F.mse_loss(model(x), y)

    def closure():
        optimizer.zero_grad()
        loss.backward(retain_graph=True)
        return loss

    return closure


def closure_stale_value(model, optimizer, x, y):
    old = F.mse_loss(model(x), y).detach()

    def closure():
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()
        return old

    return closure


def closure_zero_grad_after_backward(model, optimizer, x, y):
    def closure():
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.zero_grad()
        return loss

    return closure


def closure_steps_inside(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return closure


def closure_no_grad(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        with torch.no_grad():
            loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    return closure


def closure_returns_nothing(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        F.mse_loss(model(x), y).backward()

    return closure


def closure_called(model, optimizer, x, y):
    return closure_right(model, optimizer, x, y)()


def closure_backward_on_sum(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        F.mse_loss(model(x), y, reduction="sum").backward()
        return loss

    return closure


def closure_takes_an_argument(model, optimizer, x, y):
    def closure(batch):
        return F.mse_loss(model(batch), y)

    return closure


def closure_stub(model, optimizer, x, y):
    def closure():
        raise NotImplementedError

    return closure


CLOSURE_WRONG = {
    "huber loss": (closure_factory(F.huber_loss), "huber_loss"),
    "smooth l1 loss": (closure_factory(F.smooth_l1_loss), "huber_loss / smooth_l1_loss"),
    "l1 loss": (closure_factory(F.l1_loss), "l1_loss"),
    "sum reduction": (closure_factory(lambda p, y: F.mse_loss(p, y, reduction="sum")), "reduction='sum'"),
    "10x the loss": (closure_factory(lambda p, y: 10 * F.mse_loss(p, y)), "returns 10 times the mean squared error"),
    "root of the mse": (closure_factory(lambda p, y: F.mse_loss(p, y).sqrt()), "root of the mean squared error"),
    "no reduction": (closure_factory(lambda p, y: F.mse_loss(p, y, reduction="none")), "reduction='mean'"),
    "no zero_grad": (closure_factory(F.mse_loss, zero=False), "call optimizer.zero_grad() at the start of the closure"),
    "no backward": (closure_factory(F.mse_loss, backward=False), "call loss.backward() inside the closure"),
    "no zero_grad, no backward": (closure_factory(F.mse_loss, zero=False, backward=False), "left .grad as it was"),
    "zero_grad after backward": (closure_zero_grad_after_backward, "after optimizer.zero_grad() (not before it)"),
    "loss computed outside": (closure_outside, "compute the loss inside the closure"),
    "loss outside, retain_graph": (closure_outside_retained, "stale value"),
    "stale returned value": (closure_stale_value, "stale value"),
    "step inside the closure": (closure_steps_inside, "do not call step() in it"),
    "no_grad around the loss": (closure_no_grad, "no torch.no_grad()"),
    "returns nothing": (closure_returns_nothing, "returned nothing (None)"),
    "returns closure()": (closure_called, "without parentheses"),
    "backward on another loss": (closure_backward_on_sum, "call backward() on the same loss you return"),
    "squeezed prediction": (closure_factory(lambda p, y: F.mse_loss(p.squeeze(1), y)), "must have the same shape"),
    "closure with a parameter": (closure_takes_an_argument, "calls the closure with no arguments"),
    "passes the result": (3, "pass your function itself"),
    "wrong parameters": (lambda model, optimizer: None, "the checker calls it as"),
}


@pytest.mark.parametrize("case", sorted(CLOSURE_WRONG))
def test_closure_rejects(case, capsys):
    answer, hint = CLOSURE_WRONG[case]
    assert not check_closure(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "loss.backward(); return loss" not in out
    assert "Warning" not in capsys.readouterr().err


def test_closure_reveals_only_when_asked_or_after_repeated_tries(capsys):
    no_zero_grad = CLOSURE_WRONG["no zero_grad"][0]
    for _ in range(2):
        assert not check_closure(no_zero_grad)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_closure(no_zero_grad)
    assert "The expected answer: def closure(): optimizer.zero_grad()" in capsys.readouterr().out
    reset_tries()
    assert not check_closure(no_zero_grad, reveal=True)
    assert "The expected answer: def closure(): optimizer.zero_grad()" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer", [closure_right, closure_swapped, closure_by_hand, closure_model_zero_grad, closure_item, closure_detached]
)
def test_closure_accepts(answer, capsys):
    assert check_closure(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_closure_says_a_number_works_but_a_tensor_is_usual(capsys):
    assert check_closure(closure_item)
    assert "LBFGS accepts it" in capsys.readouterr().out


def test_closure_stub_is_not_done(capsys):
    assert not check_closure(closure_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_closure_error_is_reported_at_the_learners_line(capsys):
    assert not check_closure(closure_outside)
    out = capsys.readouterr().out
    assert "Trying to backward through the graph a second time" in out and "(your line" in out


def _lbfgs_weights(loss_fn, steps=3):
    model, optimizer, x, y = _closure_problem()

    def closure():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

    for _ in range(steps):
        optimizer.step(closure)
    return torch.cat([model.weight.detach().ravel(), model.bias.detach()])


def test_the_closure_problem_tells_the_losses_apart():
    """Noisy targets with outliers: Huber, L1 and MSE have different minima, so LBFGS ends elsewhere."""
    mse = _lbfgs_weights(F.mse_loss)
    for other in (F.huber_loss, F.l1_loss, F.smooth_l1_loss):
        assert (mse - _lbfgs_weights(other)).abs().max() > 0.05
    # the sum and 10x have the same minimum: the returned values are what tells them apart
    assert torch.allclose(mse, _lbfgs_weights(lambda p, y: F.mse_loss(p, y, reduction="sum")), atol=1e-3)
