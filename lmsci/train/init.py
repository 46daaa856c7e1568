"""Where a fresh run's weights come from when ``train.init_from`` names a checkpoint.

Continued pretraining starts from an lmsci checkpoint (any parallel layout: dist_checkpointing
reshards on load) or a Hugging Face Llama/Mixtral directory (has ``config.json``; imported once into
``<out_dir>/init_import/`` by :func:`lmsci.evaluate.import_hf.import_hf`); a recipe stage starts
from the previous stage's final checkpoint the same way. Starting from a checkpoint is not a resume:
the step, schedule and data start at 0 (the previous run's LR, steps and warmup may differ), the
weights — and with ``train.init_optimizer: keep`` the Adam moments — are the checkpoint's. A
checkpoint of another shape or vocabulary is refused with one line.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

from lmsci.train.recipe import Run, TrainError

META = "lmsci_meta.json"
IMPORTED = "init_import"
# What a stage may change without changing any weight's shape or meaning: the context length and RoPE
# (no parameters), the preset label and the init scale of weights that are loaded anyway.
SHAPE_FREE = {"seq_length", "rotary_base", "rope_scaling", "preset", "init_method_std"}


def is_hf(directory: Path) -> bool:
    return (Path(directory) / "config.json").is_file() and not (Path(directory) / META).is_file()


def checkpoint_dir(run: Run) -> Path:
    """The lmsci checkpoint the run loads: init_from itself, or its import."""
    return run.out_dir / IMPORTED if is_hf(run.init) else run.init


def prepare(run: Run) -> dict:
    """Check (and for a HF directory, import) ``train.init_from`` before any rank starts; its meta."""
    src = run.init
    if not src.is_dir():
        raise TrainError(f"train.init_from: directory not found: {src}; point at an lmsci checkpoint or a "
                         "Hugging Face model directory")
    if is_hf(src):
        from lmsci.evaluate.import_hf import import_hf  # C's importer (torch + safetensors; no transformers)
        done = run.out_dir / IMPORTED / META
        if not done.is_file() or json.loads(done.read_text()).get("imported_from", {}).get("hf_dir") != str(src):
            print(f"train: importing the Hugging Face model {src} into {run.out_dir / IMPORTED}", flush=True)
            import_hf(src, run.out_dir / IMPORTED)
    ckpt = checkpoint_dir(run)
    if not (ckpt / META).is_file():
        raise TrainError(f"train.init_from: {ckpt} is not a complete lmsci checkpoint (no {META}); point at a "
                         "checkpoint/ or checkpoints/step_N/ directory, or a Hugging Face model directory")
    meta = json.loads((ckpt / META).read_text())
    check_compatible(meta, run, ckpt)
    if run.train.init_optimizer == "keep" and not meta.get("has_optimizer"):
        raise TrainError(f"train.init_optimizer: keep, but {ckpt} holds no optimizer state (an initial or imported "
                         "checkpoint); set it to reset")
    return meta


def check_compatible(meta: dict, run: Run, where: Path) -> None:
    """The checkpoint's model has this run's shape and vocabulary (one line naming the difference)."""
    theirs, ours = meta.get("model", {}), dataclasses.asdict(run.model)
    diff = [f"model.{k} {theirs[k]!r} → {v!r}" for k, v in ours.items()
            if k not in SHAPE_FREE and k in theirs and theirs[k] != v]
    vocab = meta.get("vocab_size") or meta.get("data_fingerprint", {}).get("tokenizer", {}).get("vocab_size")
    if vocab is not None and vocab != run.blend.vocab_size:
        diff.append(f"vocabulary {vocab} → {run.blend.vocab_size} tokens")
    if diff:
        raise TrainError(f"train.init_from: {where} has another shape ({', '.join(diff)}); train with its model "
                         "and tokenizer, or start from scratch")


def load(run: Run, module, optimizer) -> bool:
    """Load the init checkpoint into this rank's ``module`` (and ``optimizer`` with init_optimizer:
    keep); True if the optimizer state was loaded."""
    from lmsci.train import adapter

    ckpt = checkpoint_dir(run)
    keep = run.train.init_optimizer == "keep"
    adapter.load_checkpoint(ckpt, module, optimizer if keep else None, load_rng=False)
    if adapter.rank() == 0:
        print(f"train: initialised from {ckpt} (weights{' and optimizer state' if keep else ''})", flush=True)
    return keep


def identity(run: Run) -> str | None:
    """What the run started from: the sha256 of the init checkpoint's lmsci_meta.json (its step, config,
    data and code), recorded in every checkpoint of the run; None without init_from."""
    if run.init is None:
        return None
    return hashlib.sha256((checkpoint_dir(run) / META).read_bytes()).hexdigest()


def remove_other_starts(run: Run, found: list[Path]) -> list[Path]:
    """Delete those of ``found`` (complete checkpoints in out_dir) that started from other weights: a
    recipe stage rerun because the previous stage changed must not resume its old continuation."""
    now = identity(run)
    stale = [d for d in found if json.loads((d / META).read_text()).get("init") != now]
    for d in stale:
        print(f"train: removing checkpoint {d}: it continues another start than {run.init}", flush=True)
        shutil.rmtree(d)
    return stale
