"""lmsci.report.stages: a recipe's stages side by side, forgetting per source, the whole-recipe plot."""
from __future__ import annotations

import json

import pytest

from lmsci.report import stages


def _write(results, per_stage: dict[str, dict[str, float]]) -> list[dict]:
    (results / "train").mkdir(parents=True)
    (results / "eval/stages").mkdir(parents=True)
    rows, recipe = [], []
    for i, (name, steps, seq) in enumerate((("pretrain", 4, 64), ("anneal", 3, 128))):
        first = sum(s["steps"] for s in recipe)
        recipe.append({"name": name, "first_step": first, "steps": steps, "lr": 3e-3, "warmup_steps": 0,
                       "schedule": "wsd", "decay_fraction": 0.5, "min_lr_ratio": 0.1, "seq_length": seq,
                       "rotary_base": 10000, "rope_scaling": {"factor": 0.0}, "init_from": None if not i else "x",
                       "optimizer": "keep", "seed": 1 + i, "mix": {"crawl": 0.5, "wiki": 0.5} if not i else {"wiki": 1.0},
                       "first_loss": 5.0, "final_loss": 4.0, "tokens": 100, "spikes": {"skipped": i, "rollbacks": 0},
                       "logged_spikes": 0})
        rows += [{"step": first + s, "stage": name, "loss": 5.0 - s, "lr": 1e-3, "loss_spike": s == 1}
                 for s in range(steps)]
    (results / "train/stages.json").write_text(json.dumps({"stages": recipe}))
    for name, losses in per_stage.items():
        (results / f"eval/stages/{name}.json").write_text(json.dumps(
            {"per_source": {src: {"loss": v, "ppl": 2.0, "tokens": 10} for src, v in losses.items()}}))
    return rows


def test_no_recipe_no_section(tmp_path):
    assert stages.section(tmp_path, [], tmp_path) is None


def test_stages_side_by_side_with_forgetting(tmp_path):
    rows = _write(tmp_path / "r", {"start": {"crawl": 7.0, "wiki": 7.0}, "pretrain": {"crawl": 4.0, "wiki": 4.5},
                                   "anneal": {"crawl": 4.6, "wiki": 3.9}})
    out = stages.section(tmp_path / "r", rows, tmp_path)
    assert [s["name"] for s in out["stages"]] == ["pretrain", "anneal"]
    assert out["eval_columns"] == ["start", "pretrain", "anneal"] and out["mix_sources"] == ["crawl", "wiki"]
    crawl, wiki = out["forgetting"]
    assert crawl["losses"] == [7.0, 4.0, 4.6] and crawl["last_change"] == pytest.approx(0.6)  # forgotten
    assert wiki["last_change"] == pytest.approx(-0.6)
    assert out["events"] == {"skipped": 1, "rollbacks": 0, "logged": 0}
    assert (tmp_path / "stages.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_stage_not_yet_evaluated_shows_as_missing(tmp_path):
    rows = _write(tmp_path / "r", {"pretrain": {"crawl": 4.0}})
    out = stages.section(tmp_path / "r", rows, tmp_path)
    assert out["eval_columns"] == ["pretrain"] and out["forgetting"][0]["last_change"] is None
