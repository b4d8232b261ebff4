"""Helpers behind the notebooks that teach ``torch.optim.Optimizer``.

Importing this package changes no global state: no seeding, no rcParams, no printing.
"""

from .exercises import check_sgd_prediction, check_train_step
from .notebook import pick_device, seed_everything, setup_notebook
from .surfaces import (
    SURFACES,
    DivergedError,
    bowl,
    plot_trajectories,
    rosenbrock,
    saddle,
    trace_optimizer,
)

__version__ = "0.1.0"

__all__ = [
    "SURFACES",
    "DivergedError",
    "bowl",
    "check_sgd_prediction",
    "check_train_step",
    "pick_device",
    "plot_trajectories",
    "rosenbrock",
    "saddle",
    "seed_everything",
    "setup_notebook",
    "trace_optimizer",
]
