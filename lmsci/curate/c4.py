"""C4 clean-up rules (Raffel et al. 2020, "Exploring the Limits of Transfer Learning", Sec. 2.2).

C4 removes lines (no terminal punctuation, fewer than 3 words, "javascript", cookie/policy
notices, a word over 1000 characters) and drops pages (lorem ipsum, a curly bracket, fewer than 5
sentences left, any word of a bad-words list — optional here: ``c4.bad_words_file``, since the
list is not bundled). As in datatrove's C4QualityFilter the decisions are per document; the line
rules are measured (the sentences that survive) and the text is left unchanged.

``impl: datatrove`` (default) reproduces datatrove 0.10.1: lines are ``str.splitlines()``,
stripped, Wikipedia citation marks removed; "lorem ipsum" and "{" drop the page only on a line
that survives the punctuation and 3-word rules (and, for "{", the javascript rule), whichever
comes first; sentences are counted per surviving line by spaCy's sentencizer
(:func:`lmsci.curate.words.sentence_count`). ``impl: paper`` reads Sec. 2.2 instead:

* "We removed any page where the phrase 'lorem ipsum' appeared" and "any pages that contained
  a curly bracket" — anywhere on the page, removed lines included (datatrove: surviving lines).
* "fewer than 5 sentences" — sentence ends (. ! ? with closing quotes) per kept line, at least
  one per line (datatrove: spaCy's sentencizer).

``terminal_punct: false`` (FineWeb's setting) keeps lines without terminal punctuation. Thresholds:
:class:`lmsci.config.C4Config`. Attribute names are prefixed ``c4_``.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

from lmsci.config import C4Config
from lmsci.curate import words as W

NAME = "c4"
REASONS = ("lorem_ipsum", "curly_bracket", "few_sentences", "bad_words")
END_PUNCT = (".", "?", "!", '"', "'")  # C4's terminal marks, plus the closing single quote (TFDS, datatrove)
ELLIPSIS = "..."  # a line ending in an ellipsis is unfinished, not terminated
MIN_WORDS_PER_LINE = 3  # C4: "only retained lines that contained at least 3 words"
MAX_WORD_LENGTH = 1000  # TFDS's guard against base64 blobs and URLs pasted as one word
POLICY = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies")
_CITATION = re.compile(r"\[\d*]|\[edit]|\[citation needed]")  # Wikipedia-style markers C4 strips
_SENTENCE_END = re.compile(r"[.!?]+(?:['\"”’)]*)(?=\s|$)")


def _regex_sentences(line: str) -> int:
    return max(1, len(_SENTENCE_END.findall(line)))


@functools.lru_cache(maxsize=4)
def _terminal_sentences():
    ends = re.escape("".join(W.terminal_punctuation()))
    return re.compile(rf"[{ends}]+['\"”’)]*(?=\s|$)")


def _sentences(line: str, lang: str) -> int:
    """Sentences of a kept line: spaCy's sentencizer for English (datatrove); other languages split
    at any script's terminal punctuation (datatrove would load that language's splitter)."""
    if lang == "en":
        return W.sentence_count(line)
    return max(1, len(_terminal_sentences().findall(line)))


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


def _datatrove(text: str, lang: str) -> dict[str, float]:
    """Per punctuation setting (``""``: terminal_punct on, ``_any_punct``: off): the index of the
    first surviving line with "lorem ipsum" / "{" (-1: none) and the sentences of kept lines."""
    a = {f"{k}{s}": v for s in ("", "_any_punct")
         for k, v in (("lorem_ipsum_line", -1), ("curly_bracket_line", -1), ("sentences", 0))}
    for i, raw in enumerate(text.splitlines()):
        line = raw.strip()
        words = line.split()  # counted before citations are removed, as datatrove does
        if len(line) > MAX_WORD_LENGTH and max(map(len, words)) > MAX_WORD_LENGTH:
            continue
        line = _CITATION.sub("", line)
        if _n_words(line, words, lang) < MIN_WORDS_PER_LINE:
            continue
        low = line.lower()
        punct_ok = line.endswith(END_PUNCT) and not line.endswith(ELLIPSIS)
        for suffix in ("", "_any_punct") if punct_ok else ("_any_punct",):
            if "lorem ipsum" in low and a[f"lorem_ipsum_line{suffix}"] < 0:
                a[f"lorem_ipsum_line{suffix}"] = i
            if "javascript" in low:
                continue
            if "{" in line and a[f"curly_bracket_line{suffix}"] < 0:
                a[f"curly_bracket_line{suffix}"] = i
            if any(p in low for p in POLICY):
                continue
            a[f"sentences{suffix}"] += _sentences(line, lang)
    return {k: float(v) for k, v in a.items()}


def _n_words(line: str, words: list[str], lang: str) -> int:
    """Whitespace words (C4, datatrove); the segmenter's for languages written without spaces, where
    a whole sentence is one whitespace word (datatrove would drop every line of such a page)."""
    return len(W.words(line, lang)) if lang in W.SEGMENTED else len(words)


def _paper(text: str, lang: str) -> dict[str, float]:
    lorem = 0.0 if "lorem ipsum" in text.lower() else -1.0
    curly = 0.0 if "{" in text else -1.0
    a = {"lorem_ipsum_line": lorem, "curly_bracket_line": curly, "sentences": 0.0,
         "lorem_ipsum_line_any_punct": lorem, "curly_bracket_line_any_punct": curly, "sentences_any_punct": 0.0}
    for raw in text.split("\n"):
        line = _CITATION.sub("", raw.strip())
        words = line.split()
        low = line.lower()
        if (_n_words(line, words, lang) < MIN_WORDS_PER_LINE or any(len(w) > MAX_WORD_LENGTH for w in words)
                or "javascript" in low or any(p in low for p in POLICY)):
            continue
        n = _regex_sentences(line) if lang == "en" else _sentences(line, lang)
        a["sentences_any_punct"] += n
        if line.endswith(END_PUNCT) and not line.endswith(ELLIPSIS):
            a["sentences"] += n
    return a


def measure(text: str, cfg: C4Config | None = None, lang: str = "en") -> dict[str, float]:
    """Counts for :func:`decide`; ``bad_words`` only with a ``cfg`` naming a ``bad_words_file``."""
    a = _paper(text, lang) if cfg is not None and cfg.impl == "paper" else _datatrove(text, lang)
    if cfg is not None and cfg.bad_words_file:
        a["bad_words"] = float(len(bad_words_pattern(cfg.bad_words_file).findall(text)))
    return a


def decide(a: dict[str, float], cfg: C4Config) -> str | None:
    """Page-level rules in C4's order; the first line that trips lorem ipsum or "{" names the reason."""
    s = "" if cfg.terminal_punct else "_any_punct"
    lorem = a[f"lorem_ipsum_line{s}"] if cfg.drop_lorem_ipsum else -1
    curly = a[f"curly_bracket_line{s}"] if cfg.drop_curly_bracket else -1
    if lorem >= 0 and (curly < 0 or lorem <= curly):
        return "lorem_ipsum"
    if curly >= 0:
        return "curly_bracket"
    if a[f"sentences{s}"] < cfg.min_sentences:
        return "few_sentences"
    if cfg.bad_words_file:  # TFDS's C4 removes bad-word pages after cleaning them
        if "bad_words" not in a:
            raise ValueError("c4.bad_words_file is set but the pages were measured without it; re-run tag")
        if a["bad_words"] > 0:
            return "bad_words"
    return None
