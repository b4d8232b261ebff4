"""Notebook set-up: seeding, print options and the choice of device.

Every notebook starts with ``device = setup_notebook(seed=0)``.
"""

from __future__ import annotations

import os
import platform
import random
from typing import Any

import numpy as np
import torch

from ._checks import require_positive_int
from .i18n import LANGUAGES, set_language, tr

ENV_VAR = "NOTEBOOK_DEVICE"
_KNOWN = ("cpu", "cuda", "mps")


def _available() -> list[str]:
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        names.append("mps")
    return names


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and every CUDA device).

    Example: ``seed_everything(0)``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def pick_device(name: str | torch.device | None = None) -> torch.device:
    """Return the device to compute on.

    ``name`` if given, else the ``NOTEBOOK_DEVICE`` environment variable, else the first
    available of cuda, mps, cpu. An unknown or unavailable name, or an index that does not
    exist (``"cuda:3"`` on a one-GPU machine, ``"cpu:1"``), raises ``ValueError`` naming the
    devices this machine has; ``"cpu:0"`` gives ``cpu``. Example: ``pick_device("cpu")``.
    """
    source = "argument name"
    if name is None:
        name = os.environ.get(ENV_VAR) or None
        source = f"environment variable {ENV_VAR}"
    if name is None:
        for candidate in ("cuda", "mps"):
            if candidate in _available():
                return torch.device(candidate)
        return torch.device("cpu")
    if isinstance(name, torch.device):
        name = str(name)
    if not isinstance(name, str):
        raise TypeError(f"device name must be a str or torch.device, got {type(name).__name__}")
    wanted = name.strip().lower()
    kind = wanted.split(":")[0]
    available = _available()
    if kind not in _KNOWN:
        raise ValueError(
            f"unknown device {name!r} (from the {source}); expected one of {', '.join(_KNOWN)}; "
            f"this machine has: {', '.join(available)}"
        )
    if kind not in available:
        raise ValueError(
            f"device {name!r} (from the {source}) is not available here; "
            f"this machine has: {', '.join(available)}"
        )
    try:
        device = torch.device(wanted)
    except RuntimeError as exc:
        raise ValueError(f"cannot parse device {name!r} (from the {source}): {exc}") from None
    if kind == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(
            f"device {name!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    # torch accepts "cpu:1" or "mps:3" and then puts tensors on the one CPU or GPU anyway, so
    # a device that compares unequal to every tensor's .device would come back: refuse it.
    if kind in ("cpu", "mps") and device.index not in (None, 0):
        raise ValueError(f"device {name!r} (from the {source}) does not exist: there is only one {kind} device; use {kind!r}")
    if kind == "cpu":
        return torch.device("cpu")  # tensors report "cpu", and torch.device("cpu:0") != torch.device("cpu")
    return device


def _short_tracebacks() -> None:
    """In IPython, show an error as its type and message only (``%xmode Minimal``).

    A stored error then reads like a lesson, not forty lines of library internals with the
    paths of the machine that ran it. ``%xmode Context`` brings full tracebacks back.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "InteractiveTB"):
        shell.InteractiveTB.set_mode(mode="Minimal")


_INLINE_BACKENDS = ("inline", "module://matplotlib_inline.backend_inline")


def add_figure_alt_text(display_formatter: Any) -> bool:
    """Make IPython's ``image/png`` formatter give every matplotlib Figure an ``alt`` text.

    Wraps the printer registered for ``matplotlib.figure.Figure`` (the inline backend's) so it
    returns ``(png, {"alt": figure_alt_text(fig)})``: the alternative text nbconvert, the site
    and screen readers use. Calling it again changes nothing. Returns False, and changes
    nothing, when no PNG printer for figures is registered (a terminal, the Agg backend).
    Example: ``add_figure_alt_text(get_ipython().display_formatter)``.
    """
    from matplotlib.figure import Figure

    from .plots import figure_alt_text

    png = display_formatter.formatters["image/png"]
    try:
        current = png.lookup_by_type(Figure)
    except KeyError:
        return False
    if getattr(current, "adds_alt_text", False):
        return True

    def png_with_alt(fig: Any) -> Any:
        data = current(fig)
        if data is None:
            return None
        metadata: dict[str, Any] = {}
        if isinstance(data, tuple):  # the retina printer returns (png, {"width": ..., "height": ...})
            data, metadata = data[0], dict(data[1] or {})
        metadata["alt"] = figure_alt_text(fig)
        return data, metadata

    png_with_alt.adds_alt_text = True  # type: ignore[attr-defined]
    png.for_type(Figure, png_with_alt)
    return True


def _figures_with_alt_text() -> None:
    """In an IPython kernel, give every figure shown from now on an alternative text.

    The inline backend registers its figure formatters when it is first loaded (at the first
    figure), replacing any registered before: load it now so the wrapper lands on its printer.
    ``%config InlineBackend.figure_formats = ...`` registers new printers: run setup_notebook
    again after it.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    import matplotlib

    if matplotlib.get_backend(auto_select=False) in _INLINE_BACKENDS:
        import matplotlib_inline.backend_inline  # noqa: F401  (its import configures IPython's figure display)
    add_figure_alt_text(shell.display_formatter)


def setup_notebook(
    seed: int = 0, device: str | torch.device | None = None, threads: int | None = 1, lang: str = "en"
) -> torch.device:
    """Seed every RNG, set print options, PyTorch's CPU threads and the device; print a one-line report.

    ``threads`` (default 1) is passed to ``torch.set_num_threads``: the models in these
    notebooks are tiny, and for them one thread is fastest; several threads also stall for
    milliseconds per operation while other programs keep the cores busy. ``None`` keeps
    PyTorch's default (one thread per core). In IPython it also switches errors to their
    short form (type and message; ``%xmode Context`` brings full tracebacks back) and gives
    every figure shown an alternative text (``helpers.plots.figure_alt_text``, stored as the
    ``alt`` of its ``image/png`` output; see :func:`add_figure_alt_text`). ``lang`` (``"en"``
    or ``"zh"``) is the language of everything the helpers print from now on (the report, the
    checkers' feedback, the widgets' labels): see :mod:`helpers.i18n`.

    Returns the ``torch.device`` the notebook should put its tensors and models on.
    Example: ``device = setup_notebook(seed=0)``; the Chinese notebooks: ``setup_notebook(seed=0, lang="zh")``.
    """
    from . import __version__

    if not isinstance(lang, str) or lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(map(repr, LANGUAGES))}, got {lang!r}")
    if threads is not None:
        require_positive_int(threads, "threads")
    chosen = pick_device(device)
    seed_everything(seed)
    if threads is not None:
        torch.set_num_threads(threads)
    _short_tracebacks()
    _figures_with_alt_text()
    torch.set_printoptions(precision=4, sci_mode=False)
    np.set_printoptions(precision=4, suppress=True)
    set_language(lang)
    print(
        tr(
            f"Python {platform.python_version()} | torch {torch.__version__} | "
            f"helpers {__version__} | device: {chosen} | CPU threads: {torch.get_num_threads()} | seed: {seed}"
        )
    )
    return chosen
