"""A variant's blend: the run's mixing rule (:func:`lmsci.mix.blend`) over token shards that may come from
several variants' directories (each source's from the variant that owns its tokens: lmsci.ablation.plan),
with the evaluation set as its ``valid`` data."""
from __future__ import annotations

import dataclasses

from lmsci import ledger, mix

_PLACEHOLDER = "\x00tokens"


def blend(cfg, stats_paths: list[str], vocab_size: int, eod: int, eval_blend: dict) -> dict:
    """``cfg``: the variant's sections (seed, sources, model, train, tokenize) as attributes."""
    where = {}
    stats = []
    for p in stats_paths:  # <dir>/tokens/<source>/<shard>.stats.json
        led = ledger.load(p)
        stats.append(led)
        where[led["source"], led["shard"]] = str(p).removesuffix(".stats.json") + "/train"
    per_shard = dataclasses.replace(cfg.tokenize, merge=False)  # the ablation tokenizes shard by shard
    ns = type("Sections", (), {**vars(cfg), "tokenize": per_shard})
    out = mix.blend(ns, stats, vocab_size, eod, _PLACEHOLDER)
    for entry in out["train"]:
        entry["prefix"] = where[entry["source"], entry["shard"]]
    out["valid"] = [{"source": v["source"], "prefixes": v["prefixes"]} for v in eval_blend["valid"]]
    return out
