"""The training loop: a :class:`~lmsci.train.recipe.Run` in, metrics, checkpoints and summary out.

Speaks lmsci only; every megatron detail is behind :mod:`lmsci.train.adapter`. World size 1 runs
in this process (on a 1-rank gloo/NCCL group); a larger world relaunches this code under
torchrun — on this machine, or one per node under SLURM (:mod:`lmsci.train.launch`) — running
:mod:`lmsci.train.worker`, and waits for it.

Outputs in ``out_dir`` (written by global rank 0, each atomically — temp name, then rename):
    metrics.jsonl       one line per step: step, loss, lr, grad_norm, tokens, tokens_per_s, elapsed_s,
                        tflops (model TFLOP/s), mfu, max_memory_mb (max over ranks), loss_spike,
                        spike_action (what train.on_spike did) and the run's skipped / rollbacks so far;
                        an MoE model's router losses (load_balancing_loss, z_loss)
    checkpoint/         the final step: dist_checkpointing (model, optimizer, step, rng) + lmsci_meta.json
    checkpoints/        step_0000000 (initial weights) and the Pythia-schedule steps (:mod:`.checkpoint`)
    train_summary.json  parameters (:mod:`.flops`), FLOPs/token and its 6N / attention terms, preset,
                        steps, final loss, tokens seen, wall seconds, world size, layout, spike counts
    dataset_cache/      GPTDataset's shuffle indices (megatron would write them beside the .bin)

A run resumes from the latest complete checkpoint in ``out_dir`` and ends with the same weights as
an uninterrupted one: the LR schedule and the data order are functions of the step, and the
optimizer state, RNG and spike state (LR scale after rollbacks) are restored
(tests/train/test_resume.py kills runs to check). With ``train.init_from`` a fresh run starts from
that checkpoint's weights (a recipe stage from the previous stage's; :mod:`.init`) — not a resume.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import subprocess
import tempfile
import time
from pathlib import Path

from lmsci.config import ModelConfig, TrainConfig
from lmsci.io import write_json
from lmsci.train import adapter, checkpoint, flops, init, launch, metrics, schedule, spikes
from lmsci.train.checkpoint import read_meta  # noqa: F401  (evaluation's and trace's import)
from lmsci.train.recipe import Run, TrainError, read_blend  # noqa: F401  (read_blend: evaluation's import)


def train(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """Train ``model`` on the blend described by ``blend_path`` and write ``out_dir``."""
    with checkpoint.pinned_code_version():  # every checkpoint of this run records the same version
        _train(Run.create(model, train, seed, Path(blend_path), Path(out_dir)))


def _train(run: Run) -> None:
    checkpoint.remove_stale(run.out_dir)  # other training code wrote them (the train rule reran)
    if run.init is not None:
        init.prepare(run)  # fail before a launch on a missing or mismatched init; import a HF model once
        init.remove_other_starts(run, checkpoint.complete(run.out_dir))  # a recipe's previous stage changed
    resume = checkpoint.latest(run.out_dir)
    if resume is not None:
        checkpoint.check_resume(resume, run.model, run.train, run.seed, run.data)
    if run.train.world_size > 1 and "RANK" not in os.environ:
        if run.train.pipeline_parallel > 1 and resume is None and run.init is None:
            _initial_weights(run)
        _launch(run)
    else:
        run_rank(run)


# ----------------------------------------------------------------------------- launching

def _initial_weights(run: Run) -> None:
    """checkpoints/step_0000000 drawn at TP=PP=1 in this process: later pipeline stages would draw
    other weights (they skip earlier stages' RNG draws), so PP > 1 starts from these instead."""
    one = dataclasses.replace(run.train, tensor_parallel=1, pipeline_parallel=1, data_parallel=1, virtual_pipeline=1,
                              expert_parallel=1)
    with adapter.distributed(1, 1, run.seed):
        module = adapter.build_model(run.model, run.blend.vocab_size, 1, 1, wrap_ddp=False)
        meta = checkpoint.meta(0, run.seed, run.model, one, run.data, schedule.lr(0, run.train), False)
        checkpoint.save(checkpoint.step_dir(run.out_dir, 0), module, None, 0, meta, [], True)


def _launch(run: Run) -> None:
    run.out_dir.mkdir(parents=True, exist_ok=True)
    world = run.train.world_size
    # On the shared out_dir: with several SLURM nodes every node's torchrun reads it.
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=run.out_dir, prefix=".launch-", delete=False) as f:
        json.dump(run.spec(), f)
    try:
        cmd = launch.command(run.train, Path(f.name), adapter.free_port(), os.environ)
        print(f"train: launching {world} ranks on {run.train.nodes} node(s): {' '.join(cmd)}", flush=True)
        env = {**launch.environment(run.train, os.environ), checkpoint.CODE_VERSION_ENV: checkpoint.code_version()}
        rc = subprocess.run(cmd, env=env).returncode
    finally:
        os.unlink(f.name)
    if rc != 0:
        raise TrainError(f"torchrun with {world} processes exited with status {rc}; see the log above")


# Kept here for callers of the loop's older names (the scaling sweep, the benchmark).
parameter_count, flops_per_token = flops.parameter_count, flops.flops_per_token
_fresh_dataset_cache = checkpoint.fresh_dataset_cache


# ----------------------------------------------------------------------------- the run

def run_rank(run: Run) -> None:
    """Train in this process as one rank of ``train.world_size`` (1, or a torchrun worker), resuming
    from the latest complete checkpoint in ``out_dir`` if there is one."""
    model, t, out_dir = run.model, run.train, run.out_dir
    resume = checkpoint.latest(out_dir)
    meta = checkpoint.check_resume(resume, model, t, run.seed, run.data) if resume is not None else None
    start = time.perf_counter()
    with adapter.distributed(t.tensor_parallel, t.pipeline_parallel, run.seed, t.virtual_pipeline,
                             expert_parallel_size=t.expert_parallel):
        world = adapter.world_size()
        if world != t.world_size:
            raise TrainError(f"{world} processes but tensor × pipeline × data parallel = {t.world_size}; "
                             "fix train.*_parallel or the launcher's process count")
        main = adapter.rank() == 0
        if main:
            out_dir.mkdir(parents=True, exist_ok=True)
            checkpoint.remove_partial(out_dir)
            checkpoint.fresh_dataset_cache(out_dir / "dataset_cache", run.data)
        adapter.barrier()
        # Built first, right after seeding: the weights then equal _initial_weights' at TP=PP=1.
        module = adapter.build_model_chunks(model, run.blend.vocab_size, t.tensor_parallel, t.pipeline_parallel,
                                            t.virtual_pipeline, use_distributed_optimizer=t.use_distributed_optimizer)
        optimizer = adapter.build_optimizer(module, t)
        vocab = adapter.padded_vocab_size(run.blend.vocab_size, t.tensor_parallel)
        dataset = _dataset(run)
        if main:
            print(f"train: {flops.describe(model, vocab)}", flush=True)
        rows: list[dict] = []
        ckpt = _Checkpointer(run, module, optimizer, main)
        if meta is None:
            kept = init.load(run, module, optimizer) if run.init is not None else False
            ckpt.save(0, [], has_optimizer=kept)
        else:
            rows = ckpt.restore(resume, meta)
            if main:
                print(f"train: resumed from {resume} at step {meta['step']}", flush=True)
        history = _steps(run, module, dataset, ckpt, rows, flops_per_token(model, vocab), main)
        if main:
            _summary(run, history, ckpt, meta, vocab, world, time.perf_counter() - start)


def _dataset(run: Run):
    t = run.train
    tokenizer = adapter.Tokenizer(vocab_size=run.blend.vocab_size, eod=run.blend.eod)
    return adapter.build_train_dataset(run.blend.weighted, tokenizer, run.model.seq_length,
                                       num_samples=t.steps * t.global_batch_size, seed=run.seed,
                                       cache_dir=run.out_dir / "dataset_cache", document_masking=t.document_masking)


def _summary(run: Run, history: list[float], ckpt, meta: dict | None, vocab: int, world: int, wall: float) -> None:
    model, t = run.model, run.train
    trained = (t.steps - (meta or {"step": 0})["step"]) * run.tokens_per_step
    write_json(run.out_dir / "train_summary.json", {
        "parameters": flops.parameter_count(model, vocab), "flops_per_token": flops.flops_per_token(model, vocab),
        "flops_terms": flops.flops_terms(model, vocab), "preset": model.preset or None,
        "padded_vocab_size": vocab, "steps": t.steps, "final_loss": history[-1],
        "tokens_seen": t.steps * run.tokens_per_step, "tokens_per_step": run.tokens_per_step,
        "wall_s": round(wall, 3), "tokens_per_s": round(trained / wall, 1), "world_size": world,
        "resumed_from_step": meta["step"] if meta else None, "init_from": t.init_from or None,
        "layout": checkpoint.layout(t), "spikes": dict(ckpt.spikes.state),
        "device": "cuda" if adapter.on_gpu() else "cpu",
    })
    print(f"train: done in {wall:.1f}s, final loss {history[-1]:.4f}, wrote {run.out_dir}", flush=True)


class _Checkpointer:
    """Writes the checkpoints :func:`schedule.checkpoint_steps` asks for (the last one is checkpoint/),
    restores them, and holds the spike policy's state that each one records."""

    def __init__(self, run: Run, module, optimizer, main: bool) -> None:
        self.run, self.module, self.optimizer, self.main = run, module, optimizer, main
        self.steps = set(schedule.checkpoint_steps(run.train))
        self.spikes = spikes.SpikePolicy(run.train)
        self.init = init.identity(run)

    def save(self, step: int, rows: list[dict], has_optimizer: bool = True) -> None:
        r = self.run
        directory = r.out_dir / checkpoint.FINAL if step == r.train.steps else checkpoint.step_dir(r.out_dir, step)
        meta = checkpoint.meta(step, r.seed, r.model, r.train, r.data, self.lr(step), has_optimizer,
                               dict(self.spikes.state), self.init)
        checkpoint.save(directory, self.module, self.optimizer if has_optimizer else None, step, meta, rows, self.main)

    def after(self, step: int, rows: list[dict]) -> None:
        """``step`` optimizer steps are done; ``rows`` are their metrics (rank 0)."""
        if step in self.steps:
            self.save(step, rows)

    def lr(self, step: int) -> float:
        return schedule.lr(step, self.run.train) * self.spikes.state["lr_scale"]

    def restore(self, directory: Path, meta: dict, rollback: bool = False) -> list[dict]:
        """Load ``directory`` (a resume, or a rollback's reload) and return the metrics rows up to it."""
        if rollback and not meta["has_optimizer"]:  # back to step 0: a fresh optimizer, as the run had
            self.optimizer = adapter.build_optimizer(self.module, self.run.train)
        adapter.load_checkpoint(directory, self.module, self.optimizer if meta["has_optimizer"] else None,
                                load_rng=meta["layout"] == checkpoint.layout(self.run.train))
        self.spikes.restore(meta.get("spikes"))
        return checkpoint.read_metrics(directory)[: meta["step"]]


def _steps(run: Run, module, dataset, ckpt: _Checkpointer, rows: list[dict], flops_per_tok: int,
           main: bool) -> list[float]:
    """Run optimizer steps from ``len(rows)`` (the metrics of the steps before, when resuming) to
    ``train.steps``; rank 0 (``main``) writes metrics.jsonl and progress lines. A rollback reloads
    the last checkpoint and continues from its step."""
    t, seq = run.train, run.model.seq_length
    num_micro = t.global_batch_size // (t.micro_batch_size * t.data_parallel)
    devices = t.world_size if adapter.on_gpu() else 1  # CPU ranks share one machine's peak
    if main:
        print(f"train: {t.steps} steps × {t.global_batch_size} sequences × {seq} tokens "
              f"= {t.steps * run.tokens_per_step:,} tokens; {num_micro} micro-batches of "
              f"{t.micro_batch_size} per step on {t.world_size} rank(s)", flush=True)
    out = metrics.AtomicLines(run.out_dir / "metrics.jsonl", rows) if main else None
    step, t0 = len(rows), time.perf_counter() - (rows[-1]["elapsed_s"] if rows else 0.0)
    batches = _batches(dataset, step, t)
    ckpt.spikes.start([r["loss"] for r in rows])
    while step < t.steps:
        lr = ckpt.lr(step)
        adapter.set_lr(ckpt.optimizer, lr, t.weight_decay)
        t1 = time.perf_counter()
        loss, grad_norm, z, action, aux = ckpt.spikes.step(module, ckpt.optimizer, batches, num_micro, seq, t)
        now = time.perf_counter()
        memory = adapter.max_across_ranks(adapter.max_memory_mb())
        if not math.isfinite(loss):
            raise TrainError(f"loss is {loss} at step {step}; lower train.lr ({t.lr:g}) or raise warmup_steps")
        if action == "rollback":
            back = checkpoint.latest(run.out_dir)
            if main:
                print(f"train: loss spike at step {step + 1} ({loss:.4f}, z = {z:.1f}): rollback "
                      f"{ckpt.spikes.state['rollbacks']}/{t.max_rollbacks} to {back}, LR × "
                      f"{ckpt.spikes.state['lr_scale']:g}", flush=True)
            rows = ckpt.restore(back, checkpoint.read_meta(back) | {"spikes": ckpt.spikes.state}, rollback=True)
            step = len(rows)
            if out is not None:
                out.truncate(step)
            batches = _batches(dataset, step, t)
            ckpt.spikes.start([r["loss"] for r in rows])
            continue
        if out is not None:
            achieved = metrics.tflops(flops_per_tok, run.tokens_per_step, now - t1)
            mfu = metrics.mfu(achieved, t.peak_tflops, devices)
            out.write({"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
                       "tokens": (step + 1) * run.tokens_per_step,
                       "tokens_per_s": round(run.tokens_per_step / (now - t1), 1), "elapsed_s": round(now - t0, 4),
                       "tflops": round(achieved, 6), "mfu": round(mfu, 6), "max_memory_mb": round(memory, 1),
                       "loss_spike": action is not None, "spike_action": action or "",
                       "skipped": ckpt.spikes.state["skipped"], "rollbacks": ckpt.spikes.state["rollbacks"],
                       **aux})  # MoE: load_balancing_loss, z_loss (without their coefficients)
            if action is not None:
                print(f"train: WARNING loss spike at step {step + 1}: {loss:.4f} is {z:.1f} standard deviations "
                      f"above the previous {t.loss_spike_window} steps' mean ({action})", flush=True)
            if step % t.log_interval == 0 or step == t.steps - 1:
                print(f"step {step + 1:>6}/{t.steps}  loss {loss:.4f}  lr {lr:.2e}  grad_norm {grad_norm:.3f}  "
                      f"{run.tokens_per_step / (now - t1):,.0f} tok/s  MFU {mfu:.1%}  {memory:,.0f} MB  "
                      f"{now - t0:.1f}s", flush=True)
        step += 1
        ckpt.after(step, out.rows if out is not None else [])
    if out is not None:
        out.commit()
    return [r["loss"] for r in out.rows] if out is not None else []


def _batches(dataset, first: int, t: TrainConfig):
    """One iterator per model chunk (each chunk's forward reads the micro-batches in order)."""
    its = [adapter.micro_batches(dataset, first, t.steps, t.micro_batch_size, t.global_batch_size)
           for _ in range(t.virtual_pipeline)]
    return its[0] if t.virtual_pipeline == 1 else its
