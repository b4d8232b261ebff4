"""Notebook 09's runs: `torchrun --nproc-per-node=N lessons.py FOLDER LESSON ...` (run_distributed starts it).

Each rank joins the process group, runs the lessons named on the command line in order and
reports {lesson: what it returned} back to the notebook.
"""

import os
import sys

import torch.distributed as dist

import ddp
import fsdp
import pitfalls
import resume
import sizes
import zero
from common import join
from helpers.distributed import report

LESSONS = {"ddp": ddp.lesson, "zero": zero.lesson, "fsdp": fsdp.lesson, "resume": resume.lesson, "sizes": sizes.lesson, "pitfalls": pitfalls.lesson}

rank, world, device = join()
folder, names = sys.argv[1], sys.argv[2:]
results = {"rank": rank, "world": world, "backend": dist.get_backend(), "env": (os.environ["RANK"], os.environ["WORLD_SIZE"])}
for name in names:
    results[name] = LESSONS[name](rank, world, device, folder)
report(results)
dist.destroy_process_group()
