"""lmsci.train.schedule: linear warmup, then cosine / WSD / constant to the floor, pure in the step; recipes."""
from __future__ import annotations

import math
from pathlib import Path

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


def _kind(schedule: str, **kw) -> TrainConfig:
    return TrainConfig(**{"steps": 100, "micro_batch_size": 1, "global_batch_size": 1, "lr": 1e-3, "warmup_steps": 10,
                          "min_lr_ratio": 0.1, "schedule": schedule, "decay_fraction": 0.2, **kw})


def test_wsd_is_stable_then_decays_geometrically_to_the_floor():
    t = _kind("wsd")
    assert [lr(s, t) for s in range(10, 80)] == [1e-3] * 70  # stable until the last 20 % (steps 80 … 99)
    assert lr(80, t) == pytest.approx(1e-3 * 0.1 ** (1 / 20))  # the first decay step is already below the peak
    assert lr(89, t) == pytest.approx(1e-3 * 0.1 ** 0.5)  # geometric: the midpoint is the geometric mean
    assert lr(99, t) == pytest.approx(1e-4) and lr(150, t) == pytest.approx(1e-4)


def test_constant_decays_linearly_or_not_at_all():
    t = _kind("constant")
    assert lr(79, t) == 1e-3 and lr(89, t) == pytest.approx(1e-3 - 9e-4 * 10 / 20) and lr(99, t) == pytest.approx(1e-4)
    flat = _kind("constant", decay_fraction=0.0)
    assert {lr(s, flat) for s in range(10, 100)} == {1e-3}
    with pytest.raises(ValueError, match="'schedule'"):
        _kind("wsd", min_lr_ratio=0.0)  # a geometric decay cannot reach 0


def test_a_recipe_lr_is_continuous_where_the_stages_say():
    """pretrain stable at the peak → anneal from that peak (no warmup) → long context re-warmed to a lower peak."""
    from lmsci import config as C
    from lmsci.train.recipe import stage_slice
    from lmsci.train.schedule import recipe_lr

    root = Path(__file__).resolve().parents[2]
    cfg = C.load(root / "config.yaml", root / "configs/recipe.yaml")
    trains = [stage_slice(cfg.model, cfg.train, cfg.seed, cfg.results, s.name)["train"] for s in cfg.train.stages]
    curve = recipe_lr(trains)
    assert len(curve) == sum(t.steps for t in trains) == 50
    assert curve[29] == 0.003 and curve[30] == pytest.approx(0.003 * 0.1 ** 0.1)  # the anneal continues the peak
    assert curve[39] == pytest.approx(0.0003)  # … down to 10 %
    assert curve[40] == pytest.approx(0.00015) and curve[41] == pytest.approx(0.0003)  # re-warmed to its own peak
    assert all(b <= a for a, b in zip(curve[29:40], curve[30:40]))
