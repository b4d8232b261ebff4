"""Notebook 10's checkers against a table of plausible wrong answers, and right ones in other spellings."""

import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import clip_grad_norm_

from helpers.exercises import check_amp_step, check_step_happened, reset_tries
from helpers.exercises.nb10 import AMP_ANSWER, STEP_HAPPENED_ANSWER, _AMP_MISTAKES, _expected_runs, _same, scale_events

F = nn.functional


@pytest.fixture(autouse=True)
def _fresh_tries():
    reset_tries()
    yield
    reset_tries()


def autocast():
    return torch.autocast("cpu", dtype=torch.float16)


# --- exercise 1: amp_step(model, optimizer, scaler, micro_batches, max_norm) ----------------


def amp_right(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.float16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_zero_at_start(model, optimizer, scaler, micro_batches, max_norm):
    optimizer.zero_grad(set_to_none=False)
    k = len(micro_batches)
    for x, y in micro_batches:
        with torch.amp.autocast(device_type="cpu", dtype=torch.float16):
            out = model(x)
            loss = F.cross_entropy(out, y)
        scaler.scale(loss).div(k).backward()  # dividing after scaling: the same numbers
    scaler.unscale_(optimizer)
    clip_grad_norm_(optimizer.param_groups[0]["params"], max_norm=max_norm)
    scaler.step(optimizer)
    scaler.update()


def amp_summed_loss(model, optimizer, scaler, micro_batches, max_norm):
    # one backward over the summed (divided) losses: the same gradient as k backward passes
    total = 0
    for x, y in micro_batches:
        with autocast():
            total = total + F.cross_entropy(model(x), y) / len(micro_batches)
    scaler.scale(total).backward()
    scaler.unscale_(optimizer)
    nn.utils.clip_grad_norm_(list(model.parameters()), max_norm, foreach=False)
    scaler.step(optimizer)
    scaler.update()
    model.zero_grad()


def amp_sum_reduction(model, optimizer, scaler, micro_batches, max_norm):
    # summed losses over all the samples: the same numbers as the mean per micro-batch divided by k
    samples = sum(len(x) for x, _ in micro_batches)
    for x, y in micro_batches:
        with torch.autocast(device_type="cpu", dtype=torch.half):
            loss = F.cross_entropy(model(x), y, reduction="sum") / samples
            scaler.scale(loss).backward()  # backward inside autocast: allowed, the same numbers
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=False)


AMP_RIGHT = [amp_right, amp_zero_at_start, amp_summed_loss, amp_sum_reduction]


def amp_clip_before_unscale(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.unscale_(optimizer)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_no_unscale(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)  # unscales inside, after the clipping
    scaler.update()
    optimizer.zero_grad()


def amp_no_clip(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_clip_in_loop(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
        clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_unscale_in_loop(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_not_divided(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_divided_by_4(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / 4
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_zero_in_loop(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        optimizer.zero_grad()
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()


def amp_never_zero(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()


def amp_optimizer_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    scaler.update()
    optimizer.zero_grad()


def amp_no_scaler(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        loss.backward()
    clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    optimizer.zero_grad()


def amp_no_autocast(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_cuda_autocast(model, optimizer, scaler, micro_batches, max_norm):
    # autocast for a device the tensors are not on: it changes nothing here
    for x, y in micro_batches:
        with torch.autocast("cuda", dtype=torch.float16, enabled=False):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_bfloat16(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_no_update(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    optimizer.zero_grad()


def amp_update_before_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.update()
    scaler.step(optimizer)
    optimizer.zero_grad()


def amp_update_only(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.update()


def amp_clip_to_one(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), 1.0)  # a fixed threshold, not max_norm
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_loss_outside_autocast(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            logits = model(x)
        loss = F.cross_entropy(logits, y) / len(micro_batches)  # float16 logits, outside autocast
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_backward_unscaled(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        loss.backward()  # scaler.scale forgotten
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_clip_each_parameter(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    for p in model.parameters():
        clip_grad_norm_(p, max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_clip_by_value(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    nn.utils.clip_grad_value_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_one_big_batch(model, optimizer, scaler, micro_batches, max_norm):
    x = torch.cat([xb for xb, _ in micro_batches])
    y = torch.cat([yb for _, yb in micro_batches])
    with autocast():
        loss = F.cross_entropy(model(x), y)
    scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_divided_by_batch_size(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(x)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_zero_before_step(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm)
    optimizer.zero_grad()
    scaler.step(optimizer)
    scaler.update()


def amp_error_if_nonfinite(model, optimizer, scaler, micro_batches, max_norm):
    for x, y in micro_batches:
        with autocast():
            loss = F.cross_entropy(model(x), y) / len(micro_batches)
        scaler.scale(loss).backward()
    scaler.unscale_(optimizer)
    clip_grad_norm_(model.parameters(), max_norm, error_if_nonfinite=True)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()


def amp_scale_set_by_hand(model, optimizer, scaler, micro_batches, max_norm):
    amp_right(model, optimizer, scaler, micro_batches, max_norm)
    scaler.update(scaler.get_scale() / 2)  # an extra update with a scale of one's own


def amp_stub(model, optimizer, scaler, micro_batches, max_norm):
    raise NotImplementedError


def amp_four_args(model, optimizer, scaler, micro_batches):
    amp_right(model, optimizer, scaler, micro_batches, 1.0)


AMP_WRONG = {
    "clip before unscale_": (amp_clip_before_unscale, "your clipping saw the scaled gradients"),
    "no unscale_ at all": (amp_no_unscale, "your clipping saw the scaled gradients"),
    "no clipping": (amp_no_clip, "max_norm had no effect"),
    "clip inside the loop": (amp_clip_in_loop, "you clipped inside the micro-batch loop"),
    "unscale_ inside the loop": (amp_unscale_in_loop, "not inside the loop"),
    "loss not divided": (amp_not_divided, "as many times too large as there are micro-batches"),
    "divided by 4": (amp_divided_by_4, "you divided by 4 whatever the number"),
    "zero_grad in the loop": (amp_zero_in_loop, "only the last micro-batch's gradient reached the step"),
    "never zero_grad": (amp_never_zero, "the gradients of the previous call were still in .grad"),
    "optimizer.step()": (amp_optimizer_step, "a step happened in the call whose gradient overflowed"),
    "no scaler": (amp_no_scaler, "your step did not go through the scaler"),
    "no autocast": (amp_no_autocast, "your forward pass ran in float32"),
    "autocast for cuda": (amp_cuda_autocast, "your forward pass ran in float32"),
    "bfloat16": (amp_bfloat16, "another precision than float16"),
    "no update()": (amp_no_update, "scaler.update() comes after scaler.step(optimizer)"),
    "update() before step": (amp_update_before_step, "scaler.update() comes after scaler.step(optimizer)"),
    "update() only": (amp_update_only, "update() reads what unscale_ or scaler.step(optimizer) found"),
    "fixed threshold": (amp_clip_to_one, "the weights or the momentum buffers differ"),
    "loss outside autocast": (amp_loss_outside_autocast, "your loss was float16, computed outside autocast"),
    "backward without scaler.scale": (amp_backward_unscaled, "the backward starts from scaler.scale(loss)"),
    "clip each parameter": (amp_clip_each_parameter, "every parameter tensor a budget of max_norm of its own"),
    "clip by value": (amp_clip_by_value, "capped each gradient entry at max_norm"),
    "one big batch": (amp_one_big_batch, "one forward pass over all the micro-batches"),
    "divided by the batch size": (amp_divided_by_batch_size, "you divided by the number of samples"),
    "zero_grad before the step": (amp_zero_before_step, ".grad was already cleared when the scaler's step ran"),
    "error_if_nonfinite": (amp_error_if_nonfinite, "leave error_if_nonfinite at its default"),
    "scale set by hand": (amp_scale_set_by_hand, "the loss scale is 32768, lower than after a right step"),
    "wrong parameters": (amp_four_args, "define it with exactly these parameters"),
    "passes the result": (None, "pass your function itself"),
}


@pytest.mark.parametrize("case", sorted(AMP_WRONG))
def test_amp_step_rejects(case, capsys):
    answer, hint = AMP_WRONG[case]
    assert not check_amp_step(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out


@pytest.mark.parametrize("answer", AMP_RIGHT)
def test_amp_step_accepts(answer, capsys):
    assert check_amp_step(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_amp_step_stub_is_not_done(capsys):
    assert not check_amp_step(amp_stub)
    assert capsys.readouterr().out.startswith("Not done yet")


def test_amp_step_reveals_on_the_third_try(capsys):
    for _ in range(2):
        check_amp_step(amp_no_clip)
    assert "The expected answer" not in capsys.readouterr().out
    check_amp_step(amp_no_clip)
    assert "The expected answer: " + AMP_ANSWER in capsys.readouterr().out


def test_amp_step_leaves_torch_threads_as_they_were():
    threads = torch.get_num_threads()
    check_amp_step(amp_right)
    assert torch.get_num_threads() == threads


def test_the_amp_data_tell_the_mistakes_apart():
    """Every mistake of the table has a run of its own, different from the right run."""
    reference, mistakes = _expected_runs()
    runs = [reference, *mistakes]
    names = ["right"] + [name for name, *_ in _AMP_MISTAKES]
    for i in range(len(runs)):
        for j in range(i):
            assert not all(_same(a, b) for a, b in zip(runs[i], runs[j])), (names[i], names[j])


def test_the_amp_reference_skips_the_overflowing_call_only():
    reference, _ = _expected_runs()
    (w1, _, s1), (w2, _, s2), (w3, _, s3), _ = reference
    assert all(torch.equal(a, b) for a, b in zip(w1, w2)) and s2 == s1 / 2 == s3  # skipped, halved
    assert not all(torch.equal(a, b) for a, b in zip(w2, w3))


# --- exercise 2: step_happened(scale_before, scale_after) -----------------------------------


def happened_right(scale_before, scale_after):
    return scale_after >= scale_before


def happened_not_lower(scale_before, scale_after):
    return not scale_after < scale_before


def happened_ratio(scale_before, scale_after):
    return np.bool_(scale_after / scale_before >= 1)


def happened_tensor(scale_before, scale_after):
    return torch.tensor(scale_after) >= torch.tensor(scale_before)


def happened_log2(scale_before, scale_after):
    return bool(math.log2(scale_after) - math.log2(scale_before) >= 0)


HAPPENED_RIGHT = [happened_right, happened_not_lower, happened_ratio, happened_tensor, happened_log2]

HAPPENED_WRONG = {
    "==": (lambda b, a: a == b, "you said the step was skipped when the scale grew"),
    "!=": (lambda b, a: a != b, "wrong for"),
    ">": (lambda b, a: a > b, "you said the step was skipped when the scale stayed the same"),
    "< (inverted)": (lambda b, a: a < b, "every answer was the opposite"),
    "!= half": (lambda b, a: a != b / 2, "backoff_factor, which is 0.5 only by default"),
    "== or doubled": (lambda b, a: a == b or a == 2 * b, "growth_factor, which is 2 only by default"),
    "always True": (lambda b, a: True, "you said the step ran when the scale went down"),
    "int": (lambda b, a: int(a >= b), "not True or False"),
    "text": (lambda b, a: "yes" if a >= b else "no", "not True or False"),
    "None": (lambda b, a: None, "not True or False"),
    "compares with 65536": (lambda b, a: a >= 65536, "wrong for"),
    "> half (default backoff only)": (lambda b, a: a > b / 2, "backoff_factor, which is 0.5 only by default"),
    "ratio above 0.5": (lambda b, a: a / b > 0.5, "multiplied by 0.9 (backoff_factor=0.9)"),
    "== or x2 or x4": (lambda b, a: a in (b, 2 * b, 4 * b), "grew by another factor than 2 (1.5)"),
    "0-d float tensor": (lambda b, a: torch.tensor(float(a >= b)), "not True or False"),
    "one parameter": (lambda scale: True, "define it with exactly these parameters"),
}


@pytest.mark.parametrize("case", sorted(HAPPENED_WRONG))
def test_step_happened_rejects(case, capsys):
    answer, hint = HAPPENED_WRONG[case]
    assert not check_step_happened(answer)
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and hint in out, out
    assert "The expected answer" not in out and ">=" not in out


@pytest.mark.parametrize("answer", HAPPENED_RIGHT)
def test_step_happened_accepts(answer, capsys):
    assert check_step_happened(answer)
    assert capsys.readouterr().out.startswith("Correct!")


def test_step_happened_stub_and_reveal(capsys):
    def stub(scale_before, scale_after):
        raise NotImplementedError

    assert not check_step_happened(stub)
    assert capsys.readouterr().out.startswith("Not done yet")
    assert not check_step_happened(lambda b, a: a == b, reveal=True)
    assert "The expected answer: " + STEP_HAPPENED_ANSWER in capsys.readouterr().out


def test_the_scale_events_come_from_real_scalers_and_cover_every_kind():
    events = scale_events()
    kinds = {kind for *_, kind in events}
    assert kinds == {"same", "grew", "grew by 4", "grew by 1.5", "halved", "quartered", "times 0.9"}
    assert all(happened == (after >= before) for before, after, happened, _ in events)
    assert all(isinstance(b, float) and isinstance(a, float) and math.isfinite(a) for b, a, _, _ in events)


# --- the Chinese edition: lists and a warning after the message, shown whole ------------------



def test_step_happened_lists_read_whole_in_chinese(chinese):
    ratios = check_step_happened.__wrapped__(lambda b, a: a != b).message
    assert ratios == "wrong for 24 of 30 iterations: those where scale_after / scale_before in [0.25, 0.5, 0.9, 1]"
    assert chinese(ratios) == "30 次迭代中有 24 次答错：即 scale_after / scale_before in [0.25, 0.5, 0.9, 1] 的那些迭代"
    lowered = check_step_happened.__wrapped__(lambda b, a: a != b / 2).message
    assert lowered.endswith("was divided by 4 (backoff_factor=0.25) or multiplied by 0.9 (backoff_factor=0.9)")
    assert chinese(lowered) == "缩放系数被除以 4（backoff_factor=0.25）或乘以 0.9（backoff_factor=0.9）时，你却判断这一步运行了"
    grown = check_step_happened.__wrapped__(lambda b, a: a in (b, 2 * b)).message
    assert grown.endswith("by another factor than 2 (1.5 or 4)")
    assert chinese(grown) == "缩放系数按 2 以外的因子（1.5 或 4）增长时，你却判断这一步被跳过了"


def amp_warns_without_clipping(model, optimizer, scaler, micro_batches, max_norm):
    warnings.warn("something odd happened")
    amp_no_clip(model, optimizer, scaler, micro_batches, max_norm)


def test_amp_message_with_the_learners_warning_in_both_languages(chinese):
    message = check_amp_step.__wrapped__(amp_warns_without_clipping).message
    assert message.startswith("in the call where clipping acts") and message.endswith(" (your code also warned: something odd happened)")
    assert chinese(message).endswith("max_norm 没有起作用（你的代码还发出了警告：something odd happened）")
