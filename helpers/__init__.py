"""Helpers behind the notebooks that teach ``torch.optim.Optimizer``.

Importing this package changes no global state: no seeding, no rcParams, no printing.
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import BlogNet, TinyMLP, digits_task, make_spirals
from .exercises import (
    CheckResult,
    check_accumulation,
    check_adam_bytes,
    check_body_head_lrs,
    check_closure,
    check_lr_after_load,
    check_moves,
    check_nesterov_step,
    check_new_group_defaults,
    check_no_decay_groups,
    check_resume,
    check_sgd_prediction,
    check_snapshot,
    check_train_step,
    check_unfreeze_last,
    resume_setup,
    run_solutions,
)
from .grads import GradientRecorder, grad_stats, plot_grad_flow, plot_grad_histograms, plot_grad_norms
from .lr import LRRecorder, lr_schedule, plot_lr_schedule
from .notebook import pick_device, seed_everything, setup_notebook
from .plots import plot_lines
from .surfaces import SURFACES, DivergedError, bowl, plot_trajectories, rosenbrock, saddle, trace_optimizer
from .tables import optimizer_state_table, param_group_table, plot_state_bytes, state_bytes
from .widgets import lr_groups_playground, optimizer_playground, playground_run, train_two_groups

__version__ = "0.1.0"

__all__ = [
    "SURFACES",
    "BlogNet",
    "CheckpointError",
    "CheckResult",
    "DivergedError",
    "GradientRecorder",
    "LRRecorder",
    "TinyMLP",
    "bowl",
    "check_accumulation",
    "check_adam_bytes",
    "check_body_head_lrs",
    "check_closure",
    "check_lr_after_load",
    "check_moves",
    "check_nesterov_step",
    "check_new_group_defaults",
    "check_no_decay_groups",
    "check_resume",
    "check_snapshot",
    "check_sgd_prediction",
    "check_train_step",
    "check_unfreeze_last",
    "digits_task",
    "grad_stats",
    "load_checkpoint",
    "lr_groups_playground",
    "lr_schedule",
    "make_spirals",
    "optimizer_playground",
    "optimizer_state_table",
    "param_group_table",
    "pick_device",
    "playground_run",
    "plot_grad_flow",
    "plot_grad_histograms",
    "plot_grad_norms",
    "plot_lines",
    "plot_lr_schedule",
    "plot_state_bytes",
    "plot_trajectories",
    "resume_setup",
    "rosenbrock",
    "run_solutions",
    "saddle",
    "save_checkpoint",
    "seed_everything",
    "setup_notebook",
    "state_bytes",
    "trace_optimizer",
    "train_two_groups",
]
