"""Gopher quality filter (Rae et al. 2021, "Scaling Language Models", Appendix A.1.1).

``impl: datatrove`` (default) reproduces datatrove 0.10.1's GopherQualityFilter: words are
spaCy's English tokens (:mod:`lmsci.curate.words`; the language's segmenter for zh/ja/th), a word
made only of punctuation is a symbol and does not count as a word, the hash and ellipsis ratios
are over all tokens, lines are ``str.splitlines()`` (empty lines included), bullets are "•" and
"-", and stop words are matched case-sensitively. ``impl: paper`` reads the paper instead:

* "fewer than 50 or more than 100,000 words" — words are whitespace-separated tokens with
  leading and trailing punctuation stripped (datatrove: spaCy tokens).
* "a symbol-to-word ratio greater than 0.1 for either the hash symbol or the ellipsis" — over
  those words (datatrove: over all spaCy tokens, symbols included).
* "more than 90% of lines starting with a bullet point" — any common bullet glyph, over
  non-empty lines (datatrove: "•" and "-" over all lines).
* "at least two of the following English words: the, be, to, of, and, that, have, with" — in any
  case ("The" counts; datatrove: exact case).

Both count DISTINCT stop words, as the paper's "two of the following words" says (datatrove
does too: a set intersection). Other languages use their own stop words (``data/stop_words.json``)
and, through ``gopher_quality.languages``, their own thresholds (FineWeb-2's approach).
Attribute names are prefixed ``gopher_`` in the document table.
"""
from __future__ import annotations

import re
from collections import Counter

import numpy as np

from lmsci.config import GopherQualityConfig
from lmsci.curate import ngrams
from lmsci.curate import words as W

NAME = "gopher_quality"
BULLETS = ("•", "‣", "◦", "⁃", "-", "*", "·", "●", "○", "■", "□", "▪", "▫", "–")  # paper mode
DT_BULLETS = ("•", "-")  # datatrove's two bullet marks
_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # splitlines() breaks but newline
_BULLET_LINE = re.compile(r"^[^\S\n]*[•\-]", re.M)
_ELLIPSIS_LINE = re.compile(r"(?:\.\.\.|…)[^\S\n]*$", re.M)

ATTRS = ("n_words", "avg_word_length", "hash_word_ratio", "ellipsis_word_ratio", "bullet_lines_ratio",
         "ellipsis_lines_ratio", "alpha_words_ratio", "stop_words")
REASONS = ("few_words", "many_words", "short_words", "long_words", "symbols", "bullet_lines",
           "ellipsis_lines", "non_alpha_words", "few_stop_words")


def _datatrove_many(texts: list[str], langs: list[str], w: ngrams.Words) -> dict[str, list[float]]:
    """:func:`_datatrove` of many pages, the word counts for all of them at once."""
    n_words = ngrams.per_page(w, w.is_word).tolist()
    chars = ngrams.per_page(w, w.lens * w.is_word).tolist()
    alpha = ngrams.per_page(w, w.has_alpha).tolist()
    lang_of = np.array(langs, dtype=object)
    stop = np.zeros(len(texts), dtype=np.int64)
    for lang in sorted(set(langs)):
        stop += ngrams.distinct_per_page(w, W.stop_words(lang), lang_of == lang)
    cols: dict[str, list[float]] = {k: [] for k in ATTRS}
    for text, size, n, c, al, st in zip(texts, w.sizes.tolist(), n_words, chars, alpha, stop.tolist()):
        n_tokens = max(size, 1)
        ellipses = text.count("...") + text.count("…")
        bullets, ends, n_lines = _line_marks(text, ellipses > 0)
        for k, v in zip(ATTRS, (
                float(n), c / n if n else 0.0, text.count("#") / n_tokens, ellipses / n_tokens,
                bullets / n_lines, ends / n_lines, al / n_tokens, float(st))):
            cols[k].append(v)
    return cols


def _line_marks(text: str, ellipses: bool) -> tuple[int, int, int]:
    """(lines starting with a bullet, lines ending in an ellipsis, lines; at least 1) over
    ``str.splitlines()`` after lstrip/rstrip; by regex where a newline is the only line break."""
    if _OTHER_BREAKS.search(text):
        lines = text.splitlines()
        return (sum(ln.lstrip().startswith(DT_BULLETS) for ln in lines),
                sum(ln.rstrip().endswith(("...", "…")) for ln in lines), max(len(lines), 1))
    n_lines = max(text.count("\n") + (not text.endswith("\n")), 1) if text else 1
    bullets = len(_BULLET_LINE.findall(text)) if "•" in text or "-" in text else 0
    return bullets, len(_ELLIPSIS_LINE.findall(text)) if ellipses else 0, n_lines


def measure_many(texts: list[str], cfg: GopherQualityConfig | None = None, langs: list[str] | None = None,
                 words: ngrams.Words | None = None) -> dict[str, list[float]]:
    """:func:`measure` of many pages (tag's shard): column -> values. ``words``: the pages' words
    laid end to end, when the caller has them already."""
    langs = langs or ["en"] * len(texts)
    if cfg is not None and cfg.impl == "paper":
        cols: dict[str, list[float]] = {}
        for text, lang in zip(texts, langs):
            for k, v in _paper(text, lang).items():
                cols.setdefault(k, []).append(v)
        return cols
    if words is None:
        words = ngrams.Words([W.words(t, lang) for t, lang in zip(texts, langs)])
    return _datatrove_many(texts, langs, words)


def _paper(text: str, lang: str) -> dict[str, float]:
    # Whitespace tokens for languages written with spaces; the segmenter's words for zh/ja/th.
    tokens = Counter(W.words(text, lang) if lang in W.SEGMENTED else text.split())
    stop = {w.lower() for w in W.stop_words(lang)}
    n = chars = alpha = 0
    distinct_stop = set()
    for token, count in tokens.items():
        word = _PUNCT.sub("", token)
        if word:
            n += count
            chars += count * len(word)
            if word.lower() in stop:
                distinct_stop.add(word.lower())
        if any(c.isalpha() for c in token):
            alpha += count
    n_tokens = max(sum(tokens.values()), 1)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    n_lines = max(len(lines), 1)
    return {
        "n_words": float(n),
        "avg_word_length": chars / n if n else 0.0,
        "hash_word_ratio": text.count("#") / max(n, 1),
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / max(n, 1),
        "bullet_lines_ratio": sum(ln.lstrip().startswith(BULLETS) for ln in lines) / n_lines,
        "ellipsis_lines_ratio": sum(ln.rstrip().endswith(("...", "…")) for ln in lines) / n_lines,
        "alpha_words_ratio": alpha / n_tokens,
        "stop_words": float(len(distinct_stop)),
    }


def measure(text: str, cfg: GopherQualityConfig | None = None, lang: str = "en") -> dict[str, float]:
    """Counts for :func:`decide`; ``lang``: the page's language (langid), for words and stop words."""
    return {k: v[0] for k, v in measure_many([text], cfg, [lang]).items()}


def decide(a: dict[str, float], cfg: GopherQualityConfig) -> str | None:
    """The first failing rule, in the paper's (and datatrove's) order, or None to keep."""
    if a["n_words"] < cfg.min_doc_words:
        return "few_words"
    if a["n_words"] > cfg.max_doc_words:
        return "many_words"
    if a["avg_word_length"] < cfg.min_avg_word_length:
        return "short_words"
    if a["avg_word_length"] > cfg.max_avg_word_length:
        return "long_words"
    if a["hash_word_ratio"] > cfg.max_symbol_word_ratio or a["ellipsis_word_ratio"] > cfg.max_symbol_word_ratio:
        return "symbols"
    if a["bullet_lines_ratio"] > cfg.max_bullet_lines_ratio:
        return "bullet_lines"
    if a["ellipsis_lines_ratio"] > cfg.max_ellipsis_lines_ratio:
        return "ellipsis_lines"
    if a["alpha_words_ratio"] < cfg.min_alpha_words_ratio:
        return "non_alpha_words"
    if a["stop_words"] < cfg.min_stop_words:
        return "few_stop_words"
    return None
