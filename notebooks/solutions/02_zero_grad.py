"""Worked solutions for notebook 02's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

from torch import nn

from helpers import check_accumulation, check_moves


# Exercise 1: clear once, add up k backward passes of loss / k, step once.
# mse_loss averages over the rows of a micro-batch; dividing by k = len(batches) turns the
# sum of k equal-size micro-batch means into the mean over the whole batch.
def accumulate(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        loss = nn.functional.mse_loss(model(x), y) / len(batches)
        loss.backward()  # adds into .grad
    optimizer.step()


assert check_accumulation(accumulate)

# Exercise 2: step() skips a parameter whose .grad is None, so it stays put; a .grad of
# zeros is not skipped, and with momentum=0.9 the buffer from the first step still moves it.
moves_with_none = False
moves_with_zeros = True
assert check_moves(moves_with_none, moves_with_zeros)
