"""A save routine with a mistake: rank 0 asks ZeroRedundancyOptimizer for its state without consolidating it first."""

import os
import sys

import torch
import torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel as DDP

from common import LR, build_model, join, train

rank, world, device = join()
model = DDP(build_model(device))
optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=LR)
train(model, optimizer, steps=1, device=device)
if rank == 0:
    torch.save(optimizer.state_dict(), os.path.join(sys.argv[1], "zero.pt"))  # forgot consolidate_state_dict(to=0)
dist.barrier()  # the other ranks wait here for rank 0
dist.destroy_process_group()
