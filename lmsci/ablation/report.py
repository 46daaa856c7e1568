"""``reports/ablation/report.{md,html}``: which curation choice makes a better model, in one table.

Read from the finished runs (lmsci.ablation.wiring's paths): the verdict table (loss on the evaluation
set, Δ to the baseline with the paired-bootstrap CI, the seed pairs' Δ: lmsci.ablation.stats), the funnel
side by side, loss per source and lm-eval scores with the spread over seeds, loss curves (loss.png),
the measured cost per variant (Snakemake's benchmark files under ``<results>/ablation/benchmarks``) and
provenance (``provenance.json``, the same format ``lmsci verify`` checks for a single run's report).
"""
from __future__ import annotations

import json
import math
import os
from collections import defaultdict
from pathlib import Path

import polars as pl
import yaml

from lmsci import config as C
from lmsci.ablation import plan, stats, wiring
from lmsci.ablation import variants as V
from lmsci.ablation.render import render
from lmsci.io import read_json, write_json

TARGET = "ablation_report"  # workflow/rules/ablation.smk
FUNNEL = ("extract", "filter", "pii", "dedup", "minhash", "tokens")


def _stats_file(cfg: C.Config, name: str, stage: str, source: str, shard: str) -> Path:
    d = cfg.results if stage == "extract" else plan.where(cfg, name, stage, source)
    return Path(d) / stage / source / f"{shard}.stats.json"


def funnel(cfg: C.Config) -> list[dict]:
    """Per variant: documents kept after each stage (all sources), training documents and tokens, the
    evaluation documents and near-duplicates of them dropped before training."""
    rows = []
    for n in V.names(cfg):
        row: dict = {"variant": n}
        for stage in FUNNEL:
            leds = [read_json(_stats_file(cfg, n, stage, s, sh)) for s in sorted(cfg.sources)
                    for sh in wiring.shards(cfg, s)]
            row[stage] = sum(x["kept"] for x in leds)
            if stage == "tokens":
                row["train_tokens"] = sum(x["extra"].get("train_tokens", 0) for x in leds)
                row["heldout"] = sum(x["dropped"].get("ablation/heldout", 0) for x in leds)
                row["contaminated"] = sum(x["dropped"].get("decontam/contaminated", 0) for x in leds)
                row["per_source_tokens"] = {s: sum(x["extra"].get("train_tokens", 0) for x in leds
                                                   if x["source"] == s) for s in sorted(cfg.sources)}
        rows.append(row)
    return rows


def _curves(cfg: C.Config) -> dict[str, dict[int, list[tuple[int, float]]]]:
    out: dict[str, dict[int, list]] = defaultdict(dict)
    for r in wiring.runs(cfg):
        n, s = r.split("/")
        lines = (Path(wiring.base(cfg)) / r / "train/metrics.jsonl").read_text().splitlines()
        out[n][int(s)] = [(m["step"], m["loss"]) for m in map(json.loads, filter(None, lines))]
    return out


def plot_curves(curves: dict, vocab_size: int, path: Path) -> None:
    from lmsci.report import plots

    plt = plots.plt
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    for i, (n, by_seed) in enumerate(curves.items()):
        for j, (s, pts) in enumerate(sorted(by_seed.items())):
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1.1, color=f"C{i}", alpha=0.9 if j == 0 else 0.5,
                    ls="-" if j == 0 else "--", label=n if j == 0 else None)
    plots.finish_loss(fig, ax, path, vocab_size, "training loss (nats/token)",
                      "Training loss per variant (solid: first seed, dashed: the others)", ls=":")


def lm_eval_table(cfg: C.Config) -> list[dict]:
    """task/metric → per variant mean, min, max over seeds (and Δ of the means to the baseline)."""
    if not cfg.ablation.lm_eval:
        return []
    vals: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in wiring.runs(cfg):
        n = r.split("/")[0]
        for task, metrics in sorted(read_json(Path(wiring.base(cfg)) / r / "lm_eval.json").items()):
            for k, v in sorted(metrics.items()):
                if k != "items" and isinstance(v, (int, float)) and math.isfinite(v):
                    vals[task, k][n].append(float(v))
    rows = []
    for (task, metric), by in sorted(vals.items()):
        base = sum(by[V.BASELINE]) / len(by[V.BASELINE])
        for n in V.names(cfg):
            xs = by[n]
            mean = sum(xs) / len(xs)
            rows.append({"task": task, "metric": metric, "variant": n, "mean": mean, "min": min(xs), "max": max(xs),
                         "delta": None if n == V.BASELINE else mean - base})
    return rows


def cost(cfg: C.Config) -> list[dict]:
    """Measured wall and CPU seconds per variant (its own jobs); jobs serving every variant apart. A job of a
    variant no longer configured (an earlier ablation's benchmark file) is not counted."""
    from lmsci.report.cost import jobs

    names = set(V.names(cfg))
    agg: dict[str, dict] = {}
    for j in jobs(wiring.base(cfg)):
        first = j["wildcards"].split("/", 1)[0]
        if j["wildcards"] and first not in names:
            continue
        who = first if first in names else "shared (evaluation set, tasks, report)"
        a = agg.setdefault(who, {"who": who, "jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
        a["jobs"] += 1
        a["wall_s"] += j["s"]
        a["cpu_s"] += j["cpu_s"]
        a["max_rss_mb"] = max(a["max_rss_mb"], j["max_rss_mb"])
    order = [*V.names(cfg)]
    return sorted(agg.values(), key=lambda a: order.index(a["who"]) if a["who"] in order else len(order))


def provenance(cfg: C.Config, config_files: list[str], out_dir: Path, root: Path) -> dict:
    """What made the report, in the format ``lmsci verify`` reads (lmsci.report.build's, for this target)."""
    from lmsci.provenance import git_state, hardware, packages, sha256_file
    from lmsci.report import artifacts
    from lmsci.report.build import _git_remote

    merged = C.merge(*(C.read_yaml(p) for p in config_files))
    results = Path(cfg.results)
    found = artifacts.collect(results, config_files, root, target=TARGET)
    return {"git": {**git_state(), "remote": _git_remote(root), "root": str(Path(root).resolve())},
            "config_files": config_files, "config_hash": C.digest(merged), "config": merged,
            "packages": packages(), "hardware": hardware(), "results_dir": str(results),
            "results_dir_from_report": os.path.relpath(results.resolve(), out_dir.resolve()),
            **found, "code_versions": artifacts.code_versions(), "data_inputs": artifacts.data_inputs(merged),
            "inputs": {p: sha256_file(p) for p in config_files},
            "inputs_from_report": {p: os.path.relpath(Path(p).resolve(), out_dir.resolve()) for p in config_files}}


def context(cfg: C.Config) -> dict:
    base = Path(wiring.base(cfg))
    runs = defaultdict(dict)
    for r in wiring.runs(cfg):
        n, s = r.split("/")
        runs[n][int(s)] = pl.read_parquet(base / r / "scores.parquet")
    ab = cfg.ablation
    result = stats.compare(runs, V.BASELINE, ab.resamples, ab.ci_level, cfg.seed)
    eval_blend = read_json(base / "eval/blend.json")
    t = cfg.train
    mixes = {n: read_json(wiring.blend(cfg, n))["composition"] for n in V.names(cfg)}
    return {"cfg": cfg, "result": result, "funnel": funnel(cfg), "mix": mixes, "lm_eval": lm_eval_table(cfg),
            "cost": cost(cfg),
            "curves": _curves(cfg), "eval": eval_blend, "plan": plan.describe(cfg),
            "budget": t.steps * t.global_batch_size * cfg.model.seq_length,
            "overlays": {n: yaml.safe_dump(o, sort_keys=True, default_flow_style=True).strip()
                         for n, o in ab.variants.items()}}


def build(config_files: list[str], out_dir: str | Path, root: Path) -> dict:
    """Write report.md, report.html, loss.png, ablation.json (the tables as data) and provenance.json into
    ``out_dir``; returns the verdicts."""
    from lmsci.provenance import sha256_file

    config_files = list(dict.fromkeys(config_files))
    cfg = C.load(*config_files, root=root)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ctx = context(cfg)
    plot_curves(ctx["curves"], ctx["eval"]["vocab_size"], out_dir / "loss.png")
    prov = provenance(cfg, config_files, out_dir, root)
    ctx["prov"] = prov
    render(ctx, out_dir)
    write_json(out_dir / "ablation.json", {"baseline": V.BASELINE, "result": ctx["result"], "funnel": ctx["funnel"],
                                           "lm_eval": ctx["lm_eval"], "cost": ctx["cost"], "budget_tokens": ctx["budget"]})
    prov["report_files"] = {f: sha256_file(out_dir / f) for f in ("loss.png", "report.md", "report.html", "ablation.json")}
    write_json(out_dir / "provenance.json", prov)
    return {n: r.get("verdict", "baseline") for n, r in ctx["result"].items()}
