"""The two global passes over every curated shard that the per-shard tokenize jobs depend on.

* :func:`fallback` (rule ``split_fallback``): per source, the split overrides of
  :class:`lmsci.tokenize.split.Fallback`, from the ids alone — O(1) memory per source.
* :func:`held_out_texts` (rule ``decontam_index``): every source's ``valid`` documents, shard by
  shard, for :func:`lmsci.curate.decontam.build`.

Both read one shard at a time, so their memory depends on the largest shard, not on the crawl.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

import polars as pl

from lmsci.io import read_json
from lmsci.tokenize import split


def fallback(paths: Iterable[str | Path], seed: int, valid_fraction: float) -> dict[str, dict[str, str]]:
    """source → {id: split} for the documents whose hash-rule split is overridden (at most two)."""
    passes: dict[str, split.Fallback] = {}
    for p in sorted(map(Path, paths)):
        df = pl.read_parquet(p, columns=["id", "source"])
        for (src,), part in df.group_by(["source"], maintain_order=True):
            passes.setdefault(src, split.Fallback(seed, valid_fraction)).add(part["id"].to_list())
    return {src: passes[src].overrides() for src in sorted(passes)}


def load_overrides(path: str | Path, source: str) -> dict[str, str]:
    """One source's overrides from the ``split_fallback`` rule's JSON (none for a source without a
    document: every shard of it is empty)."""
    try:
        return read_json(path).get(source, {})
    except ValueError as e:
        raise ValueError(f"{path}: not the split_fallback rule's JSON ({e}); rerun it") from None


def held_out_texts(paths: Iterable[str | Path], seed: int, valid_fraction: float,
                   overrides: dict[str, dict[str, str]]) -> Iterator[str]:
    """The ``valid`` documents' texts of every shard (any source), in path then id order."""
    for p in sorted(map(Path, paths)):
        df = pl.read_parquet(p, columns=["id", "source", "text"]).sort("id")
        ids, sources = df["id"].to_list(), df["source"].to_list()
        for i, src, text in zip(ids, sources, df["text"].to_list()):
            if split.assign([i], seed, valid_fraction, overrides.get(src))[0] == "valid":
                yield text
