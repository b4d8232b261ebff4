"""Worked solutions for notebook 02's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch
from torch import nn

from helpers import check_accumulation, check_moves


# Exercise 1: clear once, add up k backward passes of loss / k, step once.
# mse_loss averages over the rows of a micro-batch; dividing by k = len(batches) turns the
# sum of k equal-size micro-batch means into the mean over the whole batch. Dividing the
# learning rate instead would also divide the weight decay of the checker's SGD.
def accumulate(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        loss = nn.functional.mse_loss(model(x), y) / len(batches)
        loss.backward()  # adds into .grad
    optimizer.step()


assert check_accumulation(accumulate)

# Exercise 2: step() skips a parameter whose .grad is None, so it stays put. A .grad of zeros
# is not skipped, but Adagrad's step is lr * grad / (sqrt(sum of squared gradients) + eps): zero
# for a zero gradient. Adagrad keeps no velocity (and has no weight decay by default), so nothing
# from the first step moves it either.
# Adagrad's step by hand, over two steps, then a step with a gradient of zeros:
w = torch.tensor([1.0, -2.0], requires_grad=True)
adagrad = torch.optim.Adagrad([w], lr=0.1)
by_hand, squares = w.detach().clone(), torch.zeros(2)
for grad in (torch.tensor([0.5, 1.0]), torch.tensor([1.0, -3.0])):
    w.grad = grad
    adagrad.step()
    squares += grad**2
    by_hand -= 0.1 * grad / (squares.sqrt() + 1e-10)  # eps = 1e-10 by default
    assert torch.allclose(w.detach(), by_hand)
adagrad.zero_grad(set_to_none=False)
before = w.detach().clone()
adagrad.step()  # grad = 0: a step of 0.1 * 0 / (...) = 0
assert torch.equal(w.detach(), before)

moves_with_none = False
moves_with_zeros = False
assert check_moves(moves_with_none, moves_with_zeros)
