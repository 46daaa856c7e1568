"""`lmsci inspect dropped`: stored drops read back per reason, prefix-matched by filter name."""
from __future__ import annotations

import polars as pl
import pytest

from lmsci import cli
from lmsci.report import inspect


@pytest.fixture
def results(tmp_path):
    def docs(reasons, shard):
        return pl.DataFrame({"id": [f"crawl/{shard}/{i:012d}" for i in range(len(reasons))],
                             "url": [f"https://x/{shard}/{i}" for i in range(len(reasons))],
                             "reason": reasons, "text": [f"text {r} {i}" for i, r in enumerate(reasons)],
                             "lang": ["en"] * len(reasons)})
    (tmp_path / "filter/crawl").mkdir(parents=True)
    (tmp_path / "dedup/crawl").mkdir(parents=True)
    docs(["langid/low_score", "gopher_quality/few_words", "langid/other_language"], "s1").write_parquet(
        tmp_path / "filter/crawl/s1.dropped.parquet")
    docs(["dedup_exact/duplicate"], "s0").write_parquet(tmp_path / "dedup/crawl/dropped.parquet")
    pl.DataFrame({"id": ["crawl/s1/000000000009"], "text": ["kept"]}).write_parquet(
        tmp_path / "filter/crawl/s1.parquet")  # kept documents are not drops
    return tmp_path


def test_counts_every_stored_drop_by_reason(results):
    assert inspect.reasons(results) == {"langid/low_score": 1, "langid/other_language": 1,
                                        "gopher_quality/few_words": 1, "dedup_exact/duplicate": 1}


def test_a_filter_name_selects_all_its_reasons_in_id_order(results):
    got = inspect.samples(results, "langid", 10)
    assert got["reason"].to_list() == ["langid/low_score", "langid/other_language"]
    assert got["id"].to_list() == sorted(got["id"].to_list())
    assert inspect.samples(results, "langid", 1).height == 1


def test_unknown_reason_names_the_known_ones(results):
    with pytest.raises(ValueError, match="known reasons: .*dedup_exact/duplicate"):
        inspect.samples(results, "c4", 3)


def test_cli_prints_samples(results, capsys):
    assert cli.main(["inspect", "dropped", "--reason", "gopher_quality/few_words", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    assert "crawl/s1/000000000001  gopher_quality/few_words" in out and "text gopher_quality/few_words 1" in out
