"""Worked solutions for notebook 00's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

from torch import nn

from helpers import check_sgd_prediction, check_train_step


# Exercise 1: one step of the five-line loop, returning the loss computed before the step.
def train_step(model, optimizer, x, y):
    prediction = model(x)
    loss = nn.functional.mse_loss(prediction, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()  # a Python number, taken before the step changed the weights


assert check_train_step(train_step)

# Exercise 2: d/dw (w - 5)**2 = 2 * (w - 5) = 2 * (2 - 5) = -6 at w = 2,
# so SGD moves w to w - lr * grad = 2 - 0.1 * (-6) = 2.6.
assert check_sgd_prediction(2 - 0.1 * (2 * (2 - 5)))
