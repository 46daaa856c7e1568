"""The sweep's runs: one config per (model shape, token budget), derived from the run's own config.

A run keeps everything of the base config — the data, ``model.seq_length``, the optimizer, the
layout — and changes only the shape (``sweep.models[i]``), the number of steps (the budget over
``global_batch_size × seq_length`` tokens per step, so the cosine schedule ends with the run:
Hoffmann et al. 2022, Appendix B, show a longer cycle overstates the loss), the warmup (``sweep.warmup_fraction`` of it) and the
checkpoints (only the final one: the sweep reads nothing else). Snakemake passes the slices of
:func:`run_config` to the same ``lmsci train`` and ``lmsci evaluate`` verbs the main run uses.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from lmsci.conf.sweep import run_config, shaped as _shaped, tokens_per_step  # noqa: F401 (re-exported)
from lmsci.config import Config, ConfigError, ModelConfig, SweepConfig, slice_json


def runs(sweep: SweepConfig) -> list[tuple[str, int]]:
    """(model name, tokens) of every run, models in config order, budgets ascending."""
    return [(m.name, t) for m in sweep.models for t in sorted(sweep.tokens)]


def targets(results: str, sweep: SweepConfig) -> list[str]:
    """What ``snakemake sweep`` builds: the fit and its plot (nothing without a sweep)."""
    return [f"{results}/scaling/fit.json", f"{results}/scaling/fit.png"] if runs(sweep) else []


def run_slice(cfg: Config, name: str, tokens: int, *keys: str) -> str:
    """:func:`lmsci.config.slice_json` of one sweep run's config: what its rules pass as ``--cfg``."""
    model, train = run_config(cfg.model, cfg.train, cfg.sweep, name, int(tokens))
    return slice_json(dataclasses.replace(cfg, model=model, train=train, sweep=SweepConfig()), *keys)


def non_embedding_parameters(model: ModelConfig, sweep: SweepConfig, name: str) -> int:
    """N of a sweep model: blocks + final norm (lmsci.train.flops; the vocabulary does not enter)."""
    from lmsci.train.flops import parameter_count

    return parameter_count(_shaped(model, sweep, name), 0)["non_embedding"]


def validation_loss(perplexity: dict) -> float:
    """Mean validation NLL (nats/token) over every scored token of every source (``lmsci evaluate``)."""
    per = perplexity["per_source"].values()
    tokens = sum(s["tokens"] for s in per)
    if not tokens:
        raise ConfigError("perplexity file scores no tokens; enlarge split.valid_fraction")
    return sum(s["loss"] * s["tokens"] for s in per) / tokens


def collect(model: ModelConfig, sweep: SweepConfig, names: list[str], evals: list[Path]) -> list[dict]:
    """[{name, N, D, loss}] of the runs named ``<model>/<tokens>``, with their perplexity files."""
    import json

    if len(names) != len(evals):
        raise ConfigError(f"{len(names)} run names but {len(evals)} perplexity files; pass one per run")
    out = []
    for name, path in zip(names, evals):
        shape, _, tokens = name.partition("/")
        if not tokens.isdigit():
            raise ConfigError(f"run name '{name}' is not <model>/<tokens>")
        out.append({"name": name, "N": non_embedding_parameters(model, sweep, shape), "D": int(tokens),
                    "loss": validation_loss(json.loads(Path(path).read_text()))})
    return out
