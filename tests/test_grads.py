import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import GradientRecorder, grad_stats, plot_grad_flow, plot_grad_histograms
from helpers import grads
from helpers.grads import STATS


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
    assert rec._plan is None and rec._pending is None  # the weight copies are freed on exit


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


# Bad input: parameters and gradients the fast path cannot take (issue 13) -------------------


def _odd_model(parts=("empty", "sparse")):
    """A Linear, plus a parameter with 0 elements and/or a sparse embedding."""
    torch.manual_seed(0)
    model = nn.Module()
    model.lin = nn.Linear(3, 2)
    if "empty" in parts:
        model.empty = nn.Parameter(torch.zeros(0, 3))
    model.emb = nn.Embedding(10, 3, sparse="sparse" in parts)
    return model


def _odd_backward(model):
    idx = torch.tensor([1, 2, 2, 7])  # a repeated index: the sparse gradient is uncoalesced
    loss = model.lin(model.emb(idx)).pow(2).sum()
    if hasattr(model, "empty"):
        loss = loss + model.empty.sum()
    loss.backward()


def _dense_stats(g):
    g = g.to_dense() if g.layout != torch.strided else g
    g = g.abs() if g.is_complex() else g
    return {
        "norm": torch.linalg.vector_norm(g).item(),
        "mean": g.mean().item(),
        "std": g.std(correction=0).item(),
        "max_abs": g.abs().max().item(),
        "zero_frac": (g == 0).double().mean().item(),
    }


def test_grad_stats_empty_parameter():
    model = nn.Module()
    model.empty = nn.Parameter(torch.zeros(0, 3))
    model.w = nn.Parameter(torch.ones(2))
    (model.empty.sum() + model.w.sum()).backward()
    assert model.empty.grad is not None and model.empty.grad.numel() == 0
    stats = grad_stats(model).set_index("name")
    assert stats["status"].to_dict() == {"empty": "empty", "w": "ok"}
    assert stats.loc["empty", list(STATS)].isna().all()  # nothing to measure: NaN, like "no grad"
    assert stats.loc["w", "norm"] == pytest.approx(2**0.5)


def test_grad_stats_sparse_gradient_is_the_dense_one():
    model = nn.Embedding(10, 3, sparse=True)
    model(torch.tensor([1, 2, 2, 7])).pow(2).sum().backward()  # a repeated index: uncoalesced
    assert model.weight.grad.layout == torch.sparse_coo and not model.weight.grad.is_coalesced()
    row = grad_stats(model).iloc[0]
    assert row["status"] == "sparse"
    for stat, value in _dense_stats(model.weight.grad).items():
        assert row[stat] == pytest.approx(value, rel=1e-6, abs=1e-12), stat
    model.weight.grad = torch.sparse_coo_tensor(torch.zeros(2, 0, dtype=torch.long), torch.zeros(0), (10, 3), check_invariants=True)
    row = grad_stats(model).iloc[0]
    assert (row["norm"], row["max_abs"], row["zero_frac"]) == (0, 0, 1)  # stores nothing: all zeros


def test_plot_grad_flow_with_empty_and_sparse_parameters():
    model = _odd_model()
    _odd_backward(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_grad_flow(model)
    assert len(ax.patches) == 3 * 2 + 1  # bars for lin.weight, lin.bias, emb.weight; a band for empty
    assert [t.get_text() for t in ax.texts] == ["empty"]


@pytest.mark.parametrize("parts", [("empty",), ("sparse",), ("empty", "sparse")])
def test_recorder_trains_through_empty_and_sparse_parameters(parts):
    model = _odd_model(parts)
    twin = _odd_model(parts)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    plain = torch.optim.SGD(twin.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with GradientRecorder(model, opt, stats=list(STATS)) as rec:
            for _ in range(2):
                opt.zero_grad()
                _odd_backward(model)
                grad = model.emb.weight.grad.clone()
                before = model.emb.weight.detach().clone()
                opt.step()
            plain.zero_grad()
            _odd_backward(twin)
            plain.step()
            plain.zero_grad()
            _odd_backward(twin)
            plain.step()
    for a, b in zip(model.parameters(), twin.parameters()):
        assert torch.equal(a, b)  # the recorder changed nothing in training
    last = rec.history[rec.history["step"] == 2].set_index(["parameter", "statistic"])["value"]
    for stat, value in _dense_stats(grad).items():
        assert last[("emb.weight", stat)] == pytest.approx(value, rel=1e-6, abs=1e-12), stat
    update = model.emb.weight.detach() - before
    expected = (update.std(correction=0) / before.std(correction=0)).item()
    assert last[("emb.weight", "update_ratio")] == pytest.approx(expected, rel=1e-5)
    if "empty" in parts:
        assert all(math.isnan(last[("empty", s)]) for s in (*rec.stats, "update_ratio"))
    assert last[("lin.weight", "norm")] > 0
    assert list(rec.history["parameter"].unique()) == [n for n, _ in model.named_parameters()]


def test_complex_gradients_use_magnitudes():
    model = nn.Module()
    model.w = nn.Parameter(torch.tensor([[1 + 2j, 3 - 4j], [0j, 2 + 1j]]))
    model.w.grad = torch.tensor([[1 + 2j, 3 - 4j], [0j, 5 + 1j]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warns when it drops an imaginary part
        row = grad_stats(model).iloc[0]
    assert row["norm"] == pytest.approx(torch.linalg.vector_norm(model.w.grad).item())  # sqrt(1+4+9+16+25+1)
    assert row["norm"] == pytest.approx(56**0.5)
    for stat, value in _dense_stats(model.w.grad).items():
        assert row[stat] == pytest.approx(value), stat
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = model.w.detach().clone()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with GradientRecorder(model, opt) as rec:
            opt.step()
    last = rec.history.set_index("statistic")["value"]
    assert last["norm"] == pytest.approx(56**0.5)
    update = model.w.detach() - before
    assert last["update_ratio"] == pytest.approx((update.std(correction=0) / before.std(correction=0)).item())
    fig = plot_grad_histograms(model)
    assert fig.axes[0].get_xlabel() == "|gradient value|"


def test_non_finite_gradients_are_shown_as_such():
    model = nn.Linear(2, 2)
    model.weight.grad = torch.tensor([[4.0, float("inf")], [5.0, 6.0]])
    model.bias.grad = torch.tensor([float("nan"), 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = grad_stats(model).set_index("name")
        ax = plot_grad_flow(model)
        fig = plot_grad_histograms(model, bins=5)
    assert stats["status"].tolist() == ["non-finite", "non-finite"]
    assert stats.loc["weight", "norm"] == math.inf and math.isnan(stats.loc["bias", "norm"])
    assert [t.get_text() for t in ax.texts] == ["inf", "NaN"]
    assert len(ax.patches) == 2  # two red bands, no bars of inf or NaN height
    assert "2 with inf/NaN" in ax.get_title()
    assert "inf/NaN gradient" in [t.get_text() for t in ax.get_legend().get_texts()]
    titles = [a.get_title() for a in fig.axes if a.get_visible()]
    assert titles == ["weight\n1 +inf not drawn", "bias\n1 NaN not drawn"]
    assert sum(p.get_height() for p in fig.axes[0].patches) == 3  # the three finite values
    model.bias.grad = torch.full((2,), float("-inf"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_grad_histograms(model)
    assert fig.axes[1].get_title() == "bias\n2 -inf not drawn"
    assert [t.get_text() for t in fig.axes[1].texts] == ["no finite values"]


def test_finite_gradient_whose_norm_overflows_is_ok_but_drawn_as_inf():
    model = nn.Module()
    model.w = nn.Parameter(torch.zeros(20000))
    model.w.grad = torch.full((20000,), 1e19)  # float32 squares overflow, as in torch.linalg.vector_norm
    stats = grad_stats(model)
    assert stats["status"].tolist() == ["ok"] and stats["norm"].iloc[0] == torch.linalg.vector_norm(model.w.grad).item()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = plot_grad_flow(stats)
    assert [t.get_text() for t in ax.texts] == ["inf"]


def test_recorder_hook_never_raises(monkeypatch):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    twin = _model()
    plain = torch.optim.SGD(twin.parameters(), lr=0.1)

    def broken(*args, **kwargs):
        raise RuntimeError("cannot measure this")

    # The gradient statistics fail on both paths; the update ratio does not.
    monkeypatch.setattr(grads, "_grad_numbers", broken)
    monkeypatch.setattr(grads, "_stats_floats", broken)
    with pytest.warns(RuntimeWarning, match="could not measure .* cannot measure this.*training goes on") as caught:
        with GradientRecorder(model, opt) as rec:
            _train(model, opt, 3)
    assert len(caught) == 1  # once per recorder
    torch.manual_seed(0)  # _model() reseeded; replay the same batches for the twin
    _model()
    _train(twin, plain, 3)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    h = rec.history
    assert len(h) == 3 * 4 * 5  # every parameter, statistic and step still has its row
    assert h[h["statistic"] != "update_ratio"]["value"].isna().all()
    assert h[h["statistic"] == "update_ratio"]["value"].gt(0).all()  # what could be measured was


def test_recorder_hook_never_raises_even_when_warnings_are_errors(monkeypatch):
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def broken(*args, **kwargs):
        raise RuntimeError("cannot measure this")

    monkeypatch.setattr(grads, "_grad_numbers", broken)  # the gradient statistics fail; the update ratio does not
    monkeypatch.setattr(grads, "_stats_floats", broken)
    before = [p.detach().clone() for p in model.parameters()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with GradientRecorder(model, opt) as rec:
            _train(model, opt, 2)
    assert rec.steps == 2 and all(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    h = rec.history
    assert h[h["statistic"] != "update_ratio"]["value"].isna().all()
    assert h[h["statistic"] == "update_ratio"]["value"].gt(0).sum() == 2 * 4


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float64])
def test_recorder_other_float_dtypes_match_grad_stats(dtype):
    model = _model().to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with GradientRecorder(model, opt, stats=list(STATS)) as rec:
            opt.zero_grad()
            model(torch.randn(16, 3, dtype=dtype)).pow(2).mean().backward()
            expected = grad_stats(model).set_index("name")
            opt.step()
    got = rec.history.pivot_table(index="parameter", columns="statistic", values="value")
    for name in expected.index:
        for stat in STATS:
            assert got.loc[name, stat] == pytest.approx(expected.loc[name, stat], rel=1e-5, abs=1e-7), (name, stat)


def test_recorder_parameter_by_parameter_path_agrees_with_the_fast_one():
    # The path taken when the stacked fast path cannot run (e.g. a model spread over devices).
    def run(one_by_one):
        model = _model()
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        rec = GradientRecorder(model, opt, stats=list(STATS))
        if one_by_one:
            measure = rec._measure_before
            rec._measure_before = lambda o, one_by_one: measure(o, True)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with rec:
                _train(model, opt, 3)
        return rec.history

    fast, slow = run(False), run(True)
    assert fast.drop(columns="value").equals(slow.drop(columns="value"))
    assert np.allclose(fast["value"], slow["value"], rtol=1e-5, atol=1e-9)


# Compact storage and the bulk paths (issue 14) ------------------------------------------------


def _reference_row(grad: torch.Tensor, before: torch.Tensor, after: torch.Tensor) -> dict[str, float]:
    """The statistics computed directly, in float64, from the tensors themselves."""
    g, b, a = grad.double().reshape(-1), before.double().reshape(-1), after.double().reshape(-1)
    u = a - b
    den = b.std(correction=0)
    ratio = u.norm() / b.norm() if den == 0 or b.numel() == 1 else u.std(correction=0) / den
    return {
        "norm": torch.linalg.vector_norm(grad.double()).item(),
        "mean": g.mean().item(),
        "std": g.std(correction=0).item(),
        "max_abs": g.abs().max().item(),
        "zero_frac": (g == 0).double().mean().item(),
        "update_ratio": ratio.item(),
    }


def _mixed_model(dtype):
    """Small tensors (the flat-buffer path), a big one (reduced on its own), a 1-element one,
    and a norm-like weight far from zero (1 + small noise)."""
    torch.manual_seed(0)
    model = nn.Module()
    model.small = nn.Parameter(torch.randn(8, 5).to(dtype))
    model.big = nn.Parameter(torch.randn(grads.BIG + 7).to(dtype))
    model.one = nn.Parameter(torch.randn(1).to(dtype))
    model.scale = nn.Parameter((1 + 1e-2 * torch.randn(6)).to(dtype))
    model.many = nn.ParameterList([nn.Parameter(torch.randn(3, 4).to(dtype)) for _ in range(16)])
    return model


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
@pytest.mark.parametrize("path", ["bulk", "one by one"])
@pytest.mark.parametrize("every, max_steps", [(1, None), (3, None), (1, 4), (2, 3)])
def test_recorded_numbers_equal_the_references(dtype, path, every, max_steps, monkeypatch):
    model = _mixed_model(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rec = GradientRecorder(model, opt, stats=list(STATS), every=every, max_steps=max_steps)
    if path == "one by one":
        measure = rec._measure_before
        monkeypatch.setattr(rec, "_measure_before", lambda o, one_by_one: measure(o, True))
    expected = {}
    gen = torch.Generator().manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with rec:
            for step in range(1, 11):
                for p in model.parameters():
                    g = torch.randn(p.shape, generator=gen)
                    g[g.abs() < 0.3] = 0  # some exact zeros for zero_frac
                    p.grad = g.to(dtype)
                before = {n: p.detach().clone() for n, p in model.named_parameters()}
                opt.step()
                if (step - 1) % every == 0:
                    expected[step] = {n: _reference_row(p.grad, before[n], p.detach()) for n, p in model.named_parameters()}
                    kinds = {type(part).__name__ for part in rec._plan.parts}
                    assert kinds == ({"_Small", "_Big"} if path == "bulk" else set()), kinds
    steps = sorted(expected)[-max_steps:] if max_steps else sorted(expected)
    h = rec.history
    names = [n for n, _ in model.named_parameters()]
    assert sorted(h["step"].unique()) == steps and rec.steps == 10
    assert len(h) == len(steps) * len(names) * 6
    got = h.set_index(["step", "parameter", "statistic"])["value"]
    for step in steps:
        for name, row in expected[step].items():
            for stat, value in row.items():
                assert got[(step, name, stat)] == pytest.approx(value, rel=2e-5, abs=1e-12), (step, name, stat)
    wide = rec.wide("update_ratio")
    assert list(wide.index) == steps and list(wide.columns) == names
    for step in steps:
        assert wide.loc[step, "big"] == got[(step, "big", "update_ratio")]


def test_history_is_long_form_in_step_parameter_statistic_order():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with GradientRecorder(model, opt) as rec:
        _train(model, opt, 2)
    h = rec.history
    assert list(h.columns) == ["step", "parameter", "group", "statistic", "value"]
    assert h["step"].dtype == np.int64 and h["group"].dtype == np.int64 and h["value"].dtype == np.float64
    names = [n for n, _ in model.named_parameters()]
    stats = ["norm", "mean", "std", "max_abs", "update_ratio"]
    assert list(zip(h["step"], h["parameter"], h["statistic"])) == [(s, n, st) for s in (1, 2) for n in names for st in stats]
    assert (h["parameter"] == "0.weight").sum() == 10 and set(h["statistic"]) == set(stats)


def _history_pivot(rec, statistic):
    """wide() as the long history pivoted by pandas: the reference for the direct build."""
    h = rec.history
    h = h[h["statistic"] == statistic].astype({"parameter": str})
    return h.pivot_table(index="step", columns="parameter", values="value", sort=False)


def test_wide_equals_the_pivoted_history_with_gaps_and_late_groups():
    model = _model()
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1)
    with GradientRecorder(model, opt) as rec:
        _train(model, opt, 2)
        opt.add_param_group({"params": model[2].parameters(), "lr": 0.01})
        _train(model, opt, 2)
        opt.zero_grad()
        _backward(model)
        model[0].bias.grad = None  # absent at step 5
        opt.step()
    for statistic in ("norm", "update_ratio"):
        wide, ref = rec.wide(statistic), _history_pivot(rec, statistic)
        assert list(wide.columns) == list(ref.columns) == ["0.weight", "0.bias", "2.weight", "2.bias"]
        assert np.array_equal(wide.to_numpy(), ref.to_numpy(), equal_nan=True)
        assert list(wide.index) == list(ref.index) == [1, 2, 3, 4, 5]
    assert math.isnan(rec.wide("norm").loc[5, "0.bias"]) and math.isnan(rec.wide("norm").loc[1, "2.weight"])


def test_every_and_max_steps_are_checked():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="every must be a positive int"):
        GradientRecorder(model, opt, every=0)
    with pytest.raises(TypeError, match="every must be a positive int, got float 2.0"):
        GradientRecorder(model, opt, every=2.0)
    with pytest.raises(ValueError, match="max_steps must be a positive int"):
        GradientRecorder(model, opt, max_steps=-1)


def test_history_stays_small_and_the_ring_keeps_memory_fixed():
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(20)])  # 40 tensors
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    with GradientRecorder(model, opt) as grown, GradientRecorder(model, opt, max_steps=50) as ring:
        for _ in range(300):
            opt.step()
    cells = 300 * 40 * 5
    assert len(grown.history) == cells
    assert grown.history_bytes / cells <= 2 * 9 + 1  # 9 bytes a cell, at most doubled while growing
    assert ring.history_bytes == pytest.approx(50 * 40 * 5 * 9, rel=0.7)  # rows for 50 steps only
    assert sorted(ring.history["step"].unique()) == list(range(251, 301))
    last = grown.history[grown.history["step"] > 250].reset_index(drop=True)
    assert last.astype({"parameter": str, "statistic": str}).equals(ring.history.astype({"parameter": str, "statistic": str}))


def test_every_k_steps_leaves_the_other_steps_alone():
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    twin = _model()
    plain = torch.optim.Adam(twin.parameters(), lr=1e-2)
    with GradientRecorder(model, opt, every=4) as rec:
        torch.manual_seed(5)
        _train(model, opt, 9)
    torch.manual_seed(5)
    _train(twin, plain, 9)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    assert sorted(rec.history["step"].unique()) == [1, 5, 9] and rec.steps == 9


def test_table_grows_by_doubling_and_rings():
    from helpers._table import Table

    t = Table(2, rows=2)
    for step in range(1, 6):
        row = t.new_row(step)
        t.ensure_slots(2)
        t.write(row, np.array([1]), 0, np.array([[step, -step]]))
    assert t.values.shape[:2] == (8, 2) and list(t.steps[t.order()]) == [1, 2, 3, 4, 5]
    assert t.values[t.order(), 1, 0].tolist() == [1, 2, 3, 4, 5] and not t.present[t.order(), 0].any()
    ring = Table(1, max_steps=3, rows=2)
    for step in range(1, 8):
        ring.write(ring.new_row(step), np.array([0]), 0, np.array([[step]]))
    assert ring.values.shape[0] == 3 and list(ring.steps[ring.order()]) == [5, 6, 7]
    assert ring.values[ring.order(), 0, 0].tolist() == [5, 6, 7]


def _reference_history(model, opt, steps, change=None, grad=None):
    """Run ``steps`` SGD steps under a recorder; return its history and float64 references."""
    expected = {}
    gen = torch.Generator().manual_seed(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's or torch's warnings must not escape the hooks
        with GradientRecorder(model, opt, stats=list(STATS)) as rec:
            for step in range(1, steps + 1):
                if change is not None:
                    change(step)
                for p in model.parameters():
                    p.grad = torch.randn(p.shape, generator=gen).to(p.dtype) if grad is None else grad(p, step)
                before = {n: p.detach().clone() for n, p in model.named_parameters()}
                opt.step()
                expected[step] = {n: _reference_row(p.grad, before[n], p.detach()) for n, p in model.named_parameters()}
    return rec, expected


def _assert_matches(rec, expected, rel=1e-5):
    got = rec.history.set_index(["step", "parameter", "statistic"])["value"]
    for step, rows in expected.items():
        for name, row in rows.items():
            for stat, value in row.items():
                assert got[(step, name, stat)] == pytest.approx(value, rel=rel, abs=1e-12, nan_ok=True), (step, name, stat)


def test_a_parameter_replaced_or_cast_in_place_is_measured_as_it_is_now():
    model = nn.Module()
    model.w = nn.Parameter(torch.randn(4, 4))
    model.b = nn.Parameter(torch.randn(4))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def change(step):
        if step == 2:
            model.w.data = torch.randn(4)  # same Parameter, another shape
        if step == 3:
            model.double()  # same Parameters, another dtype

    rec, expected = _reference_history(model, opt, 4, change)
    _assert_matches(rec, expected)


def test_inf_and_nan_are_recorded_without_warnings_and_spare_the_other_parameters():
    torch.manual_seed(0)
    model = nn.Module()
    model.a = nn.Parameter(torch.randn(5))
    model.b = nn.Parameter(torch.randn(5))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    gen = torch.Generator().manual_seed(4)

    def grad(p, step):
        g = torch.randn(p.shape, generator=gen)
        if p is model.a and step == 2:
            g[0] = math.inf  # a's weight becomes -inf at step 2, then NaN
        return g

    rec, expected = _reference_history(model, opt, 3, grad=grad)
    _assert_matches(rec, expected)
    assert rec._table.written == 3  # one row per step, none taken twice
    ratios = rec.wide("update_ratio")
    assert ratios["b"].notna().all() and math.isinf(rec.wide("norm").loc[2, "a"])


def test_big_tensors_far_from_zero_keep_their_digits():
    torch.manual_seed(0)
    model = nn.Module()
    model.constant = nn.Parameter(torch.full((256, 256), 0.1))  # a constant weight: the norm ratio
    model.scale = nn.Parameter(1 + 1e-3 * torch.randn(256, 256))  # a norm's scale, big
    model.plain = nn.Parameter(torch.randn(256, 256))
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    rec, expected = _reference_history(model, opt, 2)
    _assert_matches(rec, expected, rel=1e-4)
