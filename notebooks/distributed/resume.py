"""Resume the 2-process FSDP2 checkpoint on however many processes this run has."""

import os

from common import train
from fsdp import full_state, full_weights, load_sharded, sharded


def lesson(rank, world, device, folder):
    # --- part: resume ---
    model, optimizer = load_sharded(os.path.join(folder, "fsdp_checkpoint"), device)
    loaded = {"weights": full_weights(model), "state": full_state(model, optimizer).get("state", {})}
    local_shapes = {name: tuple(p.to_local().shape) for name, p in model.named_parameters()}
    train(model, optimizer, steps=3, device=device, start=3)  # steps 3, 4, 5, as the uninterrupted run
    final = full_weights(model)  # a collective: every rank takes part

    # --- part: straight ---
    model, optimizer = sharded(device)
    train(model, optimizer, steps=6, device=device)  # steps 0 .. 5 on this number of ranks, no checkpoint
    straight = full_weights(model)

    # --- part: report ---
    return {"local_shapes": local_shapes, "loaded": loaded, "final": final, "straight": straight}
