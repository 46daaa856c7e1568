"""`lmsci ablation --plan`: projected cost per rule from measured benchmarks, each line naming its basis."""
from __future__ import annotations

import pytest

from lmsci import cli
from lmsci.ablation import run


def test_projection_prefers_the_ablations_own_measurements_then_the_runs_rule():
    own = {"ablation_train": {"cpu_s": 36.0, "wall_s": 18.0, "jobs": 2, "where": "r/ablation/benchmarks/ablation_train"}}
    main = {"train_model": {"cpu_s": 7200.0, "wall_s": 3600.0, "jobs": 1, "where": "r/benchmarks/train_model"},
            "tag": {"cpu_s": 3.6, "wall_s": 1.8, "jobs": 5, "where": "r/benchmarks/tag"}}
    rows = {r["rule"]: r for r in run.projection({"ablation_train": 10, "ablation_tag": 2, "ablation_mix": 1}, own, main)}
    assert rows["ablation_train"]["cpu_h"] == pytest.approx(0.1) and "ablation_train" in rows["ablation_train"]["basis"]
    assert rows["ablation_tag"]["cpu_h"] == pytest.approx(0.002) and "benchmarks/tag" in rows["ablation_tag"]["basis"]
    assert rows["ablation_mix"]["cpu_h"] is None and rows["ablation_mix"]["basis"] == "no earlier measurement"


def test_a_config_without_an_ablation_is_one_line(repo, capsys, monkeypatch):
    monkeypatch.chdir(repo)
    assert cli.main(["ablation", "--plan", "--configfile", "config.yaml"]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "'ablation'" in err and "configs/ablation.yaml" in err
