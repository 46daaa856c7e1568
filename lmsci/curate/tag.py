"""Measure: add every configured filter's attributes as columns. Nothing is dropped here."""
from __future__ import annotations

import functools
from pathlib import Path

import polars as pl
from tqdm import tqdm

from lmsci.config import C4Config
from lmsci.curate.registry import FILTERS, prefix
from lmsci.ledger import Ledger


def tag(df: pl.DataFrame, filters: list[str], source: str, shard: str,
        quality_model: str | Path | None = None, c4_cfg: C4Config | None = None) -> tuple[pl.DataFrame, Ledger]:
    """``quality_model``: the trained classifier (model.bin), required when ``quality`` is listed.
    ``c4_cfg``: C4's section when it names a ``bad_words_file`` (the only measure that reads config)."""
    led = Ledger("tag", source, shard)
    columns: dict[str, list] = {}
    for name in filters:
        mod, pre = FILTERS[name], prefix(name)
        if name == "quality":
            if quality_model is None:
                raise ValueError(f"tag {source}/{shard}: the quality filter needs a trained model (--quality-model)")
            measure = mod.scorer(quality_model)
        elif name == "c4" and c4_cfg is not None:
            measure = functools.partial(mod.measure, cfg=c4_cfg)
        else:
            measure = mod.measure
        for text in tqdm(df["text"], desc=f"tag {name} {source}/{shard}", unit="doc", leave=False, mininterval=2):
            for k, v in measure(text).items():
                columns.setdefault(pre + k, []).append(v)
    for text in df["text"]:
        led.keep(len(text))
    return df.with_columns(pl.Series(k, v) for k, v in columns.items()), led
