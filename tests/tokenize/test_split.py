"""lmsci/tokenize/split.py: validation membership by a seeded hash of the document id."""
from __future__ import annotations

import json
import random

import polars as pl
import pytest

from lmsci.tokenize import heldout, split

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
def test_small_sources_get_both_splits_through_the_fallback(n, fraction):
    ids = [f"wiki/w/{i:012d}" for i in range(n)]
    a = split.assign(ids, 7, fraction, split.overrides(ids, 7, fraction))
    assert "valid" in a and "train" in a
    assert len(split.overrides(ids, 7, fraction)) <= 1  # either no valid or no train document by hash


def test_fallback_does_not_depend_on_sharding():
    """The global pass sees shards one at a time, in any order: same overrides as one pass over all ids."""
    ids = [f"wiki/w-{i % 4}/{i:012d}" for i in range(40)]
    whole = split.overrides(ids, 7, 1e-9)
    assert list(whole.values()) == ["valid"]  # no id hashes below 1e-9: the lowest-hash one is held out
    for n in (2, 4, 16):
        shards = [ids[k::n] for k in range(n)]
        random.Random(n).shuffle(shards)
        fb = split.Fallback(7, 1e-9)
        for shard in shards:
            fb.add(shard)
        assert fb.overrides() == whole
        # Each shard's assignment with the source's overrides is the whole source's, restricted.
        a = dict(zip(ids, split.assign(ids, 7, 1e-9, whole)))
        for shard in shards:
            assert split.assign(shard, 7, 1e-9, whole) == [a[i] for i in shard]
    assert split.overrides(ids, 7, 0.5) == {}  # enough documents: the hash rule alone


def test_single_and_empty():
    assert split.assign(["only"], 7, 1e-9, split.overrides(["only"], 7, 1e-9)) == ["valid"]
    assert split.overrides(["only"], 7, 1 - 1e-9) == {}  # one document: valid, nothing to train on
    assert split.assign([], 7, 0.5) == [] and split.overrides([], 7, 0.5) == {}


def test_unit_interval():
    u = [split.unit(3, i) for i in IDS[:500]]
    assert all(0.0 <= x < 1.0 for x in u) and len(set(u)) == 500


def test_held_out_is_the_valid_split():
    texts = [f"text of {i}" for i in IDS[:300]]
    a = split.assign(IDS[:300], 1234, 0.1)
    assert split.held_out(IDS[:300], texts, 1234, 0.1) == [t for t, s in zip(texts, a) if s == "valid"]
    assert split.held_out(["only"], ["x"], 7, 1e-9, {"only": "valid"}) == ["x"]
    assert split.held_out(["only"], ["x"], 7, 1e-9) == []


def test_global_pass_over_shard_files_and_a_source_without_documents(tmp_path):
    ids = [f"wiki/w-{i % 3}/{i:012d}" for i in range(9)]
    for k in range(3):
        pl.DataFrame({"id": ids[k::3], "source": ["wiki"] * 3}).write_parquet(tmp_path / f"wiki-{k}.parquet")
    pl.DataFrame(schema={"id": pl.String, "source": pl.String}).write_parquet(tmp_path / "code-0.parquet")
    table = heldout.fallback(sorted(tmp_path.glob("*.parquet")), 7, 1e-9)
    assert table == {"wiki": split.overrides(ids, 7, 1e-9)} and list(table["wiki"].values()) == ["valid"]
    (tmp_path / "split.json").write_text(json.dumps(table))
    assert heldout.load_overrides(tmp_path / "split.json", "code") == {}  # all of code was filtered out
    assert heldout.load_overrides(tmp_path / "split.json", "wiki") == table["wiki"]
