"""lmsci.scaling.grid and the `sweep` config section: one run's config, and bad sweeps in one line."""
from __future__ import annotations

import copy
from pathlib import Path

import pytest

from lmsci import config as C
from lmsci.scaling import grid

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data() -> dict:
    return C.merge(C.read_yaml(ROOT / "config.yaml"), C.read_yaml(ROOT / "configs/sweep.yaml"))


def test_run_config_changes_only_shape_steps_warmup_and_checkpoints(data):
    cfg = C.from_dict(data)
    shape = cfg.sweep.models[-1]
    tokens = max(cfg.sweep.tokens)
    model, train = grid.run_config(cfg.model, cfg.train, cfg.sweep, shape.name, tokens)
    assert (model.num_layers, model.hidden_size, model.ffn_hidden_size) == (
        shape.num_layers, shape.hidden_size, shape.ffn_hidden_size)
    assert model.seq_length == cfg.model.seq_length and train.lr == cfg.train.lr
    assert train.steps * train.global_batch_size * model.seq_length == tokens
    assert train.warmup_steps == round(cfg.sweep.warmup_fraction * train.steps) > 0
    assert (train.checkpoint_log_max, train.checkpoint_interval, train.checkpoint_steps) == (0, 0, [])
    assert len(grid.runs(cfg.sweep)) == len(cfg.sweep.models) * len(cfg.sweep.tokens)


def test_default_config_has_no_sweep():
    assert grid.runs(C.load(ROOT / "config.yaml").sweep) == []


@pytest.mark.parametrize("edit, key", [
    (lambda s: s["models"].append(dict(s["models"][0])), "'sweep.models'"),  # duplicate name
    (lambda s: s["models"][1].update(num_query_groups=3), "'sweep.models[1].num_query_groups'"),  # 3 does not divide 4 heads
    (lambda s: s.update(tokens=[]), "'sweep'"),
    (lambda s: s.update(models=s["models"][:1]), "'sweep'"),  # one size cannot fit L(N, D)
    (lambda s: s.update(warmup_fraction=1.0), "'sweep.warmup_fraction'"),
])
def test_bad_sweep_fails_in_one_line_naming_the_key(data, edit, key):
    bad = copy.deepcopy(data)
    edit(bad["sweep"])
    with pytest.raises(C.ConfigError) as err:
        C.from_dict(bad)
    assert key in str(err.value) and "\n" not in str(err.value)


def test_validation_loss_weights_sources_by_scored_tokens():
    per = {"per_source": {"a": {"tokens": 3, "loss": 2.0}, "b": {"tokens": 1, "loss": 6.0}}}
    assert grid.validation_loss(per) == pytest.approx(3.0)
