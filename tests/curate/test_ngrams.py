"""lmsci/curate/ngrams.py: the shard-at-once n-gram counts equal datatrove 0.10.1's per-page code
(reproduced below from datatrove/pipeline/filters/gopher_repetition_filter.py) on random pages
built to repeat, including joins that only agree without spaces (("ab", "c") == ("a", "bc")) and
scans that jump over a first occurrence; a page's figures do not depend on the pages beside it."""
from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from lmsci.curate import ngrams

VOCAB = ["a", "b", "ab", "ba", "c", "bc", "abc", "x"]  # short, and joins of each other


def dt_top(words: list[str], n: int) -> int:
    grams = [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    gram, count = Counter(grams).most_common(1)[0]
    return len(gram) * count


def dt_dup(words: list[str], n: int) -> int:
    unique: set[str] = set()
    chars = idx = 0
    while idx < len(words) - n + 1:
        gram = "".join(words[idx:idx + n])
        if gram in unique:
            chars += len(gram)
            idx += n
        else:
            unique.add(gram)
            idx += 1
    return chars


def pages(seed: int, count: int) -> list[list[str]]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        base = [rng.choice(VOCAB) for _ in range(rng.randint(0, 40))]
        if base and rng.random() < 0.7:  # a repeated passage, sometimes overlapping itself
            i = rng.randrange(len(base))
            base[i:i] = base[max(0, i - rng.randint(1, 12)):i] * rng.randint(1, 3)
        out.append(base)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_counts_equal_datatrove_per_page(seed):
    ps = pages(seed, 60)
    w = ngrams.Words(ps)
    dup = ngrams.dup_chars(w, (5, 6, 7, 8, 9, 10))
    for n in (2, 3, 4):
        assert ngrams.top_chars(w, n).tolist() == [dt_top(p, n) for p in ps], n
    for n in (5, 6, 7, 8, 9, 10):
        assert dup[n].tolist() == [dt_dup(p, n) for p in ps], n


def test_joins_equal_without_spaces_count_as_duplicates():
    page = ["ab", "c", "x", "x", "x", "a", "bc", "x", "x", "x"]
    w = ngrams.Words([page])
    assert ngrams.dup_chars(w, (5,))[5].tolist() == [dt_dup(page, 5)] == [len("abcxxx")]
    assert ngrams.top_chars(w, 2).tolist() == [dt_top(page, 2)] == [len("x x") * 4]


def dup_remembering_jumps(words: list[str], n: int) -> int:
    """dt_dup, except that n-grams jumped over are remembered too (what datatrove does NOT do)."""
    grams = ["".join(words[i:i + n]) for i in range(len(words) - n + 1)]
    chars = idx = 0
    while idx < len(grams):
        if grams[idx] in grams[:idx]:
            chars += len(grams[idx])
            idx += n
        else:
            idx += 1
    return chars


def test_a_first_occurrence_jumped_over_is_not_remembered():
    # datatrove jumps n words after each duplicate; an n-gram first seen inside a jump is new later
    rng = random.Random(5)
    cases = [(p, n) for p in ([rng.choice("abc") for _ in range(30)] for _ in range(300)) for n in (2, 3)
             if dt_dup(p, n) != dup_remembering_jumps(p, n)]
    assert len(cases) > 20  # the case is common on a small alphabet
    w = ngrams.Words([p for p, _ in cases])
    dup = ngrams.dup_chars(w, (2, 3))
    assert [dup[n][i] for i, (_, n) in enumerate(cases)] == [dt_dup(p, n) for p, n in cases]


def test_a_page_is_counted_the_same_alone_or_in_any_shard():
    ps = pages(99, 40)
    together = ngrams.Words(ps)
    top = ngrams.top_chars(together, 3).tolist()
    dup = ngrams.dup_chars(together, (5, 7))
    rng = random.Random(1)
    order = list(range(len(ps)))
    rng.shuffle(order)
    shuffled = ngrams.Words([ps[i] for i in order])
    assert [ngrams.top_chars(shuffled, 3).tolist()[order.index(i)] for i in range(len(ps))] == top
    for i in (0, 7, 21):
        alone = ngrams.Words([ps[i]])
        assert ngrams.top_chars(alone, 3).tolist() == [top[i]]
        assert ngrams.dup_chars(alone, (5, 7))[7].tolist() == [dup[7][i]]


def test_keys_equal_only_in_their_high_bits_are_told_apart():
    # 4 positions: the sort keeps bit_length(4) = 3 low bits for the position, so 5 and 6 share
    # their high bits and are regrouped by their full values
    w = ngrams.Words([["p", "q", "r", "s", "t"]])
    sp, starts, sizes = ngrams._repeated(w, np.array([5, 6, 5, 6], dtype=np.uint64), 1)
    groups = sorted(sp[s:s + z].tolist() for s, z in zip(starts, sizes))
    assert groups == [[0, 2], [1, 3]]


def test_empty_pages_and_words():
    w = ngrams.Words([[], ["a"], []])
    assert ngrams.top_chars(w, 2).tolist() == [0, 0, 0]
    assert ngrams.dup_chars(w, (5,))[5].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="empty"):
        ngrams.Words([["a", ""]])
