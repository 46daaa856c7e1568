"""Gopher repetition filter (Rae et al. 2021, "Scaling Language Models", Appendix A, Table A1).

Repeated lines, paragraphs and n-grams mark boilerplate and generated spam.
``impl: datatrove`` (default) reproduces datatrove 0.10.1's GopherRepetitionFilter: every
fraction of characters is over ``len(text)``; lines are split at runs of newlines without
stripping; words are spaCy's English tokens (:mod:`lmsci.curate.words`); the top n-gram's
characters are its words joined by spaces times its count; duplicated n-grams are found
greedily left to right (an n-gram seen before counts its joined characters and the scan jumps
past it). ``impl: paper`` reads Table A1 and Sec. A.1.1 instead:

* "fraction of characters in duplicate lines/paragraphs" and the n-gram fractions — over the
  characters of the document's words, whitespace excluded (datatrove: ``len(text)``).
* "the fraction of characters contained within the most frequently occurring n-gram" — counted
  only when it occurs more than once (datatrove: also a single occurrence).
* "the fraction of characters contained within all duplicate n-grams, taking care not to count
  characters that occur in overlapping n-grams more than once" — every occurrence of an n-gram
  that occurs more than once, the first included, each word once (datatrove: repeats after the
  first, greedily, non-overlapping); words are whitespace-separated (zh/ja/th: segmented).

Thresholds: :class:`lmsci.config.GopherRepetitionConfig`. Attribute names are prefixed
``gopher_repetition_`` in the document table.
"""
from __future__ import annotations

import re

import numpy as np

from lmsci.config import GopherRepetitionConfig
from lmsci.curate import words as W

NAME = "gopher_repetition"
TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)
REASONS = ("dup_paragraphs", "dup_paragraph_chars", "dup_lines", "dup_line_chars", "top_ngram_chars",
           "dup_ngram_chars")
_PARA = re.compile(r"\n{2,}")
_LINES = re.compile(r"\n+")
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio): a bijective multiply


def _repeats(parts: list[str]) -> list[str]:
    """The elements that repeat an earlier one (every repeat, not the first occurrence)."""
    seen: set[str] = set()
    out = []
    for p in parts:
        (out.append if p in seen else seen.add)(p)
    return out


def _word_chars(parts: list[str]) -> int:
    return sum(len(w) for p in parts for w in p.split())


def _ngram_counts(coded: np.ndarray, n: int) -> np.ndarray:
    """For each n-gram position, how often that n-gram occurs in the document.

    n-grams are keyed by a polynomial hash of their word ids mod 2**64 (a collision between
    two of a document's n-grams has probability ~ positions**2 / 2**64)."""
    key = np.zeros(len(coded) - n + 1, dtype=np.uint64)
    for j in range(n):
        key = key * _MULT + coded[j:len(coded) - n + 1 + j]
    _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
    return counts[inverse]


def _find_duplicates(parts: list[str]) -> tuple[int, int]:
    """(elements that repeat an earlier one, their characters) — datatrove's find_duplicates."""
    seen: set[str] = set()
    n = chars = 0
    for p in parts:
        if p in seen:
            n += 1
            chars += len(p)
        else:
            seen.add(p)
    return n, chars


_M64 = (1 << 64) - 1
_BASE = 0x100000001B3  # odd (the 64-bit FNV prime): a polynomial string hash mod 2**64
_WORD_HASH: dict[str, tuple[int, int]] = {}  # word -> (hash of its characters, BASE**len mod 2**64)


def _joined_hashes(uniq: list[str], ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per word (``uniq[ids]``): the polynomial hash of its characters and BASE**len, so that the
    hash of words joined without spaces (datatrove's n-gram key: ("ab", "c") equals ("a", "bc")) is
    built from the words' hashes: h(a + b) = h(a) * BASE**len(b) + h(b). Equal joins hash equal;
    two different joins of a page collide with probability ~ positions**2 / 2**64."""
    for w in uniq:
        if w not in _WORD_HASH:
            if len(_WORD_HASH) > 2_000_000:  # bound memory on long runs
                _WORD_HASH.clear()
            h = 0
            for ch in w:
                h = (h * _BASE + ord(ch)) & _M64
            _WORD_HASH[w] = (h, pow(_BASE, len(w), 1 << 64))
    hp = np.array(list(map(_WORD_HASH.__getitem__, uniq)), dtype=np.uint64).reshape(-1, 2)
    return hp[ids, 0], hp[ids, 1]


def _greedy_dup_chars(key: np.ndarray, chars: np.ndarray, n: int) -> int:
    """datatrove's find_all_duplicate on n-gram keys: scanning left to right, an n-gram seen at an
    earlier scanned position counts its characters and the scan jumps n words, so the n-1 positions
    it jumps over are never scanned (nor remembered). Only positions whose key occurred before
    need a look; everything else is a first occurrence."""
    m = len(key)
    if not m:
        return 0
    by_key = np.argsort(key, kind="stable")  # positions grouped by key, ascending within a key
    sorted_key = key[by_key]
    starts = np.flatnonzero(np.concatenate([[True], sorted_key[1:] != sorted_key[:-1]]))
    if len(starts) == m:  # every n-gram distinct
        return 0
    is_start = np.zeros(m, dtype=np.int64)
    is_start[starts] = 1
    group_of_sorted = np.cumsum(is_start) - 1
    inverse = np.empty(m, dtype=np.int64)
    inverse[by_key] = group_of_sorted
    first = by_key[starts]
    candidates = np.flatnonzero(first[inverse] < np.arange(m))
    group = starts
    skipped: set[int] = set()
    total = scan = 0
    for c in candidates.tolist():
        if c < scan:  # jumped over
            continue
        k = inverse[c]
        j = group[k]
        seen = False
        while (p := int(by_key[j])) < c:
            if p not in skipped:
                seen = True
                break
            j += 1
        if seen:
            total += int(chars[c])
            skipped.update(range(c + 1, c + n))
            scan = c + n
        else:
            scan = c + 1
    return total


def _datatrove(text: str, lang: str) -> dict[str, float]:
    total = max(len(text), 1)
    paras = _PARA.split(text.strip())
    lines = _LINES.split(text)
    dup_paras, para_chars = _find_duplicates(paras)
    dup_lines, line_chars = _find_duplicates(lines)
    a = {"dup_para_frac": dup_paras / len(paras), "dup_para_char_frac": para_chars / total,
         "dup_line_frac": dup_lines / len(lines), "dup_line_char_frac": line_chars / total}
    words = W.words(text, lang)
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    cum = np.concatenate([[0], np.cumsum(lens)])  # characters of words[i:i+n] = cum[i+n] - cum[i]
    uniq = list(dict.fromkeys(words))
    index = {w: i for i, w in enumerate(uniq)}
    ids = np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words))
    coded = ids.astype(np.uint64) + np.uint64(1)
    for n in TOP_NS:
        top = 0
        if len(words) >= n:  # the most frequent n-gram, ties to the first seen; spaces join its words
            key = np.zeros(len(words) - n + 1, dtype=np.uint64)
            for j in range(n):
                key = key * _MULT + coded[j:len(coded) - n + 1 + j]
            _, first, counts = np.unique(key, return_index=True, return_counts=True)
            best = counts.max()
            i = int(first[counts == best].min())
            top = (int(cum[i + n] - cum[i]) + n - 1) * int(best)
        a[f"top_{n}gram_char_frac"] = top / total
    h, p = _joined_hashes(uniq, ids)
    key = h.copy()  # hash of words[i:i+n] joined; grown one word at a time
    for n in range(2, max(DUP_NS) + 1):
        key = key[:max(len(words) - n + 1, 0)] * p[n - 1:] + h[n - 1:]
        if n in DUP_NS:
            a[f"dup_{n}gram_char_frac"] = _greedy_dup_chars(key, cum[n:] - cum[:-n], n) / total
    for n in DUP_NS:
        a.setdefault(f"dup_{n}gram_char_frac", 0.0)
    return a


def measure(text: str, cfg: GopherRepetitionConfig | None = None, lang: str = "en") -> dict[str, float]:
    """Fractions for :func:`decide`; ``lang``: the page's language (langid), for its word tokenizer."""
    if cfg is None or cfg.impl == "datatrove":
        return _datatrove(text, lang)
    return _paper(text, lang)


def _paper(text: str, lang: str) -> dict[str, float]:
    lines = [ln for ln in (x.strip() for x in text.split("\n")) if ln]
    paras = [p for p in (x.strip() for x in _PARA.split(text)) if p]
    words = W.words(text, lang) if lang in W.SEGMENTED else text.split()
    total = max(sum(map(len, words)), 1)
    dup_lines, dup_paras = _repeats(lines), _repeats(paras)
    a = {
        "dup_para_frac": len(dup_paras) / max(len(paras), 1),
        "dup_para_char_frac": _word_chars(dup_paras) / total,
        "dup_line_frac": len(dup_lines) / max(len(lines), 1),
        "dup_line_char_frac": _word_chars(dup_lines) / total,
    }
    uniq = list(dict.fromkeys(words))
    index = {w: i for i, w in enumerate(uniq)}
    ids = np.fromiter(map(index.__getitem__, words), dtype=np.int64, count=len(words))
    coded = ids.astype(np.uint64) + np.uint64(1)
    lens = np.fromiter(map(len, words), dtype=np.int64, count=len(words))
    gram_chars = np.concatenate([[0], np.cumsum(lens)])  # chars of words[i:i+n] = gram_chars[i+n] - gram_chars[i]
    for n in TOP_NS:
        top = 0
        if len(words) > n:
            counts = _ngram_counts(coded, n)
            best = int(counts.max())
            if best > 1:  # the most frequent n-gram; ties go to the one with the most characters
                chars = gram_chars[n:] - gram_chars[:-n]
                top = best * int(chars[counts == best].max())
        a[f"top_{n}gram_char_frac"] = top / total
    dup = 1
    for n in DUP_NS:  # a repeated n-gram contains a repeated (n-1)-gram: stop at the first n with none
        if dup and len(words) > n:
            starts = np.flatnonzero(_ngram_counts(coded, n) > 1)
            cover = np.zeros(len(words) + 1, dtype=np.int64)  # +1 where a duplicated n-gram starts, -1 past its end
            np.add.at(cover, starts, 1)
            np.add.at(cover, starts + n, -1)
            dup = int(lens[np.cumsum(cover[:-1]) > 0].sum())
        else:
            dup = 0
        a[f"dup_{n}gram_char_frac"] = dup / total
    return a


def decide(a: dict[str, float], cfg: GopherRepetitionConfig) -> str | None:
    """The first failing rule, in Table A1's order (paragraphs, lines, top n-grams, duplicated n-grams)."""
    if a["dup_para_frac"] > cfg.max_dup_para_frac:
        return "dup_paragraphs"
    if a["dup_para_char_frac"] > cfg.max_dup_para_char_frac:
        return "dup_paragraph_chars"
    if a["dup_line_frac"] > cfg.max_dup_line_frac:
        return "dup_lines"
    if a["dup_line_char_frac"] > cfg.max_dup_line_char_frac:
        return "dup_line_chars"
    if any(a[f"top_{n}gram_char_frac"] > getattr(cfg, f"max_top_{n}gram_char_frac") for n in TOP_NS):
        return "top_ngram_chars"
    if any(a[f"dup_{n}gram_char_frac"] > getattr(cfg, f"max_dup_{n}gram_char_frac") for n in DUP_NS):
        return "dup_ngram_chars"
    return None
