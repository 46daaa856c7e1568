"""The training loop: blend manifest + configs in, metrics, checkpoint and summary out.

Speaks lmsci only; every megatron detail is behind :mod:`lmsci.train.adapter`. World size 1 runs
in this process (on a 1-rank gloo/NCCL group); a larger world relaunches this code under
torchrun (:mod:`lmsci.train.worker`) and waits for it.

Outputs in ``out_dir`` (written by global rank 0, each atomically — temp name, then rename):
    metrics.jsonl       one line per step: step, loss, lr, grad_norm, tokens, tokens_per_s, elapsed_s
    checkpoint/         dist_checkpointing (model, optimizer, step, rng) + lmsci_meta.json
    train_summary.json  parameters, FLOPs/token, steps, final loss, tokens seen, wall seconds, world size
    dataset_cache/      GPTDataset's shuffle indices (megatron would write them beside the .bin)
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lmsci.config import ModelConfig, TrainConfig
from lmsci.train import adapter, schedule


class TrainError(RuntimeError):
    """Training cannot start or went wrong: one line naming the input or setting to fix."""


def train(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """Train ``model`` on the blend described by ``blend_path`` and write ``out_dir``."""
    blend_path, out_dir = Path(blend_path), Path(out_dir)
    read_blend(blend_path, model)  # fail before spending a launch on a bad manifest
    if train.world_size > 1 and "RANK" not in os.environ:
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

def _launch(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"model": dataclasses.asdict(model), "train": dataclasses.asdict(train), "seed": seed,
            "blend_path": str(blend_path.resolve()), "out_dir": str(out_dir.resolve())}
    world = train.world_size
    with tempfile.NamedTemporaryFile("w", suffix=".json", dir=out_dir, prefix=".launch-", delete=False) as f:
        json.dump(spec, f)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(world),
           "--master-port", str(adapter.free_port()), "-m", "lmsci.train.worker", f.name]
    # torchrun would set 1 thread per process and warn; share the cores out explicitly instead.
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // world)))}
    try:
        rc = subprocess.run(cmd, env=env).returncode
    finally:
        os.unlink(f.name)
    if rc != 0:
        raise TrainError(f"torchrun with {world} processes exited with status {rc}; see the log above")


# ----------------------------------------------------------------------------- arithmetic

def parameter_count(model: ModelConfig, padded_vocab: int) -> dict:
    """Exact parameter count of the Llama-style GPTModel (no biases, RMSNorm weights only)."""
    h, head_dim = model.hidden_size, model.hidden_size // model.num_attention_heads
    qkv = h * head_dim * (model.num_attention_heads + 2 * model.num_query_groups)
    attn_out = model.num_attention_heads * head_dim * h
    mlp = h * 2 * model.ffn_hidden_size + model.ffn_hidden_size * h  # SwiGLU: gate+up, down
    per_layer = qkv + attn_out + mlp + 2 * h  # + input and pre-MLP RMSNorm
    body = model.num_layers * per_layer + h  # + final norm
    embedding = padded_vocab * h
    output = 0 if model.tie_embeddings else padded_vocab * h
    return {"total": body + embedding + output, "non_embedding": body, "embedding": embedding, "output": output}


def flops_per_token(model: ModelConfig, padded_vocab: int) -> int:
    """Training FLOPs per token: 6·N + 12·L·H·T (PaLM, Chowdhery et al. 2022, App. B).

    N counts the matmul weights — the blocks and the output projection (tied or not); the input
    embedding is a lookup. 12·L·H·T is attention's QKᵀ and AV, forward and backward.
    """
    n = parameter_count(model, padded_vocab)["non_embedding"] + padded_vocab * model.hidden_size
    return 6 * n + 12 * model.num_layers * model.hidden_size * model.seq_length


# ----------------------------------------------------------------------------- the run

def run(model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path, out_dir: Path) -> None:
    """Train in this process as one rank of ``train.world_size`` (1, or a torchrun worker)."""
    blend = read_blend(blend_path, model)
    start = time.perf_counter()
    with adapter.distributed(train.tensor_parallel, train.pipeline_parallel, seed):
        world = adapter.world_size()
        if world != train.world_size:
            raise TrainError(f"{world} processes but tensor × pipeline × data parallel = {train.world_size}; "
                             "fix train.*_parallel or the launcher's process count")
        main = adapter.rank() == 0
        if main:
            out_dir.mkdir(parents=True, exist_ok=True)
        adapter.barrier()
        vocab = adapter.padded_vocab_size(blend["vocab_size"], train.tensor_parallel)
        tokenizer = adapter.Tokenizer(vocab_size=blend["vocab_size"], eod=blend["eod"])
        dataset = adapter.build_train_dataset(
            [(e["prefix"], e["weight"]) for e in blend["train"]], tokenizer, model.seq_length,
            num_samples=train.steps * train.global_batch_size, seed=seed, cache_dir=out_dir / "dataset_cache")
        module = adapter.build_model(model, blend["vocab_size"], train.tensor_parallel, train.pipeline_parallel)
        optimizer = adapter.build_optimizer(module, train)
        history = _steps(module, optimizer, dataset, model, train, out_dir if main else None)
        _save(module, optimizer, model, train, seed, blend_path, out_dir, main)
        if main:
            wall = time.perf_counter() - start
            params = parameter_count(model, vocab)
            tokens = train.steps * train.global_batch_size * model.seq_length
            _write_json(out_dir / "train_summary.json", {
                "parameters": params, "flops_per_token": flops_per_token(model, vocab),
                "padded_vocab_size": vocab, "steps": train.steps, "final_loss": history[-1],
                "tokens_seen": tokens, "tokens_per_step": train.global_batch_size * model.seq_length,
                "wall_s": round(wall, 3), "tokens_per_s": round(tokens / wall, 1), "world_size": world,
                "layout": {"tensor_parallel": train.tensor_parallel, "pipeline_parallel": train.pipeline_parallel,
                           "data_parallel": train.data_parallel},
                "device": "cuda" if adapter.on_gpu() else "cpu",
            })
            print(f"train: done in {wall:.1f}s, final loss {history[-1]:.4f}, wrote {out_dir}", flush=True)


def _steps(module, optimizer, dataset, model: ModelConfig, train: TrainConfig, out_dir: Path | None) -> list[float]:
    """Run every optimizer step; rank 0 (``out_dir`` set) writes metrics.jsonl and progress lines."""
    num_micro = train.global_batch_size // (train.micro_batch_size * train.data_parallel)
    tokens_per_step = train.global_batch_size * model.seq_length
    batches = adapter.micro_batches(dataset, 0, train.steps, train.micro_batch_size, train.global_batch_size)
    if out_dir is not None:
        print(f"train: {train.steps} steps × {train.global_batch_size} sequences × {model.seq_length} tokens "
              f"= {train.steps * tokens_per_step:,} tokens; {num_micro} micro-batches of "
              f"{train.micro_batch_size} per step on {train.world_size} rank(s)", flush=True)
    metrics = _AtomicLines(out_dir / "metrics.jsonl") if out_dir is not None else None
    history, t0 = [], time.perf_counter()
    for step in range(train.steps):
        lr = schedule.lr(step, train)
        adapter.set_lr(optimizer, lr, train.weight_decay)
        t = time.perf_counter()
        local, grad_norm = adapter.train_step(module, optimizer, batches, num_micro, model.seq_length,
                                              train.micro_batch_size)
        loss = adapter.mean_loss_across_ranks(local)
        now = time.perf_counter()
        if not math.isfinite(loss):
            raise TrainError(f"loss is {loss} at step {step}; lower train.lr ({train.lr:g}) or raise warmup_steps")
        history.append(loss)
        if metrics is not None:
            metrics.write({"step": step, "loss": loss, "lr": lr, "grad_norm": grad_norm,
                           "tokens": (step + 1) * tokens_per_step, "tokens_per_s": round(tokens_per_step / (now - t), 1),
                           "elapsed_s": round(now - t0, 4)})
            if step % train.log_interval == 0 or step == train.steps - 1:
                print(f"step {step + 1:>6}/{train.steps}  loss {loss:.4f}  lr {lr:.2e}  grad_norm {grad_norm:.3f}  "
                      f"{tokens_per_step / (now - t):,.0f} tok/s  {now - t0:.1f}s", flush=True)
    if metrics is not None:
        metrics.commit()
    return history


def _save(module, optimizer, model: ModelConfig, train: TrainConfig, seed: int, blend_path: Path,
          out_dir: Path, main: bool) -> None:
    """checkpoint.tmp/ on every rank, then rank 0 adds lmsci_meta.json and renames it checkpoint/."""
    final, tmp = out_dir / "checkpoint", out_dir / "checkpoint.tmp"
    if main:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    adapter.barrier()
    adapter.save_checkpoint(tmp, module, optimizer, step=train.steps)
    adapter.barrier()
    if main:
        _write_json(tmp / "lmsci_meta.json", {
            "step": train.steps, "seed": seed, "model": dataclasses.asdict(model), "train": dataclasses.asdict(train),
            "data_fingerprint": {"blend_sha256": hashlib.sha256(Path(blend_path).read_bytes()).hexdigest()},
        })
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    adapter.barrier()


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

    def __init__(self, path: Path) -> None:
        self.path, self.tmp = path, path.with_name(f".{path.name}.tmp")
        self.file = open(self.tmp, "w", buffering=1)  # line-buffered: progress is visible while running

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")

    def commit(self) -> None:
        self.file.close()
        os.replace(self.tmp, self.path)
