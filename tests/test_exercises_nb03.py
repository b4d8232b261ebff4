"""Notebook 03's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import REVEAL_AFTER, check_adam_bytes, check_snapshot


def exercise_model():
    return nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))


N = (10 * 20 + 20) + (20 * 3 + 3)  # 263 numbers in 4 tensors
EXPECTED = 2 * 4 * N + 4 * 4  # 2280


def test_the_expected_value_is_what_adam_keeps():
    model = exercise_model()
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(2, 10)).sum().backward()
    optimizer.step()
    kept = sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values())
    assert kept == EXPECTED == 2280


ADAM_WRONG = {
    "parameters only (1x)": (4 * N, "size of the parameters themselves"),
    "2x without step counters": (2 * 4 * N, "its own 'step' counter"),
    "one step for the model": (2 * 4 * N + 4, "one step counter for the whole model"),
    "one step per layer": (2 * 4 * N + 8, "one step counter per layer"),
    "float64 step": (2 * 4 * N + 8 * 4, "4 bytes), not a float64"),
    "amsgrad's 3x": (3 * 4 * N + 16, "amsgrad=True"),
    # the same number as amsgrad's state: one message names both mistakes
    "parameters + state": (4 * N + EXPECTED, "the parameters themselves next to the state"),
    "bits, not bytes": (8 * EXPECTED, "a byte is 8 bits"),
    "numbers, not bytes": (2 * N + 4, "you counted numbers, not bytes"),
    "numbers, no steps": (2 * N, "you counted numbers, not bytes"),
    "parameters + gradients + state": (8 * N + EXPECTED, "memory of training"),
    "biases forgotten": (2 * 4 * 260 + 16, "left out the biases"),
    "biases and their steps forgotten": (2 * 4 * 260 + 8, "left out the biases"),
    "a fraction": (2280.5, "a whole number"),
    "text": ("2280", "without quotes"),
    "a list": ([1000, 1280], "give one number of bytes"),
    "a bool": (True, "give one number of bytes"),
    "a two-element tensor": (torch.tensor([1140, 1140]), "give one number of bytes"),
    "something else": (1234, "float32 'step'"),
}


@pytest.mark.parametrize("case", sorted(ADAM_WRONG))
def test_adam_bytes_rejects_with_a_hint_not_the_answer(case, capsys):
    answer, hint = ADAM_WRONG[case]
    assert not check_adam_bytes(answer, exercise_model())
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    echoed = out.replace(repr(answer), "").replace(f"{answer:g}" if isinstance(answer, float) else "", "")
    assert "2280" not in echoed, out  # only the learner's own answer may be echoed
    assert "The expected answer" not in out


@pytest.mark.parametrize(
    "answer",
    [2280, 2280.0, np.int64(2280), np.int32(2280), np.float64(2280.0), torch.tensor(2280), torch.tensor(2280.0), torch.tensor([2280]), np.array(2280)],
    ids=repr,
)
def test_adam_bytes_accepts_every_spelling_of_the_number(answer, capsys):
    assert check_adam_bytes(answer, exercise_model())
    assert capsys.readouterr().out.startswith("Correct!")


def test_adam_bytes_accepts_the_worked_formula(capsys):
    n_numbers = sum(p.numel() for p in exercise_model().parameters())
    assert check_adam_bytes(2 * 4 * n_numbers + 4 * 4, exercise_model())


def test_adam_bytes_placeholder_is_not_done_and_not_a_try(capsys):
    for _ in range(REVEAL_AFTER + 1):
        assert not check_adam_bytes(..., exercise_model())
        out = capsys.readouterr().out
        assert out.startswith("Not done yet") and "2280" not in out


def test_adam_bytes_reveals_only_when_asked_or_after_repeated_tries(capsys):
    for _ in range(REVEAL_AFTER - 1):
        assert not check_adam_bytes(2104, exercise_model())
        assert "2280" not in capsys.readouterr().out
    assert not check_adam_bytes(2104, exercise_model())
    assert "The expected answer: 2280 bytes" in capsys.readouterr().out
    assert not check_adam_bytes(..., exercise_model(), reveal=True)
    assert "The expected answer: 2280 bytes" in capsys.readouterr().out


def test_adam_bytes_wrong_model_argument_does_not_raise(capsys):
    assert not check_adam_bytes(2280, "model")
    assert "the second argument must be the model" in capsys.readouterr().out


def test_adam_bytes_follows_the_model_it_is_given(capsys):
    model = nn.Linear(4, 2)  # 10 numbers in 2 tensors
    assert check_adam_bytes(2 * 4 * 10 + 2 * 4, model)


# --- check_snapshot --------------------------------------------------------------------


def snap_deepcopy(model):
    return copy.deepcopy(model.state_dict())


def snap_clone(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def snap_copy_of_model(model):
    return copy.deepcopy(model).state_dict()


def snap_cpu_clone(model):
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


SNAPSHOT_RIGHT = [snap_deepcopy, snap_clone, snap_copy_of_model, snap_cpu_clone]


@pytest.mark.parametrize("answer", SNAPSHOT_RIGHT, ids=lambda f: f.__name__)
def test_snapshot_accepts(answer, capsys):
    assert check_snapshot(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def stub(model):
    raise NotImplementedError


SNAPSHOT_WRONG = {
    "no clone": (lambda m: m.state_dict(), "model.state_dict() (like a shallow copy of it) copies no tensor"),
    "copy.copy": (lambda m: copy.copy(m.state_dict()), "copies no tensor"),
    "shallow dict copy": (lambda m: dict(m.state_dict()), "you made a new dict, but its tensors still share memory"),
    "OrderedDict.copy()": (lambda m: m.state_dict().copy(), "its tensors still share memory"),
    "detach only": (lambda m: {k: v.detach() for k, v in m.state_dict().items()}, "detach() shares it too"),
    "parameters only": (lambda m: {n: p.detach().clone() for n, p in m.named_parameters()}, "leaves out the buffers"),
    "keep_vars": (lambda m: m.state_dict(keep_vars=True), "keep_vars=True copies nothing"),
    "the model itself": (lambda m: m, "you returned the model itself"),
    "a deep copy of the model": (lambda m: copy.deepcopy(m), "you returned a module, not a dict"),
    "numpy copies": (lambda m: {k: v.numpy().copy() for k, v in m.state_dict().items()}, "are not tensors"),
    "new empty tensors": (lambda m: {k: torch.zeros_like(v) for k, v in m.state_dict().items()}, "do not create new tensors"),
    "a list": (lambda m: list(m.state_dict().values()), "return a dict like model.state_dict()"),
    "renamed keys": (lambda m: {"model." + k: v.clone() for k, v in m.state_dict().items()}, "keys differ"),
    "buffers shared": (
        lambda m: {k: (v.clone() if "running" not in k else v) for k, v in m.state_dict().items()},
        "'1.running_mean'",
    ),
    "passes the result": ({}, "pass your function itself"),
    "crashes": (lambda m: m.state_dict()["missing"], "your code raised KeyError"),
    "wrong parameters": (lambda m, o: m.state_dict(), "the checker calls it as"),
}


@pytest.mark.parametrize("case", sorted(SNAPSHOT_WRONG))
def test_snapshot_rejects_with_a_hint(case, capsys):
    answer, hint = SNAPSHOT_WRONG[case]
    assert not check_snapshot(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "Correct!" not in out and "The expected answer" not in out


def test_snapshot_stub_is_not_done(capsys):
    assert not check_snapshot(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_snapshot_leaves_the_learners_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_snapshot(snap_clone)
    assert torch.equal(torch.rand(3), expected)
