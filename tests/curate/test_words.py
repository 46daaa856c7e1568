"""lmsci/curate/words.py: English splits as spacy.blank("en") does (checked against spaCy's own
tokens on every page of the sample crawl, digests in the golden file), its sentencizer's counts,
the segmenters of languages written without spaces, and per-language stop words."""
from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import pytest

from lmsci.curate import words as W

GOLDEN = Path(__file__).parent / "golden" / "datatrove.jsonl.gz"


def test_english_tokens_equal_spacys_on_the_sample_crawl():
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        rows = [json.loads(line) for line in f]
    bad = []
    for r in rows:
        toks = W.english_words(r["text"])
        if (len(toks), hashlib.sha1("\0".join(toks).encode()).hexdigest()) != (r["en_tokens"], r["en_tokens_sha1"]):
            bad.append(r["id"])
    assert not bad, f"{len(bad)} of {len(rows)} pages split differently from spaCy, e.g. {bad[:3]}"


@pytest.mark.parametrize("text, tokens", [  # spaCy 3.8's splits (special cases, affixes, infixes, URLs)
    ("Don't stop: U.S. e.g. it's 3.5km (see https://x.org/a?b=1).",
     ["Do", "n't", "stop", ":", "U.S.", "e.g.", "it", "'s", "3.5", "km", "(", "see", "https://x.org/a?b=1", ")", "."]),
    ('Hello world.  This is "quoted." Mr. Smith went... home?',
     ["Hello", "world", ".", "This", "is", '"', "quoted", ".", '"', "Mr.", "Smith", "went", "...", "home", "?"]),
    ("The cat... sat #on\n\n- the mat, with 42 dogs…\n",
     ["The", "cat", "...", "sat", "#", "on", "-", "the", "mat", ",", "with", "42", "dogs", "…"]),
])
def test_english_special_cases_affixes_and_urls(text, tokens):
    assert W.english_words(text) == tokens


def test_sentence_count_follows_the_sentencizer():
    assert W.sentence_count("Mr. Smith went to Washington. He arrived at noon.") == 2
    assert W.sentence_count("Wait... what happened here") == 1  # '...' is not a sentence end
    assert W.sentence_count("One. Two! Three? Four") == 4
    assert W.sentence_count("") == 1  # datatrove counts an empty line as one sentence


@pytest.mark.parametrize("lang, text, expect", [
    ("zh", "我来到北京清华大学。", ["我", "来到", "北京", "清华大学", "。"]),
    ("ja", "東京都に住んでいます。", ["東京", "都", "に", "住ん", "で", "い", "ます", "。"]),
    ("th", "ผมรักภาษาไทยมาก", ["ผม", "รัก", "ภาษาไทย", "มาก"]),
    ("ko", "나는 학교에 갑니다.", ["나는", "학교에", "갑니다", "."]),  # eojeol: Korean writes spaces
])
def test_languages_without_spaces_are_segmented(lang, text, expect):
    got = list(W.words(text, lang))
    assert got == expect
    assert len(got) > len(text.split())  # more words than whitespace gives


def test_stop_words_cover_at_least_15_languages():
    langs = ["en", "de", "fr", "es", "it", "pt", "nl", "pl", "ru", "sv", "cs", "tr", "id", "vi", "ar", "zh", "ja",
             "ko", "th", "uk"]
    for lang in langs:
        assert len(W.stop_words(lang)) >= 8, lang
    assert W.stop_words("en") == {"the", "be", "to", "of", "and", "that", "have", "with"}  # Gopher's eight
    assert W.stop_words("xx") == frozenset()
    # each list's words survive the language's own tokenizer as whole words
    assert W.stop_words("zh") & set(W.words("我的书在桌子上，这是我的。", "zh"))
    assert W.stop_words("ja") & set(W.words("私は東京に住んでいます。", "ja"))
    assert W.stop_words("th") & set(W.words("ผมไปที่ตลาดและซื้อผลไม้", "th"))


def test_no_affix_rule_matches_a_string_of_letters():
    # words.py returns a chunk of letters as one token without running spaCy's regexes.
    import random
    import sys

    eng = W._english()
    letters = [c for c in map(chr, range(sys.maxunicode // 16)) if c.isalpha()]
    rng = random.Random(0)
    for _ in range(20_000):
        w = "".join(rng.choice(letters) for _ in range(rng.randint(1, 12)))
        if w not in eng.special:
            assert not (eng.prefix(w) or eng.suffix(w) or next(eng.infix(w), None) or eng.url(w)), w


def test_sentence_total_equals_the_sum_of_sentence_counts():
    lines = ["Mr. Smith went to Washington. He arrived at noon.", "Wait... what happened here", "One. Two! Three? Four",
             "no marks at all", "Tabs\tand  double spaces. Here too!", "“Quoted.” Then more. (Brackets.) End",
             "e.g. this, i.e. that. U.S. army! Done?", "!!! ??? ...", ""]
    assert W.sentence_total(lines) == sum(map(W.sentence_count, lines))
    assert W.sentence_total(lines[1:3]) == sum(map(W.sentence_count, lines[1:3]))
    assert W.sentence_total([]) == 0


def test_sentence_total_of_single_spaced_lines_and_odd_chunks():
    from lmsci.curate import c4

    single = ["Mr. Smith went to Washington. He arrived at noon.", "One. Two! Three? Four", "no marks at all",
              "“Quoted.” Then more. (Brackets.) End", "e.g. this, i.e. that. U.S. army! Done?", "!!! ??? ..."]
    assert W.sentence_total(single) == sum(map(W.sentence_count, single))  # every line single-spaced
    odd = ["A NUL \x00 chunk. Then more.", "x. \x00 y. z", "Plain line. Again."]
    assert W.sentence_total(odd) == sum(map(W.sentence_count, odd))
    assert W.sentence_total(single) == sum(map(W.sentence_count, single))  # after "\x00" was classed
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:  # the kept lines of every sample page
        pages = [c4._KEPT.findall(json.loads(line)["text"]) for line in f]
    assert sum(map(W.sentence_total, pages)) == sum(W.sentence_count(x) for p in pages for x in p)
    assert all(W.sentence_total(p) == sum(map(W.sentence_count, p)) for p in pages)


def test_the_windowed_suffix_search_finds_what_the_whole_string_search_finds():
    import random

    eng = W._english()
    assert eng.window is not None and eng.window < 10  # every alternative but the run of dots is short

    def full(s: str) -> int:
        m = eng.suffix(s)
        return m.end() - m.start() if m else 0

    ends = [chr(cp) for cp in range(0x3100) if not chr(cp).isspace() and full(chr(cp))]  # a suffix alone
    common = list("abcXYZ0195.'\"%)") + ["km", "..", "’s", "n't", "'s", "US$", "mph", "°C"]
    rng = random.Random(3)
    probes = ["", ".", "..", "a..", "a...", "x.y..", "....", "3km", "10%", "it's", "U.S.", "a)...", "(b).", "x..\n", "3km\n", "a.\n"]
    probes += ["".join(rng.choice(ends if rng.random() < 0.4 else common) for _ in range(rng.randint(1, 14)))
               for _ in range(30_000)]
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:  # every chunk of the sample crawl
        probes += list({c for line in f for c in json.loads(line)["text"].split()})
    bad = [s for s in probes if eng.suffix_len(s) != full(s)]
    assert not bad, bad[:5]
