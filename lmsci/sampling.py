"""Seeded samples of documents that fit a character budget, read one shard at a time.

A document's place is a salted sha256 of (seed, id) — a fixed function of the document, not of the
shard it sits in or the order shards arrive — and after each shard only the documents that still
fit the budget in that order are kept. So a job's memory is the budget plus one shard, and the
sample is the same set for any shard count or order: a document pushed out can never come back
(later shards only add documents ranked before it). The tokenizer (:mod:`lmsci.tokenize.bpe`) and
the quality classifier (:mod:`lmsci.curate.quality`) draw their training text this way.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def rank(salt: str, seed: int, doc_id: str) -> int:
    """The document's place in a sample; the salt keeps samples of different purposes independent."""
    return int.from_bytes(hashlib.sha256(f"{salt}:{seed}:{doc_id}".encode()).digest()[:8], "big")


def fit(docs: list[tuple[int, str, str]], max_chars: int) -> list[tuple[int, str, str]]:
    """The rank-ordered prefix of (rank, id, text) ``docs`` whose documents start within ``max_chars``."""
    docs.sort()
    used, out = 0, []
    for d in docs:
        if used >= max_chars:
            break
        out.append(d)
        used += len(d[2])
    return out


def lowest_rank(shards: Iterable[tuple[list[str], list[str]]], max_chars: int, seed: int,
                salt: str) -> list[tuple[int, str, str]]:
    """(rank, id, text) of the lowest-ranked documents of ``shards`` ((ids, texts) each) that fit the budget."""
    kept: list[tuple[int, str, str]] = []
    for ids, texts in shards:
        kept = fit(kept + [(rank(salt, seed, i), i, t) for i, t in zip(ids, texts)], max_chars)
    return kept
