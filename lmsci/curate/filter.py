"""Decide: apply each filter's thresholds to stored attributes; first failing filter names the reason.

A filter's thresholds for a page come from its config section, with the section's
``languages.<lang>`` overrides for the page's detected language (``lang``, from langid) — FineWeb-2
tunes every filter per language.
"""
from __future__ import annotations

import polars as pl

from lmsci.config import Config
from lmsci.curate.registry import FILTERS, for_language, prefix, section
from lmsci.ledger import Ledger


def decide_row(row: dict, filters: list[str], cfg: Config) -> str | None:
    lang = row.get("lang") or "en"
    for name in filters:
        pre = prefix(name)
        attrs = {k[len(pre):]: v for k, v in row.items() if k.startswith(pre)} if pre else row
        reason = FILTERS[name].decide(attrs, for_language(section(cfg, name), lang))
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
