"""Optimizer-state bytes per rank under DDP, ZeRO and FSDP2, after one Adam step each."""

import torch
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP

from common import LR, build_model, state_bytes, train
from fsdp import sharded


def lesson(rank, world, device, folder):
    model = DDP(build_model(device))
    ddp = torch.optim.Adam(model.parameters(), lr=LR)
    train(model, ddp, steps=1, device=device)

    model = DDP(build_model(device))
    zero = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=LR)
    train(model, zero, steps=1, device=device)
    names = {id(p): n for n, p in model.module.named_parameters()}
    zero_owned = [names[id(p)] for group in zero.optim.param_groups for p in group["params"]]

    model, fsdp = sharded(device)
    train(model, fsdp, steps=1, device=device)
    return {"bytes": {"DDP": state_bytes(ddp), "ZeRO": state_bytes(zero.optim), "FSDP2": state_bytes(fsdp)}, "zero_owned": zero_owned}
