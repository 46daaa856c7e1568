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

import functools
import re
from collections import Counter

from lmsci.config import GopherQualityConfig
from lmsci.curate import words as W

NAME = "gopher_quality"
BULLETS = ("•", "‣", "◦", "⁃", "-", "*", "·", "●", "○", "■", "□", "▪", "▫", "–")  # paper mode
DT_BULLETS = ("•", "-")  # datatrove's two bullet marks
_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")

REASONS = ("few_words", "many_words", "short_words", "long_words", "symbols", "bullet_lines",
           "ellipsis_lines", "non_alpha_words", "few_stop_words")


@functools.lru_cache(maxsize=200_000)
def _classes(w: str, punct: frozenset[str]) -> tuple[bool, bool]:
    """(a word: not punctuation only, datatrove's symbol test; has a letter) — cached, words recur."""
    return not punct.issuperset(w), any(c.isalpha() for c in w)


def _datatrove(text: str, lang: str) -> dict[str, float]:
    words = W.words(text, lang)
    n_tokens = max(len(words), 1)
    punct = W.punctuation()
    stop = W.stop_words(lang)
    n = chars = alpha = 0
    distinct_stop = set()
    for w, count in Counter(words).items():  # a page repeats its words: classify each once
        word, has_alpha = _classes(w, punct)
        if word:
            n += count
            chars += count * len(w)
        if has_alpha:
            alpha += count
        if w in stop:
            distinct_stop.add(w)
    lines = text.splitlines()
    n_lines = max(len(lines), 1)
    return {
        "n_words": float(n),
        "avg_word_length": chars / n if n else 0.0,
        "hash_word_ratio": text.count("#") / n_tokens,
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / n_tokens,
        "bullet_lines_ratio": sum(ln.lstrip().startswith(DT_BULLETS) for ln in lines) / n_lines,
        "ellipsis_lines_ratio": sum(ln.rstrip().endswith(("...", "…")) for ln in lines) / n_lines,
        "alpha_words_ratio": alpha / n_tokens,
        "stop_words": float(len(distinct_stop)),
    }


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
    return (_paper if cfg is not None and cfg.impl == "paper" else _datatrove)(text, lang)


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
