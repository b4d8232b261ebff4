"""Worked solutions for notebook 03's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import copy

from torch import nn

from helpers import check_adam_bytes, check_snapshot

# Exercise 1: Adam(amsgrad=True) keeps, per tensor it trains, exp_avg, exp_avg_sq and
# max_exp_avg_sq (each the tensor's size) and a float32 'step' scalar. The frozen first Linear
# gets no gradient, so no state (section 4). What remains: the middle layer's weight (it has
# no bias) and the last layer's weight and bias, 3 tensors.
model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 20, bias=False), nn.ReLU(), nn.Linear(20, 3))
model[0].requires_grad_(False)
n_numbers = 20 * 20 + (20 * 3 + 3)  # 463 numbers in the 3 trainable tensors
answer = 3 * 4 * n_numbers + 3 * 4  # 3 moments x 4 bytes a float32, plus 3 steps x 4 bytes = 5568
assert check_adam_bytes(answer, model, amsgrad=True)


# Exercise 2: state_dict()'s tensors share memory with the model, buffers included; a
# forward pass in training mode moves BatchNorm's running statistics. Copy the tensors.
def snapshot(model):
    return copy.deepcopy(model.state_dict())  # or {k: v.clone() for k, v in model.state_dict().items()}


assert check_snapshot(snapshot)
