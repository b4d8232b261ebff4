"""Checkpoints that resume training exactly, survive a crash mid-save, and refuse pickled code.

``save_checkpoint`` writes the model's state, one or several optimizers and schedulers (a dict
name -> object), a ``torch.amp.GradScaler``, the step, RNG states, each object's class, a
checksum of the content and a format version. It first refuses anything a safe
(``weights_only=True``) load could not read back, then writes a temporary file in the same
folder, fsyncs it and renames it over the old file: a crash at any moment leaves the old or the
new complete file, never a mix.

``load_checkpoint`` reads the file with ``torch.load(weights_only=True)``, verifies the checksum,
then checks everything against the objects given (classes, names, parameter groups, shapes,
model keys, required entries, RNG states) *before* changing any of them. Restoring is
all-or-nothing: if something still fails while restoring, every object is put back as it was.
"""

from __future__ import annotations

import builtins
import collections
import enum
import errno
import hashlib
import os
import pickle
import random
import re
import secrets
import socket
import stat
import sys
import types
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ._checks import require_model, require_optimizer

FORMAT = "helpers.checkpoint"
FORMAT_VERSION = 2  # 2: classes, parameter shapes, scaler and a checksum; 1 (still read): none of them
_OLDEST_VERSION = 1
_DIGEST_METHOD = "crc32+sha256"
_SCALER_KEYS = ("scale", "growth_factor", "backoff_factor", "growth_interval", "_growth_tracker")


class CheckpointError(Exception):
    """A checkpoint could not be saved or loaded; the message says why and what to do."""


class CheckpointArgumentError(CheckpointError, TypeError, ValueError):
    """A wrong argument to save_checkpoint/load_checkpoint; also a TypeError/ValueError, as before."""


# --- small helpers ----------------------------------------------------------------------


def _type_name(value: Any) -> str:
    cls = value if isinstance(value, type) else type(value)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def _class_of(obj: Any) -> str:
    """``module.Class``; a scheduler that chains others adds theirs: ``SequentialLR(LinearLR, ...)``."""
    name = _type_name(obj)
    inner = getattr(obj, "_schedulers", None)
    if isinstance(inner, (list, tuple)) and inner:
        name += "(" + ", ".join(_class_of(s) for s in inner) + ")"
    return name


def _short(description: str) -> str:
    """Drop module paths: a class moved between modules (or torch versions) is still the same class."""
    return re.sub(r"(?:\w+\.)+(?=\w)", "", description)


def _an(name: str) -> str:
    if re.match(r"[A-Z]{2}", name):  # an acronym is read letter by letter: an SGD, an RMSprop, a LBFGS
        return "an" if name[0] in "AEFHILMNORSX" else "a"
    return "an" if name[0].upper() in "AEIOU" and not name.startswith("One") else "a"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _label(arg: str, name: str | None) -> str:
    return arg if name is None else f"{arg}[{name!r}]"


# --- arguments --------------------------------------------------------------------------

# One object -> {None: obj}; a dict -> {name: obj}. ``None`` as the only key marks "one object".
_Objects = dict[Any, Any]


def _argument_error(exc: Exception) -> CheckpointArgumentError:
    return CheckpointArgumentError(str(exc))


def _path_arg(path: Any) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise CheckpointArgumentError(
            f"path must be a file path (str or pathlib.Path), got {_type_name(path)}: "
            f"pass e.g. 'checkpoints/ckpt.pt'"
        )
    return path


def _model_arg(model: Any) -> torch.nn.Module:
    try:
        return require_model(model)
    except (TypeError, ValueError) as exc:
        raise _argument_error(exc) from None


def _objects_arg(value: Any, arg: str, check: Callable[[Any, str], None]) -> _Objects | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        check(value, arg)
        return {None: value}
    if not value:
        raise CheckpointArgumentError(f"{arg} is an empty dict: pass {arg}=None, one object, or a dict name -> object")
    for name, obj in value.items():
        if not isinstance(name, str) or not name:
            raise CheckpointArgumentError(f"{arg} names must be non-empty strings, got {name!r} ({_type_name(name)})")
        check(obj, _label(arg, name))
    return dict(value)


def _check_optimizer_arg(obj: Any, label: str) -> None:
    try:
        require_optimizer(obj, label)
    except (TypeError, ValueError) as exc:
        raise _argument_error(exc) from None


def _check_scheduler_arg(obj: Any, label: str) -> None:
    if isinstance(obj, (torch.optim.Optimizer, torch.nn.Module)) or not (
        hasattr(obj, "state_dict") and hasattr(obj, "load_state_dict")
    ):
        raise CheckpointArgumentError(f"{label} must be a learning-rate scheduler, got {_type_name(obj)}")


def _scaler_arg(scaler: Any) -> torch.amp.GradScaler | None:
    if scaler is not None and not isinstance(scaler, torch.amp.GradScaler):
        raise CheckpointArgumentError(f"scaler must be a torch.amp.GradScaler, got {_type_name(scaler)}")
    return scaler


def _step_arg(step: Any) -> int | None:
    if step is None or (type(step) is int):
        return step
    hint = "; pass int(step)" if isinstance(step, (np.integer, torch.Tensor)) else ""
    raise CheckpointArgumentError(f"step must be an int or None, got {_type_name(step)}{hint}")


def _pack(objects: _Objects | None, get: Callable[[Any], Any]) -> Any:
    """One object -> get(obj); a dict -> {name: get(obj)}; None -> None."""
    if objects is None:
        return None
    if None in objects:
        return get(objects[None])
    return {name: get(obj) for name, obj in objects.items()}


# --- RNG --------------------------------------------------------------------------------


def _rng_state() -> dict[str, Any]:
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {
        "python": random.getstate(),
        # NumPy's state holds an ndarray, which weights_only loading refuses: store a tensor.
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _rng_values(state: Mapping[str, Any]) -> tuple[Any, Any, torch.Tensor, list[torch.Tensor] | None]:
    version, internal, gauss = state["python"]
    n = state["numpy"]
    numpy_state = (n["kind"], n["keys"].cpu().numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached_gaussian"])
    cuda = state.get("cuda")
    tensors = isinstance(cuda, (list, tuple)) and all(isinstance(s, torch.Tensor) and s.dtype == torch.uint8 for s in cuda)
    if cuda is not None and not tensors:
        raise TypeError("the CUDA states must be a list of uint8 tensors")
    return (version, tuple(internal), gauss), numpy_state, state["torch"].cpu(), None if cuda is None else [s.cpu() for s in cuda]


def _check_rng(state: Any, path: Path) -> None:
    """Set each state on a throwaway generator: a damaged state fails here, before anything changes."""
    part = "the RNG states"
    try:
        if not isinstance(state, Mapping):
            raise TypeError(f"a {_type_name(state)} instead of a dict")
        part = "python"
        python, numpy_state, torch_state, _ = _rng_values(state)
        random.Random().setstate(python)
        part = "numpy"
        np.random.RandomState().set_state(numpy_state)
        part = "torch"
        torch.Generator().set_state(torch_state)
    except Exception as exc:  # any damage to the entry means the same thing
        raise CheckpointError(
            f"{path}: the RNG state of {part} cannot be restored ({type(exc).__name__}: {_first_line(exc)}); "
            f"the file is damaged. Load with restore_rng=False to skip the RNG states"
        ) from None


def _set_rng_state(state: Mapping[str, Any]) -> None:
    python, numpy_state, torch_state, cuda = _rng_values(state)
    random.setstate(python)
    np.random.set_state(numpy_state)
    torch.set_rng_state(torch_state)
    if cuda is not None and torch.cuda.is_available():
        for index, s in enumerate(cuda[: torch.cuda.device_count()]):
            torch.cuda.set_rng_state(s, index)


# --- what a safe load can read back -----------------------------------------------------

_SCALARS = (str, int, float, bool, type(None), complex, bytes, torch.dtype, torch.device, torch.Size)
_TENSORS = (torch.Tensor, torch.nn.Parameter)
_MAPPINGS = (dict, collections.OrderedDict)


def _conversion(value: Any) -> str:
    """How to turn a value a weights_only load refuses into plain data."""
    if isinstance(value, np.ndarray):
        return "torch.from_numpy() or .tolist()"
    if isinstance(value, np.bool_):
        return "bool()"
    if isinstance(value, np.integer):
        return "int()"
    if isinstance(value, np.floating):
        return "float()"
    if isinstance(value, np.generic):
        return ".item()"
    if isinstance(value, enum.Enum):
        return ".value"
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return "tuple() or ._asdict()"
    for plain in (dict, list, tuple, str, bool, int, float):
        if isinstance(value, plain):
            return f"{plain.__name__}()"
    return "plain data: numbers, strings, lists, dicts, tensors"


def _check_plain(value: Any, where: str) -> None:
    """Refuse, naming the key path, anything ``torch.load(weights_only=True)`` would refuse."""
    kind = type(value)
    if kind is bytes and not value:  # torch pickles b"" as a call to bytes(), which a safe load refuses
        raise CheckpointArgumentError(
            f"{where} is b'' (empty bytes), which a safe (weights_only=True) load refuses, so the file could never "
            f"be loaded; store None (or a non-empty value) instead"
        )
    if kind in _SCALARS or kind in _TENSORS:
        return
    if kind in (list, tuple):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
        return
    if kind in _MAPPINGS:
        for k, v in value.items():
            if type(k) not in (str, int):
                raise CheckpointArgumentError(
                    f"{where} has the key {k!r} of type {_type_name(k)}; keys must be str or int for a safe load: "
                    f"convert it with str() or int()"
                )
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(value, (set, frozenset)):
        raise CheckpointArgumentError(
            f"{where} is a {_type_name(value)}: its order changes from one process to the next, so the file's "
            f"checksum would not match; store sorted() or list() of it"
        )
    raise CheckpointArgumentError(
        f"{where} is {_an(_type_name(value))} {_type_name(value)}, which a safe (weights_only=True) "
        f"load refuses, so the file could never be loaded; convert it with {_conversion(value)} before saving"
    )


# --- checksum ---------------------------------------------------------------------------


_CHUNK = 1 << 23  # big tensors are checksummed in 8 MiB pieces, several at a time


def _tensor_bytes(tensor: torch.Tensor) -> memoryview | None:
    """The tensor's bytes in logical order (no copy for a contiguous CPU tensor); None if it has none."""
    t = tensor.detach()
    try:
        if t.layout != torch.strided:
            t = t.to_dense()
        if t.is_quantized:
            t = t.int_repr()
        t = t.cpu().resolve_conj().resolve_neg().contiguous().reshape(-1)
        return memoryview(t.view(torch.uint8).numpy())
    except (RuntimeError, TypeError, ValueError, NotImplementedError):
        return None  # e.g. a meta tensor: covered by its dtype and shape only


def _crcs(data: memoryview | None) -> list[int]:
    if data is None:
        return [-1]
    return [zlib.crc32(data[i:i + _CHUNK]) for i in range(0, max(len(data), 1), _CHUNK)]


def _checksums(tensors: list[torch.Tensor]) -> list[list[int]]:
    """CRC-32 of every 8 MiB piece of every tensor. zlib releases the GIL, so threads use every core."""
    results: list[list[int] | None] = [None] * len(tensors)
    pieces: list[tuple[int, memoryview]] = []
    for index, tensor in enumerate(tensors):
        if tensor.device.type != "cpu":  # one device tensor at a time, not all of them copied at once
            results[index] = _crcs(_tensor_bytes(tensor))
            continue
        data = _tensor_bytes(tensor)
        if data is None:
            results[index] = [-1]
        else:
            pieces += [(index, data[i:i + _CHUNK]) for i in range(0, max(len(data), 1), _CHUNK)]
    workers = min(8, os.cpu_count() or 1)
    if workers > 1 and len(pieces) > 2:
        with ThreadPoolExecutor(workers) as pool:
            crcs = list(pool.map(zlib.crc32, [piece for _, piece in pieces]))
    else:
        crcs = [zlib.crc32(piece) for _, piece in pieces]
    for (index, _), crc in zip(pieces, crcs):
        results[index] = (results[index] or []) + [crc]
    return [r or [-1] for r in results]


def _feed(h: Any, value: Any, tensors: list[torch.Tensor]) -> None:
    if isinstance(value, torch.Tensor):
        h.update(f"T{value.dtype}{tuple(value.shape)};".encode())
        tensors.append(value)
    elif isinstance(value, Mapping):
        h.update(f"D{len(value)}:".encode())
        for k, v in value.items():
            _feed(h, k, tensors)
            _feed(h, v, tensors)
    elif isinstance(value, (list, tuple)) and not isinstance(value, torch.Size):
        h.update(f"{'L' if isinstance(value, list) else 'U'}{len(value)}:".encode())
        for v in value:
            _feed(h, v, tensors)
    else:
        text = repr(value)
        h.update(f"S{len(text)}:{text}".encode("utf-8", "backslashreplace"))


def _digest(data: Mapping[str, Any]) -> str:
    """Checksum of everything but the digest itself: the exact text of every value and the dtype and
    shape of every tensor, in the file's order, then a CRC-32 of each tensor's bytes (cheap, catches
    any bit flip), all hashed with SHA-256."""
    h = hashlib.sha256()
    tensors: list[torch.Tensor] = []
    _feed(h, {k: v for k, v in data.items() if k != "digest"}, tensors)
    for crcs in _checksums(tensors):
        h.update(("C" + ",".join(map(str, crcs)) + ";").encode())
    return f"{_DIGEST_METHOD}:{h.hexdigest()}"


# --- save -------------------------------------------------------------------------------

_HOST = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"


def _os_cause(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "the disk is full (no space left on device); free some space"
        if exc.errno == getattr(errno, "EDQUOT", -1):
            return "the disk quota is exceeded; free some space"
        if exc.errno == errno.EROFS:
            return "the file system is read-only; save somewhere writable"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission denied: choose a folder you can write to"
        return exc.strerror or _first_line(exc)
    if "unexpected pos" in str(exc):
        return f"the disk may be full (torch's writer stopped: {_first_line(exc)}); free some space"
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _target_folder(text: str) -> tuple[Path, Path]:
    if text == "":
        raise CheckpointError("cannot save to '': the path is empty; give a file path such as 'checkpoints/ckpt.pt'")
    target = Path(text)
    if target.is_dir():
        raise CheckpointError(
            f"cannot save to '{text}': it is a folder; give a file name inside it, e.g. '{target / 'ckpt.pt'}'"
        )
    if target.exists() and not target.is_file():
        raise CheckpointError(f"cannot save to '{text}': it exists and is not a regular file")
    folder = target.parent
    if not folder.is_dir():
        for above in (folder, *folder.parents):
            if above.exists():
                if not above.is_dir():
                    raise CheckpointError(f"cannot save to '{text}': {above} is a file, not a folder")
                break
        raise CheckpointError(
            f"cannot save to '{text}': the folder {folder} does not exist; create it first "
            f"(Path({str(folder)!r}).mkdir(parents=True))"
        )
    return target, folder


def _storage_bytes(value: Any, seen: set[int] | None = None) -> int:
    """Bytes of tensor data torch.save will write (each storage once): a lower bound of the file size."""
    seen = set() if seen is None else seen
    if isinstance(value, torch.Tensor):
        try:
            storage = value.untyped_storage()
        except (RuntimeError, NotImplementedError):
            return 0
        if storage.data_ptr() in seen:
            return 0
        seen.add(storage.data_ptr())
        return storage.nbytes()
    if isinstance(value, Mapping):
        return sum(_storage_bytes(v, seen) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(_storage_bytes(v, seen) for v in value)
    return 0


def _free_bytes(folder: Path) -> int | None:
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
        return None
    return st.f_bavail * st.f_frsize


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: alive, owned by someone else
        return True
    return True


def _remove_leftovers(folder: Path, name: str) -> None:
    """Delete temporary files of earlier saves to this name whose writer (same machine) is dead."""
    if os.name == "nt":  # os.kill(pid, 0) is not a liveness probe on Windows
        return
    prefix = f".{name}."
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        parts = entry[len(prefix):-len(".tmp")].rsplit(".", 2)
        if len(parts) != 3 or parts[0] != _HOST or not parts[1].isdigit() or _alive(int(parts[1])):
            continue
        try:
            os.unlink(folder / entry)
        except OSError:
            pass  # another saver removed it first, or it is not ours to remove


def _open_temporary(target: Path, folder: Path) -> tuple[int, Path]:
    """A new file next to the target, named after this machine and process so leftovers can be told apart.

    Created with mode 0o666 so that the umask (or the folder's default ACL) applies, like any file
    the user writes; a replaced file keeps its own mode (see save_checkpoint).
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        tmp = folder / f".{target.name}.{_HOST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise CheckpointError(f"cannot save to '{target}': could not create a temporary file in {folder}")


def _write(payload: dict[str, Any], target: Path, folder: Path) -> None:
    existed = target.exists()
    if existed and not os.access(target, os.W_OK):  # as open(target, "wb") would refuse it
        raise CheckpointError(
            f"cannot save to '{target}': the file is read-only (mode {stat.S_IMODE(os.stat(target).st_mode):#o}); "
            f"make it writable (chmod u+w) or save under another name"
        )
    try:
        keep_mode = stat.S_IMODE(os.stat(target).st_mode) if existed else None
        fd, tmp = _open_temporary(target, folder)
    except OSError as exc:
        raise CheckpointError(f"cannot save to '{target}': {_os_cause(exc)}") from exc
    try:
        with os.fdopen(fd, "wb") as f:
            if keep_mode is not None and hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), keep_mode)
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if not isinstance(exc, Exception):
            raise  # KeyboardInterrupt, SystemExit: the old file is intact, nothing to explain
        kept = f"the previous checkpoint at '{target}' is intact" if existed else "nothing was written"
        raise CheckpointError(f"could not write '{target}': {_os_cause(exc)}; {kept}") from exc
    # Make the rename itself durable (POSIX: fsync the folder entry).
    if hasattr(os, "O_DIRECTORY"):
        try:
            dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dir_fd)
        except OSError:
            pass  # some file systems refuse fsync on a folder; the file itself is already on disk
        finally:
            os.close(dir_fd)


def _shapes(optimizer: torch.optim.Optimizer) -> list[list[list[int]]]:
    return [[list(p.shape) for p in group["params"]] for group in optimizer.param_groups]


def save_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer] | None = None,
    scheduler: Any = None,
    scaler: torch.amp.GradScaler | None = None,
    step: int | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write one checkpoint file atomically; returns its path.

    Holds the ``state_dict()`` of the model, of ``optimizer`` and ``scheduler`` (each one object
    or a dict name -> object) and of ``scaler``; ``step``; ``extra`` (plain data); the RNG states of
    Python, NumPy, torch and CUDA; each object's class; a checksum; and a format version. Anything
    a safe load would refuse (a NumPy number, an enum, a namedtuple, ...) is refused before writing,
    with its key path. A new file gets the usual permissions (0o666 minus the umask); a replaced
    file keeps its mode. Every failure is a ``CheckpointError``, and the previous file stays intact.
    Example: ``save_checkpoint("ckpt.pt", model=model, optimizer=opt, scheduler=sched, step=100)``.
    """
    text = _path_arg(path)
    _model_arg(model)
    optimizers = _objects_arg(optimizer, "optimizer", _check_optimizer_arg)
    schedulers = _objects_arg(scheduler, "scheduler", _check_scheduler_arg)
    _scaler_arg(scaler)
    _step_arg(step)
    if extra is not None and not isinstance(extra, Mapping):
        raise CheckpointArgumentError(f"extra must be a dict, got {_type_name(extra)}")
    payload: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "model": model.state_dict(),
        "optimizer": _pack(optimizers, lambda o: o.state_dict()),
        "scheduler": _pack(schedulers, lambda s: s.state_dict()),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "step": step,
        "extra": dict(extra) if extra is not None else None,
        "rng": _rng_state(),
        "classes": {
            "optimizer": _pack(optimizers, _class_of),
            "scheduler": _pack(schedulers, _class_of),
            "scaler": _class_of(scaler) if scaler is not None else None,
        },
        "param_shapes": {"optimizer": _pack(optimizers, _shapes)},
    }
    for key in ("model", "optimizer", "scheduler", "scaler", "extra"):
        _check_plain(payload[key], key)
    target, folder = _target_folder(text)
    needed, free = _storage_bytes(payload), _free_bytes(folder)
    if free is not None and needed > free:
        raise CheckpointError(
            f"cannot save to '{text}': the checkpoint needs at least {needed / 1e6:.1f} MB and only "
            f"{free / 1e6:.1f} MB are free on that disk; free some space (nothing was written)"
        )
    payload["digest"] = _digest(payload)
    _remove_leftovers(folder, target.name)
    _write(payload, target, folder)
    return target


# --- load: read and verify the file -----------------------------------------------------

_CODE_GLOBAL = re.compile(r"GLOBAL ([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)")  # torch names builtins bare: GLOBAL print


def _missing_name(dotted: str) -> bool:
    """True for a name that torch's own files use, misspelt (a damaged byte, not code): a module of
    torch or the standard ones it pickles, already imported, without that attribute. Nothing is imported.
    """
    module_name, _, attribute = dotted.rpartition(".")
    if not module_name:
        return not hasattr(builtins, attribute)
    if not (module_name.split(".")[0] in ("torch", "collections", "builtins", "_codecs")):
        return False  # e.g. __main__.Payload: code, whether or not this process defines it
    module = sys.modules.get(module_name)
    return module is not None and not hasattr(module, attribute)


def _read(path: Path, map_location: Any) -> dict[str, Any]:
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}: check the path (or start training from scratch)")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a checkpoint file")
    try:
        with open(path, "rb") as f:
            is_zip = f.read(4) == b"PK\x03\x04"  # save_checkpoint always writes torch's zip format
    except OSError as exc:
        raise CheckpointError(f"could not read {path}: {_os_cause(exc)}") from None
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch.load fails in many ways on a damaged file; all mean "unreadable"
        text, first = str(exc), _first_line(exc)
        code = _CODE_GLOBAL.search(text) if isinstance(exc, pickle.UnpicklingError) else None
        if is_zip and code and not _missing_name(code.group(1)):
            raise CheckpointError(
                f"refused to load {path}: it asks to import or run code when unpickled, which a safe "
                f"(weights_only=True) load does not allow. It names {code.group(1)}. Load it with "
                f"torch.load(..., weights_only=False) only if you trust where the file came from"
            ) from None
        if "CUDA" in first:
            raise CheckpointError(
                f"{path} holds CUDA tensors and this machine has no CUDA: pass map_location='cpu'"
            ) from None
        if not is_zip:
            raise CheckpointError(
                f"{path} is not a checkpoint written by save_checkpoint, or it is corrupt: it is not a torch "
                f"zip archive ({type(exc).__name__}: {first[:120]}); use an earlier checkpoint"
            ) from None
        raise CheckpointError(
            f"could not read {path}: the file is truncated or corrupt ({type(exc).__name__}: {first[:200]}); "
            f"use an earlier checkpoint"
        ) from None
    if isinstance(data, dict) and data.get("format") != FORMAT and {"version", "model", "rng"} <= set(data):
        raise CheckpointError(
            f"{path} is corrupt: its format tag reads {data.get('format')!r} instead of {FORMAT!r}; "
            f"use an earlier checkpoint"
        )
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        hint = ""
        if isinstance(data, dict) and data and all(isinstance(v, torch.Tensor) for v in data.values()):
            hint = "; it looks like a bare state_dict: load it with model.load_state_dict(torch.load(path))"
        keys = sorted(map(str, data))[:6] if isinstance(data, dict) else type(data).__name__
        raise CheckpointError(f"{path} is not a checkpoint written by save_checkpoint (found {keys}){hint}")
    _check_version(data, path)
    _check_digest(data, path)
    return data


def _check_version(data: Mapping[str, Any], path: Path) -> int:
    version = data.get("version")
    span = f"{_OLDEST_VERSION} to {FORMAT_VERSION}"
    if type(version) is not int:
        raise CheckpointError(
            f"{path} has format version {version!r} (a {_type_name(version)}, expected an int from {span}): "
            f"it was not written by save_checkpoint, or it is corrupt"
        )
    if version > FORMAT_VERSION:
        raise CheckpointError(
            f"{path} has checkpoint format version {version}, newer than this helpers reads "
            f"(up to {FORMAT_VERSION}): update the helpers package"
        )
    if version < _OLDEST_VERSION:
        raise CheckpointError(
            f"{path} has format version {version}; this helpers reads versions {span}: "
            f"it was not written by save_checkpoint, or it is corrupt"
        )
    return version


def _check_digest(data: Mapping[str, Any], path: Path) -> None:
    version = data["version"]
    if version >= 2:
        stored = data.get("digest")
        if not isinstance(stored, str):
            raise CheckpointError(
                f"{path} is corrupt: it has no checksum although format version {version} always has one; "
                f"use an earlier checkpoint"
            )
        if _digest(data) != stored:
            raise CheckpointError(
                f"{path} is corrupt: its content does not match the checksum written when it was saved "
                f"(a byte changed on disk or in transfer); use an earlier checkpoint"
            )


# --- load: check that the file fits the objects -----------------------------------------


def _check_model(model: torch.nn.Module, saved: Any, path: Path) -> None:
    if not isinstance(saved, Mapping):
        raise CheckpointError(
            f"{path} has no 'model' entry: the file is incomplete (or not a full checkpoint); use an earlier checkpoint"
        )
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
        if k in saved and isinstance(v, torch.Tensor) and isinstance(saved[k], torch.Tensor)
        and tuple(saved[k].shape) != tuple(v.shape)
    ]
    if shapes:
        problems.append(f"shape mismatch: {shapes}")
    if problems:
        raise CheckpointError(
            f"{path} does not fit this {type(model).__name__}: " + "; ".join(problems)
            + ". Build the same model as when saving (or load the model's state_dict by hand with strict=False)"
        )


def _recorded(data: Mapping[str, Any], entry: str, key: str) -> Any:
    """``data[entry][key]`` of a version 2 file (its classes or parameter shapes), else None."""
    table = data.get(entry) if data["version"] >= 2 else None
    return table.get(key) if isinstance(table, Mapping) else None


def _saved_objects(data: Mapping[str, Any], key: str, path: Path) -> tuple[dict[Any, Any], dict[Any, Any]] | None:
    """The file's state(s) under ``key`` as ({name: state}, {name: class}); name None for one object."""
    states = data.get(key)
    if states is None:
        return None
    classes = _recorded(data, "classes", key)
    if isinstance(classes, Mapping):
        if not isinstance(states, Mapping) or sorted(states) != sorted(classes):
            raise CheckpointError(f"{path}: the {key} entry does not match its recorded names; the file is damaged")
        return dict(states), dict(classes)
    return {None: states}, {None: classes}


def _match_names(given: _Objects, saved: dict[Any, Any], classes: dict[Any, Any], arg: str, path: Path) -> None:
    """One object against one, or a dict against a dict with the same names."""
    kind = arg
    given_dict, saved_dict = None not in given, None not in saved
    if given_dict and saved_dict and sorted(given) != sorted(saved):
        raise CheckpointError(
            f"{path} holds {kind}s named {sorted(saved)}; {arg}= gives {sorted(given)}: pass a dict with the same names"
        )
    if saved_dict and not given_dict:
        raise CheckpointError(
            f"{path} holds {kind}s named {sorted(saved)}; {arg}= gives one {kind}: pass a dict with those names, "
            f"e.g. {arg}={{{sorted(saved)[0]!r}: ...}}"
        )
    if given_dict and not saved_dict:
        saved_class = f" ({_short(classes[None])})" if classes[None] else ""
        raise CheckpointError(
            f"{path} holds one {kind}{saved_class}, not a dict: pass {arg}=<the {kind}>, not a dict"
        )


def _check_class(obj: Any, saved_class: Any, label: str, kind: str, prefix: str) -> None:
    if saved_class is None:
        return
    mine, theirs = _short(_class_of(obj)), _short(str(saved_class))
    if mine != theirs:
        raise CheckpointError(
            f"{prefix}the file holds the state of {_an(theirs)} {theirs} {kind}, but {label} is {_an(mine)} {mine}. "
            f"Build the same {kind} class as when saving (its settings are restored from the file)"
        )


def _check_optimizer(
    optimizer: torch.optim.Optimizer, saved: Any, shapes: Any, version: int, path: Path, name: str | None
) -> None:
    prefix = _prefix(path, "optimizer", name)
    if not (isinstance(saved, Mapping) and isinstance(saved.get("state"), Mapping) and isinstance(saved.get("param_groups"), list)
            and all(isinstance(g, Mapping) and isinstance(g.get("params"), list) for g in saved["param_groups"])):
        raise CheckpointError(f"{prefix}the optimizer state is malformed (no 'state' or 'param_groups'); the file is damaged")
    groups, saved_groups = optimizer.param_groups, saved["param_groups"]
    if len(groups) != len(saved_groups):
        holds = f"{path} has an optimizer with" if name is None else f"{path}: {_label('optimizer', name)} has, in the file,"
        raise CheckpointError(
            f"{holds} {len(saved_groups)} parameter group(s); this optimizer has "
            f"{len(groups)}. Build the optimizer with the same groups as when saving "
            f"(add_param_group calls included) before loading"
        )
    for g, (mine, theirs) in enumerate(zip(groups, saved_groups)):
        if len(mine["params"]) != len(theirs["params"]):
            raise CheckpointError(
                f"{prefix}parameter group {g} holds {len(theirs['params'])} tensor(s) in the file but "
                f"{len(mine['params'])} in this optimizer; build the groups from the same parameters, in the same order"
            )
    if shapes is not None:
        if not (isinstance(shapes, list) and len(shapes) == len(groups) and all(
                isinstance(s, list) and len(s) == len(g["params"]) and all(isinstance(x, list) for x in s)
                for s, g in zip(shapes, groups))):
            raise CheckpointError(f"{prefix}the recorded parameter shapes are malformed; the file is damaged")
        for g, (mine, theirs) in enumerate(zip(groups, shapes)):
            for i, (p, shape) in enumerate(zip(mine["params"], theirs)):
                if list(p.shape) != shape:
                    raise CheckpointError(
                        f"{prefix}group {g}, tensor {i} has shape {tuple(shape)} in the file but {tuple(p.shape)} here; "
                        f"build the groups from the same parameters, in the same order"
                    )
    held = {i for group in saved_groups for i in group["params"]}
    for index in saved["state"]:
        if index not in held:
            raise CheckpointError(
                f"{prefix}the file has state for parameter index {index!r}, but no group holds that index; "
                f"the file is damaged or was edited by hand"
            )
    if version < 2:  # no class recorded: a group's settings tell the optimizer class apart
        ignore = {"params", "initial_lr", "param_names"}
        unknown = sorted({k for group in saved_groups for k in group} - {k for group in groups for k in group} - ignore)
        if unknown:
            raise CheckpointError(
                f"{prefix}the file's hyperparameters {unknown} are unknown to this {type(optimizer).__name__}: it was "
                f"probably saved from another optimizer class. Build the same optimizer class as when saving"
            )


def _check_scheduler(scheduler: Any, saved: Any, version: int, prefix: str) -> None:
    if not isinstance(saved, Mapping):
        raise CheckpointError(f"{prefix}the scheduler state is malformed (a {_type_name(saved)}); the file is damaged")
    optimizer = getattr(scheduler, "optimizer", None)
    base_lrs = saved.get("base_lrs")
    groups = len(optimizer.param_groups) if isinstance(optimizer, torch.optim.Optimizer) else None
    if groups is not None and isinstance(base_lrs, list) and len(base_lrs) != groups:
        raise CheckpointError(
            f"{prefix}the scheduler state is for {len(base_lrs)} parameter group(s); this scheduler's optimizer has "
            f"{groups}. Build the same optimizer and scheduler as when saving"
        )
    if version < 2:  # no class recorded: the public attributes tell the scheduler class apart
        mine = scheduler.state_dict()
        unknown = sorted(k for k in saved if isinstance(k, str) and not k.startswith("_") and k not in mine and k != "verbose")
        if unknown:
            raise CheckpointError(
                f"{prefix}the scheduler state has {unknown}, unknown to this {type(scheduler).__name__}: it was "
                f"probably saved from another scheduler class. Build the same scheduler class as when saving"
            )


def _check_scaler(scaler: torch.amp.GradScaler, saved: Any, path: Path) -> None:
    if saved is None:
        raise CheckpointError(f"{path} holds no GradScaler state: load without scaler=, or save one with it")
    if not isinstance(saved, Mapping):
        raise CheckpointError(f"{path}: the GradScaler state is malformed; the file is damaged")
    if saved and not scaler.is_enabled():
        raise CheckpointError(
            f"{path} holds the state of an enabled GradScaler, but this one is disabled (enabled=False): "
            f"build it enabled, or load without scaler="
        )
    if not saved and scaler.is_enabled():
        raise CheckpointError(
            f"{path} holds the state of a disabled GradScaler (built with enabled=False, so it has no scale), "
            f"but this one is enabled: build it with enabled=False, or load without scaler="
        )
    if saved and not all(isinstance(saved.get(k), (int, float)) and not isinstance(saved.get(k), bool) for k in _SCALER_KEYS):
        raise CheckpointError(f"{path}: the GradScaler state lacks some of {list(_SCALER_KEYS)}; the file is damaged")


def _prefix(path: Path, arg: str, name: Any) -> str:
    return f"{path}: " if name is None else f"{path}: {_label(arg, name)}: "


# --- load: restore, all or nothing ------------------------------------------------------


def _restore_dicts(saved: list[tuple[Any, dict[str, Any]]]) -> None:
    for obj, attributes in saved:
        obj.__dict__.clear()
        obj.__dict__.update(attributes)


def _scheduler_snapshot(scheduler: Any) -> list[tuple[Any, dict[str, Any]]]:
    """Shallow copies of the attributes load_state_dict replaces (chained schedulers and lambda objects too)."""
    saved = [(scheduler, dict(scheduler.__dict__))]
    for inner in getattr(scheduler, "_schedulers", None) or []:
        saved += _scheduler_snapshot(inner)
    for fn in getattr(scheduler, "lr_lambdas", None) or []:
        if not isinstance(fn, types.FunctionType) and hasattr(fn, "__dict__"):  # LambdaLR updates these in place
            saved.append((fn, dict(fn.__dict__)))
    return saved


def _model_loads_plainly(model: torch.nn.Module) -> bool:
    """True when loading only copies tensors whose keys and shapes were checked (no custom loading code)."""
    if "load_state_dict" in vars(model) or type(model).load_state_dict is not torch.nn.Module.load_state_dict:
        return False
    for module in model.modules():
        cls = type(module)
        if module._load_state_dict_pre_hooks or module._load_state_dict_post_hooks:
            return False
        if cls.set_extra_state is not torch.nn.Module.set_extra_state:
            return False
        if not getattr(cls._load_from_state_dict, "__module__", "").startswith("torch.nn."):
            return False
    return True


def _restore(
    path: Path,
    model: torch.nn.Module,
    model_state: Mapping[str, Any],
    optimizers: list[tuple[torch.optim.Optimizer, Any]],
    schedulers: list[tuple[Any, Any]],
    scaler: tuple[torch.amp.GradScaler, Any] | None,
    rng: Any,
) -> None:
    undo: list[Callable[[], None]] = []
    try:
        for optimizer, state in optimizers:
            # load_state_dict builds new state and group objects; the old ones stay as they were.
            undo.append(lambda o=optimizer, d=dict(optimizer.__dict__): _restore_dicts([(o, d)]))
            optimizer.load_state_dict(state)
        for scheduler, state in schedulers:
            undo.append(lambda saved=_scheduler_snapshot(scheduler): _restore_dicts(saved))
            scheduler.load_state_dict(state)
        if scaler is not None:
            undo.append(lambda s=scaler[0], d=scaler[0].state_dict(): s.load_state_dict(d) if d else None)
            scaler[0].load_state_dict(scaler[1])
        if not _model_loads_plainly(model):  # its own loading code could fail half-way: keep a copy
            kept = {k: v.detach().clone() for k, v in model.state_dict().items() if isinstance(v, torch.Tensor)}

            def put_back(kept: dict[str, torch.Tensor] = kept) -> None:
                with torch.no_grad():
                    for k, v in model.state_dict().items():
                        if k in kept and isinstance(v, torch.Tensor) and v.shape == kept[k].shape:
                            v.copy_(kept[k])

            undo.append(put_back)
        model.load_state_dict(model_state)
        if rng is not None:
            undo.append(lambda s=_rng_state(): _set_rng_state(s))
            _set_rng_state(rng)
    except Exception as exc:
        for step in reversed(undo):
            try:
                step()
            except Exception:  # put back as much as possible; the first error is the one to report
                pass
        raise CheckpointError(
            f"could not restore {path}: {type(exc).__name__}: {_first_line(exc)}; nothing was changed "
            f"(model, optimizer, scheduler, scaler and RNG are as before)"
        ) from exc


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer | Mapping[str, torch.optim.Optimizer] | None = None,
    scheduler: Any = None,
    scaler: torch.amp.GradScaler | None = None,
    map_location: Any = None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore a checkpoint written by ``save_checkpoint``; returns ``{"step": ..., "extra": ...}``.

    Loads with ``weights_only=True`` (a file that would run code is refused) and verifies the
    checksum (a corrupt file is refused). Tensors go to ``map_location``, by default the model's
    device, so a GPU checkpoint loads on a CPU machine. ``optimizer`` and ``scheduler`` are one
    object or a dict with the names used when saving. Everything is checked against the given
    objects before any of them changes (classes, names, groups, shapes, model keys, RNG states);
    then optimizers, schedulers, scaler, model and, unless ``restore_rng=False``, the RNG states
    are restored. If restoring still fails, every object is put back and ``CheckpointError`` says so.
    Example: ``step = load_checkpoint("ckpt.pt", model=model, optimizer=opt)["step"]``.
    """
    text = _path_arg(path)
    _model_arg(model)
    optimizers = _objects_arg(optimizer, "optimizer", _check_optimizer_arg)
    schedulers = _objects_arg(scheduler, "scheduler", _check_scheduler_arg)
    _scaler_arg(scaler)
    if text == "":
        raise CheckpointError("no checkpoint at '': the path is empty; give the checkpoint's file path")
    path = Path(text)
    if map_location is None:
        map_location = next(model.parameters()).device
    data = _read(path, map_location)
    version = data["version"]

    _check_model(model, data.get("model"), path)
    opt_pairs: list[tuple[torch.optim.Optimizer, Any]] = []
    if optimizers is not None:
        found = _saved_objects(data, "optimizer", path)
        if found is None:
            raise CheckpointError(f"{path} holds no optimizer state: load without optimizer=, or save one with it")
        states, classes = found
        _match_names(optimizers, states, classes, "optimizer", path)
        shapes = _recorded(data, "param_shapes", "optimizer")
        for name, opt in optimizers.items():
            prefix = _prefix(path, "optimizer", name)
            _check_class(opt, classes[name], _label("optimizer", name), "optimizer", prefix)
            these = shapes.get(name) if isinstance(shapes, Mapping) else shapes
            _check_optimizer(opt, states[name], these, version, path, name)
            opt_pairs.append((opt, states[name]))
    sched_pairs: list[tuple[Any, Any]] = []
    if schedulers is not None:
        found = _saved_objects(data, "scheduler", path)
        if found is None:
            raise CheckpointError(f"{path} holds no scheduler state: load without scheduler=, or save one with it")
        states, classes = found
        _match_names(schedulers, states, classes, "scheduler", path)
        for name, sched in schedulers.items():
            prefix = _prefix(path, "scheduler", name)
            _check_class(sched, classes[name], _label("scheduler", name), "scheduler", prefix)
            _check_scheduler(sched, states[name], version, prefix)
            sched_pairs.append((sched, states[name]))
    if scaler is not None:
        _check_scaler(scaler, data.get("scaler"), path)
    rng = None
    if restore_rng:
        if "rng" not in data:
            raise CheckpointError(
                f"{path} has no 'rng' entry (the RNG states): the file is incomplete; "
                f"load with restore_rng=False to restore everything else"
            )
        _check_rng(data["rng"], path)
        rng = data["rng"]

    _restore(path, model, data["model"], opt_pairs, sched_pairs, (scaler, data["scaler"]) if scaler is not None else None, rng)
    return {"step": data.get("step"), "extra": data.get("extra")}
