import pytest
import torch
from torch import nn

from helpers import grad_stats, plot_grad_norms, plot_lines


def test_plot_lines_draws_each_series():
    ax = plot_lines({"a": [1, 2, 3], "b": [3, 2]}, title="T", ylabel="v", start=1, styles={"b": "--"}, logy=True, vlines=[2])
    lines = ax.get_lines()[:2]
    assert list(ax.get_lines()[2].get_xdata()) == [2, 2]  # the vertical mark
    assert [line.get_label() for line in lines] == ["a", "b"]
    assert list(lines[0].get_xdata()) == [1, 2, 3] and lines[1].get_linestyle() == "--"
    assert ax.get_title() == "T" and ax.get_ylabel() == "v" and ax.get_xlabel() == "step" and ax.get_yscale() == "log"
    with pytest.raises(TypeError, match="non-empty dict"):
        plot_lines([1, 2], title="x")
    with pytest.raises(ValueError, match=r"series\['a'\] is empty"):
        plot_lines({"a": []}, title="x")


def test_plot_grad_norms_one_line_per_parameter():
    model = nn.Linear(3, 2)
    snaps = []
    for _ in range(3):
        model(torch.randn(4, 3)).sum().backward()
        snaps.append(grad_stats(model))
    ax = plot_grad_norms(snaps)
    assert [line.get_label() for line in ax.get_lines()] == ["weight", "bias"]
    bias = ax.get_lines()[1].get_ydata()
    assert list(bias) == pytest.approx([s.set_index("name").loc["bias", "norm"] for s in snaps])
    assert bias[-1] == pytest.approx(3 * bias[0])  # the same gradient added three times
    with pytest.raises(TypeError, match="non-empty list of grad_stats"):
        plot_grad_norms(snaps[0])
