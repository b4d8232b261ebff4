"""Worked solutions for notebook 04's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

from helpers import check_new_group_defaults, check_unfreeze_last


# Exercise 1: model[0] is the backbone (Linear, ReLU, Linear, ReLU, Linear, ReLU); its last
# Linear is model[0][4] (model[0][-1] is a ReLU, which has no parameters). It needs both:
# requires_grad, so that backward() computes its gradient, and a group in the optimizer,
# so that step() moves it.
def unfreeze(model, optimizer):
    last = model[0][4]
    last.requires_grad_(True)
    optimizer.add_param_group({"params": last.parameters(), "lr": 3e-4})


assert check_unfreeze_last(unfreeze)

# Exercise 2: the new group's dict sets only 'lr'; every other key is copied from
# optimizer.defaults, which holds the constructor's keyword arguments (weight_decay=5e-4) and
# SGD's own defaults for the rest (momentum=0). The first group's momentum=0.9 was set in that
# group's dict only, so it is not in optimizer.defaults.
assert check_new_group_defaults(momentum=0, weight_decay=5e-4)
