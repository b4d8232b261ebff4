"""The rules every checker shares (helpers/exercises/_core.py)."""

from fractions import Fraction

import numpy as np
import pytest
import torch

from helpers.exercises import REVEAL_AFTER, run_solutions
from helpers.exercises._core import as_number, call_student, checker, not_done, right, wrong


@checker
def check_answer(value, reveal_text="42"):
    if value is ...:
        return not_done(expected=reveal_text)
    return right("yes") if value == 42 else wrong("not 42-ish", "think of the answer to everything", expected=reveal_text)


@checker
def check_broken(value):
    return {}["missing"]


@checker
def check_returns_junk(value):
    return True


def test_hint_first_answer_later(capsys):
    for attempt in range(1, REVEAL_AFTER + 1):
        assert not check_answer(1)
        out = capsys.readouterr().out
        assert out.startswith("Not yet. not 42-ish\nHint: think of the answer")
        assert ("The expected answer: 42" in out) == (attempt >= REVEAL_AFTER), (attempt, out)


def test_reveal_on_request_and_right_resets_the_count(capsys):
    assert not check_answer(1, reveal=True)
    assert "The expected answer: 42" in capsys.readouterr().out
    assert not check_answer(..., reveal=True)
    assert "The expected answer: 42" in capsys.readouterr().out
    assert check_answer(42)
    assert capsys.readouterr().out == "Correct! yes\n"
    for _ in range(REVEAL_AFTER - 1):
        check_answer(1)
    assert "The expected answer" not in capsys.readouterr().out


def test_placeholder_does_not_count_as_a_try(capsys):
    for _ in range(REVEAL_AFTER + 1):
        assert not check_answer(...)
    check_answer(1)
    out = capsys.readouterr().out
    assert "The expected answer" not in out and out.count("Not done yet") == REVEAL_AFTER + 1


@pytest.mark.parametrize("broken", [check_broken, check_returns_junk])
def test_a_checker_never_raises(broken, capsys):
    assert not broken(1)
    assert "failed on its own" in capsys.readouterr().out


@pytest.mark.parametrize("value", [3, 3.0, Fraction(6, 2), np.int64(3), np.float32(3), torch.tensor(3), torch.tensor([3.0]), np.array(3.0)])
def test_numbers_in_any_spelling(value):
    assert as_number(value) == 3.0


@pytest.mark.parametrize("value", [True, np.bool_(False), "3", b"3", [3], torch.ones(2), None, torch.tensor(1j)])
def test_not_numbers(value):
    assert as_number(value) is None


def learner(a, b):
    c = a + 1
    return c / b  # ZeroDivisionError here


def test_learner_error_names_the_learners_line():
    ok, verdict = call_student(learner, (1, 0), ("a", "b"))
    assert not ok and "ZeroDivisionError" in verdict.message and "return c / b" in verdict.message


def test_learner_error_inside_torch_still_names_the_learners_line():
    def uses_torch(x):
        return torch.ones(2, 3) @ x

    ok, verdict = call_student(uses_torch, (torch.ones(2),), ("x",))
    assert not ok and "RuntimeError" in verdict.message and "return torch.ones(2, 3) @ x" in verdict.message


def test_wrong_parameters_are_named():
    ok, verdict = call_student(lambda a: a, (1, 2), ("model", "optimizer"))
    assert not ok and "takes (a)" in verdict.message and "(model, optimizer)" in verdict.message


def test_stub_is_not_done():
    def stub(x):
        raise NotImplementedError

    ok, verdict = call_student(stub, (1,), ("x",))
    assert not ok and verdict.kind == "not_done"


def test_run_solutions_hides_the_verdicts_and_fails_loudly(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    good = tmp_path / "good.py"
    good.write_text("from tests_core_helper import check_answer\nassert check_answer(42)\n")
    (tmp_path / "tests_core_helper.py").write_text("from test_exercises import check_answer\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    run_solutions("good.py")
    out = capsys.readouterr().out
    assert "Correct" not in out and "good.py passes its checker (check_answer)" in out
    bad = tmp_path / "bad.py"
    bad.write_text("from tests_core_helper import check_answer\ncheck_answer(1)\n")
    with pytest.raises(AssertionError, match="rejected by check_answer"):
        run_solutions("bad.py")
    assert "Not yet" in capsys.readouterr().out
    (tmp_path / "none.py").write_text("x = 1\n")
    with pytest.raises(AssertionError, match="called no checker"):
        run_solutions("none.py")
    with pytest.raises(FileNotFoundError, match="no solutions file"):
        run_solutions("missing.py")


def test_a_compiled_library_frame_is_not_the_learners_line():
    import numpy as np

    def restores_rng_by_hand(state):
        np.random.set_state(state)  # the learner's line
        return True

    ok, verdict = call_student(restores_rng_by_hand, ({"not": "a state"},), ("state",))
    assert not ok and "np.random.set_state(state)" in verdict.message, verdict.message


def test_number_answer_turns_every_non_number_into_a_verdict():
    from helpers.exercises._core import Verdict, number_answer

    assert number_answer(np.float32(2.5)) == 2.5
    for value, kind, text in [(..., "not_done", "replace the `...`"), ("2.5", "wrong", "without quotes"), ([2.5], "wrong", "give one number")]:
        verdict = number_answer(value, expected="2.5")
        assert isinstance(verdict, Verdict) and verdict.kind == kind and verdict.expected == "2.5"
        assert text in verdict.message + verdict.hint
