import os

import isolation

# Kernels, servers and browsers the tests start inherit this process's environment: give them
# a private HOME and Jupyter, IPython and Matplotlib folders, and drop the caller's MPLBACKEND
# and the like (tests/isolation.py). `make test` did this already; a bare pytest gets it here.
isolation.isolate()

# Notebook kernels started by nbval inherit this: stored outputs come from the CPU.
os.environ["NOTEBOOK_DEVICE"] = "cpu"

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


@pytest.fixture(autouse=True)
def _fresh_checker_tries():
    """Each test starts with no wrong tries counted (checkers reveal the answer after a few)."""
    from helpers.exercises import reset_tries

    reset_tries()
    yield
    reset_tries()


def pytest_terminal_summary(terminalreporter):
    """Say how many browser tests ran, so a CI log shows they were not skipped."""
    counts = {}
    for outcome in ("passed", "failed", "skipped"):
        reports = terminalreporter.stats.get(outcome, [])
        counts[outcome] = sum(1 for r in reports if getattr(r, "when", "call") in ("call", "setup") and "browser" in getattr(r, "keywords", {}))
    if any(counts.values()):
        terminalreporter.write_line(
            f"browser tests in Chromium -- passed: {counts['passed']}, failed: {counts['failed']}, skipped: {counts['skipped']}"
        )


@pytest.fixture
def chinese(monkeypatch):
    """``tr`` in Chinese, strict (a text without a catalog entry raises); English again after."""
    from helpers import i18n

    monkeypatch.setenv(i18n.STRICT_ENV, "1")
    i18n.set_language("zh")
    yield i18n.tr
    i18n.set_language("en")
