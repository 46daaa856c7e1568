"""Checkpoint bookkeeping: where checkpoints live, which one a run resumes from, and whether it may.

Layout of a training ``out_dir`` (Pythia's schedule, :func:`lmsci.train.schedule.checkpoint_steps`):
    checkpoints/step_0000000/   initial weights (model only); created at TP=PP=1 when PP > 1, so
                                every layout starts from the weights TP=PP=1 would have drawn
    checkpoints/step_NNNNNNN/   after N optimizer steps: model, optimizer (Adam moments and step),
                                per-rank RNG, and lmsci_meta.json + lmsci_metrics.jsonl (below)
    checkpoint/                 the final step (the workflow's output), same contents
A checkpoint is complete once ``lmsci_meta.json`` is in it: it is written into ``<name>.tmp/`` and
renamed, so a run killed mid-save leaves only a ``.tmp`` directory, which resuming ignores.

lmsci_meta.json holds the step, consumed samples, the LR of the next step, the seed, the resolved
model and train config, the layout that wrote it, the data fingerprint and the training code's
version; lmsci_metrics.jsonl the metrics rows up to the step, so a resumed run's metrics.jsonl is
complete.

Stale checkpoints: when lmsci's training code changes, Snakemake reruns the train rule and deletes
its declared output ``checkpoint/`` — but ``checkpoints/`` cannot be declared (Snakemake would
delete it before every job, and with it the intermediate checkpoints a killed run resumes from).
So each checkpoint carries :func:`code_version` (the same hash the rule's ``code`` param holds) and
:func:`remove_stale` deletes, with a log line, those another version wrote before a run starts.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
from pathlib import Path

from lmsci import closure
from lmsci.io import write_json
from lmsci.config import ModelConfig, TrainConfig
from lmsci.train import adapter, recipe

META, METRICS = "lmsci_meta.json", "lmsci_metrics.jsonl"
FINAL, INTERMEDIATE = "checkpoint", "checkpoints"
# Train keys that may change on resume: the layout (dist_checkpointing reshards; data order is a
# function of the step alone), logging, the checkpoint schedule, the data-change switch itself, the
# spike policy (its state is in the checkpoint) and where step 0's weights came from (init_from: a
# resume loads the checkpoint's own; the results directory may have moved).
RESUMABLE_CHANGES = {"tensor_parallel", "pipeline_parallel", "data_parallel", "virtual_pipeline", "nodes", "gpus_per_node",
                     "micro_batch_size", "log_interval",
                     "checkpoint_log_max", "checkpoint_interval", "checkpoint_steps", "allow_data_change",
                     "peak_tflops", "loss_spike_window", "loss_spike_zscore",
                     "on_spike", "spike_lr_factor", "max_rollbacks", "init_from", "init_optimizer"}


class ResumeError(RuntimeError):
    """A checkpoint in out_dir cannot be resumed from: one line naming the difference and the fix."""


def step_dir(out_dir: Path, step: int) -> Path:
    return Path(out_dir) / INTERMEDIATE / f"step_{step:07d}"


fingerprint = recipe.fingerprint  # the data identity (lmsci.train.recipe: the blend manifest, tokenizer, seq_length)


def layout(train: TrainConfig) -> dict:
    return {"tensor_parallel": train.tensor_parallel, "pipeline_parallel": train.pipeline_parallel,
            "virtual_pipeline": train.virtual_pipeline, "data_parallel": train.data_parallel}


def meta(step: int, seed: int, model: ModelConfig, train: TrainConfig, data_fingerprint: dict, lr_next: float,
         has_optimizer: bool, spikes: dict | None = None, init: str | None = None) -> dict:
    """``spikes``: the spike handling's state at ``step`` (lr_scale, rollbacks, skipped), restored on resume;
    ``init``: the identity of the checkpoint the run started from (:func:`lmsci.train.init.identity`)."""
    return {"step": step, "consumed_samples": step * train.global_batch_size, "lr_next": lr_next, "seed": seed,
            "model": dataclasses.asdict(model), "train": dataclasses.asdict(train), "layout": layout(train),
            "has_optimizer": has_optimizer, "data_fingerprint": data_fingerprint, "code_version": code_version(),
            "spikes": spikes or {"lr_scale": 1.0, "rollbacks": 0, "skipped": 0}, "init": init}


CODE_VERSION_ENV = "LMSCI_CODE_VERSION"
_pinned: str | None = None


def code_version() -> str:
    """The training code's version: what workflow/rules/train.smk's ``code`` param hashes.

    One run sees one value even if a file is edited while it runs: :func:`pinned_code_version`
    holds it for the launcher, and torchrun workers inherit it through ``CODE_VERSION_ENV``.
    """
    return os.environ.get(CODE_VERSION_ENV) or _pinned or closure.verb_version("train")


@contextlib.contextmanager
def pinned_code_version():
    """Hash the code once, for everything inside the block (one ``lmsci train`` run)."""
    global _pinned
    before, _pinned = _pinned, code_version()
    try:
        yield _pinned
    finally:
        _pinned = before


def same_model(meta_: dict, model: ModelConfig) -> bool:
    """The checkpoint (its ``lmsci_meta.json``) was trained with exactly ``model``: what evaluation and
    the ablation's scoring check before loading weights into a model built from the config."""
    return meta_["model"] == dataclasses.asdict(model)


def read_meta(checkpoint_dir: Path) -> dict:
    """A checkpoint's ``lmsci_meta.json``; one line naming the folder when it is not an lmsci checkpoint."""
    path = Path(checkpoint_dir) / META
    if not path.is_file():
        raise recipe.TrainError(f"{path} not found: {checkpoint_dir} is not a checkpoint written by lmsci train")
    return json.loads(path.read_text())


def latest(out_dir: Path) -> Path | None:
    """The complete checkpoint with the most steps in ``out_dir`` (the final one wins a tie)."""
    found = [d for d in complete(out_dir) if read_meta(d).get("code_version") == code_version()]
    return max(found, key=lambda d: read_meta(d)["step"], default=None)


def complete(out_dir: Path) -> list[Path]:
    out_dir = Path(out_dir)
    found = [d for d in sorted((out_dir / INTERMEDIATE).glob("step_" + "[0-9]" * 7)) if (d / META).is_file()]
    return found + ([out_dir / FINAL] if (out_dir / FINAL / META).is_file() else [])


def remove_stale(out_dir: Path) -> list[Path]:
    """Delete the complete checkpoints in ``out_dir`` that other training code wrote (one log line
    each) and return them: a run must neither resume from them nor leave them among its own."""
    stale = [d for d in complete(out_dir) if read_meta(d).get("code_version") != code_version()]
    for d in stale:
        old = read_meta(d).get("code_version") or "none recorded"
        print(f"train: removing stale checkpoint {d} (training code {old}, now {code_version()})", flush=True)
        shutil.rmtree(d)
    return stale


def check_resume(checkpoint_dir: Path, model: ModelConfig, train: TrainConfig, seed: int, data_fingerprint: dict) -> dict:
    """The checkpoint's meta if this run may continue it, else :class:`ResumeError`."""
    m = read_meta(checkpoint_dir)
    out_dir = checkpoint_dir.parent if checkpoint_dir.name == FINAL else checkpoint_dir.parent.parent
    fix = f"delete {out_dir}/{FINAL} and {out_dir}/{INTERMEDIATE} to start over"
    if "layout" not in m or "sha256" not in m.get("data_fingerprint", {}):
        raise ResumeError(f"resume: {checkpoint_dir} was written by an older lmsci without resume metadata; {fix}")
    if m["model"] != dataclasses.asdict(model):
        diff = {k: (v, m["model"].get(k)) for k, v in dataclasses.asdict(model).items() if m["model"].get(k) != v}
        raise ResumeError(f"resume: {checkpoint_dir} holds another model ({_diff('model', diff)}); {fix}")
    now = dataclasses.asdict(train)
    diff = {k: (v, m["train"].get(k)) for k, v in now.items()
            if k not in RESUMABLE_CHANGES and m["train"].get(k, v) != v}
    if m["seed"] != seed:
        diff["seed"] = (seed, m["seed"])
    if diff:
        raise ResumeError(f"resume: {checkpoint_dir} was trained with other settings ({_diff('train', diff)}); "
                          f"restore them or {fix}")
    old = m["data_fingerprint"]
    if old["sha256"] != data_fingerprint["sha256"] and not train.allow_data_change:
        what = [k for k in ("blend_sha256", "tokenizer", "seq_length") if old.get(k) != data_fingerprint[k]]
        raise ResumeError(f"resume: {checkpoint_dir} was trained on other data ({', '.join(what)} changed); "
                          f"set train.allow_data_change: true to continue on the new data, or {fix}")
    return m


def _diff(section: str, diff: dict) -> str:
    return ", ".join(f"{k if k == 'seed' else section + '.' + k} {old!r} → {new!r}" for k, (new, old) in diff.items())


def save(directory: Path, module, optimizer, step: int, meta_: dict, metrics_rows: list[dict], main: bool) -> None:
    """Write one checkpoint atomically (every rank calls; rank 0 — ``main`` — owns the files)."""
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".tmp")
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    adapter.barrier()
    adapter.save_checkpoint(tmp, module, optimizer, step=step)
    adapter.barrier()
    if main:
        (tmp / METRICS).write_text("".join(json.dumps(r) + "\n" for r in metrics_rows))
        (tmp / META).write_text(json.dumps(meta_, indent=2, sort_keys=True) + "\n")  # last: marks it complete
        shutil.rmtree(directory, ignore_errors=True)
        os.replace(tmp, directory)
    adapter.barrier()


def read_metrics(checkpoint_dir: Path) -> list[dict]:
    path = Path(checkpoint_dir) / METRICS
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.is_file() else []


def remove_partial(out_dir: Path) -> None:
    """Drop ``*.tmp`` checkpoint directories a killed run left behind (rank 0, before training)."""
    for tmp in [Path(out_dir) / (FINAL + ".tmp"), *(Path(out_dir) / INTERMEDIATE).glob("step_*.tmp")]:
        shutil.rmtree(tmp, ignore_errors=True)


def fresh_dataset_cache(cache_dir: Path, data: dict) -> None:
    """megatron keys its index cache by the dataset config, not by the tokens: indices built for
    other data (e.g. a rerun after curation dropped documents) would point past the new .idx. The
    cache is kept only if it was built for this data fingerprint."""
    stamp = cache_dir / "fingerprint.json"  # also the marker that lmsci made the directory it may delete
    if cache_dir.is_dir() and not stamp.is_file() and any(cache_dir.iterdir()):
        raise RuntimeError(f"{cache_dir} holds files lmsci did not write (no fingerprint.json); move them away "
                           "or train into another --out-dir")
    if stamp.is_file() and json.loads(stamp.read_text()).get("sha256") != data["sha256"]:
        print(f"train: {cache_dir} was built for other data; rebuilding it", flush=True)
        shutil.rmtree(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    write_json(stamp, {"sha256": data["sha256"]})
