"""Plots for the report (matplotlib, Agg backend, fixed metadata so PNGs are reproducible)."""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lmsci.io import atomic_path  # noqa: E402

_META = {"Software": None}  # no matplotlib version stamp in the file


def loss_curve(metrics: list[dict], vocab_size: int, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    steps = [m["step"] for m in metrics]
    ax.plot(steps, [m["loss"] for m in metrics], lw=1.2, label="training loss")
    finish_loss(fig, ax, path, vocab_size, "cross-entropy (nats/token)", "Training loss")


def finish_loss(fig, ax, path: Path, vocab_size: int, ylabel: str, title: str, ls: str = "--") -> None:
    """A loss-per-step plot's common part: the ln(vocab) line (a uniform guess), labels, grid, legend; saved."""
    ax.axhline(math.log(vocab_size), ls=ls, c="grey", lw=1, label=f"ln(vocab) = {math.log(vocab_size):.2f}")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)


def training_curves(metrics: list[dict], path: Path) -> None:
    """Loss, learning rate, gradient norm and throughput per step, one panel each."""
    steps = [m["step"] for m in metrics]
    panels = (("loss", "loss (nats/token)"), ("lr", "learning rate"), ("grad_norm", "gradient norm (L2)"),
              ("tokens_per_s", "throughput (tokens/s)"))
    fig, axes = plt.subplots(2, 2, figsize=(10, 6), dpi=100, sharex=True)
    for ax, (key, label) in zip(axes.flat, panels):
        ys = [m.get(key) for m in metrics]
        pts = [(x, y) for x, y in zip(steps, ys) if isinstance(y, (int, float)) and math.isfinite(y)]
        if pts:
            ax.plot([x for x, _ in pts], [y for _, y in pts], lw=1.1)
        else:
            ax.text(0.5, 0.5, f"no {key} in metrics.jsonl", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(label)
        ax.grid(alpha=0.3)
    for ax in axes[1]:
        ax.set_xlabel("step")
    _save(fig, path)


def checkpoint_perplexity(evals: list[dict], path: Path) -> None:
    """Validation perplexity per source against the step of each checkpoint (log y)."""
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    sources = sorted({s for e in evals for s in e["per_source"]})
    for src in sources:
        pts = [(e["step"], e["per_source"][src]["ppl"]) for e in evals if src in e["per_source"]]
        ax.plot([x for x, _ in pts], [y for _, y in pts], marker="o", lw=1.2, label=src)
    ax.set_xscale("symlog", linthresh=1)
    ax.set_yscale("log")
    ax.set_xlabel("checkpoint step")
    ax.set_ylabel("validation perplexity")
    ax.set_title("Validation perplexity per source, by checkpoint")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _save(fig, path)


def funnel(rows: list[dict], path: Path) -> None:
    """Documents and tokens left after each stage, per source (tokens: unknown bars are left out)."""
    sources = sorted({r["source"] for r in rows})
    stages = list(dict.fromkeys(r["stage"] for r in rows))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), dpi=100)
    width = 0.8 / max(len(sources), 1)
    for ax, (into, out, unit) in zip(axes, (("seen", "kept", "documents"), ("tokens_in", "tokens_out", "tokens"))):
        for i, src in enumerate(sources):
            mine = [r for r in rows if r["source"] == src]
            by_stage = {r["stage"]: r[out] for r in mine}
            ys = [mine[0][into] if mine else None] + [by_stage.get(st) for st in stages]
            xs = [j + i * width for j in range(len(stages) + 1)]
            ax.bar([x for x, y in zip(xs, ys) if y is not None], [y for y in ys if y is not None], width, label=src)
        ax.set_xticks([j + 0.4 - width / 2 for j in range(len(stages) + 1)], ["input"] + stages, rotation=25,
                      ha="right")
        ax.set_ylabel(unit)
        ax.set_title(f"{unit.capitalize()} left after each stage")
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend()
    _save(fig, path)


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata=_META)
    plt.close(fig)


def s_curve(bands: int, rows: int, threshold: float, path: Path) -> None:
    """MinHash-LSH: probability that a pair with Jaccard similarity s becomes a candidate,
    1 − (1 − s^rows)^bands (Leskovec, Rajaraman & Ullman, Mining of Massive Datasets §3.4)."""
    s = [i / 200 for i in range(201)]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(s, [1 - (1 - x ** rows) ** bands for x in s], lw=1.5, label=f"{bands} bands × {rows} rows")
    if threshold > 0:
        ax.axvline(threshold, ls="--", c="grey", lw=1, label=f"merge threshold {threshold:g}")
    ax.set_xlabel("Jaccard similarity of the pair")
    ax.set_ylabel("probability of being caught")
    ax.set_title("MinHash-LSH S-curve")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, path)
