"""Worked solutions for notebook 05's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

from helpers import check_lr_after_load, check_resume, load_checkpoint, resume_setup


# Exercise 1: restore all four parts of the checkpoint into the fresh objects: the model's
# weights, the optimizer's state (Adam's moments and every group's lr), the scheduler's
# position, and the RNG states (dropout masks and data continue, not restart).
# load_checkpoint does all of it; torch.load + three load_state_dict calls + the RNG by hand
# is the long way.
def resume(path):
    model, optimizer, scheduler = resume_setup()
    load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler)  # RNG states included
    return model, optimizer, scheduler


assert check_resume(resume)

# Exercise 2: the saved state_dict holds the param_groups, lr included, and load_state_dict
# replaces the current groups' hyperparameters with them: the lr passed to the constructor
# (0.5) is gone, the saved one comes back. Set a new lr *after* loading.
assert check_lr_after_load(0.01)
