"""Worked solutions for notebook 07's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch
from torch.optim import lr_scheduler

from helpers import check_step_lr, check_warmup_cosine


# Exercise 1: two groups, each with its own base lr; one SequentialLR drives both.
# LinearLR reaches its end_factor (1) after total_iters scheduler steps. Step n uses the lr
# set by the n - 1 scheduler steps before it, so step 5 (the last warm-up step, at the full
# base lr) comes after 4: total_iters=4, start_factor=1/5. At the milestone 5 the cosine
# starts over from its own count 0, at the base lr (step 6), and reaches 0 after 25 more
# scheduler steps (step 31): T_max=25.
def build(model):
    optimizer = torch.optim.SGD(
        [{"params": model.body.parameters(), "lr": 0.01}, {"params": model.head.parameters(), "lr": 0.1}],
        momentum=0.9,
    )
    warmup = lr_scheduler.LinearLR(optimizer, start_factor=1 / 5, total_iters=4)
    cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=25)
    scheduler = lr_scheduler.SequentialLR(optimizer, [warmup, cosine], milestones=[5])
    return optimizer, scheduler


assert check_warmup_cosine(build)

# Exercise 2: step 12 uses the lr set by the 11 scheduler.step() calls before it. StepLR
# halves when its count reaches 4 and 8 (11 // 4 = 2 halvings), from the head's own 0.2.
assert check_step_lr(0.2 * 0.5 ** (11 // 4))
