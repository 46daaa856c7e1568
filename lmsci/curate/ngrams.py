"""Repeated n-grams of many pages at once, as datatrove 0.10.1's GopherRepetitionFilter counts them.

The pages of a shard are laid end to end as one array of word hashes (``Words``), so every n
costs a handful of NumPy calls for the whole shard rather than per page (the sample crawl's
median page has 177 words: per-page NumPy calls cost more than the work). An n-gram is keyed
by a 64-bit hash; n-grams crossing a page boundary are left out. Grouping is by (page, key)
exactly: the key is XORed with a per-page constant before one sort, and should two pages'
keys meet anyway (probability ~ positions**2 / 2**64) the n is regrouped with a stable sort
and the page as a second key, so a page's figures never depend on the other pages of its shard.

Two keys, as datatrove has two: ``top`` n-grams are word tuples (``("a", "b")`` != ``("ab",)``),
keyed by a polynomial over each word's blake2b hash; duplicated n-grams are the words JOINED
WITHOUT SPACES (``"".join(words[i:i+n])``: ``("ab", "c")`` == ``("a", "bc")``), keyed by the
polynomial string hash of their characters, built from the words' own: h(a + b) = h(a) *
BASE**len(b) + h(b) (mod 2**64). Within a page a collision of either key has probability
~ positions**2 / 2**64, a function of the page alone.
"""
from __future__ import annotations

import bisect
import hashlib
from itertools import chain, takewhile

import numpy as np

from lmsci.curate import words as W

MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constant (golden ratio): the tuple key's multiplier
BASE = 0x100000001B3  # odd (the 64-bit FNV prime): the polynomial string hash mod 2**64
MAX_VOCAB = 2_000_000  # distinct words remembered per process (bounds memory on long runs)


class _Vocab:
    """word -> row of (string hash, BASE**len, blake2b hash, len, is a word, has a letter). Values
    depend on the word alone. "Is a word": not made only of datatrove's punctuation (its Gopher
    quality symbol test); "has a letter": any ``str.isalpha`` character."""

    def __init__(self):
        self.row: dict[str, int] = {}
        self.table = np.zeros((0, 6), dtype=np.uint64)
        self.powers = np.ones(1, dtype=np.uint64)  # BASE**k mod 2**64

    def _power(self, k: int) -> np.ndarray:
        if len(self.powers) <= k:
            n = max(k + 1, 2 * len(self.powers))
            self.powers = np.cumprod(np.full(n, BASE, dtype=np.uint64), dtype=np.uint64)
            self.powers = np.concatenate([[np.uint64(1)], self.powers[:-1]])
        return self.powers

    def _add(self, new: list[str]) -> None:
        lens = np.fromiter(map(len, new), dtype=np.int64, count=len(new))
        cps = np.frombuffer("".join(new).encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        ends = starts + lens
        powers = self._power(int(lens.max()))
        # h(w) = sum_k w[k] * BASE**(len - 1 - k): Horner's rule unrolled, summed per word
        exps = np.repeat(ends - 1, lens) - np.arange(len(cps))
        h = np.add.reduceat(cps * powers[exps], starts) if len(cps) else np.zeros(0, np.uint64)
        blake = [int.from_bytes(hashlib.blake2b(w.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
                 for w in new]
        punct = W.punctuation()
        is_word = np.fromiter((not punct.issuperset(w) for w in new), dtype=np.uint64, count=len(new))
        alpha = np.fromiter((any(c.isalpha() for c in w) for w in new), dtype=np.uint64, count=len(new))
        rows = np.stack([h, powers[lens], np.array(blake, dtype=np.uint64), lens.astype(np.uint64), is_word, alpha],
                        axis=1)
        base = len(self.table)
        self.table = np.concatenate([self.table, rows])
        self.row.update(zip(new, range(base, base + len(new))))

    def rows(self, words: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(row index, table row) of each word."""
        if len(self.row) > MAX_VOCAB:
            self.__init__()
        try:
            idx = np.fromiter(map(self.row.__getitem__, words), dtype=np.int64, count=len(words))
        except KeyError:  # words not seen before: add them all, then look up again
            new = [w for w in dict.fromkeys(words) if w not in self.row]
            if not all(new):
                raise ValueError("ngrams: a word is empty (word tokenizers drop empty tokens)") from None
            self._add(new)
            idx = np.fromiter(map(self.row.__getitem__, words), dtype=np.int64, count=len(words))
        return idx, self.table[idx]


_VOCAB = _Vocab()


class Words:
    """The words of many pages end to end: per position its page, vocabulary row, string hash,
    BASE**len, word hash and the flags of :class:`_Vocab`; ``cum[i]`` = characters of the words
    before position i. ``pages``: each page's words (:func:`lmsci.curate.words.words`)."""

    def __init__(self, pages: list[tuple[str, ...]] | list[list[str]]):
        self.pages = pages
        self.vocab = _VOCAB.row  # the row numbering self.rows refers to (a reset starts a new dict)
        self.sizes = np.fromiter(map(len, pages), dtype=np.int64, count=len(pages))
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)])
        flat = list(chain.from_iterable(pages))
        self.rows, t = _VOCAB.rows(flat) if flat else (np.zeros(0, np.int64), np.zeros((0, 6), np.uint64))
        t = np.ascontiguousarray(t.T)  # one contiguous array per column: the n-gram loops stream them
        self.h, self.p, self.x = t[0], t[1], t[2]
        self.is_word, self.has_alpha = t[4].astype(np.int64), t[5].astype(np.int64)
        self.lens = t[3].astype(np.int64)
        self.cum = np.concatenate([[0], np.cumsum(self.lens)])
        self.page = np.repeat(np.arange(len(pages)), self.sizes)
        # per-page constant XORed into keys (splitmix64 of the page index): pages rarely share a key
        z = np.arange(len(pages), dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        self.mix = (z ^ (z >> np.uint64(31)))[self.page]
        self.index = np.arange(len(self.page), dtype=np.uint64)
        self.left = self.starts[1:][self.page] - self.index.astype(np.int64)  # words from here to the page end


def _repeated(w: Words, key: np.ndarray, n: int):
    """The n-grams that occur more than once in their page, grouped by (page, key): positions
    ascending within each group, each group's start and size (``key[i]``: the n-gram at position
    i, for every position where an n-gram fits in the array).

    One in-place sort of 64-bit values: the high bits of the (page-mixed) key above the position
    (a plain sort is several times faster than an argsort). Keys equal in those bits are the
    candidates; their full keys and pages then decide, so shortening the key costs time, never
    exactness."""
    m = len(key)
    empty = np.zeros(0, dtype=np.int64)
    if m < 2:
        return empty, empty, empty
    bits = np.uint64(m.bit_length())
    packed = ((key ^ w.mix[:m]) >> bits << bits) | w.index[:m]
    packed.sort()
    high = packed >> bits
    same = high[1:] == high[:-1]
    member = np.zeros(m, dtype=bool)
    member[1:] = same
    member[:-1] |= same
    pick = np.flatnonzero(member)
    sp = (packed[pick] & ((np.uint64(1) << bits) - np.uint64(1))).astype(np.int64)
    inside = w.left[sp] >= n  # n-grams inside their page
    sp, high = sp[inside], high[pick][inside]
    raw, page = key[sp], w.page[sp]
    new = np.concatenate([[True], (high[1:] != high[:-1]) | (page[1:] != page[:-1])])
    if np.any(~new[1:] & (raw[1:] != raw[:-1])):  # keys equal only in their high bits: sort exactly
        order = np.lexsort((sp, raw, page))
        sp, raw, page = sp[order], raw[order], page[order]
        new = np.concatenate([[True], (raw[1:] != raw[:-1]) | (page[1:] != page[:-1])])
    sizes = np.diff(np.append(np.flatnonzero(new), len(sp)))
    keep = np.repeat(sizes > 1, sizes)  # members whose partners fell out above
    sp, new = sp[keep], new[keep]
    starts = np.flatnonzero(new)
    return sp, starts, np.diff(np.append(starts, len(sp)))


def top_chars(w: Words, n: int) -> np.ndarray:
    """Per page: characters of its most frequent n-gram (words joined by spaces) times its count,
    ties to the one seen first; 0 for a page shorter than n words (datatrove's top n-gram rule).
    A page whose n-grams are all distinct counts its first one."""
    has = w.sizes >= n
    best = has.astype(np.int64)
    at = w.starts[:-1].copy()
    key = w.x
    for j in range(1, n):
        key = key[:len(key) - 1] * MULT + w.x[j:]
    sp, starts, sizes = _repeated(w, key, n)
    if len(sp):
        first = sp[starts]
        page = w.page[first]
        np.maximum.at(best, page, sizes)
        sel = sizes == best[page]
        hit = np.unique(page)
        at[hit] = len(w.page)
        np.minimum.at(at, page[sel], first[sel])
    out = np.zeros(len(w.sizes), dtype=np.int64)
    i = at[has]
    out[has] = (w.cum[i + n] - w.cum[i] + n - 1) * best[has]
    return out


def dup_chars(w: Words, ns: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Per n and page: datatrove's find_all_duplicate on the joined n-grams. Scanning left to
    right, an n-gram seen at an earlier scanned position counts its characters and the scan jumps
    n words, so the n-1 positions it jumps over are never scanned (nor remembered)."""
    out = {}
    key = w.h  # hash of words[i:i+n] joined, grown one word at a time
    for n in range(2, max(ns) + 1):
        key = key[:len(key) - 1] * w.p[n - 1:] + w.h[n - 1:]
        if n in ns:
            out[n] = _greedy(w, key, n)
    return out


def _greedy(w: Words, key: np.ndarray, n: int) -> np.ndarray:
    total = np.zeros(len(w.sizes), dtype=np.int64)
    sp, starts, sizes = _repeated(w, key, n)
    if not len(sp):
        return total
    first = np.repeat(sp[starts], sizes)
    cand = np.flatnonzero(sp != first)  # occurrences after their group's first: the only possible duplicates
    cand = cand[np.argsort(sp[cand])]
    at = sp[cand]
    # the scan goes from a counted duplicate at c to the first candidate at or past c + n
    jump = np.searchsorted(at, at + n).tolist()
    group = np.repeat(np.arange(len(starts)), sizes)[cand].tolist()
    at, first = at.tolist(), first[cand].tolist()
    members, group_start, group_size = sp.tolist(), starts.tolist(), sizes.tolist()
    found: list[int] = []  # counted duplicates, ascending; each jumps over the n-1 positions after it
    after = bisect.bisect_right

    def jumped(p: int) -> bool:
        i = after(found, p) - 1
        return i >= 0 and p - found[i] < n and p != found[i]

    k, end = 0, len(at)
    while k < end:
        c = at[k]
        if found and jumped(first[k]):  # the first occurrence was jumped over: was any earlier one scanned?
            a = group_start[group[k]]
            earlier = takewhile(c.__gt__, members[a:a + group_size[group[k]]])  # members ascend
            if all(map(jumped, earlier)):
                k += 1
                continue
        found.append(c)
        k = jump[k]
    f = np.array(found, dtype=np.int64)
    np.add.at(total, w.page[f], w.cum[f + n] - w.cum[f])
    return total


def per_page(w: Words, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` (one per position) over each page's positions."""
    cs = np.concatenate([[0], np.cumsum(values)])
    return cs[w.starts[1:]] - cs[w.starts[:-1]]


def distinct_per_page(w: Words, words: frozenset[str], pages: np.ndarray) -> np.ndarray:
    """Per page: how many distinct ``words`` occur in it, counted only for ``pages`` (a mask)."""
    rows = [r for r in map(w.vocab.get, words) if r is not None]
    out = np.zeros(len(w.sizes), dtype=np.int64)
    if not rows:
        return out
    listed = np.zeros(len(w.vocab), dtype=bool)
    listed[rows] = True
    hit = np.flatnonzero(listed[w.rows] & pages[w.page])
    span = np.int64(len(w.vocab) + 1)
    pairs = np.unique(w.page[hit] * span + w.rows[hit])
    np.add.at(out, pairs // span, 1)
    return out
