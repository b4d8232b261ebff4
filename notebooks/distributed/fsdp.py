"""FSDP2: parameters, gradients and optimizer state are all sharded; torch.distributed.checkpoint saves the shards."""

import copy
import os

import torch
import torch.distributed.checkpoint as dcp
from torch import nn
from torch.distributed.checkpoint.state_dict import StateDictOptions, get_optimizer_state_dict, get_state_dict, set_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import fully_shard

from common import LR, build_model, describe, state_bytes, train

FULL_ON_RANK_0 = StateDictOptions(full_state_dict=True, cpu_offload=True)


# --- part: shard ---
def sharded(device, seed=0):
    """The model with every Linear, then the whole, wrapped by fully_shard on a 1-D mesh of all ranks."""
    mesh = init_device_mesh(device.type, (torch.distributed.get_world_size(),))
    model = build_model(device, seed)
    for layer in model:
        if isinstance(layer, nn.Linear):
            fully_shard(layer, mesh=mesh)
    fully_shard(model, mesh=mesh)
    return model, torch.optim.Adam(model.parameters(), lr=LR)  # Adam, built after sharding


# --- part: load ---
def load_sharded(path, device):
    """Fresh sharded objects (other initial weights) with the checkpoint at `path` loaded into them."""
    model, optimizer = sharded(device, seed=123)
    model_sd, optim_sd = get_state_dict(model, optimizer)  # sharded state dicts to fill in place
    dcp.load({"model": model_sd, "optimizer": optim_sd}, checkpoint_id=path)  # each rank reads the pieces it needs
    set_state_dict(model, optimizer, model_state_dict=model_sd, optim_state_dict=optim_sd)
    return model, optimizer


# --- part: full ---
def full_state(model, optimizer):
    """Name-keyed full state on rank 0 (in CPU memory), an empty dict on the other ranks.

    A copy: on the CPU the dict holds the optimizer's own `step` tensors, which the next step changes.
    """
    return copy.deepcopy(get_optimizer_state_dict(model, optimizer, options=FULL_ON_RANK_0))


def full_weights(model):
    """Every parameter as one full CPU tensor, copied (a collective: every rank calls it; all get them)."""
    return {name: p.full_tensor().detach().cpu().clone() for name, p in model.named_parameters()}


def lesson(rank, world, device, folder):
    # --- part: train ---
    model, optimizer = sharded(device)
    train(model, optimizer, steps=3, device=device)
    shapes = {  # every parameter and its Adam state, as this rank holds them
        name: {"param": describe(p), **{key: describe(t) for key, t in optimizer.state[p].items()}}
        for name, p in model.named_parameters()
    }

    # --- part: save ---
    full = full_state(model, optimizer)
    path = os.path.join(folder, "fsdp_checkpoint")
    model_sd, optim_sd = get_state_dict(model, optimizer)  # sharded: each rank's DTensor shards
    dcp.save({"model": model_sd, "optimizer": optim_sd}, checkpoint_id=path)  # every rank writes its own shards

    # --- part: uninterrupted ---
    at_save = full_weights(model)
    train(model, optimizer, steps=3, device=device, start=3)  # the run goes on: steps 3, 4, 5
    uninterrupted = full_weights(model)
    resumed, resumed_optimizer = load_sharded(path, device)  # fresh objects, the same number of ranks
    train(resumed, resumed_optimizer, steps=3, device=device, start=3)

    # --- part: report ---
    live = get_optimizer_state_dict(model, optimizer, options=FULL_ON_RANK_0)  # not copied
    shares_step = bool(live) and all(live["state"][name]["step"] is optimizer.state[p]["step"] for name, p in model.named_parameters())
    return {
        "state_bytes": state_bytes(optimizer),
        "shapes": shapes,
        "full_keys": list(full.get("state", {})),
        "full_group_params": full["param_groups"][0]["params"] if full else None,
        "full_state": full.get("state", {}),
        "full_shares_step": shares_step,
        "files": sorted(os.listdir(path)),
        "at_save": at_save,
        "uninterrupted": uninterrupted,
        "resumed_same_world": full_weights(resumed),
    }
