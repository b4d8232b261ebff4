"""DDP: every rank keeps the whole model and the whole optimizer state."""

import os

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

from common import LR, build_model, digest, optimizer_tensors, state_bytes, train


def lesson(rank, world, device, folder):
    # --- part: train ---
    model = DDP(build_model(device))  # DDP averages the gradients over the ranks in backward()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)  # a plain Adam on every rank
    train(model, optimizer, steps=3, device=device)

    # --- part: save ---
    path = os.path.join(folder, "ddp.pt")
    if rank == 0:  # the state is the same everywhere: one rank writes it
        torch.save({"model": model.module.state_dict(), "optimizer": optimizer.state_dict()}, path)
    dist.barrier()  # the others wait until the file is complete ...
    checkpoint = torch.load(path, map_location=device, weights_only=True)  # ... then every rank loads it
    fresh = DDP(build_model(device, seed=123))
    fresh.module.load_state_dict(checkpoint["model"])
    fresh_optimizer = torch.optim.Adam(fresh.parameters(), lr=LR)
    fresh_optimizer.load_state_dict(checkpoint["optimizer"])

    # --- part: report ---
    return {
        "state_bytes": state_bytes(optimizer),
        "state_entries": len(optimizer.state),
        "state_digest": digest(optimizer_tensors(optimizer.state_dict())),
        "model_digest": digest(model.parameters()),
        "grads": {name: p.grad.detach().cpu().clone() for name, p in model.module.named_parameters()},  # the last step's
        "loaded_state_digest": digest(optimizer_tensors(fresh_optimizer.state_dict())),
        "loaded_model_digest": digest(fresh.parameters()),
        "files": sorted(os.listdir(folder)),
    }
