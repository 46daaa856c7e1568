"""Filter name (config key) → module with ``measure``, ``decide``, ``REASONS`` and its config section.

``quality`` measures with a trained model: its module has ``scorer(model path)`` instead of
``measure`` (lmsci.curate.tag passes the model the workflow trained).
"""
from __future__ import annotations

import dataclasses
from types import ModuleType

from lmsci.config import Config
from lmsci.curate import c4, fineweb, gopher_quality, gopher_repetition, langid, quality

FILTERS: dict[str, ModuleType] = {"langid": langid, "gopher_quality": gopher_quality,
                                  "gopher_repetition": gopher_repetition, "c4": c4, "fineweb": fineweb,
                                  "quality": quality}


def section(cfg: Config, name: str):
    return getattr(cfg, name)


def for_language(sec, lang: str | None):
    """``sec`` with its ``languages.<lang>`` overrides applied (the section itself when it has none)."""
    overrides = getattr(sec, "languages", None)  # langid's `languages` is its list of codes, not overrides
    if not isinstance(overrides, dict) or not lang or lang not in overrides:
        return sec
    return _overridden(sec, lang)


_CACHE: dict[tuple[int, str], object] = {}


def _overridden(sec, lang: str):
    key = (id(sec), lang)
    hit = _CACHE.get(key)
    if hit is None or hit[0] is not sec:
        fields = {f.name: f.type for f in dataclasses.fields(sec)}
        values = {k: (int(v) if fields[k] in (int, "int") else v) for k, v in sec.languages[lang].items()}
        hit = _CACHE[key] = (sec, dataclasses.replace(sec, **values, languages={}))
    return hit[1]


def prefix(name: str) -> str:
    """Column prefix of a filter's attributes (langid's are already named lang, lang_score)."""
    return "" if name == "langid" else "gopher_" if name == "gopher_quality" else f"{name}_"
