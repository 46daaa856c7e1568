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


# ---------------------------------------------------------------- multilingual (configs/multilingual.yaml)

ZH = ("长江是中国最长的河流，全长约六千三百公里，流经十一个省、自治区和直辖市。它发源于青藏高原的唐古拉山脉，最后在上海附近注入东海。\n"
      "几千年来，长江流域一直是中国人口最稠密、经济最发达的地区之一。沿岸分布着重庆、武汉、南京和上海等重要城市，水运交通十分繁忙。\n"
      "长江的水资源非常丰富，为农业灌溉、工业生产和居民生活提供了大量用水。三峡工程建成以后，这里也成为世界上最大的水力发电基地。\n"
      "由于过去的过度开发，长江的生态环境曾经受到严重破坏，许多珍稀鱼类的数量明显减少。近年来，政府实施了十年禁渔计划，努力保护河流的生物多样性。\n"
      "对于很多中国人来说，长江不仅是一条河流，也是民族文化的重要象征。古代诗人留下了许多描写长江的诗句，至今仍然被人们广泛传诵。\n")
JA = ("富士山は静岡県と山梨県にまたがる活火山で、標高は三千七百七十六メートルです。日本で最も高い山として古くから多くの人々に親しまれてきました。\n"
      "山頂付近は一年の大半が雪に覆われており、その美しい姿は多くの絵画や写真の題材になっています。特に葛飾北斎の浮世絵は世界的にも有名です。\n"
      "毎年七月から九月の登山シーズンには、国内外から二十万人以上の登山者が訪れます。多くの人は山小屋で一泊し、山頂で日の出を見ることを楽しみにしています。\n"
      "二〇一三年には、富士山は信仰の対象と芸術の源泉として世界文化遺産に登録されました。その一方で、ごみの問題や登山道の混雑などの課題も指摘されています。\n"
      "地元の自治体は入山料の導入や登山者数の管理など、環境を守るためのさまざまな取り組みを進めています。\n")
TH = ("กรุงเทพมหานครเป็นเมืองหลวงและเมืองที่มีประชากรมากที่สุดของประเทศไทย ตั้งอยู่บนฝั่งแม่น้ำเจ้าพระยาใกล้กับอ่าวไทย\n"
      "เมืองนี้เป็นศูนย์กลางทางการเมือง เศรษฐกิจ และวัฒนธรรมของประเทศ มีวัดวาอารามและพระราชวังที่สวยงามจำนวนมาก\n"
      "นักท่องเที่ยวจากทั่วโลกเดินทางมาเยี่ยมชมวัดพระแก้วและพระบรมมหาราชวังในทุกปี นอกจากนี้ยังมีตลาดน้ำและอาหารริมทางที่มีชื่อเสียง\n"
      "ในช่วงฤดูฝน ถนนหลายสายมักมีน้ำท่วมขังเพราะระบบระบายน้ำไม่เพียงพอ รัฐบาลจึงลงทุนสร้างอุโมงค์ระบายน้ำขนาดใหญ่หลายแห่ง\n"
      "ระบบขนส่งมวลชนอย่างรถไฟฟ้าบีทีเอสและรถไฟฟ้าใต้ดินช่วยลดปัญหาการจราจรที่ติดขัดได้เป็นอย่างมาก\n")
KO = ("서울은 대한민국의 수도이자 가장 큰 도시로, 약 천만 명의 인구가 살고 있습니다. 한강이 도시의 중심을 가로지르며 흐르고 있습니다.\n"
      "조선 시대부터 육백 년 넘게 나라의 수도였기 때문에 경복궁과 창덕궁 같은 역사적인 건축물이 많이 남아 있습니다.\n"
      "오늘날 서울은 세계적인 기술 기업과 금융 기관이 모여 있는 국제 도시로 성장했습니다. 지하철과 버스 같은 대중교통도 매우 편리합니다.\n"
      "주말이 되면 많은 시민들이 한강 공원에서 자전거를 타거나 산책을 하며 여가 시간을 보냅니다. 봄에는 벚꽃 축제도 열립니다.\n"
      "또한 서울에는 다양한 박물관과 미술관이 있어서 외국인 관광객들에게도 인기가 높습니다. 그리고 전통 시장에서는 맛있는 음식을 "
      "저렴하게 즐길 수 있습니다.\n")
ML_FILTERS = ["langid", "gopher_quality", "gopher_repetition", "c4", "fineweb"]


@pytest.fixture(scope="module")
def ml_cfg(repo) -> config.Config:
    return config.load(repo / "config.yaml", repo / "configs/multilingual.yaml")


def _curate(texts: dict[str, str], cfg: config.Config) -> dict[str, str | None]:
    df = frame([{"id": doc_id("s", "a", i), "source": "s", "shard": "a", "offset": i, "record_id": name, "url": "",
                 "text": t} for i, (name, t) in enumerate(texts.items())])
    tagged, _ = tag.tag(df, ML_FILTERS, "s", "a", sections={n: getattr(cfg, n) for n in ML_FILTERS})
    return {r["record_id"]: filt.decide_row(r, ML_FILTERS, cfg) for r in tagged.iter_rows(named=True)}


def test_multilingual_overlay_keeps_at_least_15_languages(ml_cfg):
    assert len(ml_cfg.langid.languages) >= 15
    assert {"zh", "ja", "ko", "th"} <= set(ml_cfg.langid.languages)


def test_good_pages_without_spaces_are_kept_in_their_own_language(ml_cfg):
    texts = {"zh": ZH, "ja": JA, "th": TH, "ko": KO}
    assert _curate(texts, ml_cfg) == dict.fromkeys(texts)
    # Measured as English (whitespace words, English stop words) each would be dropped by Gopher.
    for lang in ("zh", "ja", "th"):
        assert gopher_quality.decide(gopher_quality.measure(texts[lang]), ml_cfg.gopher_quality) is not None


def test_per_language_thresholds_apply_to_that_language_only(ml_cfg):
    from lmsci.curate.registry import for_language
    zh = for_language(ml_cfg.gopher_quality, "zh")
    assert zh.min_avg_word_length == 1 and isinstance(zh.min_doc_words, int)
    assert for_language(ml_cfg.gopher_quality, "en") is ml_cfg.gopher_quality
    attrs = gopher_quality.measure(ZH, lang="zh")
    assert attrs["avg_word_length"] < 3  # Chinese words are one to three characters
    assert gopher_quality.decide(attrs, ml_cfg.gopher_quality) == "short_words"
    assert gopher_quality.decide(attrs, zh) is None


def test_sample_crawl_german_pages_fare_as_their_english_originals(ml_cfg):
    """The sample crawl's LibreOffice help in German, next to the same page in en-US: under the
    multilingual overlay, a German page whose English original is kept is kept too (90 %+), and no
    German, French or Spanish page is dropped for want of English stop words."""
    import gzip
    import json
    import re
    from pathlib import Path

    with gzip.open(Path(__file__).parent / "golden" / "datatrove.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    by_url = {r["url"]: r["text"] for r in rows}
    pairs = {}
    for url in by_url:
        m = re.match(r"https://help\.libreoffice\.org/7\.4/(de|fr|es)/(.*)", url)
        en = m and f"https://help.libreoffice.org/7.4/en-US/{m.group(2)}"
        if en in by_url:
            pairs[url], pairs[en] = by_url[url], by_url[en]
    others = {u: t for u, t in by_url.items() if re.match(r"https://help\.libreoffice\.org/7\.4/(de|fr|es)/", u)}
    decided = _curate({**pairs, **others}, ml_cfg)
    assert not any(r and r.endswith("few_stop_words") for r in decided.values())
    good = [u for u in pairs if "/de/" in u and decided[u.replace("/7.4/de/", "/7.4/en-US/")] is None]
    assert len(good) >= 30
    assert sum(decided[u] is None for u in good) / len(good) >= 0.9


def test_bad_per_language_threshold_is_one_line_naming_the_key(base_dict):
    base_dict["gopher_quality"]["languages"] = {"zh": {"min_avg_word_length": 20}}
    with pytest.raises(config.ConfigError) as e:
        config.from_dict(base_dict)
    assert "'gopher_quality.languages.zh.min_avg_word_length'" in str(e.value) and "\n" not in str(e.value)
    base_dict["gopher_quality"]["languages"] = {"zh": {"min_stopwords": 1}}
    with pytest.raises(config.ConfigError, match="gopher_quality.languages.zh.min_stopwords"):
        config.from_dict(base_dict)
