"""Decontamination: training documents that share word n-grams with the evaluation texts are dropped.

GPT-3 (Brown et al. 2020, Appendix C) counts a training document as contaminated when it shares a
13-gram with a benchmark example, on lower-cased word tokens. Here the evaluation texts are the
held-out (``valid``) documents of every source — validation perplexity and the local lm-eval tasks
(lmsci.evaluate.tasks) are built from them — plus any ``decontam.extra_paths`` (benchmark texts a
user adds). GPT-3 cut the colliding span out of the document; here the whole document is dropped
(reason ``decontam/contaminated``), so every token trained on is untouched text.

The index scales by being a file, not a set of tuples: every evaluation n-gram is hashed to 64 bits
and the distinct hashes are stored once, sorted, as a ``uint64`` ``.npy`` (:func:`write_index`, an
external sort with bounded memory, run once by the ``decontam_index`` rule). Every tokenize job memory-maps it (:meth:`Index.load`) and looks a training
document's n-gram hashes up with ``np.searchsorted`` — O(m log N) per document, no per-job load.

Hash: each word is hashed with BLAKE2b to 64 bits; the ``ngram`` word hashes of a window are chained
as ``h = (h ^ word) · M`` (M odd: each step is a bijection of the state for a fixed word and of the
word for a fixed state, so n-grams that differ in one word never collide) and finished with the
splitmix64 finaliser (Steele et al. 2014), vectorised over the windows.
Collision probability, modelling the hash as a uniform 64-bit function: a training document with
``m`` distinct n-grams, against an index of ``N`` distinct n-grams, shows a false overlap with
probability ≤ m·N / 2^64 — e.g. m = 10^4 (a long web page), N = 10^9 (a billion held-out n-grams):
≤ 5.4·10^-7 per document; with ``min_overlaps`` = k it takes k false hits, ≤ (m·N / 2^64)^k / k!.
Two distinct words sharing a 64-bit hash (W words: ≤ W²/2^65, ≈ 3·10^-8 for W = 10^6) would merge
their n-grams; both are negligible next to the exact-match rule's own coarseness.

An evaluation text shorter than ``ngram`` words has no n-gram and cannot match; it is counted
(``short_texts``) rather than silently ignored.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import operator
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from lmsci.config import DecontamConfig
from lmsci.io import atomic_path, read_json, write_json

REASON = "decontam/contaminated"
_WORD = re.compile(r"\w+")
_START = np.uint64(0x9E3779B97F4A7C15)  # splitmix64's increment (golden ratio): the chain's start value
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
HASH = "blake2b64-words/xor-multiply-chain/splitmix64"  # recorded in the index meta: a change makes old indexes stale
RUN_BYTES = 256 << 20  # hashes buffered in memory (and per merged range) by write_index: its memory bound
_EMPTY = np.zeros(0, dtype=np.uint64)


def words(text: str) -> list[str]:
    """Normalised word tokens: lower case, runs of letters/digits/underscore (punctuation dropped)."""
    return _WORD.findall(text.lower())


_CACHE: dict[str, int] = {}  # word → hash, for the words of a job (cleared at CACHE_WORDS: bounded memory)
CACHE_WORDS = 1 << 20


def _word_hashes(w: list[str]) -> np.ndarray:
    """BLAKE2b-64 of each word; each distinct word hashed once (set and itemgetter run in C)."""
    new = set(w).difference(_CACHE)
    if len(_CACHE) + len(new) > CACHE_WORDS:
        _CACHE.clear()
        new = set(w)
    for word in new:
        _CACHE[word] = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "little")
    got = operator.itemgetter(*w)(_CACHE)
    return np.array(got if len(w) > 1 else (got,), dtype=np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def ngram_hashes(text: str, n: int) -> np.ndarray:
    """The distinct 64-bit hashes of ``text``'s word n-grams, sorted (empty below ``n`` words)."""
    return np.unique(_window_hashes(text, n))


def _window_hashes(text: str, n: int) -> np.ndarray:
    """One hash per n-word window, in text order (repeats included)."""
    w = words(text)
    m = len(w) - n + 1
    if m <= 0:
        return _EMPTY
    wh = _word_hashes(w)
    h = np.full(m, _START, dtype=np.uint64)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps mod 2^64 by design
        for k in range(n):  # each step a bijection of the state and of the word: see the module docstring
            h = (h ^ wh[k:k + m]) * _M1
    return _mix(h)


@dataclass
class Index:
    """Sorted distinct n-gram hashes of the evaluation texts (memory-mapped when loaded from disk)."""

    ngram: int
    min_overlaps: int
    hashes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint64))
    texts: int = 0
    short_texts: int = 0

    @classmethod
    def load(cls, path: str | Path, cfg: DecontamConfig) -> "Index":
        """``path``: the ``.npy``; its meta (``.json`` beside it) must match ``cfg.ngram`` and the hash."""
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not path.is_file() or not meta_path.is_file():
            raise ValueError(f"decontamination index not found: {path} (+ {meta_path.name}); "
                             "run the decontam_index rule")
        meta = read_json(meta_path)
        if not {"ngrams", "texts", "short_texts"} <= set(meta):
            raise ValueError(f"{meta_path}: incomplete (needs ngrams, texts, short_texts); "
                             "rebuild the decontamination index")
        if meta.get("ngram") != cfg.ngram or meta.get("hash") != HASH:
            raise ValueError(f"{meta_path}: built for ngram={meta.get('ngram')} hash={meta.get('hash')}, "
                             f"not decontam.ngram={cfg.ngram} {HASH}; rebuild the decontamination index")
        hashes = np.load(path, mmap_mode="r" if meta["ngrams"] else None, allow_pickle=False)
        if hashes.dtype != np.uint64 or len(hashes) != meta["ngrams"]:
            raise ValueError(f"{path}: expected {meta['ngrams']} uint64 hashes, found {len(hashes)} "
                             f"{hashes.dtype}; rebuild the decontamination index")
        return cls(cfg.ngram, cfg.min_overlaps, hashes, meta["texts"], meta["short_texts"])

    def overlaps(self, text: str) -> int:
        """Distinct n-grams ``text`` shares with the evaluation texts."""
        if not len(self.hashes):
            return 0
        h = _window_hashes(text, self.ngram)  # deduplicated after the lookup: hits are few, windows many
        pos = np.minimum(np.searchsorted(self.hashes, h), len(self.hashes) - 1)
        return len(np.unique(h[self.hashes[pos] == h]))

    def contaminated(self, text: str) -> int:
        """The overlap count when it reaches ``min_overlaps``, else 0."""
        n = self.overlaps(text)
        return n if n >= self.min_overlaps else 0

    def stats(self) -> dict[str, int]:
        return {"decontam_eval_texts": self.texts, "decontam_eval_short_texts": self.short_texts,
                "decontam_eval_ngrams": len(self.hashes)}

    def save(self, path: str | Path) -> None:
        """``path`` (.npy, the sorted hashes) and its meta ``.json``; each written atomically."""
        path = Path(path)
        with atomic_path(path) as tmp:
            with open(tmp, "wb") as f:
                np.save(f, np.ascontiguousarray(self.hashes, dtype="<u8"), allow_pickle=False)
        write_json(path.with_suffix(".json"), {"ngram": self.ngram, "hash": HASH, "texts": self.texts,
                                               "short_texts": self.short_texts, "ngrams": len(self.hashes)})


def build(held_out: Iterable[str], cfg: DecontamConfig, extra: Iterable[str | Path] = ()) -> Index:
    """Index the held-out texts plus the texts of each ``extra`` file, in memory (8 bytes per evaluation
    n-gram, twice while sorting); :func:`write_index` is the same with bounded memory, on disk."""
    parts, texts, short = [], 0, 0
    for text in _chain(held_out, extra):
        h = ngram_hashes(text, cfg.ngram)
        texts, short = texts + 1, short + (not len(h))
        parts.append(h)
    hashes = np.unique(np.concatenate(parts)) if parts else _EMPTY
    return Index(cfg.ngram, cfg.min_overlaps, hashes, texts, short)


def write_index(held_out: Iterable[str], cfg: DecontamConfig, out: str | Path, extra: Iterable[str | Path] = (),
                run_bytes: int = RUN_BYTES) -> Index:
    """:func:`build` + :meth:`Index.save` with memory bounded by ``run_bytes``, whatever the held-out size.

    An external sort: hashes are buffered until ``run_bytes``, then sorted, deduplicated and spilled as
    a run file beside ``out``; the runs are merged one hash range at a time (the hashes are uniform, so
    each range holds about ``run_bytes``) straight into the ``.npy``. The file is byte-identical to
    the in-memory build's for any ``run_bytes``. Returns the index, memory-mapped from ``out``."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=f".{out.name}.runs") as tmp:
        runs, buf, held, texts, short = [], [], 0, 0, 0
        for text in _chain(held_out, extra):
            h = ngram_hashes(text, cfg.ngram)
            texts, short = texts + 1, short + (not len(h))
            buf.append(h)
            held += len(h)
            if held * 8 >= run_bytes:
                runs.append(_spill(np.unique(np.concatenate(buf)), Path(tmp) / f"run-{len(runs):06d}.npy"))
                buf, held = [], 0
        if held:
            runs.append(_spill(np.unique(np.concatenate(buf)), Path(tmp) / f"run-{len(runs):06d}.npy"))
        maps = [np.load(r, mmap_mode="r") for r in runs]
        ranges = max(1, -(-sum(len(m) for m in maps) * 8 // run_bytes))
        edges = [np.uint64(b * 2**64 // ranges) for b in range(ranges)]
        n = 0
        with open(Path(tmp) / "merged.raw", "wb") as f:
            for b in range(ranges):
                cut = [(int(np.searchsorted(m, edges[b])), len(m) if b + 1 == ranges else
                        int(np.searchsorted(m, edges[b + 1]))) for m in maps]
                part = np.unique(np.concatenate([m[i:j] for m, (i, j) in zip(maps, cut)] or [_EMPTY]))
                f.write(part.astype("<u8").tobytes())
                n += len(part)
        del maps
        with atomic_path(out) as final, open(final, "wb") as f:
            np.lib.format.write_array_header_1_0(f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<u8")),
                                                     "fortran_order": False, "shape": (n,)})
            with open(Path(tmp) / "merged.raw", "rb") as raw:
                shutil.copyfileobj(raw, f)
    write_json(out.with_suffix(".json"), {"ngram": cfg.ngram, "hash": HASH, "texts": texts, "short_texts": short,
                                          "ngrams": n})
    return Index.load(out, cfg)


def _spill(hashes: np.ndarray, path: Path) -> Path:
    np.save(path, hashes, allow_pickle=False)
    return path


def _chain(held_out: Iterable[str], extra: Iterable[str | Path]):
    yield from held_out
    for path in extra:
        yield from read_texts(path)


def read_texts(path: str | Path) -> list[str]:
    """A benchmark file: .jsonl(.gz) → each object's "text"; .txt → blank-line separated texts."""
    path = Path(path)
    if path.name.endswith((".jsonl", ".jsonl.gz")):
        opener = gzip.open if path.name.endswith(".gz") else open
        out = []
        with opener(path, "rt", encoding="utf-8") as f:
            for i, raw in enumerate(f, 1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw)
                    text = obj["text"]
                except (ValueError, KeyError, TypeError):
                    raise ValueError(f"{path}:{i}: expected a JSON object with a \"text\" string") from None
                if not isinstance(text, str):
                    raise ValueError(f"{path}:{i}: \"text\" is not a string")
                out.append(text)
        return out
    if path.name.endswith(".txt"):
        return [t for t in re.split(r"\n\s*\n", path.read_text(encoding="utf-8")) if t.strip()]
    raise ValueError(f"{path}: decontam.extra_paths takes .jsonl, .jsonl.gz or .txt files")
