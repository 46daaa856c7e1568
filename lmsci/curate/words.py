"""Word tokenizers and stop words per language, as the heuristic filters count words.

English: the token boundaries of ``spacy.blank("en")`` — the word tokenizer datatrove 0.10.1's
Gopher, C4 and FineWeb filters use — replayed without spaCy. spaCy's tokenizer is a loop over
whitespace-separated chunks that strips prefixes and suffixes and splits infixes by three regexes,
with a table of special cases (``don't`` -> ``do`` ``n't``); :func:`english_words` runs that loop
with the same regexes and table (``data/spacy_en.json``, dumped from spaCy 3.8.18 by
``scripts/datatrove_golden.py``) and caches each distinct chunk, as spaCy does. A page repeats
most of its chunks, so most of the sample crawl's ~400 k chunks cost one dictionary look-up; the
tests check the tokens against spaCy's on every page of the sample crawl (golden digests).
:func:`sentence_count` replays spaCy's rule-based ``sentencizer`` (C4 counts sentences with it).

Languages without spaces between words (FineWeb-2, Penedo et al. 2025, uses the segmenters
datatrove assigns per language): Chinese with jieba (datatrove: spaCy's ``zh`` over jieba),
Japanese with Janome's IPADIC lattice (datatrove: SudachiPy; its dictionary wheel is 77 MB,
Janome's 20 MB), Thai with PyThaiNLP's ``newmm-safe`` (as datatrove). Korean writes spaces
between words (eojeol): its words are whitespace/punctuation splits here, where datatrove splits
morphemes with Kiwi (a 100 MB model) — Korean thresholds in configs/multilingual.yaml are set
for eojeol. Every other language splits at whitespace and punctuation with one regex, words
keeping inner apostrophes, dots and hyphens (:func:`generic_tokens`; datatrove loads spaCy's
tokenizer of that language, so non-English counts are close to datatrove's, not equal).
"""
from __future__ import annotations

import functools
import json
import re
import unicodedata
from itertools import chain
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
SEGMENTED = ("zh", "ja", "th")  # languages written without spaces between words


class _SpacyEnglish:
    """spaCy's ``Tokenizer.__call__`` (spacy/tokenizer.pyx, 3.8): affixes, specials, infixes, URLs."""

    def __init__(self, tables: dict):
        self.prefix = re.compile(tables["prefix"]).search
        self.suffix = re.compile(tables["suffix"]).search
        self.window = _suffix_window(tables["suffix"])
        self.infix = re.compile(tables["infix"]).finditer
        self.url = re.compile(tables["url"]).match
        self.special = {k: tuple(v) for k, v in tables["special"].items()}
        self.punct_chars = frozenset(tables["punct_chars"])
        self.cache: dict[str, tuple[str, ...]] = {}
        self.classes: dict[str, str] = {_LINE_END: "|"}  # chunk -> its tokens' sentencizer classes
        # Special cases containing an affix or infix are also matched over the token stream
        # (spaCy's _apply_special_cases), as the token sequence affix splitting gives them.
        self.patterns: dict[str, list[tuple[str, ...]]] = {}
        for key in self.special:
            if self.prefix(key) or self.suffix(key) or next(self.infix(key), None) or " " in key:
                pattern = self._tokenize(key, specials=False)
                self.patterns.setdefault(pattern[0], []).append(pattern)

    def suffix_len(self, s: str) -> int:
        """Length of spaCy's suffix match on ``s`` (0: none): ``suffix(s)`` tries all of its ~80 end-anchored
        alternatives at every position; each but one (a run of dots) is at most ``window`` characters wide,
        so only the last ``window`` positions can start a match, and a run of dots ends the string or not."""
        if self.window is None or "\n" in s:  # ($ also matches before a final newline; chunks have none)
            m = self.suffix(s)
            return m.end() - m.start() if m else 0
        n = len(s)
        m = self.suffix(s, max(0, n - self.window))  # lookbehinds still see the characters before
        start = m.start() if m else n
        dots = n - len(s.rstrip("."))
        if dots >= 2:
            start = min(start, n - dots)
        return n - start

    def _split_affixes(self, s: str, specials: bool) -> tuple[list[str], str, list[str]]:
        prefixes: list[str] = []
        suffixes: list[str] = []
        last = -1
        while s and len(s) != last:
            if specials and s in self.special:
                break
            if s.isalpha():  # no affix rule matches letters only (see _tokenize)
                break
            last = len(s)
            m = self.prefix(s)
            pre = m.end() - m.start() if m else 0
            if pre and specials and s[pre:] in self.special:
                prefixes.append(s[:pre])
                s = s[pre:]
                break
            suf = self.suffix_len(s[pre:])
            if suf and specials and s[:-suf] in self.special:
                suffixes.append(s[-suf:])
                s = s[:-suf]
                break
            if pre and suf and pre + suf <= len(s):
                prefixes.append(s[:pre])
                suffixes.append(s[-suf:])
                s = s[pre:-suf]
            elif pre:
                prefixes.append(s[:pre])
                s = s[pre:]
            elif suf:
                suffixes.append(s[-suf:])
                s = s[:-suf]
        return prefixes, s, suffixes

    def _tokenize(self, chunk: str, specials: bool = True) -> tuple[str, ...]:
        if specials and chunk in self.special:
            return self.special[chunk]
        if chunk.isalpha():
            # No prefix, suffix, infix or URL rule matches a string of letters only (checked on
            # random strings of every script, tests/curate/test_words.py): one token.
            return (chunk,)
        prefixes, s, suffixes = self._split_affixes(chunk, specials)
        out = prefixes
        if s:
            if specials and s in self.special:
                out.extend(self.special[s])
            elif s.isalpha():
                out.append(s)
            elif self.url(s):
                out.append(s)
            else:
                start = 0
                for m in self.infix(s):
                    a, b = m.span()
                    if a == 0:  # an infix at the very start does not split
                        continue
                    if a != start:
                        out.append(s[start:a])
                    if a != b:
                        out.append(s[a:b])
                    start = b
                if s[start:]:
                    out.append(s[start:])
        out.extend(reversed(suffixes))
        return self._match_specials(tuple(out)) if specials else tuple(out)

    def _match_specials(self, toks: tuple[str, ...]) -> tuple[str, ...]:
        """Longest special-case token sequences first, then the earliest (spaCy's _filter_special_spans)."""
        if self.patterns.keys().isdisjoint(toks):  # no token starts a special case (most chunks)
            return toks
        spans = [(i, i + len(p)) for i, t in enumerate(toks) for p in self.patterns.get(t, ())
                 if toks[i:i + len(p)] == p]
        if not spans:
            return toks
        spans.sort(key=lambda se: (se[1] - se[0], -se[0]), reverse=True)
        seen: set[int] = set()
        chosen = {}
        for a, b in spans:
            if a not in seen and b - 1 not in seen:
                chosen[a] = b
            seen.update(range(a, b))
        out: list[str] = []
        i = 0
        while i < len(toks):
            if i in chosen:
                b = chosen[i]
                out.extend(self.special.get("".join(toks[i:b]), toks[i:b]))
                i = b
            else:
                out.append(toks[i])
                i += 1
        return tuple(out)

    def chunk(self, chunk: str) -> tuple[str, ...]:
        toks = self.cache.get(chunk)
        if toks is None:
            if len(self.cache) > 1_000_000:  # bound memory on long runs (spaCy bounds its cache too)
                self.cache.clear()
            toks = self.cache[chunk] = self._tokenize(chunk)
        return toks

    def words(self, text: str) -> list[str]:
        chunks = text.split()  # whitespace tokens are dropped by datatrove's strip_strings anyway
        found = list(map(self.cache.get, chunks))
        if None in found:
            for i, c in enumerate(chunks):
                if found[i] is None:
                    found[i] = self.chunk(c)
        return list(chain.from_iterable(found))

    def tokens(self, text: str) -> list[str]:
        """All tokens, whitespace tokens included (spaCy: a single ' ' after a token is not one)."""
        out: list[str] = []
        for m in _CHUNKS.finditer(text):
            c = m.group()
            if c[0].isspace():
                if c[0] == " " and m.start() > 0:
                    c = c[1:]
                if c:
                    out.append(c)
            else:
                out.extend(self.chunk(c))
        return out


def _suffix_window(pattern: str) -> int | None:
    """The widest end-anchored alternative of spaCy's suffix regex, when every alternative but ``\\.\\.+$``
    has a bounded width and ends with ``$`` (:meth:`_SpacyEnglish.suffix_len`); None otherwise, and then
    the whole string is searched."""
    from re import _parser  # the stdlib's own regex parser (Python 3.11)

    tree = _parser.parse(pattern)
    alternatives = tree.data[0][1][1] if len(tree.data) == 1 and tree.data[0][0] == _parser.BRANCH else [tree]
    dots = repr(_parser.parse(r"\.\.+$").data)  # (nested SubPatterns compare by identity, reprs by content)
    widest = 0
    for alt in alternatives:
        if not alt.data or alt.data[-1] != (_parser.AT, _parser.AT_END):
            return None
        if repr(alt.data) == dots:
            continue
        lo, hi = alt.getwidth()
        if hi >= _parser.MAXREPEAT:
            return None
        widest = max(widest, hi)
    return widest


_CHUNKS = re.compile(r"\s+|\S+")
# A chunk standing for a line's end where lines are laid end to end (class "|", which no pattern
# crosses); a text holding it is classed token by token instead.
_LINE_END = "\x00"
# Sentencizer classes of a token: P in its punctuation list, p other punctuation, w anything else.
# A sentence ends at the first w after a P (only punctuation between): one match of P[Pp]*w.
_BOUNDARY = re.compile(r"P[Pp]*w")


@functools.cache
def _english() -> _SpacyEnglish:
    tables = json.loads((DATA / "spacy_en.json").read_text(encoding="utf-8"))
    assert all(len(c) == 1 for c in tables["punct_chars"]), "sentence_count assumes one-character marks"
    return _SpacyEnglish(tables)


def english_words(text: str) -> list[str]:
    """``spacy.blank("en")`` tokens of ``text`` without whitespace tokens (datatrove's split_into_words)."""
    return _english().words(text)


@functools.lru_cache(maxsize=100_000)
def _is_punct(token: str) -> bool:
    """spaCy's IS_PUNCT lexical attribute: every character in a Unicode punctuation category."""
    return all(unicodedata.category(c).startswith("P") for c in token)


def _token_class(eng: _SpacyEnglish, tok: str) -> str:
    return "P" if tok in eng.punct_chars else "p" if _is_punct(tok) else "w"


def sentence_count(text: str) -> int:
    """Sentences spaCy's ``sentencizer`` finds in ``text`` (at least 1, as datatrove counts them).

    A sentence ends after a token in the sentencizer's punctuation list once a token follows that
    is neither punctuation nor in the list (spacy/pipeline/sentencizer.pyx)."""
    eng = _english()
    if eng.punct_chars.isdisjoint(text):  # the list holds single characters: no token can be one
        return 1
    chunks = text.split()
    if " ".join(chunks) == text and _LINE_END not in text:  # single spaces only: classes per chunk
        parts = list(map(eng.classes.get, chunks))
        if None in parts:
            _classes(eng, chunks, parts)
        return 1 + len(_BOUNDARY.findall("".join(parts)))
    return 1 + len(_BOUNDARY.findall("".join(_token_class(eng, t) for t in eng.tokens(text))))


def sentence_total(lines: list[str]) -> int:
    """``sum(map(sentence_count, lines))`` for stripped lines, with one look-up and one regex pass
    for all the lines written with single spaces (most): their tokens' classes are laid end to end,
    each line closed by a class no pattern crosses."""
    eng = _english()
    total = k = 0
    chunks: list[str] = []
    for line in lines:
        if eng.punct_chars.isdisjoint(line):
            total += 1
            continue
        cs = line.split()
        if " ".join(cs) == line and _LINE_END not in line:
            chunks += cs
            chunks.append(_LINE_END)
            k += 1
        else:
            total += sentence_count(line)
    if not k:
        return total
    parts = list(map(eng.classes.get, chunks))
    if None in parts:
        _classes(eng, chunks, parts)
    return total + k + len(_BOUNDARY.findall("".join(parts)))


def _classes(eng: _SpacyEnglish, chunks: list[str], parts: list[str | None]) -> None:
    """Fill in the sentencizer classes of the chunks not yet looked up (and remember them)."""
    for i, c in enumerate(chunks):
        if parts[i] is None:
            if len(eng.classes) > 1_000_000:  # bound memory on long runs
                eng.classes.clear()
                eng.classes[_LINE_END] = "|"
            parts[i] = eng.classes[c] = "".join(_token_class(eng, t) for t in eng.chunk(c))


_GENERIC = re.compile(r"\w+(?:['’.\-]\w+)*|[^\w\s]", re.UNICODE)


def generic_tokens(text: str) -> list[str]:
    """Words and single punctuation marks for a language written with spaces (no spaCy rules)."""
    return _GENERIC.findall(text)


@functools.cache
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tok = jieba.Tokenizer()
    tok.initialize()
    return tok


@functools.cache
def _janome():
    from janome.tokenizer import Tokenizer

    return Tokenizer(wakati=True)


def _strip(tokens) -> list[str]:
    return [t.strip() for t in tokens if t.strip()]


def chinese_words(text: str) -> list[str]:
    """jieba's default (HMM) segmentation, as spaCy's ``zh`` with ``segmenter: jieba``."""
    return _strip(_jieba().cut(text, cut_all=False))


def japanese_words(text: str) -> list[str]:
    # Janome splits one input; lines keep its memory flat on long pages.
    return [w for line in text.split("\n") for w in _strip(_janome().tokenize(line))]


def thai_words(text: str) -> list[str]:
    from pythainlp.tokenize import word_tokenize

    return _strip(word_tokenize(text, keep_whitespace=False, engine="newmm-safe"))


@functools.lru_cache(maxsize=4)
def words(text: str, lang: str = "en") -> tuple[str, ...]:
    """The words of ``text`` in language ``lang`` (ISO 639-1), punctuation tokens included. The last
    few pages are remembered: tag measures a page with every filter in turn."""
    split = {"en": english_words, "zh": chinese_words, "ja": japanese_words, "th": thai_words}.get(lang, generic_tokens)
    return tuple(split(text))


@functools.cache
def stop_words(lang: str) -> frozenset[str]:
    """The language's stop words (``data/stop_words.json``); empty for a language not listed."""
    table = json.loads((DATA / "stop_words.json").read_text(encoding="utf-8"))
    return frozenset(table.get(lang, {}).get("words", ()))


@functools.cache
def _datatrove_text() -> dict:
    return json.loads((DATA / "datatrove_text.json").read_text(encoding="utf-8"))


@functools.cache
def punctuation() -> frozenset[str]:
    """datatrove's PUNCTUATION_SET: a word made only of these is a symbol, not a word (Gopher quality)."""
    return frozenset(_datatrove_text()["punctuation"])


@functools.cache
def terminal_punctuation() -> tuple[str, ...]:
    """datatrove's TERMINAL_PUNCTUATION: sentence ends of every script (FineWeb's line-end test)."""
    return tuple(sorted(_datatrove_text()["terminal_punctuation"]))
