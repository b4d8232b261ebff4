"""helpers.checkpoint: every refused load leaves model, optimizers, schedulers, scaler and RNG unchanged.

Each test builds a file that must be refused, the objects a user would pass, takes a deep copy
of all their state_dicts (and the RNG states), loads, expects a clear ``CheckpointError``, and
compares everything with the copy.
"""

from __future__ import annotations

import copy
import random
import zipfile

import numpy as np
import pytest
import torch
from torch import nn

from helpers import checkpoint
from helpers.checkpoint import FORMAT_VERSION, CheckpointError, load_checkpoint, save_checkpoint

lr_scheduler = torch.optim.lr_scheduler


def _model():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def _train(model, optimizers, schedulers=(), steps=2):
    x = torch.linspace(-1, 1, 15).reshape(5, 3)
    for _ in range(steps):
        loss = model(x).pow(2).mean()
        for opt in optimizers:
            opt.zero_grad()
        loss.backward()
        for opt in optimizers:
            opt.step()
        for sched in schedulers:
            sched.step()


def _trained(opt_cls=torch.optim.Adam, sched_fn=None, **opt_kwargs):
    """A model, its optimizer and scheduler after two steps (so every state is filled)."""
    model = _model()
    opt = opt_cls(model.parameters(), lr=0.1, **opt_kwargs)
    sched = sched_fn(opt) if sched_fn else None
    _train(model, [opt], [sched] if sched else [])
    return model, opt, sched


def _snapshot(model, optimizers=(), schedulers=(), scaler=None):
    return copy.deepcopy({
        "model": model.state_dict(),
        "optimizers": [o.state_dict() for o in optimizers],
        "schedulers": [s.state_dict() for s in schedulers],
        "scheduler_attributes": [sorted(vars(s)) for s in schedulers],
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": (random.getstate(), np.random.get_state(), torch.get_rng_state()),
    })


def _equal(a, b) -> bool:
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)  # NaN equals NaN here


def _refused(path, match, model, optimizer=None, scheduler=None, scaler=None, **kwargs):
    """Load must raise CheckpointError matching ``match`` and change nothing."""
    optimizers = list(optimizer.values()) if isinstance(optimizer, dict) else [optimizer] if optimizer else []
    schedulers = list(scheduler.values()) if isinstance(scheduler, dict) else [scheduler] if scheduler else []
    before = _snapshot(model, optimizers, schedulers, scaler)
    with pytest.raises(CheckpointError, match=match) as info:
        load_checkpoint(path, model=model, optimizer=optimizer, scheduler=scheduler, scaler=scaler, **kwargs)
    after = _snapshot(model, optimizers, schedulers, scaler)
    for key in before:
        assert _equal(before[key], after[key]), f"the refused load changed the {key}"
    return str(info.value)


def _rewrite(path, change):
    """Load the raw dict, let ``change`` edit it, and write it back with plain torch.save."""
    data = torch.load(path, weights_only=True)
    change(data)
    torch.save(data, path)


def _reseal(data):
    """Store a checksum that matches the edited content: the file is damaged, yet consistent."""
    data["digest"] = checkpoint._digest(data)


# --- the observed defects ---------------------------------------------------------------


def test_adam_checkpoint_into_sgd_is_refused(tmp_path):
    model, opt, _ = _trained(torch.optim.Adam)
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    target = _model()
    sgd = torch.optim.SGD(target.parameters(), lr=0.1, momentum=0.9)
    _train(target, [sgd])
    message = _refused(tmp_path / "c.pt", r"holds the state of an? Adam optimizer.*optimizer is an? SGD", target, sgd)
    assert "same optimizer class" in message


def test_sgd_checkpoint_into_adam_is_refused(tmp_path):
    model, opt, _ = _trained(torch.optim.SGD, momentum=0.9)
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    target = _model()
    adam = torch.optim.Adam(target.parameters())
    _refused(tmp_path / "c.pt", r"holds the state of an? SGD optimizer.*optimizer is an? Adam", target, adam)


@pytest.mark.parametrize("other", [
    lambda o: lr_scheduler.LambdaLR(o, lambda epoch: 0.9**epoch),
    lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=10),
    lambda o: lr_scheduler.ReduceLROnPlateau(o),
], ids=["LambdaLR", "CosineAnnealingLR", "ReduceLROnPlateau"])
def test_steplr_checkpoint_into_another_scheduler_is_refused(tmp_path, other):
    model, opt, sched = _trained(torch.optim.SGD, lambda o: lr_scheduler.StepLR(o, step_size=1, gamma=0.5), momentum=0.9)
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched)
    target = _model()
    target_opt = torch.optim.SGD(target.parameters(), lr=0.1, momentum=0.9)
    target_sched = other(target_opt)
    name = type(target_sched).__name__
    _refused(tmp_path / "c.pt", rf"holds the state of a StepLR scheduler.*scheduler is an? {name}", target, target_opt, target_sched)


def test_sequential_scheduler_with_other_inner_schedulers_is_refused(tmp_path):
    def warm_then(inner):
        return lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.LinearLR(o, 0.1, total_iters=2), inner(o)], milestones=[2])

    model, opt, sched = _trained(torch.optim.Adam, warm_then(lambda o: lr_scheduler.CosineAnnealingLR(o, 10)))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched)
    target = _model()
    target_opt = torch.optim.Adam(target.parameters(), lr=0.1)
    target_sched = warm_then(lambda o: lr_scheduler.StepLR(o, 3))(target_opt)
    _refused(tmp_path / "c.pt", r"SequentialLR\(LinearLR, CosineAnnealingLR\).*SequentialLR\(LinearLR, StepLR\)", target, target_opt, target_sched)


@pytest.mark.parametrize("entry", ["rng", "model"])
def test_file_without_a_required_entry_is_refused(tmp_path, entry):
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched)
    _rewrite(tmp_path / "c.pt", lambda d: (d.pop(entry), _reseal(d)))
    target, target_opt, target_sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    with torch.no_grad():
        target[0].weight.add_(1.0)  # differs from the file, so a partial restore would show
    message = _refused(tmp_path / "c.pt", rf"has no '{entry}' entry", target, target_opt, target_sched)
    if entry == "rng":
        assert "restore_rng=False" in message


def test_without_rng_loads_with_restore_rng_false(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, step=3)
    _rewrite(tmp_path / "c.pt", lambda d: (d.pop("rng"), _reseal(d)))
    target = _model()
    assert load_checkpoint(tmp_path / "c.pt", model=target, restore_rng=False)["step"] == 3
    assert torch.equal(target[0].weight, model[0].weight)


def test_damaged_rng_entry_is_refused_before_anything_changes(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)

    def damage(d):
        d["rng"]["torch"] = d["rng"]["torch"][:10]
        _reseal(d)

    _rewrite(tmp_path / "c.pt", damage)
    target, target_opt, _ = _trained()
    with torch.no_grad():
        target[0].weight.add_(1.0)
    _refused(tmp_path / "c.pt", r"RNG state .*torch.* cannot be restored", target, target_opt)


# --- integrity --------------------------------------------------------------------------


def _tensor_offset(path, tensor):
    """Where the bytes of ``tensor`` sit in the file (torch stores them uncompressed)."""
    raw = path.read_bytes()
    needle = tensor.detach().contiguous().numpy().tobytes()
    offset = raw.find(needle)
    assert offset > 0 and raw.find(needle, offset + 1) == -1, "the tensor's bytes must be found exactly once"
    return offset


@pytest.mark.parametrize("which", ["weight", "adam_state"])
def test_bit_flip_in_tensor_data_is_detected(tmp_path, which):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    tensor = model[2].weight if which == "weight" else opt.state[model[2].weight]["exp_avg_sq"]
    offset = _tensor_offset(tmp_path / "c.pt", tensor)
    raw = bytearray((tmp_path / "c.pt").read_bytes())
    raw[offset + 5] ^= 0x10  # one bit of one float
    (tmp_path / "c.pt").write_bytes(bytes(raw))
    if which == "weight":  # what a plain torch.load gives: other weights, no error
        assert not torch.equal(torch.load(tmp_path / "c.pt", weights_only=True)["model"]["2.weight"], model[2].weight)
    target, target_opt, _ = _trained()
    message = _refused(tmp_path / "c.pt", r"is corrupt", target, target_opt)
    assert "earlier checkpoint" in message


def test_changed_number_in_the_pickled_data_is_detected(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, step=7)
    _rewrite(tmp_path / "c.pt", lambda d: d.update(step=8))  # digest kept: it no longer matches
    _refused(tmp_path / "c.pt", r"is corrupt", *_trained()[:2])


def test_random_bytes_are_not_a_checkpoint(tmp_path):
    model, opt, _ = _trained()
    for seed in range(40):
        rng = random.Random(seed)
        (tmp_path / "r.pt").write_bytes(bytes(rng.getrandbits(8) for _ in range(rng.choice([1, 7, 64, 1000, 5000]))))
        message = _refused(tmp_path / "r.pt", r"not a checkpoint written by save_checkpoint", model, opt)
        assert "run code" not in message, f"seed {seed}: {message}"


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # torch's remark on the random bytes
def test_zip_with_damaged_pickle_is_not_called_code(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    with zipfile.ZipFile(tmp_path / "c.pt") as z:
        names = z.namelist()
        members = {n: z.read(n) for n in names}
    pkl = next(n for n in names if n.endswith("data.pkl"))
    rng = random.Random(1)
    members[pkl] = bytes([members[pkl][0]]) + bytes(rng.getrandbits(8) for _ in range(len(members[pkl]) - 1))
    with zipfile.ZipFile(tmp_path / "c.pt", "w", zipfile.ZIP_STORED) as z:
        for n in names:
            z.writestr(n, members[n])
    message = _refused(tmp_path / "c.pt", r"corrupt", model, opt)
    assert "run code" not in message


@pytest.mark.parametrize("version, match", [
    ("1", r"format version '1' \(a str, expected an int from 1 to \d\): it was not written by save_checkpoint, or it is corrupt"),
    (0, r"format version 0.*reads versions 1 to \d"),
    (-3, r"format version -3.*reads versions 1 to \d"),
    (True, r"format version True \(a bool, expected an int"),
    (1.0, r"format version 1.0 \(a float, expected an int"),
    (99, r"format version 99, newer than this helpers reads \(up to \d\): update the helpers package"),
])
def test_format_version_must_be_an_int_in_range(tmp_path, version, match):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    _rewrite(tmp_path / "c.pt", lambda d: d.update(version=version))
    _refused(tmp_path / "c.pt", match, model, opt)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def _file_cases():
    """name -> (how to damage a good checkpoint at ``path``, the message expected)."""
    def write(obj):
        return lambda path: torch.save(obj, path)

    def edit(change, reseal=True):
        return lambda path: _rewrite(path, lambda d: (change(d), _reseal(d) if reseal else None))

    return {
        "missing": (lambda path: path.unlink(), r"no checkpoint at"),
        "folder": (lambda path: (path.unlink(), path.mkdir()), r"is a folder, not a checkpoint file"),
        "truncated": (lambda path: path.write_bytes(path.read_bytes()[:300]), r"truncated or corrupt"),
        "bare state_dict": (write(_model().state_dict()), r"bare state_dict"),
        "a list": (write([1, 2]), r"not a checkpoint written by save_checkpoint \(found list\)"),
        "code": (write({"format": "helpers.checkpoint", "model": _Payload()}), r"asks to import or run code.*It names print\."),
        "format tag": (edit(lambda d: d.update(format="helpers.checkpoinu"), reseal=False), r"is corrupt: its format tag"),
        "no digest": (lambda path: _rewrite(path, lambda d: d.pop("digest")), r"has no checksum"),
        "optimizer malformed": (edit(lambda d: d["optimizer"].pop("param_groups")), r"optimizer state is malformed"),
        "shapes malformed": (edit(lambda d: d["param_shapes"].update(optimizer=[[1, 2]])), r"parameter shapes are malformed"),
        "scheduler of other groups": (edit(lambda d: d["scheduler"]["base_lrs"].append(0.1)), r"scheduler state is for 2 parameter group"),
        "scaler malformed": (edit(lambda d: d["scaler"].pop("scale")), r"GradScaler state lacks"),
    }


@pytest.mark.parametrize("case", sorted(_file_cases()))
def test_every_refusal_while_reading_changes_nothing(tmp_path, case):
    damage, match = _file_cases()[case]
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 1, gamma=0.5))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched, scaler=torch.amp.GradScaler("cpu", init_scale=4.0))
    damage(tmp_path / "c.pt")
    target, target_opt, target_sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 3))
    with torch.no_grad():
        target[0].weight.add_(1.0)
    _refused(tmp_path / "c.pt", match, target, target_opt, target_sched, torch.amp.GradScaler("cpu", init_scale=64.0))


# --- fit: model, groups, shapes, names --------------------------------------------------


def test_model_that_does_not_fit_changes_nothing(tmp_path):
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched)
    wider = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    wider_opt = torch.optim.Adam(wider.parameters())
    _refused(tmp_path / "c.pt", r"shape mismatch", wider, wider_opt, lr_scheduler.StepLR(wider_opt, 2))


def test_group_count_and_size_change_nothing(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    target = _model()
    two = torch.optim.Adam([{"params": target[0].parameters()}, {"params": target[2].parameters()}])
    _refused(tmp_path / "c.pt", r"1 parameter group\(s\); this optimizer has 2", target, two)
    params = list(target.parameters())
    fewer = torch.optim.Adam(params[:3])
    _refused(tmp_path / "c.pt", r"parameter group 0 holds 4 tensor\(s\) in the file but 3", target, fewer)


def test_parameters_in_another_order_are_refused(tmp_path):
    """Same count, other order: torch would pair Adam moments with tensors of another shape."""
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    target = _model()
    w0, b0, w2, b2 = target.parameters()
    swapped = torch.optim.Adam([w2, b2, w0, b0])
    _refused(tmp_path / "c.pt", r"group 0, tensor 0 has shape \(4, 3\) in the file but \(2, 4\) here", target, swapped)


def test_state_for_a_parameter_the_groups_do_not_hold_is_refused(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt)
    _rewrite(tmp_path / "c.pt", lambda d: (d["optimizer"]["state"].update({17: d["optimizer"]["state"][0]}), _reseal(d)))
    _refused(tmp_path / "c.pt", r"state for parameter index 17.*no group holds", *_trained()[:2])


def test_optimizer_or_scheduler_or_scaler_asked_for_but_absent(tmp_path):
    model = _model()
    save_checkpoint(tmp_path / "c.pt", model=model)
    opt = torch.optim.Adam(model.parameters())
    _refused(tmp_path / "c.pt", "holds no optimizer state", model, opt)
    _refused(tmp_path / "c.pt", "holds no scheduler state", model, scheduler=lr_scheduler.StepLR(opt, 2))
    _refused(tmp_path / "c.pt", "holds no GradScaler state", model, scaler=torch.amp.GradScaler("cpu"))


def test_names_of_several_optimizers_must_match(tmp_path):
    model = _model()
    first = torch.optim.Adam(model[0].parameters())
    second = torch.optim.SGD(model[2].parameters(), lr=0.1)
    _train(model, [first, second])
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer={"body": first, "head": second})
    target = _model()
    a, b = torch.optim.Adam(target[0].parameters()), torch.optim.SGD(target[2].parameters(), lr=0.1)
    _refused(tmp_path / "c.pt", r"holds optimizers named \['body', 'head'\]; optimizer= gives \['body', 'tail'\]", target, {"body": a, "tail": b})
    _refused(tmp_path / "c.pt", r"holds optimizers named \['body', 'head'\].*one optimizer", target, a)
    _refused(tmp_path / "c.pt", r"optimizer\['head'\]: the file holds the state of an SGD optimizer.*is an Adam",
             target, {"body": a, "head": torch.optim.Adam(target[2].parameters())})
    save_checkpoint(tmp_path / "one.pt", model=model, optimizer=first)
    _refused(tmp_path / "one.pt", r"holds one optimizer \(Adam\), not a dict", target, {"body": a})


def test_names_of_several_schedulers_must_match(tmp_path):
    model = _model()
    first = torch.optim.Adam(model[0].parameters())
    second = torch.optim.SGD(model[2].parameters(), lr=0.1)
    s1, s2 = lr_scheduler.StepLR(first, 2), lr_scheduler.ExponentialLR(second, 0.9)
    _train(model, [first, second], [s1, s2])
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer={"a": first, "b": second}, scheduler={"a": s1, "b": s2})
    target = _model()
    a, b = torch.optim.Adam(target[0].parameters()), torch.optim.SGD(target[2].parameters(), lr=0.1)
    opts = {"a": a, "b": b}
    _refused(tmp_path / "c.pt", r"holds schedulers named \['a', 'b'\]; scheduler= gives \['a'\]", target, opts, {"a": lr_scheduler.StepLR(a, 2)})
    _refused(tmp_path / "c.pt", r"scheduler\['b'\]: the file holds the state of an ExponentialLR scheduler",
             target, opts, {"a": lr_scheduler.StepLR(a, 2), "b": lr_scheduler.StepLR(b, 2)})


def test_scaler_enabled_in_the_file_but_disabled_here_and_back(tmp_path):
    model, opt, _ = _trained()
    save_checkpoint(tmp_path / "on.pt", model=model, optimizer=opt, scaler=torch.amp.GradScaler("cpu"))
    save_checkpoint(tmp_path / "off.pt", model=model, optimizer=opt, scaler=torch.amp.GradScaler("cpu", enabled=False))
    _refused(tmp_path / "on.pt", r"enabled GradScaler.*this one is disabled", model, opt, scaler=torch.amp.GradScaler("cpu", enabled=False))
    scaler = torch.amp.GradScaler("cpu", init_scale=8.0)
    _refused(tmp_path / "off.pt", r"disabled GradScaler.*this one is enabled", model, opt, scaler=scaler)


def test_failure_while_restoring_rolls_everything_back(tmp_path, monkeypatch):
    """If restoring fails after all checks passed (here: the model raises), nothing stays changed."""
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 1, gamma=0.5))
    scaler = torch.amp.GradScaler("cpu", init_scale=4.0)
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched, scaler=scaler)
    target, target_opt, target_sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 3))
    target_scaler = torch.amp.GradScaler("cpu", init_scale=1024.0)
    target_scaler.scale(torch.ones(())).item()  # creates the scale tensor, which loading fills in place

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure inside load_state_dict")

    monkeypatch.setattr(target, "load_state_dict", broken)
    _refused(tmp_path / "c.pt", r"could not restore .*simulated failure.*nothing was changed", target, target_opt, target_sched, target_scaler)
    assert target_scaler.get_scale() == 1024.0


# --- files written by format version 1 (before classes and digests were recorded) -------


def _as_version_1(data):
    for key in ("digest", "classes", "param_shapes", "scaler"):
        data.pop(key, None)
    data["version"] = 1


def test_version_1_file_still_loads(tmp_path):
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched, step=4)
    _rewrite(tmp_path / "c.pt", _as_version_1)
    target, target_opt, target_sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    assert load_checkpoint(tmp_path / "c.pt", model=target, optimizer=target_opt, scheduler=target_sched)["step"] == 4
    assert torch.equal(target[0].weight, model[0].weight)
    assert target_sched.state_dict() == sched.state_dict()
    assert FORMAT_VERSION == 2


def test_version_1_file_of_another_optimizer_or_scheduler_is_refused(tmp_path):
    model, opt, sched = _trained(torch.optim.Adam, lambda o: lr_scheduler.StepLR(o, 2))
    save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched)
    _rewrite(tmp_path / "c.pt", _as_version_1)
    target = _model()
    sgd = torch.optim.SGD(target.parameters(), lr=0.1, momentum=0.9)
    _refused(tmp_path / "c.pt", r"hyperparameters .*'betas'.*another optimizer class", target, sgd)
    adam = torch.optim.Adam(target.parameters())
    _refused(tmp_path / "c.pt", r"scheduler state .*'gamma'.*'step_size'.*another scheduler class", target, adam, lr_scheduler.CosineAnnealingLR(adam, 10))
