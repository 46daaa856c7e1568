"""Decide: apply each filter's thresholds to stored attributes; first failing filter names the reason."""
from __future__ import annotations

import polars as pl

from lmsci.config import Config
from lmsci.curate.registry import FILTERS, prefix, section
from lmsci.ledger import Ledger


def decide_row(row: dict, filters: list[str], cfg: Config) -> str | None:
    for name in filters:
        pre = prefix(name)
        attrs = {k[len(pre):]: v for k, v in row.items() if k.startswith(pre)} if pre else row
        reason = FILTERS[name].decide(attrs, section(cfg, name))
        if reason is not None:
            return f"{name}/{reason}"
    return None


def apply(df: pl.DataFrame, filters: list[str], cfg: Config, source: str, shard: str):
    """Return (kept, dropped-with-reason, ledger)."""
    led = Ledger("filter", source, shard)
    reasons = []
    for row in df.iter_rows(named=True):
        reason = decide_row(row, filters, cfg)
        reasons.append(reason)
        if reason is None:
            led.keep(len(row["text"]))
        else:
            led.drop(reason, len(row["text"]))
    df = df.with_columns(pl.Series("reason", reasons, dtype=pl.String))
    kept = df.filter(pl.col("reason").is_null()).drop("reason")
    dropped = df.filter(pl.col("reason").is_not_null())
    return kept, dropped, led
