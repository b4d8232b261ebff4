import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from helpers import grad_stats, plot_grad_histograms, plot_grad_norms, plot_lines
from helpers.plots import figure_alt_text
from helpers.widgets import plot_two_groups, train_two_groups


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


# --- figure_alt_text ---------------------------------------------------------------------

def test_alt_text_one_panel_with_title_labels_and_legend():
    ax = plot_lines({"SGD": [3, 2, 1], "Adam": [3, 1, 0.5]}, title="Training  loss\nper step", ylabel="loss", logy=True)
    assert figure_alt_text(ax.figure) == "Figure. Training loss per step; x: step; y: loss (log scale); legend: SGD, Adam."


def test_alt_text_one_bare_panel():
    fig = Figure()
    fig.subplots().plot([1, 2])
    assert figure_alt_text(fig) == "Figure. No title or axis labels."


def test_alt_text_two_panels_as_in_the_lr_groups_widget():
    fig = Figure()
    plot_two_groups(train_two_groups(0.01, 0.03, steps=5), fig.subplots(1, 2))
    assert figure_alt_text(fig) == (
        "Figure, 2 panels. 1: Learning rate per group (cosine); x: step; y: learning rate; legend: body, head. "
        "2: Loss; x: step; y: training loss."
    )


def test_alt_text_suptitle_untitled_panel_and_figure_legend():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    left.plot([1, 2], label="a")
    right.set_xlabel("epoch")
    fig.suptitle("Two runs")
    fig.legend()
    assert figure_alt_text(fig) == "Figure, 2 panels: Two runs. 1: no title or axis labels. 2: x: epoch. Legend: a."


def test_alt_text_leaves_out_hidden_axes_and_colour_bars_and_joins_twins():
    fig = Figure()
    axes = fig.subplots(1, 3)
    image = axes[0].imshow([[0, 1], [1, 0]])
    axes[0].set_title("Weights")
    fig.colorbar(image, ax=axes[0])
    axes[1].set_ylabel("loss")
    axes[1].twinx().set_ylabel("bytes")
    axes[2].set_visible(False)
    assert figure_alt_text(fig) == "Figure, 2 panels. 1: Weights. 2: y: loss; y (right): bytes."


def test_alt_text_of_plot_grad_histograms_names_every_panel():
    model = nn.Sequential(nn.Linear(3, 2), nn.Linear(2, 1))
    model(torch.randn(4, 3)).sum().backward()
    text = figure_alt_text(plot_grad_histograms(model))
    assert text.startswith("Figure, 4 panels: Gradient histograms per parameter. 1: ") and "4: " in text


def test_alt_text_wants_a_figure():
    ax = plot_lines({"a": [1]}, title="t")
    with pytest.raises(TypeError, match="fig must be a matplotlib Figure, got Axes; for an Axes pass ax.figure"):
        figure_alt_text(ax)


def test_alt_text_names_a_scale_once_when_the_label_already_says_it():
    ax = plot_lines({"loss scale": [1, 2, 4]}, title="Loss scale per iteration", xlabel="iteration", ylabel="loss scale (log scale)", logy=True)
    assert figure_alt_text(ax.figure) == (
        "Figure. Loss scale per iteration; x: iteration; y: loss scale (log scale); legend: loss scale."
    )


def test_alt_text_of_axes_labelled_just_x_and_y():
    fig = Figure()
    ax = fig.subplots()
    ax.plot([1, 2], label="path")
    ax.set(title="Paths on bowl", xlabel="x", ylabel="Y")
    ax.legend()
    assert figure_alt_text(fig) == "Figure. Paths on bowl; x and y axes; legend: path."
    ax.set_ylabel("loss")
    assert figure_alt_text(fig) == "Figure. Paths on bowl; x axis; y: loss; legend: path."
    ax.set(xlabel="x", ylabel="y", yscale="log")
    assert figure_alt_text(fig) == "Figure. Paths on bowl; x axis; y axis (log scale); legend: path."
