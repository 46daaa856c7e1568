"""The training loop: blend manifest + configs in, metrics, checkpoint and summary out.

Speaks lmsci only; every megatron detail is behind :mod:`lmsci.train.adapter`. World size 1 runs
in this process (on a 1-rank gloo/NCCL group); a larger world relaunches this code under
torchrun — on this machine, or one per node under SLURM (:mod:`lmsci.train.launch`) — running
:mod:`lmsci.train.worker`, and waits for it.

Outputs in ``out_dir`` (written by global rank 0, each atomically — temp name, then rename):
    metrics.jsonl       one line per step: step, loss, lr, grad_norm, tokens, tokens_per_s, elapsed_s,
                        tflops (model TFLOP/s), mfu, max_memory_mb (max over ranks), loss_spike
    checkpoint/         the final step: dist_checkpointing (model, optimizer, step, rng) + lmsci_meta.json
    checkpoints/        step_0000000 (initial weights) and the Pythia-schedule steps (:mod:`.checkpoint`)
    train_summary.json  parameters (:mod:`.flops`), FLOPs/token and its 6N / attention terms, preset,
                        steps, final loss, tokens seen, wall seconds, world size, layout
    dataset_cache/      GPTDataset's shuffle indices (megatron would write them beside the .bin)

A run resumes from the latest complete checkpoint in ``out_dir`` and ends with the same weights as
an uninterrupted one: the LR schedule and the data order are functions of the step, and the
optimizer state and RNG are restored (tests/train/test_resume.py kills runs to check).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lmsci.config import ModelConfig, TrainConfig
from lmsci.io import write_json
from lmsci.train import adapter, checkpoint, flops, launch, metrics, schedule


class TrainError(RuntimeError):
    """Training cannot start or went wrong: one line naming the input or setting to fix."""


def train(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """Train ``model`` on the blend described by ``blend_path`` and write ``out_dir``."""
    with checkpoint.pinned_code_version():  # every checkpoint of this run records the same version
        _train(model, train, seed, Path(blend_path), Path(out_dir))


def _train(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    blend = read_blend(blend_path, model)  # fail before spending a launch on a bad manifest or checkpoint
    checkpoint.remove_stale(out_dir)  # other training code wrote them (the train rule reran)
    resume = checkpoint.latest(out_dir)
    if resume is not None:
        checkpoint.check_resume(resume, model, train, seed, checkpoint.fingerprint(blend_path, blend, model.seq_length))
    if train.world_size > 1 and "RANK" not in os.environ:
        if train.pipeline_parallel > 1 and resume is None:
            _initial_weights(model, train, seed, blend_path, out_dir)
        _launch(model, train, seed, blend_path, out_dir)
    else:
        run(model, train, seed, blend_path, out_dir)


def read_blend(blend_path: Path, model: ModelConfig) -> dict:
    """The ``mix`` stage's manifest, checked against the model it will feed."""
    try:
        blend = json.loads(Path(blend_path).read_text())
    except FileNotFoundError:
        raise TrainError(f"blend manifest not found: {blend_path}; run the mix stage") from None
    except json.JSONDecodeError as e:
        raise TrainError(f"blend manifest {blend_path} is not valid JSON: {e}") from None
    for key in ("vocab_size", "eod", "seq_length", "train", "valid"):
        if key not in blend:
            raise TrainError(f"blend manifest {blend_path} lacks '{key}'; rerun the mix stage")
    if blend["seq_length"] != model.seq_length:
        raise TrainError(f"blend manifest seq_length {blend['seq_length']} != model.seq_length "
                         f"{model.seq_length}; rerun the mix stage with the same config")
    if not blend["train"] or any(e["weight"] <= 0 for e in blend["train"]):
        raise TrainError(f"blend manifest {blend_path}: 'train' needs entries with weight > 0")
    return blend


# ----------------------------------------------------------------------------- launching

def _initial_weights(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """checkpoints/step_0000000 drawn at TP=PP=1 in this process: later pipeline stages would draw
    other weights (they skip earlier stages' RNG draws), so PP > 1 starts from these instead."""
    blend = read_blend(blend_path, model)
    one = dataclasses.replace(train, tensor_parallel=1, pipeline_parallel=1, data_parallel=1, virtual_pipeline=1)
    with adapter.distributed(1, 1, seed):
        module = adapter.build_model(model, blend["vocab_size"], 1, 1, wrap_ddp=False)
        meta = checkpoint.meta(0, seed, model, one, checkpoint.fingerprint(blend_path, blend, model.seq_length),
                               schedule.lr(0, train), False)
        checkpoint.save(checkpoint.step_dir(out_dir, 0), module, None, 0, meta, [], True)


def _launch(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"model": dataclasses.asdict(model), "train": dataclasses.asdict(train), "seed": seed,
            "blend_path": str(blend_path.resolve()), "out_dir": str(out_dir.resolve())}
    world = train.world_size
    # On the shared out_dir: with several SLURM nodes every node's torchrun reads it.
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out_dir, prefix=".launch-", delete=False) as f:
        json.dump(spec, f)
    try:
        cmd = launch.command(train, Path(f.name), adapter.free_port(), os.environ)
        print(f"train: launching {world} ranks on {train.nodes} node(s): {' '.join(cmd)}", flush=True)
        env = {**launch.environment(train, os.environ), checkpoint.CODE_VERSION_ENV: checkpoint.code_version()}
        rc = subprocess.run(cmd, env=env).returncode
    finally:
        os.unlink(f.name)
    if rc != 0:
        raise TrainError(f"torchrun with {world} processes exited with status {rc}; see the log above")


# ----------------------------------------------------------------------------- arithmetic

# Kept here for callers of the loop's older names (the scaling sweep, the benchmark).
parameter_count, flops_per_token = flops.parameter_count, flops.flops_per_token


# ----------------------------------------------------------------------------- the run

def _fresh_dataset_cache(cache_dir: Path, data: dict) -> None:
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


def run(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """Train in this process as one rank of ``train.world_size`` (1, or a torchrun worker), resuming
    from the latest complete checkpoint in ``out_dir`` if there is one."""
    blend = read_blend(blend_path, model)
    data = checkpoint.fingerprint(blend_path, blend, model.seq_length)
    resume = checkpoint.latest(out_dir)
    meta = checkpoint.check_resume(resume, model, train, seed, data) if resume is not None else None
    start = time.perf_counter()
    with adapter.distributed(train.tensor_parallel, train.pipeline_parallel, seed, train.virtual_pipeline):
        world = adapter.world_size()
        if world != train.world_size:
            raise TrainError(f"{world} processes but tensor × pipeline × data parallel = {train.world_size}; "
                             "fix train.*_parallel or the launcher's process count")
        main = adapter.rank() == 0
        if main:
            out_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.remove_partial(out_dir)
            _fresh_dataset_cache(out_dir / "dataset_cache", data)
        adapter.barrier()
        # Built first, right after seeding: the weights then equal _initial_weights' at TP=PP=1.
        module = adapter.build_model_chunks(model, blend["vocab_size"], train.tensor_parallel, train.pipeline_parallel,
                                            train.virtual_pipeline,
                                            use_distributed_optimizer=train.use_distributed_optimizer)
        optimizer = adapter.build_optimizer(module, train)
        vocab = adapter.padded_vocab_size(blend["vocab_size"], train.tensor_parallel)
        tokenizer = adapter.Tokenizer(vocab_size=blend["vocab_size"], eod=blend["eod"])
        dataset = adapter.build_train_dataset(
            [(e["prefix"], e["weight"]) for e in blend["train"]], tokenizer, model.seq_length,
            num_samples=train.steps * train.global_batch_size, seed=seed, cache_dir=out_dir / "dataset_cache")
        if main:
            print(f"train: {flops.describe(model, vocab)}", flush=True)
        rows: list[dict] = []
        if meta is None:
            checkpoint.save(checkpoint.step_dir(out_dir, 0), module, None, 0,
                            checkpoint.meta(0, seed, model, train, data, schedule.lr(0, train), False), [], main)
        else:
            adapter.load_checkpoint(resume, module, optimizer if meta["has_optimizer"] else None,
                                    load_rng=meta["layout"] == checkpoint.layout(train))
            rows = checkpoint.read_metrics(resume)[: meta["step"]]
            if main:
                print(f"train: resumed from {resume} at step {meta['step']}", flush=True)
        ckpt = _Checkpointer(module, optimizer, model, train, seed, data, out_dir, main)
        first = meta["step"] if meta else 0
        history = _steps(module, optimizer, dataset, model, train, ckpt, first, rows, flops_per_token(model, vocab), main)
        if main:
            wall = time.perf_counter() - start
            params = parameter_count(model, vocab)
            tokens = train.steps * train.global_batch_size * model.seq_length
            trained = (train.steps - (meta or {"step": 0})["step"]) * train.global_batch_size * model.seq_length
            _write_json(out_dir / "train_summary.json", {
                "parameters": params, "flops_per_token": flops_per_token(model, vocab),
                "flops_terms": flops.flops_terms(model, vocab), "preset": model.preset or None,
                "padded_vocab_size": vocab, "steps": train.steps, "final_loss": history[-1],
                "tokens_seen": tokens, "tokens_per_step": train.global_batch_size * model.seq_length,
                "wall_s": round(wall, 3), "tokens_per_s": round(trained / wall, 1), "world_size": world,
                "resumed_from_step": meta["step"] if meta else None,
                "layout": checkpoint.layout(train),
                "device": "cuda" if adapter.on_gpu() else "cpu",
            })
            print(f"train: done in {wall:.1f}s, final loss {history[-1]:.4f}, wrote {out_dir}", flush=True)


class _Checkpointer:
    """Writes the checkpoints :func:`schedule.checkpoint_steps` asks for; the last one is checkpoint/."""

    def __init__(self, module, optimizer, model, train, seed, data, out_dir: Path, main: bool) -> None:
        self.module, self.optimizer, self.model, self.train = module, optimizer, model, train
        self.seed, self.data, self.out_dir, self.main = seed, data, out_dir, main
        self.steps = set(schedule.checkpoint_steps(train))

    def after(self, step: int, rows: list[dict]) -> None:
        """``step`` optimizer steps are done; ``rows`` are their metrics (rank 0)."""
        if step not in self.steps:
            return
        t = self.train
        directory = self.out_dir / checkpoint.FINAL if step == t.steps else checkpoint.step_dir(self.out_dir, step)
        meta = checkpoint.meta(step, self.seed, self.model, t, self.data, schedule.lr(step, t), True)
        checkpoint.save(directory, self.module, self.optimizer, step, meta, rows, self.main)


def _steps(module, optimizer, dataset, model: ModelConfig, train: TrainConfig, ckpt: _Checkpointer,
           first: int, rows: list[dict], flops_per_tok: int, main: bool) -> list[float]:
    """Run optimizer steps ``first`` … ``steps - 1`` after ``rows`` (the metrics of the steps before,
    when resuming); rank 0 (``main``) writes metrics.jsonl and progress lines."""
    num_micro = train.global_batch_size // (train.micro_batch_size * train.data_parallel)
    tokens_per_step = train.global_batch_size * model.seq_length
    devices = train.world_size if adapter.on_gpu() else 1  # CPU ranks share one machine's peak
    # One iterator per model chunk (each chunk's forward reads the micro-batches in order).
    batches = [adapter.micro_batches(dataset, first, train.steps, train.micro_batch_size, train.global_batch_size)
               for _ in range(train.virtual_pipeline)]
    batches = batches[0] if train.virtual_pipeline == 1 else batches
    if main:
        print(f"train: {train.steps} steps × {train.global_batch_size} sequences × {model.seq_length} tokens "
              f"= {train.steps * tokens_per_step:,} tokens; {num_micro} micro-batches of "
              f"{train.micro_batch_size} per step on {train.world_size} rank(s)", flush=True)
    out = _AtomicLines(ckpt.out_dir / "metrics.jsonl", rows) if main else None
    spikes = metrics.SpikeDetector(train.loss_spike_window, train.loss_spike_zscore, [r["loss"] for r in rows])
    history, t0 = [r["loss"] for r in rows], time.perf_counter() - (rows[-1]["elapsed_s"] if rows else 0.0)
    for step in range(first, train.steps):
        lr = schedule.lr(step, train)
        adapter.set_lr(optimizer, lr, train.weight_decay)
        t = time.perf_counter()
        local, grad_norm = adapter.train_step(module, optimizer, batches, num_micro, model.seq_length,
                                              train.micro_batch_size)
        loss = adapter.mean_loss_across_ranks(local)
        now = time.perf_counter()
        memory = adapter.max_across_ranks(adapter.max_memory_mb())
        if not math.isfinite(loss):
            raise TrainError(f"loss is {loss} at step {step}; lower train.lr ({train.lr:g}) or raise warmup_steps")
        history.append(loss)
        z = spikes.update(loss)
        if out is not None:
            achieved = metrics.tflops(flops_per_tok, tokens_per_step, now - t)
            out.write({"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
                       "tokens": (step + 1) * tokens_per_step, "tokens_per_s": round(tokens_per_step / (now - t), 1),
                       "elapsed_s": round(now - t0, 4), "tflops": round(achieved, 6),
                       "mfu": round(metrics.mfu(achieved, train.peak_tflops, devices), 6),
                       "max_memory_mb": round(memory, 1), "loss_spike": spikes.is_spike(z)})
            if spikes.is_spike(z):
                print(f"train: WARNING loss spike at step {step + 1}: {loss:.4f} is {z:.1f} standard deviations "
                      f"above the previous {train.loss_spike_window} steps' mean", flush=True)
            if step % train.log_interval == 0 or step == train.steps - 1:
                print(f"step {step + 1:>6}/{train.steps}  loss {loss:.4f}  lr {lr:.2e}  grad_norm {grad_norm:.3f}  "
                      f"{tokens_per_step / (now - t):,.0f} tok/s  MFU {metrics.mfu(achieved, train.peak_tflops, devices):.1%}"
                      f"  {memory:,.0f} MB  {now - t0:.1f}s", flush=True)
        ckpt.after(step + 1, out.rows if out is not None else [])
    if out is not None:
        out.commit()
    return history


def read_meta(checkpoint_dir: Path) -> dict:
    path = Path(checkpoint_dir) / "lmsci_meta.json"
    if not path.is_file():
        raise TrainError(f"{path} not found: {checkpoint_dir} is not a checkpoint written by lmsci train")
    return json.loads(path.read_text())


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


class _AtomicLines:
    """JSON lines to ``.name.tmp``, renamed to ``name`` by :meth:`commit` (a crash leaves no partial file)."""

    def __init__(self, path: Path, rows: list[dict] = ()) -> None:
        self.path, self.tmp, self.rows = path, path.with_name(f".{path.name}.tmp"), []
        self.file = open(self.tmp, "w", buffering=1)  # line-buffered: progress is visible while running
        for row in rows:  # a resumed run's earlier steps
            self.write(row)

    def write(self, record: dict) -> None:
        self.rows.append(record)
        self.file.write(json.dumps(record) + "\n")

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)
