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

__all__ = [
    "REVEAL_AFTER",
    "CheckResult",
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
    "check_sgd_prediction",
    "check_snapshot",
    "check_train_step",
    "check_unfreeze_last",
    "reset_tries",
    "resume_setup",
    "run_solutions",
]
