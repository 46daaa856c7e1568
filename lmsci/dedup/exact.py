"""Exact deduplication across all shards of a source on a normalised-text hash.

Normalisation (NFKC, lower case, whitespace collapsed) folds copies that differ only in
layout. The first document in document-id order is kept, so the result does not depend on
how many shards or cores produced the input.
"""
from __future__ import annotations

import hashlib
import unicodedata

import polars as pl

from lmsci.ledger import Ledger


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()


def dedup(frames: list[pl.DataFrame], source: str, enabled: bool = True):
    """Documents of every shard of a source → (kept, dropped with ``dup_of``, ledger).

    With ``enabled`` False every document is kept (and still counted)."""
    df = pl.concat(frames, how="diagonal_relaxed").sort("id")
    first: dict[str, str] = {}
    dups: list[str | None] = []
    for doc, text in df.select("id", "text").iter_rows():
        h = text_hash(text) if enabled else doc
        dups.append(first.get(h))
        first.setdefault(h, doc)
    led = Ledger("dedup_exact", source, "all")
    for text, dup in zip(df["text"], dups):
        led.keep(len(text)) if dup is None else led.drop("dedup_exact/duplicate", len(text))
    df = df.with_columns(pl.Series("dup_of", dups, dtype=pl.String))
    kept = df.filter(pl.col("dup_of").is_null()).drop("dup_of")
    dropped = df.filter(pl.col("dup_of").is_not_null()).with_columns(reason=pl.lit("dedup_exact/duplicate"))
    return kept, dropped, led
