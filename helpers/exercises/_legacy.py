"""TEMPORARY: the old checker API, while each nbNN module moves to ``_core``'s verdicts. Delete when unused."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from ._core import NOT_DONE, CheckResult


def _report(ok: bool, message: str = "", hint: str = "") -> CheckResult:
    if ok:
        print("Correct! " + message if message else "Correct!")
    else:
        print("Not yet. " + message)
        if hint:
            print("Hint: " + hint)
    return CheckResult(ok)


def _call(fn: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except NotImplementedError:
        print(NOT_DONE)
    except Exception as exc:
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"Your code raised {type(exc).__name__}: {exc} (line {frame.lineno}: {frame.line})")
    return False, None


def _unanswered(*values: Any) -> bool:
    if any(v is None or v is ... for v in values):
        print(NOT_DONE.replace("`raise NotImplementedError`", "the `...`"))
        return True
    return False


def _not_a_function(fn: Any) -> CheckResult | None:
    if callable(fn):
        return None
    return _report(False, f"pass your function itself, got {type(fn).__name__}")
