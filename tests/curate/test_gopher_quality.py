"""lmsci/curate/gopher_quality.py: one crafted document per drop reason, a clean one kept,
and re-thresholding on stored attributes.

"Trips exactly that reason" is checked without re-implementing the rules: the document is
dropped for that reason under the paper's thresholds, and kept once only that one threshold
is relaxed (so no other rule fails on it).
"""
from __future__ import annotations

import dataclasses
import json

import pytest

from lmsci.config import GopherQualityConfig
from lmsci.curate import gopher_quality as gq

DEFAULT = GopherQualityConfig()

CLEAN = (
    "The river flows through the valley and feeds the farms that line its banks. In spring the water "
    "rises with melting snow from the mountains, and farmers open the gates of their canals to flood "
    "the fields. Over the centuries people have built towns along the river, trading grain, timber and "
    "wool with the cities downstream. Today the valley is known for its orchards, its old stone bridges "
    "and a railway line that follows the water to the coast."
)
SENTENCES = [s.strip() + "." for s in CLEAN.split(".") if s.strip()]

DOCS = {
    "few_words": "The river flows through the valley and feeds the farms that line its banks.",
    "many_words": (CLEAN + "\n") * (DEFAULT.max_doc_words // len(CLEAN.split()) + 1),
    "short_words": " ".join(["I am to go up to it as we do so of an ox by me; he is in a bay."] * 4),
    "long_words": " ".join(
        ["Internationalization of telecommunications infrastructure necessitates"
         " extraordinarily comprehensive interdisciplinary administrative coordination"] * 5
        + ["the", "and", "of"]),
    "symbols": CLEAN + " " + " ".join(f"#river{i}" for i in range(12)),
    "bullet_lines": "\n".join(f"- {s}" for s in SENTENCES),
    "ellipsis_lines": "\n".join(s[:-1] + "..." if i % 2 else s for i, s in enumerate(SENTENCES)),
    "non_alpha_words": CLEAN + " " + " ".join(str(1900 + 7 * i) for i in range(30)),
    "few_stop_words": (
        "Python is a programming language. It supports several paradigms: procedural, functional, "
        "object oriented. Its design philosophy emphasises readable code, using significant indentation. "
        "Guido van Rossum began working on Python in late 1980s as a successor for ABC. Python 2.0 was "
        "released in 2000. Python 3.0, released in 2008, was a major revision not completely backward "
        "compatible. Recent versions improve speed, error messages, typing support."
    ),
}

# The one threshold that, relaxed, lets the document through.
RELAX = {
    "few_words": {"min_doc_words": 0},
    "many_words": {"max_doc_words": 10**9},
    "short_words": {"min_avg_word_length": 0.0},
    "long_words": {"max_avg_word_length": 1e9},
    "symbols": {"max_symbol_word_ratio": 1e9},
    "bullet_lines": {"max_bullet_lines_ratio": 1.0},
    "ellipsis_lines": {"max_ellipsis_lines_ratio": 1.0},
    "non_alpha_words": {"min_alpha_words_ratio": 0.0},
    "few_stop_words": {"min_stop_words": 0},
}


def test_every_reason_has_a_crafted_document():
    assert set(DOCS) == set(RELAX) == set(gq.REASONS)


def test_clean_paragraph_is_kept():
    assert gq.decide(gq.measure(CLEAN), DEFAULT) is None


@pytest.mark.parametrize("reason", gq.REASONS)
def test_crafted_document_trips_exactly_its_reason(reason):
    attrs = gq.measure(DOCS[reason])
    assert gq.decide(attrs, DEFAULT) == reason
    assert gq.decide(attrs, dataclasses.replace(DEFAULT, **RELAX[reason])) is None


def test_measure_by_hand():
    a = gq.measure("The cat... sat #on\n\n- the mat, with 42 dogs…\n")
    assert a["n_words"] == 9
    assert a["avg_word_length"] == pytest.approx(len("Thecatsatonthematwith42dogs") / 9)
    assert a["symbol_word_ratio"] == pytest.approx(3 / 10)  # '...', '#', '…' over 10 raw tokens ('-' too)
    assert a["bullet_lines_ratio"] == pytest.approx(1 / 2)  # the blank line is not a line
    assert a["ellipsis_lines_ratio"] == pytest.approx(1 / 2)
    assert a["alpha_words_ratio"] == pytest.approx(8 / 10)  # '-' and '42' have no letter
    assert a["stop_words"] == 3  # The, the, with


def test_empty_text_is_few_words():
    a = gq.measure("")
    assert a["n_words"] == 0 and gq.decide(a, DEFAULT) == "few_words"


def test_rethresholding_uses_stored_attributes_only():
    stored = json.loads(json.dumps(gq.measure(CLEAN)))  # as read back from the document table
    assert gq.decide(stored, DEFAULT) is None
    assert gq.decide(stored, dataclasses.replace(DEFAULT, min_doc_words=1000)) == "few_words"
    assert gq.decide(stored, dataclasses.replace(DEFAULT, min_stop_words=1000)) == "few_stop_words"
    assert gq.decide(stored, dataclasses.replace(DEFAULT, max_avg_word_length=2.0)) == "long_words"
    assert stored == gq.measure(CLEAN)  # decide never changes the attributes


def test_rules_apply_in_the_papers_order():
    # Short and without stop words: the first rule in order (document length) names the reason.
    a = gq.measure("one two three")
    assert gq.decide(a, DEFAULT) == "few_words"
    assert gq.decide(a, dataclasses.replace(DEFAULT, min_doc_words=1)) == "few_stop_words"
