import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import optimizer_state_table, param_group_table, plot_state_bytes, state_bytes


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def _step(model, optimizer):
    model(torch.randn(5, 3)).sum().backward()
    optimizer.step()


def test_group_table_names_shapes_and_hyperparameters():
    model = _model()
    opt = torch.optim.SGD(
        [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[2].parameters()}], lr=0.1, momentum=0.9
    )
    table = param_group_table(opt, model)
    assert list(table["name"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert list(table["group"]) == [0, 0, 1, 1]
    assert list(table["shape"]) == [(4, 3), (4,), (2, 4), (2,)]
    assert list(table["numel"]) == [12, 4, 8, 2]
    assert list(table["lr"]) == [0.01, 0.01, 0.1, 0.1]  # group 1 got the default
    assert set(table["momentum"]) == {0.9}
    assert not table["has_grad"].any() and table["requires_grad"].all()
    assert "foreach" not in table.columns and "params" not in table.columns
    assert "foreach" in param_group_table(opt, model, flags=True).columns


def test_group_table_names_without_model():
    model = _model()
    named = torch.optim.AdamW(model.named_parameters(), lr=1e-3)
    assert list(param_group_table(named)["name"]) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert param_group_table(named)["betas"].iloc[0] == (0.9, 0.999)
    plain = torch.optim.SGD([{"params": [model[0].weight]}, {"params": [model[2].weight, model[2].bias]}], lr=0.1)
    assert list(param_group_table(plain)["name"]) == ["group0.param0", "group1.param0", "group1.param1"]


def test_group_table_tensor_lr_is_a_number():
    w = torch.zeros(2, requires_grad=True)
    table = param_group_table(torch.optim.SGD([w], lr=torch.tensor(0.5)))
    assert table["lr"].iloc[0] == 0.5


def test_state_table_is_lazy_then_shows_adam_state():
    model = _model()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    before = optimizer_state_table(opt, model)
    assert list(before.columns) == ["group", "name", "param_bytes", "state_bytes"]
    assert before["state_bytes"].sum() == 0
    _step(model, opt)
    after = optimizer_state_table(opt, model)
    assert {"step", "exp_avg", "exp_avg_sq"} <= set(after.columns)
    assert after.iloc[0]["exp_avg"] == "(4, 3) float32"
    assert after.iloc[0]["step"] == "() float32 = 1"
    total = after.iloc[-1]
    n = sum(p.numel() for p in model.parameters())
    assert total["name"] == "total" and total["param_bytes"] == 4 * n
    assert total["state_bytes"] == 2 * 4 * n + 4 * 4  # exp_avg + exp_avg_sq + a float32 step per tensor
    assert state_bytes(opt) == (4 * n, 2 * 4 * n + 16)


def test_state_table_sgd_momentum_and_params_without_grad():
    model = _model()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model[0](torch.randn(5, 3)).sum().backward()  # only the first layer gets a gradient
    opt.step()
    table = optimizer_state_table(opt, model)
    assert list(table["state_bytes"][:4]) == [48, 16, 0, 0]
    assert table.iloc[2]["momentum_buffer"] == ""


@settings(max_examples=25, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=3), min_size=1, max_size=6), groups=st.integers(1, 4))
def test_tables_over_shapes_and_groups(shapes, groups):
    params = [torch.zeros(*s, requires_grad=True) for s in shapes]
    chunks = [params[i::groups] for i in range(groups)]
    chunks = [c for c in chunks if c]
    opt = torch.optim.Adam([{"params": c, "lr": 0.1 * (i + 1)} for i, c in enumerate(chunks)])
    table = param_group_table(opt)
    assert len(table) == len(params)
    assert table["numel"].sum() == sum(p.numel() for p in params)
    for i, c in enumerate(chunks):
        assert np.allclose(table[table["group"] == i]["lr"], 0.1 * (i + 1))
    for p in params:
        p.grad = torch.ones_like(p)
    opt.step()
    state = optimizer_state_table(opt)
    assert state.iloc[-1]["state_bytes"] == 2 * 4 * sum(p.numel() for p in params) + 4 * len(params)


def test_bad_input():
    model = _model()
    with pytest.raises(TypeError, match="got a model \\(Sequential\\)"):
        param_group_table(model)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module, got an optimizer"):
        param_group_table(torch.optim.SGD(model.parameters(), lr=0.1), torch.optim.SGD(model.parameters(), lr=0.1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    opt.param_groups[0]["params"] = []
    with pytest.raises(ValueError, match="holds no parameters"):
        optimizer_state_table(opt)
    with pytest.raises(TypeError, match="non-empty dict"):
        plot_state_bytes([])


def test_plot_state_bytes_draws_two_bars_per_optimizer():
    bars = {}
    for label, make in {"SGD": lambda p: torch.optim.SGD(p, lr=0.1), "Adam": lambda p: torch.optim.Adam(p)}.items():
        model = _model()
        bars[label] = make(model.parameters())
        _step(model, bars[label])
    ax = plot_state_bytes(bars)
    assert len(ax.patches) == 4
    assert [t.get_text() for t in ax.get_xticklabels()] == ["SGD", "Adam"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["parameters", "optimizer state"]
    heights = [p.get_height() for p in ax.patches]
    assert heights[2] == 0 and heights[3] == pytest.approx(2 * heights[1], rel=0.1)
    assert isinstance(optimizer_state_table(bars["Adam"]), pd.DataFrame)
