"""lmsci/curate/chain.py through ``lmsci curate WARC... --out DIR`` on two of the sample shards:
one decision row per WARC response record, the exact columns, reasons that agree with the
ledger, dup_of pointing at kept records, and kept text already redacted."""
from __future__ import annotations

import gzip
import json
from collections import Counter

import polars as pl
import pytest
from fastwarc.warc import ArchiveIterator, WarcRecordType

from lmsci import cli, config, ledger
from lmsci.curate import pii

SHARDS = ("data/sample/crawl/shard-00000.warc.gz", "data/sample/crawl/shard-00001.warc.gz")
COLUMNS = {"doc_id": pl.String, "record_id": pl.String, "url": pl.String, "kept": pl.Boolean, "reason": pl.String,
           "lang": pl.String, "lang_score": pl.Float64, "dup_of": pl.String, "text": pl.String}


@pytest.fixture(scope="module")
def run_dir(repo, tmp_path_factory):
    d = tmp_path_factory.mktemp("curate")
    rc = cli.main(["curate", *(str(repo / s) for s in SHARDS), "--out", str(d), "--config", str(repo / "config.yaml")])
    assert rc == 0
    return d


@pytest.fixture(scope="module")
def out(run_dir):
    return pl.read_parquet(run_dir / "decisions.parquet"), ledger.load(run_dir / "ledger.json")


def test_columns_are_exactly_the_documented_ones(out):
    decisions, _ = out
    assert dict(decisions.schema) == COLUMNS


def test_one_row_per_response_record(out, repo):
    decisions, _ = out
    ids = [r.record_id for s in SHARDS for r in ArchiveIterator(str(repo / s), record_types=WarcRecordType.response)]
    assert sorted(decisions["record_id"]) == sorted(ids)


def test_kept_rows_have_text_and_no_reason(out, repo):
    decisions, _ = out
    kept, dropped = decisions.filter("kept"), decisions.filter(~pl.col("kept"))
    assert kept.height > 0 and dropped.height > 0
    assert kept["reason"].null_count() == kept.height and kept["text"].null_count() == 0
    assert dropped["reason"].null_count() == 0 and dropped["text"].null_count() == dropped.height
    cfg = config.load(repo / "config.yaml")
    assert set(kept["lang"]) <= set(cfg.langid.languages)


def test_reasons_agree_with_the_ledger(out):
    decisions, led = out
    assert led["seen"] == decisions.height and led["kept"] == decisions["kept"].sum()
    assert led["dropped"] == dict(Counter(decisions["reason"].drop_nulls()))
    stages = [s["stage"] for s in led["extra"]["stages"]]
    assert stages == ["extract", "tag", "filter", "pii", "dedup_exact", "dedup_minhash"]
    for before, after in zip(led["extra"]["stages"], led["extra"]["stages"][1:]):
        assert before["kept"] == after["seen"]  # each stage saw what the previous one kept


def test_dup_of_points_at_a_kept_record(out):
    decisions, _ = out
    dups = decisions.filter(pl.col("dup_of").is_not_null())
    assert dups.height > 0  # the sample's en-US / en-GB pages are near-duplicates
    assert set(dups["reason"]) <= {"dedup_exact/duplicate", "dedup_minhash/near_duplicate"}
    kept_ids = set(decisions.filter("kept")["doc_id"])
    assert set(dups["dup_of"]) <= kept_ids  # dup_of names the kept row's doc_id
    assert decisions.filter(pl.col("reason").str.starts_with("dedup") & pl.col("dup_of").is_null()).height == 0


def test_kept_text_is_redacted(out, repo):
    decisions, led = out
    cfg = config.load(repo / "config.yaml")
    for text in decisions.filter("kept")["text"]:
        assert pii.redact(text, cfg.pii)[0] == text  # nothing left to replace
    assert all(isinstance(led["extra"][f"pii_{t}"], int) for t in cfg.pii.types)


def test_bad_warc_path_fails_in_one_line(tmp_path, capsys):
    rc = cli.main(["curate", str(tmp_path / "missing.warc.gz"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "missing.warc.gz" in err and len(err.strip().splitlines()) == 1


def test_quality_model_is_trained_from_the_positive_source_and_the_warcs(out, run_dir, repo):
    """config.yaml lists `quality` for the crawl: with no --quality-model one is trained into OUT/quality/."""
    decisions, led = out
    cfg = config.load(repo / "config.yaml")
    assert "quality" in cfg.sources["crawl"].filters
    meta = json.loads((run_dir / "quality" / "model.json").read_text())
    extracted = next(s for s in led["extra"]["stages"] if s["stage"] == "extract")["kept"]
    wiki = sum(1 for p in cfg.sources["wiki"].paths for _ in gzip.open(repo / p, "rt") if _.strip())
    assert (meta["pool"], meta["positives"], meta["negatives"]) == (extracted, wiki, wiki)
    quality_drops = decisions.filter(pl.col("reason").str.starts_with("quality/"))
    reason = {"threshold": "quality/low_score", "top_fraction": "quality/below_top_fraction"}[cfg.quality.mode]
    assert quality_drops.height > 0 and set(quality_drops["reason"]) == {reason}
    assert led["dropped"][quality_drops["reason"][0]] == quality_drops.height


def test_a_given_quality_model_gives_the_same_filter_decisions(out, run_dir, repo, tmp_path):
    """--quality-model reuses the artifact (nothing trained); per-document decisions match the first run's."""
    decisions, _ = out
    rc = cli.main(["curate", str(repo / SHARDS[0]), "--out", str(tmp_path), "--config", str(repo / "config.yaml"),
                   "--quality-model", str(run_dir / "quality" / "model.bin")])
    assert rc == 0 and not (tmp_path / "quality").exists()
    again = pl.read_parquet(tmp_path / "decisions.parquet")
    ids = {r.record_id for r in ArchiveIterator(str(repo / SHARDS[0]), record_types=WarcRecordType.response)}

    def filter_drops(df):  # the filter stage decides per document, before any cross-shard dedup
        df = df.filter(pl.col("record_id").is_in(list(ids)) & ~pl.col("reason").str.starts_with("dedup"))
        return sorted(zip(df["record_id"], df["reason"]))

    assert filter_drops(again) == filter_drops(decisions)
    assert any(r.startswith("quality/") for _, r in filter_drops(again))


def test_one_extraction_worker_serves_every_file(repo, monkeypatch):
    from lmsci.crawl.sandbox import Sandbox
    from lmsci.curate import chain

    starts = []
    start = Sandbox._start
    monkeypatch.setattr(Sandbox, "_start", lambda self: (starts.append(1), start(self)))
    cfg = config.load(repo / "config.yaml", root=repo)
    assert cfg.extract.timeout_s > 0
    extracted, _, ledgers, failed = chain._extract([repo / s for s in SHARDS], cfg, "crawl")
    assert len(extracted) == len(SHARDS) and not failed and all(led.kept for led in ledgers)
    assert len(starts) == 1
