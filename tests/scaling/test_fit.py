"""lmsci.scaling.fit on synthetic sweeps drawn from a known L(N, D) (Chinchilla's fitted constants)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from lmsci.scaling import fit as F

# Hoffmann et al. 2022, Eq. 10 (approach 3): the truth the synthetic losses are drawn from.
TRUTH = F.Law(E=1.69, A=406.4, B=410.7, alpha=0.34, beta=0.28)


def _sweep(noise: float, seed: int = 0, sizes: int = 5, budgets: int = 5):
    n = np.repeat(np.geomspace(1e7, 1e10, sizes), budgets)
    d = np.tile(np.geomspace(1e9, 1e12, budgets), sizes)
    loss = TRUTH.loss(n, d) * np.exp(np.random.default_rng(seed).normal(0.0, noise, len(n)))
    return n, d, loss


@pytest.fixture(scope="module")
def result():
    n, d, loss = _sweep(noise=0.005)
    runs = [{"name": f"r{i}", "N": a, "D": b, "loss": c} for i, (a, b, c) in enumerate(zip(n, d, loss))]
    return F.analyse(runs, flops=1e21, resamples=30, seed=7)


def test_recovers_the_constants_it_was_drawn_from(result):
    p = result["params"]
    assert abs(p["E"] - TRUTH.E) < 0.05
    assert abs(p["alpha"] - TRUTH.alpha) < 0.03 and abs(p["beta"] - TRUTH.beta) < 0.03
    assert 1 / 1.5 < p["A"] / TRUTH.A < 1.5 and 1 / 1.5 < p["B"] / TRUTH.B < 1.5


def test_bootstrap_interval_contains_the_truth(result):
    truth = {"E": TRUTH.E, "A": TRUTH.A, "B": TRUTH.B, "alpha": TRUTH.alpha, "beta": TRUTH.beta,
             "a": TRUTH.beta / (TRUTH.alpha + TRUTH.beta)}
    n_opt, d_opt = TRUTH.optimum(1e21)
    truth.update(N_opt=n_opt, D_opt=d_opt)
    for k, v in truth.items():
        lo, hi = result["ci"][k]
        assert lo < hi and lo <= v <= hi, (k, lo, v, hi)
    assert result["ci"]["alpha"][1] - result["ci"]["alpha"][0] < 0.1  # informative, not the whole line


def test_bootstrap_is_deterministic_for_a_seed():
    n, d, loss = _sweep(noise=0.02, sizes=3, budgets=3)
    law = F.fit(n, d, loss)
    first = F.bootstrap(n, d, loss, 1e21, resamples=6, seed=3, law=law)
    assert F.bootstrap(n, d, loss, 1e21, resamples=6, seed=3, law=law) == first
    assert F.bootstrap(n, d, loss, 1e21, resamples=6, seed=4, law=law) != first


@pytest.mark.parametrize("flops", [1e18, 5.76e23])
def test_compute_optimum_spends_the_budget_and_minimises_the_loss(flops):
    n_opt, d_opt = TRUTH.optimum(flops)
    assert math.isclose(6 * n_opt * d_opt, flops, rel_tol=1e-12)
    # The loss along the IsoFLOP line, minimised numerically, lands on the closed form.
    best = minimize_scalar(lambda x: TRUTH.loss(math.exp(x), flops / (6 * math.exp(x))),
                           bounds=(math.log(1e3), math.log(flops / 6 / 1e3)), method="bounded",
                           options={"xatol": 1e-10})
    assert math.isclose(math.exp(best.x), n_opt, rel_tol=1e-3)
    s = TRUTH.alpha + TRUTH.beta
    g = (TRUTH.alpha * TRUTH.A / (TRUTH.beta * TRUTH.B)) ** (1 / s)
    assert math.isclose(d_opt, (flops / 6) ** (TRUTH.alpha / s) / g, rel_tol=1e-9)


def test_isoflop_profiles_find_the_minimum_and_the_exponent():
    n, d, budgets = [], [], [1e19, 1e21]
    for c in budgets:
        centre = TRUTH.optimum(c)[0] * 1.3  # the grid is not centred on the optimum
        for k in range(-3, 4):
            n.append(centre * 2.0 ** k)
            d.append(c / (6 * n[-1]))
    iso = F.isoflop(np.array(n), np.array(d), TRUTH.loss(np.array(n), np.array(d)))
    assert [round(b["C"] / c, 6) for b, c in zip(iso["budgets"], budgets)] == [1.0, 1.0]
    for b, c in zip(iso["budgets"], budgets):
        assert abs(math.log(b["N_opt"] / TRUTH.optimum(c)[0])) < 0.15 and b["inside"]
        assert math.isclose(b["D_opt"] * b["N_opt"] * 6, c, rel_tol=1e-9)
    assert abs(iso["a"] - TRUTH.beta / (TRUTH.alpha + TRUTH.beta)) < 0.03
    assert iso["reason"] is None
    n_at, d_at = F.isoflop_optimum(iso, 1e20)
    assert abs(math.log(n_at / TRUTH.optimum(1e20)[0])) < 0.15


def test_isoflop_says_why_when_no_budget_has_three_sizes():
    n = np.repeat([1e7, 1e8, 1e9], 3)
    d = np.tile([1e9, 3e9, 2e10], 3)  # 6ND never repeats within 10 % on this grid
    loss = TRUTH.loss(n, d)
    iso = F.isoflop(n, d, loss, rtol=0.1)
    assert iso["budgets"] == [] and iso["a"] is None and ">= 3 model sizes" in iso["reason"]


def test_a_single_model_size_fails_in_one_line():
    d = np.geomspace(1e9, 1e12, 6)
    n = np.full_like(d, 1e8)
    with pytest.raises(F.ScalingError) as err:
        F.fit(n, d, TRUTH.loss(n, d))
    assert "\n" not in str(err.value) and "1 size(s)" in str(err.value)
