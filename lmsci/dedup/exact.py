"""Exact deduplication of a source on a normalised-text hash, as three file-backed passes.

Normalisation (NFKC, lower case, whitespace collapsed) folds copies that differ only in layout.
Of every set of documents with the same normalised text the lowest document id is kept and the
others are dropped with ``dup_of`` = that id, so the result depends neither on the shard count nor on
the number of hash ranges (``dedup.hash_buckets``) nor on the cores — only on the documents.

1. :func:`hashes` — per shard: (bucket, hash, id) sorted by hash then id. The hash is the full
   160-bit SHA-1 of the normalised UTF-8 text; ``bucket`` is the hash range of its leading 64 bits
   (``dedup.hash_buckets`` equal ranges), so sorting by hash also sorts by bucket.
2. :func:`groups` — per hash range, over every shard's hashes: the documents that are not the lowest
   id of their hash, with ``dup_of``. Memory: that range's (hash, id) rows, ~1/hash_buckets of the source.
3. :func:`apply` — per shard: that shard's documents joined to the groups (only its own ids are read).

Collisions: two different texts share a 160-bit hash with probability ~n²/2¹⁶¹ over n documents
(birthday bound); for a Common Crawl snapshot (n ≈ 3·10⁹) that is ~3·10⁻³⁰, so texts are not
re-compared within a group. :func:`dedup` runs the three passes in one process (``lmsci curate``).
"""
from __future__ import annotations

import hashlib
import unicodedata
from pathlib import Path

import polars as pl

from lmsci.io import atomic_path
from lmsci.ledger import Ledger

REASON = "dedup_exact/duplicate"
HASH_SCHEMA = {"bucket": pl.UInt32, "hash": pl.Binary, "id": pl.String}
GROUP_SCHEMA = {"id": pl.String, "dup_of": pl.String}
# Row groups small enough that a reader filtering on bucket (or id) skips most of a file by its statistics.
ROW_GROUP = 16_384


def normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())


def digest(text: str) -> bytes:
    return hashlib.sha1(normalise(text).encode("utf-8")).digest()


def text_hash(text: str) -> str:
    return digest(text).hex()


def bucket_of(h: bytes, buckets: int) -> int:
    """The hash range of ``h``: ``buckets`` equal ranges of its leading 64 bits (monotone in ``h``)."""
    return int.from_bytes(h[:8], "big") * buckets >> 64


def hashes(df: pl.DataFrame, buckets: int, enabled: bool = True) -> pl.DataFrame:
    """One shard's documents → (bucket, hash, id) sorted by (hash, id); none when disabled (all kept)."""
    if buckets < 1:
        raise ValueError(f"dedup.hash_buckets must be >= 1, got {buckets}")
    if not enabled or df.height == 0:
        return pl.DataFrame(schema=HASH_SCHEMA)
    hs = [digest(t) for t in df["text"]]
    return pl.DataFrame({"bucket": [bucket_of(h, buckets) for h in hs], "hash": hs, "id": df["id"]},
                        schema=HASH_SCHEMA).sort("hash", "id")


def groups(hash_frames: list[pl.DataFrame]) -> pl.DataFrame:
    """(hash, id) rows of one or more hash ranges → (id, dup_of) of every document that is not the
    lowest id of its hash, sorted by id."""
    frames = [f.select("hash", "id") for f in hash_frames if f.height]
    if not frames:
        return pl.DataFrame(schema=GROUP_SCHEMA)
    df = pl.concat(frames)
    if df["id"].n_unique() != df.height:
        raise ValueError("exact dedup: a document id occurs twice in the hash files (the same shard given twice?)")
    df = df.with_columns(dup_of=pl.col("id").min().over("hash"))
    return df.filter(pl.col("id") != pl.col("dup_of")).select("id", "dup_of").sort("id")


def apply(df: pl.DataFrame, dups: pl.DataFrame, source: str, shard: str = "all"):
    """Documents + (id, dup_of) rows → (kept, dropped with ``dup_of`` and reason, ledger)."""
    df = df.sort("id").join(dups.select("id", "dup_of"), on="id", how="left", maintain_order="left")
    led = Ledger("dedup_exact", source, shard)
    for n, dup in zip(df["text"].str.len_chars(), df["dup_of"]):
        led.keep(n) if dup is None else led.drop(REASON, n)
    kept = df.filter(pl.col("dup_of").is_null()).drop("dup_of")
    dropped = df.filter(pl.col("dup_of").is_not_null()).with_columns(reason=pl.lit(REASON))
    return kept, dropped, led


def dedup(frames: list[pl.DataFrame], source: str, enabled: bool = True, buckets: int = 1):
    """Every shard of a source in one process → (kept, dropped with ``dup_of``, ledger of shard "all");
    the same hash and group code as the file-backed passes, so the same documents are kept."""
    df = pl.concat(frames, how="diagonal_relaxed").sort("id")
    return apply(df, groups([hashes(df, buckets, enabled)]), source)


# ---- file-backed passes (the workflow's rules) ----

def write_sorted(path: str | Path, df: pl.DataFrame) -> None:
    """Atomic write with per-row-group min/max statistics, so filtered scans skip what they do not need
    (statistics hold data values only: the file is byte-identical across reruns)."""
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=True, row_group_size=ROW_GROUP)


def read_bucket(hash_paths: list[str | Path], bucket: int) -> pl.DataFrame:
    """One hash range of every shard's hash file."""
    return pl.scan_parquet([str(p) for p in hash_paths]).filter(pl.col("bucket") == bucket).collect()


def read_for(paths: list[str | Path], ids: pl.Series, schema: dict) -> pl.DataFrame:
    """The rows of id-sorted files (groups, clusters) whose id is one of ``ids`` — one shard's, in practice;
    the id range lets the scan skip the row groups of other shards."""
    if ids.len() == 0 or not paths:
        return pl.DataFrame(schema=schema)
    lo, hi = ids.min(), ids.max()
    return (pl.scan_parquet([str(p) for p in paths]).select(list(schema))
            .filter(pl.col("id").is_between(pl.lit(lo), pl.lit(hi)) & pl.col("id").is_in(ids.implode())).collect().sort("id"))
