"""Exercise checkers, one module per notebook; each prints a verdict and returns a ``CheckResult``.

Every checker takes ``reveal=True`` to show the expected answer; see ``_core`` for the rules
they share (hints before answers, never a traceback from the checker itself).
"""

from ._core import REVEAL_AFTER, CheckResult, reset_tries, run_solutions
from .nb00 import check_sgd_prediction, check_train_step
from .nb01 import check_body_head_lrs, check_no_decay_groups
from .nb02 import check_accumulation, check_moves
from .nb03 import check_adam_bytes, check_snapshot
from .nb04 import check_new_group_defaults, check_unfreeze_last
from .nb05 import check_lr_after_load, check_resume, resume_setup
from .nb06 import check_closure, check_nesterov_step
from .nb07 import check_step_lr, check_warmup_cosine
from .nb08 import check_adagrad, check_muon_split, muon_split_model
from .nb09 import check_save_once, check_zero_bytes, zero_exercise_model
from .nb10 import check_amp_step, check_step_happened

__all__ = [
    "CheckResult",
    "REVEAL_AFTER",
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
    "muon_split_model",
    "reset_tries",
    "resume_setup",
    "run_solutions",
    "zero_exercise_model",
]
