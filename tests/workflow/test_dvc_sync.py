"""dvc.yaml and the Snakefile describe one pipeline: every DVC stage calls a named Snakemake target."""
from __future__ import annotations

import re

import yaml

from lmsci.config import Config
import dataclasses

from .conftest import ROOT


def _targets() -> set[str]:
    block = re.search(r"TARGETS = \{(.*?)\n\}", (ROOT / "Snakefile").read_text(), flags=re.S).group(1)
    return set(re.findall(r'"(\w+)":', block))


def test_each_stage_calls_a_snakemake_target_of_its_name():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    targets = _targets()
    per_item = {name: stage for name, stage in stages.items() if "foreach" in stage}
    assert set(stages) - set(per_item) == targets
    for name, stage in stages.items():
        if name not in per_item:
            assert re.match(rf"python -m snakemake {name}\b", stage["cmd"]), stage["cmd"]
    # a recipe's stages (train.stages, issue 12): one DVC stage each, calling the Snakemake output it declares
    for stage in per_item.values():
        assert stage["do"]["cmd"].startswith(f"python -m snakemake {stage['do']['outs'][0]} "), stage["do"]["cmd"]


def test_each_named_target_has_a_rule():
    text = (ROOT / "Snakefile").read_text()
    for t in _targets():
        assert re.search(rf"^rule {t}:", text, flags=re.M)


def test_params_name_real_config_sections():
    sections = {f.name for f in dataclasses.fields(Config)}
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for entry in stage.get("params", []):
            for keys in entry.values():
                assert set(keys) <= sections


def test_stage_deps_exist():
    for stage in yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"].values():
        for dep in stage.get("deps", []):
            if not dep.startswith("results/"):
                assert (ROOT / dep).exists(), dep
