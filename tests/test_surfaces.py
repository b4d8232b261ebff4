import warnings

import numpy as np
import pytest
import torch

from helpers import SURFACES, DivergedError, bowl, plot_trajectories, rosenbrock, saddle, trace_optimizer


def test_functions_and_minima():
    assert bowl(torch.zeros(2)).item() == 0
    assert rosenbrock(torch.tensor([1.0, 1.0])).item() == 0
    assert saddle(torch.zeros(2)).item() == 0
    grid = torch.randn(5, 7, 2)
    for s in SURFACES.values():
        assert s.fn(grid).shape == (5, 7)
    assert bowl(torch.tensor([0.0, 1.0]), condition=4).item() == 2.0
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        bowl(torch.zeros(3))
    with pytest.raises(ValueError, match="condition must be >= 1"):
        bowl(torch.zeros(2), condition=0.5)


def test_trace_matches_a_hand_written_sgd():
    path = trace_optimizer("bowl", (-4.0, 2.0), lambda p: torch.optim.SGD(p, lr=0.1), steps=5)
    assert path.shape == (6, 2) and path.dtype == torch.float64
    x, y = -4.0, 2.0
    for k in range(1, 6):
        x, y = x - 0.1 * x, y - 0.1 * 10 * y
        assert path[k].tolist() == pytest.approx([x, y])


def test_trace_lbfgs_through_a_closure_converges():
    path = trace_optimizer(
        "rosenbrock", None, lambda p: torch.optim.LBFGS(p, lr=1, line_search_fn="strong_wolfe"), steps=10
    )
    assert path[-1].tolist() == pytest.approx([1.0, 1.0], abs=1e-3)


def test_divergence_stops_and_says_so():
    with pytest.raises(DivergedError, match="SGD diverged on bowl at step") as info:
        trace_optimizer("bowl", None, lambda p: torch.optim.SGD(p, lr=1.0), steps=2000)
    assert torch.isfinite(info.value.path).all()
    assert info.value.path.shape[1] == 2 and info.value.step > 1


def test_trace_bad_input():
    sgd = lambda p: torch.optim.SGD(p, lr=0.1)  # noqa: E731
    with pytest.raises(ValueError, match="steps must be a positive int"):
        trace_optimizer("bowl", None, sgd, 0)
    with pytest.raises(ValueError, match=r"start must be 2 numbers"):
        trace_optimizer("bowl", (1, 2, 3), sgd, 3)
    with pytest.raises(ValueError, match="unknown surface 'banana'"):
        trace_optimizer("banana", None, sgd, 3)
    with pytest.raises(TypeError, match="make_optimizer must be a callable"):
        trace_optimizer("bowl", None, 0.1, 3)
    with pytest.raises(TypeError, match="must return a torch.optim.Optimizer"):
        trace_optimizer("bowl", None, lambda p: p, 3)


def test_custom_function():
    path = trace_optimizer(lambda xy: (xy**2).sum(-1), (1.0, 1.0), lambda p: torch.optim.SGD(p, lr=0.25), 1)
    assert path[-1].tolist() == [0.5, 0.5]


def test_plot_trajectories_draws_each_path():
    a = trace_optimizer("rosenbrock", None, lambda p: torch.optim.Adam(p, lr=0.05), 20)
    b = np.array([[0.0, 0.0], [0.5, 0.5]])
    ax = plot_trajectories("rosenbrock", {"Adam": a, "by hand": b})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["minimum", "Adam", "by hand"]
    paths = [line for line in ax.get_lines() if line.get_label() in ("Adam", "by hand")]
    assert [len(line.get_xdata()) for line in paths] == [21, 2]
    assert len(ax.get_lines()) == 1 + 3 * 2  # minimum, then path + start + end per path
    assert ax.get_xlabel() == "x" and ax.get_ylabel() == "y" and "rosenbrock" in ax.get_title()
    assert ax.collections  # the contour lines
    ax2 = plot_trajectories("saddle", [b])
    assert [t.get_text() for t in ax2.get_legend().get_texts()] == ["path 0"]


def test_plot_trajectories_bad_paths():
    with pytest.raises(ValueError, match=r"paths\['p'\] must have shape \(n, 2\)"):
        plot_trajectories("bowl", {"p": torch.zeros(4, 3)})
    with pytest.raises(TypeError, match="not a single tensor"):
        plot_trajectories("bowl", torch.zeros(4, 2))
    with pytest.raises(ValueError, match="paths is empty"):
        plot_trajectories("bowl", {})
    with pytest.raises(TypeError, match="ax must be a matplotlib Axes"):
        plot_trajectories("bowl", {"p": torch.zeros(2, 2)}, ax="left")


@pytest.mark.parametrize(
    ("start", "error", "message"),
    [
        ("ab", TypeError, r"start must be 2 real numbers \(x, y\), got the str 'ab'"),
        (b"ab", TypeError, r"start must be 2 real numbers"),
        ((1 + 1j, 2.0), TypeError, r"start must be 2 real numbers .*complex"),
        (torch.tensor([1 + 1j, 2.0]), TypeError, r"start must be 2 real numbers .*complex"),
        ((True, False), TypeError, r"start must be 2 real numbers .*booleans"),
        ((1.0, None), TypeError, r"start must be 2 real numbers"),
        ([[1.0, 2.0]], ValueError, r"start must be 2 numbers \(x, y\), got shape \(1, 2\)"),
        ((float("nan"), 0.0), ValueError, r"start must be finite"),
    ],
)
def test_trace_bad_start_names_the_argument(start, error, message):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "discards the imaginary part" on the way
        with pytest.raises(error, match=message):
            trace_optimizer("bowl", start, lambda p: torch.optim.SGD(p, lr=0.1), 3)


def test_trace_accepts_any_real_numbers_for_start():
    for start in ((-4, 2), np.array([-4.0, 2.0], dtype=np.float32), torch.tensor([-4.0, 2.0], requires_grad=True)):
        path = trace_optimizer("bowl", start, lambda p: torch.optim.SGD(p, lr=0.1), 1)
        assert path[0].tolist() == [-4.0, 2.0] and path.dtype == torch.float64


@pytest.mark.parametrize(
    ("fn", "error", "message"),
    [
        (lambda xy: xy**2, ValueError, r"fn \(<lambda>\) must return one number .* got shape \(2,\)"),
        (lambda xy: 3.0, TypeError, r"fn \(<lambda>\) must return a tensor .* got float"),
        (lambda xy: torch.tensor(1.0), ValueError, r"does not depend on its input"),
        (lambda xy: (xy**2).sum().to(torch.complex128), TypeError, r"real floating-point loss, got dtype torch.complex128"),
    ],
)
def test_trace_bad_function_says_what_it_returned(fn, error, message):
    with pytest.raises(error, match=message):
        trace_optimizer(fn, (1.0, 1.0), lambda p: torch.optim.SGD(p, lr=0.1), 2)


def test_trace_one_element_loss_is_fine():
    path = trace_optimizer(lambda xy: (xy**2).sum(-1, keepdim=True), (1.0, 1.0), lambda p: torch.optim.LBFGS(p), 1)
    assert path[-1].tolist() == pytest.approx([0.0, 0.0], abs=1e-6)
