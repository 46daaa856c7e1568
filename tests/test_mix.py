"""lmsci/mix.py: source weights → blend manifest with requested vs available tokens."""
from __future__ import annotations

from lmsci import config, mix


def test_blend(base_dict):
    base_dict["sources"]["crawl"]["weight"] = 0.5
    base_dict["sources"]["wiki"]["weight"] = 0.25
    base_dict["sources"]["code"]["weight"] = 0.25
    base_dict["train"].update(steps=10, warmup_steps=1, global_batch_size=8, micro_batch_size=4)
    base_dict["model"]["seq_length"] = 100
    cfg = config.from_dict(base_dict)
    avail = {"crawl": 2000, "wiki": 8000, "code": 0}
    stats = {k: {"extra": {"train_tokens": v, "valid_tokens": 1}} for k, v in avail.items()}
    m = mix.blend(cfg, stats, vocab_size=1024, eod=0, tokens_dir="results/tokens")

    assert m["planned_tokens"] == 10 * 8 * 100
    assert (m["vocab_size"], m["eod"], m["seq_length"], m["seed"]) == (1024, 0, 100, cfg.seed)
    names = [r["source"] for r in m["composition"]]
    assert names == sorted(avail) == [t["source"] for t in m["train"]] == [v["source"] for v in m["valid"]]
    rows = {r["source"]: r for r in m["composition"]}
    assert rows["crawl"]["requested_tokens"] == 4000 and rows["crawl"]["epochs"] == 2.0
    assert rows["wiki"]["requested_tokens"] == 2000 and rows["wiki"]["epochs"] == 0.25
    assert rows["code"]["available_tokens"] == 0 and rows["code"]["epochs"] == 2000.0  # no div-by-zero
    assert sum(t["weight"] for t in m["train"]) == 1.0
    assert {t["prefix"] for t in m["train"]} == {f"results/tokens/{s}/train" for s in avail}
    assert {v["prefix"] for v in m["valid"]} == {f"results/tokens/{s}/valid" for s in avail}
