"""helpers.checkpoint with several optimizers and schedulers (a dict name -> object) and a GradScaler.

The exact-resume tests save in this process and resume in a fresh Python process (subprocess),
then compare every weight, optimizer-state tensor, schedule and scaler value with a run that
never stopped: bit for bit.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from helpers import seed_everything
from helpers.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

lr_scheduler = torch.optim.lr_scheduler
REPO = Path(__file__).resolve().parents[1]
STEPS, SAVE_AT = 12, 5


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return sorted(map(str, a)) == sorted(map(str, b)) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


# --- the two runs: Muon + AdamW with a scheduler each; AdamW under CPU autocast + GradScaler ---


def build_muon():
    """Muon on the 2-D hidden weights, AdamW on everything else, each with its own scheduler."""
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 1))
    hidden = [model[3].weight, model[5].weight]
    rest = [p for p in model.parameters() if all(p is not h for h in hidden)]
    muon = torch.optim.Muon(hidden, lr=0.02, momentum=0.95)
    adamw = torch.optim.AdamW(rest, lr=3e-3, weight_decay=0.01)
    schedulers = {
        "muon": lr_scheduler.StepLR(muon, step_size=3, gamma=0.5),
        "adamw": lr_scheduler.SequentialLR(
            adamw, [lr_scheduler.LinearLR(adamw, 0.1, total_iters=3), lr_scheduler.CosineAnnealingLR(adamw, T_max=10)], milestones=[3]
        ),
    }
    return {"model": model, "optimizer": {"muon": muon, "adamw": adamw}, "scheduler": schedulers, "scaler": None}


INF_AT = {2, 8}  # steps whose gradient gets an inf: the scaler skips them (one before the save, one after)


def build_amp():
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    return {
        "model": model,
        "optimizer": opt,
        "scheduler": lr_scheduler.ExponentialLR(opt, gamma=0.9),
        "scaler": torch.amp.GradScaler("cpu", init_scale=2.0**10, growth_interval=3),
    }


def train(objects, start, stop):
    """Steps ``start`` to ``stop - 1``; returns (loss, scale) per step. Data and dropout draw from the global RNG."""
    model, scaler = objects["model"], objects["scaler"]
    opts = objects["optimizer"] if isinstance(objects["optimizer"], dict) else {"": objects["optimizer"]}
    scheds = objects["scheduler"] if isinstance(objects["scheduler"], dict) else {"": objects["scheduler"]}
    trace = []
    model.train()
    for step in range(start, stop):
        x = torch.randn(8, 6)
        y = x.sum(1, keepdim=True).sin()
        for opt in opts.values():
            opt.zero_grad()
        if scaler is None:
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            for opt in opts.values():
                opt.step()
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16):
                loss = nn.functional.mse_loss(model(x).float(), y)
            scaler.scale(loss).backward()
            if step in INF_AT:
                model[0].weight.grad[0, 0] = float("inf")
            for opt in opts.values():
                scaler.step(opt)
            scaler.update()
        for sched in scheds.values():
            sched.step()
        trace.append((loss.item(), scaler.get_scale() if scaler is not None else None))
    return trace


def state_of(objects, trace):
    opts = objects["optimizer"] if isinstance(objects["optimizer"], dict) else {"": objects["optimizer"]}
    scheds = objects["scheduler"] if isinstance(objects["scheduler"], dict) else {"": objects["scheduler"]}
    return {
        "model": objects["model"].state_dict(),
        "optimizer": {k: o.state_dict()["state"] for k, o in opts.items()},
        "lr": {k: [g["lr"] for g in o.param_groups] for k, o in opts.items()},
        "scheduler": {k: s.state_dict() for k, s in scheds.items()},
        "scaler": objects["scaler"].state_dict() if objects["scaler"] is not None else None,
        "trace": trace,
    }


BUILDERS = {"muon": build_muon, "amp": build_amp}


def resume_in_this_process(folder: str, threads: int) -> None:
    """What the child process runs, for each kind: fresh objects (other seed), load, train to the end, save the state."""
    torch.set_num_threads(threads)
    for kind, build in BUILDERS.items():
        seed_everything(123)
        objects = build()
        info = load_checkpoint(Path(folder) / f"{kind}.pt", **objects)
        assert info["step"] == SAVE_AT and info["extra"] == {"kind": kind}
        torch.save(state_of(objects, train(objects, SAVE_AT, STEPS)), Path(folder) / f"{kind}.out.pt")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """kind -> (straight run, run resumed in a fresh process, the scales before the save). One child for both kinds."""
    folder = tmp_path_factory.mktemp("resume")
    straight, before = {}, {}
    for kind, build in BUILDERS.items():
        seed_everything(0)
        objects = build()
        before[kind] = train(objects, 0, SAVE_AT)
        save_checkpoint(folder / f"{kind}.pt", **objects, step=SAVE_AT, extra={"kind": kind})
        straight[kind] = state_of(objects, train(objects, SAVE_AT, STEPS))  # the same run, never stopped
    code = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"import {Path(__file__).stem} as t; t.resume_in_this_process(sys.argv[1], int(sys.argv[2]))"
    )
    run = subprocess.run([sys.executable, "-c", code, str(folder), str(torch.get_num_threads())],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    return {kind: (straight[kind], torch.load(folder / f"{kind}.out.pt", weights_only=True), before[kind]) for kind in BUILDERS}


@pytest.mark.parametrize("kind", sorted(BUILDERS))
def test_exact_resume_in_a_fresh_process(runs, kind):
    straight, resumed, before = runs[kind]
    if kind == "amp":
        scales = [s for _, s in before] + [s for _, s in straight["trace"]]
        assert all(scales[i] < scales[i - 1] for i in INF_AT), f"the inf steps were not skipped: {scales}"
        assert any(b > a for a, b in zip(scales, scales[1:])), "the scale never grew: the growth tracker is not exercised"
    for key in straight:
        assert _equal(straight[key], resumed[key]), f"{key} differs after resuming in a new process"


# --- in-process checks of the dict and scaler arguments --------------------------------------


def test_dicts_and_scaler_round_trip_and_load_into_fresh_objects(tmp_path):
    seed_everything(0)
    objects = build_amp()
    objects["optimizer"] = {"all": objects["optimizer"]}
    objects["scheduler"] = {"decay": objects["scheduler"]}
    train(objects, 0, 4)
    save_checkpoint(tmp_path / "c.pt", **objects, step=4)
    data = torch.load(tmp_path / "c.pt", weights_only=True)
    assert data["classes"] == {"optimizer": {"all": "torch.optim.adamw.AdamW"}, "scheduler": {"decay": "torch.optim.lr_scheduler.ExponentialLR"},
                               "scaler": "torch.amp.grad_scaler.GradScaler"}
    fresh = build_amp()
    fresh["optimizer"] = {"all": fresh["optimizer"]}
    fresh["scheduler"] = {"decay": fresh["scheduler"]}
    load_checkpoint(tmp_path / "c.pt", **fresh)
    assert _equal(state_of(objects, []), state_of(fresh, []))
    assert fresh["scaler"].get_scale() == objects["scaler"].get_scale() != 2.0**10


@pytest.mark.parametrize("argument, value, match", [
    ("optimizer", {}, r"optimizer is an empty dict"),
    ("optimizer", {1: "x"}, r"optimizer names must be non-empty strings, got 1"),
    ("optimizer", {"a": "sgd"}, r"optimizer\['a'\] must be a torch.optim.Optimizer, got str"),
    ("scheduler", {"a": 0.1}, r"scheduler\['a'\] must be a learning-rate scheduler, got float"),
    ("scaler", "cpu", r"scaler must be a torch.amp.GradScaler, got str"),
    ("step", 1.5, r"step must be an int or None, got float"),
    ("step", np.int64(3), r"step must be an int or None, got numpy.int64; pass int\(step\)"),
])
def test_bad_arguments_name_the_argument(tmp_path, argument, value, match):
    model = nn.Linear(2, 2)
    kwargs = {"model": model, argument: value}
    with pytest.raises(CheckpointError, match=match):
        save_checkpoint(tmp_path / "c.pt", **kwargs)
    if argument != "step":
        save_checkpoint(tmp_path / "ok.pt", model=model)
        with pytest.raises(CheckpointError, match=match):
            load_checkpoint(tmp_path / "ok.pt", **kwargs)
    assert not (tmp_path / "c.pt").exists()


def test_a_dict_of_one_optimizer_saved_and_loaded_as_a_dict(tmp_path):
    model = nn.Linear(2, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer={"sgd": opt})
    fresh = nn.Linear(2, 2)
    fresh_opt = torch.optim.SGD(fresh.parameters(), lr=0.5, momentum=0.9)
    load_checkpoint(tmp_path / "c.pt", model=fresh, optimizer={"sgd": fresh_opt})
    assert torch.equal(fresh_opt.state[fresh.weight]["momentum_buffer"], opt.state[model.weight]["momentum_buffer"])
