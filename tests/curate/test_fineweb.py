"""lmsci/curate/fineweb.py: one crafted page per reason, a clean page kept, ratios by hand,
and the paper's duplicated-line threshold (0.1) rather than datatrove's 0.01."""
from __future__ import annotations

import dataclasses
import json

import pytest

from lmsci.config import FineWebConfig
from lmsci.curate import fineweb

DEFAULT = FineWebConfig()
SENTENCES = [
    "The river flows through the valley and feeds the farms that line its banks.",
    "In spring the water rises with melting snow from the mountains to the north.",
    "Farmers open the gates of their canals to flood the fields before they sow.",
    "Over the centuries people have built towns along the river and its tributaries.",
]
CLEAN = "\n".join(SENTENCES)
DOCS = {
    # a menu: long lines without punctuation
    "line_punct_ratio": "\n".join(s.rstrip(".") for s in SENTENCES) + "\n" + SENTENCES[0].rstrip(".") + " today",
    # one sentence in four repeated: a quarter of the characters sit in a repeated line
    "dup_line_char_ratio": "\n".join(SENTENCES + [SENTENCES[1]]),
    # navigation: many short lines around two sentences
    "short_line_ratio": "\n".join(SENTENCES[:2] + ["Home.", "About.", "Contact.", "News.", "Help."]),
    # a list: one word per line, each line a sentence
    "newline_word_ratio": "\n".join(f"{w.capitalize()} river bank, the {w} and its water." for w in
                                    "north south east west upper lower old new".split()) + "\n" * 30,
    "empty": " \n\t\n",
}
RELAX = {"line_punct_ratio": {"min_line_punct_ratio": 0.0}, "dup_line_char_ratio": {"max_dup_line_char_ratio": 1.0},
         "short_line_ratio": {"max_short_line_ratio": 1.0}, "newline_word_ratio": {"max_newline_word_ratio": 1.0},
         "empty": None}


def test_every_reason_has_a_crafted_document():
    assert set(DOCS) == set(RELAX) == set(fineweb.REASONS)


def test_clean_page_is_kept():
    assert fineweb.decide(fineweb.measure(CLEAN), DEFAULT) is None


@pytest.mark.parametrize("reason", fineweb.REASONS)
def test_crafted_document_trips_exactly_its_reason(reason):
    attrs = fineweb.measure(DOCS[reason])
    assert fineweb.decide(attrs, DEFAULT) == reason
    if RELAX[reason] is not None:
        assert fineweb.decide(attrs, dataclasses.replace(DEFAULT, **RELAX[reason])) is None


def test_ratios_by_hand():
    text = "A short line.\n\nA line without an end\nA short line.\n" + "x" * 40 + "!"
    a = fineweb.measure(text)
    assert a["line_punct_ratio"] == pytest.approx(3 / 4)  # the blank line is not a line
    assert a["short_line_ratio"] == pytest.approx(3 / 4)  # <= 30 characters
    assert a["dup_line_char_ratio"] == pytest.approx(len("A short line.") / len(text.replace("\n", "")))
    assert a["newline_word_ratio"] == pytest.approx(4 / 15)  # spaCy words: 4 + 5 + 4 + 2 ('.' and '!' count)


def test_impls_differ_where_the_docstring_says():
    paper = dataclasses.replace(DEFAULT, impl="paper")
    quoted = "\n".join(f'He said: "{s}"' for s in SENTENCES)  # ends in a quote: not terminal for datatrove
    assert fineweb.measure(quoted)["line_punct_ratio"] == 0 and fineweb.measure(quoted, paper)["line_punct_ratio"] == 1
    indented = "\n".join(" " * 8 + "A line of twenty-four ch." for _ in range(3))
    assert fineweb.measure(indented)["short_line_ratio"] == 0  # 33 characters with its indentation
    exactly = "x" * 30 + "."
    assert fineweb.measure(exactly[1:])["short_line_ratio"] == 1  # 30 characters: short for datatrove (<= 30)
    assert fineweb.measure(exactly[1:], paper)["short_line_ratio"] == 0  # ... not "shorter than 30"
    a = fineweb.measure(CLEAN)  # at exactly the threshold: datatrove keeps (strict), the paper drops (<=)
    at = dataclasses.replace(DEFAULT, min_line_punct_ratio=a["line_punct_ratio"])
    assert fineweb.decide(a, at) is None
    assert fineweb.decide(fineweb.measure(CLEAN, paper), dataclasses.replace(at, impl="paper")) == "line_punct_ratio"


def test_papers_duplicate_threshold_keeps_a_page_with_one_short_repeat():
    # A repeated heading of 2% of the characters: kept at the paper's 0.1, dropped at datatrove's 0.01.
    text = "\n".join(["See also."] + SENTENCES * 1 + ["See also."] + [s.upper() for s in SENTENCES])
    a = fineweb.measure(text)
    assert 0.01 < a["dup_line_char_ratio"] < 0.1
    assert fineweb.decide(a, DEFAULT) is None
    assert fineweb.decide(a, dataclasses.replace(DEFAULT, max_dup_line_char_ratio=0.01)) == "dup_line_char_ratio"


def test_empty_text_is_dropped_as_empty():
    assert fineweb.decide(fineweb.measure(""), DEFAULT) == "empty"


def test_rethresholding_uses_stored_attributes_only():
    stored = json.loads(json.dumps(fineweb.measure(CLEAN)))
    assert fineweb.decide(stored, DEFAULT) is None
    assert fineweb.decide(stored, dataclasses.replace(DEFAULT, max_newline_word_ratio=0.0)) == "newline_word_ratio"
    assert stored == fineweb.measure(CLEAN)
