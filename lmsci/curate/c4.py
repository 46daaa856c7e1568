"""C4 clean-up rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Sec. 2.2).

C4 removes lines (no terminal punctuation, fewer than 3 words, "javascript", cookie/policy
notices) and drops pages (lorem ipsum, a curly bracket, fewer than 5 sentences left, any word of
a bad-words list — optional here: ``c4.bad_words_file``, since the list is not bundled). Here, as
in datatrove's C4QualityFilter, the decisions are per document; the line rules are measured
(how many lines each would remove, how many sentences survive) and the text is left unchanged.
Thresholds: :class:`lmsci.config.C4Config`. Attribute names are prefixed ``c4_``.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from lmsci.config import C4Config

NAME = "c4"
REASONS = ("lorem_ipsum", "curly_bracket", "few_sentences", "bad_words")
END_PUNCT = (".", "?", "!", '"', "'")  # C4's terminal marks, plus the closing single quote (datatrove)
ELLIPSIS = "..."  # a line ending in an ellipsis is unfinished, not terminated
MIN_WORDS_PER_LINE = 3  # C4: "only retained lines that contained at least 3 words"
MAX_WORD_LENGTH = 1000  # datatrove's guard against base64 blobs and URLs pasted as one word
POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")  # Wikipedia-style markers C4 strips
_SENTENCE_END = re.compile(r"[.!?]+(?:['\"”’)]*)(?=\s|$)")


def _sentences(line: str) -> int:
    return max(1, len(_SENTENCE_END.findall(line)))


@functools.lru_cache(maxsize=4)
def bad_words_pattern(path: str) -> re.Pattern:
    """One regex for a newline list (blank lines and surrounding spaces ignored): whole words or
    phrases, any case. As TFDS's C4 filter, an entry matches between non-word characters, so
    "ass" does not match "class"; longest entries first so phrases win over their first word."""
    words = {w.strip().lower() for w in Path(path).read_text(encoding="utf-8").splitlines() if w.strip()}
    if not words:
        raise ValueError(f"c4.bad_words_file {path} lists no words")
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def measure(text: str, cfg: C4Config | None = None) -> dict[str, float]:
    """Counts for :func:`decide`; ``bad_words`` only with a ``cfg`` naming a ``bad_words_file``."""
    a = dict.fromkeys(("lines", "long_word_lines", "no_terminal_punct_lines", "few_words_lines", "javascript_lines",
                       "policy_lines", "sentences", "sentences_any_punct"), 0)
    lower = text.lower()
    a["lorem_ipsum"] = lower.count("lorem ipsum")
    a["curly_brackets"] = text.count("{")
    for raw in text.split("\n"):
        line = _CITATION.sub("", raw.strip())
        if not line:
            continue
        a["lines"] += 1
        words = line.split()
        low = line.lower()
        if any(len(w) > MAX_WORD_LENGTH for w in words):
            a["long_word_lines"] += 1
        elif len(words) < MIN_WORDS_PER_LINE:
            a["few_words_lines"] += 1
        elif "javascript" in low:
            a["javascript_lines"] += 1
        elif any(p in low for p in POLICY):
            a["policy_lines"] += 1
        else:  # a line C4 keeps if the punctuation rule is off (FineWeb's setting)
            n = _sentences(line)
            a["sentences_any_punct"] += n
            if line.endswith(END_PUNCT) and not line.endswith(ELLIPSIS):
                a["sentences"] += n
            else:
                a["no_terminal_punct_lines"] += 1
    if cfg is not None and cfg.bad_words_file:
        a["bad_words"] = len(bad_words_pattern(cfg.bad_words_file).findall(text))
    return {k: float(v) for k, v in a.items()}


def decide(a: dict[str, float], cfg: C4Config) -> str | None:
    """Page-level rules in C4's order; the line rules only count through the sentences they leave."""
    if cfg.drop_lorem_ipsum and a["lorem_ipsum"] > 0:
        return "lorem_ipsum"
    if cfg.drop_curly_bracket and a["curly_brackets"] > 0:
        return "curly_bracket"
    sentences = a["sentences"] if cfg.terminal_punct else a["sentences_any_punct"]
    if sentences < cfg.min_sentences:
        return "few_sentences"
    if cfg.bad_words_file:  # TFDS's C4 removes bad-word pages after cleaning them
        if "bad_words" not in a:
            raise ValueError("c4.bad_words_file is set but the pages were measured without it; re-run tag")
        if a["bad_words"] > 0:
            return "bad_words"
    return None
