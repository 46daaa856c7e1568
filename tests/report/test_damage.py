"""Damaged input read back from the extract ledgers for the report."""
from __future__ import annotations

from lmsci.io import write_json
from lmsci.report import damage


def test_entries_list_every_damaged_record_with_file_and_offset(tmp_path):
    base = {"stage": "extract", "seen": 3, "kept": 1, "dropped": {"extract/truncated": 2}}
    write_json(tmp_path / "extract/crawl/b.stats.json", {**base, "source": "crawl", "shard": "b", "extra": {
        "damaged": [{"file": "b.warc.gz", "offset": 900, "reason": "extract/truncated", "detail": "cut"},
                    {"file": "b.warc.gz", "offset": 12, "reason": "error/gzip", "detail": "crc"}]}})
    write_json(tmp_path / "extract/crawl/a.stats.json", {**base, "source": "crawl", "shard": "a", "extra": {}})
    got = damage.entries(tmp_path)
    assert [(d["file"], d["offset"], d["reason"]) for d in got] == [
        ("b.warc.gz", 12, "error/gzip"), ("b.warc.gz", 900, "extract/truncated")]


def test_no_damage_no_entries(tmp_path):
    write_json(tmp_path / "extract/wiki/w.stats.json", {"stage": "extract", "source": "wiki", "extra": {}})
    assert damage.entries(tmp_path) == []
