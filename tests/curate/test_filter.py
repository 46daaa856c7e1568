"""lmsci/curate/filter.py: decisions on stored attributes; the first failing filter names the reason."""
from __future__ import annotations

import polars as pl
import pytest

from lmsci import config
from lmsci.crawl.documents import doc_id, frame
from lmsci.curate import filter as filt
from lmsci.curate import gopher_quality, langid, tag

EN_LONG = (
    "The river flows through the valley and feeds the farms that line its banks. In spring the water "
    "rises with melting snow from the mountains, and farmers open the gates of their canals to flood "
    "the fields. Over the centuries people have built towns along the river, trading grain, timber and "
    "wool with the cities downstream. Today the valley is known for its orchards, its old stone bridges "
    "and a railway line that follows the water to the coast."
)
EN_SHORT = "The river flows through the valley and feeds the farms that line its banks."
DE_SHORT = "Der Fluss fließt durch das Tal und versorgt die Höfe an seinen Ufern mit Wasser."
TEXTS = {"en_long": EN_LONG, "en_short": EN_SHORT, "de_short": DE_SHORT}
FILTERS = ["langid", "gopher_quality"]


@pytest.fixture(scope="module")
def tagged() -> pl.DataFrame:
    df = frame([{"id": doc_id("s", "a", i), "source": "s", "shard": "a", "offset": i, "record_id": name,
                 "url": "", "text": t} for i, (name, t) in enumerate(TEXTS.items())])
    return tag.tag(df, FILTERS, "s", "a")[0]


def _outcomes(dropped: pl.DataFrame) -> dict[str, str]:
    return dict(zip(dropped["record_id"], dropped["reason"]))


def test_apply(tagged, cfg):
    kept, dropped, led = filt.apply(tagged, FILTERS, cfg, "s", "a")
    assert kept["record_id"].to_list() == ["en_long"]
    # German and short: langid is listed first, so it names the reason.
    assert _outcomes(dropped) == {"en_short": "gopher_quality/few_words", "de_short": "langid/other_language"}
    assert kept.columns == tagged.columns and dropped.columns == tagged.columns + ["reason"]
    assert (led.stage, led.seen, led.kept) == ("filter", 3, 1)
    assert dict(led.dropped) == {"gopher_quality/few_words": 1, "langid/other_language": 1}
    assert led.chars_dropped["langid/other_language"] == len(DE_SHORT)


def test_filter_order_decides_the_reason(tagged, cfg):
    _, dropped, _ = filt.apply(tagged, ["gopher_quality", "langid"], cfg, "s", "a")
    assert _outcomes(dropped)["de_short"] == "gopher_quality/few_words"


def test_no_filters_keeps_everything(tagged, cfg):
    kept, dropped, led = filt.apply(tagged, [], cfg, "s", "a")
    assert kept.height == 3 and dropped.height == 0 and led.kept == 3


def test_rethresholding_does_not_measure_again(tagged, base_dict, monkeypatch):
    def boom(text):
        raise AssertionError("decide must not re-measure")

    monkeypatch.setattr(langid, "measure", boom)
    monkeypatch.setattr(gopher_quality, "measure", boom)
    base_dict["langid"]["languages"] = ["en", "de"]
    base_dict["gopher_quality"]["min_doc_words"] = 5
    base_dict["gopher_quality"]["min_stop_words"] = 0  # German has none of the English stop words
    kept, dropped, _ = filt.apply(tagged, FILTERS, config.from_dict(base_dict), "s", "a")
    assert sorted(kept["record_id"]) == ["de_short", "en_long", "en_short"] and dropped.height == 0
    base_dict["gopher_quality"]["min_doc_words"] = 1000
    kept, dropped, _ = filt.apply(tagged, FILTERS, config.from_dict(base_dict), "s", "a")
    assert kept.height == 0
    assert set(_outcomes(dropped).values()) == {"gopher_quality/few_words"}


def test_decide_row_strips_the_attribute_prefix(cfg):
    row = {"lang": "en", "lang_score": 0.99, **{"gopher_" + k: v for k, v in gopher_quality.measure(EN_LONG).items()}}
    assert filt.decide_row(row, FILTERS, cfg) is None
    assert filt.decide_row({**row, "lang_score": 0.1}, FILTERS, cfg) == "langid/low_score"
    assert filt.decide_row({**row, "gopher_n_words": 3.0}, FILTERS, cfg) == "gopher_quality/few_words"


def test_quality_decisions_read_the_stored_score_and_rank(cfg):
    import dataclasses

    row = {"quality_score": 0.2, "quality_top": 0.3}
    threshold = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, mode="threshold", threshold=0.25))
    assert filt.decide_row(row, ["quality"], threshold) == "quality/low_score"
    assert filt.decide_row({**row, "quality_score": 0.25}, ["quality"], threshold) is None
    top = dataclasses.replace(cfg, quality=dataclasses.replace(cfg.quality, mode="top_fraction", top_fraction=0.3))
    assert filt.decide_row(row, ["quality"], top) == "quality/below_top_fraction"
    assert filt.decide_row({**row, "quality_top": 0.29}, ["quality"], top) is None
