"""Learning-rate schedules: pure functions of the step (lingua's habit), so resuming is exact.

Three shapes, all after the same linear warmup (reaching the peak ``lr`` on step ``warmup_steps - 1``):
    cosine    to ``min_lr_ratio``·lr on the last step (Llama 2, Touvron et al. 2023)
    wsd       warmup-stable-decay (MiniCPM, Hu et al. 2024, §4.1): the peak until the last
              ``decay_fraction`` of the steps, then MiniCPM's exponential decay, here geometric from
              the peak to ``min_lr_ratio``·lr on the last step (lr · ratio^progress; their eq. uses a
              half-life, this pins the end point so stages join where the config says).
    constant  the peak, then a linear decay to the floor over the last ``decay_fraction`` (0: none;
              linear as in Hägele et al. 2024, "Scaling laws and compute-optimal training beyond
              fixed training durations", §3, who find it matches cosine).
"""
from __future__ import annotations

import math

from lmsci.config import TrainConfig


def lr(step: int, train: TrainConfig) -> float:
    """LR for optimizer step ``step`` (0-based) of ``train``'s schedule.

    Warmup climbs lr/warmup_steps per step and reaches the peak at step ``warmup_steps - 1``, so
    step 0 already learns; the decay starts at the peak and reaches the floor on the last step,
    ``steps - 1``.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    peak, floor = train.lr, train.lr * train.min_lr_ratio
    if step < train.warmup_steps:
        return peak * (step + 1) / train.warmup_steps
    if train.schedule == "cosine":
        decay_steps = max(1, train.steps - 1 - train.warmup_steps)
        progress = min(1.0, (step - train.warmup_steps) / decay_steps)
        return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))
    # wsd / constant: the decay's first step is one below the peak; its last, steps - 1, is the floor
    decay = min(train.steps - train.warmup_steps, math.ceil(train.decay_fraction * train.steps))
    start = train.steps - decay
    if decay <= 0 or step < start:
        return peak
    progress = min(1.0, (step - start + 1) / decay)
    if train.schedule == "wsd":
        return peak * train.min_lr_ratio ** progress
    return peak - (peak - floor) * progress


def recipe_lr(trains: list[TrainConfig]) -> list[float]:
    """The LR of every step of a recipe, stage after stage (the report's whole-recipe curve)."""
    return [lr(s, t) for t in trains for s in range(t.steps)]


def checkpoint_steps(train: TrainConfig) -> list[int]:
    """Step counts (optimizer steps completed) after which a checkpoint is written, ascending.

    Pythia's schedule (Biderman et al. 2023): 1, 2, 4, … up to ``checkpoint_log_max``, every
    ``checkpoint_interval`` steps, the explicit ``checkpoint_steps``, and always ``steps`` itself.
    """
    out = {train.steps, *train.checkpoint_steps}
    k = 1
    while train.checkpoint_log_max and k <= min(train.checkpoint_log_max, train.steps):
        out.add(k)
        k *= 2
    if train.checkpoint_interval:
        out.update(range(train.checkpoint_interval, train.steps + 1, train.checkpoint_interval))
    return sorted(s for s in out if 0 < s <= train.steps)
