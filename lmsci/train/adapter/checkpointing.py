"""dist_checkpointing (torch_dist): model, optimizer, step and per-rank RNG; resharding on load."""
from __future__ import annotations

from pathlib import Path

import torch
from megatron.core import dist_checkpointing, parallel_state, tensor_parallel
from megatron.core.dist_checkpointing.mapping import ShardedObject

from lmsci.config import ModelConfig
from lmsci.train.adapter.model import _gpt, build_model, chunks
from lmsci.train.adapter.optimizer import _init_adam_state
from lmsci.train.adapter.parallel import AdapterError, distributed, on_gpu

CHECKPOINT_FORMAT = ("torch_dist", 1)  # the only sharded backend in 0.16.1 (no zarr)

# The DistributedOptimizer's default format fails to save without Apex/TE; this one reshards freely.
_OPTIMIZER_METADATA = {"distrib_optim_sharding_type": "fully_reshardable"}


def _rng_object() -> ShardedObject:
    """This rank's RNG states, keyed by (pipeline, tensor, data) rank: only one layout can load them."""
    state = {"cpu": torch.get_rng_state(), "tracker": tensor_parallel.get_cuda_rng_tracker().get_states()}
    if on_gpu():
        state["cuda"] = torch.cuda.get_rng_state()
    ps = parallel_state
    shape = (ps.get_pipeline_model_parallel_world_size(), ps.get_tensor_model_parallel_world_size(),
             ps.get_data_parallel_world_size())
    offset = (ps.get_pipeline_model_parallel_rank(), ps.get_tensor_model_parallel_rank(), ps.get_data_parallel_rank())
    return ShardedObject("rng_state", state, shape, offset, replica_id=0)


def save_checkpoint(directory: Path, module, optimizer, step: int) -> None:
    """Model + optimizer + step + per-rank RNG into an existing empty ``directory`` (all ranks call);
    ``optimizer=None`` writes the model alone (initial weights)."""
    model_sd = _model_state(module)
    state = {**model_sd, "step": step, "rng_state": _rng_object()}
    if optimizer is not None:
        state["optimizer"] = optimizer.sharded_state_dict(model_sd, metadata=_OPTIMIZER_METADATA)
    _fork_results_queue()
    dist_checkpointing.save(state, str(directory), sharded_strategy=CHECKPOINT_FORMAT)


def _model_state(module) -> dict:
    """``{"model": …}``, or ``{"model0": …, "model1": …}`` per virtual pipeline chunk (Megatron-LM's
    keys). The tensors inside are keyed by global layer number, so any layout loads any other."""
    parts = [_gpt(chunk).sharded_state_dict(prefix="") for chunk in chunks(module)]
    return {"model": parts[0]} if len(parts) == 1 else {f"model{i}": sd for i, sd in enumerate(parts)}


def _fork_results_queue() -> None:
    """Give the checkpoint writer a results queue served by a *forked* manager process.

    megatron starts a spawn-context Manager on the first save; unpickling the first write result
    makes that fresh interpreter import torch, ~3.5 s per process per run (measured on the 2-core
    box: first save 3.8 s, later ones 0.1 s). A forked server has torch already; megatron forks its
    writer processes from the same process anyway. CPU only: a long-lived fork of a CUDA process
    is asking for trouble, and on a GPU run 3.5 s once does not matter.
    """
    import multiprocessing

    from megatron.core.dist_checkpointing.strategies import filesystem_async

    if not on_gpu() and filesystem_async._results_queue is None:
        filesystem_async._results_queue = multiprocessing.get_context("fork").Manager().Queue()


def load_checkpoint(directory: Path, module, optimizer=None, load_rng: bool = False) -> int:
    """Load model (and optimizer) weights in this rank's layout, resharding as needed; returns the step.

    ``load_rng`` restores this rank's RNG states; only valid in the layout that saved them.
    """
    if not (Path(directory) / "metadata.json").is_file():
        raise AdapterError(f"not a dist_checkpointing checkpoint: {directory} (no metadata.json)")
    model_sd = _model_state(module)
    state = {**model_sd, "step": 0}
    if load_rng:
        state["rng_state"] = _rng_object()
    if optimizer is not None:
        _init_adam_state(optimizer)
        state["optimizer"] = optimizer.sharded_state_dict(model_sd, is_loading=True, metadata=_OPTIMIZER_METADATA)
    loaded = dist_checkpointing.load(state, str(directory), sharded_strategy=CHECKPOINT_FORMAT)
    for key, chunk in zip(model_sd, chunks(module)):
        _gpt(chunk).load_state_dict(loaded[key])
    if optimizer is not None:
        optimizer.load_state_dict(loaded["optimizer"])
    if load_rng:
        rng = loaded["rng_state"]
        torch.set_rng_state(rng["cpu"])
        tensor_parallel.get_cuda_rng_tracker().set_states(rng["tracker"])
        if on_gpu() and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"])
    return int(loaded["step"])


def load_weights(checkpoint_dir: Path, model: ModelConfig, vocab_size: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """A checkpoint's GPTModel weights at TP=PP=1 (dist_checkpointing reshards any layout), fp32 on CPU.

    Keys are megatron's (``decoder.layers.0.self_attention.linear_qkv.weight``, …); the fused QKV
    rows are grouped per query group — [q heads of the group; k; v] — and ``mlp.linear_fc1`` is
    [gate; up] (gated_linear_unit). The embedding is padded to :func:`padded_vocab_size`.
    """
    with distributed(1, 1, seed):
        module = build_model(model, vocab_size, 1, 1, wrap_ddp=False)
        load_checkpoint(Path(checkpoint_dir), module)
        return {k: v.detach().float().cpu().clone() for k, v in _gpt(module).state_dict().items()
                if "_extra_state" not in k}
