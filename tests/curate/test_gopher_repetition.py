"""lmsci/curate/gopher_repetition.py: one crafted document per drop reason, a clean one kept,
attributes checked by hand on a small text, and re-thresholding on stored attributes.

Repeated lines and paragraphs are also repeated n-grams, so a document built to trip a line
or paragraph rule may trip an n-gram rule too: each case lists every threshold it needs
relaxed to be kept, and relaxing only its own threshold must change the verdict. The crafted
documents are sized for the paper's reading (``impl: paper``: fractions of word characters);
datatrove's (the default) is checked by hand and on the sample crawl (tests/curate/test_parity.py).
"""
from __future__ import annotations

import dataclasses
import json
import random

import pytest

from lmsci.config import GopherRepetitionConfig
from lmsci.curate import gopher_repetition as gr

DATATROVE = GopherRepetitionConfig()
DEFAULT = GopherRepetitionConfig(impl="paper")
ROOTS = ("river valley farm bank spring water snow mountain gate canal field town grain timber wool city "
         "orchard bridge railway coast harbour market season winter summer autumn village meadow forest").split()
VOCAB = [r + suffix for r in ROOTS for suffix in ("", "s", "side", "land", "ward", "ing", "er", "ful")]


def prose(words: int, seed: int) -> str:
    """Words from VOCAB in random order: no n-gram of 3+ words repeats in a text this short."""
    rng = random.Random(seed)
    out = [rng.choice(VOCAB) + ("." if i % 12 == 11 else "") for i in range(words)]
    return " ".join(out)


def lines(n: int, words: int, seed: int) -> list[str]:
    return [prose(words, seed * 1000 + i) for i in range(n)]


CLEAN = "\n\n".join(lines(6, 40, 1))
# Long words at both ends: the phrase's 2-, 3- and 4-grams cover far fewer characters than it does.
PHRASE = "consequently it is so unsurprisingly"
DOCS = {
    # 4 of 11 paragraphs repeat a one-line paragraph; the unique paragraphs have 5 lines each
    "dup_paragraphs": "\n\n".join(["\n".join(lines(5, 12, 10 + i)) for i in range(6)] + ["See also."] * 5),
    # one long paragraph said three times: 2 of 7 paragraphs (< 0.30) but most of the characters
    "dup_paragraph_chars": "\n\n".join(lines(4, 12, 20) + [prose(40, 21)] * 3),
    # no blank lines (one paragraph); 5 of 16 lines repeat a two-word line
    "dup_lines": "\n".join(lines(10, 25, 30) + ["See also."] * 6),
    # 2 of 9 lines (< 0.30) repeat a long line: a fifth of the characters
    "dup_line_chars": "\n".join(lines(7, 12, 40) + [prose(30, 41)] * 2),
    # "New York" after each of 80 distinct words: the top 2-gram covers half of the characters
    "top_ngram_chars": " ".join(f"{w} New York" for w in random.Random(50).sample(VOCAB, 80)),
    # a five-word phrase after every 20 words; no line, 2-, 3- or 4-gram rule fires
    "dup_ngram_chars": " ".join(f"{prose(20, 60 + i)} {PHRASE}" for i in range(8)),
}
# The thresholds each document needs relaxed to be kept (its own first).
TOP = {f"max_top_{n}gram_char_frac": 1.0 for n in gr.TOP_NS}
DUP = {f"max_dup_{n}gram_char_frac": 1.0 for n in gr.DUP_NS}
RELAX = {
    "dup_paragraphs": {"max_dup_para_frac": 1.0},
    "dup_paragraph_chars": {"max_dup_para_char_frac": 1.0, "max_dup_line_char_frac": 1.0, **DUP, **TOP},
    "dup_lines": {"max_dup_line_frac": 1.0},
    "dup_line_chars": {"max_dup_line_char_frac": 1.0, **DUP, **TOP},
    "top_ngram_chars": TOP,
    "dup_ngram_chars": DUP,
}


def test_every_reason_has_a_crafted_document():
    assert set(DOCS) == set(RELAX) == set(gr.REASONS)


def test_clean_text_is_kept():
    assert gr.decide(gr.measure(CLEAN, DEFAULT), DEFAULT) is None


@pytest.mark.parametrize("reason", gr.REASONS)
def test_crafted_document_trips_its_reason(reason):
    attrs = gr.measure(DOCS[reason], DEFAULT)
    assert gr.decide(attrs, DEFAULT) == reason
    own = next(iter(RELAX[reason]))
    assert gr.decide(attrs, dataclasses.replace(DEFAULT, **{own: 1.0})) != reason
    assert gr.decide(attrs, dataclasses.replace(DEFAULT, **RELAX[reason])) is None


def test_measure_by_hand_datatrove():
    text = "a b c d e f a b c d e f x y z\n\nhello there\n\nhello there"  # 55 characters
    a = gr.measure(text)
    assert a["dup_para_frac"] == pytest.approx(1 / 3) and a["dup_line_frac"] == pytest.approx(1 / 3)
    assert a["dup_para_char_frac"] == pytest.approx(11 / 55)  # over len(text)
    assert a["top_2gram_char_frac"] == pytest.approx(2 * 3 / 55)  # "a b": the first of the twice-seen 2-grams
    assert a["top_3gram_char_frac"] == pytest.approx(2 * 5 / 55)  # "a b c", spaces included
    assert a["dup_5gram_char_frac"] == pytest.approx(5 / 55)  # only the second "abcde"; the scan jumps past it
    assert a["dup_6gram_char_frac"] == pytest.approx(6 / 55)
    assert a["dup_7gram_char_frac"] == 0.0
    b = gr.measure("x " * 20)  # 40 characters: repeats at words 1, 6 and 11 (the scan jumps 5)
    assert b["dup_5gram_char_frac"] == pytest.approx(15 / 40)
    assert b["top_2gram_char_frac"] == pytest.approx(19 * 3 / 40)  # "x x" 19 times


def test_measure_by_hand():
    # words: a..f twice (12 chars), x y z (3), "hello there" twice (20): 35 characters
    a = gr.measure("a b c d e f a b c d e f x y z\n\nhello there\n\nhello there", DEFAULT)
    assert a["dup_para_frac"] == pytest.approx(1 / 3) and a["dup_line_frac"] == pytest.approx(1 / 3)
    assert a["dup_para_char_frac"] == pytest.approx(10 / 35)
    assert a["top_2gram_char_frac"] == pytest.approx(2 * 10 / 35)  # "hello there" twice
    assert a["top_3gram_char_frac"] == pytest.approx(2 * 3 / 35)  # "a b c" twice
    assert a["dup_5gram_char_frac"] == pytest.approx(12 / 35)  # a..f both times, each word once
    assert a["dup_6gram_char_frac"] == pytest.approx(12 / 35)
    assert a["dup_7gram_char_frac"] == 0.0


def test_overlapping_duplicates_count_each_character_once():
    a = gr.measure("x " * 20, DEFAULT)  # one word twenty times: every 5-gram repeats and they all overlap
    assert a["dup_5gram_char_frac"] == pytest.approx(1.0)
    assert a["top_2gram_char_frac"] == pytest.approx(19 * 2 / 20)  # 19 occurrences of "x x"


def test_empty_and_short_texts():
    for text in ("", "one", "one two three"):
        a = gr.measure(text, DEFAULT)
        assert all(v == 0.0 for v in a.values()) and gr.decide(a, DEFAULT) is None
    # datatrove counts the single "one two" as the top 2-gram: 7 of 13 characters
    assert gr.measure("one two three")["top_2gram_char_frac"] == pytest.approx(7 / 13)


def test_rethresholding_uses_stored_attributes_only():
    stored = json.loads(json.dumps(gr.measure(DOCS["dup_ngram_chars"], DEFAULT)))
    assert gr.decide(stored, DEFAULT) == "dup_ngram_chars"
    assert gr.decide(stored, dataclasses.replace(DEFAULT, **DUP)) is None
    assert stored == gr.measure(DOCS["dup_ngram_chars"], DEFAULT)


def test_line_and_paragraph_splits_are_datatrove_regex_splits():
    import random
    import re

    from lmsci.curate import gopher_repetition as gr

    rng = random.Random(7)
    texts = ["", "\n", "\n\n", "a", "a\n", "\na", "a\n\n\nb\n", "\n\na\nb\n\n"]
    texts += ["".join(rng.choice(["a", "b ", "\n", "\n\n", " ", "\r\n"]) for _ in range(rng.randint(0, 14)))
              for _ in range(3000)]
    for t in texts:
        assert gr._lines(t) == re.split(r"\n+", t), repr(t)
        assert gr._paragraphs(t.strip()) == gr._PARA.split(t.strip()), repr(t)
