"""What do GradientRecorder + LRRecorder add to a training step, against what they must do?

Scenarios (Adam, CPU): an MLP of 4 layers of 512 (batch 256), and stacks of ``Linear(16, 16)``
with 10, 100 and 400 parameter tensors (batch 32); the MLP and 400 tensors again with
``every=10``. For each, in one process, alternating blocks of steps so that drift hits every
variant alike, the median step time of:
- plain: no hooks;
- floor: hooks that do only the minimal work a recorder of updates needs (one read of every
  gradient with ``torch._foreach_norm``, a copy of every weight before the step with
  ``torch._foreach_copy_``, one read of every weight after it with ``torch._foreach_sub_``);
- sums: the floor plus the reductions the default statistics need (sum, sum of squares and
  min/max of every gradient; sum and sum of squares of every weight copy and every update),
  one tensor at a time, with nothing kept: the work of the statistics without bookkeeping;
- recorded: ``GradientRecorder`` (default statistics) + ``LRRecorder``.
It prints the ratios to plain, repeated ``--repeats`` times (median and range), then the
history costs: bytes per (step, parameter, statistic) and the time to build ``history`` and
``wide("norm")`` after 1,000 recorded steps of 400 tensors (SGD, gradients set once).

Run: .venv/bin/python benchmarks/bench_recorders.py [--steps 40] [--repeats 5] [--only NAME]
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import torch
from torch import nn

from helpers import GradientRecorder, LRRecorder


def mlp() -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(4):
        layers += [nn.Linear(512, 512), nn.ReLU()]
    return nn.Sequential(*layers)


def stack(tensors: int) -> nn.Module:
    layers: list[nn.Module] = []
    for _ in range(tensors // 2):
        layers += [nn.Linear(16, 16), nn.Tanh()]
    return nn.Sequential(*layers)


SCENARIOS = {
    # name: (model factory, input width, batch, every)
    "MLP 4x512": (mlp, 512, 256, 1),
    "10 tensors": (lambda: stack(10), 16, 32, 1),
    "100 tensors": (lambda: stack(100), 16, 32, 1),
    "400 tensors": (lambda: stack(400), 16, 32, 1),
    "MLP 4x512, every=10": (mlp, 512, 256, 10),
    "400 tensors, every=10": (lambda: stack(400), 16, 32, 10),
}


class Floor:
    """The minimal hooks: read every gradient, copy every weight, read every weight after."""

    def __init__(self, optimizer: torch.optim.Optimizer):
        self.params = [p for g in optimizer.param_groups for p in g["params"]]
        self.copies = [torch.empty_like(p) for p in self.params]
        self.handles = [optimizer.register_step_pre_hook(self.pre), optimizer.register_step_post_hook(self.post)]

    @torch.no_grad()
    def pre(self, *args) -> None:
        torch._foreach_norm([p.grad for p in self.params])
        torch._foreach_copy_(self.copies, self.params)

    @torch.no_grad()
    def post(self, *args) -> None:
        torch._foreach_sub_(self.copies, self.params)

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


class Sums(Floor):
    """The floor plus the reductions the default statistics need, with no bookkeeping at all:
    sum, sum of squares and min/max of every gradient, sum and sum of squares of every weight
    before the step and of every update."""

    @torch.no_grad()
    def pre(self, *args) -> None:
        for p in self.params:
            g = p.grad.reshape(-1)
            g.sum(), torch.dot(g, g), torch.aminmax(g)
        torch._foreach_copy_(self.copies, self.params)
        for c in self.copies:
            c = c.reshape(-1)
            c.sum(), torch.dot(c, c)

    @torch.no_grad()
    def post(self, *args) -> None:
        torch._foreach_sub_(self.copies, self.params)
        for c in self.copies:
            c = c.reshape(-1)
            c.sum(), torch.dot(c, c)


def make(factory, seed: int = 0):
    torch.manual_seed(seed)
    model = factory()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def step(model, optimizer, x, y) -> float:
    start = time.perf_counter()
    loss = nn.functional.mse_loss(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return time.perf_counter() - start


def one_run(name: str, steps: int) -> dict[str, float]:
    factory, width, batch, every = SCENARIOS[name]
    torch.manual_seed(1)
    x, y = torch.randn(batch, width), torch.randn(batch, width)
    variants = {v: make(factory) for v in ("plain", "floor", "sums", "recorded")}
    floor = Floor(variants["floor"][1])
    sums = Sums(variants["sums"][1])
    model, opt = variants["recorded"]
    options = {"every": every} if every != 1 else {}  # (so that older versions without every= run too)
    grads = GradientRecorder(model, opt, **options).start()
    lrs = LRRecorder(opt, **options).start()
    times: dict[str, list[float]] = {v: [] for v in variants}
    block = 5
    for _ in range(3):  # warm-up (first steps allocate state and buffers)
        for v, (m, o) in variants.items():
            step(m, o, x, y)
    for _ in range(max(steps // block, 4)):
        for v, (m, o) in variants.items():
            times[v] += [step(m, o, x, y) for _ in range(block)]
    floor.remove()
    sums.remove()
    grads.remove()
    lrs.remove()
    med = {v: statistics.median(t) for v, t in times.items()}
    return {"plain_ms": med["plain"] * 1e3, **{v: med[v] / med["plain"] for v in ("floor", "sums", "recorded")}}


def history_costs(steps: int = 1000, tensors: int = 400) -> dict[str, float]:
    torch.manual_seed(0)
    model = stack(tensors)
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    for p in model.parameters():
        p.grad = torch.randn_like(p)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    with GradientRecorder(model, opt) as rec:
        for _ in range(steps):
            opt.step()
    kept = tracemalloc.get_traced_memory()[0] - base  # what the recorder keeps once it is off
    tracemalloc.stop()
    start = time.perf_counter()
    history = rec.history
    t_history = time.perf_counter() - start
    start = time.perf_counter()
    rec.wide("norm")
    t_wide = time.perf_counter() - start
    cells = steps * tensors * (len(rec.stats) + 1)
    assert len(history) == cells
    return {"bytes_per_cell": kept / cells, "history_s": t_history, "wide_s": t_wide, "rows": len(history)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per variant and run")
    parser.add_argument("--repeats", type=int, default=5, help="runs per scenario (the median is reported)")
    parser.add_argument("--only", choices=[*SCENARIOS, "history"], help="one scenario only")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {args.repeats} runs of {args.steps} steps per variant")
    print(f"{'scenario':24} {'plain ms':>9} {'floor':>7} {'sums':>7} {'recorded':>9}   recorded, min-max of runs")
    for name in SCENARIOS:
        if args.only and args.only != name:
            continue
        try:
            runs = [one_run(name, args.steps) for _ in range(args.repeats)]
        except TypeError as error:  # an older recorder without every=
            print(f"{name:24} not supported here ({error})")
            continue
        rec = [r["recorded"] for r in runs]
        print(
            f"{name:24} {statistics.median(r['plain_ms'] for r in runs):9.2f} "
            f"{statistics.median(r['floor'] for r in runs):7.3f} {statistics.median(r['sums'] for r in runs):7.3f} "
            f"{statistics.median(rec):9.3f}   {min(rec):.3f}-{max(rec):.3f}",
            flush=True,
        )
    if args.only in (None, "history"):
        costs = [history_costs() for _ in range(max(1, min(args.repeats, 3)))]
        print(
            f"history of 1,000 steps x 400 tensors ({costs[0]['rows']:,} rows): "
            f"{statistics.median(c['bytes_per_cell'] for c in costs):.1f} bytes per (step, parameter, statistic); "
            f"history {statistics.median(c['history_s'] for c in costs):.3f} s, wide('norm') {statistics.median(c['wide_s'] for c in costs):.3f} s"
        )


if __name__ == "__main__":
    main()
