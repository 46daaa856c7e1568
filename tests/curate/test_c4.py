"""lmsci/curate/c4.py: page-level decisions per reason, a clean page kept, the line rules as
measured counts, and the terminal-punctuation switch FineWeb uses."""
from __future__ import annotations

import dataclasses
import json

import pytest

from lmsci import config
from lmsci.config import C4Config, ConfigError
from lmsci.curate import c4

DEFAULT = C4Config()
CLEAN = (
    "The river flows through the valley and feeds the farms that line its banks.\n"
    "In spring the water rises with melting snow from the mountains.\n"
    "Farmers open the gates of their canals to flood the fields.\n"
    "Over the centuries people have built towns along the river!\n"
    "Why do the orchards thrive here? The soil is deep and the winters are mild.\n"
)
DOCS = {
    "lorem_ipsum": CLEAN + "Lorem ipsum dolor sit amet, consectetur adipiscing elit.\n",
    "curly_bracket": CLEAN + "Set the option to {value} in the configuration file.\n",
    # four good sentences; the other lines are menus, notices and headings C4 removes
    "few_sentences": "Home\nAbout us\n" + "\n".join(CLEAN.splitlines()[:3]) + "\n"
                     "Please enable JavaScript to view this page.\nThis site uses cookies to improve your visit.\n"
                     "Read the full story on the river here\nTwo words.\n",
}
DOCS["bad_words"] = CLEAN + "The old miller called the weir a Zorblax, and the name stuck.\n"
RELAX = {"lorem_ipsum": {"drop_lorem_ipsum": False}, "curly_bracket": {"drop_curly_bracket": False},
         "few_sentences": {"min_sentences": 0}, "bad_words": {"bad_words_file": ""}}
BAD_WORDS = "zorblax\n\n  Grumpkin snarf  \nw$x\n"  # stand-ins: the LDNOOBW list is not bundled


@pytest.fixture
def with_list(tmp_path) -> C4Config:
    path = tmp_path / "bad-words.txt"
    path.write_text(BAD_WORDS)
    return dataclasses.replace(DEFAULT, bad_words_file=str(path))


def test_every_reason_has_a_crafted_document():
    assert set(DOCS) == set(RELAX) == set(c4.REASONS)


def test_clean_page_is_kept():
    a = c4.measure(CLEAN)
    assert a["sentences"] == 6 and c4.decide(a, DEFAULT) is None


@pytest.mark.parametrize("reason", c4.REASONS)
def test_crafted_document_trips_exactly_its_reason(reason, with_list):
    attrs = c4.measure(DOCS[reason], with_list)
    assert c4.decide(attrs, with_list) == reason
    assert c4.decide(attrs, dataclasses.replace(with_list, **RELAX[reason])) is None


@pytest.mark.parametrize("line, hits", [
    ("The weir was a ZORBLAX at dawn.", 1),
    ("Two zorblax, one zorblax-shaped grumpkin snarf.", 3),  # whole words and phrases, any case
    ("Zorblaxes and grumpkins and a snarf are all fine.", 0),  # no partial words, no half phrases
    ("The cost was w$x per unit.", 1),  # entries with symbols match literally
])
def test_bad_words_match_whole_words_in_any_case(line, hits, with_list):
    a = c4.measure(CLEAN + line + "\n", with_list)
    assert a["bad_words"] == hits
    assert c4.decide(a, with_list) == ("bad_words" if hits else None)


def test_bad_words_are_measured_only_with_a_list_and_required_by_decide(with_list):
    assert "bad_words" not in c4.measure(DOCS["bad_words"]) and "bad_words" not in c4.measure(CLEAN, DEFAULT)
    with pytest.raises(ValueError, match="measured without it"):
        c4.decide(c4.measure(CLEAN), with_list)


def test_missing_or_empty_bad_words_file(tmp_path, base_dict, repo):
    base_dict["c4"]["bad_words_file"] = "data/no-such-bad-words.txt"
    with pytest.raises(ConfigError) as e:
        config.from_dict(base_dict, root=repo)
    assert "'c4.bad_words_file'" in str(e.value) and "no-such-bad-words.txt" in str(e.value)
    assert "\n" not in str(e.value)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    with pytest.raises(ValueError, match="lists no words"):
        c4.measure(CLEAN, dataclasses.replace(DEFAULT, bad_words_file=str(empty)))


def test_line_rules_are_counted_not_applied():
    a = c4.measure(DOCS["few_sentences"])
    # kept: the three CLEAN lines; removed: 2 short menu lines, javascript, cookies, no punctuation, 2 words
    assert a["sentences"] == 3 and a["sentences_any_punct"] == 4
    assert c4.measure(DOCS["few_sentences"], dataclasses.replace(DEFAULT, impl="paper"))["sentences"] == 3


def test_fineweb_setting_counts_lines_without_terminal_punctuation():
    text = "\n".join(["The river flows through the valley and past the mill"] * 5)
    a = c4.measure(text)
    assert c4.decide(a, DEFAULT) == "few_sentences"
    assert c4.decide(a, dataclasses.replace(DEFAULT, terminal_punct=False)) is None


def test_ellipsis_is_not_terminal_and_citations_are_stripped():
    a = c4.measure("The river flows through the valley...\nThe farms line its banks.[12]\n")
    assert a["sentences"] == 1 and a["sentences_any_punct"] == 2


@pytest.mark.parametrize("line, n", [
    ("Mr. Smith went to Washington. He arrived at noon.", 2),  # "Mr." is one token: no break
    ("It works, e.g. on Linux. Really!", 2),
    ('He said "stop." Then he left.', 2),  # the closing quote belongs to the first sentence
    ("Wait... what happened here", 1),  # "..." is not in the sentencizer's list
    ("Version 3.5 is out. Update now! Why? Because.", 4),
])
def test_sentences_are_spacys_sentencizer(line, n):
    assert c4.measure(line)["sentences_any_punct"] == n


def test_curly_bracket_and_lorem_ipsum_count_on_surviving_lines_only():
    brace = CLEAN + "function main() {\n"  # no terminal punctuation: removed before the bracket rule
    assert c4.decide(c4.measure(brace), DEFAULT) is None
    paper = dataclasses.replace(DEFAULT, impl="paper")  # the paper: "any page that contained a curly bracket"
    assert c4.decide(c4.measure(brace, paper), paper) == "curly_bracket"
    js = CLEAN + "Enable JavaScript to see {this} page.\n"  # javascript lines go before the bracket rule
    assert c4.decide(c4.measure(js), DEFAULT) is None
    both = CLEAN + "Use {x} here, as in the docs.\nLorem ipsum dolor sit amet, consectetur.\n"
    a = c4.measure(both)  # the first line that trips a page rule names the reason
    assert c4.decide(a, DEFAULT) == "curly_bracket"
    assert c4.decide(a, dataclasses.replace(DEFAULT, drop_curly_bracket=False)) == "lorem_ipsum"


def test_rethresholding_uses_stored_attributes_only():
    stored = json.loads(json.dumps(c4.measure(CLEAN)))
    assert c4.decide(stored, dataclasses.replace(DEFAULT, min_sentences=7)) == "few_sentences"
    assert stored == c4.measure(CLEAN)


# datatrove mode's line-by-line reading, as it was before the page-level shortcuts (c4._datatrove
# skips rules that cannot fire on the page and finds the lines of 3+ words by one regex).
PIECES = ["The cat sat on the mat.", "Two words", "one", "", "   ", "Stop here!", "A b c d e f...", "x {y} z w.",
          "See [1] this line now.", "Lorem ipsum dolor sit amet.", "Enable JavaScript in your browser.",
          "This site uses cookies today.", "Terms of Use apply here.", "tab\tseparated words here.",
          "double  spaced words here.", "  indented line of words.", "Ende des Satzes。 Noch einer！ ok",
          "w" * 1001 + " long word line.", "Mr. Smith went home. He slept."]
BREAKS = ["\n", "\n", "\n\n", "\r\n", "\u2028", "\x0c"]


def reference(text: str, lang: str) -> dict[str, float]:
    a = {f"{k}{s}": v for s in ("", "_any_punct")
         for k, v in (("lorem_ipsum_line", -1), ("curly_bracket_line", -1), ("sentences", 0))}
    for i, raw in enumerate(text.splitlines()):
        line = raw.strip()
        words = line.split()
        if len(line) > c4.MAX_WORD_LENGTH and max(map(len, words)) > c4.MAX_WORD_LENGTH:
            continue
        line = c4._CITATION.sub("", line)
        if c4._n_words(line, words, lang) < c4.MIN_WORDS_PER_LINE:
            continue
        low = line.lower()
        ok = line.endswith(c4.END_PUNCT) and not line.endswith(c4.ELLIPSIS)
        for s in ("", "_any_punct") if ok else ("_any_punct",):
            if "lorem ipsum" in low and a[f"lorem_ipsum_line{s}"] < 0:
                a[f"lorem_ipsum_line{s}"] = i
            if "javascript" in low:
                continue
            if "{" in line and a[f"curly_bracket_line{s}"] < 0:
                a[f"curly_bracket_line{s}"] = i
            if any(p in low for p in c4.POLICY):
                continue
            a[f"sentences{s}"] += c4._sentences(line, lang)
    return {k: float(v) for k, v in a.items()}


@pytest.mark.parametrize("lang", ["en", "de", "zh"])
def test_page_level_shortcuts_equal_the_line_by_line_reading(lang):
    import random

    rng = random.Random(lang)
    for _ in range(300):
        parts = rng.choices(PIECES[:rng.choice([8, len(PIECES)])], k=rng.randint(0, 12))
        text = "".join(p + rng.choice(BREAKS) for p in parts)
        assert c4.measure(text, lang=lang) == reference(text, lang), repr(text)
