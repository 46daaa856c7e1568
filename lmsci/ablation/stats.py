"""The ablation's answer: each variant's loss on the evaluation set against the baseline's, with a CI.

Loss is token-weighted: Σ NLL / Σ tokens over the evaluation documents (nats per token; every variant
uses the one tokenizer, so tokens are the same units). The difference Δ = loss(variant) − loss(baseline)
gets a **paired bootstrap over evaluation documents, pooled over seeds** (Efron & Tibshirani 1993, ch. 13;
Koehn 2004 for paired resampling of a test set): a document's NLL is its mean over the seeds, both models
are resampled on the same documents, and the CI is the percentile interval of Δ. Seeds enter a second way:
Δ per seed pair (variant seed s vs baseline seed s). The verdict is "better"/"worse" only when the CI
excludes zero *and* every seed pair agrees in sign; otherwise "no detectable difference at this scale".
"""
from __future__ import annotations

import numpy as np
import polars as pl

BETTER, WORSE, NONE = "better", "worse", "no detectable difference at this scale"


def loss(scores: pl.DataFrame) -> float:
    return float(scores["nll"].sum() / scores["tokens"].sum())


def per_source(scores: pl.DataFrame) -> dict[str, float]:
    agg = scores.group_by("source").agg(pl.col("nll").sum(), pl.col("tokens").sum()).sort("source")
    return {s: n / t for s, n, t in agg.iter_rows()}


def pooled(runs: list[pl.DataFrame]) -> pl.DataFrame:
    """One row per document: mean NLL over the seeds' runs (all runs score the same documents)."""
    if not runs:
        raise ValueError("no scored run to pool")
    ids = [r.sort(["source", "id"])["id"].to_list() for r in runs]
    if any(i != ids[0] for i in ids):
        raise ValueError("the runs scored different evaluation documents; rebuild them on one evaluation set")
    base = runs[0].sort(["source", "id"]).select("id", "source", "tokens")
    nll = np.mean([r.sort(["source", "id"])["nll"].to_numpy() for r in runs], axis=0)
    return base.with_columns(pl.Series("nll", nll, dtype=pl.Float64))


def paired_bootstrap(variant: pl.DataFrame, baseline: pl.DataFrame, resamples: int, level: float,
                     seed: int) -> dict:
    """Δ = loss(variant) − loss(baseline) on the same documents, and its percentile CI."""
    v, b = variant.sort(["source", "id"]), baseline.sort(["source", "id"])
    if v["id"].to_list() != b["id"].to_list():
        raise ValueError("variant and baseline scored different evaluation documents")
    d = v["nll"].to_numpy() - b["nll"].to_numpy()
    t = b["tokens"].to_numpy().astype(np.float64)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(resamples, len(d)))
    deltas = d[idx].sum(axis=1) / t[idx].sum(axis=1)
    lo, hi = np.quantile(deltas, [(1 - level) / 2, (1 + level) / 2])
    return {"delta": float(d.sum() / t.sum()), "ci": [float(lo), float(hi)], "level": level,
            "resamples": resamples, "documents": len(d)}


def verdict(ci: list[float], seed_deltas: list[float]) -> str:
    lo, hi = ci
    if hi < 0 and all(x < 0 for x in seed_deltas):
        return BETTER
    if lo > 0 and all(x > 0 for x in seed_deltas):
        return WORSE
    return NONE


def compare(runs: dict[str, dict[int, pl.DataFrame]], baseline: str, resamples: int, level: float,
            seed: int) -> dict[str, dict]:
    """variant → {loss, loss_seeds, per_source (mean, min, max over seeds), delta, ci, seed_deltas, verdict}.
    ``runs``: variant → training seed → its scores."""
    base_pool = pooled(list(runs[baseline].values()))
    out = {}
    for name, by_seed in runs.items():
        seeds = sorted(by_seed)
        losses = [loss(by_seed[s]) for s in seeds]
        src = [per_source(by_seed[s]) for s in seeds]
        row = {"seeds": seeds, "loss": float(np.mean(losses)), "loss_seeds": losses,
               "per_source": {k: {"mean": float(np.mean([x[k] for x in src])), "min": min(x[k] for x in src),
                                  "max": max(x[k] for x in src)} for k in sorted(src[0])}}
        if name != baseline:
            pairs = [s for s in seeds if s in runs[baseline]]
            row["seed_deltas"] = [loss(by_seed[s]) - loss(runs[baseline][s]) for s in pairs]
            row |= paired_bootstrap(pooled([by_seed[s] for s in seeds]), base_pool, resamples, level, seed)
            row["verdict"] = verdict(row["ci"], row["seed_deltas"])
        out[name] = row
    return out
