"""The real workflow, end to end, on configs/tiny.yaml (2 crawl shards, a seconds-long training run)."""
from __future__ import annotations

import json
import math

import pytest

from lmsci import ledger
from lmsci.tokenize.indexed import count_documents

from .conftest import copy_repo, snakemake

pytestmark = pytest.mark.e2e
CONFIGS = ("--configfile", "config.yaml", "configs/tiny.yaml")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("e2e") / "repo")
    proc = snakemake(repo, "--cores", "2", *CONFIGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return repo


def test_report_written_with_every_section(run):
    md = (run / "reports/tiny/report.md").read_text()
    for heading in ("## Data funnel", "## Mix", "## Training", "## Validation perplexity per source", "## Provenance"):
        assert heading in md
    html = (run / "reports/tiny/report.html").read_text()
    assert 'src="loss.png"' in html and 'src="funnel.png"' in html
    for png in ("loss.png", "funnel.png"):
        assert (run / "reports/tiny" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_loss_falls_below_uniform_guess(run):
    metrics = [json.loads(x) for x in (run / "results-tiny/train/metrics.jsonl").read_text().splitlines()]
    blend = json.loads((run / "results-tiny/mix/blend.json").read_text())
    assert len(metrics) == 30
    assert metrics[-1]["loss"] < metrics[0]["loss"]
    assert metrics[-1]["loss"] < math.log(blend["vocab_size"])


def test_indexed_datasets_match_ledger(run):
    """Every .bin/.idx opens with megatron's IndexedDataset and holds the ledger's kept count."""
    for src in ("crawl", "wiki", "code"):
        stats = ledger.load(run / f"results-tiny/tokens/{src}/stats.json")
        dedup = ledger.load(run / f"results-tiny/dedup/{src}/stats.json")
        counts = {split: count_documents(run / f"results-tiny/tokens/{src}/{split}") for split in ("train", "valid")}
        assert counts["train"] == stats["extra"]["train_documents"]
        assert counts["valid"] == stats["extra"]["valid_documents"]
        assert counts["train"] + counts["valid"] == dedup["kept"] == stats["seen"]


def test_every_source_has_finite_perplexity(run):
    ppl = json.loads((run / "results-tiny/eval/perplexity.json").read_text())["per_source"]
    assert sorted(ppl) == ["code", "crawl", "wiki"]
    assert all(math.isfinite(p["ppl"]) and p["tokens"] > 0 for p in ppl.values())


def test_second_run_has_nothing_to_do(run):
    proc = snakemake(run, "-n", "--cores", "2", *CONFIGS)
    assert proc.returncode == 0
    assert "Nothing to be done" in proc.stdout + proc.stderr
