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
from lmsci.curate import ngrams
from lmsci.curate import words as W

NAME = "gopher_repetition"
TOP_NS = (2, 3, 4)
DUP_NS = (5, 6, 7, 8, 9, 10)
REASONS = ("dup_paragraphs", "dup_paragraph_chars", "dup_lines", "dup_line_chars", "top_ngram_chars",
           "dup_ngram_chars")
_PARA = re.compile(r"\n{2,}")
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


def _lines(text: str) -> list[str]:
    """``re.split(r"\\n+", text)`` (datatrove splits at runs of newlines) with str.split, ~3x faster: the
    same parts, an empty one first or last where ``text`` starts or ends with a newline."""
    out = [p for p in text.split("\n") if p]
    if not text or text[0] == "\n":
        out.insert(0, "")
    if text and text[-1] == "\n":
        out.append("")
    return out


def _paragraphs(stripped: str) -> list[str]:
    """``_PARA.split(stripped)``; most pages hold no blank line, and then no regex runs."""
    return _PARA.split(stripped) if "\n\n" in stripped else [stripped]


def _find_duplicates(parts: list[str]) -> tuple[int, int]:
    """(elements that repeat an earlier one, their characters) — datatrove's find_duplicates: every
    occurrence after a distinct element's first is a repeat."""
    distinct = set(parts)
    return len(parts) - len(distinct), sum(map(len, parts)) - sum(map(len, distinct))


def _datatrove_many(texts: list[str], w: ngrams.Words) -> dict[str, list[float]]:
    """datatrove's measures of many pages; the n-gram counts for all of them at once (:mod:`ngrams`)."""
    cols: dict[str, list[float]] = {k: [] for k in ("dup_para_frac", "dup_para_char_frac", "dup_line_frac",
                                                    "dup_line_char_frac")}
    for text in texts:
        total = max(len(text), 1)
        paras = _paragraphs(text.strip())
        lines = _lines(text)
        dup_paras, para_chars = _find_duplicates(paras)
        dup_lines, line_chars = _find_duplicates(lines)
        cols["dup_para_frac"].append(dup_paras / len(paras))
        cols["dup_para_char_frac"].append(para_chars / total)
        cols["dup_line_frac"].append(dup_lines / len(lines))
        cols["dup_line_char_frac"].append(line_chars / total)
    totals = np.fromiter((max(len(t), 1) for t in texts), dtype=np.int64, count=len(texts))
    for n in TOP_NS:
        cols[f"top_{n}gram_char_frac"] = (ngrams.top_chars(w, n) / totals).tolist()
    for n, chars in ngrams.dup_chars(w, DUP_NS).items():
        cols[f"dup_{n}gram_char_frac"] = (chars / totals).tolist()
    return cols


def measure_many(texts: list[str], cfg: GopherRepetitionConfig | None = None, langs: list[str] | None = None,
                 words: ngrams.Words | None = None) -> dict[str, list[float]]:
    """:func:`measure` of many pages (tag's shard): column -> values. ``words``: the pages' words
    laid end to end, when the caller has them already."""
    langs = langs or ["en"] * len(texts)
    if cfg is None or cfg.impl == "datatrove":
        if words is None:
            words = ngrams.Words([W.words(t, lang) for t, lang in zip(texts, langs)])
        return _datatrove_many(texts, words)
    cols: dict[str, list[float]] = {}
    for text, lang in zip(texts, langs):
        for k, v in _paper(text, lang).items():
            cols.setdefault(k, []).append(v)
    return cols


def measure(text: str, cfg: GopherRepetitionConfig | None = None, lang: str = "en") -> dict[str, float]:
    """Fractions for :func:`decide`; ``lang``: the page's language (langid), for its word tokenizer."""
    return {k: v[0] for k, v in measure_many([text], cfg, [lang]).items()}


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
