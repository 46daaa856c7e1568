"""lmsci/crawl/jsonl.py: one object per line; bad lines are counted under error/, never lost."""
from __future__ import annotations

import gzip
import json

import pytest

from lmsci.crawl import jsonl
from lmsci.crawl.documents import doc_id

GOOD = [{"id": "a1", "url": "https://x.org/a", "text": "First document — with ümlauts."},
        {"url": "https://x.org/b", "text": "Second document has no id."},
        {"id": 7, "text": "Third: numeric id, no url.\nSecond line."}]
LINES = [
    json.dumps(GOOD[0], ensure_ascii=False),
    "{not json",                                    # error/JSONDecodeError
    json.dumps(GOOD[1]),
    json.dumps({"id": "m", "url": "u"}),            # error/KeyError (no text)
    "",                                             # blank line: not a record
    json.dumps({"id": "e", "text": "   \n "}),      # extract/empty
    json.dumps({"id": "n", "text": 42}),            # error/TypeError
    json.dumps(GOOD[2]),
    json.dumps(["a", "list"]),                      # error/TypeError (not an object)
]
EXPECTED_DROPS = {"error/JSONDecodeError": 1, "error/KeyError": 1, "error/TypeError": 2, "extract/empty": 1}


def _write(path, gz: bool):
    data = ("\n".join(LINES) + "\n").encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return data


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_read_shard(tmp_path, gz):
    path = tmp_path / ("wiki-00003.jsonl.gz" if gz else "wiki-00003.jsonl")
    data = _write(path, gz)
    df, led = jsonl.read_shard("wiki", path)

    assert df["text"].to_list() == [g["text"] for g in GOOD]
    assert df["url"].to_list() == ["https://x.org/a", "https://x.org/b", ""]
    assert (led.seen, led.kept, dict(led.dropped)) == (8, 3, EXPECTED_DROPS)
    led.check()
    assert led.bytes_in == path.stat().st_size
    for row in df.iter_rows(named=True):
        # The offset points at the line in the uncompressed file, and the id is derived from it.
        line = data[row["offset"]:].split(b"\n", 1)[0]
        assert json.loads(line)["text"] == row["text"]
        assert row["id"] == doc_id("wiki", "wiki-00003", row["offset"])
        assert (row["source"], row["shard"]) == ("wiki", "wiki-00003")
    # The object's id when present, else the line offset.
    offset_b = data.index(LINES[2].encode())
    assert df["record_id"].to_list() == ["a1", str(offset_b), "7"]


def test_gz_and_plain_read_the_same(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "g").mkdir()
    _write(tmp_path / "p" / "s.jsonl", False)
    _write(tmp_path / "g" / "s.jsonl.gz", True)
    a, la = jsonl.read_shard("src", tmp_path / "p" / "s.jsonl")
    b, lb = jsonl.read_shard("src", tmp_path / "g" / "s.jsonl.gz")
    assert a.equals(b)
    assert la.to_dict() | {"bytes_in": 0} == lb.to_dict() | {"bytes_in": 0}
