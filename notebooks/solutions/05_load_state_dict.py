"""Worked solutions for notebook 05's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch

from helpers import check_lr_after_load, check_resume, resume_setup


# Exercise 1: the file is a plain torch.save'd dict, so load_checkpoint cannot read it: torch.load
# it (weights_only=True: it holds only tensors and plain types) and put every entry back by hand.
# The RNG state goes back last, after resume_setup() has drawn its random initial weights.
def resume(path):
    model, optimizer, scheduler = resume_setup()
    data = torch.load(path, weights_only=True)
    model.load_state_dict(data["model"])  # copies into the parameters the optimizer holds
    optimizer.load_state_dict(data["optimizer"])  # Adam's moments and every group's lr
    scheduler.load_state_dict(data["scheduler"])  # where the schedule is
    torch.set_rng_state(data["rng"])  # dropout masks and data continue, not restart
    return model, optimizer, scheduler, data["step"]


assert check_resume(resume)

# Exercise 2: load_state_dict brings back the saved lr (the 0.5 of the constructor is gone): 0.1
# halved at the counts 3 and 6, so 0.025. The loaded scheduler's count is 7; the 2 steps take it
# to 9, a multiple of step_size 3, where StepLR halves once more.
assert check_lr_after_load(0.1 * 0.5**3)
