"""The real workflow, end to end, through `dvc repro` (which calls the Snakemake targets), on the
tiny overlay merged into config.yaml: 2 crawl shards and a seconds-long megatron-core run."""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lmsci import config as C
from lmsci import ledger
from lmsci.tokenize.indexed import count_documents

from .conftest import copy_repo, snakemake

pytestmark = pytest.mark.e2e


def _sh(repo: Path, *cmd: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    return subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("e2e") / "repo")
    merged = C.merge(C.read_yaml(repo / "config.yaml"), C.read_yaml(repo / "configs/tiny.yaml"))
    merged.update(results="results", run="sample-tiny")  # the paths dvc.yaml names
    (repo / "config.yaml").write_text(yaml.safe_dump(merged, sort_keys=False))
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=ci@lmsci", "-c", "user.name=ci", "commit", "-qm", "scratch"]):
        subprocess.run(cmd, cwd=repo, check=True)
    proc = _sh(repo, "dvc", "repro")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return repo


def test_report_written_with_every_section(run):
    md = (run / "reports/sample-tiny/report.md").read_text()
    for heading in ("## Provenance", "## Data funnel", "### Samples of dropped documents", "## Mix: requested vs realised",
                    "## Training", "## Validation perplexity per source", "### Downstream tasks", "## Scaling fit",
                    "## Reproduce"):
        assert heading in md
    tasks = json.loads((run / "results/eval/lm_eval.json").read_text())  # lm-eval ran on the HF export
    assert {"lmsci_cloze", "lmsci_choice"} <= set(tasks) and all(t["items"] == 20 for t in tasks.values())
    for name, t in tasks.items():
        assert f"| {name} | 20 |" in md
    html = (run / "reports/sample-tiny/report.html").read_text()
    assert 'src="loss.png"' in html and 'src="funnel.png"' in html
    for png in ("loss.png", "funnel.png"):
        assert (run / "reports/sample-tiny" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_falls_below_uniform_guess(run):
    metrics = [json.loads(x) for x in (run / "results/train/metrics.jsonl").read_text().splitlines()]
    blend = json.loads((run / "results/mix/blend.json").read_text())
    assert len(metrics) == C.read_yaml(run / "config.yaml")["train"]["steps"]
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    assert metrics[-1]["loss"] < math.log(blend["vocab_size"])


def test_indexed_datasets_match_ledger(run):
    """Every shard's .bin/.idx opens with megatron's IndexedDataset and holds its ledger's kept count."""
    for src in ("crawl", "wiki", "code"):
        ledgers = sorted((run / f"results/tokens/{src}").glob("*.stats.json"))
        assert ledgers, f"no tokenize ledger for {src}"
        kept = 0
        for path in ledgers:
            stats = ledger.load(path)
            prefix = path.with_name(path.name.removesuffix(".stats.json"))
            counts = {split: count_documents(prefix / split) for split in ("train", "valid")}
            assert counts["train"] == stats["extra"]["train_documents"]
            assert counts["valid"] == stats["extra"]["valid_documents"]
            assert counts["train"] + counts["valid"] == stats["kept"]
            assert set(stats["dropped"]) <= {"decontam/contaminated"}  # the split stage drops nothing else
            kept += stats["kept"]
        assert kept > 0


def test_every_source_has_finite_perplexity(run):
    ppl = json.loads((run / "results/eval/perplexity.json").read_text())["per_source"]
    assert sorted(ppl) == ["code", "crawl", "wiki"]
    assert all(math.isfinite(p["ppl"]) and p["tokens"] > 0 for p in ppl.values())


def test_rerun_is_a_no_op_for_dvc_and_snakemake(run):
    proc = _sh(run, "dvc", "repro")
    assert proc.returncode == 0
    assert "Data and pipelines are up to date" in proc.stdout
    proc = snakemake(run, "-n", "--cores", "2")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_dvc_metrics_and_plots_read_the_run(run, tmp_path):
    metrics = _sh(run, "dvc", "metrics", "show", "--json")
    shown = json.loads(metrics.stdout)
    assert "perplexity.json" in json.dumps(shown) and "final_loss" in json.dumps(shown)
    plots = _sh(run, "dvc", "plots", "show", "--json")
    assert plots.returncode == 0 and "failed" not in plots.stderr.lower()
    assert "metrics.csv" in plots.stdout


def test_report_verifies_and_names_the_hf_export(run):
    proc = _sh(run, sys.executable, "-m", "lmsci", "verify", "reports/sample-tiny")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prov = json.loads((run / "reports/sample-tiny/provenance.json").read_text())
    assert "export/hf/model.safetensors" in prov["artifacts"]
    assert "lmsci verify reports/sample-tiny" in (run / "reports/sample-tiny/report.md").read_text()


def _dry_run_rules(repo: Path) -> set[str]:
    """Rule names of the jobs a dry run would start (Snakemake's "Job stats" table)."""
    proc = snakemake(repo, "-n", "--cores", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout + proc.stderr
    if "Nothing to be done" in out:
        return set()
    table = out.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"total"}


@pytest.mark.parametrize("module, reruns, untouched", [
    # only training (and what reads its checkpoints) imports the loop
    ("lmsci/train/loop.py", {"train_model", "build_report"},
     {"extract", "tag", "filter", "pii", "train_tokenizer", "tokenize", "mix"}),
    # a filter: measured in `tag`, so tag and everything after it, never extraction or the quality model
    ("lmsci/curate/c4.py", {"tag", "filter", "pii", "tokenize", "train_model"}, {"extract", "train_quality"}),
])
def test_a_code_edit_reruns_exactly_the_jobs_whose_verbs_import_it(run, module, reruns, untouched):
    path = run / module
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n# an edit\n")
        rules = _dry_run_rules(run)
    finally:
        path.write_bytes(original)
    assert reruns <= rules, sorted(rules)
    assert not rules & untouched, sorted(rules & untouched)
    assert _dry_run_rules(run) == set()


def test_pulled_checkpoints_rerun_the_per_checkpoint_evaluation_without_training(run, tmp_path):
    """dvc push, a fresh clone, `lmsci pull`: the published checkpoints come back, and the per-checkpoint
    evaluation reruns from them alone — the train rule does not run — to the same bytes."""
    store = tmp_path / "store"
    for cmd in (["dvc", "remote", "add", "--local", "-f", "store", str(store)], ["dvc", "push", "-q", "-r", "store"],
                ["git", "add", "dvc.lock"],
                ["git", "-c", "user.email=ci@lmsci", "-c", "user.name=ci", "commit", "-qm", "lock", "--allow-empty"]):
        proc = _sh(run, *cmd)
        assert proc.returncode == 0, (cmd, proc.stdout + proc.stderr)
    clone = tmp_path / "clone"
    assert _sh(tmp_path, "git", "clone", "-q", str(run), str(clone)).returncode == 0
    assert _sh(clone, "dvc", "remote", "add", "--local", "store", str(store)).returncode == 0
    proc = _sh(clone, sys.executable, "-m", "lmsci", "pull", "--remote", "store")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    published = sorted(p.relative_to(clone) for p in (clone / "results/train/published").rglob("*") if p.is_file())
    assert published == sorted(p.relative_to(run) for p in (run / "results/train/published").rglob("*") if p.is_file())
    (clone / "results/eval/checkpoints.json").unlink(missing_ok=True)
    proc = snakemake(clone, "results/eval/checkpoints.json", "--cores", "2")
    assert proc.returncode == 0, proc.stderr[-3000:]
    ran = set(re.findall(r"\(Rule: (\w+)\)", proc.stderr + proc.stdout))
    assert "evaluate_checkpoints" in ran and "train_model" not in ran, sorted(ran)
    assert (clone / "results/eval/checkpoints.json").read_bytes() == (run / "results/eval/checkpoints.json").read_bytes()
