"""Worked solutions for notebook 01's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch
from torch import nn

from helpers import TinyMLP, check_body_head_lrs, check_no_decay_groups

# Exercise 1: AdamW at lr 5e-4; weight decay 0.1 on the Linear weights, none on biases and
# the BatchNorm's weight and bias. Split by name: the BatchNorm is the module called "1".
model = nn.Sequential(nn.Linear(3, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 1))
decay, no_decay = [], []
for name, p in model.named_parameters():
    (no_decay if name.startswith("1.") or name.endswith("bias") else decay).append(p)
optimizer = torch.optim.AdamW(
    [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
    lr=5e-4,
)
assert check_no_decay_groups(optimizer, model)

# Exercise 2: one Adam, one dict per part, each with its own lr.
net = TinyMLP(3, hidden=12, out_features=4, depth=3)
optimizer = torch.optim.Adam(
    [
        {"params": net.body.parameters(), "lr": 3e-4},  # the pretrained body moves gently
        {"params": net.head.parameters(), "lr": 3e-3},  # the new head learns ten times faster
    ]
)
assert check_body_head_lrs(optimizer, net)
