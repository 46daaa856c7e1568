"""``lmsci inspect dropped``: audit what the curation stages dropped, per named reason.

Every stage that drops documents keeps them (``results/**/*dropped*.parquet``, with a ``reason``
column); this reads them back, so a threshold can be judged on real examples.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

COLUMNS = ("id", "url", "reason", "text")


def dropped(results: Path) -> pl.DataFrame:
    """Every stored dropped document (id, url, reason, text), in document-id order."""
    files = sorted(Path(results).glob("**/*dropped*.parquet"))
    if not files:
        raise FileNotFoundError(f"no dropped documents under {results}; run the curation stages first")
    frames = [pl.read_parquet(f).select(c for c in COLUMNS) for f in files
              if set(COLUMNS) <= set(pl.read_parquet_schema(f))]
    return pl.concat(frames).sort("id")


def reasons(results: Path) -> Counter:
    return Counter(dict(dropped(results).group_by("reason").len().iter_rows()))


def samples(results: Path, reason: str, n: int) -> pl.DataFrame:
    """The first ``n`` documents dropped for ``reason`` (or any reason under it, e.g. ``langid``)."""
    df = dropped(results)
    hits = df.filter((pl.col("reason") == reason) | pl.col("reason").str.starts_with(reason + "/"))
    if hits.height == 0:
        known = ", ".join(sorted(set(df["reason"])))
        raise ValueError(f"no documents dropped for reason '{reason}'; known reasons: {known}")
    return hits.head(n)
