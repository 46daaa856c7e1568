"""Gopher quality filter (Rae et al. 2021, "Scaling Language Models", Appendix A.1.1).

Thresholds live in :class:`lmsci.config.GopherQualityConfig` with the paper's values.
Attribute names are prefixed ``gopher_`` in the document table.
"""
from __future__ import annotations

import re

from lmsci.config import GopherQualityConfig

NAME = "gopher_quality"
# The paper's stop-word list: a document must contain at least two of these.
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
BULLETS = ("•", "‣", "◦", "⁃", "-", "*", "·", "●", "○", "■", "□", "▪", "▫", "–")
_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")

REASONS = ("few_words", "many_words", "short_words", "long_words", "symbols", "bullet_lines",
           "ellipsis_lines", "non_alpha_words", "few_stop_words")


def measure(text: str) -> dict[str, float]:
    words = [w for w in (_PUNCT.sub("", t) for t in _WORD.findall(text)) if w]
    raw_tokens = _WORD.findall(text)
    n = len(words)
    lines = [ln for ln in text.split("\n") if ln.strip()]
    n_lines = max(len(lines), 1)
    symbols = text.count("#") + text.count("...") + text.count("…")
    return {
        "n_words": float(n),
        "avg_word_length": sum(map(len, words)) / n if n else 0.0,
        "symbol_word_ratio": symbols / max(len(raw_tokens), 1),
        "bullet_lines_ratio": sum(ln.lstrip().startswith(BULLETS) for ln in lines) / n_lines,
        "ellipsis_lines_ratio": sum(ln.rstrip().endswith(("...", "…")) for ln in lines) / n_lines,
        "alpha_words_ratio": sum(any(c.isalpha() for c in w) for w in raw_tokens) / max(len(raw_tokens), 1),
        "stop_words": float(sum(w.lower() in STOP_WORDS for w in words)),
    }


def decide(a: dict[str, float], cfg: GopherQualityConfig) -> str | None:
    """The first failing rule, in the paper's order, or None to keep."""
    if a["n_words"] < cfg.min_doc_words:
        return "few_words"
    if a["n_words"] > cfg.max_doc_words:
        return "many_words"
    if a["avg_word_length"] < cfg.min_avg_word_length:
        return "short_words"
    if a["avg_word_length"] > cfg.max_avg_word_length:
        return "long_words"
    if a["symbol_word_ratio"] > cfg.max_symbol_word_ratio:
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
