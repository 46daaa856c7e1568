"""Measure: add every configured filter's attributes as columns. Nothing is dropped here.

When ``langid`` is listed it is measured first and its ``lang`` column (the detected language,
ISO 639-1) chooses each page's word tokenizer and stop words in the other filters, so a page is
measured in its own language (FineWeb-2's approach); without it every page is measured as English.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping

import polars as pl
from tqdm import tqdm

from lmsci.curate import ngrams
from lmsci.curate import words as W
from lmsci.curate.registry import FILTERS, prefix
from lmsci.ledger import Ledger
from lmsci.stage import empty_dropped

CONFIGURED = ("gopher_quality", "gopher_repetition", "c4", "fineweb")  # measures that read their section


def sections_of(cfg, filters: list[str]) -> dict[str, object]:
    """The config sections of ``filters`` that :func:`tag` measures with (``impl``, bad words, ...)."""
    return {name: getattr(cfg, name) for name in filters if hasattr(cfg, name)}


def tag(df: pl.DataFrame, filters: list[str], source: str, shard: str,
        quality_model: str | Path | None = None,
        sections: Mapping[str, object] | None = None) -> tuple[pl.DataFrame, Ledger]:
    """``quality_model``: the trained classifier (model.bin), required when ``quality`` is listed.
    ``sections``: filter name -> its config section (``impl``, C4's ``bad_words_file``); a filter
    not given is measured with its defaults."""
    sections = dict(sections or {})
    led = Ledger("tag", source, shard)
    columns: dict[str, dict[str, list]] = {}  # filter -> column -> values
    texts = df["text"].to_list()
    langs = ["en"] * len(texts)
    for name in sorted(filters, key=lambda f: f != "langid"):  # langid first: the others read its language
        if name in CONFIGURED:
            continue
        mod, pre = FILTERS[name], prefix(name)
        if name == "quality":
            if quality_model is None:
                raise ValueError(f"tag {source}/{shard}: the quality filter needs a trained model (--quality-model)")
            measure = mod.scorer(quality_model)
        else:
            measure = mod.measure
        cols = columns[name] = {}
        for text in tqdm(texts, desc=f"tag {name} {source}/{shard}", unit="doc", leave=False, mininterval=2):
            for k, v in measure(text).items():
                cols.setdefault(pre + k, []).append(v)
        if name == "langid":
            langs = list(cols.get("lang", []))
    # The heuristic filters measure the whole shard at once, sharing each page's words
    # (lmsci.curate.words.words, in its language) laid end to end (lmsci.curate.ngrams.Words).
    heuristic = [name for name in filters if name in CONFIGURED]
    shared = None
    if any(name != "c4" and getattr(sections.get(name), "impl", "datatrove") == "datatrove" for name in heuristic):
        shared = ngrams.Words([W.words(t, lang) for t, lang in zip(texts, langs)])
    for name in heuristic:  # (an empty shard gets no attribute columns, as page-by-page measuring gave)
        cols = FILTERS[name].measure_many(texts, sections.get(name), langs, words=shared) if texts else {}
        columns[name] = {prefix(name) + k: v for k, v in cols.items()}
    for text in texts:
        led.keep(len(text))
    return df.with_columns(pl.Series(k, v) for name in filters for k, v in columns[name].items()), led


def stage(df: pl.DataFrame, filters: list[str], source: str, shard: str, **kwargs):
    """:func:`tag` as a stage (``lmsci.stage.run``): every document kept, an empty dropped frame."""
    out, led = tag(df, filters, source, shard, **kwargs)
    return out, empty_dropped(), led
