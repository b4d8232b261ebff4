"""What every exercise checker shares: verdicts, tries, reveal, and running learner code safely.

A checker is a function decorated with :func:`checker` that returns a :class:`Verdict`
(``right``, ``wrong`` or ``not_done``). The decorator prints it and returns a
:class:`CheckResult`. The rules it enforces, for every checker alike:

- a wrong answer gets what is wrong and a hint, **not** the expected value; the expected
  value is printed only with ``reveal=True`` or from the ``REVEAL_AFTER``-th wrong try of
  that checker on;
- a checker never raises: a failure of its own code is reported as such;
- an error inside the learner's function is reported at the learner's line, and a function
  with the wrong parameters is told which arguments the checker passes.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import numbers
import os
import runpy
import sysconfig
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .._paths import find_path
from ..i18n import tr

REVEAL_AFTER = 3
NOT_DONE = "Not done yet: replace `raise NotImplementedError` with your code, then run this cell again."
NOT_DONE_VALUE = "Not done yet: replace the `...` with your answer, then run this cell again."

# Wrong tries per checker name since the kernel started (or since reset_tries()).
_TRIES: dict[str, int] = {}
# While run_solutions runs a file: the (checker name, ok) of every call.
_RECORD: list[tuple[str, bool]] | None = None


class CheckResult:
    """What a checker returns: truthy when the answer is right.

    It shows nothing in a notebook (the checker already printed its verdict), so a
    checker call can be the last line of a cell.
    """

    def __init__(self, ok: bool):
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return f"CheckResult(ok={self.ok})"

    def _ipython_display_(self) -> None:
        pass


@dataclass(frozen=True)
class Verdict:
    """A checker's judgement before it is printed: see :func:`right`, :func:`wrong`, :func:`not_done`."""

    kind: str  # "right", "wrong" or "not_done"
    message: str = ""
    hint: str = ""
    expected: str = ""  # shown only on reveal=True or after REVEAL_AFTER wrong tries


def right(message: str = "") -> Verdict:
    return Verdict("right", message)


def wrong(message: str, hint: str = "", expected: str = "") -> Verdict:
    """A wrong answer: ``message`` says what is wrong without giving the answer away,
    ``hint`` points at the mistake, ``expected`` is the answer, kept back until revealed."""
    return Verdict("wrong", message, hint, expected)


def not_done(message: str = NOT_DONE, expected: str = "") -> Verdict:
    """The placeholder is still there; does not count as a try."""
    return Verdict("not_done", message, "", expected)


def reset_tries() -> None:
    """Forget every checker's count of wrong tries (tests use it)."""
    _TRIES.clear()


def checker(fn: Callable[..., Verdict]) -> Callable[..., CheckResult]:
    """Turn a function returning a :class:`Verdict` into a checker that prints it.

    The checker takes the function's arguments plus ``reveal=False``.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, reveal: bool = False, **kwargs: Any) -> CheckResult:
        name = fn.__name__
        try:
            verdict = fn(*args, **kwargs)
            if not isinstance(verdict, Verdict):
                raise TypeError(f"{name} returned {type(verdict).__name__}, not a Verdict")
        except Exception as exc:  # the checker's own bug: never a traceback in the learner's face
            print(
                tr(
                    f"The checker {name} failed on its own ({type(exc).__name__}: {exc}). "
                    "That is a bug in helpers, not necessarily in your answer."
                )
            )
            return _recorded(name, CheckResult(False))
        return _recorded(name, _show(name, verdict, reveal))

    return wrapper


def _recorded(name: str, result: CheckResult) -> CheckResult:
    if _RECORD is not None:
        _RECORD.append((name, bool(result)))
    return result


def _show(name: str, verdict: Verdict, reveal: bool) -> CheckResult:
    """Print ``verdict`` in the current language (each label and message through ``tr``)."""
    if verdict.kind == "right":
        _TRIES.pop(name, None)
        print(tr("Correct! ") + tr(verdict.message) if verdict.message else tr("Correct!"))
        return CheckResult(True)
    if verdict.kind == "not_done":
        print(tr(verdict.message or NOT_DONE))
        if reveal and verdict.expected:
            print(tr("The expected answer: ") + tr(verdict.expected))
        return CheckResult(False)
    tries = _TRIES[name] = _TRIES.get(name, 0) + 1
    print(tr("Not yet. ") + tr(verdict.message))
    if verdict.hint:
        print(tr("Hint: ") + tr(verdict.hint))
    if verdict.expected:
        if reveal or tries >= REVEAL_AFTER:
            print(tr("The expected answer: ") + tr(verdict.expected))
        else:
            print(tr(f"(Stuck? Call it with reveal=True to see the expected answer; after {REVEAL_AFTER} tries it shows by itself.)"))
    return CheckResult(False)


# --- learner input ---------------------------------------------------------------------


def unanswered(*values: Any) -> bool:
    """True when an answer is still the ``...`` placeholder (or None)."""
    return any(v is None or v is ... for v in values)


def as_number(value: Any) -> float | None:
    """``value`` as a float when it is a plain number in any of Python's, NumPy's or torch's
    spellings (``2``, ``2.0``, ``Fraction(2)``, ``np.int64(2)``, ``torch.tensor(2.)``); else None.

    bool, str, and tensors of more than one element are not numbers here.
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating, numbers.Real)):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "iuf":
        return float(value.reshape(()))
    if isinstance(value, torch.Tensor) and value.numel() == 1 and (value.is_floating_point() or value.dtype in _INT_DTYPES):
        return float(value.detach().cpu().reshape(()))
    return None


_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def number_answer(value: Any, *, what: str = "one number", example: str = "1.23", expected: str = "") -> float | Verdict:
    """A learner's numeric answer as a float, or the verdict for a placeholder, text or non-number.

    Example: ``got = number_answer(value, expected=reveal); if isinstance(got, Verdict): return got``.
    """
    if unanswered(value):
        return not_done(NOT_DONE_VALUE, expected=expected)
    if isinstance(value, (str, bytes, np.str_)):
        return wrong(f"you gave the text {value!r}", "give a number, without quotes", expected=expected)
    got = as_number(value)
    if got is None:
        return wrong(f"give {what}, got {describe(value)}", f"write {what}, e.g. {example}", expected=expected)
    return got


def describe(value: Any) -> str:
    """A short, safe, one-line description of a learner's value for a message."""
    kind = type(value).__name__
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    try:
        text = " ".join(repr(value).split())  # the repr of an array or an optimizer spans lines
    except Exception:  # a learner's class whose repr fails
        return f"a {kind}"
    return f"{kind} {text if len(text) <= 40 else text[:37] + '...'}"


def not_a_function(fn: Any) -> Verdict | None:
    """A wrong verdict when ``fn`` is not callable (e.g. the learner passed its result), else None."""
    if callable(fn):
        return None
    return wrong(f"pass your function itself, got {describe(fn)}", "write the name without parentheses: check_...(my_function)")


_LIBRARY_DIRS = tuple(
    str(Path(p).resolve()) + os.sep
    for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")} | {str(Path(__file__).resolve().parents[1])}
)


def _is_learner_frame(filename: str) -> bool:
    """True for code the learner wrote: a notebook cell, an exec'd string, a script of theirs.

    Library frames are those under the Python installation, site-packages or helpers, frozen
    modules, and compiled extensions, whose tracebacks carry relative names (``numpy/random/mtrand.pyx``).
    """
    if filename.startswith("<frozen"):
        return False
    if filename.startswith("<"):  # <ipython-input-...>, <string>, <stdin>
        return True
    if not os.path.isabs(filename):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True
    return not resolved.startswith(_LIBRARY_DIRS)


def call_student(fn: Callable[..., Any], args: tuple[Any, ...], names: tuple[str, ...]) -> tuple[bool, Any]:
    """Call the learner's ``fn(*args)``.

    Returns ``(True, result)``, or ``(False, verdict)`` when it could not be called with
    ``names`` (the parameters the exercise asks for), is still the stub, or raised; the
    verdict then names the learner's own line.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        signature = None
    if signature is not None:
        try:
            signature.bind(*args)
        except TypeError:
            wanted = ", ".join(names)
            return False, wrong(
                f"your function takes ({', '.join(signature.parameters)}), but the checker calls it as "
                f"{getattr(fn, '__name__', 'f')}({wanted})",
                f"define it with exactly these parameters: ({wanted})",
            )
    try:
        return True, fn(*args)
    except NotImplementedError:
        return False, not_done()
    except Exception as exc:  # the learner's bug: report it at the learner's line
        frames = traceback.extract_tb(exc.__traceback__)
        mine = [f for f in frames if _is_learner_frame(f.filename)]
        frame = mine[-1] if mine else None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raised = type(exc).__name__
        if frame is None:
            message = f"your code raised {raised}: {first}"
        elif frame.line:  # one template per shape, so that each part is matched on its own
            message = f"your code raised {raised}: {first} (your line {frame.lineno}: {frame.line.strip()})"
        else:
            message = f"your code raised {raised}: {first} (your line {frame.lineno})"
        return False, wrong(message, "fix that line and run the cell again")


# --- solutions -------------------------------------------------------------------------


def run_solutions(path: str | os.PathLike[str]) -> None:
    """Run a notebook's worked solutions (a ``.py`` file) and say whether every checker accepts them.

    The solutions' own output (each checker's verdict) is kept back, so nothing of the
    answers shows under the exercises; on a failure it is printed and ``AssertionError``
    raised. A relative path not found here is looked up one folder up from an edition folder
    (``notebooks/zh``). Example: ``run_solutions("solutions/00_start_here.py")``.
    """
    global _RECORD
    file = find_path(path)
    shown = Path(path).as_posix()  # as the notebook wrote it, so both editions print the same path
    if not file.is_file():
        raise FileNotFoundError(f"no solutions file {str(path)!r} (relative to {Path.cwd().name}/)")
    buffer = io.StringIO()
    _RECORD = []
    try:
        with contextlib.redirect_stdout(buffer):
            runpy.run_path(str(file), run_name="__solutions__")
        record = _RECORD
    except BaseException:
        print(buffer.getvalue())
        raise
    finally:
        _RECORD = None
    failed = [name for name, ok in record if not ok]
    if failed or not record:
        print(buffer.getvalue())
        raise AssertionError(f"{shown}: " + (f"rejected by {', '.join(failed)}" if failed else "called no checker"))
    names = list(dict.fromkeys(name for name, _ in record))
    print(tr(f"Every worked solution in {shown} passes its checker ({', '.join(names)})."))
