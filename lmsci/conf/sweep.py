"""Sweep arithmetic the config check needs (one run's ``model``/``train`` sections); the rest of
the sweep lives in :mod:`lmsci.scaling.grid`, which re-exports these."""
from __future__ import annotations

import dataclasses

from lmsci.conf.base import ConfigError
from lmsci.conf.model import ModelConfig, SweepConfig
from lmsci.conf.train import TrainConfig


def tokens_per_step(model: ModelConfig, train: TrainConfig) -> int:
    return train.global_batch_size * model.seq_length


def run_config(model: ModelConfig, train: TrainConfig, sweep: SweepConfig, name: str,
               tokens: int) -> tuple[ModelConfig, TrainConfig]:
    """The ``model`` and ``train`` sections of one sweep run (lmsci.scaling.grid's docstring)."""
    steps = tokens // tokens_per_step(model, train)
    train = dataclasses.replace(train, steps=steps, warmup_steps=round(sweep.warmup_fraction * steps),
                                checkpoint_log_max=0, checkpoint_interval=0, checkpoint_steps=[])
    return shaped(model, sweep, name), train


def shaped(model: ModelConfig, sweep: SweepConfig, name: str) -> ModelConfig:
    shape = {m.name: m for m in sweep.models}.get(name)
    if shape is None:
        raise ConfigError(f"sweep run '{name}': no such sweep.models name; choose from "
                          f"{', '.join(m.name for m in sweep.models)}")
    dims = {k: v for k, v in dataclasses.asdict(shape).items() if k != "name"}
    dims["preset"] = ""  # the shape is explicit
    return dataclasses.replace(model, **dims)
