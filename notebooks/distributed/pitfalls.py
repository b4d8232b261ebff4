"""Two mistakes with sharded state, run for real."""

import os
import warnings

import torch
import torch.distributed as dist
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict, set_state_dict

from common import local, train
from fsdp import full_weights, sharded


def lesson(rank, world, device, folder):
    # --- part: every rank writes ---
    model, optimizer = sharded(device)
    train(model, optimizer, steps=1, device=device)
    path = os.path.join(folder, "model.pt")
    for turn in range(world):  # the ranks take turns here, so that the outcome repeats; a real run writes all at once
        if rank == turn:
            torch.save(model.state_dict(), path)  # no `if rank == 0`: every rank writes the same file
        dist.barrier()
    saved = torch.load(path, weights_only=True)
    every_rank_writes = {
        "file": {"global": tuple(saved["0.weight"].shape), "local": tuple(saved["0.weight"].to_local().shape)},
        "file_holds_my_shard": {name: torch.equal(saved[name].to_local(), local(t)) for name, t in model.state_dict().items()},
    }

    # --- part: full into sharded ---
    full_model = full_weights(model)  # full tensors, as a one-process checkpoint holds them
    expected = {name: t.clone() for name, t in full_model.items()}
    full_optim = get_optimizer_state_dict(model, optimizer, options=StateDictOptions(full_state_dict=True))
    model, optimizer = sharded(device, seed=123)
    try:
        model.load_state_dict(full_model)
    except RuntimeError as error:
        model_error = f"RuntimeError: {error}"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        optimizer.load_state_dict(full_optim)  # accepted without a word ...
    exp_avg = optimizer.state[model[0].weight]["exp_avg"]
    loaded = {"type": type(exp_avg).__name__, "shape": tuple(exp_avg.shape), "warnings": len(caught)}
    try:
        train(model, optimizer, steps=1, device=device, start=1)  # ... but the next step fails
    except RuntimeError as error:
        step_error = f"RuntimeError: {error}"

    # --- part: the fix ---
    model, optimizer = sharded(device, seed=123)
    set_state_dict(model, optimizer, model_state_dict=full_model, optim_state_dict=full_optim,
                   options=StateDictOptions(full_state_dict=True))  # each rank keeps its shard of the full tensors
    exp_avg = optimizer.state[model[0].weight]["exp_avg"]
    fixed = {"type": type(exp_avg).__name__, "local": tuple(local(exp_avg).shape),
             "weights_equal": all(torch.equal(expected[n], w) for n, w in full_weights(model).items())}
    train(model, optimizer, steps=1, device=device, start=1)  # and training goes on

    return {"every_rank_writes": every_rank_writes, "model_error": model_error, "loaded": loaded,
            "step_error": step_error, "fixed": fixed}
