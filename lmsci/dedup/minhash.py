"""MinHash-LSH near-duplicate removal (Broder 1997; banding as in Leskovec et al., MMDS ch. 3).

Five passes that talk through files, each deterministic whatever the shard or core count, none
reading a whole source's documents:

1. :func:`signatures` — per shard of exact dedup's survivors: word ``ngram`` shingles of the
   normalised text (the same normalisation as exact dedup) → ``permutations`` min-hashes (uint32)
   per document, plus one 64-bit bucket key per band (``key_000`` …) so a band job reads 8 bytes and
   an id per document, not the whole signature.
2. :func:`band_edges` / :func:`band_file_edges` — per band: documents whose ``rows`` hashes in the band
   all agree share a bucket; each member is linked to the first earlier member (by document id) whose
   whole signature agrees on at least ``threshold`` of the hashes (an estimate of the Jaccard similarity).
3. :func:`clusters` — connected components over every band's edges (lmsci.dedup.unionfind: integer
   keys, memory ∝ edges); the root is the lowest document id.
4. :func:`apply` — per shard: keep each cluster's root, drop the rest with ``dup_of`` = root; kept
   documents carry ``minhash_cluster_size`` (FineWeb-2 keeps it to re-weight duplicated content).

Signatures are taken of exact dedup's survivors, so every cluster member — the root included — is a
document that exact dedup kept, and the root, never dropped here, is always in the curated output.
(An exact copy has the signature of its original, which is in every bucket it is in and earlier, so
it would only ever add a leaf edge: the clusters' roots and members among survivors are unchanged by
leaving copies out; ``minhash_cluster_size`` counts survivors.)

Shingles are hashed by word: each distinct word gets an 8-byte blake2b digest (cached), and
an n-gram's 64-bit hash is a polynomial in its words' hashes, computed with numpy.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

import numpy as np
import polars as pl

from lmsci.config import MinHashConfig
from lmsci.dedup.exact import normalise
from lmsci.dedup.unionfind import components
from lmsci.ledger import Ledger

REASON = "dedup_minhash/near_duplicate"
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant: multiply-add mixes words into an n-gram hash
EDGE_SCHEMA = {"a": pl.String, "b": pl.String}
CLUSTER_SCHEMA = {"id": pl.String, "cluster": pl.String, "cluster_size": pl.Int64}
# Documents per pass of a band job: ~2²² × (8-byte key + ~40-byte id) ≈ 200 MB, whatever the source's size.
BAND_CHUNK = 1 << 22


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


def key_column(band: int) -> str:
    return f"key_{band:03d}"


def _fold(rows: np.ndarray) -> np.ndarray:
    """uint64 hash values (..., rows) → one 64-bit key per leading index (equal rows ⇒ equal key)."""
    key = np.zeros(rows.shape[:-1], dtype=np.uint64)
    for j in range(rows.shape[-1]):
        key = key * _MULT + rows[..., j]
    return key * _MULT  # a bijection (odd multiplier) that spreads the last row over the high bits too


def band_keys(mat: np.ndarray, cfg: MinHashConfig) -> np.ndarray:
    """(documents, permutations) signatures → (documents, bands) 64-bit bucket keys."""
    return _fold(mat.astype(np.uint64).reshape(len(mat), cfg.bands, cfg.permutations // cfg.bands))


def signatures(df: pl.DataFrame, cfg: MinHashConfig) -> pl.DataFrame:
    """id → signature (Array[UInt32, permutations]) and a ``key_BBB`` column per band, sorted by id;
    documents without words are left out. Disabled: no signatures, so no document has a near duplicate."""
    a, b = hash_params(cfg)
    ids, sigs = [], []
    for doc, text in df.select("id", "text").sort("id").iter_rows() if cfg.enabled else ():
        sh = shingle_hashes(text, cfg.ngram)
        if len(sh):
            ids.append(doc)
            sigs.append(signature(sh, a, b))
    mat = np.stack(sigs) if sigs else np.zeros((0, cfg.permutations), dtype=np.uint32)
    keys = band_keys(mat, cfg)
    return pl.DataFrame({"id": pl.Series(ids, dtype=pl.String),
                         "sig": pl.Series(mat, dtype=pl.Array(pl.UInt32, cfg.permutations)),
                         **{key_column(k): pl.Series(keys[:, k], dtype=pl.UInt64) for k in range(cfg.bands)}})


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
        return pl.DataFrame(schema=EDGE_SCHEMA)
    ids, mat = _matrix(sigs)
    rows = cfg.permutations // cfg.bands
    part = mat[:, band * rows:(band + 1) * rows].astype(np.uint64)
    key = _fold(part)  # band_keys' key of this band only
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
    return pl.DataFrame(sorted(edges), schema=EDGE_SCHEMA, orient="row")


def band_file_edges(paths: list[str | Path], band: int, cfg: MinHashConfig, chunk: int = BAND_CHUNK) -> pl.DataFrame:
    """:func:`band_edges` over signature files with memory bounded by ``chunk`` documents, not the source.

    The band's 64-bit key space is cut into ceil(documents / chunk) equal ranges; per range one scan reads
    (id, band key) of the documents whose key falls in it — 8 bytes + an id each, ~chunk of them, since
    the keys are uniform — and then the whole signatures of those that share a bucket. A bucket lies in
    one range, so the edges are those of one pass over everything, whatever the chunk."""
    if not 0 <= band < cfg.bands:
        raise ValueError(f"minhash band {band} out of range: minhash.bands is {cfg.bands}")
    col = key_column(band)
    scan = pl.scan_parquet([str(p) for p in paths])
    passes = max(1, -(-scan.select(pl.len()).collect().item() // chunk))
    out = []
    for r in range(passes):
        lo, hi = (r << 64) // passes, ((r + 1) << 64) // passes - 1
        in_range = pl.col(col).is_between(pl.lit(lo, pl.UInt64), pl.lit(hi, pl.UInt64))
        keys = scan.select("id", col).filter(in_range).collect()
        shared = keys.filter(pl.len().over(col) > 1)["id"]
        del keys
        sigs = scan.filter(in_range & pl.col("id").is_in(shared.implode())).select("id", "sig").collect()
        out.append(band_edges(sigs, band, cfg))
    return pl.concat(out).sort("a", "b")


def _edges(x: pl.DataFrame | str | Path) -> pl.DataFrame:
    df = x if isinstance(x, pl.DataFrame) else pl.read_parquet(x, columns=list(EDGE_SCHEMA))
    if df.height and (not df["a"].is_sorted() or not (df["a"] < df["b"]).all()):
        raise ValueError("minhash edges: a band file is not sorted with a < b; rerun its bucket stage")
    return df


def clusters(edge_sources: list) -> pl.DataFrame:
    """Connected components over all bands' edges (frames or band files) → id, cluster (its lowest id),
    cluster_size, sorted by id; only documents in clusters of 2+.

    Two passes over the bands so at most one band's id strings are held beside the result: the distinct
    ids of every edge, sorted, make the integer keys (their ranks); then each band's edges become two
    int64 rank arrays and :func:`lmsci.dedup.unionfind.components` joins them (memory ∝ edges)."""
    ids = pl.Series("id", [], dtype=pl.String)
    for x in edge_sources:
        df = _edges(x)
        ids = pl.concat([ids, df["a"], df["b"]]).unique()
    ids = ids.sort()
    a_parts, b_parts = [], []
    for x in edge_sources:
        df = _edges(x)
        a_parts.append(ids.search_sorted(df["a"]).to_numpy().astype(np.int64))
        b_parts.append(ids.search_sorted(df["b"]).to_numpy().astype(np.int64))
    a = np.concatenate(a_parts) if a_parts else np.zeros(0, np.int64)
    b = np.concatenate(b_parts) if b_parts else np.zeros(0, np.int64)
    del a_parts, b_parts
    root, size = components(a, b, len(ids))
    return pl.DataFrame({"id": ids, "cluster": ids.gather(root), "cluster_size": size},
                        schema=CLUSTER_SCHEMA)


def apply(frames: list[pl.DataFrame], clus: pl.DataFrame, source: str, extra: dict | None = None,
          shard: str = "all"):
    """Documents (after exact dedup) → (kept with minhash_cluster_size, dropped with dup_of, ledger).

    ``clus`` needs only the rows of these documents (a shard reads its own, :func:`lmsci.dedup.exact.read_for`).
    With every document of the source given (shard "all"), also checks that each root is kept."""
    df = pl.concat(frames, how="diagonal_relaxed").sort("id")
    df = df.join(clus.select(list(CLUSTER_SCHEMA)), on="id", how="left", maintain_order="left")
    df = df.with_columns(dup_of=pl.when(pl.col("cluster") != pl.col("id")).then(pl.col("cluster")),
                         minhash_cluster_size=pl.col("cluster_size").fill_null(1))
    roots = df.filter(pl.col("cluster") == pl.col("id")).height
    df = df.drop("cluster", "cluster_size")
    kept = df.filter(pl.col("dup_of").is_null()).drop("dup_of")
    dropped = df.filter(pl.col("dup_of").is_not_null()).with_columns(reason=pl.lit(REASON))
    if shard == "all" and not dropped["dup_of"].is_in(kept["id"].implode()).all():
        raise ValueError("minhash: a cluster root is not among the documents kept by exact dedup; "
                         "signatures and exact dedup must read the same documents")
    led = Ledger("dedup_minhash", source, shard)
    for n, dup in zip(df["text"].str.len_chars(), df["dup_of"]):
        led.keep(n) if dup is None else led.drop(REASON, n)
    led.extra.update(extra or {})
    led.extra["clusters"] = roots  # clusters whose root (kept) is among these documents
    return kept, dropped, led


def band_file(band: int) -> str:
    return f"band-{band:03d}.parquet"
