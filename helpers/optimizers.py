"""Optimizers that ``torch.optim`` does not ship, written as the lessons teach them (notebook 08)."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import torch

__all__ = ["Lion"]


class Lion(torch.optim.Optimizer):
    """Lion (Chen et al., 2023, *Symbolic Discovery of Optimization Algorithms*).

    Per parameter it keeps one tensor, ``exp_avg`` (the momentum ``m``), and steps by the sign
    of an interpolation between ``m`` and the gradient ``g``, with decoupled weight decay::

        c = beta1 * m + (1 - beta1) * g
        p = p - lr * (sign(c) + weight_decay * p)
        m = beta2 * m + (1 - beta2) * g

    Without weight decay every coordinate with ``c != 0`` moves by ``lr`` per step (up to float rounding).
    The same code as notebook 08's class (a test compares them bit for bit), with checks of
    its arguments. Example: ``Lion(model.parameters(), lr=1e-4, weight_decay=0.1)``.
    """

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
    ) -> None:
        for name, value in (("lr", lr), ("weight_decay", weight_decay)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, got {lr}")
        if not (
            isinstance(betas, (tuple, list))
            and len(betas) == 2
            and all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas)
        ):
            raise TypeError(f"betas must be a pair of numbers (beta1, beta2), got {betas!r}")
        if not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError(f"betas must be in [0, 1), got {betas}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        betas = (float(betas[0]), float(betas[1]))
        super().__init__(params, defaults=dict(lr=float(lr), betas=betas, weight_decay=float(weight_decay)))

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """One Lion step for every parameter that has a gradient; returns the closure's loss (or None)."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), weight_decay = group["lr"], group["betas"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("Lion does not support sparse gradients")
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                direction = m.lerp(p.grad, 1 - beta1).sign_()  # sign(c)
                p.mul_(1 - lr * weight_decay).add_(direction, alpha=-lr)
                m.lerp_(p.grad, 1 - beta2)
        return loss
