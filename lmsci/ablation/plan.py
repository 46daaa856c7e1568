"""Which variant makes which output: every upstream output a variant does not change is the baseline's.

Each data stage has a key: the JSON of every config slice the stage and all its upstream stages read
(the same slices the rules pass as ``--cfg``, so a key differs exactly when Snakemake would rerun the
job). A variant's stage is *owned* by the first of (baseline, variants in config order) with the same
key, and the variant's rules read the owner's files. So a threshold-only variant owns ``filter`` and
what follows, never ``tag`` (whose key holds ``measure_json`` — no threshold) or ``extract``.

Where outputs live: the baseline's curation (quality model → minhash) is the run's own
(``<results>/tag/...``, built by the ordinary rules); a variant's is under
``<results>/ablation/<variant>/data/``. Tokens and the blend are always the ablation's own (they exclude
the evaluation set; lmsci.ablation.evalset), and every training run is ``<results>/ablation/<variant>/<seed>/``.
"""
from __future__ import annotations

import json

from lmsci import config as C
from lmsci.ablation import variants as V

CURATION = ("quality", "tag", "filter", "pii", "dedup", "minhash")  # the run's own rules make the baseline's
STAGES = (*CURATION, "tokens", "mix")


def _j(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def stage_keys(cfg: C.Config) -> dict[tuple[str, str], str]:
    """(stage, source) → key; the global stages (quality, mix) use source ``""``."""
    ranked = sorted(s for s, src in cfg.sources.items() if "quality" in src.filters)
    quality = _j([C.slice_json(cfg, "seed", "quality"), ranked]) if ranked else ""
    out = {("quality", ""): quality}
    for s, src in sorted(cfg.sources.items()):
        f = list(src.filters)
        tag = _j([f, C.measure_json(cfg, f), quality if "quality" in f else "",
                  cfg.c4.bad_words_file if "c4" in f else ""])
        out["tag", s] = tag
        out["filter", s] = _j([tag, C.slice_json(cfg, *f)])
        out["pii", s] = _j([out["filter", s], C.slice_json(cfg, "pii")])
        out["dedup", s] = _j([out["pii", s], C.slice_json(cfg, "dedup")])
        out["minhash", s] = _j([out["dedup", s], C.slice_json(cfg, "minhash")])
        out["tokens", s] = out["minhash", s]  # tokenize's own slices (seed, decontam) are the yardstick's
    out["mix", ""] = _j([[out["tokens", s] for s in sorted(cfg.sources)],
                         C.slice_json(cfg, "seed", "sources", "model", "train", "tokenize")])
    return out


_OWNERS: dict[str, dict[tuple[str, str, str], str]] = {}


def owners(cfg: C.Config) -> dict[tuple[str, str, str], str]:
    """(variant, stage, source) → the variant whose output it reads (cached per config)."""
    digest = C.digest(cfg)
    if digest not in _OWNERS:
        _OWNERS[digest] = _owners(cfg)
    return _OWNERS[digest]


def _owners(cfg: C.Config) -> dict[tuple[str, str, str], str]:
    configs = V.all_configs(cfg)
    keys = {n: stage_keys(c) for n, c in configs.items()}
    out = {}
    for n in configs:
        for (stage, src), k in keys[n].items():
            out[n, stage, src] = next(m for m in configs if keys[m][stage, src] == k)
    return out


def owner(cfg: C.Config, variant: str, stage: str, source: str = "") -> str:
    return owners(cfg)[variant, stage, "" if stage in ("quality", "mix") else source]


def root(results: str, name: str, stage: str) -> str:
    """Directory that holds ``name``'s outputs of ``stage``."""
    if name == V.BASELINE and stage in CURATION:
        return results
    return f"{results}/ablation/{name}/data"


def where(cfg: C.Config, variant: str, stage: str, source: str = "") -> str:
    """The directory ``variant`` reads its ``stage`` outputs from (its owner's)."""
    return root(cfg.results, owner(cfg, variant, stage, source), stage)


def owned(cfg: C.Config) -> dict[str, list[tuple[str, str]]]:
    """variant → the (stage, source) outputs it makes itself (the baseline's curation: the run's rules)."""
    out: dict[str, list[tuple[str, str]]] = {n: [] for n in V.names(cfg)}
    for (n, stage, src), o in owners(cfg).items():
        if o == n:
            out[n].append((stage, src))
    return out


def describe(cfg: C.Config) -> list[str]:
    """One line per variant: what it reruns and what it shares (``lmsci ablation --plan``)."""
    lines = []
    sources = sorted(cfg.sources)
    for n in V.names(cfg):
        if n == V.BASELINE:
            lines.append(f"{n}: the run's own curation (results/<stage>/, shared by every variant); its own "
                         "tokens (the evaluation set left out), blend and training runs")
            continue
        parts = []
        for s in sources:
            first = next((st for st in STAGES[:-1] if st != "quality" and owner(cfg, n, st, s) == n), None)
            parts.append(f"{s}: {'reruns from ' + first if first else 'tokens shared'}")
        parts.append("blend: " + ("own" if owner(cfg, n, "mix") == n else f"{owner(cfg, n, 'mix')}'s"))
        q = owner(cfg, n, "quality")
        if any("quality" in c.sources[s].filters for c in [V.all_configs(cfg)[n]] for s in sources):
            parts.append("quality model: " + ("own" if q == n else f"{q}'s"))
        lines.append(f"{n}: " + "; ".join(parts))
    return lines
