"""The paired bootstrap and the verdict: a planted worse variant is called worse with a CI excluding zero;
a variant equal to the baseline up to noise is not called anything."""
from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from lmsci.ablation import stats
from lmsci.ablation.score import document_nll


def _scores(nll_per_token: np.ndarray, tokens: np.ndarray) -> pl.DataFrame:
    ids = [f"d{i:04d}" for i in range(len(tokens))]
    return pl.DataFrame({"id": ids, "source": ["crawl" if i % 3 else "wiki" for i in range(len(ids))],
                         "tokens": tokens, "nll": nll_per_token * tokens})


@pytest.fixture
def docs():
    rng = np.random.default_rng(0)
    tokens = rng.integers(50, 500, size=200)
    difficulty = rng.normal(4.0, 0.6, size=200)  # documents differ far more than models do
    return rng, tokens, difficulty


def _runs(rng, tokens, difficulty, shift: float) -> dict[int, pl.DataFrame]:
    return {s: _scores(difficulty + shift + rng.normal(0, 0.05, size=len(tokens)), tokens) for s in (1, 2)}


def test_a_planted_worse_variant_is_worse_with_a_ci_excluding_zero(docs):
    rng, tokens, difficulty = docs
    runs = {"baseline": _runs(rng, tokens, difficulty, 0.0), "worse": _runs(rng, tokens, difficulty, 0.08)}
    out = stats.compare(runs, "baseline", 2000, 0.95, seed=1)
    w = out["worse"]
    assert w["verdict"] == stats.WORSE
    assert 0 < w["ci"][0] < w["delta"] < w["ci"][1]
    assert w["delta"] == pytest.approx(0.08, abs=0.02)
    assert all(d > 0 for d in w["seed_deltas"]) and "verdict" not in out["baseline"]


def test_a_better_variant_is_better_and_noise_is_no_detectable_difference(docs):
    rng, tokens, difficulty = docs
    runs = {"baseline": _runs(rng, tokens, difficulty, 0.0), "better": _runs(rng, tokens, difficulty, -0.08),
            "same": _runs(rng, tokens, difficulty, 0.0)}
    out = stats.compare(runs, "baseline", 2000, 0.95, seed=1)
    assert out["better"]["verdict"] == stats.BETTER and out["better"]["ci"][1] < 0
    assert out["same"]["verdict"] == stats.NONE and out["same"]["ci"][0] < 0 < out["same"]["ci"][1]


def test_seeds_that_disagree_in_sign_give_no_verdict_even_with_a_narrow_ci():
    assert stats.verdict([0.01, 0.02], [0.03, -0.01]) == stats.NONE
    assert stats.verdict([0.01, 0.02], [0.03, 0.01]) == stats.WORSE
    assert stats.verdict([-0.02, -0.01], [-0.03, -0.01]) == stats.BETTER


def test_the_bootstrap_is_paired_and_seeded(docs):
    rng, tokens, difficulty = docs
    a, b = _runs(rng, tokens, difficulty, 0.0)[1], _runs(rng, tokens, difficulty, 0.02)[1]
    one = stats.paired_bootstrap(b, a, 500, 0.9, seed=3)
    assert one == stats.paired_bootstrap(b, a, 500, 0.9, seed=3)
    # Unpaired, document difficulty (sd 0.6) would swamp a 0.02 shift; paired, the interval stays narrow.
    assert one["ci"][1] - one["ci"][0] < 0.02
    with pytest.raises(ValueError, match="different evaluation documents"):
        stats.paired_bootstrap(b.head(10), a, 100, 0.9, seed=3)


def test_loss_is_token_weighted_and_per_source():
    df = pl.DataFrame({"id": ["a", "b"], "source": ["x", "y"], "tokens": [1, 3], "nll": [4.0, 3.0]})
    assert stats.loss(df) == pytest.approx(7 / 4)
    assert stats.per_source(df) == {"x": 4.0, "y": 1.0}


def test_document_nll_sums_each_documents_tokens():
    assert document_nll(np.array([1.0, 2.0, 3.0, 4.0]), [1, 3]).tolist() == [1.0, 9.0]
    with pytest.raises(ValueError, match="scored tokens"):
        document_nll(np.array([1.0]), [2])
