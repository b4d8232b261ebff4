import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers import LRRecorder, lr_schedule, plot_lr_schedule


def _setup(groups=2):
    model = nn.Sequential(*[nn.Linear(2, 2) for _ in range(groups)])
    opt = torch.optim.SGD([{"params": m.parameters(), "lr": 0.1 * (i + 1)} for i, m in enumerate(model)], momentum=0.9)
    return model, opt


def _step(model, opt):
    opt.zero_grad()
    model(torch.randn(3, 2)).sum().backward()
    opt.step()


def test_recorder_equals_get_last_lr_at_every_step():
    model, opt = _setup()
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    seen = []
    with LRRecorder(opt, names=["a", "b"]) as rec:
        for _ in range(10):
            seen.append(sched.get_last_lr())
            _step(model, opt)
            sched.step()
    h = rec.history
    assert list(h.columns) == ["step", "group", "lr", "momentum"]
    assert len(h) == 20
    for step, expected in enumerate(seen, start=1):
        got = h[h["step"] == step].sort_values("group")["lr"].tolist()
        assert got == pytest.approx(expected)
    assert set(h["momentum"]) == {0.9}


def test_recorder_adam_beta1_and_group_added_later():
    w1, w2 = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    opt = torch.optim.Adam([w1], lr=0.01, betas=(0.8, 0.99))
    with LRRecorder(opt) as rec:
        for step in range(4):
            if step == 2:
                opt.add_param_group({"params": [w2], "lr": 0.001})
            opt.zero_grad()
            (w1.sum() + w2.sum()).backward()
            opt.step()
    h = rec.history
    assert list(h.columns) == ["step", "group", "lr", "beta1"]
    assert h[h["group"] == 1]["step"].tolist() == [3, 4]
    assert h[h["group"] == 0]["step"].tolist() == [1, 2, 3, 4]
    assert set(h["beta1"]) == {0.8}
    ax = rec.plot()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["group 0", "group 1"]
    assert list(ax.get_lines()[1].get_xdata()) == [3, 4]
    assert not opt._optimizer_step_pre_hooks


def test_recorder_plot_labels_and_errors():
    model, opt = _setup()
    rec = LRRecorder(opt, names=["backbone", "head"])
    with pytest.raises(ValueError, match="nothing recorded yet"):
        rec.plot()
    with rec:
        _step(model, opt)
    ax = rec.plot()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["backbone", "head"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate" and ax.get_title()
    with pytest.raises(TypeError, match="names must be a list of strings"):
        LRRecorder(opt, names="backbone")
    with pytest.raises(TypeError, match="got a model"):
        LRRecorder(model)


def test_recorder_removes_hook_after_exception():
    model, opt = _setup()
    with pytest.raises(KeyError):
        with LRRecorder(opt) as rec:
            _step(model, opt)
            raise KeyError("x")
    _step(model, opt)
    assert rec.steps == 1


def test_lr_schedule_matches_a_real_run_without_moving_parameters():
    model, opt = _setup()
    before = [p.detach().clone() for p in model.parameters()]

    def make_sched(o):
        warm = torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15)
        return torch.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[5])

    preview = lr_schedule(lambda: opt, make_sched, 20)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model2, opt2 = _setup()
    sched2 = make_sched(opt2)
    expected = []
    for _ in range(20):
        expected.append(sched2.get_last_lr())
        _step(model2, opt2)
        sched2.step()
    for step, lrs in enumerate(expected, start=1):
        assert preview[preview["step"] == step]["lr"].tolist() == pytest.approx(lrs)


def test_plot_lr_schedule_one_line_per_group_and_errors():
    _, opt = _setup(3)
    ax = plot_lr_schedule(lambda: opt, lambda o: torch.optim.lr_scheduler.StepLR(o, 2), 6, names=["a", "b", "c"])
    assert len(ax.get_lines()) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="steps must be a positive int"):
        lr_schedule(lambda: opt, lambda o: torch.optim.lr_scheduler.StepLR(o, 2), 0)
    with pytest.raises(TypeError, match="ReduceLROnPlateau"):
        lr_schedule(lambda: opt, lambda o: torch.optim.lr_scheduler.ReduceLROnPlateau(o), 3)
    with pytest.raises(TypeError, match="must be callables"):
        lr_schedule(opt, lambda o: None, 3)
    model, _ = _setup()
    with pytest.raises(TypeError, match="got a model"):
        lr_schedule(lambda: model, lambda o: None, 3)


@settings(max_examples=20, deadline=None)
@given(groups=st.integers(1, 5), steps=st.integers(1, 30), step_size=st.integers(1, 7))
def test_schedule_over_group_counts(groups, steps, step_size):
    _, opt = _setup(groups)
    h = lr_schedule(lambda: opt, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma=0.5), steps)
    assert len(h) == groups * steps
    for g in range(groups):
        lrs = h[h["group"] == g]["lr"].tolist()
        assert lrs == pytest.approx([0.1 * (g + 1) * 0.5 ** (s // step_size) for s in range(steps)])


def test_recorder_names_of_the_wrong_length_are_refused():
    model, opt = _setup(3)
    with pytest.raises(ValueError, match=r"names: the optimizer has 3 parameter group\(s\), so give 3 name\(s\).*got 2"):
        LRRecorder(opt, names=["a", "b"])
    with pytest.raises(ValueError, match="names must be distinct.*'a'"):
        LRRecorder(opt, names=["a", "a", "b"])
    with pytest.raises(TypeError, match="names must be a list of strings"):
        LRRecorder(opt, names=["a", "b", 3])
    rec = LRRecorder(opt, names=(n for n in ["a", "b", "c"]))  # any iterable of strings
    assert rec.names == ["a", "b", "c"]


def test_recorder_extra_names_label_groups_added_later():
    w1, w2, w3 = (torch.zeros(2, requires_grad=True) for _ in range(3))
    opt = torch.optim.SGD([w1], lr=0.1)
    with LRRecorder(opt, names=["head", "backbone"]) as rec:  # the backbone group comes later
        for step in range(3):
            if step == 1:
                opt.add_param_group({"params": [w2], "lr": 0.01})
            if step == 2:
                opt.add_param_group({"params": [w3], "lr": 0.001})  # beyond the names given
            opt.zero_grad()
            (w1.sum() + w2.sum() + w3.sum()).backward()
            opt.step()
    ax = rec.plot()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["head", "backbone", "group 2"]


def test_plot_lr_schedule_names_must_match_the_groups():
    _, opt = _setup(3)
    step_lr = lambda o: torch.optim.lr_scheduler.StepLR(o, 2)  # noqa: E731
    for names in (["a", "b"], ["a", "b", "c", "d"]):
        with pytest.raises(ValueError, match=rf"has 3 parameter group\(s\), so give 3 name\(s\); got {len(names)}"):
            plot_lr_schedule(lambda: opt, step_lr, 4, names=names)


def test_lr_recorder_every_and_ring_buffer_match_the_full_record():
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=1.0, momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    with LRRecorder(opt) as full, LRRecorder(opt, every=3) as sparse, LRRecorder(opt, max_steps=4) as ring:
        for _ in range(10):
            opt.step()
            sched.step()
    h = full.history
    assert list(h.columns) == ["step", "group", "lr", "momentum"]
    assert h["lr"].tolist() == [1.0 * 0.5 ** (s // 2) for s in range(10)]  # what each step used
    assert sparse.history.reset_index(drop=True).equals(h[h["step"].isin([1, 4, 7, 10])].reset_index(drop=True))
    assert ring.history.reset_index(drop=True).equals(h[h["step"] > 6].reset_index(drop=True))
    assert ring.history_bytes < full.history_bytes
    with pytest.raises(ValueError, match="every must be a positive int"):
        LRRecorder(opt, every=0)
    with pytest.raises(TypeError, match="max_steps must be a positive int"):
        LRRecorder(opt, max_steps="10")
