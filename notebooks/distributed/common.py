"""What every rank of notebook 09's runs shares: joining the group, a tiny model, its data."""

import hashlib
import os

import torch
import torch.distributed as dist
from torch import nn

GLOBAL_BATCH = 12  # samples per step, split evenly over 1, 2, 3 or 4 ranks
LR = 0.01


# --- part: join ---
def join():
    """Join the process group that torchrun describes in the environment (RANK, WORLD_SIZE, MASTER_PORT, ...).

    Returns (rank, world_size, device): the CPU with gloo, or this rank's GPU with NCCL.
    """
    device = torch.device(os.environ.get("HELPERS_DIST_DEVICE", "cpu"))  # set by run_distributed
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


# --- part: model ---
def build_model(device, seed=0):
    """Four Linear(16, 16) layers: 8 tensors, 1,088 numbers. The same weights on every rank for one seed."""
    torch.manual_seed(seed)
    layers = [nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16)]
    return nn.Sequential(*layers).to(device)


def batch(step, device):
    """This rank's share of step `step`'s global batch: together the ranks see the same 12 samples, however many they are."""
    g = torch.Generator().manual_seed(1000 + step)
    x, y = torch.randn(GLOBAL_BATCH, 16, generator=g), torch.randn(GLOBAL_BATCH, 16, generator=g)
    rank, world = dist.get_rank(), dist.get_world_size()
    rows = slice(rank * GLOBAL_BATCH // world, (rank + 1) * GLOBAL_BATCH // world)
    return x[rows].to(device), y[rows].to(device)


def train(model, optimizer, steps, device, start=0):
    """Steps `start` .. `start + steps - 1`: forward, loss, zero_grad, backward (gradients averaged over the ranks), step."""
    for step in range(start, start + steps):
        x, y = batch(step, device)
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


# --- part: measure ---
def local(t):
    """The part of a tensor this rank holds: a DTensor's local shard, a plain tensor itself."""
    return t.to_local() if hasattr(t, "to_local") else t


def describe(t):
    """What this rank holds of a tensor: its type, global shape, local shape and (for a DTensor) placements."""
    return {"type": type(t).__name__, "global": tuple(t.shape), "local": tuple(local(t).shape), "placements": str(getattr(t, "placements", ""))}


def state_bytes(optimizer):
    """Bytes of optimizer state this rank holds (its local shards only)."""
    return sum(local(v).numel() * local(v).element_size() for s in optimizer.state.values() for v in s.values() if torch.is_tensor(v))


def digest(tensors):
    """A short fingerprint of a list of tensors: equal digests, equal bits."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(local(t).detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def optimizer_tensors(state_dict):
    """The state tensors of an index-keyed optimizer.state_dict(), in a fixed order."""
    return [v for i in sorted(state_dict["state"]) for k, v in sorted(state_dict["state"][i].items())]
