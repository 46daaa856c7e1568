"""The final mix: tokens requested per source (the blend manifest) against tokens the run realised.

Megatron's BlendedDataset draws each of the run's ``steps × global_batch_size`` samples from one
source so that the counts track the weights (a greedy, seed-free assignment), and the training
stage caches that assignment in ``train/dataset_cache`` (``<hash>-BlendedDataset-train-*``): a
``description.txt`` (JSON: the datasets' prefixes, the weights, the size) and ``dataset_index.npy``
(one source index per sample). Realised tokens = samples drawn × ``seq_length`` (the tokens a
sample feeds the model); realised epochs = realised / available train tokens.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def _matching_index(cache_dir: Path, prefixes: list[str], weights: list[float], size: int) -> Path | None:
    for desc in sorted(Path(cache_dir).glob("*-BlendedDataset-train-description.txt")):
        try:
            d = json.loads(desc.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        paths = [ds.get("dataset_path") for ds in d.get("datasets", [])]
        if paths == prefixes and d.get("size") == size and np.allclose(d.get("weights", []), weights):
            index = desc.with_name(desc.name.replace("description.txt", "dataset_index.npy"))
            if index.is_file():
                return index
    return None


def samples_per_source(cache_dir: Path, blend: dict, samples: int) -> dict[str, int] | None:
    """Source → training samples drawn from it, or None when the run's blend index is not cached."""
    train = blend["train"]
    index = _matching_index(cache_dir, [e["prefix"] for e in train], [e["weight"] for e in train], samples)
    if index is None:
        return None
    drawn = np.load(index, allow_pickle=False)
    if len(drawn) != samples:
        return None
    counts = np.bincount(drawn.astype(np.int64), minlength=len(train))
    out: dict[str, int] = {}
    for e, c in zip(train, counts):  # one blend entry per shard (lmsci.mix): summed per source
        out[e["source"]] = out.get(e["source"], 0) + int(c)
    return out


def table(blend: dict, summary: dict, cache_dir: Path) -> dict:
    """Rows of requested vs realised tokens and epochs per source, and what the realised side is based on."""
    seq = blend["seq_length"]
    samples = summary["steps"] * summary["tokens_per_step"] // seq
    drawn = samples_per_source(Path(cache_dir), blend, samples)
    rows = []
    for r in blend["composition"]:
        n = drawn.get(r["source"], 0) if drawn is not None else None  # 0: a source without train tokens
        realised = n * seq if n is not None else None
        rows.append({**r, "realised_samples": n, "realised_tokens": realised,
                     "realised_share": realised / (samples * seq) if realised is not None else None,
                     "realised_epochs": (round(realised / r["available_tokens"], 3)
                                         if realised is not None and r["available_tokens"] else None)})
    return {"rows": rows, "samples": samples, "seq_length": seq, "realised_tokens": samples * seq,
            "known": drawn is not None}
