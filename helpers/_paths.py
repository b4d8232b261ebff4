"""Relative paths from an edition folder: ``notebooks/zh`` runs the English notebooks' code cells.

The Chinese notebooks' code is identical to the English, so ``run_solutions("solutions/00_start_here.py")``
runs in ``notebooks/zh/`` where ``solutions/`` is one folder up. :func:`find_path` looks there.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["EDITIONS", "find_path"]

# Folders holding a translated edition of the notebooks, one level below the English ones.
EDITIONS = ("zh",)


def find_path(path: str | os.PathLike[str], cwd: str | os.PathLike[str] | None = None) -> Path:
    """``path`` as given when it exists (or is absolute); else, when the current folder is an
    edition folder (``notebooks/zh``) and the parent folder has it, the path in the parent.

    Otherwise ``path`` unchanged, so the caller's "not found" names what the learner wrote.
    ``cwd`` defaults to the current folder. Example: in ``notebooks/zh``,
    ``find_path("solutions/00_start_here.py")`` -> ``Path("../solutions/00_start_here.py")``.
    """
    given = Path(path)
    here = Path.cwd() if cwd is None else Path(cwd)
    if given.is_absolute() or (here / given).exists():
        return given
    if here.name in EDITIONS and (here.parent / given).exists():
        return Path("..") / given
    return given
