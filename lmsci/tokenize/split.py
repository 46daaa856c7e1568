"""Hold out a validation split per source by a seeded hash of the document id.

A document is ``valid`` when ``unit(seed, id) < valid_fraction``: a function of (seed, id) alone, so
its split never depends on the shard it sits in, the shard count or the order of documents.

A source too small to draw a validation document by chance still needs one (perplexity is scored
per source), and a source of several documents that drew only validation documents needs a
training one. Deciding that inside one shard would make the split depend on sharding (a shard
without a valid document is not a source without one), so it is decided once per source by a
global pass over the ids of every shard (:class:`Fallback`, the ``split_fallback`` rule): the
source's lowest-hash document becomes ``valid`` / its highest-hash document ``train``, and the
tokenize job of every shard applies those overrides (:func:`assign` ``overrides``).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Iterable


def unit(seed: int, doc_id: str) -> float:
    h = hashlib.sha256(f"{seed}:{doc_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64


def assign(ids: list[str], seed: int, valid_fraction: float, overrides: dict[str, str] | None = None) -> list[str]:
    """``train`` / ``valid`` per id: the hash rule, then the source's :class:`Fallback` overrides."""
    overrides = overrides or {}
    return [overrides.get(i) or ("valid" if unit(seed, i) < valid_fraction else "train") for i in ids]


@dataclass
class Fallback:
    """The global pass over one source's ids (any order, shard by shard): memory O(1) per source."""

    seed: int
    valid_fraction: float
    documents: int = 0
    valid: int = 0
    lowest: tuple[float, str] | None = None   # (hash, id); ties, which sha-256 makes unlikely, by id
    highest: tuple[float, str] | None = None

    def add(self, ids: Iterable[str]) -> None:
        for i in ids:
            key = (unit(self.seed, i), i)
            self.documents += 1
            self.valid += key[0] < self.valid_fraction
            self.lowest = key if self.lowest is None or key < self.lowest else self.lowest
            self.highest = key if self.highest is None or key > self.highest else self.highest

    def overrides(self) -> dict[str, str]:
        """id → split for the (at most two) documents whose hash rule is overridden."""
        out = {}
        if self.documents and self.valid == 0:
            out[self.lowest[1]] = "valid"
        if self.documents > 1 and self.valid == self.documents:
            out[self.highest[1]] = "train"
        return out


def overrides(ids: Iterable[str], seed: int, valid_fraction: float) -> dict[str, str]:
    """:class:`Fallback` over all of a source's ids at once (tests, small inputs)."""
    fb = Fallback(seed, valid_fraction)
    fb.add(ids)
    return fb.overrides()


def held_out(ids: list[str], texts: list[str], seed: int, valid_fraction: float,
             overrides: dict[str, str] | None = None) -> list[str]:
    """The texts :func:`assign` puts in ``valid`` — evaluation documents (lmsci.curate.decontam checks
    every source's training documents against those of all sources)."""
    return [t for t, s in zip(texts, assign(ids, seed, valid_fraction, overrides)) if s == "valid"]
