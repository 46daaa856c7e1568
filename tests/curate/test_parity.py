"""Reference parity: lmsci's ``impl: datatrove`` decisions equal datatrove 0.10.1's on every page of
the sample crawl (tests/curate/golden/datatrove.jsonl.gz, made by scripts/datatrove_golden.py in the
benchmark environment: each filter alone on lmsci's extracted text, lmsci's default thresholds).

datatrove names its reasons differently; REASONS maps each of them to lmsci's name for the same rule.
"""
from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from lmsci.config import C4Config, FineWebConfig, GopherQualityConfig, GopherRepetitionConfig
from lmsci.curate import c4, fineweb, gopher_quality, gopher_repetition

GOLDEN = Path(__file__).parent / "golden" / "datatrove.jsonl.gz"
FILTERS = {"gopher_quality": (gopher_quality, GopherQualityConfig), "gopher_repetition":
           (gopher_repetition, GopherRepetitionConfig), "c4": (c4, C4Config), "fineweb": (fineweb, FineWebConfig)}
REASONS = {
    "gopher_short_doc": "few_words", "gopher_long_doc": "many_words", "gopher_below_avg_threshold": "short_words",
    "gopher_above_avg_threshold": "long_words", "gopher_too_many_hashes": "symbols",
    "gopher_too_many_ellipsis": "symbols", "gopher_too_many_bullets": "bullet_lines",
    "gopher_too_many_end_ellipsis": "ellipsis_lines", "gopher_below_alpha_threshold": "non_alpha_words",
    "gopher_enough_stop_words": "few_stop_words",  # datatrove's name for "too few stop words"
    "dup_para_frac": "dup_paragraphs", "dup_para_char_frac": "dup_paragraph_chars", "dup_line_frac": "dup_lines",
    "dup_line_char_frac": "dup_line_chars", **{f"top_{n}_gram": "top_ngram_chars" for n in (2, 3, 4)},
    **{f"duplicated_{n}_n_grams": "dup_ngram_chars" for n in range(5, 11)},
    "lorem_ipsum": "lorem_ipsum", "curly_bracket": "curly_bracket", "too_few_sentences": "few_sentences",
    "empty": "empty", "line_punct_ratio": "line_punct_ratio", "short_line_ratio": "short_line_ratio",
    "char_dup_ratio": "dup_line_char_ratio", "list_ratio": "newline_word_ratio",
}


@pytest.fixture(scope="module")
def golden() -> list[dict]:
    with gzip.open(GOLDEN, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def expected(row: dict, name: str) -> str:
    return "keep" if row[name] == "keep" else REASONS[row[name]]


def decisions(rows: list[dict], name: str, impl: str) -> list[str]:
    mod, section = FILTERS[name]
    cfg = section(impl=impl)
    return [mod.decide(mod.measure(r["text"], cfg), cfg) or "keep" for r in rows]


def test_golden_covers_the_sample_crawl_and_every_reason_maps(golden):
    assert len(golden) > 800 and len({r["id"] for r in golden}) == len(golden)
    for name, (mod, _) in FILTERS.items():
        reasons = Counter(expected(r, name) for r in golden)
        assert set(reasons) - {"keep"} <= set(mod.REASONS)
        assert reasons["keep"] < len(golden), f"{name}: the golden file should hold drops too"


@pytest.mark.parametrize("name", FILTERS)
def test_datatrove_mode_agrees_on_every_document(golden, name):
    got = decisions(golden, name, "datatrove")
    diff = [(r["id"], expected(r, name), g) for r, g in zip(golden, got) if g != expected(r, name)]
    assert not diff, f"{name}: {len(diff)} of {len(golden)} decisions differ from datatrove 0.10.1, e.g. {diff[:3]}"


def test_paper_mode_differs_where_its_readings_do(golden):
    # The paper readings are not datatrove's: each filter disagrees on some pages of the sample.
    for name in FILTERS:
        got = decisions(golden, name, "paper")
        agree = sum(g == expected(r, name) for r, g in zip(golden, got)) / len(golden)
        assert 0.5 < agree < 1.0, f"{name}: paper-mode agreement {agree:.3f}"
