"""Small data sets and models for the lessons, made on the spot and seeded."""

from __future__ import annotations

import math

import torch
from torch import nn

from ._checks import require_positive_int


def make_spirals(
    n_per_class: int = 100, classes: int = 2, noise: float = 0.15, seed: int = 0, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Interleaved 2-D spirals: ``X`` of shape ``(n_per_class * classes, 2)``, labels ``y``.

    Example: ``X, y = make_spirals(100, classes=3, seed=0)``.
    """
    require_positive_int(n_per_class, "n_per_class")
    require_positive_int(classes, "classes")
    if classes < 2:
        raise ValueError(f"classes must be at least 2, got {classes}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    g = torch.Generator().manual_seed(seed)
    radius = torch.linspace(0.05, 1.0, n_per_class)
    xs, ys = [], []
    for c in range(classes):
        angle = torch.linspace(0, 4 * math.pi / classes * 2, n_per_class) + 2 * math.pi * c / classes
        angle = angle + noise * torch.randn(n_per_class, generator=g)
        xs.append(torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], dim=1))
        ys.append(torch.full((n_per_class,), c, dtype=torch.long))
    return torch.cat(xs).to(device), torch.cat(ys).to(device)


class TinyMLP(nn.Module):
    """A small MLP split into ``body`` (the "backbone") and ``head``, for per-group lessons.

    Example: ``TinyMLP(2, hidden=32, out_features=2, depth=2)``.
    """

    def __init__(self, in_features: int = 2, hidden: int = 32, out_features: int = 2, depth: int = 2):
        super().__init__()
        for name, value in (("in_features", in_features), ("hidden", hidden), ("out_features", out_features), ("depth", depth)):
            require_positive_int(value, name)
        layers: list[nn.Module] = []
        width = in_features
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


class BlogNet(nn.Module):
    """The origin blog's network: ``Conv2d(3, 1, 3)``, ``MaxPool2d(2, 2)``, ``Linear(9, 2)``.

    Takes images of shape ``(N, 3, 8, 8)``: 8x8 -> conv 6x6 -> pool 3x3 -> 9 features -> 2.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 1, 3)
        self.pool = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(9, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, 8, 8):
            raise ValueError(f"BlogNet expects images of shape (N, 3, 8, 8), got {tuple(x.shape)}")
        x = self.pool(torch.relu(self.conv1(x)))
        return self.fc1(x.flatten(1))
