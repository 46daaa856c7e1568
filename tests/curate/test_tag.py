"""lmsci/curate/tag.py: every configured filter's attributes become columns; nothing is dropped."""
from __future__ import annotations

import polars as pl

from lmsci.crawl.documents import doc_id, frame
from lmsci.curate import gopher_quality, langid, tag

TEXTS = [
    "The river flows through the valley and feeds the farms that line its banks.",
    "Der Fluss fließt durch das Tal und versorgt die Höfe an seinen Ufern mit Wasser.",
    "",
]


def _df() -> pl.DataFrame:
    return frame([{"id": doc_id("s", "a", i), "source": "s", "shard": "a", "offset": i, "record_id": str(i),
                   "url": "", "text": t} for i, t in enumerate(TEXTS)])


def test_tag_adds_attributes_of_each_filter():
    df = _df()
    out, led = tag.tag(df, ["langid", "gopher_quality"], "s", "a")
    assert out.select(df.columns).equals(df)  # the documents themselves are untouched
    lang_cols = list(langid.measure("x"))
    gq_cols = ["gopher_" + k for k in gopher_quality.measure("x")]
    assert out.columns == df.columns + lang_cols + gq_cols
    for row, text in zip(out.iter_rows(named=True), TEXTS):
        assert {k: row[k] for k in lang_cols} == langid.measure(text)
        # each page is measured in the language langid found (its tokenizer and stop words)
        own = gopher_quality.measure(text, lang=row["lang"])
        assert {k: row["gopher_" + k] for k in own} == own
    assert out["lang"].to_list()[:2] == ["en", "de"]
    assert out["gopher_stop_words"].to_list()[:2] == [3, 4]  # the, and, that; die, das, und, mit


def test_tag_measures_with_the_configured_impl():
    from lmsci.config import GopherQualityConfig
    paper = GopherQualityConfig(impl="paper")
    out, _ = tag.tag(_df(), ["gopher_quality"], "s", "a", sections={"gopher_quality": paper})
    assert out["gopher_alpha_words_ratio"].to_list() == [gopher_quality.measure(t, paper)["alpha_words_ratio"] for t in TEXTS]
    assert out["gopher_alpha_words_ratio"].to_list() != tag.tag(_df(), ["gopher_quality"], "s", "a")[0]["gopher_alpha_words_ratio"].to_list()


def test_tag_stage_keeps_every_document_and_drops_none(tmp_path):
    from lmsci import stage
    led = stage.run(lambda d: tag.stage(d, ["gopher_quality"], "s", "a"), _df(), out=tmp_path / "o.parquet",
                    stats=tmp_path / "o.stats.json", dropped=tmp_path / "o.dropped.parquet")
    assert (led.seen, led.kept) == (3, 3)
    assert pl.read_parquet(tmp_path / "o.dropped.parquet").height == 0


def test_tag_drops_nothing_and_counts_everything():
    out, led = tag.tag(_df(), ["gopher_quality"], "s", "a")
    assert out.height == len(TEXTS)
    assert (led.stage, led.seen, led.kept, dict(led.dropped)) == ("tag", 3, 3, {})
    assert led.chars_in == led.chars_out == sum(map(len, TEXTS))
    assert not any(c.startswith("lang") for c in out.columns)


def test_no_filters_adds_no_columns():
    df = _df()
    out, led = tag.tag(df, [], "s", "a")
    assert out.equals(df) and led.kept == 3


def test_the_quality_filter_needs_a_trained_model(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="needs a trained model"):
        tag.tag(_df(), ["langid", "quality"], "s", "a")
    with pytest.raises(FileNotFoundError, match="train-quality"):
        tag.tag(_df(), ["quality"], "s", "a", tmp_path / "model.bin")


def test_c4_bad_words_are_measured_only_when_tag_gets_the_list(tmp_path):
    from lmsci.config import C4Config
    words = tmp_path / "bad-words.txt"
    words.write_text("valley\n")
    plain, _ = tag.tag(_df(), ["c4"], "s", "a")
    listed, _ = tag.tag(_df(), ["c4"], "s", "a", sections={"c4": C4Config(bad_words_file=str(words))})
    assert "c4_bad_words" not in plain.columns
    assert listed["c4_bad_words"].to_list() == [1, 0, 0]  # only the first text says "valley"
    assert listed.drop("c4_bad_words").equals(plain)
