"""lmsci/tokenize/split.py: validation membership by a seeded hash of the document id."""
from __future__ import annotations

import random

import pytest

from lmsci.tokenize import split

IDS = [f"crawl/shard-{i % 7:05d}/{i * 1013:012d}" for i in range(4000)]


def test_assign_is_deterministic_and_order_independent():
    a = split.assign(IDS, 1234, 0.1)
    assert a == split.assign(IDS, 1234, 0.1)
    shuffled = IDS[:]
    random.Random(0).shuffle(shuffled)
    assert dict(zip(shuffled, split.assign(shuffled, 1234, 0.1))) == dict(zip(IDS, a))
    # A subset (fewer shards) assigns its members the same way.
    sub = IDS[::3]
    assert split.assign(sub, 1234, 0.1) == a[::3]


def test_fraction_and_seed():
    a = split.assign(IDS, 1234, 0.1)
    n_valid = a.count("valid")
    assert abs(n_valid - 400) < 5 * (4000 * 0.1 * 0.9) ** 0.5  # binomial, 5 sigma
    assert set(a) == {"train", "valid"}
    assert split.assign(IDS, 99, 0.1) != a


@pytest.mark.parametrize("n", [2, 3, 5])
@pytest.mark.parametrize("fraction", [1e-9, 0.5, 1 - 1e-9])
def test_small_sources_get_both_splits(n, fraction):
    ids = [f"wiki/w/{i:012d}" for i in range(n)]
    a = split.assign(ids, 7, fraction)
    assert "valid" in a and "train" in a


def test_single_and_empty():
    assert split.assign(["only"], 7, 1e-9) == ["valid"]
    assert split.assign([], 7, 0.5) == []


def test_unit_interval():
    u = [split.unit(3, i) for i in IDS[:500]]
    assert all(0.0 <= x < 1.0 for x in u) and len(set(u)) == 500


def test_held_out_is_the_valid_split():
    texts = [f"text of {i}" for i in IDS[:300]]
    a = split.assign(IDS[:300], 1234, 0.1)
    assert split.held_out(IDS[:300], texts, 1234, 0.1) == [t for t, s in zip(texts, a) if s == "valid"]
    assert split.held_out(["only"], ["x"], 7, 1e-9) == ["x"]  # a one-document source is all held out
