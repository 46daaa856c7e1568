"""Requested vs realised mix: the realised side read from the blend index a real BlendedDataset cached,
checked sample by sample against where the dataset says each sample comes from."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lmsci.report.composition import table
from lmsci.tokenize import indexed
from lmsci.train import adapter

VOCAB, SEQ, SAMPLES = 64, 16, 40


@pytest.fixture(scope="module")
def cached(tmp_path_factory) -> tuple[dict, Path, Counter]:
    """Two sources weighted 0.7 / 0.3, 40 samples drawn by megatron into a fresh cache directory."""
    root = tmp_path_factory.mktemp("mix")
    rng = np.random.default_rng(5)
    for name, n in (("a", 40), ("b", 60)):
        indexed.write(root / name, [list(rng.integers(1, VOCAB, int(rng.integers(20, 60)))) + [0] for _ in range(n)],
                      VOCAB)
    blend = {"seq_length": SEQ, "vocab_size": VOCAB, "eod": 0,
             "train": [{"source": s, "prefix": str(root / s), "weight": w} for s, w in (("a", 0.7), ("b", 0.3))],
             "composition": [{"source": s, "weight": w, "requested_tokens": round(w * SAMPLES * SEQ),
                              "available_tokens": a, "epochs": 0.0} for s, w, a in (("a", 0.7, 1500), ("b", 0.3, 2000))]}
    cache = root / "dataset_cache"
    with adapter.distributed(1, 1, 7):
        ds = adapter.build_train_dataset([(e["prefix"], e["weight"]) for e in blend["train"]],
                                         adapter.Tokenizer(vocab_size=VOCAB, eod=0), SEQ, SAMPLES, 7, cache)
        drawn = Counter(Path(adapter.sample_pieces(ds, i)[0][0]).name for i in range(SAMPLES))
    return blend, cache, drawn


def test_realised_counts_match_the_samples_megatron_draws(cached):
    blend, cache, drawn = cached
    t = table(blend, {"steps": 10, "tokens_per_step": 4 * SEQ}, cache)
    assert t["known"] and t["samples"] == SAMPLES
    rows = {r["source"]: r for r in t["rows"]}
    assert {s: r["realised_samples"] for s, r in rows.items()} == dict(drawn)
    assert sum(drawn.values()) == SAMPLES and drawn["a"] > drawn["b"]
    for s, avail in (("a", 1500), ("b", 2000)):
        assert rows[s]["realised_tokens"] == drawn[s] * SEQ
        assert rows[s]["realised_epochs"] == round(drawn[s] * SEQ / avail, 3)
        assert rows[s]["realised_share"] == pytest.approx(drawn[s] / SAMPLES)


def test_another_runs_cache_is_not_taken_for_this_one(cached):
    blend, cache, _ = cached
    t = table(blend, {"steps": 20, "tokens_per_step": 4 * SEQ}, cache)  # 80 samples: not what was cached
    assert not t["known"] and all(r["realised_tokens"] is None for r in t["rows"])
    swapped = {**blend, "train": [{**e, "weight": 1 - e["weight"]} for e in blend["train"]]}
    assert not table(swapped, {"steps": 10, "tokens_per_step": 4 * SEQ}, cache)["known"]
