"""Worked solutions for notebook 01's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch
from torch import nn

from helpers import TinyMLP, check_body_head_lrs, check_no_decay_groups

# Exercise 1: AdamW at lr 1e-3; weight decay 0.01 on the Linear weights, none on biases and
# the LayerNorm's weight and bias. Those are exactly the 1-D parameters of this model.
model = nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 1))
decay = [p for p in model.parameters() if p.ndim > 1]
no_decay = [p for p in model.parameters() if p.ndim == 1]
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.01}, {"params": no_decay, "weight_decay": 0.0}],
    lr=1e-3,
)
assert check_no_decay_groups(optimizer, model)

# Exercise 2: one Adam, one dict per part, each with its own lr.
net = TinyMLP(2, hidden=8, out_features=2, depth=2)
optimizer = torch.optim.Adam(
    [
        {"params": net.body.parameters(), "lr": 1e-4},  # the pretrained body moves gently
        {"params": net.head.parameters(), "lr": 1e-2},  # the new head learns fast
    ]
)
assert check_body_head_lrs(optimizer, net, body_lr=1e-4, head_lr=1e-2)
