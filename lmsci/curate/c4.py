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

import numpy as np

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
_LONG_WORD = re.compile(r"(?<!\S)\S{%d}" % (MAX_WORD_LENGTH + 1))  # \s is str.isspace() for every code point
_KEPT = re.compile(r"^[^\S\n]*(\S+(?:[^\S\n]+\S+){%d,})[^\S\n]*$" % (MIN_WORDS_PER_LINE - 1), re.M)
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")  # str.splitlines() breaks but newline
_SENTENCE_END = re.compile(r"[.!?]+(?:['\"”’)]*)(?=\s|$)")


def _regex_sentences(line: str) -> int:
    return max(1, len(_SENTENCE_END.findall(line)))


@functools.lru_cache(maxsize=4)
def _terminal_sentences(ascii_marks: bool = False):
    """``ascii_marks``: for text holding none of the other marks, the same matches from a class of
    . ! ? alone (a regex with a small class scans ~6x faster than with datatrove's 159 marks)."""
    ends = re.escape("".join(c for c in W.terminal_punctuation() if not ascii_marks or c.isascii()))
    return re.compile(rf"[{ends}]+['\"”’)]*(?=\s|$)")


@functools.cache
def _non_ascii_marks() -> tuple[str, ...]:
    return tuple(c for c in W.terminal_punctuation() if not c.isascii())


def _ascii_marks_only(text: str) -> bool:
    """No terminal mark beyond . ! ? in ``text`` (one fast substring search per mark)."""
    return not any(c in text for c in _non_ascii_marks())


def _sentences(line: str, lang: str) -> int:
    """Sentences of a kept line: spaCy's sentencizer for English (datatrove); other languages split
    at any script's terminal punctuation (datatrove would load that language's splitter)."""
    if lang == "en":
        return W.sentence_count(line)
    return _other_sentences(line)


def _other_sentences(line: str) -> int:
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
    first surviving line with "lorem ipsum" / "{" (-1: none) and the sentences of kept lines.

    A rule that cannot fire on the page is not tried per line: str.lower() maps character by
    character, so a line's phrase is in the lower-cased page (unless removing a citation mark
    joins it: pages with "[" try every line). Where a newline is the only line break, one regex
    finds the lines of 3+ words (the others are never kept), stripped."""
    low_text = text.lower()
    cite = "[" in text
    phrases = cite or "lorem ipsum" in low_text or "javascript" in low_text or _policy(low_text)
    curly_page = "{" in text
    long_page = _LONG_WORD.search(text) is not None
    segmented = lang in W.SEGMENTED
    by_regex = not (segmented or _OTHER_BREAKS.search(text))
    if by_regex and not (phrases or curly_page or long_page):  # most pages: only the 3-word rule
        ended, other = [], []
        for line in _KEPT.findall(text):
            (ended if line.endswith(END_PUNCT) and not line.endswith(ELLIPSIS) else other).append(line)
        return _result([-1, -1], [-1, -1], ended, other, lang)
    # (where the line starts, or its index; the line stripped)
    lines = ([(m.start(), m.group(1)) for m in _KEPT.finditer(text)] if by_regex
             else [(i, raw.strip()) for i, raw in enumerate(text.splitlines())])
    lorem, curly = [-1, -1], [-1, -1]  # first line index: [terminal_punct on, off]
    ended, other = [], []  # kept lines ending / not ending in terminal punctuation
    for at, line in lines:
        if long_page or not by_regex:
            words = line.split()  # counted before citations are removed, as datatrove does
            if long_page and len(line) > MAX_WORD_LENGTH and max(map(len, words)) > MAX_WORD_LENGTH:
                continue
        if cite and "[" in line:
            line = _CITATION.sub("", line)
        if not by_regex and (len(W.words(line, lang)) if segmented else len(words)) < MIN_WORDS_PER_LINE:
            continue
        punct_ok = line.endswith(END_PUNCT) and not line.endswith(ELLIPSIS)
        low = line.lower() if phrases else ""
        if phrases and "lorem ipsum" in low and (lorem[1] < 0 or punct_ok and lorem[0] < 0):
            i = text.count("\n", 0, at) if by_regex else at
            lorem = [i if punct_ok and lorem[0] < 0 else lorem[0], i if lorem[1] < 0 else lorem[1]]
        if phrases and "javascript" in low:
            continue
        if curly_page and "{" in line and (curly[1] < 0 or punct_ok and curly[0] < 0):
            i = text.count("\n", 0, at) if by_regex else at
            curly = [i if punct_ok and curly[0] < 0 else curly[0], i if curly[1] < 0 else curly[1]]
        if phrases and _policy(low):
            continue
        (ended if punct_ok else other).append(line)
    return _result(lorem, curly, ended, other, lang)


def _result(lorem: list[int], curly: list[int], ended: list[str], other: list[str], lang: str) -> dict[str, float]:
    count = W.sentence_total if lang == "en" else _other_total
    punct = count(ended)
    return {"lorem_ipsum_line": float(lorem[0]), "curly_bracket_line": float(curly[0]), "sentences": float(punct),
            "lorem_ipsum_line_any_punct": float(lorem[1]), "curly_bracket_line_any_punct": float(curly[1]),
            "sentences_any_punct": float(punct + count(other))}


def _other_total(lines: list[str]) -> int:
    """``sum(map(_other_sentences, lines))`` in one regex pass: no match crosses a newline, and a
    line without one counts one sentence."""
    if not lines:
        return 0
    text = "\n".join(lines)
    ends = [m.start() for m in _terminal_sentences(_ascii_marks_only(text)).finditer(text)]
    if not ends:
        return len(lines)
    offsets = np.cumsum([0] + [len(ln) + 1 for ln in lines[:-1]])
    with_end = len(np.unique(np.searchsorted(offsets, ends, side="right")))
    return len(ends) + len(lines) - with_end


def _policy(low: str) -> bool:
    """Any of C4's policy phrases in lower-cased text (all but two contain "cookie")."""
    return "terms of use" in low or "privacy policy" in low or ("cookie" in low and any(p in low for p in POLICY))


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


def measure_many(texts: list[str], cfg: C4Config | None = None, langs: list[str] | None = None,
                 words=None) -> dict[str, list[float]]:
    """:func:`measure` of many pages (tag's shard): column -> values (C4 splits lines, not pages,
    into words: ``words`` is not used)."""
    cols: dict[str, list[float]] = {}
    for text, lang in zip(texts, langs or ["en"] * len(texts)):
        for k, v in measure(text, cfg, lang).items():
            cols.setdefault(k, []).append(v)
    return cols


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
