"""The funnel per language, read back from the stages' kept shards."""
from __future__ import annotations

import polars as pl

from lmsci.io import write_parquet
from lmsci.report import languages


def _shard(results, stage, source, shard, langs):
    df = pl.DataFrame({"id": [f"{source}/{shard}/{i}" for i in range(len(langs))], "text": ["x"] * len(langs)})
    if langs and langs[0] is not None:
        df = df.with_columns(lang=pl.Series(langs, dtype=pl.String))
    write_parquet(results / stage / source / f"{shard}.parquet", df)


def test_counts_follow_each_language_through_the_stages(tmp_path):
    _shard(tmp_path, "tag", "crawl", "s0", ["en", "de", "de", "zh"])
    _shard(tmp_path, "tag", "crawl", "s1", ["zh", "zh"])
    _shard(tmp_path, "filter", "crawl", "s0", ["en", "de"])
    _shard(tmp_path, "filter", "crawl", "s1", ["zh"])
    # a dropped file and a source without language identification are not counted
    write_parquet(tmp_path / "filter/crawl/s0.dropped.parquet", pl.DataFrame({"id": ["a"], "lang": ["de"]}))
    _shard(tmp_path, "tag", "code", "c0", [None, None])
    rows = languages.table(tmp_path)
    assert [r["lang"] for r in rows] == ["zh", "de", "en"]
    assert rows[0]["counts"] == {"tag": 3, "filter": 1}
    assert rows[1]["counts"] == {"tag": 2, "filter": 1} and rows[1]["kept_share"] == 0.5
    assert rows[2]["kept_share"] == 1.0


def test_no_language_column_means_no_table(tmp_path):
    _shard(tmp_path, "tag", "code", "c0", [None])
    assert languages.table(tmp_path) == []
