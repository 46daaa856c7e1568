"""Each ablation variant's full config: the run's own config with the variant's overlay merged over it.

The overlay may touch curation and mixing only (:data:`ALLOWED`); the model, the training recipe and
its token budget, the tokenizer and the evaluation set are the comparison's fixed yardstick
(:data:`FIXED` says why each is refused). A variant is built and checked exactly like a run's config
(``lmsci.config.from_dict``), so an unknown or out-of-range key fails with the same one-line error,
named from ``ablation.variants.<name>``.
"""
from __future__ import annotations

import dataclasses

from lmsci import config as C
from lmsci.conf.ablation import AblationConfig
from lmsci.conf.base import ConfigError, fail, show

BASELINE = "baseline"
# Sections a variant may overlay: the filters (thresholds and impl), the quality classifier, PII
# redaction, exact and MinHash dedup, and sources (only their weight and filters lists).
ALLOWED = ("sources", "langid", "gopher_quality", "gopher_repetition", "c4", "fineweb", "pii", "dedup",
           "minhash", "quality")
SOURCE_KEYS = ("weight", "filters")
_MODEL = "changes the model; every variant trains the baseline's architecture"
_BUDGET = ("changes the training recipe and its token budget (train.steps × train.global_batch_size × "
           "model.seq_length); every variant trains on the same number of tokens")
_EVAL = "changes the evaluation set; every variant is scored on one yardstick built before any filter"
FIXED = {"model": _MODEL, "train": _BUDGET, "seed": _BUDGET, "tokenize": _BUDGET, "evaluate": _EVAL,
         "extract": _EVAL, "split": _EVAL, "decontam": _EVAL, "tokenizer": _EVAL + " (one tokenizer for all)",
         "run": "is not a curation or mixing key", "results": "is not a curation or mixing key",
         "sweep": "is not a curation or mixing key", "ablation": "is not a curation or mixing key"}


def names(cfg: C.Config) -> list[str]:
    """The baseline first, then the variants in config order."""
    return [BASELINE, *cfg.ablation.variants] if cfg.ablation.variants else []


def _overlay_keys(name: str, overlay: dict, cfg: C.Config) -> None:
    where = f"ablation.variants.{name}"
    for key, value in overlay.items():
        if key in FIXED:
            fail(f"{where}.{show(str(key))}", f"{FIXED[key]}; overlay only {', '.join(ALLOWED)}")
        if key not in ALLOWED:
            fail(f"{where}.{show(str(key))}", f"unknown or non-curation key; overlay only {', '.join(ALLOWED)}")
        if key != "sources":
            continue
        if not isinstance(value, dict):
            fail(f"{where}.sources", "expected a mapping of source name to {weight, filters}")
        for src, keys in value.items():
            if src not in cfg.sources:
                fail(f"{where}.sources.{show(str(src))}", f"not a source of the run; choose from {', '.join(cfg.sources)}")
            for k in keys if isinstance(keys, dict) else ["<not a mapping>"]:
                if k not in SOURCE_KEYS:
                    fail(f"{where}.sources.{src}.{show(str(k))}", f"a variant changes a source's "
                         f"{' or '.join(SOURCE_KEYS)} only (its shards are the shared extraction's)")


def build(cfg: C.Config, name: str, root=None) -> C.Config:
    """The full config of variant ``name`` (the run's own for the baseline), checked like any config."""
    if name == BASELINE:
        return cfg
    overlay = cfg.ablation.variants[name]
    _overlay_keys(name, overlay, cfg)
    base = C.to_dict(cfg)
    base["ablation"] = {}
    try:
        return C.from_dict(C.merge(base, overlay), root=root)
    except ConfigError as e:
        raise ConfigError(f"config key 'ablation.variants.{name}': {e}") from None


_BUILT: dict[str, dict[str, C.Config]] = {}  # config digest → built variants (configs hold dicts: unhashable)


def all_configs(cfg: C.Config) -> dict[str, C.Config]:
    """name → full config of the baseline and every variant (cached per config)."""
    key = C.digest(cfg)
    if key not in _BUILT:
        _BUILT[key] = {n: build(cfg, n) for n in names(cfg)}
    return _BUILT[key]


def check(cfg: C.Config, root=None) -> None:
    """The ablation's cross-section rules (lmsci.config._check): every variant builds, changes something,
    and differs from every other; nothing it changes is part of the yardstick."""
    if getattr(cfg.train, "stages", None):  # multi-stage recipes blend per stage: not wired for variants yet
        fail("ablation", "train.stages (a staged recipe) is not supported in an ablation yet; ablate a "
             "single-stage recipe (remove train.stages from the ablation's config)")
    seen = {C.digest(_comparable(cfg)): BASELINE}
    for name in cfg.ablation.variants:
        v = build(cfg, name, root)
        # The yardstick, compared field by field (a belt to _overlay_keys's braces).
        for key in ("model", "train", "seed", "tokenizer", "split", "decontam", "evaluate", "extract", "tokenize"):
            if getattr(v, key) != getattr(cfg, key):
                fail(f"ablation.variants.{name}.{key}", FIXED[key])
        for src in cfg.sources:
            a, b = cfg.sources[src], v.sources[src]
            if (a.kind, a.paths) != (b.kind, b.paths):
                fail(f"ablation.variants.{name}.sources.{src}", "changes the source's shards; a variant curates "
                     "the shared extraction differently, it cannot read other data")
        d = C.digest(_comparable(v))
        if d in seen:
            fail(f"ablation.variants.{name}", f"its config equals {seen[d]}'s: nothing to compare; change a "
                 "curation or mixing key")
        seen[d] = name


def _comparable(cfg: C.Config) -> C.Config:
    return dataclasses.replace(cfg, ablation=AblationConfig())


def seeded(cfg: C.Config, seed: int) -> C.Config:
    """A variant's config for one training run: its training seed, and only the final checkpoint (the
    ablation scores nothing else; Pythia's schedule would cost ~60 MB per checkpoint per run)."""
    train = dataclasses.replace(cfg.train, checkpoint_log_max=0, checkpoint_interval=0, checkpoint_steps=[])
    return dataclasses.replace(cfg, seed=int(seed), train=train, ablation=AblationConfig())
