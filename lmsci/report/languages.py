"""The funnel per language: documents of each detected language kept after every curation stage.

Read from the stages' own kept shards (``<stage>/<source>/<shard>.parquet``) through the ``lang``
column that language identification (``lmsci.curate.langid``) writes at the tag stage and every
later stage carries along — so a multilingual run (``configs/multilingual.yaml``) shows which stage
removes how much of each language, the check FineWeb-2 makes per language. Sources without language
identification have no ``lang`` column and are left out.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

STAGES = ("tag", "filter", "pii", "dedup", "minhash")  # tag keeps every document: it is the funnel's top
COLUMN = "lang"


def _kept_shards(stage_dir: Path) -> list[Path]:
    return sorted(p for p in stage_dir.glob("*/*.parquet") if ".dropped" not in p.name)


def counts(results: Path) -> dict[str, dict[str, int]]:
    """stage → language → documents kept, over every source with a language column."""
    out: dict[str, dict[str, int]] = {}
    for stage in STAGES:
        total: Counter = Counter()
        for path in _kept_shards(Path(results) / stage):
            if COLUMN in pl.read_parquet_schema(path):
                total.update(pl.read_parquet(path, columns=[COLUMN])[COLUMN].fill_null("?").to_list())
        if total:
            out[stage] = dict(total)
    return out


def table(results: Path) -> list[dict]:
    """One row per language, most documents first: its count after each stage and the share kept."""
    per_stage = counts(results)
    if not per_stage:
        return []
    stages = list(per_stage)
    langs = sorted(per_stage[stages[0]], key=lambda lang: (-per_stage[stages[0]][lang], lang))
    rows = []
    for lang in langs:
        n = [per_stage[st].get(lang, 0) for st in stages]
        rows.append({"lang": lang, "counts": dict(zip(stages, n)), "kept_share": n[-1] / n[0] if n[0] else None})
    return rows
