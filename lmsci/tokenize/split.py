"""Hold out a validation split per source by a seeded hash of the document id.

Membership depends only on (seed, id), never on shard count or order; a source too small to
draw any validation document by chance gives its lowest-hash document, so every source can
be scored.
"""
from __future__ import annotations

import hashlib


def unit(seed: int, doc_id: str) -> float:
    h = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def assign(ids: list[str], seed: int, valid_fraction: float) -> list[str]:
    u = [unit(seed, i) for i in ids]
    split = ["valid" if x < valid_fraction else "train" for x in u]
    if ids and "valid" not in split:
        split[min(range(len(ids)), key=u.__getitem__)] = "valid"
    if len(ids) > 1 and "train" not in split:
        split[max(range(len(ids)), key=u.__getitem__)] = "train"
    return split


def held_out(ids: list[str], texts: list[str], seed: int, valid_fraction: float) -> list[str]:
    """The texts :func:`assign` puts in ``valid`` — a source's evaluation documents (lmsci.curate.decontam
    checks every source's training documents against those of all sources)."""
    return [t for t, s in zip(texts, assign(ids, seed, valid_fraction)) if s == "valid"]
