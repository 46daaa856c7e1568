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


# A shard in three languages; config's crawl source lists langid first, English only.
MIXED = TEXTS[:2] + ["La rivière traverse la vallée et alimente les fermes qui bordent ses rives depuis des siècles.",
                     "The harbour town grew around its fishing fleet, and the old quay still stands today."]


def _mixed() -> pl.DataFrame:
    return frame([{"id": doc_id("s", "m", i), "source": "s", "shard": "m", "offset": i, "record_id": str(i),
                   "url": "", "text": t} for i, t in enumerate(MIXED)])


def test_pages_in_an_unlisted_language_are_measured_by_langid_alone(cfg):
    from lmsci.curate import filter as filt

    filters = ["langid", "gopher_quality", "gopher_repetition", "c4", "fineweb"]
    sections = tag.sections_of(cfg, filters)
    assert cfg.langid.languages == ["en"]
    out, led = tag.tag(_mixed(), filters, "s", "m", sections=sections)
    full, _ = tag.tag(_mixed(), filters, "s", "m", sections={k: v for k, v in sections.items() if k != "langid"})
    assert out["lang"].to_list() == ["en", "de", "fr", "en"] and led.seen == led.kept == 4
    measured = [c for c in out.columns if c not in _mixed().columns and not c.startswith("lang")]
    assert measured and out.columns == full.columns
    for c in measured:  # English pages measured as before; the others left null
        assert out[c].to_list() == [full[c][0], None, None, full[c][3]], c
    # the decisions are those of measuring everything: langid names the drop either way
    kept, dropped, _ = filt.apply(out, filters, cfg, "s", "m")
    kept_all, dropped_all, _ = filt.apply(full, filters, cfg, "s", "m")
    assert kept["id"].to_list() == kept_all["id"].to_list()
    assert dropped.select("id", "reason").equals(dropped_all.select("id", "reason"))
    assert dropped.filter(pl.col("lang") != "en")["reason"].to_list() == ["langid/other_language"] * 2


def test_langid_threshold_changes_never_need_a_new_measure(cfg):
    """A page below langid's threshold in a listed language is measured: lowering the threshold keeps it."""
    import dataclasses

    filters = ["langid", "gopher_quality"]
    strict = dataclasses.replace(cfg.langid, threshold=0.9999)
    out, _ = tag.tag(_mixed(), filters, "s", "m", sections={"langid": strict})
    assert out["gopher_n_words"].is_null().to_list() == [False, True, True, False]


def test_only_langid_first_limits_the_measured_pages(cfg):
    out, _ = tag.tag(_mixed(), ["gopher_quality", "langid"], "s", "m", sections=tag.sections_of(cfg, ["langid"]))
    assert out["gopher_n_words"].null_count() == 0


def test_a_shard_with_no_page_in_a_listed_language_gets_langid_columns_only(cfg):
    import dataclasses

    from lmsci.curate import filter as filt

    filters = ["langid", "gopher_quality", "c4"]
    sections = {"langid": dataclasses.replace(cfg.langid, languages=["ja"])}
    out, led = tag.tag(_mixed(), filters, "s", "m", sections=sections)
    assert [c for c in out.columns if c not in _mixed().columns] == ["lang", "lang_score"]
    cfg_ja = dataclasses.replace(cfg, langid=sections["langid"])
    kept, dropped, fled = filt.apply(out, filters, cfg_ja, "s", "m")
    assert kept.height == 0 and dropped["reason"].to_list() == ["langid/other_language"] * 4
    assert (led.seen, fled.seen) == (4, 4)
