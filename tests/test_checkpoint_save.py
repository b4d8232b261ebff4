"""helpers.checkpoint, saving: refuse early what could never load, never lose the old file, clear errors."""

from __future__ import annotations

import collections
import enum
import errno
import io
import multiprocessing
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import torch
from torch import nn

from helpers.checkpoint import CheckpointError, load_checkpoint, save_checkpoint

REPO = Path(__file__).resolve().parents[1]


class Colour(enum.IntEnum):
    RED = 1


Point = collections.namedtuple("Point", "x y")


class Name(str):
    pass


class Ratio(float):
    pass


# Values a weights_only load refuses, with the type name the error must give.
UNLOADABLE = {
    "numpy.float64": np.float64(0.5),
    "numpy.int64": np.int64(3),
    "numpy.bool": np.bool_(True),
    "numpy.ndarray": np.zeros(2),
    "Colour": Colour.RED,
    "Point": Point(1, 2),
    "collections.defaultdict": collections.defaultdict(list),
    "Name": Name("run"),
    "Ratio": Ratio(0.5),
    "set": {1, 2},
}


def _old_file(tmp_path):
    """A folder holding one good checkpoint (step 1) to be kept through every failed save."""
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path / "c.pt", model=model, step=1)
    return model


def _old_file_intact(tmp_path, model):
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"], "a temporary file was left behind"
    assert load_checkpoint(tmp_path / "c.pt", model=model, restore_rng=False)["step"] == 1


# --- data that could never be loaded ----------------------------------------------------


@pytest.mark.parametrize("name", sorted(UNLOADABLE))
def test_weights_only_load_really_refuses_these(name):
    """The ground truth behind the refusals below: torch.load(weights_only=True) fails on each
    (a set loads, but its order changes between processes; it is refused for the digest)."""
    buffer = io.BytesIO()
    torch.save({"v": UNLOADABLE[name]}, buffer)
    buffer.seek(0)
    if name == "set":
        return
    with pytest.raises(Exception, match="Weights only load failed"):
        torch.load(buffer, weights_only=True)


@pytest.mark.parametrize("name", sorted(UNLOADABLE))
def test_unloadable_extra_is_refused_before_writing(tmp_path, name):
    model = _old_file(tmp_path)
    extra = {"stats": [1.0, 2.0, UNLOADABLE[name]]}
    match = r"is a set: its order changes .*sorted\(\)" if name == "set" else rf"is an? ([\w.]+\.)?{name}\b.*weights_only=True.*could never be loaded"
    with pytest.raises(CheckpointError, match=rf"extra\['stats'\]\[2\] {match}") as info:
        save_checkpoint(tmp_path / "c.pt", model=model, step=2, extra=extra)
    assert isinstance(info.value, TypeError)  # still a TypeError for code that caught that before
    _old_file_intact(tmp_path, model)


class Warmup:
    """A schedule object: LambdaLR saves its attributes, so a NumPy number in them reaches the file."""

    def __init__(self, steps):
        self.steps = np.float64(steps)

    def __call__(self, epoch):
        return float(min(1.0, (epoch + 1) / self.steps))


def test_unloadable_value_inside_scheduler_or_optimizer_state_is_refused(tmp_path):
    model = _old_file(tmp_path)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, Warmup(5))
    with pytest.raises(CheckpointError, match=r"scheduler\['lr_lambdas'\]\[0\]\['steps'\] is a numpy.float64.*float\(\)"):
        save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, scheduler=sched, step=2)
    opt.param_groups[0]["lr"] = np.float64(0.05)  # e.g. a learning rate computed with NumPy
    with pytest.raises(CheckpointError, match=r"optimizer\['param_groups'\]\[0\]\['lr'\] is a numpy.float64.*float\(\)"):
        save_checkpoint(tmp_path / "c.pt", model=model, optimizer=opt, step=2)
    _old_file_intact(tmp_path, model)


def test_plain_data_of_every_allowed_kind_round_trips(tmp_path):
    model = nn.Linear(2, 2)
    extra = {
        "int": 1, "float": 0.5, "nan": float("nan"), "bool": True, "none": None, "str": "s", "bytes": b"\x00\x01",
        "complex": 1 + 2j, "list": [1, [2, 3]], "tuple": (1, "a"), 7: "int key", "tensor": torch.arange(3),
        "bf16": torch.ones(2, dtype=torch.bfloat16), "dtype": torch.float16, "device": torch.device("cpu"),
        "size": torch.Size([2, 3]), "ordered": collections.OrderedDict(a=1), "empty": torch.empty(0, 3),
    }
    save_checkpoint(tmp_path / "c.pt", model=model, extra=extra)
    loaded = load_checkpoint(tmp_path / "c.pt", model=model)["extra"]
    assert loaded["tuple"] == (1, "a") and loaded[7] == "int key" and loaded["complex"] == 1 + 2j
    assert torch.equal(loaded["bf16"], extra["bf16"]) and loaded["size"] == torch.Size([2, 3])


_LEAVES = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True), st.text(max_size=5), st.booleans(), st.none(),
    st.binary(max_size=4), st.builds(torch.tensor, st.lists(st.floats(-1e3, 1e3), max_size=3)),
    st.sampled_from([np.float64(0.5), np.int64(2), np.bool_(False), Colour.RED, Point(1, 2), Name("a"), Ratio(1.0)]),
)
_TREES = st.recursive(
    _LEAVES,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.tuples(inner, inner), st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=2).map(lambda d: collections.defaultdict(list, d)),
        st.dictionaries(st.integers(0, 9), inner, max_size=2).map(collections.OrderedDict),
    ),
    max_leaves=6,
)


def _same_tree(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and list(a) == list(b) and all(_same_tree(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same_tree(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and (a == b or (a != a and b != b))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_TREES)
def test_refused_exactly_when_a_safe_load_would_fail(tmp_path, tree):
    """Accepted: it comes back equal. Refused: torch.load(weights_only=True) really fails on it."""
    model = nn.Linear(1, 1)
    try:
        save_checkpoint(tmp_path / "h.pt", model=model, extra={"tree": tree})
    except CheckpointError:
        buffer = io.BytesIO()
        torch.save({"tree": tree}, buffer)
        buffer.seek(0)
        with pytest.raises(Exception, match="Weights only load failed"):
            torch.load(buffer, weights_only=True)
    else:
        assert _same_tree(load_checkpoint(tmp_path / "h.pt", model=model, restore_rng=False)["extra"]["tree"], tree)


# --- bad paths --------------------------------------------------------------------------


def test_path_that_is_a_folder_empty_dot_or_root(tmp_path, monkeypatch):
    model = _old_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"cannot save to .*: it is a folder.*e\.g\. .*ckpt\.pt"):
        save_checkpoint(tmp_path, model=model)
    for path in (".", "/"):
        with pytest.raises(CheckpointError, match=rf"cannot save to '{path}': it is a folder"):
            save_checkpoint(path, model=model)
    with pytest.raises(CheckpointError, match=r"cannot save to '': the path is empty"):
        save_checkpoint("", model=model)
    _old_file_intact(tmp_path, model)


def test_path_of_the_wrong_type(tmp_path):
    model = _old_file(tmp_path)
    for path in (None, 3, ["c.pt"]):
        with pytest.raises(CheckpointError, match=rf"path must be a file path \(str or pathlib.Path\), got {type(path).__name__}"):
            save_checkpoint(path, model=model)
        with pytest.raises(CheckpointError, match=rf"path must be a file path \(str or pathlib.Path\), got {type(path).__name__}"):
            load_checkpoint(path, model=model)
    _old_file_intact(tmp_path, model)


def test_parent_that_is_a_file_or_missing(tmp_path):
    model = _old_file(tmp_path)
    with pytest.raises(CheckpointError, match=r"c\.pt/x\.pt': .*c\.pt is a file, not a folder"):
        save_checkpoint(tmp_path / "c.pt" / "x.pt", model=model)
    with pytest.raises(CheckpointError, match=r"the folder .*no does not exist; create it first"):
        save_checkpoint(tmp_path / "no" / "x.pt", model=model)
    _old_file_intact(tmp_path, model)


def _failing_open(code):
    real_open = os.open

    def fake(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            raise OSError(code, os.strerror(code), str(path))
        return real_open(path, flags, *args, **kwargs)

    return fake


@pytest.mark.parametrize("code, match", [
    (errno.EROFS, r"the file system is read-only"),
    (errno.EACCES, r"permission denied: choose a folder you can write to"),
])
def test_folder_that_cannot_be_written(tmp_path, monkeypatch, code, match):
    model = _old_file(tmp_path)
    monkeypatch.setattr(os, "open", _failing_open(code))
    with pytest.raises(CheckpointError, match=rf"cannot save to '.*c\.pt': {match}"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=2)
    monkeypatch.undo()
    _old_file_intact(tmp_path, model)


@pytest.mark.parametrize("error, match", [
    (OSError(errno.ENOSPC, "No space left on device"), r"the disk is full"),
    (RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 4224 vs 4118"), r"the disk may be full"),
    (OSError(errno.EIO, "Input/output error"), r"Input/output error"),
])
def test_write_that_fails_half_way(tmp_path, monkeypatch, error, match):
    model = _old_file(tmp_path)

    def broken(obj, f, *args, **kwargs):
        f.write(b"half a file")
        raise error

    monkeypatch.setattr(torch, "save", broken)
    with pytest.raises(CheckpointError, match=rf"could not write '.*c\.pt': {match}.*previous checkpoint .* is intact") as info:
        save_checkpoint(tmp_path / "c.pt", model=model, step=2)
    assert info.value.__cause__ is error
    monkeypatch.undo()
    _old_file_intact(tmp_path, model)


def test_too_little_free_space_is_refused_before_writing(tmp_path, monkeypatch):
    model = _old_file(tmp_path)
    big = nn.Linear(500, 500)  # 1 MB of weights
    tiny = os.statvfs_result((4096, 4096, 100, 16, 16, 100, 10, 10, 0, 255))  # 16 blocks of 4 KiB free
    monkeypatch.setattr(os, "statvfs", lambda path: tiny)
    with pytest.raises(CheckpointError, match=r"needs at least 1\.0 MB .* only 0\.1 MB .*free"):
        save_checkpoint(tmp_path / "c.pt", model=big, step=2)
    monkeypatch.undo()
    _old_file_intact(tmp_path, model)


_NAMESPACE_SCRIPT = textwrap.dedent("""
    import subprocess, sys
    from pathlib import Path
    import torch
    from torch import nn
    import helpers.checkpoint as ck

    folder = Path(sys.argv[1])
    small = nn.Linear(10, 10)
    ck.save_checkpoint(folder / "c.pt", model=small, step=1)
    big = nn.Linear(1000, 1000)  # 4 MB, on a 2 MB file system

    def refused(match, **kwargs):
        try:
            ck.save_checkpoint(folder / "c.pt", model=big, step=2, **kwargs)
        except ck.CheckpointError as error:
            assert match in str(error), error
        else:
            raise AssertionError("saved onto a full disk")
        assert sorted(p.name for p in folder.iterdir()) == ["c.pt"], list(folder.iterdir())
        assert ck.load_checkpoint(folder / "c.pt", model=small, restore_rng=False)["step"] == 1

    refused("needs at least")          # the free-space check, before writing
    ck._free_bytes = lambda folder: None  # no check: the write itself runs out of space
    refused("full")
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    refused("read-only")
    print("all refused")
""")


def test_real_full_and_read_only_file_system(tmp_path):
    """A 2 MB tmpfs in a private mount namespace (nothing outside the test changes)."""
    if shutil.which("unshare") is None:
        pytest.skip("needs the unshare command (util-linux) to mount a private tmpfs")
    folder = tmp_path / "mnt"
    folder.mkdir()
    (tmp_path / "child.py").write_text(_NAMESPACE_SCRIPT)
    shell = f"mount -t tmpfs -o size=2m tmpfs '{folder}' || exit 97; exec '{sys.executable}' '{tmp_path / 'child.py'}' '{folder}'"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(["unshare", "-rm", "sh", "-c", shell], capture_output=True, text=True, env=env, timeout=120)
    if run.returncode == 97 or (run.returncode != 0 and run.stderr.startswith("unshare:")):
        pytest.skip(f"this machine does not allow mounting a private tmpfs: {run.stderr.strip()[:200]}")
    assert run.returncode == 0 and "all refused" in run.stdout, run.stdout + run.stderr
    assert not list(folder.iterdir())  # the tmpfs was private to the child


# --- file mode --------------------------------------------------------------------------


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_new_file_follows_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        save_checkpoint(tmp_path / "c.pt", model=nn.Linear(2, 2))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "c.pt").stat().st_mode) == 0o666 & ~umask


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o600])
def test_replaced_file_keeps_its_mode(tmp_path, mode):
    """As ``open(path, "wb")`` or ``torch.save(path)`` over an existing file would."""
    save_checkpoint(tmp_path / "c.pt", model=nn.Linear(2, 2))
    os.chmod(tmp_path / "c.pt", mode)
    old = os.umask(0o077)
    try:
        save_checkpoint(tmp_path / "c.pt", model=nn.Linear(2, 2))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "c.pt").stat().st_mode) == mode


def test_read_only_file_is_not_replaced(tmp_path, monkeypatch):
    """A file made read-only (to protect it) is refused, as open(path, "wb") would refuse it."""
    model = _old_file(tmp_path)
    os.chmod(tmp_path / "c.pt", 0o444)
    real = os.access
    # root may write any file, so simulate what every other user gets from access():
    monkeypatch.setattr(os, "access", lambda p, mode: False if mode == os.W_OK and Path(p).name == "c.pt" else real(p, mode))
    with pytest.raises(CheckpointError, match=r"the file is read-only \(mode 0o444\); make it writable"):
        save_checkpoint(tmp_path / "c.pt", model=model, step=2)
    monkeypatch.undo()
    os.chmod(tmp_path / "c.pt", 0o644)
    _old_file_intact(tmp_path, model)


# --- leftovers of killed writers --------------------------------------------------------


def _stall_mid_save(path: str, ready) -> None:
    """The child: write a whole temporary file, then hang before renaming it (until killed)."""
    torch.set_num_threads(1)
    real = torch.save

    def stalled(obj, f, *args, **kwargs):
        real(obj, f, *args, **kwargs)
        f.flush()
        ready.set()
        time.sleep(120)

    torch.save = stalled
    save_checkpoint(path, model=nn.Linear(100, 100), step=99)


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    fork = multiprocessing.get_context("fork")
    model = _old_file(tmp_path)
    ready = fork.Event()
    child = fork.Process(target=_stall_mid_save, args=(str(tmp_path / "c.pt"), ready), daemon=True)
    child.start()
    try:
        assert ready.wait(30), "the stalled child did not start"
        (live,) = tmp_path.glob(".c.pt.*.tmp")
        assert f".{child.pid}." in live.name and socket.gethostname() in live.name
        save_checkpoint(tmp_path / "c.pt", model=model, step=1)
        assert live.exists(), "removed the temporary file of a writer that is still running"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join()
    elsewhere = tmp_path / live.name.replace(socket.gethostname(), "another-host")
    shutil.copy(live, elsewhere)
    unrelated = tmp_path / ".c.pt.notes.tmp"
    unrelated.write_text("not ours")
    save_checkpoint(tmp_path / "c.pt", model=model, step=1)
    assert not live.exists(), "the dead writer's temporary file is still there"
    assert elsewhere.exists() and unrelated.exists(), "removed a file that another machine may be writing"
    elsewhere.unlink()
    unrelated.unlink()
    _old_file_intact(tmp_path, model)


def _save_many(path: str, value: float, rounds: int, errors) -> None:
    """The child: save ``rounds`` times, every weight equal to ``value`` and step = round."""
    torch.set_num_threads(1)
    model = nn.Linear(200, 200)
    with torch.no_grad():
        model.weight.fill_(value)
        model.bias.fill_(value)
    try:
        for step in range(rounds):
            save_checkpoint(path, model=model, step=step, extra={"value": value})
    except Exception as error:  # reported to the parent, which fails the test
        errors.put(f"{type(error).__name__}: {error}")


def test_concurrent_savers_and_a_loader(tmp_path):
    """Two processes save to one path while this one loads: every save succeeds (neither removes the
    other's temporary file) and every load sees one complete file."""
    fork = multiprocessing.get_context("fork")
    path = tmp_path / "c.pt"
    first = nn.Linear(200, 200)
    nn.init.zeros_(first.weight)
    nn.init.zeros_(first.bias)
    save_checkpoint(path, model=first, step=0, extra={"value": 0.0})
    errors = fork.Queue()
    savers = [fork.Process(target=_save_many, args=(str(path), value, 15, errors)) for value in (1.0, 2.0)]
    for saver in savers:
        saver.start()
    loads = 0
    while any(saver.is_alive() for saver in savers) or loads < 5:
        model = nn.Linear(200, 200)
        info = load_checkpoint(path, model=model, restore_rng=False)
        value = info["extra"]["value"]
        assert torch.all(model.weight == value) and torch.all(model.bias == value), "a mix of two saves"
        loads += 1
    for saver in savers:
        saver.join(60)
        assert saver.exitcode == 0
    assert errors.empty(), errors.get()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
