"""Measure: add every configured filter's attributes as columns. Nothing is dropped here."""
from __future__ import annotations

import polars as pl
from tqdm import tqdm

from lmsci.curate.registry import FILTERS, prefix
from lmsci.ledger import Ledger


def tag(df: pl.DataFrame, filters: list[str], source: str, shard: str) -> tuple[pl.DataFrame, Ledger]:
    led = Ledger("tag", source, shard)
    columns: dict[str, list] = {}
    for name in filters:
        mod, pre = FILTERS[name], prefix(name)
        for text in tqdm(df["text"], desc=f"tag {name} {source}/{shard}", unit="doc", leave=False, mininterval=2):
            for k, v in mod.measure(text).items():
                columns.setdefault(pre + k, []).append(v)
    for text in df["text"]:
        led.keep(len(text))
    return df.with_columns(pl.Series(k, v) for k, v in columns.items()), led
