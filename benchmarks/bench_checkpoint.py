"""What do save_checkpoint/load_checkpoint cost next to a plain torch.save/torch.load of the same objects?

A model of about 100 MB of weights (6 layers 2048x2048, float32) and its optimizer. Each round
times, in turns so that drift hits all alike:
  save: torch.save of the model's and optimizer's state_dicts; the same + flush + fsync (what a
        crash-safe save needs anyway); save_checkpoint (checks, checksum, temporary file, fsync, rename).
  load: torch.load alone; torch.load + model/optimizer.load_state_dict (what resuming needs);
        load_checkpoint (checksum verified, every check, restore).
It also times both without the checksum (to isolate its cost) and the checksum alone. Prints medians
and ratios (target: below 1.5x).
Run: .venv/bin/python benchmarks/bench_checkpoint.py [--rounds 5] [--optimizer sgd|adam] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from helpers import checkpoint
from helpers.checkpoint import load_checkpoint, save_checkpoint


def make(optimizer: str) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = nn.Sequential(*[nn.Linear(2048, 2048) for _ in range(6)])
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    model(torch.randn(4, 2048)).sum().backward()
    opt.step()  # fills the optimizer state (momentum or Adam's moments)
    opt.zero_grad()
    return model, opt


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (>= 3)")
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd", help="sgd: momentum (1x the weights); adam: 2x")
    parser.add_argument("--dir", default=None, help="folder for the files (default: the system's temporary folder)")
    args = parser.parse_args()
    model, opt = make(args.optimizer)
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    state = sum(v.numel() * v.element_size() for s in opt.state.values() for v in s.values() if isinstance(v, torch.Tensor))

    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        plain_path, ckpt_path = Path(folder) / "plain.pt", Path(folder) / "ckpt.pt"

        def plain_save() -> None:
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, plain_path)

        def plain_save_fsync() -> None:
            with open(plain_path, "wb") as f:
                torch.save({"model": model.state_dict(), "optimizer": opt.state_dict()}, f)
                f.flush()
                os.fsync(f.fileno())

        def ckpt_save() -> None:
            save_checkpoint(ckpt_path, model=model, optimizer=opt, step=1)

        def plain_load() -> None:
            torch.load(plain_path, weights_only=True)

        def plain_resume() -> None:
            data = torch.load(plain_path, weights_only=True)
            model.load_state_dict(data["model"])
            opt.load_state_dict(data["optimizer"])

        def ckpt_load() -> None:
            load_checkpoint(ckpt_path, model=model, optimizer=opt)

        def ckpt_save_no_checksum() -> None:
            real = checkpoint._digest
            checkpoint._digest = lambda data: "skipped"
            try:
                save_checkpoint(ckpt_path, model=model, optimizer=opt, step=1)
            finally:
                checkpoint._digest = real

        def ckpt_load_no_checksum() -> None:
            real = checkpoint._check_digest
            checkpoint._check_digest = lambda data, path: None
            try:
                load_checkpoint(ckpt_path, model=model, optimizer=opt)
            finally:
                checkpoint._check_digest = real

        saved = torch.load(ckpt_path, weights_only=True) if ckpt_save() is None else None

        def digest() -> None:
            checkpoint._digest(saved)

        cases = {"torch.save": plain_save, "torch.save + fsync": plain_save_fsync,
                 "save_checkpoint, no checksum": ckpt_save_no_checksum, "save_checkpoint": ckpt_save,
                 "torch.load": plain_load, "torch.load + load_state_dict": plain_resume,
                 "load_checkpoint, no checksum": ckpt_load_no_checksum, "load_checkpoint": ckpt_load,
                 "checksum alone": digest}
        for fn in cases.values():  # warm-up: page cache, allocator
            fn()
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(max(args.rounds, 3)):
            for name, fn in cases.items():
                times[name].append(timed(fn))
        size = ckpt_path.stat().st_size

    m = {name: statistics.median(t) for name, t in times.items()}
    best = {name: min(t) for name, t in times.items()}  # least disturbed by other processes
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(times['torch.save'])} rounds, "
          f"weights {weights / 1e6:.0f} MB + {args.optimizer} state {state / 1e6:.0f} MB, file {size / 1e6:.0f} MB")
    print(f"  {'':30s} {'median':>8s}    {'best':>8s}")
    for name, value in m.items():
        print(f"  {name:30s} {value * 1e3:8.1f} ms {best[name] * 1e3:8.1f} ms")
    print(f"save ratio: save_checkpoint / torch.save = {m['save_checkpoint'] / m['torch.save']:.2f}x "
          f"(/ torch.save + fsync = {m['save_checkpoint'] / m['torch.save + fsync']:.2f}x)")
    print(f"load ratio: load_checkpoint / (torch.load + load_state_dict) = {m['load_checkpoint'] / m['torch.load + load_state_dict']:.2f}x "
          f"(/ torch.load alone = {m['load_checkpoint'] / m['torch.load']:.2f}x)")
    print(f"best of each: save {best['save_checkpoint'] / best['torch.save']:.2f}x, "
          f"load {best['load_checkpoint'] / best['torch.load + load_state_dict']:.2f}x")
    save_cost = m["save_checkpoint"] - m["save_checkpoint, no checksum"]
    load_cost = m["load_checkpoint"] - m["load_checkpoint, no checksum"]
    print(f"the checksum's share: save +{save_cost * 1e3:.0f} ms = +{save_cost / m['torch.save']:.2f} of a torch.save; "
          f"load +{load_cost * 1e3:.0f} ms = +{load_cost / m['torch.load + load_state_dict']:.2f} of torch.load + load_state_dict "
          f"(checksum alone: {m['checksum alone'] * 1e3:.0f} ms)")
    print("target: ratios below 1.5x. On a disk, fsync and the rename dominate and vary from run to run: "
          "compare with --dir /dev/shm (memory, fsync is free) to see the CPU cost alone")


if __name__ == "__main__":
    main()
