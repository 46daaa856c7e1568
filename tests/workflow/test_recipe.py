"""Issue 12 end to end, on the finished tiny data run (the session's `tiny_tokens`, copied): a two-stage
recipe overlay trains through `snakemake train` without rerunning any data stage, the per-stage
outputs chain (stage 2 from stage 1's final checkpoint, at its own seq_length and mix), the combined
outputs span the recipe, and `lmsci trace` follows a token of the second stage to its WARC record."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CONFIGS, RESULTS, snakemake

pytestmark = pytest.mark.e2e
# Two short stages on the tiny model: a stable pretrain, then a longer-context anneal on wiki + code.
OVERLAY = """train:
  checkpoint_log_max: 2
  checkpoint_interval: 0
  stages:
    - {name: pretrain, steps: 6, lr: 0.003, warmup_steps: 2, schedule: constant, decay_fraction: 0.0}
    - {name: extend, steps: 4, lr: 0.003, schedule: wsd, decay_fraction: 1.0, seq_length: 128,
       rotary_base: 500000, mix: {wiki: 0.6, code: 0.4}, replay: 0.2}
"""


@pytest.fixture(scope="module")
def recipe_run(tiny_tokens, tmp_path_factory) -> tuple[Path, str]:
    repo = tmp_path_factory.mktemp("recipe") / "repo"
    shutil.copytree(tiny_tokens, repo, symlinks=True)
    (repo / "configs/recipe-test.yaml").write_text(OVERLAY)
    targets = [f"{RESULTS}/eval/stages/extend.json", f"{RESULTS}/eval/stages/start.json"]
    proc = snakemake(repo, "train", *targets, "--cores", "2", *CONFIGS, "configs/recipe-test.yaml", timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return repo, proc.stderr + proc.stdout


def test_the_recipe_trains_its_stages_and_no_data_stage(recipe_run):
    repo, log = recipe_run
    ran = set(re.findall(r"\(Rule: (\w+)\)", log))
    assert {"mix_stage", "train_stage", "publish_stage", "recipe_train", "evaluate_stage",
            "evaluate_recipe_start"} <= ran, sorted(ran)
    assert not ran & {"extract", "tag", "filter", "tokenize", "train_tokenizer", "train_model"}, sorted(ran)
    root = repo / RESULTS
    extend = json.loads((root / "train/stages/extend/checkpoint/lmsci_meta.json").read_text())
    assert extend["model"]["seq_length"] == 128 and extend["model"]["rotary_base"] == 500000
    assert extend["train"]["init_from"] == f"{RESULTS}/train/stages/pretrain/checkpoint"
    blend = json.loads((root / "train/stages/extend/blend.json").read_text())
    assert blend["seq_length"] == 128 and {c["source"]: c["weight"] for c in blend["composition"]} == pytest.approx(
        {"crawl": 0.1, "wiki": 0.54, "code": 0.36})
    rows = [json.loads(x) for x in (root / "train/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(10)) and [r["stage"] for r in rows] == ["pretrain"] * 6 + ["extend"] * 4
    assert (root / "train/stages/pretrain/published/checkpoints/step_0000002/lmsci_meta.json").is_file()
    start, after = (json.loads((root / f"eval/stages/{n}.json").read_text())["per_source"] for n in ("start", "extend"))
    assert set(start) == set(after) == {"crawl", "wiki", "code"}
    assert all(after[s]["loss"] < start[s]["loss"] for s in start)


def test_trace_follows_a_token_of_the_second_stage(recipe_run):
    repo, _ = recipe_run
    proc = subprocess.run([sys.executable, "-m", "lmsci", "trace", "--step", "7", "--sample", "0", "--position", "100",
                           "--configfile", *CONFIGS[1:], "configs/recipe-test.yaml"],
                          cwd=repo, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout)
    assert (out["stage"], out["step"], out["recipe_step"]) == ("extend", 1, 7)  # position 100 only exists at seq 128
    assert out["document"]["id"].startswith(out["source"] + "/") and out["document"]["source"] == out["source"]
