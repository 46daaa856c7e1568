"""lmsci/dedup/exact.py: normalised-text exact dedup; the lowest document id wins, whatever the input split."""
from __future__ import annotations

import random

import polars as pl
import pytest

from lmsci.crawl.documents import doc_id, frame
from lmsci.dedup import exact

ORIGINAL = "The river flows through the valley.\nIt feeds the farms that line its banks."
OTHER = "A completely different document about railway bridges."
# (shard, offset, text): ids sort by shard then offset, so ("a", 5) is the lowest id of its group
DOCS = [
    ("b", 10, ORIGINAL),                                                        # exact copy of a/5
    ("a", 5, ORIGINAL),                                                         # the original (lowest id)
    ("c", 1, "  the RIVER flows through the valley. it feeds\tthe farms that line its banks.  "),  # case/space
    ("a", 7, OTHER),
    ("c", 2, "ＴＨＥ river flows through the valley. It feeds the farms that line its banks."),  # NFKC width
    ("b", 11, OTHER.upper()),                                                   # copy of a/7
    ("b", 12, "The river flows through the valley. It feeds the farms."),           # not a copy
]


def _rows(docs):
    return [{"id": doc_id("s", sh, off), "source": "s", "shard": sh, "offset": off, "record_id": f"{sh}{off}",
             "url": "", "text": t} for sh, off, t in docs]


def test_copies_dropped_pointing_at_lowest_id():
    kept, dropped, led = exact.dedup([frame(_rows(DOCS))], "s")
    assert kept["id"].to_list() == [doc_id("s", "a", 5), doc_id("s", "a", 7), doc_id("s", "b", 12)]
    dup_of = dict(zip(dropped["id"], dropped["dup_of"]))
    assert dup_of == {doc_id("s", "b", 10): doc_id("s", "a", 5), doc_id("s", "c", 1): doc_id("s", "a", 5),
                      doc_id("s", "c", 2): doc_id("s", "a", 5), doc_id("s", "b", 11): doc_id("s", "a", 7)}
    assert set(dropped["reason"]) == {"dedup_exact/duplicate"}
    assert (led.stage, led.shard, led.seen, led.kept) == ("dedup_exact", "all", len(DOCS), 3)
    assert dict(led.dropped) == {"dedup_exact/duplicate": 4}
    assert "dup_of" not in kept.columns


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_result_independent_of_frame_split_and_order(seed):
    one = exact.dedup([frame(_rows(DOCS))], "s")
    rows = _rows(DOCS)
    random.Random(seed).shuffle(rows)
    # Three frames, each unsorted: as shards arrive from different workers.
    three = exact.dedup([pl.DataFrame(rows[i::3], schema=frame([]).schema) for i in range(3)], "s")
    assert one[0].equals(three[0]) and one[1].equals(three[1])
    assert one[2].to_dict() == three[2].to_dict()


def test_frames_with_extra_attribute_columns_concatenate():
    a = frame(_rows(DOCS[:3])).with_columns(pl.lit(1.0).alias("lang_score"))
    b = frame(_rows(DOCS[3:]))
    kept, dropped, _ = exact.dedup([a, b], "s")
    assert kept.height + dropped.height == len(DOCS) and "lang_score" in kept.columns


def test_disabled_keeps_everything():
    kept, dropped, led = exact.dedup([frame(_rows(DOCS))], "s", enabled=False)
    assert kept.height == len(DOCS) and dropped.height == 0
    assert (led.seen, led.kept, dict(led.dropped)) == (len(DOCS), len(DOCS), {})


def test_normalise_and_hash():
    assert exact.normalise("  Ａb\tC\n\nd ") == "ab c d"
    assert exact.text_hash("Hello   World") == exact.text_hash("hello world\n")
    assert exact.text_hash("hello world") != exact.text_hash("hello, world")
