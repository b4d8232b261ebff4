"""Worked solutions for notebook 03's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import copy

from torch import nn

from helpers import check_adam_bytes, check_snapshot

# Exercise 1: Adam keeps, per tensor, exp_avg and exp_avg_sq (each the tensor's size) and a
# float32 'step' scalar. The model has 4 tensors: two weights and two biases.
model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
n_numbers = (10 * 20 + 20) + (20 * 3 + 3)  # 263 numbers in weights and biases
answer = 2 * 4 * n_numbers + 4 * 4  # 2 moments x 4 bytes a float32, plus 4 steps x 4 bytes = 2280
assert check_adam_bytes(answer, model)


# Exercise 2: state_dict()'s tensors share memory with the model; copy the tensors, not just the dict.
def snapshot(model):
    return copy.deepcopy(model.state_dict())  # or {k: v.clone() for k, v in model.state_dict().items()}


assert check_snapshot(snapshot)
