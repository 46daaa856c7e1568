"""lmsci.train.schedule: linear warmup, cosine to the floor, pure in the step."""
from __future__ import annotations

import math

import pytest

from lmsci.config import TrainConfig
from lmsci.train.schedule import lr

CFG = TrainConfig(steps=110, micro_batch_size=1, global_batch_size=1, lr=1e-3, warmup_steps=10, min_lr_ratio=0.1)


def test_warmup_is_linear_and_reaches_peak():
    assert lr(0, CFG) == pytest.approx(1e-4)
    assert lr(4, CFG) == pytest.approx(5e-4)
    assert lr(9, CFG) == pytest.approx(1e-3)  # last warmup step is at the peak
    assert lr(10, CFG) == pytest.approx(1e-3)  # cosine starts at the peak


def test_cosine_midpoint_and_floor():
    assert lr(10 + 99 // 2, CFG) == pytest.approx(1e-4 + 0.5 * 9e-4 * (1 + math.cos(math.pi * 49 / 99)))
    assert lr(109, CFG) == pytest.approx(1e-4)  # last step sits on the floor
    assert lr(500, CFG) == pytest.approx(1e-4)  # and stays there past the end


def test_decay_is_monotone_and_bounded():
    values = [lr(s, CFG) for s in range(10, 110)]
    assert all(a >= b for a, b in zip(values, values[1:]))
    assert min(values) >= 1e-4 - 1e-12 and max(values) <= 1e-3 + 1e-12


def test_no_warmup_starts_at_peak():
    cfg = TrainConfig(steps=5, micro_batch_size=1, global_batch_size=1, lr=2e-3, warmup_steps=0, min_lr_ratio=0.0)
    assert lr(0, cfg) == pytest.approx(2e-3)
    assert lr(4, cfg) == pytest.approx(0.0)


def test_negative_step_rejected():
    with pytest.raises(ValueError, match="step"):
        lr(-1, CFG)


def test_checkpoint_steps_follow_pythia():
    from lmsci.train.schedule import checkpoint_steps

    pythia = TrainConfig(steps=3000, micro_batch_size=1, global_batch_size=1, lr=1e-3, warmup_steps=10)
    assert checkpoint_steps(pythia) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 2000, 3000]
    short = TrainConfig(steps=300, micro_batch_size=1, global_batch_size=1, lr=1e-3, warmup_steps=10,
                        checkpoint_log_max=32, checkpoint_interval=100, checkpoint_steps=[150, 64])
    assert checkpoint_steps(short) == [1, 2, 4, 8, 16, 32, 64, 100, 150, 200, 300]
    none = TrainConfig(steps=7, micro_batch_size=1, global_batch_size=1, lr=1e-3, warmup_steps=1,
                       checkpoint_log_max=0, checkpoint_interval=0)
    assert checkpoint_steps(none) == [7]  # the final step, always
