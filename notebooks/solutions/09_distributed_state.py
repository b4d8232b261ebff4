"""Worked solutions for notebook 09's exercises. Try the exercises first!

The notebook runs this file with run_solutions(...), and so does CI: it is known to pass.
"""

import torch

from helpers import check_save_once, check_zero_bytes, zero_exercise_model

# Exercise 1: ZeRO hands out whole tensors, largest first, each to the rank that holds the
# fewest numbers so far (the lower rank on a tie):
#   2.weight (4096) -> rank 0;  0.weight (2048) -> rank 1 (it holds 0);
#   4.weight (640), 0.bias (64), 2.bias (64), 4.bias (10) -> rank 1 each time (it holds fewer than 4096).
# Rank 1's Adam keeps exp_avg and exp_avg_sq for its 5 tensors (4 bytes a number) and a 4-byte step for each.
model = zero_exercise_model()
sizes = {name: p.numel() for name, p in model.named_parameters()}
rank1 = ["0.weight", "4.weight", "0.bias", "2.bias", "4.bias"]
numbers = sum(sizes[name] for name in rank1)  # 2826
answer = 2 * 4 * numbers + 4 * len(rank1)  # 22628
assert check_zero_bytes(answer)


# Exercise 2: under DDP every rank holds the same state, so one file written by one rank is
# enough; rank 0 exists in every run. In a real run the others then wait at dist.barrier()
# before anyone reads the file.
def save(state, path, rank):
    if rank == 0:
        torch.save(state, path)


assert check_save_once(save)
