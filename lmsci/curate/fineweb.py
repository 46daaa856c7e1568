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
from lmsci.curate import words as W

NAME = "fineweb"
REASONS = ("empty", "line_punct_ratio", "short_line_ratio", "dup_line_char_ratio", "newline_word_ratio")
STOP_CHARS = (".", "'", '"', "!", "?", "”", "’", "。", "！", "？", "।", "؟", "۔")  # paper mode
SHORT_LINE_CHARS = 30  # FineWeb: "lines shorter than 30 characters"


def _dup_chars(lines: list[str]) -> int:
    seen: set[str] = set()
    chars = 0
    for ln in lines:
        if ln in seen:
            chars += len(ln)
        seen.add(ln)
    return chars


def measure(text: str, cfg: FineWebConfig | None = None, lang: str = "en") -> dict[str, float]:
    """Ratios for :func:`decide`; ``lang``: the page's language (langid), for its word tokenizer."""
    paper = cfg is not None and cfg.impl == "paper"
    lines = [ln for ln in text.split("\n") if ln.strip()]
    n = max(len(lines), 1)
    no_newlines = max(len(text.replace("\n", "")), 1)
    if paper:
        return {
            "lines": float(len(lines)),
            "line_punct_ratio": sum(ln.rstrip().endswith(STOP_CHARS) for ln in lines) / n,
            "short_line_ratio": sum(len(ln.rstrip()) < SHORT_LINE_CHARS for ln in lines) / n,
            "dup_line_char_ratio": _dup_chars([ln.strip() for ln in lines]) / no_newlines,
            "newline_word_ratio": 0.0,
        }
    return {
        "lines": float(len(lines)),
        "line_punct_ratio": sum(ln.endswith(W.terminal_punctuation()) for ln in lines) / n,
        "short_line_ratio": sum(len(ln) <= SHORT_LINE_CHARS for ln in lines) / n,
        "dup_line_char_ratio": _dup_chars(lines) / no_newlines,
        "newline_word_ratio": text.count("\n") / max(len(W.words(text, lang)), 1),
    }


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
