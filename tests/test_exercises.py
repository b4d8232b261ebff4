import torch
from torch import nn

from helpers.exercises import check_sgd_prediction, check_train_step


def right_step(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.item()


def no_zero_grad(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    return loss.item()


def no_step(model, optimizer, x, y):
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    return loss.item()


def stub(model, optimizer, x, y):
    raise NotImplementedError


def crashes(model, optimizer, x, y):
    return model(x, y)


def test_train_step_right(capsys):
    assert check_train_step(right_step)
    assert capsys.readouterr().out.startswith("Correct!")


def test_train_step_without_zero_grad(capsys):
    assert not check_train_step(no_zero_grad)
    out = capsys.readouterr().out
    assert "Not yet" in out and "zero_grad" in out


def test_train_step_without_step(capsys):
    assert not check_train_step(no_step)
    assert "after step 1 the weights are" in capsys.readouterr().out


def test_train_step_stub_and_crash_are_reported_not_raised(capsys):
    assert not check_train_step(stub)
    assert "Not done yet" in capsys.readouterr().out
    assert not check_train_step(crashes)
    assert "Your code raised TypeError" in capsys.readouterr().out


def test_train_step_wrong_return(capsys):
    assert not check_train_step(lambda m, o, x, y: right_step(m, o, x, y) and "loss")
    assert "return the loss as a number" in capsys.readouterr().out
    assert not check_train_step("train_step")


def test_sgd_prediction(capsys):
    assert check_sgd_prediction(2.6)
    assert check_sgd_prediction(torch.tensor(2.6))
    assert not check_sgd_prediction(2.3)
    assert "torch.optim.SGD gives 2.6000" in capsys.readouterr().out
    assert not check_sgd_prediction(...)
    assert not check_sgd_prediction("two")


def test_check_result_shows_nothing_in_a_notebook():
    result = check_sgd_prediction(2.6)
    assert result._ipython_display_() is None and repr(result) == "CheckResult(ok=True)"


# --- 01 ---------------------------------------------------------------------------------
from helpers import TinyMLP, check_accumulation, check_body_head_lrs, check_moves, check_no_decay_groups  # noqa: E402


def _norm_model():
    return nn.Sequential(nn.Linear(3, 6), nn.LayerNorm(6), nn.Tanh(), nn.Linear(6, 1))


def test_no_decay_right_and_wrong(capsys):
    model = _norm_model()
    decay = [p for p in model.parameters() if p.ndim > 1]
    rest = [p for p in model.parameters() if p.ndim == 1]
    assert check_no_decay_groups(torch.optim.AdamW([{"params": decay, "weight_decay": 0.01}, {"params": rest, "weight_decay": 0}]), model)
    assert "Correct! 4 tensors without decay, 2 with." in capsys.readouterr().out
    assert not check_no_decay_groups(torch.optim.AdamW(model.parameters(), weight_decay=0.01), model)
    assert "0.bias has weight_decay=0.01, expected 0" in capsys.readouterr().out
    assert not check_no_decay_groups(torch.optim.AdamW(model.parameters(), weight_decay=0.0), model)
    assert "0.weight has weight_decay=0, expected > 0" in capsys.readouterr().out
    assert not check_no_decay_groups(torch.optim.AdamW(decay, weight_decay=0.01), model)
    assert "0.bias is not in the optimizer" in capsys.readouterr().out
    assert not check_no_decay_groups(..., model)
    assert "Not done yet" in capsys.readouterr().out
    assert not check_no_decay_groups(model, model)


def test_body_head_lrs_right_and_wrong(capsys):
    net = TinyMLP(2, hidden=4, out_features=2, depth=2)
    right = torch.optim.Adam([{"params": net.body.parameters(), "lr": 1e-4}, {"params": net.head.parameters(), "lr": 1e-2}])
    assert check_body_head_lrs(right, net)
    swapped = torch.optim.Adam([{"params": net.body.parameters(), "lr": 1e-2}, {"params": net.head.parameters(), "lr": 1e-4}])
    assert not check_body_head_lrs(swapped, net)
    assert "body.0.weight trains at lr=0.01, expected 0.0001" in capsys.readouterr().out
    assert not check_body_head_lrs(torch.optim.Adam(net.body.parameters(), lr=1e-4), net)
    assert "head.weight is not in the optimizer" in capsys.readouterr().out


# --- 02 ---------------------------------------------------------------------------------


def right_accumulate(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        (nn.functional.mse_loss(model(x), y) / len(batches)).backward()
    optimizer.step()


def undivided_accumulate(model, optimizer, batches):
    optimizer.zero_grad()
    for x, y in batches:
        nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()


def step_each_batch(model, optimizer, batches):
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()


def test_accumulation_right_and_wrong(capsys):
    assert check_accumulation(right_accumulate)
    assert not check_accumulation(undivided_accumulate)
    assert "4x too big" in capsys.readouterr().out
    assert not check_accumulation(step_each_batch)
    assert "after step 1 your weights moved" in capsys.readouterr().out
    assert not check_accumulation(lambda m, o, b: (_ for _ in ()).throw(NotImplementedError))
    assert "Not done yet" in capsys.readouterr().out


def test_moves(capsys):
    assert check_moves(False, True)
    assert not check_moves(True, True)
    assert "with .grad None it stays put" in capsys.readouterr().out
    assert not check_moves(False, False)
    assert "with .grad zeros it moves" in capsys.readouterr().out
    assert not check_moves(..., True)
    assert not check_moves("no", "yes")


# --- 03 and 05 --------------------------------------------------------------------------
import copy  # noqa: E402

from helpers import check_adam_bytes, check_lr_after_load, check_resume, check_snapshot, load_checkpoint, resume_setup  # noqa: E402


def test_adam_bytes(capsys):
    model = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3))
    n = sum(p.numel() for p in model.parameters())
    assert check_adam_bytes(2 * 4 * n + 16, model)
    assert not check_adam_bytes(2 * 4 * n, model)
    assert "its own 'step' counter" in capsys.readouterr().out
    assert not check_adam_bytes(4 * n, model)
    assert not check_adam_bytes(..., model)
    assert not check_adam_bytes("many", model)


def test_snapshot(capsys):
    assert check_snapshot(lambda m: copy.deepcopy(m.state_dict()))
    assert check_snapshot(lambda m: {k: v.clone() for k, v in m.state_dict().items()})
    assert not check_snapshot(lambda m: m.state_dict())
    assert "clone them" in capsys.readouterr().out
    assert not check_snapshot(lambda m: {n: p.detach().clone() for n, p in m.named_parameters()})
    assert "buffers included" in capsys.readouterr().out


def test_resume(capsys):
    def right(path):
        objects = resume_setup()
        load_checkpoint(path, model=objects[0], optimizer=objects[1], scheduler=objects[2])
        return objects

    def no_rng(path):
        objects = resume_setup()
        load_checkpoint(path, model=objects[0], optimizer=objects[1], scheduler=objects[2], restore_rng=False)
        return objects

    def model_only(path):
        objects = resume_setup()
        objects[0].load_state_dict(torch.load(path, weights_only=True)["model"])
        return objects

    assert check_resume(right)
    assert not check_resume(no_rng)
    assert not check_resume(model_only)
    assert "differ from an uninterrupted run" in capsys.readouterr().out
    assert not check_resume(lambda path: resume_setup()[0])
    assert "return the three objects" in capsys.readouterr().out


def test_lr_after_load(capsys):
    assert check_lr_after_load(0.01)
    assert not check_lr_after_load(0.5)
    assert "the next step uses 0.01" in capsys.readouterr().out
    assert not check_lr_after_load("fast")


# --- 04 ---------------------------------------------------------------------------------
from helpers import check_new_group_defaults, check_unfreeze_last  # noqa: E402


def test_unfreeze_last(capsys):
    def right(model, optimizer):
        model[0][2].requires_grad_(True)
        optimizer.add_param_group({"params": model[0][2].parameters(), "lr": 1e-3})

    def everything(model, optimizer):
        model[0].requires_grad_(True)
        optimizer.add_param_group({"params": model[0].parameters(), "lr": 1e-3})

    def forgot_optimizer(model, optimizer):
        model[0][2].requires_grad_(True)

    def wrong_lr(model, optimizer):
        model[0][2].requires_grad_(True)
        optimizer.add_param_group({"params": model[0][2].parameters()})

    assert check_unfreeze_last(right)
    assert not check_unfreeze_last(everything)
    assert "the first block was unfrozen too" in capsys.readouterr().out
    assert not check_unfreeze_last(forgot_optimizer)
    assert "1 group(s), expected 2" in capsys.readouterr().out
    assert not check_unfreeze_last(wrong_lr)
    assert "lr is 0.1, expected 0.001" in capsys.readouterr().out
    assert not check_unfreeze_last(lambda m, o: None)
    assert "still frozen" in capsys.readouterr().out


def test_new_group_defaults(capsys):
    assert check_new_group_defaults(0.9, 1e-4)
    assert not check_new_group_defaults(0, 0)
    assert "the group got 0.9, 0.0001" in capsys.readouterr().out
    assert not check_new_group_defaults(..., 0)
    assert not check_new_group_defaults("a", "b")


# --- 06 ---------------------------------------------------------------------------------
from helpers import check_closure, check_nesterov_step  # noqa: E402


def test_nesterov_step(capsys):
    def right(p, grad, buf, lr, momentum):
        buf = grad.clone() if buf is None else momentum * buf + grad
        return p - lr * (grad + momentum * buf), buf

    def classical(p, grad, buf, lr, momentum):
        buf = grad.clone() if buf is None else momentum * buf + grad
        return p - lr * buf, buf

    assert check_nesterov_step(right)
    assert not check_nesterov_step(classical)
    assert "after step 1: p =" in capsys.readouterr().out
    assert not check_nesterov_step(lambda p, g, b, lr, m: p)
    assert "return two tensors" in capsys.readouterr().out


def test_closure(capsys):
    def right(model, optimizer, x, y):
        def closure():
            optimizer.zero_grad()
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        return closure

    def no_zero_grad(model, optimizer, x, y):
        def closure():
            loss = nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        return closure

    def outside(model, optimizer, x, y):
        loss = nn.functional.mse_loss(model(x), y)

        def closure():
            optimizer.zero_grad()
            loss.backward()
            return loss

        return closure

    assert check_closure(right)
    assert not check_closure(no_zero_grad)
    assert "the weights differ" in capsys.readouterr().out
    assert not check_closure(outside)
    assert "raised RuntimeError: Trying to backward through the graph a second time" in capsys.readouterr().out
    assert not check_closure(lambda m, o, x, y: 3)
    assert "must return the closure" in capsys.readouterr().out
