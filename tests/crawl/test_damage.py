"""Issue 10's damage test: one ``lmsci curate`` call on good and damaged WARCs (each damage the issue
names) — every readable record is in decisions.parquet, each damaged one has its reason, the files
that cannot be read are one error line each, and the ledger adds up."""
from __future__ import annotations

import contextlib
import io
from collections import Counter

import polars as pl
import pytest
import yaml

from lmsci import cli, config, ledger
from lmsci.crawl.documents import doc_id, shard_name

FILES = ("clean", "overrun", "overrun-plain", "big-header", "cut-tail", "bad-crc", "same-record-id")


@pytest.fixture(scope="module")
def run(damaged, repo, tmp_path_factory):
    """One ``lmsci curate`` call on all of them: (exit status, stderr lines, decisions, ledger, bad files)."""
    tmp_path = tmp_path_factory.mktemp("curate-damaged")
    cfg = config.read_yaml(repo / "config.yaml")
    cfg["sources"]["crawl"]["filters"] = ["langid"]  # no trained quality model needed for this test
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    empty, not_gz = tmp_path / "empty-00001.warc.gz", tmp_path / "plain-00002.warc.gz"
    empty.write_bytes(b"")
    not_gz.write_bytes(b"WARC/1.1\r\nplain bytes under a .gz name\r\n")
    paths = [str(damaged[n][0]) for n in FILES]
    out, err = tmp_path / "out", io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli.main(["curate", paths[0], str(empty), *paths[1:], str(not_gz), "--out", str(out),
                       "--config", str(tmp_path / "cfg.yaml")])
    return (rc, err.getvalue().strip().splitlines(), pl.read_parquet(out / "decisions.parquet"),
            ledger.load(out / "ledger.json"), (empty, not_gz))


def test_every_readable_record_is_decided_and_each_damaged_one_named(run, damaged):
    rc, err, decisions, led, bad = run
    assert decisions["doc_id"].n_unique() == decisions.height
    reasons = dict(zip(decisions["doc_id"], decisions["reason"]))
    for name in FILES:
        path, offsets, damage = damaged[name]
        ids = [doc_id("crawl", shard_name(path), o) for o in offsets]
        assert set(ids) <= set(reasons)  # every record of the file, readable or not, has its row
        for i, reason in damage.items():
            assert reasons[ids[i]] == reason
        readable = [d for i, d in enumerate(ids) if i not in damage]
        assert all(reasons[d] is None or not reasons[d].startswith(("extract/", "error/")) for d in readable)
    assert decisions.height == sum(len(damaged[n][1]) for n in FILES)


def test_unreadable_files_are_one_error_line_each_and_the_rest_is_curated(run):
    rc, err, decisions, led, (empty, not_gz) = run
    errors = [line for line in err if "error:" in line]
    assert rc == 1 and len(errors) == 2
    assert str(empty) in errors[0] and "an empty file" in errors[0]
    assert str(not_gz) in errors[1] and "not gzip data" in errors[1]
    assert [f["file"] for f in led["extra"]["failed_files"]] == [str(empty), str(not_gz)]
    assert decisions.filter("kept").height > 0


def test_the_ledger_adds_up_and_lists_each_damage_with_file_and_offset(run, damaged):
    rc, err, decisions, led, _ = run
    assert led["seen"] == decisions.height and led["kept"] == decisions["kept"].sum()
    assert led["dropped"] == dict(Counter(decisions["reason"].drop_nulls()))
    listed = {(d["file"], d["offset"], d["reason"]) for d in led["extra"]["damaged"]}
    expected = {(str(p), offs[i], r) for p, offs, dmg in damaged.values() for i, r in dmg.items()
                if not r.startswith("error/http")}
    assert listed == expected
    warnings = sorted(line for line in err if "warning:" in line)
    assert warnings == sorted(f"lmsci curate: warning: {d['file']}: {d['reason']} at byte offset {d['offset']}: "
                              f"{d['detail']}" for d in led["extra"]["damaged"])


def test_dup_of_names_a_unique_doc_id_when_record_ids_repeat(run, damaged):
    _, _, decisions, _, _ = run
    path, offsets, _ = damaged["same-record-id"]
    a, b = (doc_id("crawl", shard_name(path), o) for o in offsets)
    twins = decisions.filter(pl.col("doc_id").is_in([a, b])).sort("doc_id")
    assert twins["record_id"].n_unique() == 1  # the WARC-Record-ID alone cannot tell them apart
    assert twins["kept"].to_list() == [True, False] and twins["dup_of"].to_list() == [None, a]


def test_two_files_with_one_shard_name_do_not_share_document_ids(damaged, tmp_path, repo, capsys):
    """The second is refused with one line naming both; the first is curated."""
    first = damaged["clean"][0]
    (tmp_path / "again").mkdir()
    second = tmp_path / "again" / first.name
    second.write_bytes(first.read_bytes())
    cfg = config.read_yaml(repo / "config.yaml")
    cfg["sources"]["crawl"]["filters"] = ["langid"]
    (tmp_path / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    rc = cli.main(["curate", str(first), str(second), "--out", str(tmp_path / "o"),
                   "--config", str(tmp_path / "cfg.yaml")])
    errors = [ln for ln in capsys.readouterr().err.splitlines() if "error:" in ln]
    assert rc == 1 and len(errors) == 1 and str(second) in errors[0] and str(first) in errors[0]
    decisions = pl.read_parquet(tmp_path / "o" / "decisions.parquet")
    assert decisions.height == len(damaged["clean"][1]) and decisions["doc_id"].n_unique() == decisions.height
