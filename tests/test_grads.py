import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import GradientRecorder, grad_stats, plot_grad_flow, plot_grad_histograms


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 2))


def _backward(model, n=16):
    x = torch.randn(n, 3)
    model(x).pow(2).mean().backward()


def test_grad_stats_match_torch():
    model = _model()
    _backward(model)
    stats = grad_stats(model).set_index("name")
    for name, p in model.named_parameters():
        g = p.grad
        assert stats.loc[name, "norm"] == pytest.approx(torch.linalg.vector_norm(g).item(), rel=1e-6)
        assert stats.loc[name, "mean"] == pytest.approx(g.mean().item(), rel=1e-5, abs=1e-9)
        assert stats.loc[name, "std"] == pytest.approx(g.std(correction=0).item(), rel=1e-5)
        assert stats.loc[name, "max_abs"] == pytest.approx(g.abs().max().item(), rel=1e-6)
        assert stats.loc[name, "zero_frac"] == pytest.approx((g == 0).float().mean().item())
    assert (stats["status"] == "ok").all()


def test_no_grad_is_not_zero():
    model = _model()
    model[0].weight.requires_grad_(False)
    model[2](torch.randn(4, 8)).sum().backward()  # layer 0 bias gets no gradient
    stats = grad_stats(model).set_index("name")
    assert stats.loc["0.weight", "status"] == "frozen"
    assert stats.loc["0.bias", "status"] == "no grad"
    assert math.isnan(stats.loc["0.bias", "norm"]) and math.isnan(stats.loc["0.weight", "zero_frac"])
    model[2].bias.grad = torch.zeros_like(model[2].bias)
    stats = grad_stats(model).set_index("name")
    assert stats.loc["2.bias", "norm"] == 0 and stats.loc["2.bias", "zero_frac"] == 1


def test_plot_grad_flow_bars_and_no_grad_bands():
    model = _model()
    model[0].weight.requires_grad_(False)
    model[2](torch.randn(4, 8)).sum().backward()
    ax = plot_grad_flow(model)
    assert len(ax.patches) == 2 * 2 + 2  # two bars for each of 2 ok params, one band for each of the other 2
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["frozen", "no grad"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert sorted(t.get_text() for t in ax.get_legend().get_texts()) == ["max |g|", "no gradient", "norm"]
    assert ax.get_title() and ax.get_ylabel() == "gradient"
    ax2 = plot_grad_flow(grad_stats(model), log=True)
    assert ax2.get_yscale() == "log"


def test_plot_grad_flow_bad_input():
    with pytest.raises(TypeError, match="model_or_stats must be"):
        plot_grad_flow([1, 2])
    import pandas as pd

    with pytest.raises(ValueError, match="missing columns"):
        plot_grad_flow(pd.DataFrame({"name": ["a"]}))


def test_histograms_one_panel_per_parameter():
    model = _model()
    _backward(model)
    fig = plot_grad_histograms(model, names=["0.weight", "2.weight"], bins=10)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["0.weight", "2.weight"]
    assert all(len(ax.patches) == 10 for ax in visible)
    model.zero_grad()
    fig = plot_grad_histograms(model)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 4
    assert all(ax.texts[0].get_text() == "no grad" for ax in fig.axes if ax.get_visible())
    with pytest.raises(ValueError, match="unknown parameter"):
        plot_grad_histograms(model, names=["nope"])
    with pytest.raises(TypeError, match="not one string"):
        plot_grad_histograms(model, names="0.weight")


def _train(model, opt, steps):
    for _ in range(steps):
        opt.zero_grad()
        _backward(model)
        opt.step()


def test_recorder_matches_hand_computed_stats_and_ratio():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    with GradientRecorder(model, opt) as rec:
        _train(model, opt, 2)
        before = {n: p.detach().clone() for n, p in model.named_parameters()}
        opt.zero_grad()
        _backward(model)
        grads = {n: p.grad.clone() for n, p in model.named_parameters()}
        opt.step()
    h = rec.history
    assert set(h.columns) == {"step", "parameter", "group", "statistic", "value"}
    assert h["step"].max() == 3 and rec.steps == 3
    last = h[h["step"] == 3].set_index(["parameter", "statistic"])["value"]
    for name, p in model.named_parameters():
        update = p.detach() - before[name]
        expected = (update.std(correction=0) / before[name].std(correction=0)).item()
        assert last[(name, "update_ratio")] == pytest.approx(expected, rel=1e-5)
        assert last[(name, "norm")] == pytest.approx(torch.linalg.vector_norm(grads[name]).item(), rel=1e-6)
    assert h["value"].map(type).eq(float).all()  # scalars only


def test_recorder_zero_fraction_on_request():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with GradientRecorder(model, opt, stats=["zero_frac", "norm"]) as rec:
        opt.zero_grad()
        _backward(model)
        expected = {n: (p.grad == 0).float().mean().item() for n, p in model.named_parameters()}
        opt.step()
    zeros = rec.wide("zero_frac").iloc[0]
    assert zeros.to_dict() == pytest.approx(expected)
    assert set(rec.history["statistic"]) == {"zero_frac", "norm", "update_ratio"}
    assert rec._scratch == {}  # the scratch copies are freed on exit


def test_recorder_removes_hooks_even_after_an_exception():
    model = _model()
    opt = torch.optim.Adam(model.parameters())
    with pytest.raises(RuntimeError, match="boom"):
        with GradientRecorder(model, opt) as rec:
            _train(model, opt, 1)
            raise RuntimeError("boom")
    assert not rec.active
    assert not opt._optimizer_step_pre_hooks and not opt._optimizer_step_post_hooks
    _train(model, opt, 2)
    assert rec.steps == 1


def test_recorder_plots_and_errors():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    rec = GradientRecorder(model, opt)
    with pytest.raises(ValueError, match="nothing recorded yet"):
        rec.plot_norms()
    with rec:
        _train(model, opt, 4)
    ax = rec.plot_update_ratios()
    lines = ax.get_lines()
    assert len(lines) == 4 + 1  # one per parameter + the 1e-3 reference
    assert lines[-1].get_ydata()[0] == 1e-3
    assert "1e-3 reference" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(lines[0].get_xdata()) == 4
    assert len(rec.plot_norms().get_lines()) == 4
    with pytest.raises(ValueError, match="statistic must be one of"):
        rec.wide("median")
    with pytest.raises(ValueError, match="statistic must be one of"):
        rec.wide("zero_frac")  # not asked for
    with pytest.raises(ValueError, match=r"unknown statistic\(s\) \['median'\]"):
        GradientRecorder(model, opt, stats=["norm", "median"])
    with pytest.raises(TypeError, match="non-empty list of statistic names"):
        GradientRecorder(model, opt, stats="norm")
    with pytest.raises(TypeError, match="got a model"):
        GradientRecorder(model, model)
    with pytest.raises(TypeError, match="got an optimizer"):
        GradientRecorder(opt, opt)


def test_recorder_sees_groups_added_later():
    model = _model()
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1)
    with GradientRecorder(model, opt) as rec:
        _train(model, opt, 1)
        opt.add_param_group({"params": model[2].parameters(), "lr": 0.01})
        _train(model, opt, 1)
    h = rec.history
    assert set(h[h["step"] == 1]["parameter"]) == {"0.weight", "0.bias"}
    assert set(h[h["step"] == 2]["parameter"]) == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert set(h[h["parameter"] == "2.bias"]["group"]) == {1}


@settings(max_examples=20, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(2, 4), min_size=1, max_size=2), min_size=1, max_size=5), groups=st.integers(1, 3))
def test_recorder_over_shapes_and_groups(shapes, groups):
    torch.manual_seed(len(shapes) * 10 + groups)
    model = nn.Module()
    params = nn.ParameterList([nn.Parameter(torch.randn(*s)) for s in shapes])
    model.ps = params
    chunks = [c for c in (list(params)[i::groups] for i in range(groups)) if c]
    opt = torch.optim.SGD([{"params": c} for c in chunks], lr=0.01)
    with GradientRecorder(model, opt) as rec:
        for p in params:
            p.grad = torch.randn_like(p)
        before = [p.detach().clone() for p in params]
        opt.step()
    h = rec.history
    assert len(h) == len(params) * 5  # four default statistics and the update ratio
    ratios = h[h["statistic"] == "update_ratio"].set_index("parameter")["value"]
    for i, p in enumerate(params):
        update = (p.detach() - before[i]).reshape(-1)
        b = before[i].reshape(-1)
        expected = (update.std(correction=0) / b.std(correction=0)).item()
        if b.std(correction=0) == 0:
            expected = (update.norm() / b.norm()).item()
        assert np.isclose(ratios[f"ps.{i}"], expected, rtol=1e-5, atol=1e-7, equal_nan=True)
