"""helpers.schedules against torch's own schedulers."""

import math

import ipywidgets as w
import matplotlib
import pytest
import torch
from torch.optim import lr_scheduler

from helpers import SCHEDULES, build_schedule, plot_schedules, scale_schedule, schedule_lrs, schedule_playground, warmup_cosine
from helpers.schedules import schedule_summary

matplotlib.use("Agg")


def _optimizer(lrs=(0.01, 0.1)):
    return torch.optim.SGD([{"params": [torch.zeros(2, requires_grad=True)], "lr": lr} for lr in lrs], momentum=0.9)


def _run(optimizer, scheduler, steps, change=None):
    out = []
    for step in range(1, steps + 1):
        if change is not None:
            change(step, scheduler)
        out.append([g["lr"] for g in optimizer.param_groups])
        optimizer.step()
        scheduler.step()
    return out


def _close(a, b, rel=1e-9):
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=1e-15) for ra, rb in zip(a, b) for x, y in zip(ra, rb)) and len(a) == len(b)


@pytest.mark.parametrize("warmup,total", [(2, 10), (5, 30), (10, 60), (7, 8)])
def test_warmup_cosine_equals_linear_then_cosine_in_torch(warmup, total):
    opt = _optimizer()
    mine = _run(opt, lr_scheduler.LambdaLR(opt, warmup_cosine(warmup, total)), total + 5)
    opt = _optimizer()
    torch_scheduler = lr_scheduler.SequentialLR(
        opt,
        [lr_scheduler.LinearLR(opt, start_factor=1 / warmup, total_iters=warmup - 1), lr_scheduler.CosineAnnealingLR(opt, T_max=total - warmup)],
        milestones=[warmup],
    )
    reference = _run(opt, torch_scheduler, total + 1)  # past total the torch cosine climbs again; ours stays at the floor
    assert _close(mine[: total + 1], reference)
    assert all(row == [0.0, 0.0] for row in mine[total:])


def test_warmup_cosine_without_warmup_and_with_a_floor():
    opt = _optimizer((0.1,))
    mine = _run(opt, lr_scheduler.LambdaLR(opt, warmup_cosine(0, 20, min_factor=0.1)), 20)
    opt = _optimizer((0.1,))
    reference = _run(opt, lr_scheduler.CosineAnnealingLR(opt, T_max=20, eta_min=0.01), 20)
    assert _close(mine, reference)


def test_warmup_cosine_per_group_and_its_state_is_plain():
    opt = _optimizer()
    scheduler = lr_scheduler.LambdaLR(opt, [lambda t: 1.0, warmup_cosine(4, 12)])
    lrs = _run(opt, scheduler, 12)
    assert [b for b, _ in lrs] == [0.01] * 12
    assert [round(h, 10) for _, h in lrs[:5]] == [0.025, 0.05, 0.075, 0.1, 0.1]
    state = scheduler.state_dict()
    assert state["lr_lambdas"][1] == {"warmup_steps": 4, "total_steps": 12, "min_factor": 0.0}
    assert "warmup_cosine(warmup_steps=4" in repr(warmup_cosine(4, 12))


@pytest.mark.parametrize(
    "args,error,match",
    [
        ((5, 5), ValueError, "warmup_steps must be smaller than total_steps"),
        ((-1, 5), ValueError, "warmup_steps must be an int >= 0, got -1"),
        ((1.5, 5), TypeError, "warmup_steps must be an int"),
        ((1, 0), ValueError, "total_steps must be a positive int"),
        ((1, 5, 1.5), ValueError, "min_factor must be from 0 to 1"),
        ((1, 5, "0"), TypeError, "min_factor must be a number"),
    ],
)
def test_warmup_cosine_refuses_bad_arguments(args, error, match):
    with pytest.raises(error, match=match):
        warmup_cosine(*args)


def test_schedule_lrs_is_pure_and_matches_build_schedule_on_a_real_run():
    for name in SCHEDULES:
        a = schedule_lrs(name, [0.01, 0.1], steps=30, warmup_steps=5)
        b = schedule_lrs(name, [0.01, 0.1], steps=30, warmup_steps=5)
        assert a.equals(b)
        opt = _optimizer()
        real = _run(opt, build_schedule(name, opt, 30, 5), 30)
        for g in (0, 1):
            assert a[a["group"] == g]["lr"].tolist() == [row[g] for row in real], name
        body, head = (a[a["group"] == g]["lr"].tolist() for g in (0, 1))
        assert all(math.isclose(h, 10 * b, rel_tol=1e-6) for b, h in zip(body, head)), name


def test_build_schedule_warmup_and_errors():
    opt = _optimizer()
    assert isinstance(build_schedule("one_cycle", opt, 20, 4), lr_scheduler.OneCycleLR)
    history = schedule_lrs("one_cycle", [0.2], steps=20, warmup_steps=4)
    assert history["lr"].idxmax() in (3, 4) and math.isclose(history["lr"].max(), 0.2, rel_tol=1e-6)
    with pytest.raises(ValueError, match="name must be one of"):
        build_schedule("linear", _optimizer(), 10)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer, got list"):
        build_schedule("cosine", [torch.zeros(1)], 10)
    with pytest.raises(ValueError, match="warmup_steps must be smaller than steps"):
        build_schedule("warmup_cosine", _optimizer(), 10, 10)
    with pytest.raises(ValueError, match="base_lrs must all be > 0"):
        schedule_lrs("cosine", [0.1, 0], 10)
    with pytest.raises(TypeError, match="base_lrs must be a list"):
        schedule_lrs("cosine", 0.1, 10)


def test_schedule_summary_names_the_first_peak():
    text = schedule_summary(schedule_lrs("warmup_cosine", [0.001, 0.01], steps=40, warmup_steps=7))
    assert text.startswith("peak lr: body 0.001 at step 7, head 0.01 at step 7; at step 40:")


KINDS = {
    "StepLR": lambda o: lr_scheduler.StepLR(o, 3, 0.5),
    "MultiStepLR": lambda o: lr_scheduler.MultiStepLR(o, [4, 9], 0.5),
    "ExponentialLR": lambda o: lr_scheduler.ExponentialLR(o, 0.9),
    "CosineAnnealingLR": lambda o: lr_scheduler.CosineAnnealingLR(o, 12),
    "LambdaLR": lambda o: lr_scheduler.LambdaLR(o, [lambda t: 0.9**t, warmup_cosine(3, 16)]),
    "MultiplicativeLR": lambda o: lr_scheduler.MultiplicativeLR(o, lambda t: 0.95),
    "OneCycleLR": lambda o: lr_scheduler.OneCycleLR(o, max_lr=[0.02, 0.2], total_steps=16),
    "LinearLR": lambda o: lr_scheduler.LinearLR(o, 0.2, total_iters=8),
    "PolynomialLR": lambda o: lr_scheduler.PolynomialLR(o, total_iters=14, power=2.0),
    "CyclicLR": lambda o: lr_scheduler.CyclicLR(o, base_lr=[0.001, 0.01], max_lr=[0.01, 0.1], step_size_up=3),
    "CosineAnnealingWarmRestarts": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5),
    "SequentialLR": lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, 0.25, total_iters=3), lr_scheduler.CosineAnnealingLR(o, 12)], milestones=[4]),
    "ChainedScheduler": lambda o: lr_scheduler.ChainedScheduler([lr_scheduler.ConstantLR(o, 0.5, total_iters=5), lr_scheduler.ExponentialLR(o, 0.9)]),
}


@pytest.mark.parametrize("name", list(KINDS))
@pytest.mark.parametrize("groups", [[1], None])
def test_scale_schedule_scales_the_rest_of_every_kind(name, groups):
    make = KINDS[name]
    opt = _optimizer()
    plain = _run(opt, make(opt), 15)
    opt = _optimizer()
    scheduler = make(opt)
    changed = _run(opt, scheduler, 15, lambda step, s: scale_schedule(s, 0.1, groups=groups) if step == 6 else None)
    chosen = [1] if groups else [0, 1]
    for g in (0, 1):
        factor = 0.1 if g in chosen else 1.0
        assert all(math.isclose(c[g], factor * p[g], rel_tol=1e-9, abs_tol=1e-15) for c, p in zip(changed[5:], plain[5:])), (name, g)
        assert [c[g] for c in changed[:5]] == [p[g] for p in plain[:5]]
    assert scheduler.get_last_lr() == [g["lr"] for g in opt.param_groups]


def test_scale_schedule_refusals():
    opt = _optimizer()
    with pytest.raises(ValueError, match="factor must be a number > 0"):
        scale_schedule(lr_scheduler.StepLR(opt, 2), 0)
    with pytest.raises(ValueError, match="groups must list group indices from 0 to 1"):
        scale_schedule(lr_scheduler.StepLR(opt, 2), 0.5, groups=[2])
    with pytest.raises(TypeError, match="factor must be a number > 0, got str '0.5'"):
        scale_schedule(lr_scheduler.StepLR(opt, 2), "0.5")
    with pytest.raises(TypeError, match="scheduler must be a learning-rate scheduler"):
        scale_schedule(opt, 0.5)
    opt = _optimizer()
    with pytest.raises(ValueError, match="eta_min=0.001, one floor shared by every group"):
        scale_schedule(lr_scheduler.CosineAnnealingLR(opt, 10, eta_min=0.001), 0.5)


def test_plot_schedules_one_panel_per_schedule_with_labels():
    fig = plot_schedules(["cosine", "one_cycle"], base_lrs=(0.01, 0.1), steps=20, warmup_steps=4)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["cosine", "one cycle"]
    assert all(len(ax.get_lines()) == 2 and ax.get_yscale() == "log" for ax in axes)
    assert axes[0].yaxis.get_major_formatter()(0.01, 0) == "0.01" and len(axes[0].yaxis.get_minorticklocs()) == 0  # cheap to draw
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["body", "head"]
    assert axes[0].get_xlabel() == "step" and axes[0].get_ylabel() == "learning rate"
    with pytest.raises(ValueError, match="names must be a non-empty list"):
        plot_schedules(["cosine", "linear"])
    with pytest.raises(ValueError, match="names"):
        plot_schedules(["cosine"], base_lrs=(0.1, 0.2, 0.3))
    matplotlib.pyplot.close("all")


def _find(widget, kind):
    found = [widget] if isinstance(widget, kind) else []
    for child in getattr(widget, "children", ()):
        found += _find(child, kind)
    return found


def test_schedule_playground_redraws_from_the_kernel():
    box = schedule_playground(steps=30)
    summary, picture = _find(box, w.HTML)[0], _find(box, w.Image)[0]
    first, first_png = summary.value, picture.value
    assert bytes(first_png[:4]) == b"\x89PNG" and first.startswith("warmup_cosine: peak lr: body 0.001 at step 10")
    warmup = _find(box, w.IntSlider)[0]
    warmup.value = 4
    assert "at step 4" in summary.value and picture.value != first_png
    head = [s for s in _find(box, w.FloatLogSlider) if s.description == "head lr"][0]
    head.value = 0.1
    assert "head 0.1 at step 4" in summary.value
    schedule = _find(box, w.Dropdown)[0]
    schedule.value = "step"
    assert summary.value.startswith("step: peak lr: body 0.001 at step 1, head 0.1 at step 1")
