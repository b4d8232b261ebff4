"""helpers.steps: StepRecorder against a real GradScaler, group norms against clip_grad_norm_, the plots."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from helpers import StepRecorder, group_grad_norms, plot_clipping, plot_loss_scale
from helpers.steps import HISTORY_COLUMNS, SKIPPED


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def amp_objects(**scaler_kwargs):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    scaler = torch.amp.GradScaler("cpu", **scaler_kwargs)
    return model, optimizer, scaler


def iteration(model, optimizer, scaler, overflow=False):
    x = torch.randn(4, 3)
    if overflow:
        x[0, 0] = math.inf
    loss = model(x).pow(2).mean()
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


PATTERN = [False, True, False, False, True, True, False, False, False]  # True: a gradient holds inf


def test_records_which_steps_happened_and_the_scales():
    model, optimizer, scaler = amp_objects(growth_interval=2)
    scales = []
    with StepRecorder(optimizer, scaler) as rec:
        for overflow in PATTERN:
            before = scaler.get_scale()
            iteration(model, optimizer, scaler, overflow)
            scales.append((before, scaler.get_scale()))
    h = rec.history
    assert list(h.columns) == HISTORY_COLUMNS
    assert h["iteration"].tolist() == list(range(1, len(PATTERN) + 1))
    assert h["stepped"].tolist() == [not o for o in PATTERN]
    assert rec.skipped == [i for i, o in enumerate(PATTERN, start=1) if o]
    assert h["optimizer_steps"].tolist() == [0 if o else 1 for o in PATTERN]
    assert list(zip(h["scale"], h["next_scale"])) == scales  # the scaler's own numbers
    # Adam counted exactly the steps the recorder saw
    assert optimizer.state[model.weight]["step"].item() == sum(h["stepped"])
    # skipped -> the scale halves; the growth of growth_interval=2 appears in the record too
    assert all(n == s / 2 for s, n, st in zip(h["scale"], h["next_scale"], h["stepped"]) if not st)
    assert any(n == 2 * s for s, n in zip(h["scale"], h["next_scale"]))


def test_counts_a_direct_optimizer_step_and_several_per_iteration():
    model, optimizer, scaler = amp_objects()
    with StepRecorder(optimizer, scaler) as rec:
        scaler.scale(model(torch.randn(2, 3)).sum()).backward()
        optimizer.step()
        optimizer.step()
        scaler.update(2.0**10)  # update with an explicit new scale, no unscale/step needed
    assert rec.history["optimizer_steps"].tolist() == [2] and rec.history["next_scale"].tolist() == [1024.0]


def test_remove_restores_the_scaler_and_the_optimizer():
    model, optimizer, scaler = amp_objects()
    rec = StepRecorder(optimizer, scaler)
    with pytest.raises(RuntimeError, match="boom"):
        with rec:
            assert rec.active and "update" in scaler.__dict__
            iteration(model, optimizer, scaler)
            raise RuntimeError("boom")
    assert not rec.active and "update" not in scaler.__dict__
    assert not optimizer._optimizer_step_post_hooks
    iteration(model, optimizer, scaler)
    assert len(rec.history) == 1  # nothing recorded after exit; what was recorded stays
    rec.remove()  # twice is fine


def test_nested_recorders_each_record_and_unwind():
    model, optimizer, scaler = amp_objects()
    with StepRecorder(optimizer, scaler) as outer:
        iteration(model, optimizer, scaler)
        with StepRecorder(optimizer, scaler) as inner:
            iteration(model, optimizer, scaler, overflow=True)
        iteration(model, optimizer, scaler)
    assert outer.history["stepped"].tolist() == [True, False, True]
    assert inner.history["stepped"].tolist() == [False]
    assert "update" not in scaler.__dict__


def test_outer_removed_first_passes_through():
    model, optimizer, scaler = amp_objects()
    outer = StepRecorder(optimizer, scaler).start()
    inner = StepRecorder(optimizer, scaler).start()
    outer.remove()  # not the outermost wrapper any more: it can only stop recording
    iteration(model, optimizer, scaler)
    inner.remove()
    assert len(outer.history) == 0 and len(inner.history) == 1
    iteration(model, optimizer, scaler)  # the scaler still works


def test_start_is_idempotent_and_empty_history_has_columns():
    _, optimizer, scaler = amp_objects()
    rec = StepRecorder(optimizer, scaler)
    assert rec.start() is rec.start()
    rec.remove()
    assert list(rec.history.columns) == HISTORY_COLUMNS and rec.history.empty and rec.skipped == []


def test_arguments_are_checked():
    model, optimizer, scaler = amp_objects()
    with pytest.raises(TypeError, match=r"scaler must be a torch.amp.GradScaler, got NoneType"):
        StepRecorder(optimizer, None)
    with pytest.raises(TypeError, match="got a model"):
        StepRecorder(model, scaler)


def test_plot_loss_scale_marks_the_skipped_steps():
    model, optimizer, scaler = amp_objects()
    with StepRecorder(optimizer, scaler) as rec:
        for overflow in PATTERN:
            iteration(model, optimizer, scaler, overflow)
    ax = rec.plot()
    assert ax.get_title() == "Loss scale per iteration" and ax.get_xlabel() == "iteration"
    assert ax.get_ylabel() == "loss scale (log scale)" and ax.get_yscale() == "log"
    marks = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert len(marks) == 1 and marks[0].get_color() == SKIPPED
    assert list(marks[0].get_xdata()) == rec.skipped
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["loss scale", f"skipped step ({len(rec.skipped)})"]
    fig, given = plt.subplots()
    assert plot_loss_scale(rec.history, ax=given) is given


def test_plot_loss_scale_refuses_bad_history():
    with pytest.raises(TypeError, match="pandas DataFrame"):
        plot_loss_scale([1, 2])
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['stepped'\]"):
        plot_loss_scale(pd.DataFrame({"iteration": [1], "scale": [2.0]}))
    with pytest.raises(ValueError, match="empty"):
        plot_loss_scale(pd.DataFrame(columns=HISTORY_COLUMNS))


def two_groups():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    optimizer = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[2].parameters()}], lr=0.1)
    model(torch.randn(5, 3)).pow(2).sum().backward()
    return model, optimizer


def test_group_grad_norms_equal_what_clip_grad_norm_returns():
    model, optimizer = two_groups()
    norms = group_grad_norms(optimizer, names=["first", "second"])
    returned = [nn.utils.clip_grad_norm_(g["params"], max_norm=1e9).item() for g in optimizer.param_groups]
    assert list(norms) == ["first", "second"]
    assert list(norms.values()) == pytest.approx(returned, rel=1e-6)
    assert list(group_grad_norms(optimizer)) == ["group 0", "group 1"]


def test_group_grad_norms_skips_missing_gradients():
    model, optimizer = two_groups()
    for p in model[2].parameters():
        p.grad = None
    model[0].bias.grad = None
    norms = group_grad_norms(optimizer)
    assert norms["group 1"] == 0.0
    assert norms["group 0"] == pytest.approx(model[0].weight.grad.norm().item())


def test_group_grad_norms_checks_names():
    _, optimizer = two_groups()
    with pytest.raises(ValueError, match=r"names has 1 name\(s\) but the optimizer has 2 group\(s\)"):
        group_grad_norms(optimizer, names=["one"])
    with pytest.raises(TypeError, match="names must be a list of str"):
        group_grad_norms(optimizer, names="ab")


def test_plot_clipping_draws_one_bar_per_series_and_name():
    norms = {"before": {"body": 3.0, "head": 1.0}, "after": pd.Series({"body": 1.0, "head": 1.0 / 3})}
    ax = plot_clipping(norms, max_norm=1.0)
    assert len(ax.patches) == 4
    heights = sorted(round(p.get_height(), 4) for p in ax.patches)
    assert heights == [0.3333, 1.0, 1.0, 3.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["body", "head"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["max_norm = 1", "before", "after"]
    assert ax.get_ylabel() == "gradient norm" and ax.get_xlabel() == "parameter group" and ax.get_title()
    assert plot_clipping({"a": {"w": 1.0}}, xlabel="parameter").get_xlabel() == "parameter"


def test_plot_clipping_refuses_bad_input():
    with pytest.raises(TypeError, match="non-empty dict of series label"):
        plot_clipping({})
    with pytest.raises(TypeError, match=r"norms\['a'\] must be a non-empty dict"):
        plot_clipping({"a": [1.0]})
    with pytest.raises(ValueError, match="expected the same names"):
        plot_clipping({"a": {"x": 1.0}, "b": {"y": 1.0}})
    with pytest.raises(ValueError, match=r"must be a finite norm \(>= 0\)"):
        plot_clipping({"a": {"x": -1.0}})
    with pytest.raises(ValueError, match=r"must be a finite norm \(>= 0\)"):
        plot_clipping({"a": {"x": math.inf}})
    with pytest.raises(TypeError, match=r"norms\['a'\]\['x'\] must be a number, got str"):
        plot_clipping({"a": {"x": "1.0"}})
    for bad in (0, -1.0, True, "1", math.nan):
        with pytest.raises(ValueError, match="max_norm must be a positive number"):
            plot_clipping({"a": {"x": 1.0}}, max_norm=bad)


def test_plot_clipping_takes_numbers_in_any_spelling():
    """NumPy numbers and 0-d tensors, e.g. what clip_grad_norm_ returns, are numbers too."""
    norms = {"before": {"w": torch.tensor(2.0), "b": np.float32(0.5)}, "after": {"w": np.float64(1.0), "b": 0.5}}
    for max_norm in (np.float32(1.0), torch.tensor(1.0), 1):
        ax = plot_clipping(norms, max_norm=max_norm)
        assert sorted(round(p.get_height(), 4) for p in ax.patches) == [0.5, 0.5, 1.0, 2.0]
        assert ax.get_legend().get_texts()[0].get_text() == "max_norm = 1"
