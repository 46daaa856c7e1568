"""lmsci/io.py: atomic writes (temp beside, rename on success) and deterministic JSON/parquet."""
from __future__ import annotations

import json

import polars as pl
import pytest

from lmsci import io


def test_atomic_path_renames_on_success(tmp_path):
    target = tmp_path / "deep" / "out.txt"
    with io.atomic_path(target) as tmp:
        assert tmp.parent == target.parent and tmp != target
        tmp.write_text("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert list(target.parent.iterdir()) == [target]


def test_atomic_path_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_write_json_is_canonical_and_unicode(tmp_path):
    io.write_json(tmp_path / "a.json", {"b": 1, "a": "Grüße"})
    io.write_json(tmp_path / "b.json", {"a": "Grüße", "b": 1})
    raw = (tmp_path / "a.json").read_bytes()
    assert raw == (tmp_path / "b.json").read_bytes()
    assert "Grüße".encode() in raw and raw.endswith(b"\n")
    assert io.read_json(tmp_path / "a.json") == {"a": "Grüße", "b": 1}
    assert list(json.loads(raw)) == ["a", "b"]


def test_write_parquet_round_trip_and_byte_identical(tmp_path):
    df = pl.DataFrame({"id": ["b", "a"], "n": [2, 1], "text": ["zwei", "eins"]})
    io.write_parquet(tmp_path / "x.parquet", df)
    io.write_parquet(tmp_path / "y.parquet", df)
    assert (tmp_path / "x.parquet").read_bytes() == (tmp_path / "y.parquet").read_bytes()
    assert pl.read_parquet(tmp_path / "x.parquet").equals(df)


def test_temp_files_of_a_killed_attempt_are_removed(tmp_path):
    stale = tmp_path / ".x.json.tmp4242"            # what SIGKILL inside atomic_path leaves behind
    stale.write_text("partial")
    io.write_json(tmp_path / "x.json", {"a": 1})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json"]
