"""Measure: add every configured filter's attributes as columns. Nothing is dropped here.

When ``langid`` is listed it is measured first and its ``lang`` column (the detected language,
ISO 639-1) chooses each page's word tokenizer and stop words in the other filters, so a page is
measured in its own language (FineWeb-2's approach); without it every page is measured as English.

When ``langid`` is the first filter and its section is given (the workflow passes
``langid.languages``, :func:`lmsci.config.measure_json`), a page detected in a language not listed
is dropped as ``langid/other_language`` whatever its other measures say, so they are not taken:
its other filters' columns are null (a shard with no page in a listed language gets none of those
columns, as an empty shard). Every page in a listed language is measured by every filter, below
langid's threshold included, so re-thresholding any filter (langid's ``threshold`` too) never
re-measures; changing ``langid.languages`` reruns tag. datatrove cascades the same way: its
LanguageFilter drops those pages before any other filter sees them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import polars as pl
from tqdm import tqdm

from lmsci.config import langid_first
from lmsci.curate import langid, ngrams, quality
from lmsci.curate import words as W
from lmsci.curate.registry import FILTERS, prefix
from lmsci.ledger import Ledger
from lmsci.stage import empty_dropped

CONFIGURED = ("gopher_quality", "gopher_repetition", "c4", "fineweb")  # measures that read their section


def sections_of(cfg, filters: list[str]) -> dict[str, object]:
    """The config sections of ``filters`` that :func:`tag` measures with (``impl``, bad words, ...)."""
    return {name: getattr(cfg, name) for name in filters if hasattr(cfg, name)}


def wanted_languages(filters: list[str], sections: Mapping[str, object]) -> frozenset[str] | None:
    """The languages a page must be detected in to be measured beyond langid (see the module doc), or
    None: every page is measured."""
    if langid_first(filters) and sections.get("langid") is not None:
        return frozenset(sections["langid"].languages)
    return None


def tag(df: pl.DataFrame, filters: list[str], source: str, shard: str,
        quality_model: str | Path | None = None,
        sections: Mapping[str, object] | None = None) -> tuple[pl.DataFrame, Ledger]:
    """``quality_model``: the trained classifier (model.bin), required when ``quality`` is listed.
    ``sections``: filter name -> its config section (``impl``, C4's ``bad_words_file``, langid's
    ``languages``); a filter not given is measured with its defaults."""
    sections = dict(sections or {})
    led = Ledger("tag", source, shard)
    columns: dict[str, dict[str, list]] = {}  # filter -> column -> values
    every = df["text"].to_list()
    texts, langs = every, ["en"] * len(every)
    if "langid" in filters:  # first: the others read its language
        columns["langid"] = _per_page("langid", langid.measure, every, f"{source}/{shard}")
        langs = list(columns["langid"].get("lang", []))
    rows = None  # the rows measured beyond langid (None: all)
    if (wanted := wanted_languages(filters, sections)) is not None:
        rows = [i for i, lang in enumerate(langs) if lang in wanted]
        texts, langs = [every[i] for i in rows], [langs[i] for i in rows]
    if "quality" in filters:
        if quality_model is None:
            raise ValueError(f"tag {source}/{shard}: the quality filter needs a trained model (--quality-model)")
        columns["quality"] = _per_page("quality", quality.scorer(quality_model), texts, f"{source}/{shard}")
    # The heuristic filters measure the whole shard at once, sharing each page's words
    # (lmsci.curate.words.words, in its language) laid end to end (lmsci.curate.ngrams.Words).
    heuristic = [name for name in filters if name in CONFIGURED]
    shared = None
    if texts and any(name != "c4" and getattr(sections.get(name), "impl", "datatrove") == "datatrove"
                     for name in heuristic):
        shared = ngrams.Words([W.words(t, lang) for t, lang in zip(texts, langs)])
    for name in heuristic:  # (no page measured: no attribute columns, as for an empty shard)
        cols = FILTERS[name].measure_many(texts, sections.get(name), langs, words=shared) if texts else {}
        columns[name] = {prefix(name) + k: v for k, v in cols.items()}
    for text in every:
        led.keep(len(text))
    out = [pl.Series(k, v if name == "langid" or rows is None else _scatter(v, rows, len(every)))
           for name in filters for k, v in columns[name].items()]
    return df.with_columns(out), led


def _per_page(name: str, measure, texts: list[str], where: str) -> dict[str, list]:
    """A filter measured page by page: its prefixed column -> values."""
    cols: dict[str, list] = {}
    pre = prefix(name)
    for text in tqdm(texts, desc=f"tag {name} {where}", unit="doc", leave=False, mininterval=2):
        for k, v in measure(text).items():
            cols.setdefault(pre + k, []).append(v)
    return cols


def _scatter(values: list, rows: list[int], n: int) -> list:
    """``values`` of ``rows`` in a column of ``n`` rows, null elsewhere."""
    out = [None] * n
    for i, v in zip(rows, values):
        out[i] = v
    return out


def stage(df: pl.DataFrame, filters: list[str], source: str, shard: str, **kwargs):
    """:func:`tag` as a stage (``lmsci.stage.run``): every document kept, an empty dropped frame."""
    out, led = tag(df, filters, source, shard, **kwargs)
    return out, empty_dropped(), led
