"""Static checks of the workflow: lint, dry run, config errors before any job starts."""
from __future__ import annotations

import re

import yaml

from .conftest import ROOT, snakemake

STAGES = ("extract", "tag", "filter", "pii", "dedup_exact_hashes", "dedup_exact_groups", "dedup_exact",
          "minhash_signatures", "minhash_buckets", "minhash_clusters", "dedup_minhash", "split_fallback",
          "decontam_index", "train_tokenizer", "tokenize", "mix", "train_model", "evaluate",
          "build_report")


def test_lint_reports_no_issues():
    proc = snakemake(ROOT, "--lint", "--cores", "1")
    assert proc.returncode == 0, proc.stdout[-3000:]


def test_dry_run_lists_every_stage(repo_copy):
    proc = snakemake(repo_copy, "-n", "--cores", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = set(re.findall(r"^(\w+)\s+\d+$", proc.stdout, flags=re.M))
    assert set(STAGES) <= listed


def _fails_before_jobs(repo, key):
    proc = snakemake(repo, "--cores", "1")
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if "config error" in ln]
    assert len(errors) == 1 and key in errors[0], proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert not (repo / "results").exists()


def test_missing_required_key_fails_in_one_line(repo_copy):
    cfg = yaml.safe_load((repo_copy / "config.yaml").read_text())
    del cfg["seed"]
    (repo_copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    _fails_before_jobs(repo_copy, "'seed'")


def test_unknown_key_fails_in_one_line(repo_copy):
    cfg = yaml.safe_load((repo_copy / "config.yaml").read_text())
    cfg["train"]["learning_rate"] = 0.1
    (repo_copy / "config.yaml").write_text(yaml.safe_dump(cfg))
    _fails_before_jobs(repo_copy, "'train.learning_rate'")
