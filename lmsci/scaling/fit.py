"""Scaling-law fits over a sweep of (model size, token budget) runs: pure numpy/scipy.

Approach 3 of Chinchilla (Hoffmann et al. 2022, Section 3.3 and Appendix D.2) fits

    L(N, D) = E + A / N^α + B / D^β

by minimising the Huber loss (δ = 1e-3) of the log-space residuals, with the LSE parametrisation
log L̂ = LSE(a − α·log N, b − β·log D, e), A = exp a, B = exp b, E = exp e, using L-BFGS started
from the paper's grid of initialisations (α, β ∈ {0, 0.5, …, 2}, e ∈ {−1, −0.5, …, 1},
a, b ∈ {0, 5, …, 25}). The grid's objective is computed in one vectorised pass and L-BFGS runs
from the ``starts`` best grid points (Hoffmann et al. run it from every one; on the tests both
find the same optimum). The objective is divided by δ, which leaves the minimiser unchanged but
keeps L-BFGS's gradient tolerance meaningful (Besiroglu et al. 2024, "Chinchilla scaling: a
replication attempt", found the original fit stopped early). Unlike the paper, L-BFGS-B keeps
α, β >= 0 and the log-constants where exp() is finite (``BOUNDS``): small noisy sweeps need it.

Confidence intervals: the runs are resampled with replacement (``resamples`` times, a numpy
``default_rng(seed)``), each resample refitted with L-BFGS started from the fit to all runs, and
the percentile interval reported (a resample with a single size or budget is drawn again).

Compute-optimal allocation under C ≈ 6·N·D (Kaplan et al. 2020; Hoffmann et al. 2022, Eq. 4):
N_opt(C) = G·(C/6)^(β/(α+β)), D_opt(C) = G⁻¹·(C/6)^(α/(α+β)), G = (αA / (βB))^(1/(α+β)).

Approach 2 (IsoFLOP profiles, Hoffmann et al. 2022, Section 3.2): runs whose C = 6·N·D agree
within ``isoflop_rtol`` form one budget; a parabola in log N through the losses of ≥ 3 sizes at
that budget gives N_opt(C); with ≥ 2 such budgets a line through log N_opt vs log C gives the
exponent a of N_opt ∝ C^a (and D_opt ∝ C^(1−a)).

N is the non-embedding parameter count (Kaplan et al. 2020: blocks and final norm; no input
embedding, no output projection); D is training tokens.

``fit.json`` (written by :func:`analyse`'s caller, ``lmsci scaling-fit``)::

    params    {E, A, B, alpha, beta}                 approach 3 on all runs
    ci        {E|A|B|alpha|beta|a|N_opt|D_opt: [lo, hi]}   bootstrap percentile interval (a = β/(α+β))
    bootstrap {resamples, seed, level}
    runs      [{name, N, D, C, loss}]                 loss: validation nats/token
    optimum   {C, N, D, loss}                         compute-optimal at C = sweep.target_flops
    isoflop   {budgets: [{C, runs, N_opt, D_opt, loss, inside}], a, b, N_opt, D_opt, reason}
              one budget per IsoFLOP slice (runs: names; inside: N_opt within the sizes tried);
              a, b, N_opt, D_opt (at the target C) are null and reason says why when the grid
              does not allow them; reason is null when everything was fitted
    N         what N counts (a sentence)
"""
from __future__ import annotations

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import logsumexp
from threadpoolctl import threadpool_limits

HUBER_DELTA = 1e-3  # Hoffmann et al. 2022, Appendix D.2
GRID = {  # Hoffmann et al. 2022, Appendix D.2: the initialisations of L-BFGS
    "a": np.arange(0.0, 25.1, 5.0), "b": np.arange(0.0, 25.1, 5.0), "e": np.arange(-1.0, 1.01, 0.5),
    "alpha": np.arange(0.0, 2.01, 0.5), "beta": np.arange(0.0, 2.01, 0.5),
}
PARAMS = ("E", "A", "B", "alpha", "beta")
# L-BFGS-B bounds on (a, b, e, α, β): exponents >= 0 (a loss that rises with N or D is no power law)
# and log-constants where exp() stays finite — a sparse, noisy grid otherwise sends a = log A to overflow.
BOUNDS = [(-50.0, 250.0), (-50.0, 250.0), (-20.0, 20.0), (0.0, 10.0), (0.0, 10.0)]


class ScalingError(ValueError):
    """The runs cannot support the fit: one line saying what the grid lacks."""


@dataclass(frozen=True)
class Law:
    """L(N, D) = E + A / N^alpha + B / D^beta."""

    E: float
    A: float
    B: float
    alpha: float
    beta: float

    def loss(self, n, d):
        return self.E + self.A / np.power(n, self.alpha) + self.B / np.power(d, self.beta)

    def optimum(self, flops: float) -> tuple[float, float]:
        """Compute-optimal (N, D) with 6·N·D = ``flops`` (Hoffmann et al. 2022, Eq. 4)."""
        s = self.alpha + self.beta
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1.0 / s)
        n = g * (flops / 6.0) ** (self.beta / s)
        return n, flops / (6.0 * n)


# ----------------------------------------------------------------------------- approach 3

def _huber(r: np.ndarray, delta: float) -> np.ndarray:
    x = np.abs(r)
    return np.where(x <= delta, 0.5 * r * r, delta * (x - 0.5 * delta))


def _objective(theta: np.ndarray, log_n: np.ndarray, log_d: np.ndarray, log_l: np.ndarray, delta: float):
    """Σ Huber_δ(r)/δ over r = LSE(a − α log N, b − β log D, e) − log L, and its gradient."""
    a, b, e, alpha, beta = theta
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.full_like(log_n, e)])  # (3, runs)
    top = terms.max(axis=0)
    w = np.exp(terms - top)
    total = w.sum(axis=0)
    r = top + np.log(total) - log_l
    w /= total  # softmax weights: ∂LSE/∂(term)
    value = _huber(r, delta).sum() / delta
    dr = np.clip(r, -delta, delta) / delta  # Huber'(r) / δ
    grad = np.array([(dr * w[0]).sum(), (dr * w[1]).sum(), (dr * w[2]).sum(),
                     -(dr * w[0] * log_n).sum(), -(dr * w[1] * log_d).sum()])
    return value, grad


def _grid_values(log_n, log_d, log_l, delta: float) -> tuple[np.ndarray, np.ndarray]:
    """Every grid initialisation (rows of a, b, e, α, β) and its objective, in one pass."""
    grid = np.array(list(itertools.product(*GRID.values())))  # (4500, 5)
    a, b, e, alpha, beta = (grid[:, i:i + 1] for i in range(5))
    terms = np.stack([a - alpha * log_n, b - beta * log_d, np.broadcast_to(e, (len(grid), len(log_n)))])
    values = _huber(logsumexp(terms, axis=0) - log_l, delta).sum(axis=1) / delta
    return grid, values


def check_grid(n, d) -> None:
    """Five constants need ≥ 2 model sizes, ≥ 2 token budgets and ≥ 5 runs."""
    sizes, budgets = len(np.unique(n)), len(np.unique(d))
    if sizes < 2 or budgets < 2 or len(n) < 5:
        raise ScalingError(f"L(N, D) needs >= 2 model sizes, >= 2 token budgets and >= 5 runs; got {sizes} "
                           f"size(s), {budgets} budget(s), {len(n)} run(s): add sizes or budgets to sweep")


def fit(n, d, loss, delta: float = HUBER_DELTA, starts: int = 16, extra: list[np.ndarray] = ()) -> Law:
    """Approach 3: the Huber/LSE fit from the ``starts`` best grid points (and any ``extra`` θ)."""
    n, d, loss = (np.asarray(x, dtype=float) for x in (n, d, loss))
    check_grid(n, d)
    if np.any(loss <= 0) or np.any(n <= 0) or np.any(d <= 0):
        raise ScalingError("N, D and the losses must be > 0")
    args = (np.log(n), np.log(d), np.log(loss), delta)
    grid, values = _grid_values(*args)
    inits = [*grid[np.argsort(values, kind="stable")[:starts]], *extra]
    best = None
    with threadpool_limits(1):  # BLAS threads on a 5-parameter problem only contend: ~7x slower on 2 cores
        for theta0 in inits:
            res = minimize(_objective, theta0, args=args, jac=True, method="L-BFGS-B", bounds=BOUNDS,
                           options={"maxiter": 2000, "ftol": 1e-14, "gtol": 1e-10})
            if best is None or res.fun < best.fun:
                best = res
    a, b, e, alpha, beta = best.x
    return Law(E=math.exp(e), A=math.exp(a), B=math.exp(b), alpha=float(alpha), beta=float(beta))


def _theta(law: Law) -> np.ndarray:
    return np.array([math.log(law.A), math.log(law.B), math.log(law.E), law.alpha, law.beta])


def bootstrap(n, d, loss, flops: float, resamples: int, seed: int, level: float = 0.95, law: Law | None = None,
              delta: float = HUBER_DELTA, starts: int = 0) -> dict[str, list[float]]:
    """Percentile intervals of the constants, a = β/(α+β) and the optimum at ``flops``, over fits to
    ``resamples`` resamples of the runs drawn with replacement from ``default_rng(seed)``. Each refit
    starts from the fit to all runs (``law``, fitted here if not given) and the ``starts`` best grid points."""
    n, d, loss = (np.asarray(x, dtype=float) for x in (n, d, loss))
    full = _theta(law if law is not None else fit(n, d, loss, delta))
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in (*PARAMS, "a", "N_opt", "D_opt")}
    for _ in range(10 * resamples):
        if len(draws["E"]) == resamples:
            break
        idx = rng.integers(0, len(n), len(n))
        try:
            law = fit(n[idx], d[idx], loss[idx], delta, starts, extra=[full])
        except ScalingError:  # a resample with a single size or budget is drawn again
            continue
        for k, v in asdict(law).items():
            draws[k].append(v)
        draws["a"].append(law.beta / (law.alpha + law.beta))
        n_opt, d_opt = law.optimum(flops)
        draws["N_opt"].append(n_opt)
        draws["D_opt"].append(d_opt)
    if len(draws["E"]) < resamples:
        raise ScalingError(f"too few bootstrap resamples of the {len(n)} runs have >= 2 sizes and budgets")
    tail = 100 * (1 - level) / 2
    return {k: [float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail))] for k, v in draws.items()}


# ----------------------------------------------------------------------------- approach 2

def isoflop(n, d, loss, rtol: float = 0.1) -> dict:
    """IsoFLOP profiles: budgets of ≥ 3 sizes → parabola minima → N_opt ∝ C^a (module docstring)."""
    n, d, loss = (np.asarray(x, dtype=float) for x in (n, d, loss))
    c = 6.0 * n * d
    order = np.argsort(c, kind="stable")
    groups, current = [], [order[0]]
    for i in order[1:]:
        if c[i] <= c[current[0]] * (1 + rtol):
            current.append(i)
        else:
            groups.append(current)
            current = [i]
    groups.append(current)
    budgets, skipped = [], 0
    for g in groups:
        g = np.array(g)
        if len(np.unique(n[g])) < 3:
            continue
        k2, k1, k0 = np.polyfit(np.log(n[g]), loss[g], 2)
        if k2 <= 0:  # no interior minimum: the profile is not convex over these sizes
            skipped += 1
            continue
        log_n_opt = -k1 / (2 * k2)
        budget = float(np.exp(np.mean(np.log(c[g]))))  # geometric mean of the group's C
        n_opt = float(np.exp(log_n_opt))
        budgets.append({"C": budget, "runs": [int(i) for i in g], "N_opt": n_opt, "D_opt": budget / (6 * n_opt),
                        "loss": float(k0 + k1 * log_n_opt + k2 * log_n_opt ** 2),
                        "inside": bool(n[g].min() <= n_opt <= n[g].max())})
    out = {"budgets": budgets, "a": None, "b": None, "reason": None}
    if not budgets:
        out["reason"] = (f"no FLOP budget (6ND within {rtol:.0%}) has runs of >= 3 model sizes with a convex "
                         f"loss profile ({skipped} non-convex); approach 2 needs IsoFLOP slices of the grid")
    elif len(budgets) < 2:
        out["reason"] = "one IsoFLOP budget: its minimum is reported, but the exponent a needs >= 2 budgets"
    else:
        a, _ = np.polyfit(np.log([b["C"] for b in budgets]), np.log([b["N_opt"] for b in budgets]), 1)
        out["a"], out["b"] = float(a), float(1 - a)
    return out


def isoflop_optimum(iso: dict, flops: float) -> tuple[float | None, float | None]:
    """N_opt, D_opt at ``flops`` from the IsoFLOP power law (None when it has no exponent)."""
    if iso["a"] is None:
        return None, None
    b = iso["budgets"]
    log_c, log_n = np.log([x["C"] for x in b]), np.log([x["N_opt"] for x in b])
    k = np.mean(log_n - iso["a"] * log_c)
    n_opt = float(np.exp(k + iso["a"] * math.log(flops)))
    return n_opt, flops / (6 * n_opt)


# ----------------------------------------------------------------------------- all of it

def analyse(runs: list[dict], flops: float, resamples: int, seed: int, level: float = 0.95,
            isoflop_rtol: float = 0.1) -> dict:
    """``runs``: [{name, N, D, loss}] → the ``fit.json`` document (module docstring)."""
    n, d, loss = (np.array([r[k] for r in runs], dtype=float) for k in ("N", "D", "loss"))
    law = fit(n, d, loss)
    n_opt, d_opt = law.optimum(flops)
    iso = isoflop(n, d, loss, isoflop_rtol)
    for b in iso["budgets"]:
        b["runs"] = [runs[i]["name"] for i in b["runs"]]
    iso["N_opt"], iso["D_opt"] = isoflop_optimum(iso, flops)
    return {
        "params": asdict(law),
        "ci": bootstrap(n, d, loss, flops, resamples, seed, level, law),
        "bootstrap": {"resamples": resamples, "seed": seed, "level": level},
        "runs": [{"name": r["name"], "N": int(r["N"]), "D": int(r["D"]), "C": 6.0 * r["N"] * r["D"],
                  "loss": float(r["loss"])} for r in runs],
        "optimum": {"C": flops, "N": n_opt, "D": d_opt, "loss": float(law.loss(n_opt, d_opt))},
        "isoflop": iso,
        "N": "non-embedding parameters (blocks + final norm)",
    }
