"""helpers.checkpoint: exact resume, crash safety, refusal of pickled code, clear errors."""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np
import pytest
import torch
from torch import nn

from helpers import seed_everything
from helpers.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

# --- exact resume -----------------------------------------------------------------------


def _sgd_setup():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-2)
    return model, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=4, gamma=0.5)


def _adam_setup():
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    opt = torch.optim.Adam([{"params": model[0].parameters(), "lr": 1e-3}, {"params": model[2].parameters()}], lr=1e-2)
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3)
    cosine = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    return model, opt, torch.optim.lr_scheduler.SequentialLR(opt, [warm, cosine], milestones=[3])


def _dropout_setup():
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    return model, opt, torch.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.7)


SETUPS = {"sgd_momentum_wd_steplr": _sgd_setup, "adam_two_groups_warmup_cosine": _adam_setup, "dropout": _dropout_setup}
X = torch.linspace(-1, 1, 32).reshape(8, 4)
Y = X.sum(1, keepdim=True).sin()


def _train(model, opt, sched, steps):
    model.train()
    for _ in range(steps):
        loss = nn.functional.mse_loss(model(X), Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()


def _state_tensors(opt):
    out = []
    for index, state in sorted(opt.state_dict()["state"].items()):
        for key, value in sorted(state.items()):
            if isinstance(value, torch.Tensor):
                out.append((index, key, value))
    return out


def _same(a, b):
    (ma, oa, sa), (mb, ob, sb) = a, b
    params = all(torch.equal(p, q) for p, q in zip(ma.parameters(), mb.parameters()))
    ta, tb = _state_tensors(oa), _state_tensors(ob)
    state = len(ta) == len(tb) > 0 and all(x[:2] == y[:2] and torch.equal(x[2], y[2]) for x, y in zip(ta, tb))
    lrs = [g["lr"] for g in oa.param_groups] == [g["lr"] for g in ob.param_groups]
    return params and state and lrs and sa.state_dict()["last_epoch"] == sb.state_dict()["last_epoch"]


def _resume(setup, tmp_path, n, k, restore_rng):
    seed_everything(0)
    first = setup()
    _train(*first, k)
    path = tmp_path / "ckpt.pt"
    model, opt, sched = first
    save_checkpoint(path, model=model, optimizer=opt, scheduler=sched, step=k)
    seed_everything(123)  # a new process: fresh objects, other weights, other RNG state
    fresh = setup()
    info = load_checkpoint(path, model=fresh[0], optimizer=fresh[1], scheduler=fresh[2], restore_rng=restore_rng)
    assert info["step"] == k
    _train(*fresh, n - k)
    return fresh


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_resume_is_exact(tmp_path, name):
    seed_everything(0)
    straight = SETUPS[name]()
    _train(*straight, 12)
    resumed = _resume(SETUPS[name], tmp_path, 12, 5, restore_rng=True)
    assert _same(straight, resumed)


def test_without_rng_restore_dropout_differs(tmp_path):
    seed_everything(0)
    straight = _dropout_setup()
    _train(*straight, 12)
    resumed = _resume(_dropout_setup, tmp_path, 12, 5, restore_rng=False)
    assert not _same(straight, resumed)


def test_rng_states_are_restored(tmp_path):
    model = nn.Linear(2, 2)
    seed_everything(5)
    save_checkpoint(tmp_path / "c.pt", model=model)
    expected = (random.random(), np.random.rand(), torch.rand(1).item())
    seed_everything(9)
    load_checkpoint(tmp_path / "c.pt", model=model)
    assert (random.random(), np.random.rand(), torch.rand(1).item()) == expected


def test_extra_and_step_round_trip(tmp_path):
    model = nn.Linear(2, 2)
    extra = {"epoch": 3, "best": 0.25, "history": [1.0, 0.5], "note": "warm-up done", "t": torch.ones(2)}
    save_checkpoint(tmp_path / "c.pt", model=model, step=7, extra=extra)
    info = load_checkpoint(tmp_path / "c.pt", model=model)
    assert info["step"] == 7 and info["extra"]["history"] == [1.0, 0.5] and torch.equal(info["extra"]["t"], torch.ones(2))


# --- atomic writes ----------------------------------------------------------------------


def test_no_temporary_file_after_a_save(tmp_path):
    model = nn.Linear(2, 2)
    for step in range(3):
        save_checkpoint(tmp_path / "c.pt", model=model, step=step)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]


def test_failed_save_keeps_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "c.pt", model=model, step=1)

    def broken(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(CheckpointError, match="could not write .*disk full; the previous checkpoint .* is intact"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=2)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    assert load_checkpoint(tmp_path / "c.pt", model=model)["step"] == 1


def _save_forever(path: str, step: int, ready) -> None:
    """The child: save a ~4 MB checkpoint again and again, each with every value equal to its step."""
    torch.set_num_threads(1)  # the parent's OpenMP pool does not survive a fork
    model = nn.Linear(1000, 1000)
    ready.set()
    while True:
        step += 1
        with torch.no_grad():
            model.weight.fill_(step)
            model.bias.fill_(step)
        save_checkpoint(path, model=model, step=step)


def test_sigkill_mid_save_leaves_old_or_new_file(tmp_path):
    import multiprocessing

    fork = multiprocessing.get_context("fork")  # starts in milliseconds: torch is already imported
    path = tmp_path / "c.pt"
    model = nn.Linear(1000, 1000)
    with torch.no_grad():
        model.weight.fill_(0)
        model.bias.fill_(0)
    started = time.perf_counter()
    save_checkpoint(path, model=model, step=0)
    one_save = time.perf_counter() - started  # kills are spread over a few saves' time, even on a slow machine
    rng = random.Random(0)
    last, kills, advanced, mid_save = 0, 0, 0, 0
    # At least 30 kills, and on until 10 of them landed during a write (a save now spends part
    # of its time on the checksum, before the temporary file exists).
    while kills < 30 or (mid_save < 10 and kills < 150):
        ready = fork.Event()
        child = fork.Process(target=_save_forever, args=(str(path), last, ready), daemon=True)
        child.start()
        assert ready.wait(30), "the saving child did not start"
        time.sleep(rng.uniform(0.0, max(0.25, 5 * one_save)))
        os.kill(child.pid, signal.SIGKILL)
        child.join()
        kills += 1
        leftovers = list(tmp_path.glob(".c.pt.*.tmp"))  # a kill during a write leaves its temporary
        mid_save += bool(leftovers)
        for leftover in leftovers:
            leftover.unlink()
        info = load_checkpoint(path, model=model, restore_rng=False)  # must never raise
        step = info["step"]
        assert step >= last, "the file went back in time"
        # Either the old or a new complete file: every value equals the step it was saved at.
        assert torch.all(model.weight == step) and torch.all(model.bias == step)
        advanced += step > last
        last = step
    assert advanced >= 5, f"only {advanced} of {kills} runs completed a save"
    assert mid_save >= 10, f"only {mid_save} of {kills} kills landed during a write: the test did not exercise a crash"


# --- security ---------------------------------------------------------------------------


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_code_running_file_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"format": "helpers.checkpoint", "version": 1, "model": _Payload(str(marker))}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match=r"refused to load .*evil\.pt.*weights_only=False.*trust"):
        load_checkpoint(tmp_path / "evil.pt", model=nn.Linear(2, 2))
    assert not marker.exists()


# --- errors -----------------------------------------------------------------------------


def _saved(tmp_path, **kwargs):
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    opt = torch.optim.SGD([{"params": model[0].parameters()}, {"params": model[1].parameters()}], lr=0.1, momentum=0.9)
    defaults = dict(model=model, optimizer=opt)
    defaults.update(kwargs)
    save_checkpoint(tmp_path / "c.pt", **defaults)
    return tmp_path / "c.pt", model, opt


def test_missing_file(tmp_path):
    with pytest.raises(CheckpointError, match=r"no checkpoint at .*nope\.pt: check the path"):
        load_checkpoint(tmp_path / "nope.pt", model=nn.Linear(2, 2))


def test_truncated_file(tmp_path):
    path, model, _ = _saved(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        load_checkpoint(path, model=model)


def test_corrupt_file(tmp_path):
    """Random bytes and damaged copies: refused with a clear message, or (a flip in the zip's own
    bookkeeping only) loaded with exactly the saved content; never an exception of another type."""
    path = tmp_path / "c.pt"
    rng = random.Random(0)
    good, model, _ = _saved(tmp_path, step=3)
    saved = [t.clone() for t in model.state_dict().values()]
    data = bytearray(good.read_bytes())
    cases = [bytes(rng.getrandbits(8) for _ in range(n)) for n in (0, 1, 7, 100, 4096)]
    for flips in (1, 1, 1, 2, 16):
        for _ in range(8):
            damaged = bytearray(data)
            for i in rng.sample(range(len(damaged)), flips):
                damaged[i] ^= 1 << rng.randrange(8)
            cases.append(bytes(damaged))
    refused = 0
    for case in cases:
        path.write_bytes(case)
        fresh = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
        try:
            info = load_checkpoint(path, model=fresh, restore_rng=False)
        except CheckpointError as error:
            assert "corrupt" in str(error) or "not a checkpoint" in str(error), error
            assert "run code" not in str(error), error
            refused += 1
        else:
            assert info["step"] == 3 and all(torch.equal(a, b) for a, b in zip(saved, fresh.state_dict().values()))
    assert refused >= len(cases) - 8, "most damage must be refused"


def test_not_a_checkpoint(tmp_path):
    model = nn.Linear(2, 2)
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    with pytest.raises(CheckpointError, match="not a checkpoint written by save_checkpoint.*bare state_dict"):
        load_checkpoint(tmp_path / "bare.pt", model=model)
    torch.save([1, 2, 3], tmp_path / "list.pt")
    with pytest.raises(CheckpointError, match=r"not a checkpoint written by save_checkpoint \(found list\)"):
        load_checkpoint(tmp_path / "list.pt", model=model)


def test_newer_format_version(tmp_path):
    path, model, _ = _saved(tmp_path)
    data = torch.load(path, weights_only=True)
    data["version"] = 99
    torch.save(data, path)
    with pytest.raises(CheckpointError, match="format version 99, newer than this helpers reads"):
        load_checkpoint(path, model=model)


def test_optimizer_or_scheduler_asked_for_but_absent(tmp_path):
    path, model, opt = _saved(tmp_path, optimizer=None)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        load_checkpoint(path, model=model, optimizer=opt)
    with pytest.raises(CheckpointError, match="holds no scheduler state"):
        load_checkpoint(path, model=model, scheduler=torch.optim.lr_scheduler.StepLR(opt, 2))


def test_different_number_of_groups(tmp_path):
    path, model, _ = _saved(tmp_path)
    one_group = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(CheckpointError, match=r"2 parameter group\(s\); this optimizer has 1"):
        load_checkpoint(path, model=model, optimizer=one_group)


def test_group_of_another_size(tmp_path):
    path, model, _ = _saved(tmp_path)
    other = torch.optim.SGD([{"params": [model[0].weight]}, {"params": [model[0].bias, *model[1].parameters()]}], lr=0.1)
    with pytest.raises(CheckpointError, match=r"parameter group 0 holds 2 tensor\(s\) in the file but 1 in this optimizer"):
        load_checkpoint(path, model=model, optimizer=other)


def test_model_keys_missing_unexpected_and_shapes_and_nothing_changes(tmp_path):
    path, _, _ = _saved(tmp_path)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.Linear(2, 2))
    before = [p.detach().clone() for p in other.parameters()]
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, model=other)
    message = str(info.value)
    assert "missing from the file: ['2.weight', '2.bias', '3.weight', '3.bias']" in message
    assert "in the file but not in the model: ['1.weight', '1.bias']" in message
    assert all(torch.equal(a, b) for a, b in zip(before, other.parameters()))
    wider = nn.Sequential(nn.Linear(3, 5), nn.Linear(5, 2))
    with pytest.raises(CheckpointError, match=r"shape mismatch: \['0.weight: file \(4, 3\) vs model \(5, 3\)'"):
        load_checkpoint(path, model=wider)


def test_bad_arguments(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"extra\['f'\] is a function"):
        save_checkpoint(tmp_path / "c.pt", model=model, extra={"f": lambda: 1})
    with pytest.raises(TypeError, match="got an optimizer"):
        save_checkpoint(tmp_path / "c.pt", model=torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(TypeError, match="step must be an int"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=1.5)
    with pytest.raises(CheckpointError, match="folder .* does not exist"):
        save_checkpoint(tmp_path / "no" / "c.pt", model=model)
    assert not list(tmp_path.iterdir())


def test_gpu_checkpoint_loads_on_a_cpu_machine(tmp_path, monkeypatch):
    """A file whose tensors are tagged cuda:0 (as a GPU run writes them) loads onto the model's device."""
    model = nn.Linear(2, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.ones(1, 2)).sum().backward()
    opt.step()
    import torch.serialization as ser

    real_tag = ser.location_tag
    monkeypatch.setattr(ser, "location_tag", lambda storage: "cuda:0" if real_tag(storage) == "cpu" else real_tag(storage))
    save_checkpoint(tmp_path / "gpu.pt", model=model, optimizer=opt)
    monkeypatch.undo()
    if not torch.cuda.is_available():
        # What a plain load does on a CPU machine (notebook 05 quotes this message):
        with pytest.raises(RuntimeError, match=r"Attempting to deserialize object on a CUDA device but torch.cuda.is_available\(\) is False"):
            torch.load(tmp_path / "gpu.pt", weights_only=True)
        with pytest.raises(CheckpointError, match="map_location='cpu'"):
            load_checkpoint(tmp_path / "gpu.pt", model=nn.Linear(2, 2), map_location="cuda")
    fresh = nn.Linear(2, 2)
    fresh_opt = torch.optim.Adam(fresh.parameters())
    load_checkpoint(tmp_path / "gpu.pt", model=fresh, optimizer=fresh_opt)
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_opt.state[fresh.weight]["exp_avg"].device == fresh.weight.device
