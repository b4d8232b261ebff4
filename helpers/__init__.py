"""Helpers behind the notebooks that teach ``torch.optim.Optimizer``.

Importing this package changes no global state: no seeding, no rcParams, no printing.
"""

from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .data import BlogNet, TinyMLP, digits_task, make_spirals
from .distributed import DistributedError, plot_bytes_per_rank, report, run_distributed, show_script
from .exercises import (
    CheckResult,
    check_accumulation,
    check_adagrad,
    check_adam_bytes,
    check_amp_step,
    check_body_head_lrs,
    check_closure,
    check_lr_after_load,
    check_moves,
    check_muon_split,
    check_nesterov_step,
    check_new_group_defaults,
    check_no_decay_groups,
    check_resume,
    check_save_once,
    check_sgd_prediction,
    check_snapshot,
    check_step_happened,
    check_step_lr,
    check_train_step,
    check_unfreeze_last,
    check_warmup_cosine,
    check_zero_bytes,
    muon_split_model,
    resume_setup,
    run_solutions,
    zero_exercise_model,
)
from .grads import GradientRecorder, grad_stats, plot_grad_flow, plot_grad_histograms, plot_grad_norms
from .i18n import get_language, set_language
from .lr import LRRecorder, lr_schedule, plot_lr_schedule
from .notebook import pick_device, seed_everything, setup_notebook
from .optimizers import Lion
from .plots import plot_lines
from .schedules import SCHEDULES, build_schedule, plot_schedules, scale_schedule, schedule_lrs, schedule_playground, warmup_cosine
from .steps import StepRecorder, group_grad_norms, plot_clipping, plot_loss_scale
from .surfaces import SURFACES, DivergedError, bowl, plot_trajectories, rosenbrock, saddle, trace_optimizer
from .tables import optimizer_state_table, param_group_table, plot_state_bytes, state_bytes
from .widgets import lr_groups_playground, optimizer_playground, playground_run, train_two_groups

__version__ = "0.1.0"

__all__ = [
    "BlogNet",
    "CheckResult",
    "CheckpointError",
    "DistributedError",
    "DivergedError",
    "GradientRecorder",
    "LRRecorder",
    "Lion",
    "SCHEDULES",
    "SURFACES",
    "StepRecorder",
    "TinyMLP",
    "bowl",
    "build_schedule",
    "check_accumulation",
    "check_adagrad",
    "check_adam_bytes",
    "check_amp_step",
    "check_body_head_lrs",
    "check_closure",
    "check_lr_after_load",
    "check_moves",
    "check_muon_split",
    "check_nesterov_step",
    "check_new_group_defaults",
    "check_no_decay_groups",
    "check_resume",
    "check_save_once",
    "check_sgd_prediction",
    "check_snapshot",
    "check_step_happened",
    "check_step_lr",
    "check_train_step",
    "check_unfreeze_last",
    "check_warmup_cosine",
    "check_zero_bytes",
    "digits_task",
    "get_language",
    "grad_stats",
    "group_grad_norms",
    "load_checkpoint",
    "lr_groups_playground",
    "lr_schedule",
    "make_spirals",
    "muon_split_model",
    "optimizer_playground",
    "optimizer_state_table",
    "param_group_table",
    "pick_device",
    "playground_run",
    "plot_bytes_per_rank",
    "plot_clipping",
    "plot_grad_flow",
    "plot_grad_histograms",
    "plot_grad_norms",
    "plot_lines",
    "plot_loss_scale",
    "plot_lr_schedule",
    "plot_schedules",
    "plot_state_bytes",
    "plot_trajectories",
    "report",
    "resume_setup",
    "rosenbrock",
    "run_distributed",
    "run_solutions",
    "saddle",
    "save_checkpoint",
    "scale_schedule",
    "schedule_lrs",
    "schedule_playground",
    "seed_everything",
    "set_language",
    "setup_notebook",
    "show_script",
    "state_bytes",
    "trace_optimizer",
    "train_two_groups",
    "warmup_cosine",
    "zero_exercise_model",
]
