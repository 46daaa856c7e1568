"""Learning-rate schedule: a pure function of the step (lingua's habit), so resuming is exact."""
from __future__ import annotations

import math

from lmsci.config import TrainConfig


def lr(step: int, train: TrainConfig) -> float:
    """LR for optimizer step ``step`` (0-based): linear warmup, then cosine to ``min_lr_ratio``·lr.

    Warmup climbs lr/warmup_steps per step and reaches the peak at step ``warmup_steps - 1``, so
    step 0 already learns; the cosine starts at the peak on step ``warmup_steps`` and reaches the
    floor on the last step, ``steps - 1``.
    """
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step}")
    peak, floor = train.lr, train.lr * train.min_lr_ratio
    if step < train.warmup_steps:
        return peak * (step + 1) / train.warmup_steps
    decay_steps = max(1, train.steps - 1 - train.warmup_steps)
    progress = min(1.0, (step - train.warmup_steps) / decay_steps)
    return floor + 0.5 * (peak - floor) * (1.0 + math.cos(math.pi * progress))


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
