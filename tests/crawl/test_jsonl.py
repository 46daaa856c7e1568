"""lmsci/crawl/jsonl.py: one object per line; bad lines are counted under error/, never lost."""
from __future__ import annotations

import gzip
import json

import pytest

from lmsci import stage
from lmsci.crawl import jsonl
from lmsci.crawl.warc import CorruptShard
from lmsci.crawl.documents import doc_id

GOOD = [{"id": "a1", "url": "https://x.org/a", "text": "First document — with ümlauts."},
        {"url": "https://x.org/b", "text": "Second document has no id."},
        {"id": 7, "text": "Third: numeric id, no url.\nSecond line."}]
LINES = [
    json.dumps(GOOD[0], ensure_ascii=False),
    "{not json",                                    # error/json
    json.dumps(GOOD[1]),
    json.dumps({"id": "m", "url": "u"}),            # error/no_text
    "",                                             # blank line: not a record
    json.dumps({"id": "e", "text": "   \n "}),      # extract/empty
    json.dumps({"id": "n", "text": 42}),            # error/no_text (not a string)
    json.dumps(GOOD[2]),
    json.dumps(["a", "list"]),                      # error/not_object
    '{"id": "s", "text": "lone \\ud800 surrogate"}',    # error/surrogate (no UTF-8 file can hold it)
    '{"text": ' + "[" * 100_000 + "]" * 100_000 + "}",  # error/too_deep (past the recursion limit)
    b'{"text": "latin-1 \xe9t\xe9"}'.decode("latin-1"),   # error/encoding (written as latin-1 bytes below)
]
EXPECTED_DROPS = {"error/json": 1, "error/no_text": 2, "error/not_object": 1, "extract/empty": 1,
                  "error/surrogate": 1, "error/too_deep": 1, "error/encoding": 1}


def _write(path, gz: bool):
    data = ("\n".join(LINES[:-1]) + "\n").encode("utf-8") + LINES[-1].encode("latin-1") + b"\n"
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return data


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_read_shard(tmp_path, gz):
    path = tmp_path / ("wiki-00003.jsonl.gz" if gz else "wiki-00003.jsonl")
    data = _write(path, gz)
    df, dropped, led = jsonl.read_shard("wiki", path)

    assert df["text"].to_list() == [g["text"] for g in GOOD]
    assert df["url"].to_list() == ["https://x.org/a", "https://x.org/b", ""]
    assert (led.seen, led.kept, dict(led.dropped)) == (11, 3, EXPECTED_DROPS)
    stage.check(led, df, dropped)  # one dropped row per damaged line, each at its own offset
    starts = [0]
    for line in data.split(b"\n")[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    lines = [o for o, ln in zip(starts, data.split(b"\n")) if ln.strip()]
    assert sorted(dropped["offset"].to_list() + df["offset"].to_list()) == lines
    assert set(dropped["file"]) == {str(path)} and dropped["text"].null_count() == 0
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
    a, da, la = jsonl.read_shard("src", tmp_path / "p" / "s.jsonl")
    b, db, lb = jsonl.read_shard("src", tmp_path / "g" / "s.jsonl.gz")
    assert a.equals(b) and da.drop("file").equals(db.drop("file"))
    assert la.to_dict() | {"bytes_in": 0} == lb.to_dict() | {"bytes_in": 0}


def _damaged_gz(path, how: str) -> bytes:
    """A two-member .jsonl.gz (GOOD[:2], then GOOD[2:]) damaged at the end of its second member."""
    first = gzip.compress((json.dumps(GOOD[0]) + "\n" + json.dumps(GOOD[1]) + "\n").encode(), mtime=0)
    second = bytearray(gzip.compress((json.dumps(GOOD[2]) + "\n").encode(), mtime=0))
    if how == "truncated":
        second = second[:-12]
    else:  # a flipped CRC byte: the data decompress, the check fails
        second[-8] ^= 0xFF
    path.write_bytes(first + bytes(second))
    # Lines are read as they decompress: a failed CRC (at the member's end) is noticed after its lines.
    return gzip.decompress(first) + (b"" if how == "truncated" else (json.dumps(GOOD[2]) + "\n").encode())


@pytest.mark.parametrize("how", ["truncated", "crc"])
def test_damaged_gzip_keeps_the_lines_before_and_counts_the_rest(tmp_path, how):
    path = tmp_path / "wiki-00001.jsonl.gz"
    before = _damaged_gz(path, how)
    df, dropped, led = jsonl.read_shard("wiki", path)
    kept = GOOD[:2] if how == "truncated" else GOOD
    assert df["text"].to_list() == [g["text"] for g in kept]
    assert dict(led.dropped) == {"error/truncated": 1} and led.seen == len(kept) + 1
    (damage,) = led.extra["damaged"]
    assert damage["file"] == str(path) and damage["offset"] == len(before) and "\n" not in damage["detail"]
    assert dropped["offset"].to_list() == [len(before)]
    with pytest.raises(CorruptShard) as e:
        jsonl.read_shard("wiki", path, on_corrupt="fail")
    assert str(path) in str(e.value) and f"byte {len(before)}" in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("content", [b"", b'{"text": "plain, not gzip"}\n'], ids=["empty", "not-gzip"])
def test_a_gz_name_without_gzip_data_is_one_error_line(tmp_path, content):
    path = tmp_path / "wiki-00002.jsonl.gz"
    path.write_bytes(content)
    with pytest.raises(CorruptShard) as e:
        jsonl.read_shard("wiki", path)
    assert str(path) in str(e.value) and "offset 0" in str(e.value) and "\n" not in str(e.value)
