"""Learning-rate schedules as plain functions of the step, so resuming needs only the step."""

from __future__ import annotations

import math


def lr_factor(
    kind: str, step: int, *, total_steps: int, warmup_steps: int, steps_per_epoch: int,
    epoch_decay: int,
) -> float:
    """Multiplier of the base learning rate at optimiser step `step` (0-based).

    warmup_cosine: linear warm-up to 1, then half a cosine down to 0 at `total_steps`.
    epoch_decay:   Animesion's "epochDecayConstant": divide by 3 every `epoch_decay` epochs.
    constant:      1.
    """
    if kind == "constant":
        return 1.0
    if kind == "epoch_decay":
        epoch = step // max(1, steps_per_epoch)
        return (1.0 / 3.0) ** (epoch // max(1, epoch_decay))
    if kind == "warmup_cosine":
        if warmup_steps > 0 and step < warmup_steps:
            return (step + 1) / warmup_steps
        span = max(1, total_steps - warmup_steps)
        progress = min(1.0, (step - warmup_steps) / span)
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    raise ValueError(f"unknown scheduler {kind!r}")


def resolve_warmup(warmup_steps: int | None, total_steps: int) -> int:
    """Default 5 % of training; never more than half of it (a warm-up longer than the run would
    keep the learning rate below its target for the whole run)."""
    if warmup_steps is None:
        return max(1, total_steps // 20)
    return max(0, min(warmup_steps, total_steps // 2))
