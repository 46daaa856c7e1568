"""Crawled text printed to a terminal: control characters escaped, so a page cannot move the cursor,
retitle the window or hide lines (ANSI/OSC escape sequences start with ESC, 0x1b; C1 controls
0x80–0x9f act as escapes on some terminals; bidi overrides reorder what is shown)."""
from __future__ import annotations

import re

# C0 and C1 controls (except newline and tab, which the callers lay out), DEL, and the Unicode
# format characters that reorder or hide text (bidi embeddings/overrides/isolates, zero-width ones).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")


def _escape(m: re.Match) -> str:
    c = m.group()
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def clean(text: str, keep_newlines: bool = True) -> str:
    """``text`` with every unsafe character shown as ``\\xNN`` / ``\\uNNNN`` (newlines and tabs kept,
    or escaped too when ``keep_newlines`` is false)."""
    out = _UNSAFE.sub(_escape, str(text))
    if not keep_newlines:
        out = out.replace("\n", "\\n").replace("\t", "\\t")
    return out
