"""Small data sets and models for the lessons, made on the spot and seeded."""

from __future__ import annotations

import functools
import importlib.util
import math
from pathlib import Path

import numpy as np
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


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """The pixels (1797 x 64) and labels of ``sklearn.datasets.load_digits()``.

    Read straight from the CSV file scikit-learn ships, without importing scikit-learn (whose
    import takes over a second, more than the lessons that use the data); if the file is not
    where it was, ``load_digits()`` itself.
    """
    spec = importlib.util.find_spec("sklearn")
    if spec is not None and spec.submodule_search_locations:
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",", dtype=np.float64)
            return table[:, :-1], table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits

    data = load_digits()
    return data.data, data.target


def digits_task(
    digits: tuple[int, ...], seed: int = 0, test_fraction: float = 0.25, device: str | torch.device = "cpu"
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 handwritten digits (shipped inside the package, nothing downloaded),
    restricted to ``digits`` and relabelled ``0..len(digits)-1``.

    Returns ``(X_train, y_train, X_test, y_test)``: pixels scaled to [0, 1], shape ``(n, 64)``.
    Example: ``X, y, X_test, y_test = digits_task((0, 1, 2, 3, 4))``.
    """
    wanted = tuple(digits)
    if not wanted or len(set(wanted)) != len(wanted) or not all(isinstance(d, int) and 0 <= d <= 9 for d in wanted):
        raise ValueError(f"digits must be distinct integers from 0 to 9, got {digits!r}")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    pixels, labels = _digits()
    X = torch.tensor(pixels, dtype=torch.float32) / 16.0
    y = torch.tensor(labels, dtype=torch.long)
    keep = torch.isin(y, torch.tensor(wanted))
    X, y = X[keep], y[keep]
    y = torch.tensor([wanted.index(int(v)) for v in y], dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(len(y) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return X[train].to(device), y[train].to(device), X[test].to(device), y[test].to(device)
