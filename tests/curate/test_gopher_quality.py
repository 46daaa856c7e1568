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
    # Distinct stop words: "the" a hundred times is one stop word, not a hundred.
    "few_stop_words": " ".join(["the river flows past mountain farms"] * 20),
}

# The one threshold that, relaxed, lets the document through.
RELAX = {
    "few_words": {"min_doc_words": 0},
    "many_words": {"max_doc_words": 10**9},
    "short_words": {"min_avg_word_length": 0.0},
    "long_words": {"max_avg_word_length": 100.0},
    "symbols": {"max_symbol_word_ratio": 1.0},
    "bullet_lines": {"max_bullet_lines_ratio": 1.0},
    "ellipsis_lines": {"max_ellipsis_lines_ratio": 1.0},
    "non_alpha_words": {"min_alpha_words_ratio": 0.0},
    "few_stop_words": {"min_stop_words": 0},
}


def test_every_reason_has_a_crafted_document():
    assert set(DOCS) == set(RELAX) == set(gq.REASONS)


IMPLS = ("datatrove", "paper")


@pytest.mark.parametrize("impl", IMPLS)
def test_clean_paragraph_is_kept(impl):
    cfg = dataclasses.replace(DEFAULT, impl=impl)
    assert gq.decide(gq.measure(CLEAN, cfg), cfg) is None


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("reason", gq.REASONS)
def test_crafted_document_trips_exactly_its_reason(reason, impl):
    cfg = dataclasses.replace(DEFAULT, impl=impl)
    attrs = gq.measure(DOCS[reason], cfg)
    assert gq.decide(attrs, cfg) == reason
    assert gq.decide(attrs, dataclasses.replace(cfg, **RELAX[reason])) is None


TEXT = "The cat... sat #on\n\n- the mat, with 42 dogs…\n"


def test_measure_by_hand_datatrove():
    # spaCy's English tokens: The cat ... sat # on - the mat , with 42 dogs …  (14; '\n' runs are not words)
    a = gq.measure(TEXT)
    assert a["n_words"] == 9  # '...', '#', '-', ',', '…' are punctuation only: symbols, not words
    assert a["avg_word_length"] == pytest.approx(len("Thecatsatonthematwith42dogs") / 9)
    assert a["hash_word_ratio"] == pytest.approx(1 / 14)
    assert a["ellipsis_word_ratio"] == pytest.approx(2 / 14)
    assert a["bullet_lines_ratio"] == pytest.approx(1 / 3)  # splitlines() keeps the empty line
    assert a["ellipsis_lines_ratio"] == pytest.approx(1 / 3)
    assert a["alpha_words_ratio"] == pytest.approx(8 / 14)
    assert a["stop_words"] == 2  # 'the' and 'with'; 'The' is another word (exact case)


def test_measure_by_hand_paper():
    a = gq.measure(TEXT, dataclasses.replace(DEFAULT, impl="paper"))
    assert a["n_words"] == 9  # whitespace tokens, punctuation stripped; '-' strips to nothing
    assert a["hash_word_ratio"] == pytest.approx(1 / 9)
    assert a["ellipsis_word_ratio"] == pytest.approx(2 / 9)
    assert a["bullet_lines_ratio"] == pytest.approx(1 / 2)  # the blank line is not a line
    assert a["alpha_words_ratio"] == pytest.approx(8 / 10)  # '-' and '42' have no letter
    assert a["stop_words"] == 2  # the (The, the) and with: distinct, any case


def test_stop_words_are_counted_distinct_in_both_impls():
    text = " ".join(["the"] * 100 + ["river"] * 60)
    for impl in IMPLS:
        assert gq.measure(text, dataclasses.replace(DEFAULT, impl=impl))["stop_words"] == 1


def test_impls_differ_where_the_docstring_says():
    cfg_p = dataclasses.replace(DEFAULT, impl="paper")
    text = "The River And The Valley"  # capitalised stop words count only for the paper
    assert gq.measure(text)["stop_words"] == 0 and gq.measure(text, cfg_p)["stop_words"] == 2
    star = "\n".join(["* item"] * 9 + ["end"])  # '*' is a bullet for the paper, not for datatrove
    assert gq.measure(star)["bullet_lines_ratio"] == 0 and gq.measure(star, cfg_p)["bullet_lines_ratio"] == 0.9


def test_other_languages_use_their_stop_words():
    de = "Der Fluss fließt durch das Tal und versorgt die Höfe an seinen Ufern mit Wasser."
    assert gq.measure(de)["stop_words"] == 0  # no English stop word
    assert gq.measure(de, lang="de")["stop_words"] >= 4  # der, das, und, die, mit


def test_empty_text_is_few_words():
    a = gq.measure("")
    assert a["n_words"] == 0 and gq.decide(a, DEFAULT) == "few_words"


def test_rethresholding_uses_stored_attributes_only():
    stored = json.loads(json.dumps(gq.measure(CLEAN)))  # as read back from the document table
    assert gq.decide(stored, DEFAULT) is None
    assert gq.decide(stored, dataclasses.replace(DEFAULT, min_doc_words=1000)) == "few_words"
    assert gq.decide(stored, dataclasses.replace(DEFAULT, min_stop_words=1000)) == "few_stop_words"
    assert gq.decide(stored, dataclasses.replace(DEFAULT, min_avg_word_length=1.0, max_avg_word_length=2.0)) \
        == "long_words"
    assert stored == gq.measure(CLEAN)  # decide never changes the attributes


def test_rules_apply_in_the_papers_order():
    # Short and without stop words: the first rule in order (document length) names the reason.
    a = gq.measure("one two three")
    assert gq.decide(a, DEFAULT) == "few_words"
    assert gq.decide(a, dataclasses.replace(DEFAULT, min_doc_words=1)) == "few_stop_words"


def test_line_marks_equal_splitlines_reading():
    import random

    pieces = ["• item", "- item", "  - indented", "text", "", "end...", "end… ", "end ...\t", "a-b", "mid ... x"]
    rng = random.Random(0)
    for _ in range(500):
        breaks = ["\n", "\n", "\r\n", "\u2028", ""]
        text = "".join(rng.choice(pieces) + rng.choice(breaks) for _ in range(rng.randint(0, 8)))
        lines = text.splitlines()
        want = (sum(ln.lstrip().startswith(gq.DT_BULLETS) for ln in lines),
                sum(ln.rstrip().endswith(("...", "…")) for ln in lines), max(len(lines), 1))
        assert gq._line_marks(text, True) == want, repr(text)
