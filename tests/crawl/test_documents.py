"""lmsci/crawl/documents.py: shard names, lineage-carrying document ids, the document frame."""
from __future__ import annotations

import polars as pl
import pytest

from lmsci.crawl import documents


@pytest.mark.parametrize("path, shard", [
    ("data/x/shard-00001.warc.gz", "shard-00001"), ("shard-7.warc", "shard-7"),
    ("a/b/wiki-00000.jsonl.gz", "wiki-00000"), ("code.jsonl", "code"), ("other.txt", "other"),
])
def test_shard_name(path, shard):
    assert documents.shard_name(path) == shard


def test_doc_id_names_origin_and_sorts_in_offset_order():
    offsets = [0, 9, 10, 1234, 99_999, 10**11]
    ids = [documents.doc_id("crawl", "shard-00000", o) for o in offsets]
    assert sorted(ids) == ids
    for o, i in zip(offsets, ids):
        source, shard, off = i.split("/")
        assert (source, shard, int(off)) == ("crawl", "shard-00000", o)
    assert len({i for i in ids}) == len(ids)


def test_frame_sorts_by_id_and_has_schema():
    rows = [{"id": documents.doc_id("s", "a", o), "source": "s", "shard": "a", "offset": o,
             "record_id": str(o), "url": "", "text": "t"} for o in (500, 3, 40)]
    df = documents.frame(rows)
    assert df.schema == pl.Schema(documents.SCHEMA)
    assert df["offset"].to_list() == [3, 40, 500]
    empty = documents.frame([])
    assert empty.height == 0 and empty.schema == pl.Schema(documents.SCHEMA)
