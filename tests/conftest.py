import os

# Notebook kernels started by nbval inherit this: stored outputs come from the CPU.
os.environ.setdefault("NOTEBOOK_DEVICE", "cpu")

import matplotlib  # noqa: E402

# Unit tests draw off-screen. Set in this process only: an MPLBACKEND environment variable
# would reach nbval's kernels and stop their figures from being displayed.
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
