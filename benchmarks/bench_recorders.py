"""How much do GradientRecorder + LRRecorder add to one training step?

One Adam step of an MLP (4 layers of 512, batch 256) with and without both recorders, in the
same process, alternating blocks so drift hits both alike; prints the medians and their ratio.
Target: ratio <= 1.10.  Run: .venv/bin/python benchmarks/bench_recorders.py [--steps 60]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from helpers import GradientRecorder, LRRecorder


def make():
    torch.manual_seed(0)
    layers = []
    for _ in range(4):
        layers += [nn.Linear(512, 512), nn.ReLU()]
    model = nn.Sequential(*layers)
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def step(model, optimizer, x, y) -> float:
    start = time.perf_counter()
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60, help="timed steps per variant (>= 30)")
    args = parser.parse_args()
    x, y = torch.randn(256, 512), torch.randn(256, 512)
    plain_model, plain_opt = make()
    rec_model, rec_opt = make()
    plain, recorded = [], []
    block = 5
    # The recorders watch rec_opt only; plain_opt has no hooks. Both train in turns.
    with GradientRecorder(rec_model, rec_opt), LRRecorder(rec_opt):
        for _ in range(5):  # warm-up
            step(plain_model, plain_opt, x, y)
            step(rec_model, rec_opt, x, y)
        for _ in range(max(args.steps, 30) // block):
            plain += [step(plain_model, plain_opt, x, y) for _ in range(block)]
            recorded += [step(rec_model, rec_opt, x, y) for _ in range(block)]
    p, r = statistics.median(plain), statistics.median(recorded)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(plain)} steps each")
    print(f"median step without recorders: {p * 1e3:.2f} ms")
    print(f"median step with GradientRecorder + LRRecorder: {r * 1e3:.2f} ms")
    print(f"ratio: {r / p:.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
