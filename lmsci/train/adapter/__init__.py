"""The one package that knows megatron-core 0.16.1: every megatron import and field name is in it.

The training loop and perplexity speak lmsci (ModelConfig, TrainConfig, blends as
``[(prefix, weight)]``); this package maps them onto parallel_state, GPTModel (local layer spec,
Llama-style), megatron's DDP and optimizer, GPTDataset/BlendedMegatronDatasetBuilder, the pipeline
schedules and dist_checkpointing. On a machine without CUDA it installs :mod:`lmsci.train.cpu_shim`
first and trains fp32 over gloo; with CUDA it trains bf16 over NCCL. Callers use the names below
(``adapter.build_model``, …); the modules split it along what each part of megatron is for:

    parallel        process groups, parallel state, cross-rank loss / memory
    model           GPTModel (dense or MoE) in this rank's layout, the training step, forward passes
    attention       local layer spec with torch's fused SDPA, document masks, RoPE positions / scaling
    optimizer       AdamW under megatron's optimizers; the DistributedOptimizer resume fix
    data            blended GPTDataset, micro-batches in sampler order, sample lineage
    checkpointing   dist_checkpointing save / load / reshard, weights for export
"""
from __future__ import annotations

import warnings

# Without Apex/TransformerEngine megatron warns on import that it falls back to torch kernels —
# which is exactly what this project intends; hide the noise, not other warnings.
# Likewise three deprecation warnings raised inside megatron-core 0.16.1 itself, not by our calls.
for _msg in (".*Transformer Engine and Apex are not installed.*", "Apex is not installed.*",
             "full scope is deprecated.*", "`load_state_dict` is deprecated.*",
             "Please use DTensor instead and we are deprecating ShardedTensor.*"):
    warnings.filterwarnings("ignore", message=_msg)

from megatron.core import tensor_parallel  # noqa: E402  (tests reach the RNG tracker through it)

from lmsci.train.adapter.checkpointing import (  # noqa: E402
    CHECKPOINT_FORMAT, load_checkpoint, load_weights, save_checkpoint,
)
from lmsci.train.adapter.data import (  # noqa: E402
    Tokenizer, build_train_dataset, document_mask, micro_batches, read_tokens, sample_pieces,
)
from lmsci.train.adapter.model import (  # noqa: E402
    VOCAB_MULTIPLE, StepResult, build_model, build_model_chunks, local_parameter_count, logits, padded_vocab_size,
    per_token_loss, step, train_step, transformer_config,
)
from lmsci.train.adapter.optimizer import build_optimizer, set_lr  # noqa: E402
from lmsci.train.adapter.parallel import (  # noqa: E402
    AdapterError, barrier, data_parallel_rank_and_size, distributed, free_port, max_across_ranks, max_memory_mb,
    mean_loss_across_ranks, on_gpu, rank, world_size,
)

__all__ = [
    "CHECKPOINT_FORMAT", "VOCAB_MULTIPLE", "AdapterError", "Tokenizer", "barrier", "build_model", "build_model_chunks", "build_optimizer",
    "build_train_dataset", "data_parallel_rank_and_size", "document_mask", "distributed", "free_port",
    "load_checkpoint",
    "load_weights", "local_parameter_count", "logits", "max_across_ranks", "max_memory_mb", "mean_loss_across_ranks",
    "micro_batches", "on_gpu", "padded_vocab_size", "per_token_loss", "rank", "read_tokens", "sample_pieces",
    "save_checkpoint", "set_lr", "step", "StepResult", "tensor_parallel", "train_step", "transformer_config",
    "world_size",
]
