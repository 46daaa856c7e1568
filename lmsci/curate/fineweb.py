"""FineWeb's custom quality filters (Penedo et al. 2024, "The FineWeb Datasets", Sec. 3.3).

Three line statistics the paper found to separate good from bad crawl pages after the C4 and
Gopher filters: too few lines ending in punctuation (lists, menus), too many characters in
repeated lines (boilerplate), too many short lines (navigation). Ratios are over non-empty
lines. Thresholds: :class:`lmsci.config.FineWebConfig`. Attribute names are prefixed ``fineweb_``.
"""
from __future__ import annotations

from lmsci.config import FineWebConfig

NAME = "fineweb"
REASONS = ("line_punct_ratio", "dup_line_char_ratio", "short_line_ratio")
# The FineWeb release's STOP_CHARS (. ' " ! ?), their typographic quotes, and the sentence
# ends of CJK, Devanagari and Arabic script (datatrove's TERMINAL_PUNCTUATION has more).
STOP_CHARS = (".", "'", '"', "!", "?", "”", "’", "。", "！", "？", "।", "؟", "۔")
SHORT_LINE_CHARS = 30  # FineWeb: a line of at most 30 characters is short


def measure(text: str) -> dict[str, float]:
    lines = [ln for ln in (x.strip() for x in text.split("\n")) if ln]
    n = max(len(lines), 1)
    seen: set[str] = set()
    dup_chars = 0
    for ln in lines:
        if ln in seen:
            dup_chars += len(ln)
        seen.add(ln)
    return {
        "line_punct_ratio": sum(ln.endswith(STOP_CHARS) for ln in lines) / n,
        # over the characters of the text without newlines, as datatrove computes it
        "dup_line_char_ratio": dup_chars / max(len(text.replace("\n", "")), 1),
        "short_line_ratio": sum(len(ln) <= SHORT_LINE_CHARS for ln in lines) / n,
    }


def decide(a: dict[str, float], cfg: FineWebConfig) -> str | None:
    if a["line_punct_ratio"] <= cfg.min_line_punct_ratio:
        return "line_punct_ratio"
    if a["dup_line_char_ratio"] >= cfg.max_dup_line_char_ratio:
        return "dup_line_char_ratio"
    if a["short_line_ratio"] >= cfg.max_short_line_ratio:
        return "short_line_ratio"
    return None
