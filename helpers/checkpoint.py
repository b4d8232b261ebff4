"""Checkpoints that resume training exactly, survive a crash mid-save, and refuse pickled code.

``save_checkpoint`` writes model, optimizer and scheduler state, the step, RNG states and a
format version to a temporary file in the same folder, fsyncs it, then renames it over the
old file: a crash at any moment leaves the old or the new complete file, never a mix.
``load_checkpoint`` reads it with ``torch.load(weights_only=True)``, checks that it fits the
objects given *before* changing any of them, then restores model, optimizer, scheduler and
RNG in that order.
"""

from __future__ import annotations

import os
import pickle
import random
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import require_model, require_optimizer

FORMAT = "helpers.checkpoint"
FORMAT_VERSION = 1
_PLAIN = (str, int, float, bool, type(None), torch.Tensor, torch.dtype, torch.device)


class CheckpointError(Exception):
    """A checkpoint could not be saved or loaded; the message says why and what to do."""


# --- RNG --------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        # NumPy's state holds an ndarray, which weights_only loading refuses: store a tensor.
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached_gaussian": cached},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: Mapping[str, Any]) -> None:
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"]))
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        states = [s.cpu() for s in state["cuda"]][: torch.cuda.device_count()]
        for index, s in enumerate(states):
            torch.cuda.set_rng_state(s, index)


# --- save -------------------------------------------------------------------------------


def _check_plain(value: Any, where: str) -> None:
    """``extra`` must load under weights_only=True: plain containers, numbers, strings, tensors."""
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: keys must be str or int, got {type(k).__name__}")
            _check_plain(v, f"{where}[{k!r}]")
        return
    raise TypeError(
        f"{where} is a {type(value).__name__}, which a safe (weights_only) load refuses; "
        f"store plain data instead: numbers, strings, lists, dicts, tensors"
    )


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    step: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write one checkpoint file atomically; returns its path.

    Holds the model's, optimizer's and scheduler's ``state_dict()``, ``step``, ``extra``
    (plain data only), the RNG states of Python, NumPy, torch and CUDA, and a format version.
    Example: ``save_checkpoint("ckpt.pt", model=model, optimizer=opt, scheduler=sched, step=100)``.
    """
    require_model(model)
    if optimizer is not None:
        require_optimizer(optimizer)
    if scheduler is not None and not hasattr(scheduler, "state_dict"):
        raise TypeError(f"scheduler must be a learning-rate scheduler, got {type(scheduler).__name__}")
    if step is not None and (isinstance(step, bool) or not isinstance(step, int)):
        raise TypeError(f"step must be an int or None, got {type(step).__name__}")
    if extra is not None:
        if not isinstance(extra, Mapping):
            raise TypeError(f"extra must be a dict, got {type(extra).__name__}")
        _check_plain(dict(extra), "extra")
    payload = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "step": step,
        "extra": dict(extra) if extra is not None else None,
        "rng": _rng_state(),
    }
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CheckpointError(f"cannot save to {target}: the folder {folder} does not exist; create it first")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # Make the rename itself durable (POSIX: fsync the directory entry).
    if hasattr(os, "O_DIRECTORY"):
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return target


# --- load -------------------------------------------------------------------------------


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: check the path (or start training from scratch)")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load fails in many ways on a damaged file; all mean "unreadable"
        text = str(exc)
        first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        if isinstance(exc, pickle.UnpicklingError) and ("Weights only load failed" in text or "GLOBAL" in text):
            raise CheckpointError(
                f"refused to load {path}: it asks to import or run code when unpickled, which a safe "
                f"(weights_only=True) load does not allow. Load it with torch.load(..., weights_only=False) "
                f"only if you trust where the file came from. Detail: {first}"
            ) from None
        if "CUDA" in first:
            raise CheckpointError(
                f"{path} holds CUDA tensors and this machine has no CUDA: pass map_location='cpu'"
            ) from None
        raise CheckpointError(
            f"could not read {path}: the file is truncated or corrupt ({type(exc).__name__}: {first}); "
            f"use an earlier checkpoint"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        hint = ""
        if isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
            hint = "; it looks like a bare state_dict: load it with model.load_state_dict(torch.load(path))"
        keys = sorted(map(str, data))[:6] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a checkpoint written by save_checkpoint (found {keys}){hint}")
    version = data.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}, newer than this helpers reads "
            f"(up to {FORMAT_VERSION}): update the helpers package"
        )
    return data


def _check_model(model: torch.nn.Module, saved: Mapping[str, torch.Tensor], path: Path) -> None:
    own = model.state_dict()
    missing = [k for k in own if k not in saved]
    unexpected = [k for k in saved if k not in own]
    problems = []
    if missing:
        problems.append(f"missing from the file: {missing}")
    if unexpected:
        problems.append(f"in the file but not in the model: {unexpected}")
    shapes = [
        f"{k}: file {tuple(saved[k].shape)} vs model {tuple(v.shape)}"
        for k, v in own.items()
        if k in saved and isinstance(v, torch.Tensor) and tuple(saved[k].shape) != tuple(v.shape)
    ]
    if shapes:
        problems.append(f"shape mismatch: {shapes}")
    if problems:
        raise CheckpointError(
            f"{path} does not fit this {type(model).__name__}: " + "; ".join(problems)
            + ". Build the same model as when saving (or load the model's state_dict by hand with strict=False)"
        )


def _check_optimizer(optimizer: torch.optim.Optimizer, saved: Mapping[str, Any], path: Path) -> None:
    groups, saved_groups = optimizer.param_groups, saved["param_groups"]
    if len(groups) != len(saved_groups):
        raise CheckpointError(
            f"{path} has an optimizer with {len(saved_groups)} parameter group(s); this optimizer has "
            f"{len(groups)}. Build the optimizer with the same groups as when saving "
            f"(add_param_group calls included) before loading"
        )
    for g, (mine, theirs) in enumerate(zip(groups, saved_groups)):
        if len(mine["params"]) != len(theirs["params"]):
            raise CheckpointError(
                f"{path}: parameter group {g} holds {len(theirs['params'])} tensor(s) in the file but "
                f"{len(mine['params'])} in this optimizer; build the groups from the same parameters, in the same order"
            )


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any = None,
    map_location: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore a checkpoint written by ``save_checkpoint``; returns ``{"step": ..., "extra": ...}``.

    Loads with ``weights_only=True`` (a file that would run code is refused). Tensors go to
    ``map_location``, by default the model's device, so a GPU checkpoint loads on a CPU
    machine. Everything is checked against the given objects before any of them changes;
    then model, optimizer (its state is cast to each parameter's device and dtype),
    scheduler and, unless ``restore_rng=False``, the RNG states are restored.
    Example: ``step = load_checkpoint("ckpt.pt", model=model, optimizer=opt)["step"]``.
    """
    require_model(model)
    if optimizer is not None:
        require_optimizer(optimizer)
    path = Path(path)
    if map_location is None:
        map_location = next(model.parameters()).device
    data = _read(path, map_location)
    _check_model(model, data["model"], path)
    if optimizer is not None:
        if data.get("optimizer") is None:
            raise CheckpointError(f"{path} holds no optimizer state: load without optimizer=, or save one with it")
        _check_optimizer(optimizer, data["optimizer"], path)
    if scheduler is not None and data.get("scheduler") is None:
        raise CheckpointError(f"{path} holds no scheduler state: load without scheduler=, or save one with it")

    model.load_state_dict(data["model"])
    if optimizer is not None:
        optimizer.load_state_dict(data["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(data["scheduler"])
    if restore_rng:
        _set_rng_state(data["rng"])
    return {"step": data.get("step"), "extra": data.get("extra")}
