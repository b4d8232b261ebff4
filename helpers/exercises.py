"""Exercise checkers: each prints "Correct!" or what differs (expected vs got, and a hint).

A checker never lets a traceback from the learner's code escape: it reports it instead.
Each returns a ``CheckResult``: truthy when the answer is right, falsy otherwise.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable, Mapping
from typing import Any

import torch

NOT_DONE = "Not done yet: replace `raise NotImplementedError` with your code, then run this cell again."


class CheckResult:
    """What a checker returns: truthy when the answer is right.

    It shows nothing in a notebook (the checker already printed its verdict), so a
    checker call can be the last line of a cell.
    """

    def __init__(self, ok: bool):
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"CheckResult(ok={self.ok})"

    def _ipython_display_(self) -> None:
        pass


def _report(ok: bool, message: str = "", hint: str = "") -> CheckResult:
    if ok:
        print("Correct! " + message if message else "Correct!")
    else:
        print("Not yet. " + message)
        if hint:
            print("Hint: " + hint)
    return CheckResult(ok)


def _call(fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    """Run learner code; on failure print why (briefly) and return (False, None)."""
    try:
        return True, fn(*args)
    except NotImplementedError:
        print(NOT_DONE)
    except Exception as exc:  # the learner's bug: show it briefly, not as a crash of the checker
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"Your code raised {type(exc).__name__}: {exc} (line {frame.lineno}: {frame.line})")
    return False, None


def _unanswered(*values: Any) -> bool:
    """True (after saying so) when an answer is still the ``...`` placeholder."""
    if any(v is None or v is ... for v in values):
        print(NOT_DONE.replace("`raise NotImplementedError`", "the `...`"))
        return True
    return False


def _not_a_function(fn: Any) -> CheckResult | None:
    """A failed result when ``fn`` is not callable (e.g. the learner passed its result), else None."""
    if callable(fn):
        return None
    return _report(False, f"pass your function itself, got {type(fn).__name__}")


# --- 00_start_here --------------------------------------------------------------------


def _toy_problem(seed: int = 0) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(16, 3, generator=g)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    model = torch.nn.Linear(3, 1)
    with torch.no_grad():
        model.weight.copy_(torch.randn(1, 3, generator=g))
        model.bias.zero_()
    return model, x, y


def _reference_train_step(model: torch.nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> float:
    prediction = model(x)
    loss = torch.nn.functional.mse_loss(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def check_train_step(train_step: Callable[..., Any]) -> CheckResult:
    """Check ``train_step(model, optimizer, x, y) -> float``: one step of the five-line loop
    with mean-squared-error loss, returning the loss before the step.

    Runs it for three steps next to a reference and compares losses and weights.
    Example: ``check_train_step(train_step)``.
    """
    if (wrong := _not_a_function(train_step)) is not None:
        return wrong
    ref_model, x, y = _toy_problem()
    model, _, _ = _toy_problem()
    ref_opt = torch.optim.SGD(ref_model.parameters(), lr=0.1, momentum=0.9)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(1, 4):
        expected = _reference_train_step(ref_model, ref_opt, x, y)
        ok, got = _call(train_step, model, opt, x, y)
        if not ok:
            return CheckResult(False)
        if not isinstance(got, (float, int)) and not (isinstance(got, torch.Tensor) and got.numel() == 1):
            return _report(False, f"return the loss as a number (loss.item()), got {type(got).__name__}")
        got = float(got)
        if not math.isclose(got, expected, rel_tol=1e-5, abs_tol=1e-7):
            return _report(
                False,
                f"at step {step} the returned loss is {got:.6f}, expected {expected:.6f}",
                "compute the loss with torch.nn.functional.mse_loss(model(x), y) before stepping",
            )
        if model.weight.grad is not None and ref_model.weight.grad is not None:
            if step > 1 and not torch.allclose(model.weight.grad, ref_model.weight.grad):
                return _report(
                    False,
                    f"after step {step} the gradient differs from one backward pass's",
                    "clear old gradients with optimizer.zero_grad() before loss.backward()",
                )
        if not torch.allclose(model.weight, ref_model.weight, atol=1e-6):
            return _report(
                False,
                f"after step {step} the weights are {model.weight.detach().flatten().tolist()}, "
                f"expected {ref_model.weight.detach().flatten().tolist()}",
                "the order is: forward, loss, zero_grad, backward, step",
            )
    return _report(True, "three steps match the reference loop exactly.")


def check_sgd_prediction(value: Any) -> CheckResult:
    """Check the predicted ``w`` after one ``SGD(lr=0.1)`` step on ``loss = (w - 5)**2`` from ``w = 2``.

    Example: ``check_sgd_prediction(2.6)``.
    """
    if _unanswered(value):
        return CheckResult(False)
    try:
        got = float(value)
    except (TypeError, ValueError):
        return _report(False, f"give a number, got {type(value).__name__} {value!r}")
    w = torch.tensor(2.0, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=0.1)
    ((w - 5) ** 2).backward()
    optimizer.step()
    expected = w.item()
    if math.isclose(got, expected, abs_tol=1e-4):
        return _report(True, f"w.grad was {2 * (2 - 5)}, so w moves to 2 - 0.1 * ({2 * (2 - 5)}) = {expected:.1f}.")
    return _report(
        False,
        f"you said {got}, torch.optim.SGD gives {expected:.4f}",
        "the gradient of (w - 5)**2 is 2 * (w - 5); SGD does w <- w - lr * grad",
    )


# --- 01_param_groups -------------------------------------------------------------------

_NORMS = (
    torch.nn.LayerNorm,
    torch.nn.GroupNorm,
    torch.nn.modules.batchnorm._BatchNorm,
    torch.nn.modules.instancenorm._InstanceNorm,
)


def _no_decay_names(model: torch.nn.Module) -> set[str]:
    """Biases and every parameter of a normalization layer."""
    names = set()
    for module_name, module in model.named_modules():
        for param_name, _ in module.named_parameters(recurse=False):
            full = f"{module_name}.{param_name}" if module_name else param_name
            if param_name == "bias" or isinstance(module, _NORMS):
                names.add(full)
    return names


def _group_of(optimizer: torch.optim.Optimizer) -> dict[int, dict[str, Any]]:
    return {id(p): group for group in optimizer.param_groups for p in group["params"]}


def check_no_decay_groups(optimizer: Any, model: torch.nn.Module) -> CheckResult:
    """Check an optimizer that decays every weight except biases and normalization weights.

    Every parameter of ``model`` must be in the optimizer exactly once; biases and the
    parameters of norm layers in a group with ``weight_decay == 0``; all others in a group
    with ``weight_decay > 0``. Example: ``check_no_decay_groups(optimizer, model)``.
    """
    if _unanswered(optimizer):
        return CheckResult(False)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return _report(False, f"build a torch.optim optimizer, got {type(optimizer).__name__}")
    groups = _group_of(optimizer)
    no_decay = _no_decay_names(model)
    for name, p in model.named_parameters():
        group = groups.get(id(p))
        if group is None:
            return _report(False, f"{name} is not in the optimizer", "every parameter must be trained")
        decay = float(group.get("weight_decay", 0))
        if name in no_decay and decay != 0:
            return _report(False, f"{name} has weight_decay={decay:g}, expected 0", "biases and norm-layer weights get no decay")
        if name not in no_decay and decay == 0:
            return _report(False, f"{name} has weight_decay=0, expected > 0", "only biases and norm-layer weights skip decay")
    return _report(True, f"{len(no_decay)} tensors without decay, {sum(1 for _ in model.parameters()) - len(no_decay)} with.")


def check_body_head_lrs(optimizer: Any, model: torch.nn.Module, body_lr: float = 1e-4, head_lr: float = 1e-2) -> CheckResult:
    """Check one optimizer that trains ``model.body`` at ``body_lr`` and ``model.head`` at ``head_lr``.

    Example: ``check_body_head_lrs(optimizer, model)``.
    """
    if _unanswered(optimizer):
        return CheckResult(False)
    if not isinstance(optimizer, torch.optim.Optimizer):
        return _report(False, f"build a torch.optim optimizer, got {type(optimizer).__name__}")
    groups = _group_of(optimizer)
    for part, lr in (("body", body_lr), ("head", head_lr)):
        for name, p in getattr(model, part).named_parameters():
            group = groups.get(id(p))
            if group is None:
                return _report(False, f"{part}.{name} is not in the optimizer", "pass one dict per part: {'params': model.body.parameters(), 'lr': ...}")
            if not math.isclose(float(group["lr"]), lr, rel_tol=1e-9):
                return _report(False, f"{part}.{name} trains at lr={float(group['lr']):g}, expected {lr:g}")
    return _report(True, f"body at {body_lr:g}, head at {head_lr:g}, in {len(optimizer.param_groups)} groups of one optimizer.")


# --- 02_zero_grad ----------------------------------------------------------------------


def _accumulation_problem() -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    x = torch.randn(16, 4, generator=g)
    return model, x, x.sum(1, keepdim=True).sin()


def check_accumulation(accumulate: Callable[..., Any]) -> CheckResult:
    """Check ``accumulate(model, optimizer, batches)``: one optimizer step from several
    micro-batches ``[(x, y), ...]`` (mean-squared-error loss) that equals one step on the
    whole batch. Example: ``check_accumulation(accumulate)``.
    """
    if (wrong := _not_a_function(accumulate)) is not None:
        return wrong
    ref, x, y = _accumulation_problem()
    mine, _, _ = _accumulation_problem()
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    my_opt = torch.optim.SGD(mine.parameters(), lr=0.1, momentum=0.9)
    for step in (1, 2):
        start = [p.detach().clone() for p in mine.parameters()]
        ref_opt.zero_grad()
        torch.nn.functional.mse_loss(ref(x), y).backward()
        ref_opt.step()
        ok, _ = _call(accumulate, mine, my_opt, list(zip(x.chunk(4), y.chunk(4))))
        if not ok:
            return CheckResult(False)
        if not all(torch.allclose(a, b, atol=1e-6) for a, b in zip(ref.parameters(), mine.parameters())):
            with torch.no_grad():
                moved = sum(float((b - a).norm() ** 2) for a, b in zip(start, mine.parameters())) ** 0.5
                expected = sum(float((r - a).norm() ** 2) for a, r in zip(start, ref.parameters())) ** 0.5
            hint = "divide each micro-batch loss by the number of micro-batches; zero_grad once before, step once after"
            if step == 1 and abs(moved / expected - 4) < 0.1:
                hint = "the update is 4x too big: " + hint
            return _report(
                False, f"after step {step} your weights moved {moved:.4g}, the big-batch step moves {expected:.4g}", hint
            )
    return _report(True, "two accumulated steps of 4 micro-batches match two big-batch steps.")


def check_moves(moves_with_none: Any, moves_with_zeros: Any) -> CheckResult:
    """Check the prediction: after some momentum-SGD steps, does a parameter move at the next
    ``step()`` when its ``.grad`` is ``None``, and when it is zeros?

    Example: ``check_moves(False, True)``.
    """
    if _unanswered(moves_with_none, moves_with_zeros):
        return CheckResult(False)
    if not all(isinstance(v, bool) for v in (moves_with_none, moves_with_zeros)):
        return _report(False, "answer with True or False for each")
    truth = {}
    for label, set_to_none in (("None", True), ("zeros", False)):
        w = torch.ones(2, requires_grad=True)
        opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)
        (w**2).sum().backward()
        opt.step()
        opt.zero_grad(set_to_none=set_to_none)
        before = w.detach().clone()
        opt.step()
        truth[label] = not torch.equal(w, before)
    wrong = []
    if moves_with_none != truth["None"]:
        wrong.append(f"with .grad None it {'moves' if truth['None'] else 'stays put'} (step() skips it)")
    if moves_with_zeros != truth["zeros"]:
        wrong.append(f"with .grad zeros it {'moves' if truth['zeros'] else 'stays put'} (momentum keeps pushing)")
    if wrong:
        return _report(False, "; ".join(wrong), "step() skips a parameter whose grad is None, but not one whose grad is zeros")
    return _report(True, "None: skipped, stays put. Zeros: the momentum buffer still moves it.")


# --- 03_state_dict ---------------------------------------------------------------------


def check_adam_bytes(answer: Any, model: torch.nn.Module) -> CheckResult:
    """Check the number of bytes ``torch.optim.Adam`` keeps for ``model`` after its first step.

    Example: ``check_adam_bytes(2 * 4 * n_params + 4 * n_tensors, model)``.
    """
    import copy

    if _unanswered(answer):
        return CheckResult(False)
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        return _report(False, f"give a number of bytes, got {type(answer).__name__}")
    twin = copy.deepcopy(model)
    optimizer = torch.optim.Adam(twin.parameters())
    for p in twin.parameters():
        p.grad = torch.ones_like(p)
    optimizer.step()
    expected = sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor))
    if answer == expected:
        return _report(True, f"{expected} bytes: exp_avg and exp_avg_sq per tensor (2x the parameters) plus a 4-byte step each.")
    params = sum(p.numel() * p.element_size() for p in twin.parameters())
    hint = "Adam keeps exp_avg and exp_avg_sq (each the size of the parameter) and a float32 step per tensor"
    if answer == 2 * params:
        hint = "almost: each tensor also has its own 'step' counter, a float32 scalar (4 bytes)"
    return _report(False, f"you said {answer}, Adam keeps {expected} bytes", hint)


def check_snapshot(snapshot: Callable[[torch.nn.Module], Any]) -> CheckResult:
    """Check ``snapshot(model)``: a copy of the model's state_dict that later training does not change.

    Example: ``check_snapshot(lambda m: copy.deepcopy(m.state_dict()))``.
    """
    if (wrong := _not_a_function(snapshot)) is not None:
        return wrong
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    ok, saved = _call(snapshot, model)
    if not ok:
        return CheckResult(False)
    if not isinstance(saved, Mapping) or set(saved) != set(model.state_dict()):
        return _report(False, "return a dict with the same keys as model.state_dict() (buffers included)")
    expected = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    model(torch.randn(8, 3)).pow(2).sum().backward()
    optimizer.step()
    changed = [k for k in expected if not torch.equal(saved[k], expected[k])]
    if changed:
        return _report(
            False,
            f"after one training step your snapshot changed too: {changed}",
            "state_dict() tensors share storage with the model: clone them (or copy.deepcopy the dict)",
        )
    return _report(True, "the snapshot kept the values it was taken with, buffers included.")


# --- 05_load_state_dict ----------------------------------------------------------------


def resume_setup() -> tuple[torch.nn.Module, torch.optim.Optimizer, Any]:
    """Fresh model, optimizer and scheduler for the resume exercise (as a new process would build them)."""
    model = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Dropout(0.1), torch.nn.Linear(16, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
    return model, optimizer, scheduler


def _resume_train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, scheduler: Any, steps: int) -> None:
    for _ in range(steps):
        x = torch.randn(8, 4)
        loss = torch.nn.functional.mse_loss(model(x), x.sum(1, keepdim=True))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()


def check_resume(resume: Callable[[Any], Any]) -> CheckResult:
    """Check ``resume(path) -> (model, optimizer, scheduler)``: build fresh objects with
    ``resume_setup()`` and restore a checkpoint so that training continues exactly.

    The checker trains 12 steps straight, and 6 steps + save + ``resume`` + 6 steps, and
    compares every weight. Example: ``check_resume(resume)``.
    """
    import tempfile
    from pathlib import Path

    from .checkpoint import save_checkpoint

    if (wrong := _not_a_function(resume)) is not None:
        return wrong
    rng = torch.get_rng_state()
    try:
        torch.manual_seed(0)
        straight = resume_setup()
        _resume_train(*straight, 12)
        torch.manual_seed(0)
        first = resume_setup()
        _resume_train(*first, 6)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "ckpt.pt"
            save_checkpoint(path, model=first[0], optimizer=first[1], scheduler=first[2], step=6)
            torch.manual_seed(1234)  # a new process starts with other random numbers
            ok, objects = _call(resume, path)
        if not ok:
            return CheckResult(False)
        if not (isinstance(objects, tuple) and len(objects) == 3):
            return _report(False, "return the three objects: model, optimizer, scheduler")
        _resume_train(*objects, 6)
    finally:
        torch.set_rng_state(rng)
    same = all(torch.equal(a, b) for a, b in zip(straight[0].parameters(), objects[0].parameters()))
    if same:
        return _report(True, "6 + 6 steps with your resume equal 12 steps straight, bit for bit.")
    lr = objects[1].param_groups[0]["lr"]
    hint = "restore the optimizer and scheduler too, and the RNG (dropout, data): load_checkpoint(path, model=..., optimizer=..., scheduler=...)"
    return _report(False, f"the weights after resuming differ from an uninterrupted run (the lr now is {lr:g}, uninterrupted {straight[1].param_groups[0]['lr']:g})", hint)


def check_lr_after_load(answer: Any) -> CheckResult:
    """Check: an optimizer saved with ``lr=0.01`` is rebuilt with ``lr=0.5`` and loaded; which lr does the next step use?

    Example: ``check_lr_after_load(0.01)``.
    """
    if _unanswered(answer):
        return CheckResult(False)
    w = torch.zeros(1, requires_grad=True)
    saved = torch.optim.SGD([w], lr=0.01).state_dict()
    optimizer = torch.optim.SGD([w], lr=0.5)
    optimizer.load_state_dict(saved)
    expected = optimizer.param_groups[0]["lr"]
    try:
        ok = math.isclose(float(answer), expected)
    except (TypeError, ValueError):
        return _report(False, f"give a number, got {answer!r}")
    if ok:
        return _report(True, "load_state_dict brings back the saved hyperparameters; set a new lr after loading.")
    return _report(False, f"you said {answer}, the next step uses {expected:g}", "the optimizer's state_dict holds its param_groups, lr included")


# --- 04_add_param_group ----------------------------------------------------------------


def check_unfreeze_last(unfreeze: Callable[..., Any], lr: float = 1e-3) -> CheckResult:
    """Check ``unfreeze(model, optimizer)``: make the backbone's last ``Linear`` trainable and
    hand it to the optimizer as a new group at ``lr``; the rest of the backbone stays frozen.

    The model is ``nn.Sequential(backbone, head)`` with a frozen ``backbone`` of two Linear
    layers; the optimizer trains the head. Example: ``check_unfreeze_last(unfreeze)``.
    """
    if (wrong := _not_a_function(unfreeze)) is not None:
        return wrong
    backbone = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8), torch.nn.ReLU())
    head = torch.nn.Linear(8, 3)
    model = torch.nn.Sequential(backbone, head)
    backbone.requires_grad_(False)
    optimizer = torch.optim.SGD(head.parameters(), lr=0.1, momentum=0.9)
    ok, _ = _call(unfreeze, model, optimizer)
    if not ok:
        return CheckResult(False)
    last = list(backbone[2].parameters())
    first = list(backbone[0].parameters())
    if not all(p.requires_grad for p in last):
        return _report(False, "the last block is still frozen", "call requires_grad_(True) on it")
    if any(p.requires_grad for p in first):
        return _report(False, "the first block was unfrozen too", "unfreeze only the last Linear of the backbone")
    if len(optimizer.param_groups) != 2:
        return _report(False, f"the optimizer has {len(optimizer.param_groups)} group(s), expected 2", "optimizer.add_param_group({'params': ..., 'lr': ...})")
    new = optimizer.param_groups[1]
    if {id(p) for p in new["params"]} != {id(p) for p in last}:
        return _report(False, "the new group does not hold exactly the last block's weight and bias")
    if not math.isclose(float(new["lr"]), lr):
        return _report(False, f"the new group's lr is {float(new['lr']):g}, expected {lr:g}")
    return _report(True, f"the last block trains at lr={lr:g}, the first stays frozen, the head keeps lr=0.1.")


def check_new_group_defaults(momentum: Any, weight_decay: Any) -> CheckResult:
    """Check: ``SGD(params, lr=0.1, momentum=0.9, weight_decay=1e-4)``, then
    ``add_param_group({'params': w, 'lr': 0.01})``: what momentum and weight decay does the new group get?

    Example: ``check_new_group_defaults(0.9, 1e-4)``.
    """
    if _unanswered(momentum, weight_decay):
        return CheckResult(False)
    a, b = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([a], lr=0.1, momentum=0.9, weight_decay=1e-4)
    optimizer.add_param_group({"params": [b], "lr": 0.01})
    group = optimizer.param_groups[1]
    try:
        right = math.isclose(float(momentum), group["momentum"]) and math.isclose(float(weight_decay), group["weight_decay"])
    except (TypeError, ValueError):
        return _report(False, "give two numbers")
    if right:
        return _report(True, "keys a new group leaves out are filled from the constructor's defaults.")
    return _report(
        False,
        f"you said momentum={momentum}, weight_decay={weight_decay}; the group got {group['momentum']}, {group['weight_decay']}",
        "add_param_group fills the missing keys from optimizer.defaults",
    )


# --- 06_step_and_closure ---------------------------------------------------------------


def check_nesterov_step(nesterov_step: Callable[..., Any]) -> CheckResult:
    """Check ``nesterov_step(p, grad, buf, lr, momentum) -> (new_p, new_buf)``: one step of
    ``SGD(lr, momentum, nesterov=True)`` by hand; ``buf`` is ``None`` at the first step.

    Compared with ``torch.optim.SGD`` for three steps. Example: ``check_nesterov_step(nesterov_step)``.
    """
    if (wrong := _not_a_function(nesterov_step)) is not None:
        return wrong
    g = torch.Generator().manual_seed(3)
    start = torch.randn(5, generator=g)
    grads = [torch.randn(5, generator=g) for _ in range(3)]
    w = start.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([w], lr=0.1, momentum=0.9, nesterov=True)
    p, buf = start.clone(), None
    for step, grad in enumerate(grads, start=1):
        w.grad = grad.clone()
        optimizer.step()
        ok, out = _call(nesterov_step, p.clone(), grad.clone(), None if buf is None else buf.clone(), 0.1, 0.9)
        if not ok:
            return CheckResult(False)
        if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
            return _report(False, "return two tensors: (new_p, new_buf)")
        p, buf = out
        if not torch.allclose(p, w.detach(), atol=1e-6):
            hint = "buf = momentum * buf + grad (buf = grad at the first step); then p -= lr * (grad + momentum * buf)"
            return _report(False, f"after step {step}: p = {[round(v, 4) for v in p.tolist()]}, SGD gives {[round(v, 4) for v in w.detach().tolist()]}", hint)
        if not torch.allclose(buf, optimizer.state[w]["momentum_buffer"], atol=1e-6):
            return _report(False, f"after step {step} the momentum buffer differs from SGD's momentum_buffer")
    return _report(True, "three Nesterov steps match torch.optim.SGD(nesterov=True).")


def check_closure(make_closure: Callable[..., Any]) -> CheckResult:
    """Check ``make_closure(model, optimizer, x, y) -> closure`` for ``torch.optim.LBFGS``
    (mean-squared-error loss). Runs three LBFGS steps next to a reference closure.

    Example: ``check_closure(make_closure)``.
    """
    if (wrong := _not_a_function(make_closure)) is not None:
        return wrong

    def problem() -> tuple[torch.nn.Module, torch.optim.Optimizer, torch.Tensor, torch.Tensor]:
        gen = torch.Generator().manual_seed(5)
        model = torch.nn.Linear(3, 1)
        with torch.no_grad():
            model.weight.copy_(torch.randn(1, 3, generator=gen))
            model.bias.zero_()
        x = torch.randn(20, 3, generator=gen)
        y = x @ torch.tensor([[2.0], [-1.0], [0.5]]) + 1.0
        return model, torch.optim.LBFGS(model.parameters(), lr=1, line_search_fn="strong_wolfe"), x, y

    ref, ref_opt, x, y = problem()

    def reference() -> torch.Tensor:
        ref_opt.zero_grad()
        loss = torch.nn.functional.mse_loss(ref(x), y)
        loss.backward()
        return loss

    model, optimizer, _, _ = problem()
    ok, closure = _call(make_closure, model, optimizer, x, y)
    if not ok:
        return CheckResult(False)
    if not callable(closure):
        return _report(False, f"make_closure must return the closure (a function), got {type(closure).__name__}")
    for step in range(1, 4):
        ref_opt.step(reference)
        try:
            optimizer.step(closure)
        except NotImplementedError:
            print(NOT_DONE)
            return CheckResult(False)
        except Exception as exc:
            return _report(False, f"LBFGS's step raised {type(exc).__name__}: {str(exc).splitlines()[0]}",
                           "compute the loss inside the closure, call backward on it, return it")
        if not torch.allclose(model.weight, ref.weight, atol=1e-5):
            return _report(
                False,
                f"after step {step} the weights differ from LBFGS with a correct closure",
                "the closure must zero the grads, compute the loss from the current parameters, call backward, and return that loss",
            )
    return _report(True, "three LBFGS steps with your closure match the reference.")
