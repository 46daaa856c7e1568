"""FineWeb's custom quality filters (Penedo et al. 2024, "The FineWeb Datasets", Sec. 3.3).

Line statistics the paper found to separate good from bad crawl pages after the C4 and Gopher
filters: too few lines ending in punctuation (lists, menus), too many characters in repeated
lines (boilerplate), too many short lines (navigation). Ratios are over non-empty lines.

``impl: datatrove`` (default) reproduces datatrove 0.10.1's FineWebQualityFilter: lines are
taken as written (not stripped); a line ends in punctuation when its last character is one of
datatrove's TERMINAL_PUNCTUATION (sentence ends of every script, no quotes); a page is dropped
when a ratio is strictly below/above its threshold; a fourth rule drops lists (newlines per
spaCy word above ``max_newline_word_ratio``). ``impl: paper`` reads Sec. 3.3 instead:

* "fraction of lines ending with punctuation <= 0.12", "fraction of characters in duplicated
  lines >= 0.1", "fraction of lines shorter than 30 characters >= 0.67" — the inclusive bounds
  as written (datatrove: strict), and "shorter than 30" as < 30 (datatrove: <= 30).
* Punctuation is the FineWeb release's stop characters ``. ' " ! ?`` (with their typographic
  quotes and the CJK, Devanagari and Arabic sentence ends), after trailing spaces; a line's
  length counts its indentation. No newline-per-word rule (not among the paper's filters).

Thresholds: :class:`lmsci.config.FineWebConfig`. Attribute names are prefixed ``fineweb_``.
"""
from __future__ import annotations

from lmsci.config import FineWebConfig
from lmsci.curate import ngrams
from lmsci.curate import words as W

NAME = "fineweb"
REASONS = ("empty", "line_punct_ratio", "short_line_ratio", "dup_line_char_ratio", "newline_word_ratio")
STOP_CHARS = (".", "'", '"', "!", "?", "”", "’", "。", "！", "？", "।", "؟", "۔")  # paper mode
ATTRS = ("lines", "line_punct_ratio", "short_line_ratio", "dup_line_char_ratio", "newline_word_ratio")
SHORT_LINE_CHARS = 30  # FineWeb: "lines shorter than 30 characters"


def _dup_chars(lines: list[str]) -> int:
    """Characters of the lines that repeat an earlier line (all but each distinct line's first)."""
    return sum(map(len, lines)) - sum(map(len, set(lines)))


def measure(text: str, cfg: FineWebConfig | None = None, lang: str = "en") -> dict[str, float]:
    """Ratios for :func:`decide`; ``lang``: the page's language (langid), for its word tokenizer."""
    return {k: v[0] for k, v in measure_many([text], cfg, [lang]).items()}


def measure_many(texts: list[str], cfg: FineWebConfig | None = None, langs: list[str] | None = None,
                 words: ngrams.Words | None = None) -> dict[str, list[float]]:
    """:func:`measure` of many pages (tag's shard): column -> values. ``words``: the pages' words,
    when the caller has them already (datatrove's newline rule counts them)."""
    paper = cfg is not None and cfg.impl == "paper"
    langs = langs or ["en"] * len(texts)
    if paper:
        sizes = [0] * len(texts)
    elif words is not None:
        sizes = words.sizes.tolist()
    else:
        sizes = [len(W.words(t, lang)) for t, lang in zip(texts, langs)]
    cols: dict[str, list[float]] = {k: [] for k in ATTRS}
    ends = W.terminal_punctuation()
    for text, size in zip(texts, sizes):
        lines = [ln for ln in text.split("\n") if ln.strip()]
        n = max(len(lines), 1)
        no_newlines = max(len(text) - text.count("\n"), 1)
        if paper:
            values = (float(len(lines)), sum(ln.rstrip().endswith(STOP_CHARS) for ln in lines) / n,
                      sum(len(ln.rstrip()) < SHORT_LINE_CHARS for ln in lines) / n,
                      _dup_chars([ln.strip() for ln in lines]) / no_newlines, 0.0)
        else:
            values = (float(len(lines)), sum(ln.endswith(ends) for ln in lines) / n,
                      sum(len(ln) <= SHORT_LINE_CHARS for ln in lines) / n, _dup_chars(lines) / no_newlines,
                      text.count("\n") / max(size, 1))
        for k, v in zip(ATTRS, values):
            cols[k].append(v)
    return cols


def decide(a: dict[str, float], cfg: FineWebConfig) -> str | None:
    """datatrove's order (punctuation, short lines, duplicates, newlines); paper: inclusive bounds."""
    if a["lines"] == 0:
        return "empty"
    if cfg.impl == "paper":
        if a["line_punct_ratio"] <= cfg.min_line_punct_ratio:
            return "line_punct_ratio"
        if a["short_line_ratio"] >= cfg.max_short_line_ratio:
            return "short_line_ratio"
        if a["dup_line_char_ratio"] >= cfg.max_dup_line_char_ratio:
            return "dup_line_char_ratio"
        return None
    if a["line_punct_ratio"] < cfg.min_line_punct_ratio:
        return "line_punct_ratio"
    if a["short_line_ratio"] > cfg.max_short_line_ratio:
        return "short_line_ratio"
    if a["dup_line_char_ratio"] > cfg.max_dup_line_char_ratio:
        return "dup_line_char_ratio"
    if a["newline_word_ratio"] > cfg.max_newline_word_ratio:
        return "newline_word_ratio"
    return None
