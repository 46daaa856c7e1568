"""Exact then MinHash dedup of a source's documents in one process (``lmsci curate``).

The same hash, group, signature, band and cluster code as the workflow's file-backed passes, so a
source deduplicated here keeps the same documents with the same ``dup_of`` as the sharded workflow.
"""
from __future__ import annotations

import polars as pl

from lmsci.config import DedupConfig, MinHashConfig
from lmsci.dedup import exact, minhash
from lmsci.ledger import Ledger


def dedup(frames: list[pl.DataFrame], source: str, dedup_cfg: DedupConfig, minhash_cfg: MinHashConfig
          ) -> tuple[pl.DataFrame, list[pl.DataFrame], list[Ledger]]:
    """Frames of a source → (kept, [exact dropped, near dropped], [exact ledger, MinHash ledger])."""
    exact_kept, exact_dropped, exact_led = exact.dedup(frames, source, dedup_cfg.exact, dedup_cfg.hash_buckets)
    sigs = minhash.signatures(exact_kept, minhash_cfg)  # of exact survivors: every root is kept
    edges = [minhash.band_edges(sigs, band, minhash_cfg) for band in range(minhash_cfg.bands)]
    kept, near_dropped, near_led = minhash.apply([exact_kept], minhash.clusters(edges), source)
    return kept, [exact_dropped, near_dropped], [exact_led, near_led]
