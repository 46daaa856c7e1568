"""``fit.png``: the sweep's losses against N per token budget with the fitted L(N, D), and the
compute-optimal frontier (matplotlib, Agg backend, no version stamp so the PNG is reproducible)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from lmsci.io import atomic_path  # noqa: E402
from lmsci.scaling.fit import Law  # noqa: E402


def plot(result: dict, path: Path) -> None:
    """Left: validation loss vs N, one colour per D, fitted curves dashed. Right: loss vs C = 6ND
    for every run, the fitted law's compute-optimal frontier and the IsoFLOP minima."""
    law = Law(**result["params"])
    runs = result["runs"]
    n = np.array([r["N"] for r in runs], dtype=float)
    c = np.array([r["C"] for r in runs], dtype=float)
    loss = np.array([r["loss"] for r in runs])
    budgets = sorted({r["D"] for r in runs})
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), dpi=100)
    grid = np.geomspace(n.min() / 1.5, n.max() * 1.5, 100)
    colours = plt.cm.viridis(np.linspace(0, 0.85, len(budgets)))
    for d, colour in zip(budgets, colours):
        mine = [r for r in runs if r["D"] == d]
        left.scatter([r["N"] for r in mine], [r["loss"] for r in mine], color=colour, zorder=3, label=f"D = {d:,}")
        left.plot(grid, law.loss(grid, d), ls="--", color=colour, lw=1)
    p = result["params"]
    left.set(xscale="log", xlabel="N (non-embedding parameters)", ylabel="validation loss (nats/token)",
             title=f"L = {p['E']:.2f} + {p['A']:.3g}/N^{p['alpha']:.2f} + {p['B']:.3g}/D^{p['beta']:.2f}")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)

    opt = result["optimum"]
    c_grid = np.geomspace(c.min() / 2, max(c.max() * 2, opt["C"] * 1.5), 100)
    n_opt, d_opt = law.optimum(c_grid)
    right.scatter(c, loss, color="grey", zorder=3, label="runs")
    right.plot(c_grid, law.loss(n_opt, d_opt), color="C3", label="compute-optimal frontier (fit)")
    right.scatter([opt["C"]], [opt["loss"]], marker="*", s=120, color="C3", zorder=4,
                  label=f"target C: N = {opt['N']:.3g}, D = {opt['D']:.3g}")
    iso = result["isoflop"]["budgets"]
    if iso:
        right.scatter([b["C"] for b in iso], [b["loss"] for b in iso], marker="D", color="C0", zorder=4,
                      label="IsoFLOP minima (approach 2)")
    right.set(xscale="log", xlabel="C = 6·N·D (FLOPs)", ylabel="validation loss (nats/token)",
              title="Loss vs compute")
    right.grid(alpha=0.3, which="both")
    right.legend(fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
