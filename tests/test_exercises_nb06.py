"""Notebook 06's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import re

import pytest
import torch
from torch import nn

from helpers.exercises import check_closure, check_nesterov_step, reset_tries
from helpers.exercises.nb06 import CLOSURE_ANSWER, NESTEROV_ANSWER, _closure_problem

F = nn.functional


def _without_learners_line(out):
    """The checker's own words: the learner's line it quotes ("(your line 3: ...)") may hold anything."""
    return re.sub(r" \(your line \d+.*$", "", out, flags=re.M)


@pytest.fixture(autouse=True)
def _fresh_tries():
    reset_tries()
    yield
    reset_tries()


# --- exercise 1: nesterov_step(p, grad, buf, lr, momentum, weight_decay) --------------------


def nesterov_right(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * (g + momentum * buf), buf


def nesterov_zero_buffer(p, grad, buf, lr, momentum, weight_decay):
    # Started at zeros: with dampening 0 (which Nesterov requires), momentum * 0 + g is
    # exactly g, so this is the same step as SGD's "buf = g at the first step".
    g = grad + weight_decay * p
    buf = momentum * (torch.zeros_like(p) if buf is None else buf) + g
    return p - lr * (g + momentum * buf), buf


def nesterov_list(p, grad, buf, lr, momentum, weight_decay):
    g = grad.add(p, alpha=weight_decay)
    buf = g if buf is None else buf * momentum + g  # no clone: fine, nothing is changed in place
    return [p - lr * g - lr * momentum * buf, buf]


def nesterov_expanded(p, grad, buf, lr, momentum, weight_decay):
    # the same step written with the old buffer: g + momentum * (momentum * old + g)
    g = grad + weight_decay * p
    old = torch.zeros_like(p) if buf is None else buf
    new_buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * ((1 + momentum) * g + momentum**2 * old), new_buf


def nesterov_in_place_on_copies(p, grad, buf, lr, momentum, weight_decay):
    g = grad.clone().add_(p, alpha=weight_decay)
    new_buf = g.clone() if buf is None else buf.clone().mul_(momentum).add_(g)
    new_p = p.clone()
    new_p.add_(g + momentum * new_buf, alpha=-lr)
    return new_p, new_buf


def nesterov_float64(p, grad, buf, lr, momentum, weight_decay):
    g = grad.double() + weight_decay * p.double()
    new_buf = g if buf is None else momentum * buf.double() + g
    return p.double() - lr * (g + momentum * new_buf), new_buf


NESTEROV_RIGHT = [nesterov_right, nesterov_zero_buffer, nesterov_list, nesterov_expanded, nesterov_in_place_on_copies, nesterov_float64]


def nesterov_in_place_p(p, grad, buf, lr, momentum, weight_decay):
    new_p, new_buf = nesterov_right(p.clone(), grad, buf, lr, momentum, weight_decay)
    p.copy_(new_p)
    return p, new_buf


def nesterov_in_place_buf(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    if buf is None:
        buf = g.clone()
    else:
        buf.mul_(momentum).add_(g)
    return p - lr * (g + momentum * buf), buf


def nesterov_augmented_assignment(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    p -= lr * (g + momentum * buf)
    return p, buf


def classical(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * buf, buf


def no_gradient_term(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * momentum * buf, buf


def old_buffer_lookahead(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    old = g if buf is None else buf
    new_buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * (g + momentum * old), new_buf


def zero_buffer_old_lookahead(p, grad, buf, lr, momentum, weight_decay):
    # grad + momentum * (the old buffer) is the new buffer itself: classical momentum in disguise
    g = grad + weight_decay * p
    old = torch.zeros_like(p) if buf is None else buf
    return p - lr * (g + momentum * old), momentum * old + g


def wrong_sign(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p + lr * (g + momentum * buf), buf


def buffer_minus(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf - g
    return p - lr * (g + momentum * buf), buf


def first_buffer_momentum_grad(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = momentum * g if buf is None else momentum * buf + g
    return p - lr * (g + momentum * buf), buf


def dampening(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + (1 - momentum) * g
    return p - lr * (g + momentum * buf), buf


def zero_buffer_dampened(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = momentum * (torch.zeros_like(p) if buf is None else buf) + (1 - momentum) * g
    return p - lr * (g + momentum * buf), buf


def lr_twice(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = lr * g if buf is None else momentum * buf + lr * g
    return p - lr * (g + momentum * buf), buf


def sutskever_buffer(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = lr * g if buf is None else momentum * buf + lr * g
    return p - (lr * g + momentum * buf), buf


def velocity_form(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    v = torch.zeros_like(p) if buf is None else buf
    v = momentum * v - lr * g
    return p + momentum * v - lr * g, v


def lr_on_grad_only(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * g - momentum * buf, buf


def no_accumulation(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone()
    return p - lr * (g + momentum * buf), buf


def swapped_lr_momentum(p, grad, buf, momentum, lr, weight_decay):  # parameters in the wrong order
    return nesterov_right(p, grad, buf, lr, momentum, weight_decay)


def no_weight_decay(p, grad, buf, lr, momentum, weight_decay):
    return nesterov_right(p, grad, buf, lr, momentum, 0.0)


def decay_wrong_sign(p, grad, buf, lr, momentum, weight_decay):
    g = grad - weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * (g + momentum * buf), buf


def decay_times_lr(p, grad, buf, lr, momentum, weight_decay):
    g = grad + lr * weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * (g + momentum * buf), buf


def first_step_without_lookahead(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    if buf is None:  # "no buffer yet, so no momentum"
        return p - lr * g, g.clone()
    buf = momentum * buf + g
    return p - lr * (g + momentum * buf), buf


def decay_not_in_lookahead(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p
    buf = g.clone() if buf is None else momentum * buf + g
    return p - lr * (grad + momentum * buf), buf


def decay_in_step_only(p, grad, buf, lr, momentum, weight_decay):
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p - lr * (grad + momentum * buf + weight_decay * p), buf


def decoupled_decay(p, grad, buf, lr, momentum, weight_decay):  # AdamW's way: the same as above
    buf = grad.clone() if buf is None else momentum * buf + grad
    return p * (1 - lr * weight_decay) - lr * (grad + momentum * buf), buf


def returns_old_buffer(p, grad, buf, lr, momentum, weight_decay):
    new_p, new_buf = nesterov_right(p, grad, buf, lr, momentum, weight_decay)
    return new_p, (new_buf if buf is None else buf)


def swapped_outputs(p, grad, buf, lr, momentum, weight_decay):
    new_p, new_buf = nesterov_right(p, grad, buf, lr, momentum, weight_decay)
    return new_buf, new_p


def hard_coded(p, grad, buf, lr, momentum, weight_decay):
    return nesterov_right(p, grad, buf, 0.05, 0.9, 0.1)  # the checker's first setting


def returns_p_only(p, grad, buf, lr, momentum, weight_decay):
    return nesterov_right(p, grad, buf, lr, momentum, weight_decay)[0]


def returns_numpy(p, grad, buf, lr, momentum, weight_decay):
    return tuple(t.numpy() for t in nesterov_right(p, grad, buf, lr, momentum, weight_decay))


def returns_complex(p, grad, buf, lr, momentum, weight_decay):
    new_p, new_buf = nesterov_right(p, grad, buf, lr, momentum, weight_decay)
    return new_p.to(torch.complex64), new_buf


def returns_meta(p, grad, buf, lr, momentum, weight_decay):
    return torch.empty(6, device="meta"), torch.empty(6, device="meta")


def returns_summed(p, grad, buf, lr, momentum, weight_decay):
    new_p, new_buf = nesterov_right(p, grad, buf, lr, momentum, weight_decay)
    return new_p, new_buf.sum()


def returns_inf(p, grad, buf, lr, momentum, weight_decay):
    return p / 0, p / 0


def old_signature(p, grad, buf, lr, momentum):  # the exercise before weight decay was added
    return nesterov_right(p, grad, buf, lr, momentum, 0.0)


def nesterov_stub(p, grad, buf, lr, momentum, weight_decay):
    raise NotImplementedError


def nesterov_crashes(p, grad, buf, lr, momentum, weight_decay):
    return p - lr * (grad + momentum * buf), buf  # buf is None at the first step


NESTEROV_WRONG = {
    "in place on p": (nesterov_in_place_p, "changed the tensor `p` passed in"),
    "in place on buf": (nesterov_in_place_buf, "changed the tensor `buf` passed in"),
    "p -= ...": (nesterov_augmented_assignment, "changed the tensor `p` passed in"),
    "classical momentum": (classical, "classical momentum"),
    "no gradient term": (no_gradient_term, "the gradient term of the direction is missing"),
    "old buffer in the look-ahead": (old_buffer_lookahead, "from before this step's update"),
    "zero buffer, old buffer in the look-ahead": (zero_buffer_old_lookahead, "classical momentum"),
    "wrong sign": (wrong_sign, "went uphill"),
    "buffer subtracts the gradient": (buffer_minus, "your buffer subtracts the gradient"),
    "first buffer momentum * grad": (first_buffer_momentum_grad, "momentum times the gradient"),
    "dampening": (dampening, "dampening"),
    "zero buffer, dampened": (zero_buffer_dampened, "dampening"),
    "lr applied twice": (lr_twice, "applied twice"),
    "lr inside the buffer": (sutskever_buffer, "lr times SGD's momentum_buffer"),
    "velocity form": (velocity_form, "-lr times SGD's momentum_buffer"),
    "lr on the gradient only": (lr_on_grad_only, "the momentum term is not"),
    "no accumulation": (no_accumulation, "does not accumulate"),
    "lr and momentum swapped": (swapped_lr_momentum, "uses lr as the momentum"),
    "no weight decay": (no_weight_decay, "leaves out weight_decay"),
    "weight decay, wrong sign": (decay_wrong_sign, "weight decay has the wrong sign"),
    "weight decay times lr": (decay_times_lr, "multiplied by lr before it goes into the gradient"),
    "no look-ahead at the first step": (first_step_without_lookahead, "the look-ahead is missing there"),
    "weight decay not in the look-ahead": (decay_not_in_lookahead, "look-ahead's gradient term leaves out the weight decay"),
    "weight decay only in the step": (decay_in_step_only, "acts on p only"),
    "decoupled weight decay": (decoupled_decay, "decoupled, as AdamW does"),
    "returns the old buffer": (returns_old_buffer, "you returned the buffer passed in"),
    "outputs swapped": (swapped_outputs, "wrong order"),
    "hard-coded lr, momentum, weight_decay": (hard_coded, "use the lr, momentum and weight_decay passed in"),
    "returns p only": (returns_p_only, "return two tensors"),
    "returns numpy arrays": (returns_numpy, "NumPy arrays, not tensors"),
    "returns a complex tensor": (returns_complex, "dtype torch.complex64"),
    "returns meta tensors": (returns_meta, "could not be read"),
    "returns a summed buffer": (returns_summed, "new_p and new_buf have p's shape"),
    "returns inf": (returns_inf, "at step 1 neither p nor the buffer matches"),
    "old signature, no weight_decay": (old_signature, "old_signature(p, grad, buf, lr, momentum, weight_decay)"),
    "passes the result": (torch.zeros(3), "pass your function itself"),
    "crashes on None": (nesterov_crashes, "your code raised TypeError"),
}

# Pieces of the answer's formula: no first-try message or hint may hold one.
NESTEROV_FORMULA = [
    "momentum * buf + g",
    "momentum * new_buf",
    "g + momentum",
    "grad + momentum",
    "p - lr * (",
    "weight_decay * p",
    "grad + weight_decay",
    NESTEROV_ANSWER,
]


@pytest.mark.parametrize("case", sorted(NESTEROV_WRONG))
def test_nesterov_step_rejects(case, capsys):
    answer, hint = NESTEROV_WRONG[case]
    assert not check_nesterov_step(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out


@pytest.mark.parametrize("case", sorted(NESTEROV_WRONG))
def test_nesterov_first_try_holds_no_piece_of_the_formula(case, capsys):
    assert not check_nesterov_step(NESTEROV_WRONG[case][0])
    out = _without_learners_line(capsys.readouterr().out)
    assert not [piece for piece in NESTEROV_FORMULA if piece in out], out


def test_nesterov_mistakes_each_get_their_own_message(capsys):
    """Each formula-level mistake is named, not sent to a shared fallback."""
    messages = {}
    for case in ("classical momentum", "no gradient term", "old buffer in the look-ahead", "buffer subtracts the gradient",
                 "first buffer momentum * grad", "lr and momentum swapped", "velocity form", "no weight decay",
                 "weight decay not in the look-ahead", "weight decay only in the step", "weight decay, wrong sign",
                 "weight decay times lr", "no look-ahead at the first step"):
        reset_tries()
        check_nesterov_step(NESTEROV_WRONG[case][0])
        messages[case] = capsys.readouterr().out.splitlines()[0]
    assert len(set(messages.values())) == len(messages), messages


def test_the_nesterov_data_tell_the_mistakes_apart():
    """On the checker's data, every formula-level mistake has its own three-step run, so each
    gets its own message."""
    from helpers.exercises.nb06 import _NESTEROV_MISTAKES, _NESTEROV_SETTINGS, _close, _nesterov_data, _nesterov_reference, _trajectory

    start, grads = _nesterov_data()
    for setting in _NESTEROV_SETTINGS:
        runs = [_trajectory(f, start, grads, *setting) for f, _, _ in _NESTEROV_MISTAKES]
        runs.append(_trajectory(_nesterov_reference, start, grads, *setting))
        for i in range(len(runs)):
            for j in range(i):
                assert not all(_close(a, c) and _close(b, d) for (a, b), (c, d) in zip(runs[i], runs[j])), (i, j)


def test_the_nesterov_reference_is_torch():
    from helpers.exercises.nb06 import _NESTEROV_SETTINGS, _close, _nesterov_data, _nesterov_reference, _trajectory

    start, grads = _nesterov_data()
    for lr, momentum, weight_decay in _NESTEROV_SETTINGS:
        w = start.clone().requires_grad_(True)
        sgd = torch.optim.SGD([w], lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=True)
        for (p, buf), grad in zip(_trajectory(_nesterov_reference, start, grads, lr, momentum, weight_decay), grads):
            w.grad = grad.clone()
            sgd.step()
            assert _close(w.detach(), p) and _close(sgd.state[w]["momentum_buffer"], buf)


@pytest.mark.parametrize("answer", NESTEROV_RIGHT)
def test_nesterov_step_accepts(answer, capsys):
    assert check_nesterov_step(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_nesterov_step_stub_is_not_done(capsys):
    assert not check_nesterov_step(nesterov_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_nesterov_step_stub_reveals_the_answer_when_asked(capsys):
    assert not check_nesterov_step(nesterov_stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: " + NESTEROV_ANSWER in out


@pytest.mark.parametrize("case", sorted(NESTEROV_WRONG))
def test_nesterov_every_wrong_verdict_reveals_the_answer_when_asked(case, capsys):
    assert not check_nesterov_step(NESTEROV_WRONG[case][0], reveal=True)
    assert "The expected answer: " + NESTEROV_ANSWER in capsys.readouterr().out


def test_nesterov_step_error_is_reported_at_the_learners_line(capsys):
    assert not check_nesterov_step(nesterov_crashes)
    assert "(your line" in capsys.readouterr().out


def test_nesterov_step_reveals_only_when_asked_or_from_the_third_wrong_try(capsys):
    for _ in range(2):
        assert not check_nesterov_step(classical)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_nesterov_step(classical)
    assert "The expected answer: " + NESTEROV_ANSWER in capsys.readouterr().out
    reset_tries()
    assert not check_nesterov_step(classical, reveal=True)
    assert "The expected answer: " + NESTEROV_ANSWER in capsys.readouterr().out


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
closure_module = closure_factory(nn.MSELoss())
# LBFGS calls float() on what the closure returns, so a Python number works too (accepted, with a note).
closure_item = closure_factory(F.mse_loss, give=lambda loss: loss.item())
closure_detached = closure_factory(F.mse_loss, give=lambda loss: loss.detach())
closure_numpy = closure_factory(F.mse_loss, give=lambda loss: loss.detach().numpy())


def closure_model_zero_grad(model, optimizer, x, y):
    def closure():
        model.zero_grad(set_to_none=False)
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    return closure


def closure_zero_grad_after_forward(model, optimizer, x, y):
    def closure():
        loss = F.mse_loss(model(x), y)
        optimizer.zero_grad()  # still before backward(): fine
        loss.backward()
        return loss

    return closure


CLOSURE_RIGHT = [
    closure_right,
    closure_swapped,
    closure_by_hand,
    closure_module,
    closure_model_zero_grad,
    closure_zero_grad_after_forward,
    closure_item,
    closure_detached,
    closure_numpy,
]


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


def closure_backward_twice(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward(retain_graph=True)
        loss.backward()
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


def closure_steps_with_itself(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        optimizer.step(closure)
        return loss

    return closure


def make_closure_steps(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    optimizer.step(closure)  # the caller's job, done inside make_closure
    return F.mse_loss(model(x), y)


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


def closure_returns_backward(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        return loss.backward()

    return closure


def closure_returns_a_tuple(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        prediction = model(x)
        loss = F.mse_loss(prediction, y)
        loss.backward()
        return loss, prediction

    return closure


def closure_called(model, optimizer, x, y):
    return closure_right(model, optimizer, x, y)()


def closure_defined_and_called(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss

    return closure()


def closure_without_inner_function(model, optimizer, x, y):  # make_closure *is* the closure
    optimizer.zero_grad()
    loss = F.mse_loss(model(x), y)
    loss.backward()
    return loss


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


X_NOTEBOOK, Y_NOTEBOOK = torch.randn(200, 2), torch.randn(200, 1)  # the notebook's spirals, say
MODEL_NOTEBOOK = nn.Linear(3, 1)


def closure_notebook_data(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(model(X_NOTEBOOK), Y_NOTEBOOK)
        loss.backward()
        return loss

    return closure


def closure_notebook_model(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = F.mse_loss(MODEL_NOTEBOOK(x), y)
        loss.backward()
        return loss

    return closure


weight = torch.ones(1, 3)  # a notebook global that shares its name with an attribute


def closure_attribute_named_like_a_global(model, optimizer, x, y):
    def closure():  # no zero_grad(); model.weight is an attribute, not the global `weight`
        loss = F.mse_loss(x @ model.weight.T + model.bias, y)
        loss.backward()
        return loss

    return closure


def closure_stub(model, optimizer, x, y):
    def closure():
        raise NotImplementedError

    return closure


CLOSURE_WRONG = {
    "huber loss": (closure_factory(F.huber_loss), "huber_loss"),
    "smooth l1 loss": (closure_factory(F.smooth_l1_loss), "huber_loss / smooth_l1_loss"),
    "l1 loss": (closure_factory(F.l1_loss), "l1_loss"),
    "cross entropy": (closure_factory(F.cross_entropy), "check which loss function you call"),
    "sum reduction": (closure_factory(lambda p, y: F.mse_loss(p, y, reduction="sum")), "reduction='sum'"),
    "10x the loss": (closure_factory(lambda p, y: 10 * F.mse_loss(p, y)), "returns 10 times the mean squared error"),
    "2x the number": (closure_factory(F.mse_loss, give=lambda loss: 2 * loss.item()), "returns 2 times the mean squared error"),
    "sum / 2n": (closure_factory(lambda p, y: F.mse_loss(p, y, reduction="sum") / (2 * len(y))), "half the mean squared error"),
    "root of the mse": (closure_factory(lambda p, y: F.mse_loss(p, y).sqrt()), "root of the mean squared error"),
    "infinite loss": (closure_factory(F.mse_loss, give=lambda loss: loss * float("inf")), "returned inf, not a finite loss"),
    "no reduction": (closure_factory(lambda p, y: F.mse_loss(p, y, reduction="none")), "reduction='mean'"),
    "no zero_grad": (closure_factory(F.mse_loss, zero=False), "call optimizer.zero_grad() at the start of the closure"),
    "no backward": (closure_factory(F.mse_loss, backward=False), "call loss.backward() inside the closure"),
    "no zero_grad, no backward": (closure_factory(F.mse_loss, zero=False, backward=False), "left .grad as it was"),
    "zero_grad after backward": (closure_zero_grad_after_backward, "after optimizer.zero_grad() (not before it)"),
    "backward twice": (closure_backward_twice, "backward() ran twice"),
    "loss computed outside": (closure_outside, "compute the loss inside the closure"),
    "loss outside, retain_graph": (closure_outside_retained, "stale value"),
    "stale returned value": (closure_stale_value, "stale value"),
    "step() inside the closure": (closure_steps_inside, "do not call step() in it"),
    "step(closure) inside the closure": (closure_steps_with_itself, "RecursionError, the closure calls itself"),
    "make_closure steps": (make_closure_steps, "make_closure itself changed the model's weights"),
    "no_grad around the loss": (closure_no_grad, "no torch.no_grad()"),
    "returns nothing": (closure_returns_nothing, "returned nothing (None)"),
    "returns loss.backward()": (closure_returns_backward, "returned nothing (None)"),
    "returns a tuple": (closure_returns_a_tuple, "return the loss: one number"),
    "returns closure() of another factory": (closure_called, "without parentheses"),
    "returns closure()": (closure_defined_and_called, "it calls the closure instead of returning it"),
    "no inner function": (closure_without_inner_function, "you wrote the closure's work straight into make_closure"),
    "backward on another loss": (closure_backward_on_sum, "call backward() on the same loss you return"),
    "squeezed prediction": (closure_factory(lambda p, y: F.mse_loss(p.squeeze(1), y)), "must have the same shape"),
    "the notebook's data": (closure_notebook_data, "uses `X_NOTEBOOK` (a tensor), `Y_NOTEBOOK` (a tensor) from the notebook"),
    "the notebook's model": (closure_notebook_model, "uses `MODEL_NOTEBOOK` (Linear) from the notebook"),
    "attribute named like a global": (closure_attribute_named_like_a_global, "call optimizer.zero_grad() at the start"),
    "closure with a parameter": (closure_takes_an_argument, "calls the closure with no arguments"),
    "passes the result": (3, "pass your function itself"),
    "wrong parameters": (lambda model, optimizer: None, "the checker calls it as"),
}

# Pieces of the answer: no first-try message or hint may hold one.
CLOSURE_FORMULA = ["mse_loss(model(x), y)", "loss.backward(); return loss", "def closure(): optimizer", CLOSURE_ANSWER]


@pytest.mark.parametrize("case", sorted(CLOSURE_WRONG))
def test_closure_rejects(case, capsys):
    answer, hint = CLOSURE_WRONG[case]
    assert not check_closure(answer)
    captured = capsys.readouterr()
    assert captured.out.startswith("Not yet.") and hint in captured.out, captured.out
    assert "The expected answer" not in captured.out
    assert "Warning" not in captured.err


@pytest.mark.parametrize("case", sorted(CLOSURE_WRONG))
def test_closure_first_try_holds_no_piece_of_the_answer(case, capsys):
    assert not check_closure(CLOSURE_WRONG[case][0])
    out = _without_learners_line(capsys.readouterr().out)
    assert not [piece for piece in CLOSURE_FORMULA if piece in out], out


def test_closure_names_only_globals_really_read(capsys):
    assert not check_closure(closure_attribute_named_like_a_global)
    assert "from the notebook" not in capsys.readouterr().out


def test_closure_reveals_only_when_asked_or_from_the_third_wrong_try(capsys):
    no_zero_grad = CLOSURE_WRONG["no zero_grad"][0]
    for _ in range(2):
        assert not check_closure(no_zero_grad)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_closure(no_zero_grad)
    assert "The expected answer: def closure(): optimizer.zero_grad()" in capsys.readouterr().out
    reset_tries()
    assert not check_closure(no_zero_grad, reveal=True)
    assert "The expected answer: def closure(): optimizer.zero_grad()" in capsys.readouterr().out


@pytest.mark.parametrize("answer", CLOSURE_RIGHT)
def test_closure_accepts(answer, capsys):
    assert check_closure(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_closure_says_a_number_works_but_a_tensor_is_usual(capsys):
    assert check_closure(closure_item)
    assert "LBFGS accepts it" in capsys.readouterr().out


def test_closure_stub_is_not_done(capsys):
    assert not check_closure(closure_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_closure_stub_reveals_the_answer_when_asked(capsys):
    assert not check_closure(closure_stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: " + CLOSURE_ANSWER in out


@pytest.mark.parametrize("case", sorted(CLOSURE_WRONG))
def test_closure_every_wrong_verdict_reveals_the_answer_when_asked(case, capsys):
    assert not check_closure(CLOSURE_WRONG[case][0], reveal=True)
    assert "The expected answer: " + CLOSURE_ANSWER in capsys.readouterr().out


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


def test_closure_problem_shapes_match_the_hint():
    from helpers.exercises.nb06 import _X_SHAPE, _Y_SHAPE

    _, _, x, y = _closure_problem()
    assert (tuple(x.shape), tuple(y.shape)) == (_X_SHAPE, _Y_SHAPE)


# --- the Chinese edition: "first call", "second call" and the list of globals, shown whole ----



def test_closure_messages_read_whole_in_chinese(chinese):
    data = check_closure.__wrapped__(closure_notebook_data).message
    assert data.startswith("the first call of your closure failed: ")
    assert "Your code uses `X_NOTEBOOK` (a tensor), `Y_NOTEBOOK` (a tensor) from the notebook" in data
    assert chinese(data).startswith("你的闭包在第一次调用时失败了：")
    assert "你的代码使用了笔记本中的 `X_NOTEBOOK`（一个张量）、`Y_NOTEBOOK`（一个张量），" in chinese(data)
    assert chinese(check_closure.__wrapped__(closure_outside).message).startswith("你的闭包在第二次调用时失败了：")


def test_the_list_of_notebook_globals_is_built_from_catalog_messages():
    from helpers.exercises.nb06 import _listed

    tensor, model = torch.zeros(1), nn.Linear(1, 1)
    assert _listed([]) == ""
    assert _listed([("X", tensor)]) == "`X` (a tensor)"
    assert _listed([("m", model), ("X", tensor), ("Y", tensor)]) == "`m` (Linear), `X` (a tensor), `Y` (a tensor)"
