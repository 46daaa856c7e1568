"""A small results tree the report can be built from in a second or two, with no training run:
real ledgers (lmsci.ledger), stored drops, a real BPE tokenizer trained on the fixture's text, a
blend manifest, metrics rows, perplexities per checkpoint. Shared by the build, verify and
Chromium screenshot tests; the real workflow's report is the e2e tests' business."""
from __future__ import annotations

import json
import math
from pathlib import Path

import polars as pl
import pytest
import yaml

from lmsci.config import TokenizerConfig
from lmsci.ledger import Ledger
from lmsci.tokenize import bpe

REPO = Path(__file__).resolve().parents[2]
TEXT = ("The quick brown fox jumps over the lazy dog. Pack my box with five dozen liquor jugs. "
        "How vexingly quick daft zebras jump! Sphinx of black quartz, judge my vow. ")
# A dropped document whose text would break the markup if it were not escaped.
HOSTILE = "<script>alert('x')</script> | pipe | **bold** `tick` <img src=x onerror=alert(1)> [link](http://e)"


def _ledger(root: Path, rel: str, stage: str, source: str, kept: int, drops: dict[str, int], chars: int = 100,
            **extra) -> None:
    led = Ledger(stage, source, Path(rel).name.split(".")[0])
    for _ in range(kept):
        led.keep(chars)
    for reason, n in drops.items():
        for _ in range(n):
            led.drop(reason, chars)
    led.extra.update(extra)
    led.write(root / rel)


def _drops(root: Path, rel: str, source: str, reasons: list[str], texts: list[str] | None = None) -> None:
    n = len(reasons)
    pl.DataFrame({"id": [f"{source}/s0/{i:012d}" for i in range(n)], "url": [f"https://example.org/{i}" for i in range(n)],
                  "reason": reasons, "text": texts or [f"{TEXT} dropped {i}" for i in range(n)]}).write_parquet(root / rel)


def write_results(root: Path) -> dict:
    """crawl: 10 records → extract drops 1 (no text) → filter drops 3 → dedup drops 1 → 5 tokenized;
    wiki: 4 → 4. Returns paths and the config files to build the report with."""
    results = root / "results"
    for d in ("extract/crawl", "tag/crawl", "filter/crawl", "pii/crawl", "dedup/crawl", "minhash/crawl",
              "tokens/crawl", "extract/wiki", "tag/wiki", "filter/wiki", "pii/wiki", "dedup/wiki", "minhash/wiki",
              "tokens/wiki", "mix", "tokenizer", "train", "eval"):
        (results / d).mkdir(parents=True, exist_ok=True)
    _ledger(results, "extract/crawl/s0.stats.json", "extract", "crawl", 9, {"extract/empty": 1})
    _ledger(results, "tag/crawl/s0.stats.json", "tag", "crawl", 9, {})
    _ledger(results, "filter/crawl/s0.stats.json", "filter", "crawl", 6, {"langid/low_score": 2, "c4/curly_bracket": 1})
    _drops(results, "filter/crawl/s0.dropped.parquet", "crawl", ["langid/low_score", "c4/curly_bracket", "langid/low_score"],
           [f"{TEXT} one", HOSTILE, f"{TEXT} {TEXT} two"])
    _ledger(results, "pii/crawl/s0.stats.json", "pii", "crawl", 6, {})
    _ledger(results, "dedup/crawl/stats.json", "dedup_exact", "crawl", 5, {"dedup_exact/duplicate": 1})
    _drops(results, "dedup/crawl/dropped.parquet", "crawl", ["dedup_exact/duplicate"])
    _ledger(results, "minhash/crawl/stats.json", "dedup_minhash", "crawl", 5, {})
    _ledger(results, "extract/wiki/w0.stats.json", "extract", "wiki", 4, {})
    for rel, stage in (("tag/wiki/w0.stats.json", "tag"), ("filter/wiki/w0.stats.json", "filter"),
                       ("pii/wiki/w0.stats.json", "pii"), ("dedup/wiki/stats.json", "dedup_exact"),
                       ("minhash/wiki/stats.json", "dedup_minhash")):
        _ledger(results, rel, stage, "wiki", 4, {})
    _ledger(results, "tokens/crawl/stats.json", "tokenize", "crawl", 5, {}, train_tokens=400, valid_tokens=40,
            train_documents=4, valid_documents=1)
    _ledger(results, "tokens/wiki/stats.json", "tokenize", "wiki", 4, {}, train_tokens=300, valid_tokens=30,
            train_documents=3, valid_documents=1)
    tok = bpe.train([TEXT * 20], TokenizerConfig(vocab_size=300, min_frequency=1))
    bpe.save(tok, results / "tokenizer/tokenizer.json")
    blend = {"vocab_size": 300, "eod": 0, "seq_length": 16, "seed": 1, "planned_tokens": 640,
             "train": [{"source": s, "prefix": f"results/tokens/{s}/train", "weight": w} for s, w in (("crawl", .5), ("wiki", .5))],
             "valid": [{"source": s, "prefixes": [f"results/tokens/{s}/valid"]} for s in ("crawl", "wiki")],
             "composition": [{"source": s, "weight": .5, "requested_tokens": 320, "available_tokens": a,
                              "epochs": round(320 / a, 3)} for s, a in (("crawl", 400), ("wiki", 300))]}
    (results / "mix/blend.json").write_text(json.dumps(blend))
    rows = [{"step": s, "loss": 5.7 * math.exp(-s / 8) + 2.0, "lr": 1e-3 * min(1, (s + 1) / 3), "grad_norm": 2.0 / (1 + s),
             "tokens": 64 * (s + 1), "tokens_per_s": 500.0 + 10 * (s % 3)} for s in range(10)]
    (results / "train/metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (results / "train/train_summary.json").write_text(json.dumps({
        "steps": 10, "tokens_per_step": 64, "tokens_seen": 640, "final_loss": rows[-1]["loss"], "device": "cpu",
        "parameters": {"total": 1000, "non_embedding": 600}}))
    per = lambda loss: {s: {"tokens": 40, "loss": loss + d, "ppl": math.exp(loss + d)}  # noqa: E731
                        for s, d in (("crawl", 0.0), ("wiki", 0.3))}
    (results / "eval/perplexity.json").write_text(json.dumps({"per_source": per(2.5)}))
    (results / "eval/checkpoints.json").write_text(json.dumps({"checkpoints": [
        {"step": s, "checkpoint": f"checkpoints/step_{s:07d}", "per_source": per(5.6 - 0.3 * s)} for s in (0, 1, 2, 4, 8)]}))
    cfg = root / "overlay.yaml"
    cfg.write_text(yaml.safe_dump({"run": "fixture", "results": str(results)}))
    return {"root": root, "results": results, "config_files": [str(REPO / "config.yaml"), str(cfg)],
            "out": root / "reports" / "fixture"}


@pytest.fixture
def fixture_results(tmp_path) -> dict:
    return write_results(tmp_path)


@pytest.fixture
def fixture_report(fixture_results) -> dict:
    from lmsci.report.build import build
    build(fixture_results["results"], fixture_results["out"], fixture_results["config_files"],
          root=fixture_results["root"])
    return fixture_results


@pytest.fixture(scope="module")
def shared_report(tmp_path_factory) -> dict:
    """One built fixture report per test module, for the tests that only read it."""
    from lmsci.report.build import build
    r = write_results(tmp_path_factory.mktemp("report"))
    build(r["results"], r["out"], r["config_files"], root=r["root"])
    return r
