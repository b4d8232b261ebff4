"""Worked solutions for notebook 08's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch

from helpers import check_adagrad, check_muon_split


# Exercise 1: Adagrad in the shape of section 1. The hyperparameters go into defaults, so every
# group has them and step() reads them from the group (a scheduler or a second group's lr then
# takes effect); the sum of squared gradients lives in self.state[p], made at the first step.
class MyAdagrad(torch.optim.Optimizer):
    def __init__(self, params, lr=0.01, eps=1e-10):
        if lr < 0 or eps < 0:
            raise ValueError(f"lr and eps must be >= 0, got {lr}, {eps}")
        super().__init__(params, defaults=dict(lr=lr, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "sum" not in state:
                    state["sum"] = torch.zeros_like(p)
                state["sum"].addcmul_(p.grad, p.grad)  # s <- s + g * g
                p.addcdiv_(p.grad, state["sum"].sqrt().add_(group["eps"]), value=-group["lr"])  # eps after the root
        return loss


assert check_adagrad(MyAdagrad)


# Exercise 2: hidden weight matrices are the 2-D parameters inside model.blocks. The embeddings
# (tok_embed, and pos_embed, a plain nn.Parameter whose name does not say "weight"), the norms,
# the biases and lm_head go to AdamW. Deciding by name *and* shape works for any number of blocks.
def split_params(model):
    muon, adamw = [], []
    for name, p in model.named_parameters():
        hidden_matrix = name.startswith("blocks.") and p.ndim == 2
        (muon if hidden_matrix else adamw).append(p)
    return muon, adamw


assert check_muon_split(split_params)
