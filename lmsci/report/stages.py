"""The report's stages section for a recipe (``train.stages``, issue 12): the stages side by side.

Read from files alone: ``train/stages.json`` (lmsci.train.recipe.combine: schedule, seq_length, RoPE,
mix, losses and spike counts per stage), the combined ``train/metrics.jsonl`` (loss and LR over the
whole recipe, ``stage`` per row) and ``eval/stages/<name>.json`` + ``eval/stages/start.json`` (every
source scored after each stage and at the recipe's start — forgetting: a source's loss rising after
a stage that left it out of the mix). A run without stages has no section (``None``).
"""
from __future__ import annotations

import math
from pathlib import Path

from lmsci.io import read_json

PLOT = "stages.png"


def section(results: Path, metrics: list[dict], out_dir: Path) -> dict | None:
    path = Path(results) / "train/stages.json"
    if not path.is_file():
        return None
    stages = read_json(path)["stages"]
    evals = {}
    for name in ["start", *(s["name"] for s in stages)]:
        p = Path(results) / "eval/stages" / f"{name}.json"
        if p.is_file():
            evals[name] = read_json(p)["per_source"]
    sources = sorted({src for per in evals.values() for src in per})
    forgetting = [{"source": src, "losses": [evals.get(n, {}).get(src, {}).get("loss") for n in evals]}
                  for src in sources]
    for row in forgetting:  # change of the source's loss over the last stage (> 0: forgotten)
        last, prev = row["losses"][-1], row["losses"][-2] if len(row["losses"]) > 1 else None
        row["last_change"] = last - prev if last is not None and prev is not None else None
    plot(stages, metrics, Path(out_dir) / PLOT)
    mix_sources = sorted({src for s in stages for src in s["mix"]})
    return {"stages": stages, "eval_columns": list(evals), "forgetting": forgetting, "mix_sources": mix_sources,
            "plot": PLOT, "events": {k: sum(s["spikes"].get(k, 0) for s in stages) for k in ("skipped", "rollbacks")}
            | {"logged": sum(s.get("logged_spikes", 0) for s in stages)}}


def plot(stages: list[dict], metrics: list[dict], path: Path) -> None:
    """Loss and LR over the whole recipe, one colour per stage, stage boundaries marked."""
    from lmsci.report.plots import _save, plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5.5), dpi=100, sharex=True)
    for s in stages:
        mine = [m for m in metrics if m.get("stage") == s["name"]]
        label = f"{s['name']} ({s['schedule']}, seq {s['seq_length']})"
        top.plot([m["step"] for m in mine], [m["loss"] for m in mine], lw=1.2, label=label)
        bottom.plot([m["step"] for m in mine], [m["lr"] for m in mine], lw=1.2)
        spikes = [m for m in mine if m.get("loss_spike") and math.isfinite(m["loss"])]
        if spikes:
            top.scatter([m["step"] for m in spikes], [m["loss"] for m in spikes], marker="x", c="red", zorder=3)
        for ax in (top, bottom):
            if s["first_step"]:
                ax.axvline(s["first_step"] - 0.5, c="grey", ls=":", lw=1)
    top.set_ylabel("loss (nats/token)")
    top.set_title("Recipe: loss and learning rate per stage")
    top.legend(fontsize=8)
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step (whole recipe)")
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
    _save(fig, path)

