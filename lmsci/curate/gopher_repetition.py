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
from collections import Counter

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


def _greedy_dup_chars(words: list[str], n: int) -> int:
    """Characters of n-grams (words concatenated) seen earlier, scanning left to right and jumping
    past each repeat (datatrove's find_all_duplicate)."""
    grams = list(map("".join, zip(*(words[k:] for k in range(n)))))
    if len(set(grams)) == len(grams):  # no n-gram repeats: nothing to scan
        return 0
    seen: set[str] = set()
    chars = i = 0
    while i < len(grams):
        g = grams[i]
        if g in seen:
            chars += len(g)
            i += n
        else:
            seen.add(g)
            i += 1
    return chars


def _datatrove(text: str, lang: str) -> dict[str, float]:
    total = max(len(text), 1)
    paras = _PARA.split(text.strip())
    lines = _LINES.split(text)
    dup_paras, para_chars = _find_duplicates(paras)
    dup_lines, line_chars = _find_duplicates(lines)
    a = {"dup_para_frac": dup_paras / len(paras), "dup_para_char_frac": para_chars / total,
         "dup_line_frac": dup_lines / len(lines), "dup_line_char_frac": line_chars / total}
    words = W.words(text, lang)
    for n in TOP_NS:
        top = 0
        if len(words) >= n:  # the most frequent n-gram, ties to the first seen; spaces join its words
            gram, count = Counter(zip(*(words[k:] for k in range(n)))).most_common(1)[0]
            top = (sum(map(len, gram)) + n - 1) * count
        a[f"top_{n}gram_char_frac"] = top / total
    for n in DUP_NS:
        a[f"dup_{n}gram_char_frac"] = _greedy_dup_chars(words, n) / total
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
    ids = {w: i for i, w in enumerate(dict.fromkeys(words))}
    coded = np.fromiter((ids[w] + 1 for w in words), dtype=np.uint64, count=len(words))
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
