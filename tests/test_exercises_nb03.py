"""Notebook 03's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import copy

import numpy as np
import pytest
import torch
from torch import nn

from helpers.exercises import REVEAL_AFTER, check_adam_bytes, check_snapshot
from helpers.exercises._core import reset_tries


def exercise_model():
    """The exercise's model: its first Linear frozen, a bias-free middle layer."""
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 20, bias=False), nn.ReLU(), nn.Linear(20, 3))
    model[0].requires_grad_(False)
    return model


N = 20 * 20 + (20 * 3 + 3)  # 463 trainable numbers in 3 tensors (the frozen first Linear gets no state)
P = 4 * N  # their bytes
EXPECTED = 3 * P + 3 * 4  # exp_avg, exp_avg_sq, max_exp_avg_sq + three float32 steps: 5568


def test_the_expected_value_is_what_adam_keeps():
    model = exercise_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, amsgrad=True)
    model(torch.randn(2, 10)).sum().backward()
    optimizer.step()
    kept = sum(v.numel() * v.element_size() for s in optimizer.state.values() for v in s.values())
    assert kept == EXPECTED == 5568


ADAM_WRONG = {
    "parameters only (1x)": (P, "size of the parameters themselves"),
    "exp_avg only": (P + 12, "exp_avg only"),
    "plain Adam's 2x": (2 * P + 12, "you left out amsgrad's max_exp_avg_sq"),
    "3x without step counters": (3 * P, "its own 'step' counter"),
    "one step for the model": (3 * P + 4, "one step counter for the whole model"),
    "one step per layer": (3 * P + 8, "one step counter per layer"),
    "float64 steps": (3 * P + 8 * 3, "4 bytes), not a float64"),
    "a bias on every layer (or int64 steps per layer)": (3 * P + 16, "bias=False has a weight only"),
    "section 5's formula, 4 steps": (3 * P + 4 * 4, "bias=False has a weight only"),
    "parameters + state": (P + EXPECTED, "the parameters themselves next to the state"),
    "parameters + gradients + state": (2 * P + EXPECTED, "memory of training"),
    "bits, not bytes": (8 * EXPECTED, "a byte is 8 bits"),
    "numbers, not bytes": (3 * N + 3, "you counted numbers, not bytes"),
    "numbers, no steps": (3 * N, "you counted numbers, not bytes"),
    "8 bytes per number": (2 * EXPECTED, "8 bytes per number"),
    "8 bytes per number, 4-byte steps": (3 * 8 * N + 12, "8 bytes per number"),
    "biases forgotten": (3 * 4 * 460 + 12, "left out the biases"),
    "biases and their steps forgotten": (3 * 4 * 460 + 8, "left out the biases"),
    "the frozen layer counted": (3 * 4 * (N + 220) + 5 * 4, "state for the frozen tensors too"),
    "the frozen layer's moments counted": (3 * 4 * (N + 220) + 3 * 4, "moments for the frozen tensors too"),
    "frozen layer counted, plain Adam": (2 * 4 * (N + 220) + 5 * 4, "state for the frozen tensors too, and"),
    "a fraction": (5568.5, "a whole number"),
    "text": ("5568", "without quotes"),
    "a list": ([2000, 3568], "give one number of bytes"),
    "a bool": (True, "give one number of bytes"),
    "a two-element tensor": (torch.tensor([2784, 2784]), "give one number of bytes"),
    "a bias for the bias=False layer": (3 * 4 * (N + 20) + 4 * 4, "the middle Linear (model[2]) has bias=False: no bias, so no state for it"),
    "a bias for the bias=False layer, no step for it": (3 * 4 * (N + 20) + 3 * 4, "the middle Linear (model[2]) has bias=False"),
    "something else": (1234, "float32 'step'"),
}


def test_the_wrong_answers_are_all_different():
    values = [v for v, _ in ADAM_WRONG.values() if isinstance(v, int) and not isinstance(v, bool)]
    assert EXPECTED not in values
    # one value, two mistakes: the message names both
    assert len(values) - len(set(values)) == 1 and ADAM_WRONG["section 5's formula, 4 steps"][0] == ADAM_WRONG["a bias on every layer (or int64 steps per layer)"][0]


@pytest.mark.parametrize("case", sorted(ADAM_WRONG))
def test_adam_bytes_rejects_with_a_hint_not_the_answer(case, capsys):
    reset_tries()
    answer, hint = ADAM_WRONG[case]
    assert not check_adam_bytes(answer, exercise_model(), amsgrad=True)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    echoed = out.replace(repr(answer), "").replace(f"{answer:g}" if isinstance(answer, float) else "", "")
    assert "5568" not in echoed, out  # only the learner's own answer may be echoed
    assert "The expected answer" not in out


@pytest.mark.parametrize(
    "answer",
    [5568, 5568.0, np.int64(5568), np.int32(5568), np.float64(5568.0), torch.tensor(5568), torch.tensor(5568.0), torch.tensor([5568]), np.array(5568)],
    ids=repr,
)
def test_adam_bytes_accepts_every_spelling_of_the_number(answer, capsys):
    assert check_adam_bytes(answer, exercise_model(), amsgrad=True)
    assert capsys.readouterr().out.startswith("Correct!")


def test_adam_bytes_accepts_the_worked_formula(capsys):
    trainable = [p for p in exercise_model().parameters() if p.requires_grad]
    assert check_adam_bytes(3 * 4 * sum(p.numel() for p in trainable) + 4 * len(trainable), exercise_model(), amsgrad=True)


def test_adam_bytes_placeholder_is_not_done_and_not_a_try(capsys):
    for _ in range(REVEAL_AFTER + 1):
        assert not check_adam_bytes(..., exercise_model(), amsgrad=True)
        out = capsys.readouterr().out
        assert out.startswith("Not done yet") and "5568" not in out


def test_adam_bytes_reveals_only_when_asked_or_after_repeated_tries(capsys):
    reset_tries()
    for _ in range(REVEAL_AFTER - 1):
        assert not check_adam_bytes(3716, exercise_model(), amsgrad=True)
        assert "5568" not in capsys.readouterr().out
    assert not check_adam_bytes(3716, exercise_model(), amsgrad=True)
    assert "The expected answer: 5568 bytes" in capsys.readouterr().out
    assert not check_adam_bytes(..., exercise_model(), amsgrad=True, reveal=True)
    assert "The expected answer: 5568 bytes" in capsys.readouterr().out


def test_adam_bytes_wrong_model_argument_does_not_raise(capsys):
    assert not check_adam_bytes(5568, "model", amsgrad=True)
    assert "the second argument must be the model" in capsys.readouterr().out


def test_adam_bytes_follows_the_model_and_the_optimizer_it_is_given(capsys):
    model = nn.Linear(4, 2)  # 10 numbers in 2 tensors
    assert check_adam_bytes(2 * 4 * 10 + 2 * 4, model)  # plain Adam, the default
    assert check_adam_bytes(3 * 4 * 10 + 2 * 4, model, amsgrad=True)
    reset_tries()
    assert not check_adam_bytes(3 * 4 * 10 + 2 * 4, model)
    assert "max_exp_avg_sq exists only with amsgrad=True" in capsys.readouterr().out


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
    "detach only": (lambda m: {k: v.detach() for k, v in m.state_dict().items()}, "(detach(), .data"),
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
    "v.cpu() (no copy on the CPU)": (lambda m: {k: v.cpu() for k, v in m.state_dict().items()}, "copy nothing"),
    ".data": (lambda m: {k: v.data for k, v in m.state_dict().items()}, "copy nothing"),
    "contiguous()": (lambda m: {k: v.contiguous() for k, v in m.state_dict().items()}, "copy nothing"),
    "tolist()": (lambda m: {k: v.tolist() for k, v in m.state_dict().items()}, "load_state_dict needs tensors"),
    "buffers shared, parameters copied": (
        lambda m: {k: (v.clone() if k in dict(m.named_parameters()) else v) for k, v in m.state_dict().items()},
        "the buffers ['1.running_mean', '1.running_var', '1.num_batches_tracked'] still share memory",
    ),
    "parameters copied, named_buffers() kept": (
        lambda m: {**{k: p.detach().clone() for k, p in m.named_parameters()}, **dict(m.named_buffers())},
        "your parameters are copies, but the buffers ['1.running_mean', '1.running_var', '1.num_batches_tracked'] are the model's own tensors",
    ),
    "named_parameters() kept, buffers copied": (
        lambda m: {**dict(m.named_parameters()), **{k: b.clone() for k, b in m.named_buffers()}},
        "holds the model's own tensors for ['0.weight', '0.bias', '1.weight', '1.bias']",
    ),
    "only the integer buffer shared": (
        lambda m: {k: (v.clone() if v.is_floating_point() else v.detach()) for k, v in m.state_dict().items()},
        "the buffers ['1.num_batches_tracked'] still share memory",
    ),
    "passes the result": ({}, "pass your function itself"),
    "crashes": (lambda m: m.state_dict()["missing"], "your code raised KeyError"),
    "wrong parameters": (lambda m, o: m.state_dict(), "the checker calls it as"),
}


SOLUTION_CODE = ("v.clone()", "deepcopy(model.state_dict())", "for k, v in")


@pytest.mark.parametrize("case", sorted(SNAPSHOT_WRONG))
def test_snapshot_rejects_with_a_hint(case, capsys):
    reset_tries()
    answer, hint = SNAPSHOT_WRONG[case]
    assert not check_snapshot(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "Correct!" not in out and "The expected answer" not in out and "failed on its own" not in out
    assert not any(code in out for code in SOLUTION_CODE), out  # no first try shows the solution code


def test_snapshot_reveals_the_code_only_after_repeated_tries(capsys):
    reset_tries()
    for _ in range(REVEAL_AFTER - 1):
        assert not check_snapshot(lambda m: m.state_dict())
        assert "clone()" not in capsys.readouterr().out
    assert not check_snapshot(lambda m: m.state_dict())
    assert "The expected answer: {k: v.clone() for k, v in model.state_dict().items()}" in capsys.readouterr().out


def test_snapshot_stub_is_not_done(capsys):
    assert not check_snapshot(stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_snapshot_leaves_the_learners_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check_snapshot(snap_clone)
    assert torch.equal(torch.rand(3), expected)


def test_snapshot_buffer_hints_name_only_the_buffers_that_changed(capsys):
    reset_tries()
    assert not check_snapshot(SNAPSHOT_WRONG["only the integer buffer shared"][0])
    out = capsys.readouterr().out
    assert "num_batches_tracked" in out and "running_mean" not in out and "running_var" not in out, out
    assert "keep_vars" not in out


def test_snapshot_parameters_copied_buffers_kept_is_not_called_keep_vars(capsys):
    reset_tries()
    assert not check_snapshot(SNAPSHOT_WRONG["parameters copied, named_buffers() kept"][0])
    assert "keep_vars" not in capsys.readouterr().out


def test_snapshot_stub_reveals_the_answer(capsys):
    assert not check_snapshot(stub, reveal=True)
    out = capsys.readouterr().out
    assert out.startswith("Not done yet") and "The expected answer: {k: v.clone()" in out, out


@pytest.mark.parametrize("answer", [{}, lambda m, o: m.state_dict(), lambda m: m.state_dict()["missing"]], ids=["result", "parameters", "crash"])
def test_snapshot_every_wrong_verdict_can_reveal(answer, capsys):
    reset_tries()
    assert not check_snapshot(answer, reveal=True)
    assert "The expected answer: {k: v.clone()" in capsys.readouterr().out


def test_adam_bytes_bias_hint_follows_the_model(capsys):
    """The bias=False hint names the layer of the model passed in, and stays out when every layer has a bias."""
    reset_tries()
    model = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Linear(3, 2))  # 12 + 8 numbers in 3 tensors
    assert not check_adam_bytes(2 * 4 * (20 + 3) + 4 * 4, model)
    assert "the Linear model[0] has bias=False" in capsys.readouterr().out
    assert not check_adam_bytes(2 * 4 * (10 + 3) + 3 * 4, nn.Linear(4, 2))
    assert "bias=False" not in capsys.readouterr().out


def test_adam_bytes_wrong_model_argument_can_reveal(capsys):
    reset_tries()
    assert not check_adam_bytes(5568, "model", amsgrad=True, reveal=True)
    assert "The expected answer: " in capsys.readouterr().out
