"""Worked solutions for notebook 10's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from helpers import check_amp_step, check_step_happened


# Exercise 1: one optimizer step from several micro-batches, in mixed precision, clipped.
# Per micro-batch: forward and loss under autocast, divide by their number, scaled backward
# (the gradients add up, scaled). After the last one: unscale once, clip the true gradient,
# let the scaler step (it skips on inf/NaN) and update the scale, then clear .grad.
def amp_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = nn.functional.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)  # once, after the last backward: now .grad holds the true gradient
    clip_grad_norm_(model.parameters(), max_norm)  # so max_norm applies to the true gradient
    scaler.step(optimizer)  # optimizer.step(), unless unscale_ found inf or NaN
    scaler.update()
    optimizer.zero_grad()


assert check_amp_step(amp_step)


# Exercise 2: update() lowers the scale (times backoff_factor) only after a skipped step; after a
# step that ran it keeps the scale, or raises it (times growth_factor) every growth_interval
# clean iterations. So the step ran exactly when the scale did not go down.
def step_happened(scale_before, scale_after):
    return scale_after >= scale_before


assert check_step_happened(step_happened)
