"""lmsci/mix.py: source weights → blend manifest over every shard prefix, requested vs available tokens."""
from __future__ import annotations

import pytest

from lmsci import config, mix


def _ledger(source: str, shard: str, train: int, valid_documents: int = 1) -> dict:
    return {"source": source, "shard": shard, "extra": {"train_tokens": train, "valid_tokens": 5,
                                                        "valid_documents": valid_documents}}


@pytest.fixture
def cfg(base_dict):
    base_dict["sources"]["crawl"]["weight"] = 0.5
    base_dict["sources"]["wiki"]["weight"] = 0.25
    base_dict["sources"]["code"]["weight"] = 0.25
    base_dict["train"].update(steps=10, warmup_steps=1, global_batch_size=8, micro_batch_size=4)
    base_dict["model"]["seq_length"] = 100
    return base_dict


STATS = [_ledger("crawl", "s-2", 500), _ledger("crawl", "s-0", 1500), _ledger("crawl", "s-1", 0, 0),
         _ledger("wiki", "w-0", 8000), _ledger("code", "c-0", 0)]


def test_blend_lists_every_shard_weighted_by_its_tokens(cfg):
    m = mix.blend(config.from_dict(cfg), STATS, vocab_size=1024, eod=0, tokens_dir="results/tokens")
    assert m["planned_tokens"] == 10 * 8 * 100
    assert (m["vocab_size"], m["eod"], m["seq_length"]) == (1024, 0, 100)
    rows = {r["source"]: r for r in m["composition"]}
    assert list(rows) == ["code", "crawl", "wiki"] == [v["source"] for v in m["valid"]]
    assert rows["crawl"]["available_tokens"] == 2000 and rows["crawl"]["shards"] == 3
    assert rows["crawl"]["requested_tokens"] == 4000 and rows["crawl"]["epochs"] == 2.0
    assert rows["wiki"]["requested_tokens"] == 2000 and rows["wiki"]["epochs"] == 0.25
    assert rows["code"]["available_tokens"] == 0 and rows["code"]["epochs"] == 2000.0  # no div-by-zero
    # shards without train tokens are left out (megatron cannot sample them); the rest in shard order
    assert [(t["source"], t["shard"], t["prefix"], t["weight"]) for t in m["train"]] == [
        ("crawl", "s-0", "results/tokens/crawl/s-0/train", 0.5 * 1500 / 2000),
        ("crawl", "s-2", "results/tokens/crawl/s-2/train", 0.5 * 500 / 2000),
        ("wiki", "w-0", "results/tokens/wiki/w-0/train", 0.25)]
    assert {v["source"]: v["prefixes"] for v in m["valid"]}["crawl"] == [
        "results/tokens/crawl/s-0/valid", "results/tokens/crawl/s-2/valid"]  # s-1 has no valid document


def test_merged_blend_lists_one_prefix_per_source(cfg):
    cfg["tokenize"] = {"merge": True}
    m = mix.blend(config.from_dict(cfg), STATS, vocab_size=1024, eod=0, tokens_dir="results/tokens")
    assert [(t["source"], t["prefix"], t["weight"]) for t in m["train"]] == [
        ("crawl", "results/tokens/crawl/merged/train", 0.5), ("wiki", "results/tokens/wiki/merged/train", 0.25)]
    assert [v["prefixes"] for v in m["valid"]] == [[f"results/tokens/{s}/merged/valid"] for s in ("code", "crawl",
                                                                                                    "wiki")]


def test_a_missing_or_unknown_source_is_one_line(cfg):
    c = config.from_dict(cfg)
    with pytest.raises(ValueError, match="no tokenize ledger for source 'wiki'"):
        mix.blend(c, [s for s in STATS if s["source"] != "wiki"], 1024, 0, "t")
    with pytest.raises(ValueError, match="source 'web' .* is not a configured source"):
        mix.blend(c, STATS + [_ledger("web", "x", 5)], 1024, 0, "t")
