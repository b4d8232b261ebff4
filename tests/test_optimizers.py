"""helpers.optimizers.Lion against notebook 08's Lion (the code being taught) and against the paper's formula."""

from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from helpers import Lion, TinyMLP, make_spirals, playground_run
from helpers.widgets import OPTIMIZERS, make_optimizer_factory, optimizer_playground

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "08_custom_optimizer.ipynb"


def notebook_lion() -> type:
    """The class Lion as notebook 08 defines it, executed from the notebook's own cell."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    [source] = [s for s in cells if s.startswith("class Lion(torch.optim.Optimizer):")]
    namespace = {"torch": torch}
    exec(source, namespace)
    return namespace["Lion"]


def train(cls, steps=25, **kwargs):
    torch.manual_seed(0)
    X, y = make_spirals(50, classes=2, seed=0)
    model = TinyMLP(2, hidden=16, out_features=2, depth=2)
    optimizer = cls([{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 3e-3}], **kwargs)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    for _ in range(steps):
        loss = torch.nn.functional.cross_entropy(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        scheduler.step()
    return model, optimizer


@pytest.mark.parametrize("kwargs", [{"lr": 0.01}, {"lr": 0.02, "betas": (0.8, 0.95), "weight_decay": 0.1}])
def test_lion_equals_the_notebooks_bit_for_bit(kwargs):
    mine, mine_opt = train(Lion, **kwargs)
    theirs, their_opt = train(notebook_lion(), **kwargs)
    for p, q in zip(mine.parameters(), theirs.parameters()):
        assert torch.equal(p, q)
        assert torch.equal(mine_opt.state[p]["exp_avg"], their_opt.state[q]["exp_avg"])


def test_lion_matches_the_papers_formula():
    torch.manual_seed(1)
    start = torch.randn(10, dtype=torch.float64)
    grads = [torch.randn(10, dtype=torch.float64) for _ in range(6)]
    lr, (b1, b2), wd = 0.03, (0.9, 0.99), 0.2
    p = start.clone().requires_grad_(True)
    lion = Lion([p], lr=lr, betas=(b1, b2), weight_decay=wd)
    q, m = start.clone(), torch.zeros(10, dtype=torch.float64)
    for g in grads:
        p.grad = g.clone()
        lion.step()
        c = b1 * m + (1 - b1) * g
        q = q - lr * (torch.sign(c) + wd * q)
        m = b2 * m + (1 - b2) * g
    assert torch.allclose(p.detach(), q, rtol=0, atol=1e-12)
    assert torch.allclose(lion.state[p]["exp_avg"], m, rtol=0, atol=1e-12)


def test_lion_moves_every_coordinate_by_lr_and_skips_missing_grads():
    a = torch.zeros(5, requires_grad=True)
    b = torch.ones(3, requires_grad=True)
    lion = Lion([a, b], lr=0.1)
    a.grad = torch.tensor([1e-8, -1.0, 5.0, -1e4, 0.5])
    lion.step()
    assert torch.allclose(a.detach().abs(), torch.full((5,), 0.1))
    assert torch.equal(b.detach(), torch.ones(3)) and b not in lion.state


def test_lion_step_calls_the_closure_with_grad_enabled_and_returns_its_loss():
    w = torch.ones(2, requires_grad=True)
    lion = Lion([w], lr=0.1)

    def closure():
        lion.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    loss = lion.step(closure)
    assert loss.item() == 2.0 and torch.allclose(w.detach(), torch.full((2,), 0.9))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be > 0, got 0.0"),
        ({"lr": "0.1"}, TypeError, "lr must be a number, got str"),
        ({"betas": (0.9, 1.0)}, ValueError, r"betas must be in \[0, 1\)"),
        ({"betas": 0.9}, TypeError, "betas must be a pair of numbers"),
        ({"weight_decay": -0.1}, ValueError, "weight_decay must be >= 0, got -0.1"),
    ],
)
def test_lion_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        Lion([torch.zeros(1, requires_grad=True)], **kwargs)


def test_lion_accepts_numbers_in_any_spelling():
    """NumPy floats (np.float32 is not a Python float) are numbers too; the groups hold plain floats."""
    lion = Lion([torch.zeros(1, requires_grad=True)], lr=np.float32(0.01), betas=(np.float64(0.9), 0.99), weight_decay=0)
    group = lion.param_groups[0]
    assert group["lr"] == pytest.approx(0.01) and type(group["lr"]) is float
    assert group["betas"] == (0.9, 0.99) and type(group["weight_decay"]) is float


def test_lion_state_survives_a_safe_load(tmp_path):
    _, optimizer = train(Lion, steps=3, lr=0.01)
    torch.save(optimizer.state_dict(), tmp_path / "lion.pt")
    loaded = torch.load(tmp_path / "lion.pt", weights_only=True)
    assert sorted(next(iter(loaded["state"].values()))) == ["exp_avg"]


# --- the playground offers Lion ----------------------------------------------------------


def test_playground_offers_lion_with_beta1():
    assert "Lion" in OPTIMIZERS
    optimizer = make_optimizer_factory("Lion", 0.05, 0.8)([torch.zeros(2, requires_grad=True)])
    assert isinstance(optimizer, Lion) and optimizer.param_groups[0]["betas"] == (0.8, 0.99)
    result = playground_run("bowl", "Lion", 0.05, 0.9, 30)
    steps = (result["path"][1:] - result["path"][:-1]).abs()
    assert not result["diverged"] and torch.allclose(steps, torch.full_like(steps, 0.05))
    assert result["summary"].startswith("Lion lr=0.05 momentum=0.9: after 30 steps")


def test_playground_starts_with_the_optimizer_and_lr_asked_for():
    box = optimizer_playground("bowl", steps=10, optimizer="Lion", lr=0.02)
    summary = box.children[2]
    momentum = box.children[1].children[1]
    assert summary.value.startswith("Lion lr=0.02") and momentum.description == "beta1"
    with pytest.raises(ValueError, match="optimizer must be one of"):
        optimizer_playground("bowl", optimizer="Lamb")
    with pytest.raises(ValueError, match=r"lr must be in \[1e-4, 1\]"):
        optimizer_playground("bowl", lr=5.0)
