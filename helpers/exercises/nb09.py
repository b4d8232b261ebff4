"""Checkers for notebook 09 (optimizer state when training outgrows one process)."""

from __future__ import annotations

import contextlib
import copy
import math
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ._core import Verdict, call_student, checker, not_a_function, number_answer, right, wrong

__all__ = ["check_save_once", "check_zero_bytes", "zero_exercise_model"]

ZERO_RANKS = 2  # the exercise's number of ranks
ZERO_RANK = 1  # the rank whose bytes it asks for


def zero_exercise_model() -> torch.nn.Module:
    """The model of notebook 09's ZeRO exercise: Linear(32, 64), ReLU, Linear(64, 64), ReLU, Linear(64, 10).

    Example: ``model = zero_exercise_model()``.
    """
    return torch.nn.Sequential(torch.nn.Linear(32, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def zero_shares(sizes: list[int], world: int) -> list[list[int]]:
    """ZeroRedundancyOptimizer's rule: the indices of the tensors each rank holds.

    Largest tensor first (ties in model order), each to the rank that holds the fewest numbers
    so far (the lowest rank on ties). Example: ``zero_shares([256, 16, 256, 16], 2)``.
    """
    held = [0] * world
    shares: list[list[int]] = [[] for _ in range(world)]
    for i in sorted(range(len(sizes)), key=lambda i: -sizes[i]):
        rank = held.index(min(held))
        shares[rank].append(i)
        held[rank] += sizes[i]
    return shares


def _adam_bytes(sizes: list[int], element: int = 4) -> int:
    """Adam's state for tensors of these sizes: exp_avg and exp_avg_sq each the tensor's size, a 4-byte step each."""
    return sum(2 * n * element + 4 for n in sizes)


_ZERO_HINT = (
    "ZeroRedundancyOptimizer gives each rank whole tensors: largest first, each to the rank holding the fewest "
    "numbers so far; that rank's Adam keeps exp_avg and exp_avg_sq (4 bytes a number) and a 4-byte step per tensor"
)


@checker
def check_zero_bytes(answer: Any) -> Verdict:
    """Check the bytes of Adam state rank 1 keeps under ``ZeroRedundancyOptimizer`` on 2 ranks
    for :func:`zero_exercise_model` after one step.

    Any spelling of the whole number is accepted (``22628``, ``22628.0``, ``np.int64``, a 0-d
    tensor). Example: ``check_zero_bytes(answer)``; ``reveal=True`` shows the answer.
    """
    names = [n for n, _ in zero_exercise_model().named_parameters()]
    sizes = [p.numel() for p in zero_exercise_model().parameters()]
    shares = zero_shares(sizes, ZERO_RANKS)
    mine = [sizes[i] for i in shares[ZERO_RANK]]
    expected = _adam_bytes(mine)
    listed = ", ".join(f"{names[i]} ({sizes[i]})" for i in shares[ZERO_RANK])
    # The tensor list holds ", " itself: with its total it is one part of the message (names and
    # numbers, the same in every language), so that no translation can split the list wrongly.
    holding = f"{listed}, {sum(mine)}"
    reveal = (
        f"{expected} bytes: rank {ZERO_RANK} holds {holding} numbers in {len(mine)} tensors; "
        f"Adam keeps 2 x {sum(mine)} x 4 bytes of moments + {len(mine)} x 4 bytes of steps"
    )
    got = number_answer(answer, what="one number of bytes", example="12345", expected=reveal)
    if isinstance(got, Verdict):
        return got
    if not math.isfinite(got) or got != int(got):
        return wrong(f"you said {got!r}: a number of bytes is a whole number", "whole tensors, 4 bytes a float32 number", expected=reveal)
    got = int(got)
    if got == expected:
        return right(f"{expected} bytes: rank {ZERO_RANK} holds {listed}; Adam keeps two moments and a step for each.")

    total = _adam_bytes(sizes)
    other = [sizes[i] for i in shares[1 - ZERO_RANK]]
    in_order = [sizes[i] for i in range(ZERO_RANK, len(sizes), ZERO_RANKS)]  # every other tensor in model order
    by_size = sorted(sizes, reverse=True)
    alternating = by_size[ZERO_RANK::ZERO_RANKS]  # largest first, dealt out in turn
    steps_all = 2 * 4 * sum(mine) + 4 * len(sizes)
    mistakes = [
        (total, "that is the whole model's Adam state: what every rank keeps under DDP",
         "under ZeRO each rank keeps the state of its own share of the tensors only"),
        (total // 2, "that is the whole state divided by 2, but ZeRO does not cut tensors in halves",
         "ZeRO hands out whole tensors, so the shares are rarely equal: find which tensors rank 1 gets"),
        ((total + 1) // 2, "that is the whole state divided by 2, but ZeRO does not cut tensors in halves",
         "ZeRO hands out whole tensors, so the shares are rarely equal: find which tensors rank 1 gets"),
        (_adam_bytes(other), "that is the other rank's share",
         "ranks count from 0, the question asks for rank 1; and on a tie (at the start both hold 0 numbers) the lower rank gets the tensor"),
        (_adam_bytes(in_order), "you dealt the tensors out in model order, one rank after the other",
         "ZeRO sorts the tensors by size, largest first, and gives each to the rank holding the fewest numbers so far"),
        (_adam_bytes(alternating), "you sorted by size but dealt the tensors out in turn",
         "each tensor goes to the rank that holds the fewest numbers so far, not to the next rank in turn"),
        (2 * 4 * sum(mine), "you left out the step counters", "Adam keeps a 4-byte float32 'step' for each tensor it trains"),
        (steps_all, "you counted a step for every tensor of the model",
         "rank 1's Adam keeps steps only for the tensors it holds"),
        (2 * 4 * sum(mine) + 8 * len(mine), "you counted 8 bytes for each step",
         "Adam's step is a 0-d float32 tensor: 4 bytes"),
        (4 * sum(mine) + 4 * len(mine), "you counted one moment per number", "Adam keeps two: exp_avg and exp_avg_sq"),
        (4 * sum(mine), "that is the size of rank 1's tensors themselves, not of Adam's state for them",
         "Adam keeps two tensors of each size (exp_avg, exp_avg_sq) plus a step"),
        (3 * 4 * sum(mine) + 4 * len(mine), "you counted three moments (amsgrad's max_exp_avg_sq too?)",
         "plain Adam keeps exp_avg and exp_avg_sq"),
        (2 * sum(mine) + len(mine), "you counted numbers, not bytes", "a float32 number takes 4 bytes"),
        (2 * 8 * sum(mine) + 8 * len(mine), "you counted 8 bytes a number", "float32 takes 4 bytes a number"),
        (8 * expected, "that is bits", "a byte is 8 bits: give bytes"),
    ]
    for value, message, hint in mistakes:
        if got == value and value != expected:
            return wrong(f"you said {got}: {message}", hint, expected=reveal)
    return wrong(f"you said {got}", _ZERO_HINT, expected=reveal)


# --- check_save_once -----------------------------------------------------------------

SAVE_RANKS = 4  # the world the checker plays
_SAVE_FIX = "if rank == 0: torch.save(state, path)  (in a real run, then dist.barrier() before anyone reads it)"


def _save_state() -> dict[str, Any]:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(9)
        model = torch.nn.Linear(3, 2)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        model(torch.randn(4, 3)).sum().backward()
        optimizer.step()
    return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "step": 7}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and torch.equal(a.cpu(), b.cpu())
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _ranks(ranks: list[int]) -> str:
    """``"rank 2"`` or ``"ranks 1, 2 and 3"``: one catalog message, "ranks {0} and {1}", for any number of ranks.

    Example: ``_ranks([1, 2])`` -> ``"ranks 1 and 2"``.
    """
    if len(ranks) == 1:
        return f"rank {ranks[0]}"  # no message to translate: "rank" is the glossary's term in Chinese too
    return f"ranks {', '.join(map(str, ranks[:-1]))} and {ranks[-1]}"


@checker
def check_save_once(save: Callable[[dict, str, int], Any]) -> Verdict:
    """Check ``save(state, path, rank)``: of the ranks of a DDP run, only rank 0 writes ``path``, with the whole state.

    The checker plays 4 ranks, one after another, each with its own copy of the same state
    (as under DDP) and the same ``path``, in an empty folder that is also the working
    directory. Example: ``check_save_once(save)``.
    """
    if (verdict := not_a_function(save)) is not None:
        return Verdict(verdict.kind, verdict.message, verdict.hint, _SAVE_FIX)
    state = _save_state()
    written: dict[int, list[str]] = {}
    contents: dict[int, Any] = {}
    for rank in range(SAVE_RANKS):
        with tempfile.TemporaryDirectory() as name, contextlib.chdir(name):
            folder = Path(name)
            ok, result = call_student(save, (copy.deepcopy(state), str(folder / "checkpoint.pt"), rank), ("state", "path", "rank"))
            if not ok:
                if "process group" in result.message:
                    return wrong(
                        result.message,
                        "there is no process group here: use the rank argument the checker passes (a real run gets it from dist.get_rank())",
                        expected=_SAVE_FIX,
                    )
                return Verdict(result.kind, result.message, result.hint, _SAVE_FIX)
            written[rank] = _files(folder)
            if "checkpoint.pt" in written[rank]:
                try:
                    with warnings.catch_warnings():  # e.g. a pickle.dump file: its warning would only repeat the error
                        warnings.simplefilter("ignore")
                        contents[rank] = torch.load(folder / "checkpoint.pt", weights_only=True)
                except Exception as exc:  # a file torch.load cannot read
                    contents[rank] = exc
    writers = [r for r in range(SAVE_RANKS) if written[r]]
    if not writers:
        return wrong("no rank wrote anything", "rank 0 should write the state to path, e.g. with torch.save", expected=_SAVE_FIX)
    if any(len(written[r]) > 1 or written[r] != ["checkpoint.pt"] for r in writers):
        names = sorted({f for r in writers for f in written[r]})
        if len(writers) > 1 and all(len(written[r]) == 1 for r in writers) and len(names) == len(writers):
            return wrong(
                f"{_ranks(writers)} each wrote a file of its own ({', '.join(names)})",
                "under DDP every rank holds the same state: one file, written by one rank, is all a resume needs",
                expected=_SAVE_FIX,
            )
        return wrong(
            f"files other than path were written: {', '.join(names)}",
            "write exactly one file, at the path the function receives",
            expected=_SAVE_FIX,
        )
    if writers == list(range(SAVE_RANKS)):
        return wrong(
            f"every rank wrote {Path('checkpoint.pt')}: {SAVE_RANKS} processes writing the same file at once",
            "let one rank write: test the rank argument",
            expected=_SAVE_FIX,
        )
    if 0 not in writers:
        if writers == list(range(1, SAVE_RANKS)):
            return wrong(
                f"{_ranks(writers)} wrote the file, rank 0 did not",
                "`if rank:` is true for every rank but 0; the test you want picks rank 0 only",
                expected=_SAVE_FIX,
            )
        return wrong(
            f"{_ranks(writers)} wrote the file, rank 0 did not",
            "rank 0 is the one rank every run has, whatever its size: let rank 0 write",
            expected=_SAVE_FIX,
        )
    if writers != [0]:
        return wrong(
            f"rank 0 wrote the file, but {_ranks([r for r in writers if r])} wrote it too",
            "only rank 0 should write: the others skip the save",
            expected=_SAVE_FIX,
        )
    saved = contents.get(0)
    if isinstance(saved, Exception):
        return wrong(
            f"torch.load(path, weights_only=True) cannot read the file rank 0 wrote ({type(saved).__name__})",
            "write the state dict with torch.save(state, path)",
            expected=_SAVE_FIX,
        )
    if not _same(saved, state):
        if isinstance(saved, dict) and set(saved) < set(state):
            return wrong(
                f"the file holds only {sorted(saved)} of the state's entries {sorted(state)}",
                "save the whole state dict you receive",
                expected=_SAVE_FIX,
            )
        return wrong("the file does not hold the state the function received", "save `state` itself, unchanged", expected=_SAVE_FIX)
    return right("only rank 0 writes, the whole state. In a real run the others then wait at dist.barrier() before reading it.")
