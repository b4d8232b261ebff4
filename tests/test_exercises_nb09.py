"""Notebook 09's checkers: each plausible wrong answer is rejected with a hint naming the mistake."""

from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pytest
import torch
import torch.distributed as dist

from helpers import check_save_once, check_zero_bytes, i18n, run_distributed, zero_exercise_model
from helpers.exercises import REVEAL_AFTER
from helpers.exercises._core import reset_tries
from helpers.exercises.nb09 import zero_shares

EXPECTED = 22628  # rank 1 holds 0.weight, 4.weight and the three biases: 2826 numbers in 5 tensors


# --- check_zero_bytes ------------------------------------------------------------------

ZERO_JOB = """
import torch, torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP
from helpers import report, zero_exercise_model
dist.init_process_group("gloo")
torch.manual_seed(0)
model = DDP(zero_exercise_model())
optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam)
model(torch.randn(4, 32)).sum().backward()
optimizer.step()
names = {id(p): n for n, p in model.module.named_parameters()}
state = optimizer.optim.state
report({
    "bytes": sum(v.numel() * v.element_size() for s in state.values() for v in s.values()),
    "owned": [names[id(p)] for g in optimizer.optim.param_groups for p in g["params"]],
})
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def real_zero(tmp_path_factory):
    """What ZeroRedundancyOptimizer really keeps on each of 2 ranks for the exercise's model."""
    path = tmp_path_factory.mktemp("zero") / "zero_job.py"
    path.write_text(ZERO_JOB)
    return run_distributed(path, 2, timeout=120)


def test_the_expected_value_is_what_zero_keeps(real_zero):
    assert real_zero[1]["bytes"] == EXPECTED
    names = [n for n, _ in zero_exercise_model().named_parameters()]
    sizes = [p.numel() for p in zero_exercise_model().parameters()]
    assert [sorted(r["owned"]) for r in real_zero] == [sorted(names[i] for i in share) for share in zero_shares(sizes, 2)]


def test_zero_shares_follows_the_rule():
    assert zero_shares([256, 16, 256, 16], 2) == [[0, 1], [2, 3]]  # ties: the lower rank, model order
    assert zero_shares([10, 50, 30, 30], 2) == [[1, 0], [2, 3]]  # 50 | 30, 30 (60 > 50) | then 10 to rank 0


ZERO_WRONG = {
    "the whole state (DDP)": (55400, "what every rank keeps under DDP"),
    "half the state": (27700, "does not cut tensors in halves"),
    "rank 0's share (or the tie to the higher rank)": (32772, "on a tie (at the start both hold 0 numbers) the lower rank"),
    "dealt out in model order": (1116, "in model order"),
    "sorted, dealt out in turn": (16988, "dealt the tensors out in turn"),
    "no step counters": (22608, "left out the step counters"),
    "a step for every tensor": (22632, "a step for every tensor of the model"),
    "an 8-byte step": (22648, "8 bytes for each step"),
    "one moment": (11324, "one moment per number"),
    "the tensors themselves": (11304, "the size of rank 1's tensors themselves"),
    "three moments": (33932, "three moments"),
    "numbers, not bytes": (5657, "numbers, not bytes"),
    "8 bytes a number": (45256, "8 bytes a number"),
    "bits": (8 * EXPECTED, "that is bits"),
    "a fraction": (22628.5, "a whole number"),
    "almost whole": (22628.000001, "you said 22628.000001: a number of bytes is a whole number"),
    "text": ("22628", "without quotes"),
    "a list": ([22608, 20], "give one number of bytes"),
    "something else": (12345, "largest first"),
}


def test_the_wrong_answers_are_all_different():
    values = [v for v, _ in ZERO_WRONG.values() if isinstance(v, int)]
    assert len(values) == len(set(values)) and EXPECTED not in values


@pytest.mark.parametrize("case", sorted(ZERO_WRONG))
def test_zero_bytes_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = ZERO_WRONG[case]
    assert not check_zero_bytes(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "22628" not in out.replace(repr(answer), "").replace(str(answer), "") and "The expected answer" not in out


@pytest.mark.parametrize(
    "answer", [22628, 22628.0, np.int64(22628), np.float32(22628), torch.tensor(22628), torch.tensor(22628.0), np.array(22628)], ids=repr
)
def test_zero_bytes_accepts_every_spelling(answer, capsys):
    assert check_zero_bytes(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_zero_bytes_placeholder_and_reveal(capsys):
    for _ in range(REVEAL_AFTER + 1):
        assert not check_zero_bytes(...)
        assert capsys.readouterr().out.startswith("Not done yet")
    for _ in range(REVEAL_AFTER - 1):
        assert not check_zero_bytes(27700)
        assert "The expected answer" not in capsys.readouterr().out
    assert not check_zero_bytes(27700)
    assert "The expected answer: 22628 bytes: rank 1 holds 0.weight (2048), 4.weight (640)" in capsys.readouterr().out
    reset_tries()
    assert not check_zero_bytes(..., reveal=True)
    assert "The expected answer: 22628 bytes" in capsys.readouterr().out


# --- check_save_once -------------------------------------------------------------------


def save_rank0(state, path, rank):
    if rank == 0:
        torch.save(state, path)


def save_not_rank(state, path, rank):
    if not rank:
        torch.save(state, path)


def save_atomic(state, path, rank):
    if rank != 0:
        return
    temporary = path + ".tmp"
    torch.save(state, temporary)
    os.replace(temporary, path)


def save_copy(state, path, rank):
    if rank < 1:
        torch.save({k: v for k, v in state.items()}, path)


@pytest.mark.parametrize("answer", [save_rank0, save_not_rank, save_atomic, save_copy], ids=lambda f: f.__name__)
def test_save_once_accepts(answer, capsys):
    assert check_save_once(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def save_pickled(state, path, rank):
    if rank == 0:
        with open(path, "wb") as f:
            pickle.dump(state, f)


def stub(state, path, rank):
    raise NotImplementedError


SAVE_WRONG = {
    "every rank writes": (lambda s, p, r: torch.save(s, p), "every rank wrote"),
    "rank 1 writes": (lambda s, p, r: torch.save(s, p) if r == 1 else None, "rank 0 is the one rank every run has"),
    "the last rank writes": (lambda s, p, r: torch.save(s, p) if r == 3 else None, "rank 3 wrote the file, rank 0 did not"),
    "if rank:": (lambda s, p, r: torch.save(s, p) if r else None, "`if rank:` is true for every rank but 0"),
    "rank 0 and 1": (lambda s, p, r: torch.save(s, p) if r < 2 else None, "rank 1 wrote it too"),
    "a file per rank": (lambda s, p, r: torch.save(s, f"{p}.{r}"), "each wrote a file of its own"),
    "nothing": (lambda s, p, r: None, "no rank wrote anything"),
    "rank compared with a string": (lambda s, p, r: torch.save(s, p) if r == "0" else None, "no rank wrote anything"),
    "model only": (lambda s, p, r: torch.save(s["model"], p) if r == 0 else None, "does not hold the state"),
    "part of the state": (lambda s, p, r: torch.save({"model": s["model"]}, p) if r == 0 else None, "holds only ['model']"),
    "a file in the working directory": (lambda s, p, r: torch.save(s, "checkpoint_rank0.pt") if r == 0 else None, "files other than path"),
    "the process group's rank": (lambda s, p, r: torch.save(s, p) if dist.get_rank() == 0 else None, "use the rank argument"),
    "pickle.dump instead of torch.save": (save_pickled, "cannot read the file"),
    "pickled with a lambda": (lambda s, p, r: torch.save({**s, "f": print}, p) if r == 0 else None, "cannot read the file"),
    "passes the result": (None, "pass your function itself"),
    "wrong parameters": (lambda s, p: torch.save(s, p), "the checker calls it as"),
}


@pytest.mark.parametrize("case", sorted(SAVE_WRONG))
def test_save_once_rejects_with_a_hint(case, capsys):
    answer, hint = SAVE_WRONG[case]
    assert not check_save_once(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and "failed on its own" not in out and "if rank == 0" not in out


def test_save_once_reading_a_foreign_file_warns_nothing(capsys):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not check_save_once(save_pickled)
    assert caught == [] and capsys.readouterr().err == ""


def test_save_once_stub_is_not_done_and_reveal_shows_the_fix(capsys):
    assert not check_save_once(stub)
    assert capsys.readouterr().out.startswith("Not done yet")
    assert not check_save_once(stub, reveal=True)
    assert "The expected answer: if rank == 0: torch.save(state, path)" in capsys.readouterr().out
    for _ in range(REVEAL_AFTER):
        check_save_once(SAVE_WRONG["every rank writes"][0])
    assert "The expected answer: if rank == 0" in capsys.readouterr().out


def test_save_once_leaves_the_working_directory_and_rng_alone():
    cwd = os.getcwd()
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    check_save_once(save_rank0)
    assert os.getcwd() == cwd and torch.equal(torch.rand(2), expected)


# --- the Chinese edition: lists of ranks and of tensors, shown whole -------------------------



def test_lists_of_ranks_read_whole_in_chinese(chinese):
    each = check_save_once.__wrapped__(SAVE_WRONG["a file per rank"][0]).message
    assert each.startswith("ranks 0, 1, 2 and 3 each wrote a file of its own (")
    assert chinese(each).startswith("rank 0, 1, 2 和 3 各自写了一个自己的文件（")
    assert chinese(check_save_once.__wrapped__(SAVE_WRONG["if rank:"][0]).message) == "rank 1, 2 和 3 写了文件，rank 0 却没有写"
    assert chinese(check_save_once.__wrapped__(SAVE_WRONG["rank 0 and 1"][0]).message) == "rank 0 写了文件，但 rank 1 也写了"


def test_the_tensor_list_of_the_zero_answer_is_one_part_of_its_message(chinese):
    """The list holds ", " itself: it is captured whole with its total, never split after its first entry."""
    reveal = check_zero_bytes.__wrapped__(1).expected
    holding = "0.weight (2048), 4.weight (640), 0.bias (64), 2.bias (64), 4.bias (10), 2826"
    assert f"22628 bytes: rank 1 holds {holding} numbers in 5 tensors; " in reveal
    _, templates = i18n.load_catalog("zh")
    assert [m.groups() for t in templates if (m := t.pattern.fullmatch(reveal))] == [("22628", "1", holding, "5", "2826", "5")]
    assert f"rank 1 持有 {holding} 个数，分布在 5 个张量中；" in chinese(reveal)
