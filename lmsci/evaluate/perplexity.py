"""Held-out perplexity per source, from a training checkpoint.

For each ``blend["valid"]`` entry (a source: the validation datasets of all its shards, in shard
order) the documents' tokens are concatenated in order (EOD included, as in training) and cut into
non-overlapping windows of ``seq_length`` + 1 tokens; every window scores its last ``seq_length``
tokens given the ones before, so each of the first ``max_tokens`` predicted tokens is scored
exactly once. A shorter final window scores what is left. The model is
loaded at TP=PP=1 in one process, whatever layout it was trained in (dist_checkpointing reshards).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
from pathlib import Path

import torch

from lmsci.config import ModelConfig, TrainConfig
from lmsci.train import adapter, checkpoint
from lmsci.train.loop import read_blend, read_meta


class EvaluateError(RuntimeError):
    """Evaluation cannot run: one line naming the input to fix."""


def perplexity(model: ModelConfig, train: TrainConfig, blend_path: Path, checkpoint_dir: Path,
               max_tokens: int, out_json: Path) -> dict:
    """Score every validation source; write ``{"per_source": {name: {tokens, loss, ppl}}}`` to ``out_json``."""
    if max_tokens <= 0:
        raise EvaluateError(f"max_tokens must be > 0 (got {max_tokens}); fix evaluate.max_tokens")
    blend = read_blend(Path(blend_path), model)
    meta = read_meta(Path(checkpoint_dir))
    if not checkpoint.same_model(meta, model):
        raise EvaluateError(f"checkpoint {checkpoint_dir} was trained with model {meta['model']}, "
                            f"not the configured {dataclasses.asdict(model)}; retrain or fix the model config")
    seed = int(meta.get("seed", 0))  # irrelevant to the scores (weights are loaded), kept for the RNG setup
    with adapter.distributed(1, 1, seed):
        module = adapter.build_model(model, blend["vocab_size"], 1, 1, wrap_ddp=False)
        adapter.load_checkpoint(Path(checkpoint_dir), module)
        result = {"per_source": score_sources(module, blend, model, train, max_tokens)}
    write(out_json, result)
    return result


def score_sources(module, blend: dict, model: ModelConfig, train: TrainConfig, max_tokens: int) -> dict:
    """source → {tokens, loss, ppl} for every ``blend["valid"]`` entry, with ``module``'s current weights."""
    per_source = {}
    for entry in blend["valid"]:
        tokens = torch.from_numpy(adapter.read_tokens(entry["prefixes"], max_tokens + 1))
        per_source[entry["source"]] = _score(module, tokens, model.seq_length, train.micro_batch_size)
    return per_source


def write(out_json: Path, result: dict) -> None:
    out_json = Path(out_json)
    out_json.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_json.with_name(f".{out_json.name}.tmp")
    tmp.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, out_json)


def _score(module, tokens: torch.Tensor, seq_length: int, batch_size: int) -> dict:
    """Mean NLL (nats/token) over non-overlapping windows of ``tokens``."""
    n_pred = len(tokens) - 1
    if n_pred < 1:
        raise EvaluateError("a validation source has fewer than 2 tokens; enlarge split.valid_fraction")
    full = n_pred // seq_length
    total, count = 0.0, 0
    for first in range(0, full, batch_size):  # full windows, batched
        rows = range(first, min(full, first + batch_size))
        inputs = torch.stack([tokens[r * seq_length:(r + 1) * seq_length] for r in rows])
        labels = torch.stack([tokens[r * seq_length + 1:(r + 1) * seq_length + 1] for r in rows])
        loss = adapter.per_token_loss(module, inputs, labels)
        total, count = total + float(loss.double().sum()), count + loss.numel()
    if n_pred % seq_length:  # the remainder, as one shorter window
        start = full * seq_length
        loss = adapter.per_token_loss(module, tokens[start:-1].unsqueeze(0), tokens[start + 1:].unsqueeze(0))
        total, count = total + float(loss.double().sum()), count + loss.numel()
    mean = total / count
    return {"tokens": count, "loss": mean, "ppl": math.exp(mean)}
