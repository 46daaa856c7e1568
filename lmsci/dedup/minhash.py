"""MinHash-LSH near-duplicate removal (Broder 1997; banding as in Leskovec et al., MMDS ch. 3).

Four stages that talk through files, each deterministic whatever the shard or core count:

1. :func:`signatures` — per shard: word ``ngram`` shingles of the normalised text (the same
   normalisation as exact dedup) → ``permutations`` min-hashes (uint32) per document.
2. :func:`band_edges` — per band: documents whose ``rows`` hashes in the band all agree share a
   bucket; each member is linked to the first earlier member (by document id) whose whole
   signature agrees on at least ``threshold`` of the hashes (an estimate of the Jaccard similarity).
3. :func:`clusters` — union-find over every band's edges; the root is the lowest document id.
4. :func:`apply` — keep each cluster's root, drop the rest with ``dup_of`` = root; kept documents
   carry ``minhash_cluster_size`` (FineWeb-2 keeps it to re-weight duplicated content).

Shingles are hashed by word: each distinct word gets an 8-byte blake2b digest (cached), and
an n-gram's 64-bit hash is a polynomial in its words' hashes, computed with numpy.
"""
from __future__ import annotations

import functools
import hashlib

import numpy as np
import polars as pl

from lmsci.config import MinHashConfig
from lmsci.dedup.exact import normalise
from lmsci.ledger import Ledger

REASON = "dedup_minhash/near_duplicate"
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant: multiply-add mixes words into an n-gram hash


@functools.lru_cache(maxsize=1 << 20)
def _word_hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode("utf-8"), digest_size=8).digest(), "little")


def shingle_hashes(text: str, ngram: int) -> np.ndarray:
    """64-bit hashes of the distinct word n-grams (a text shorter than n words is one shingle)."""
    words = normalise(text).split()
    if not words:
        return np.zeros(0, dtype=np.uint64)
    h = np.fromiter(map(_word_hash, words), dtype=np.uint64, count=len(words))
    n = min(ngram, len(words))
    key = np.zeros(len(words) - n + 1, dtype=np.uint64)
    for j in range(n):
        key = key * _MULT + h[j:len(words) - n + 1 + j]
    return np.unique(key)


def hash_params(cfg: MinHashConfig) -> tuple[np.ndarray, np.ndarray]:
    """``permutations`` (a, b) pairs, a odd: x ↦ (a·x + b) mod 2**64, high 32 bits kept."""
    rng = np.random.default_rng(cfg.seed)
    a = rng.integers(0, 2**64, size=cfg.permutations, dtype=np.uint64, endpoint=False) | np.uint64(1)
    b = rng.integers(0, 2**64, size=cfg.permutations, dtype=np.uint64, endpoint=False)
    return a, b


def signature(shingles: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    out = np.full(len(a), np.iinfo(np.uint32).max, dtype=np.uint32)
    for i in range(0, len(shingles), chunk):  # bounds memory at chunk × permutations × 8 bytes
        h = (shingles[i:i + chunk, None] * a[None, :] + b[None, :]) >> np.uint64(32)
        np.minimum(out, h.min(axis=0).astype(np.uint32), out=out)
    return out


def signatures(df: pl.DataFrame, cfg: MinHashConfig) -> pl.DataFrame:
    """id → signature (Array[UInt32, permutations]), sorted by id; documents without words are left out.

    Disabled: no signatures, so no document has a near duplicate."""
    a, b = hash_params(cfg)
    ids, sigs = [], []
    for doc, text in df.select("id", "text").sort("id").iter_rows() if cfg.enabled else ():
        sh = shingle_hashes(text, cfg.ngram)
        if len(sh):
            ids.append(doc)
            sigs.append(signature(sh, a, b))
    mat = np.stack(sigs) if sigs else np.zeros((0, cfg.permutations), dtype=np.uint32)
    return pl.DataFrame({"id": pl.Series(ids, dtype=pl.String),
                         "sig": pl.Series(mat, dtype=pl.Array(pl.UInt32, cfg.permutations))})


def _matrix(sigs: pl.DataFrame) -> tuple[list[str], np.ndarray]:
    sigs = sigs.sort("id")
    ids = sigs["id"].to_list()
    if len(set(ids)) != len(ids):
        raise ValueError("minhash signatures: a document id occurs twice (the same shard given twice?)")
    return ids, sigs["sig"].to_numpy().reshape(len(ids), -1)


def band_edges(sigs: pl.DataFrame, band: int, cfg: MinHashConfig) -> pl.DataFrame:
    """Verified candidate pairs (a < b by id) from one LSH band, sorted."""
    if not 0 <= band < cfg.bands:
        raise ValueError(f"minhash band {band} out of range: minhash.bands is {cfg.bands}")
    if sigs.height == 0:
        return pl.DataFrame(schema={"a": pl.String, "b": pl.String})
    ids, mat = _matrix(sigs)
    rows = cfg.permutations // cfg.bands
    part = mat[:, band * rows:(band + 1) * rows].astype(np.uint64)
    key = np.zeros(len(ids), dtype=np.uint64)
    for j in range(rows):
        key = key * _MULT + part[:, j]
    order = np.lexsort((np.arange(len(ids)), key))  # by bucket, then by document id
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    edges = []
    for s, e in zip(starts, np.r_[starts[1:], len(order)]):
        members = order[s:e]
        if len(members) < 2 or np.any(part[members] != part[members[0]]):
            continue  # a singleton, or a 64-bit key collision between different bands
        for j, m in enumerate(members[1:], 1):
            sim = (mat[members[:j]] == mat[m]).mean(axis=1)
            hit = np.flatnonzero(sim >= cfg.threshold)
            if len(hit):
                edges.append((ids[members[hit[0]]], ids[m]))
    return pl.DataFrame(sorted(edges), schema={"a": pl.String, "b": pl.String}, orient="row")


def clusters(edge_frames: list[pl.DataFrame]) -> pl.DataFrame:
    """Union-find over all bands' edges → id, cluster (its lowest id), cluster_size; only clusters of 2+."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while x != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for df in edge_frames:
        if not df["a"].is_sorted() or not (df["a"] < df["b"]).all():
            raise ValueError("minhash edges: a band file is not sorted with a < b; rerun its bucket stage")
        for x, y in df.iter_rows():
            rx, ry = find(x), find(y)
            if rx != ry:
                lo, hi = min(rx, ry), max(rx, ry)
                parent[hi] = lo
                parent.setdefault(lo, lo)
    out = pl.DataFrame({"id": sorted(parent)}, schema={"id": pl.String})
    out = out.with_columns(cluster=pl.Series([find(x) for x in out["id"]], dtype=pl.String))
    return out.with_columns(cluster_size=pl.len().over("cluster").cast(pl.Int64))


def apply(frames: list[pl.DataFrame], clus: pl.DataFrame, source: str, extra: dict | None = None):
    """Documents (after exact dedup) → (kept with minhash_cluster_size, dropped with dup_of, ledger)."""
    df = pl.concat(frames, how="diagonal_relaxed").sort("id")
    df = df.join(clus, on="id", how="left", maintain_order="left")
    df = df.with_columns(dup_of=pl.when(pl.col("cluster") != pl.col("id")).then(pl.col("cluster")),
                         minhash_cluster_size=pl.col("cluster_size").fill_null(1)).drop("cluster", "cluster_size")
    kept = df.filter(pl.col("dup_of").is_null()).drop("dup_of")
    dropped = df.filter(pl.col("dup_of").is_not_null()).with_columns(reason=pl.lit(REASON))
    if not dropped["dup_of"].is_in(kept["id"].implode()).all():
        raise ValueError("minhash: a cluster root is not among the documents kept by exact dedup; "
                         "signatures and exact dedup must read the same documents")
    led = Ledger("dedup_minhash", source, "all")
    for text, dup in zip(df["text"], df["dup_of"]):
        led.keep(len(text)) if dup is None else led.drop(REASON, len(text))
    led.extra.update(extra or {})
    led.extra["clusters"] = int(clus["cluster"].n_unique()) if clus.height else 0
    return kept, dropped, led


def band_file(band: int) -> str:
    return f"band-{band:03d}.parquet"
