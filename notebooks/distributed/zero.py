"""ZeroRedundancyOptimizer: each rank keeps the optimizer state of its own share of the parameters."""

import torch
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP

from common import LR, build_model, digest, optimizer_tensors, state_bytes, train


def lesson(rank, world, device, folder):
    # --- part: train ---
    model = DDP(build_model(device))
    optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=LR)
    train(model, optimizer, steps=3, device=device)
    mine = optimizer.optim  # the Adam this rank runs, over its share of the parameters only

    tensors = [torch.zeros(n, device=device, requires_grad=True) for n in (10, 50, 30, 30)]  # unequal sizes
    rule = ZeroRedundancyOptimizer(tensors, optimizer_class=torch.optim.Adam, lr=LR)
    rule_sizes = [p.numel() for group in rule.optim.param_groups for p in group["params"]]  # what this rank got

    # --- part: consolidate ---
    try:
        optimizer.state_dict()  # the full state is on no rank yet
    except RuntimeError as error:
        before = f"RuntimeError: {error}"
    optimizer.consolidate_state_dict(to=0)  # a collective: every rank sends its share to rank 0
    if rank == 0:
        full = optimizer.state_dict()  # the full state, keyed by index like a plain Adam's
        after = {"keys": sorted(full["state"]), "entries": sorted(full["state"][0]), "digest": digest(optimizer_tensors(full))}
    else:
        try:
            optimizer.state_dict()
        except RuntimeError as error:
            after = f"RuntimeError: {error}"

    # --- part: report ---
    names = {id(p): n for n, p in model.module.named_parameters()}
    return {
        "state_bytes": state_bytes(mine),
        "owned": [names[id(p)] for group in mine.param_groups for p in group["params"]],
        "model_digest": digest(model.parameters()),
        "rule_sizes": rule_sizes,
        "before_consolidate": before,
        "after_consolidate": after,
    }
