"""lmsci/crawl/warc.py: framing that survives damage — every readable record comes back whole, each
damaged one as one named drop at its own byte offset, and two records are never merged (issue 10)."""
from __future__ import annotations

import dataclasses
import gzip

import pytest
from fastwarc.warc import ArchiveIterator

from lmsci import stage
from lmsci.config import ExtractConfig
from lmsci.crawl import extract, warc

CFG = ExtractConfig(timeout_s=0)
DAMAGED = ("overrun", "overrun-plain", "big-header", "cut-tail", "bad-crc", "same-record-id")


def _frames(path):
    with open(path, "rb") as f:
        return list(warc.frames(f, path.name.endswith(".gz"), 1 << 20))


@pytest.mark.parametrize("name", DAMAGED)
def test_each_record_is_one_frame_at_its_offset(damaged, name):
    path, offsets, damage = damaged[name]
    frames = _frames(path)
    assert [fr.offset for fr in frames] == offsets
    for i, fr in enumerate(frames):
        file_damage = damage.get(i) if damage.get(i, "").startswith(("extract/truncated", "error/gzip")) else None
        assert fr.damage == file_damage, (i, fr.detail)


@pytest.mark.parametrize("name", DAMAGED)
def test_readable_records_kept_damaged_one_dropped_with_its_reason(damaged, name):
    path, offsets, damage = damaged[name]
    kept, dropped, led = extract.extract_shard("crawl", path, CFG)
    stage.check(led, kept, dropped)
    assert dict(zip(dropped["offset"], dropped["reason"])) == {offsets[i]: r for i, r in damage.items()}
    assert sorted(kept["offset"]) == [o for i, o in enumerate(offsets) if i not in damage]
    clean, _, _ = extract.extract_shard("crawl", damaged["clean"][0], CFG)
    reference = dict(zip(clean["url"], clean["text"]))
    for url, text in zip(kept["url"], kept["text"]):  # each kept page whole, nothing of a neighbour in it
        assert text == reference.get(url, text) and text.count("Page ") == 1
    assert set(dropped["file"]) <= {str(path)}
    listed = {(d["offset"], d["reason"]) for d in led.extra.get("damaged", [])}
    assert listed == {(offsets[i], r) for i, r in damage.items() if not r.startswith("error/http")}


@pytest.mark.parametrize("name", ["overrun", "overrun-plain", "cut-tail", "bad-crc"])
def test_on_corrupt_fail_stops_with_one_line_naming_file_and_offset(damaged, name):
    path, offsets, damage = damaged[name]
    with pytest.raises(extract.CorruptShard) as e:
        extract.extract_shard("crawl", path, dataclasses.replace(CFG, on_corrupt="fail"))
    (i,) = damage
    msg = str(e.value)
    assert str(path) in msg and f"byte offset {offsets[i]}" in msg and "\n" not in msg


def test_same_record_id_twice_gives_two_documents_with_distinct_ids(damaged):
    path, offsets, _ = damaged["same-record-id"]
    kept, _, _ = extract.extract_shard("crawl", path, CFG)
    assert kept["record_id"].n_unique() == 1 and kept["id"].n_unique() == 2


@pytest.mark.parametrize("content, what", [(b"", "an empty file"), (b"WARC/1.1\r\n", "not gzip data")])
def test_a_gz_name_without_gzip_data_is_one_error_line(tmp_path, content, what):
    path = tmp_path / "shard-00009.warc.gz"
    path.write_bytes(content)
    with pytest.raises(extract.CorruptShard) as e:
        extract.extract_shard("crawl", path, CFG)
    assert str(e.value).startswith(f"{path}: {what} at byte offset 0")


def test_several_records_in_one_gzip_member_fail_in_one_line(tmp_path, damaged):
    """They cannot each have their own byte offset, so the document ids would collide."""
    one = tmp_path / "one-member.warc.gz"
    one.write_bytes(gzip.compress(gzip.decompress(damaged["same-record-id"][0].read_bytes())))
    with pytest.raises(extract.CorruptShard) as e:
        extract.extract_shard("crawl", one, CFG)
    assert str(e.value).startswith(f"{one}: gzip member at byte offset 0 holds several WARC records")


def test_offsets_match_fastwarc_on_the_sample_crawl(repo):
    """Document ids (source, shard, offset) are what they were when fastwarc framed the records."""
    path = repo / "data/sample/crawl/shard-00000.warc.gz"
    assert [fr.offset for fr in _frames(path)] == [r.stream_pos for r in ArchiveIterator(str(path))]


def test_record_at_reads_the_record_extract_kept(damaged):
    path, offsets, _ = damaged["overrun-plain"]
    kept, _, _ = extract.extract_shard("crawl", path, CFG)
    again = extract.record_at(path, offsets[2], CFG)
    assert again["text"] == kept.filter(kept["offset"] == offsets[2])["text"][0]
    with pytest.raises(extract.CorruptShard, match=f"offset {offsets[1]}"):
        extract.record_at(path, offsets[1], CFG)  # the damaged one


@pytest.mark.parametrize("gz", [True, False], ids=["gz", "plain"])
def test_random_damage_is_counted_never_a_traceback(damaged, tmp_path, gz):
    """40 seeded cuts and byte flips of a clean file: each gives a ledger that adds up (or one
    CorruptShard line), and in a .gz every kept page is exactly its undamaged text."""
    import random
    clean_path = damaged["clean"][0]
    clean, _, _ = extract.extract_shard("crawl", clean_path, CFG)
    reference = dict(zip(clean["url"], clean["text"]))
    data = clean_path.read_bytes() if gz else gzip.decompress(clean_path.read_bytes())
    rng = random.Random(10)
    for k in range(40):
        bad = bytearray(data)
        if k % 2:
            del bad[rng.randrange(1, len(bad)):]
        else:
            for _ in range(rng.randint(1, 3)):
                bad[rng.randrange(len(bad))] ^= 1 << rng.randrange(8)
        path = tmp_path / f"r{k}.warc{'.gz' if gz else ''}"
        path.write_bytes(bytes(bad))
        try:
            kept, dropped, led = extract.extract_shard("crawl", path, CFG)
        except extract.CorruptShard as e:
            assert str(e).startswith(str(path)) and "\n" not in str(e)
            continue
        stage.check(led, kept, dropped)
        assert kept["id"].n_unique() == kept.height
        if gz:
            assert all(reference.get(u) == t for u, t in zip(kept["url"], kept["text"]))
