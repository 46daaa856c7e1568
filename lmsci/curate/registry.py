"""Filter name (config key) → module with ``measure``, ``decide``, ``REASONS`` and its config section.

``quality`` measures with a trained model: its module has ``scorer(model path)`` instead of
``measure`` (lmsci.curate.tag passes the model the workflow trained).
"""
from __future__ import annotations

from types import ModuleType

from lmsci.config import Config
from lmsci.curate import c4, fineweb, gopher_quality, gopher_repetition, langid, quality

FILTERS: dict[str, ModuleType] = {"langid": langid, "gopher_quality": gopher_quality,
                                  "gopher_repetition": gopher_repetition, "c4": c4, "fineweb": fineweb,
                                  "quality": quality}


def section(cfg: Config, name: str):
    return getattr(cfg, name)


def prefix(name: str) -> str:
    """Column prefix of a filter's attributes (langid's are already named lang, lang_score)."""
    return "" if name == "langid" else "gopher_" if name == "gopher_quality" else f"{name}_"
