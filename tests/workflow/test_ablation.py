"""Issue 13 end to end, on the finished tiny data run (the session's `tiny_tokens`, copied): a dry run shows
that a threshold-only variant shares extraction and tagging, and a planted known-worse variant (98 % of
its training tokens from Python sources: configs/ablation-tiny.yaml) is called worse with a CI excluding
zero; the report verifies like a single run's."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from .conftest import CONFIGS, snakemake

pytestmark = pytest.mark.e2e
ABLATION = (*CONFIGS, "configs/ablation-tiny.yaml")
STRICT = "ablation:\n  variants:\n    strict_gopher:\n      gopher_quality: {min_doc_words: 100}\n"


@pytest.fixture(scope="module")
def upstream(tiny_tokens, tmp_path_factory) -> Path:
    """A copy of the finished tiny data run (the fixture's own tree is the crash tests' reference)."""
    repo = tmp_path_factory.mktemp("ablation") / "repo"
    shutil.copytree(tiny_tokens, repo, symlinks=True)
    return repo


def _jobs(stdout: str) -> list[tuple[str, dict]]:
    """(rule, wildcards) of every job a dry run lists."""
    out = []
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", stdout):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if m:
            w = re.search(r"^\s+wildcards: (.*)$", block, re.M)
            out.append((m[1], dict(kv.split("=", 1) for kv in w[1].split(", ")) if w else {}))
    return out


def test_a_threshold_only_variant_reruns_filter_onwards_never_extract_or_tag(upstream, tmp_path):
    extra = tmp_path / "strict.yaml"
    extra.write_text(STRICT)
    proc = snakemake(upstream, "-n", "ablation", "--cores", "2", *ABLATION, str(extra))
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    rules = {r for r, _ in jobs}
    assert not rules & {"extract", "tag", "ablation_tag", "train_quality", "ablation_train_quality"}, rules
    strict = {(r, w.get("source")) for r, w in jobs if w.get("variant") == "strict_gopher"}
    assert ("ablation_filter", "crawl") in strict and ("ablation_dedup_minhash", "crawl") in strict
    assert not {s for r, s in strict if r == "ablation_filter"} - {"crawl"}  # wiki, code: no gopher filter
    assert {r for r, _ in strict} >= {"ablation_tokenize", "ablation_mix", "ablation_train", "ablation_score"}


@pytest.fixture(scope="module")
def ablated(upstream) -> Path:
    proc = snakemake(upstream, "ablation", "--cores", "2", *ABLATION, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return upstream


def test_a_planted_worse_variant_is_called_worse_with_a_ci_excluding_zero(ablated):
    answer = json.loads((ablated / "reports/ablation/ablation.json").read_text())
    worse = answer["result"]["code_only"]
    assert worse["verdict"] == "worse", worse
    assert worse["ci"][0] > 0 and all(d > 0 for d in worse["seed_deltas"])
    md = (ablated / "reports/ablation/report.md").read_text()
    assert re.search(r"^\| code_only \|.*\| worse \|$", md, re.M), md[:2000]
    for section in ("Funnel, side by side", "Loss per source", "Measured cost per variant", "Provenance"):
        assert f"## {section}" in md


def test_every_run_trained_the_same_budget_and_the_evaluation_set_stayed_out(ablated):
    answer = json.loads((ablated / "reports/ablation/ablation.json").read_text())
    runs = sorted(ablated.glob("results-tiny/ablation/*/*/train/train_summary.json"))
    assert len(runs) == 4  # baseline and code_only × seeds 1, 2
    tokens = {json.loads(p.read_text())["tokens_seen"] for p in runs}
    assert len(tokens) == 1, tokens  # one budget
    funnel = {r["variant"]: r for r in answer["funnel"]}
    assert funnel["baseline"]["heldout"] > 0 and funnel["baseline"]["heldout"] == funnel["code_only"]["heldout"]
    held = set(pl.read_parquet(ablated / "results-tiny/ablation/eval/documents.parquet")["id"])
    for lineage in ablated.glob("results-tiny/ablation/*/data/tokens/*/*/documents.parquet"):
        assert not held & set(pl.read_parquet(lineage)["id"]), lineage


def test_the_ablation_report_verifies(ablated):
    proc = subprocess.run([sys.executable, "-m", "lmsci", "verify", "reports/ablation"], cwd=ablated,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


def test_the_plan_prints_nothing_left_to_run_after_the_run(ablated):
    proc = subprocess.run([sys.executable, "-m", "lmsci", "ablation", "--plan", "--configfile", *ABLATION[1:]],
                          cwd=ablated, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "code_only: " in proc.stdout and "jobs to run: none" in proc.stdout, proc.stdout
