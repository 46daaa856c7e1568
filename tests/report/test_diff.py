"""lmsci diff: config keys, code, packages and inputs that differ, the first stage (DAG order) whose outputs
differ, and the first training step where the losses part; identical runs say so and exit 0."""
from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from lmsci.report.diff import DiffError, diff, first_loss_step, first_stage, render

ROOT = Path(__file__).resolve().parents[2]
BASE = {
    "git": {"commit": "c" * 40, "dirty": False},
    "config": {"run": "a", "seed": 1, "gopher_quality": {"min_doc_words": 50, "max_doc_words": 100000}},
    "packages": {"torch": "2.5.1", "polars": "1.0"},
    "code_versions": {"filter": "f1", "train": "t1"},
    "inputs": {"config.yaml": "i1"}, "data_inputs": {"data/a.warc.gz": "d1"},
    "rule_order": ["extract", "tag", "filter", "tokenize", "train_model"],
    "artifacts": {"extract/a.parquet": "e", "tag/a.parquet": "t", "filter/a.parquet": "f", "tokens/a.bin": "b",
                  "train/metrics.jsonl": "m"},
    "artifact_rules": {"extract/a.parquet": "extract", "tag/a.parquet": "tag", "filter/a.parquet": "filter",
                       "tokens/a.bin": "tokenize", "train/metrics.jsonl": "train_model"},
}


def _run(root: Path, name: str, prov: dict, losses: list[float] | None = None) -> Path:
    report, results = root / name / "report", root / name / "results"
    report.mkdir(parents=True)
    if losses is not None:
        (results / "train").mkdir(parents=True)
        (results / "train/metrics.jsonl").write_text(
            "".join(json.dumps({"step": i + 1, "loss": x, "tokens_per_s": 100.0 + i}) + "\n" for i, x in enumerate(losses)))
    (report / "provenance.json").write_text(json.dumps({**prov, "results_dir_from_report": "../results"}))
    return report


def test_identical_runs(tmp_path):
    a = _run(tmp_path, "a", BASE, [5.0, 4.0, 3.0])
    b = _run(tmp_path, "b", BASE, [5.0, 4.0, 3.0])
    proc = subprocess.run([sys.executable, "-m", "lmsci", "diff", str(a), str(b)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["stage    every artifact identical", "loss     identical at every logged step"]


def test_one_threshold_names_the_key_the_filter_stage_and_the_loss_step(tmp_path):
    other = copy.deepcopy(BASE)
    other["config"]["gopher_quality"]["min_doc_words"] = 80
    other["artifacts"].update({"filter/a.parquet": "F", "tokens/a.bin": "B", "train/metrics.jsonl": "M"})
    a, b = _run(tmp_path, "a", BASE, [5.0, 4.0, 3.0]), _run(tmp_path, "b", other, [5.0, 4.5, 3.5])
    d = diff(a, b)
    assert d["config"] == [("gopher_quality.min_doc_words", 50, 80)]
    assert not d["code"] and not d["packages"] and not d["inputs"]
    assert d["stage"] == {"rule": "filter", "artifacts": ["filter/a.parquet"], "total": 3}
    assert d["loss"] == {"step": 2, "a": 4.0, "b": 4.5}
    assert render(d) == ["config   gopher_quality.min_doc_words: 50 → 80",
                         "stage    first differing stage: filter (filter/a.parquet; 3 artifacts differ in all)",
                         "loss     first diverges at step 2: 4.0 → 4.5"]
    proc = subprocess.run([sys.executable, "-m", "lmsci", "diff", str(a), str(b)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and proc.stdout.splitlines() == render(d)


def test_code_packages_inputs_and_a_key_only_one_run_has(tmp_path):
    other = copy.deepcopy(BASE)
    other["git"]["commit"] = "d" * 40
    other["code_versions"]["train"] = "t2"
    other["packages"]["torch"] = "2.6.0"
    other["data_inputs"]["data/a.warc.gz"] = "d2"
    other["config"]["seed"] = 2
    del other["config"]["gopher_quality"]["max_doc_words"]
    d = diff(_run(tmp_path, "a", BASE), _run(tmp_path, "b", other))
    assert [k for k, _, _ in d["config"]] == ["gopher_quality.max_doc_words", "seed"]
    assert "config   gopher_quality.max_doc_words: 100000 → (absent)" in render(d)
    assert [k for k, _, _ in d["code"]] == ["commit", "verb train"]
    assert d["packages"] == [("torch", "2.5.1", "2.6.0")] and d["inputs"] == [("data/a.warc.gz", "d1", "d2")]
    assert d["trained"] is False and d["loss"] is None and d["stage"] is None


def test_first_stage_follows_the_dag_not_the_alphabet_and_counts_one_sided_artifacts():
    b = copy.deepcopy(BASE)
    b["artifacts"]["tokens/a.bin"] = "x"
    b["artifacts"]["tag/new.parquet"] = "n"
    b["artifact_rules"]["tag/new.parquet"] = "tag"
    assert first_stage(BASE, b) == {"rule": "tag", "artifacts": ["tag/new.parquet"], "total": 2}


def test_loss_sequences_of_different_length():
    assert first_loss_step([(1, 5.0), (2, 4.0)], [(1, 5.0), (2, 4.0), (3, 3.0)]) == {"step": 3, "a": None, "b": 3.0}
    assert first_loss_step([(1, 5.0), (2, 4.0)], [(1, 5.0)]) == {"step": 2, "a": 4.0, "b": None}
    assert first_loss_step([(1, 5.0)], [(1, 5.0)]) is None


def test_not_a_report_is_one_line(tmp_path):
    with pytest.raises(DiffError, match="provenance.json not found"):
        diff(tmp_path, tmp_path)
    proc = subprocess.run([sys.executable, "-m", "lmsci", "diff", str(tmp_path), str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
