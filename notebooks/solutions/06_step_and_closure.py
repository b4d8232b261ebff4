"""Worked solutions for notebook 06's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

from torch import nn

from helpers import check_closure, check_nesterov_step


# Exercise 1: one step of SGD(lr, momentum, weight_decay, nesterov=True), returning new tensors.
# Weight decay goes into the gradient first, and that one gradient is used everywhere after:
# in the buffer and in Nesterov's look-ahead. At the first step the buffer is that gradient
# (with dampening 0, which Nesterov requires, starting from zeros gives the same).
def nesterov_step(p, grad, buf, lr, momentum, weight_decay):
    g = grad + weight_decay * p  # not grad.add_(...): leave the inputs alone
    new_buf = g.clone() if buf is None else momentum * buf + g  # not buf.mul_(...)
    new_p = p - lr * (g + momentum * new_buf)  # Nesterov: look ahead along the updated buffer
    return new_p, new_buf


assert check_nesterov_step(nesterov_step)


# Exercise 2: a closure clears the gradients, recomputes the loss from the current
# parameters, calls backward() and returns the loss. LBFGS calls it several times per step.
def make_closure(model, optimizer, x, y):
    def closure():
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)  # a fresh forward pass at every call
        loss.backward()
        return loss

    return closure


assert check_closure(make_closure)
