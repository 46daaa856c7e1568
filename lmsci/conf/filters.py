"""Config sections of the heuristic quality filters (one per filter; thresholds with their sources)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import Section, bounded, fail, ordered

# Per-language thresholds (FineWeb-2, Penedo et al. 2025, tunes every filter per language):
# `<section>.languages: {zh: {min_avg_word_length: 1.0}}` overrides that section's numeric
# thresholds for documents langid tagged with that ISO 639-1 code.
LANGUAGES_HELP = "per-language overrides of this section's numeric thresholds, e.g. {zh: {min_avg_word_length: 1}}"


def check_languages(section) -> None:
    import dataclasses

    from lmsci.conf.base import FieldError

    numeric = {k for k, v in vars(section).items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    for lang, overrides in section.languages.items():
        for k in overrides:
            if k not in numeric:
                fail(f"languages.{lang}.{k}", f"not a numeric threshold of this section; choose from "
                     f"{', '.join(sorted(numeric))}")
            if isinstance(getattr(section, k), int) and not float(overrides[k]).is_integer():
                fail(f"languages.{lang}.{k}", f"must be a whole number (got {overrides[k]!r})")
        try:  # the section as that language sees it passes the section's own checks
            dataclasses.replace(section, **{k: type(getattr(section, k))(v) for k, v in overrides.items()},
                                languages={})
        except FieldError as e:
            raise e.under(f"languages.{lang}") from None


@dataclass(frozen=True)
class GopherQualityConfig(Section):
    # Rae et al. 2021 (Gopher / MassiveText), Appendix A.1.1 "quality filters".
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3.0
    max_avg_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1  # '#' and '...' per word
    max_bullet_lines_ratio: float = 0.9  # lines starting with a bullet
    max_ellipsis_lines_ratio: float = 0.3  # lines ending with an ellipsis
    min_alpha_words_ratio: float = 0.8  # words containing at least one letter
    min_stop_words: int = 2  # distinct stop words: the, be, to, of, and, that, have, with (per language: curate/data)
    languages: dict[str, dict[str, float]] = field(default_factory=dict)  # see LANGUAGES_HELP

    def check(self) -> None:
        check_languages(self)
        ordered("min_doc_words", self.min_doc_words, "max_doc_words", self.max_doc_words)
        bounded("min_avg_word_length", self.min_avg_word_length, 0.0)
        ordered("min_avg_word_length", self.min_avg_word_length, "max_avg_word_length", self.max_avg_word_length)


@dataclass(frozen=True)
class GopherRepetitionConfig(Section):
    # Rae et al. 2021 (Gopher / MassiveText), Appendix A, Table A1 "repetition removal".
    # Fractions in [0, 1]; "char" fractions are over the characters of the document's words.
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    max_dup_para_frac: float = 0.30  # paragraphs ("\n\n"-separated) that repeat an earlier one
    max_dup_para_char_frac: float = 0.20  # characters in those repeated paragraphs
    max_dup_line_frac: float = 0.30  # lines that repeat an earlier line
    max_dup_line_char_frac: float = 0.20  # characters in those repeated lines
    max_top_2gram_char_frac: float = 0.20  # characters covered by the most frequent word 2-gram
    max_top_3gram_char_frac: float = 0.18
    max_top_4gram_char_frac: float = 0.16
    max_dup_5gram_char_frac: float = 0.15  # characters covered by word 5-grams that occur more than once
    max_dup_6gram_char_frac: float = 0.14
    max_dup_7gram_char_frac: float = 0.13
    max_dup_8gram_char_frac: float = 0.12
    max_dup_9gram_char_frac: float = 0.11
    max_dup_10gram_char_frac: float = 0.10
    languages: dict[str, dict[str, float]] = field(default_factory=dict)  # see LANGUAGES_HELP

    def check(self) -> None:
        check_languages(self)


@dataclass(frozen=True)
class C4Config(Section):
    # Raffel et al. 2020 (T5), Section 2.2 "Colossal Clean Crawled Corpus"; line rules as in
    # datatrove's C4QualityFilter (terminal punctuation, >= 3 words, javascript and policy lines).
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_sentences: int = 5  # sentences left in the lines C4 keeps; the paper drops pages with fewer than 5
    terminal_punct: bool = True  # C4 keeps only lines ending in . ! ? "; FineWeb turns this rule off
    drop_lorem_ipsum: bool = True  # C4: drop any page containing "lorem ipsum"
    drop_curly_bracket: bool = True  # C4: drop any page containing "{" (removes code)
    # Newline-separated words or phrases; a page containing any (whole words, any case) is dropped.
    # C4 used the LDNOOBW English list ("List of Dirty, Naughty, Obscene or Otherwise Bad Words");
    # it is not bundled and never downloaded: point at your copy (relative to the repository root).
    bad_words_file: str = ""  # "": no bad-words rule
    languages: dict[str, dict[str, float]] = field(default_factory=dict)  # see LANGUAGES_HELP

    def check(self) -> None:
        check_languages(self)
        bounded("min_sentences", self.min_sentences, 0, 10**6)


@dataclass(frozen=True)
class FineWebConfig(Section):
    # Penedo et al. 2024 (FineWeb), Section 3.3 / Appendix "custom filters"; ratios over non-empty lines.
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_line_punct_ratio: float = 0.12  # drop if lines ending in terminal punctuation are <= this share
    # Drop if characters in lines that repeat an earlier line are >= this share. The paper's value;
    # datatrove's FineWebQualityFilter defaults to 0.01, which would drop most short help pages here.
    max_dup_line_char_ratio: float = 0.1
    max_short_line_ratio: float = 0.67  # drop if lines of <= 30 characters are >= this share
    # datatrove's FineWebQualityFilter(new_line_ratio=0.3): drop if newlines per word exceed this
    # (lists); datatrove mode only — not among the paper's three filters.
    max_newline_word_ratio: float = 0.3
    languages: dict[str, dict[str, float]] = field(default_factory=dict)  # see LANGUAGES_HELP

    def check(self) -> None:
        check_languages(self)


