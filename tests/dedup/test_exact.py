"""lmsci/dedup/exact.py: normalised-text exact dedup; the lowest document id wins, whatever the input split."""
from __future__ import annotations

import random

import polars as pl
import pytest

from lmsci import cli
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


# ---- the file-backed passes (hashes per shard → groups per hash range → keep-list per shard) ----

def test_hashes_sorted_and_partitioned_into_hash_ranges():
    rows = [{"id": f"s/a/{i:012d}", "text": f"document number {i % 50}"} for i in range(200)]
    h = exact.hashes(pl.DataFrame(rows), buckets=3)
    assert h.columns == ["bucket", "hash", "id"] and h.height == 200
    assert h.select("hash", "id").rows() == sorted(h.select("hash", "id").rows())
    assert h["bucket"].is_sorted() and set(h["bucket"]) == {0, 1, 2}  # ranges of the hash: sorted with it
    assert set(h["hash"].bin.size()) == {20}  # the full SHA-1 (collision bound in the module docstring)
    assert exact.hashes(pl.DataFrame(rows), 3, enabled=False).height == 0


def test_groups_lowest_id_per_hash_and_duplicate_ids_rejected():
    df = exact.hashes(frame(_rows(DOCS)), buckets=1)
    g = exact.groups([df])
    assert dict(zip(g["id"], g["dup_of"])) == {doc_id("s", "b", 10): doc_id("s", "a", 5),
                                               doc_id("s", "c", 1): doc_id("s", "a", 5),
                                               doc_id("s", "c", 2): doc_id("s", "a", 5),
                                               doc_id("s", "b", 11): doc_id("s", "a", 7)}
    with pytest.raises(ValueError, match="occurs twice"):
        exact.groups([df, df])


def test_file_reads_take_one_range_and_one_shards_ids(tmp_path):
    rows = [{"id": f"s/{sh}/{i:012d}", "text": f"text {i % 300}"} for sh in ("a", "b") for i in range(20_000)]
    h = exact.hashes(pl.DataFrame(rows), buckets=8)
    exact.write_sorted(tmp_path / "h.parquet", h)
    assert exact.read_bucket([tmp_path / "h.parquet"], 5).equals(h.filter(pl.col("bucket") == 5))
    g = exact.groups([h])
    exact.write_sorted(tmp_path / "g.parquet", g)
    ids = pl.Series([r["id"] for r in rows if r["id"].startswith("s/b/")])
    got = exact.read_for([tmp_path / "g.parquet"], ids, exact.GROUP_SCHEMA)
    assert got.equals(g.filter(pl.col("id").str.starts_with("s/b/")))
    assert exact.read_for([tmp_path / "g.parquet"], ids.clear(), exact.GROUP_SCHEMA).height == 0


def test_group_bucket_out_of_range_is_one_line_error(tmp_path, capsys):
    blob = '{"dedup": {"exact": true, "hash_buckets": 2}}'
    assert cli.main(["dedup-groups", "--cfg", blob, "--inputs", str(tmp_path / "x.parquet"), "--bucket", "2",
                     "--out", str(tmp_path / "g.parquet")]) == 1
    assert "dedup bucket 2 out of range: dedup.hash_buckets is 2" in capsys.readouterr().err
