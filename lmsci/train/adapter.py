"""The one module that knows megatron-core 0.16.1: every megatron import and field name is here.

The training loop and perplexity speak lmsci (ModelConfig, TrainConfig, blends as
``[(prefix, weight)]``); this module maps them onto parallel_state, GPTModel (local layer spec,
Llama-style), megatron's DDP and optimizer, GPTDataset/BlendedMegatronDatasetBuilder, the pipeline
schedules and dist_checkpointing. On a machine without CUDA it installs :mod:`lmsci.train.cpu_shim`
first and trains fp32 over gloo; with CUDA it trains bf16 over NCCL.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import warnings
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.distributed as dist

from lmsci.config import ModelConfig, TrainConfig
from lmsci.train import cpu_shim

# Without Apex/TransformerEngine megatron warns on import that it falls back to torch kernels —
# which is exactly what this project intends; hide the noise, not other warnings.
# Likewise three deprecation warnings raised inside megatron-core 0.16.1 itself, not by our calls.
for _msg in (".*Transformer Engine and Apex are not installed.*", "Apex is not installed.*",
             "full scope is deprecated.*", "`load_state_dict` is deprecated.*",
             "Please use DTensor instead and we are deprecating ShardedTensor.*"):
    warnings.filterwarnings("ignore", message=_msg)

from megatron.core import dist_checkpointing, parallel_state, tensor_parallel  # noqa: E402
from megatron.core.datasets.blended_megatron_dataset_builder import BlendedMegatronDatasetBuilder  # noqa: E402
from megatron.core.datasets.gpt_dataset import GPTDataset, GPTDatasetConfig  # noqa: E402
from megatron.core.datasets.indexed_dataset import IndexedDataset  # noqa: E402
from megatron.core.dist_checkpointing.mapping import ShardedObject  # noqa: E402
from megatron.core.distributed import (  # noqa: E402
    DistributedDataParallel,
    DistributedDataParallelConfig,
    finalize_model_grads,
)
from megatron.core.models.gpt import GPTModel  # noqa: E402
from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec  # noqa: E402
from megatron.core.optimizer import OptimizerConfig, get_megatron_optimizer  # noqa: E402
from megatron.core.pipeline_parallel import get_forward_backward_func  # noqa: E402
from megatron.core.transformer import TransformerConfig  # noqa: E402
from megatron.core.transformer.module import Float16Module  # noqa: E402

CHECKPOINT_FORMAT = ("torch_dist", 1)  # the only sharded backend in 0.16.1 (no zarr)
VOCAB_MULTIPLE = 128  # pad the embedding to this, independent of TP, so checkpoints reshard


class AdapterError(RuntimeError):
    """An unsupported layout or a bad input: one line naming what to change."""


@dataclasses.dataclass(frozen=True)
class Tokenizer:
    """What GPTDataset reads from a tokenizer (megatron duck-types it)."""

    vocab_size: int
    eod: int
    pad: int = -1  # not a token id: GPTDataset masks labels equal to pad, so it must not collide

    @property
    def unique_identifiers(self) -> dict:  # enters GPTDataset's cache key
        return {"class": "lmsci.Tokenizer", "vocab_size": self.vocab_size, "eod": self.eod}


# ----------------------------------------------------------------------------- process groups

def on_gpu() -> bool:
    return torch.cuda.is_available()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def distributed(tensor_parallel_size: int, pipeline_parallel_size: int, seed: int):
    """Process group + megatron parallel state for the duration of the block.

    Under torchrun the group comes from the environment; otherwise a 1-rank group on a free port
    (BlendedDataset and the checkpoint writer call torch.distributed unguarded).
    """
    if not on_gpu():
        cpu_shim.install()
    owns_group = not dist.is_initialized()
    if owns_group:
        backend = "nccl" if on_gpu() else "gloo"
        if "RANK" in os.environ:  # launched by torchrun
            if on_gpu():
                torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
            dist.init_process_group(backend, timeout=timedelta(minutes=10))
        else:
            dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{free_port()}",
                                    rank=0, world_size=1, timeout=timedelta(minutes=10))
    try:
        world = dist.get_world_size()
        if world % (tensor_parallel_size * pipeline_parallel_size):
            raise AdapterError(f"world size {world} is not a multiple of tensor_parallel × pipeline_parallel "
                               f"= {tensor_parallel_size * pipeline_parallel_size}")
        parallel_state.initialize_model_parallel(tensor_parallel_size, pipeline_parallel_size)
        # Same seed on every rank; megatron offsets the tensor-parallel stream by the TP rank.
        torch.manual_seed(seed)
        tensor_parallel.model_parallel_cuda_manual_seed(seed)
        yield
    finally:
        parallel_state.destroy_model_parallel()
        if owns_group:
            dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank()


def world_size() -> int:
    return dist.get_world_size()


def data_parallel_rank_and_size() -> tuple[int, int]:
    return parallel_state.get_data_parallel_rank(), parallel_state.get_data_parallel_world_size()


def barrier() -> None:
    dist.barrier()


def mean_loss_across_ranks(local_loss: float | None) -> float:
    """Loss lives on the last pipeline stage (one copy per TP rank, one value per DP rank)."""
    t = torch.tensor([local_loss or 0.0, 1.0 if local_loss is not None else 0.0], dtype=torch.float64)
    if on_gpu():
        t = t.cuda()
    dist.all_reduce(t)
    return float(t[0] / t[1])


# ----------------------------------------------------------------------------- model

def padded_vocab_size(vocab_size: int, tensor_parallel_size: int = 1) -> int:
    padded = -(-vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE
    if padded % tensor_parallel_size:
        raise AdapterError(f"train.tensor_parallel={tensor_parallel_size} must divide the padded vocab {padded}")
    return padded


def transformer_config(model: ModelConfig, tensor_parallel_size: int, pipeline_parallel_size: int) -> TransformerConfig:
    dtype = torch.bfloat16 if on_gpu() else torch.float32  # bf16 is ~11× slower on CPUs without bf16 ISA
    return TransformerConfig(
        num_layers=model.num_layers,
        hidden_size=model.hidden_size,
        num_attention_heads=model.num_attention_heads,
        num_query_groups=model.num_query_groups,  # GQA
        ffn_hidden_size=model.ffn_hidden_size,
        normalization="RMSNorm",
        layernorm_epsilon=model.norm_epsilon,
        gated_linear_unit=True,  # SwiGLU = gated linear unit with SiLU
        activation_func=torch.nn.functional.silu,
        add_bias_linear=False,
        add_qkv_bias=False,
        hidden_dropout=0.0,  # Llama trains without dropout; it also keeps runs RNG-free after init
        attention_dropout=0.0,
        init_method_std=model.init_method_std,
        use_cpu_initialization=True,  # TP=2 reproduces TP=1 weights from the same seed
        tensor_model_parallel_size=tensor_parallel_size,
        pipeline_model_parallel_size=pipeline_parallel_size,
        pipeline_dtype=dtype,
        params_dtype=dtype,
        bf16=dtype == torch.bfloat16,
        batch_p2p_comm=False,  # interleaved PP + batched p2p trains garbage (NVIDIA/Megatron-LM#750)
        gradient_accumulation_fusion=False,  # needs an Apex CUDA extension
    )


def build_model(model: ModelConfig, vocab_size: int, tensor_parallel_size: int, pipeline_parallel_size: int,
                wrap_ddp: bool = True, use_distributed_optimizer: bool = False) -> torch.nn.Module:
    """This rank's GPTModel stage (VPP is not supported), wrapped in megatron's DDP for training
    (with ``use_distributed_optimizer`` the gradients are reduce-scattered into per-rank shards)."""
    config = transformer_config(model, tensor_parallel_size, pipeline_parallel_size)
    gpt = GPTModel(
        config=config,
        transformer_layer_spec=get_gpt_layer_local_spec(normalization="RMSNorm"),
        vocab_size=padded_vocab_size(vocab_size, tensor_parallel_size),
        max_sequence_length=model.seq_length,
        pre_process=parallel_state.is_pipeline_first_stage(),
        post_process=parallel_state.is_pipeline_last_stage(),
        share_embeddings_and_output_weights=model.tie_embeddings,
        position_embedding_type="rope",
        rotary_base=model.rotary_base,
    )
    module: torch.nn.Module = gpt
    if on_gpu():
        module = module.cuda(torch.cuda.current_device())
        module = Float16Module(config, module)
    if not wrap_ddp:
        return module
    ddp_config = DistributedDataParallelConfig(grad_reduce_in_fp32=True, overlap_grad_reduce=False,
                                               use_distributed_optimizer=use_distributed_optimizer)
    return DistributedDataParallel(config=config, ddp_config=ddp_config, module=module)


def _gpt(module: torch.nn.Module) -> GPTModel:
    while not isinstance(module, GPTModel):
        module = module.module  # DDP → (Float16Module →) GPTModel
    return module


def local_parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in _gpt(module).parameters())


def build_optimizer(module: torch.nn.Module, train: TrainConfig):
    """AdamW (decoupled weight decay) under megatron's FP32/Float16 optimizer with grad clipping,
    or its DistributedOptimizer with ``train.use_distributed_optimizer`` (the module must have been
    built with the same flag). Weight decay skips biases and 1-D params (norms), megatron's overrides.
    """
    if train.use_distributed_optimizer:
        _fix_distributed_optimizer_resume()
    config = OptimizerConfig(
        optimizer="adam", lr=train.lr, min_lr=train.lr * train.min_lr_ratio, weight_decay=train.weight_decay,
        adam_beta1=train.adam_beta1, adam_beta2=train.adam_beta2, adam_eps=train.adam_eps,
        clip_grad=train.clip_grad, bf16=on_gpu(), params_dtype=torch.bfloat16 if on_gpu() else torch.float32,
        use_distributed_optimizer=train.use_distributed_optimizer,
    )
    optimizer = get_megatron_optimizer(config, [module])
    gpt_config = _gpt(module).config
    gpt_config.grad_scale_func = optimizer.scale_loss
    gpt_config.finalize_model_grads_func = finalize_model_grads
    return optimizer


def set_lr(optimizer, lr: float, weight_decay: float) -> None:
    # What megatron's OptimizerParamScheduler.step does, with our schedule supplying lr.
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
        group["weight_decay"] = weight_decay * group.get("wd_mult", 1.0)


# ----------------------------------------------------------------------------- data

def build_train_dataset(blend: Sequence[tuple[str, float]], tokenizer: Tokenizer, seq_length: int,
                        num_samples: int, seed: int, cache_dir: Path):
    """Blended GPTDataset with ``num_samples`` sequences of ``seq_length`` + 1 tokens."""
    for prefix, _ in blend:
        for suffix in (".bin", ".idx"):
            if not Path(prefix + suffix).is_file():
                raise AdapterError(f"indexed dataset file not found: {prefix}{suffix}; run the tokenize stage")
    config = GPTDatasetConfig(
        random_seed=seed,
        sequence_length=seq_length,
        blend_per_split=[([p for p, _ in blend], [w for _, w in blend]), None, None],
        path_to_cache=str(cache_dir),  # default is beside the .bin, i.e. inside another stage's output
        tokenizer=tokenizer,
        reset_position_ids=False,
        reset_attention_mask=False,
        eod_mask_loss=False,
        create_attention_mask=False,  # the local attention builds the causal mask itself
        mid_level_dataset_surplus=0.005,
    )
    train, _, _ = BlendedMegatronDatasetBuilder(GPTDataset, [num_samples, None, None], lambda: True, config).build()
    return train


def micro_batches(dataset, start_step: int, steps: int, micro_batch_size: int, global_batch_size: int) -> Iterator[dict]:
    """This rank's micro-batches in megatron's pretraining-sampler order, from ``start_step``.

    Micro-batch i of step s on DP rank r holds samples
    s·G + i·(m·D) + r·m … + m (G global batch, m micro batch, D data-parallel size), so the
    data order depends only on the seed and the step, never on the layout or on resuming.
    """
    dp_rank, dp_size = data_parallel_rank_and_size()
    per_step = global_batch_size // (micro_batch_size * dp_size)
    device = torch.cuda.current_device() if on_gpu() else "cpu"
    for step in range(start_step, steps):
        for i in range(per_step):
            first = step * global_batch_size + i * micro_batch_size * dp_size + dp_rank * micro_batch_size
            samples = [dataset[j] for j in range(first, first + micro_batch_size)]
            yield {k: torch.stack([torch.as_tensor(s[k]) for s in samples]).to(device)
                   for k in ("tokens", "labels", "loss_mask", "position_ids")}


def read_tokens(prefix: str, max_tokens: int) -> np.ndarray:
    """Documents of an indexed dataset concatenated in order, at most ``max_tokens`` tokens."""
    for suffix in (".bin", ".idx"):
        if not Path(prefix + suffix).is_file():
            raise AdapterError(f"indexed dataset file not found: {prefix}{suffix}; run the tokenize stage")
    ds = IndexedDataset(prefix)
    parts, n = [], 0
    for i in range(len(ds)):
        if n >= max_tokens:
            break
        part = np.asarray(ds[i], dtype=np.int64)[: max_tokens - n]
        parts.append(part)
        n += len(part)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


# ----------------------------------------------------------------------------- steps

def _loss_func(loss_mask: torch.Tensor, per_token_loss: torch.Tensor):
    mask = loss_mask.reshape(-1).float()
    loss = torch.sum(per_token_loss.float().reshape(-1) * mask) / mask.sum().clamp(min=1)
    # The schedule divides `loss` in place by the number of micro-batches: report a clone.
    return loss, {"lm loss": loss.detach().clone()}


def _forward_step(data_iterator, module):
    batch = next(data_iterator)
    per_token_loss = module(batch["tokens"], batch["position_ids"], None, labels=batch["labels"])
    return per_token_loss, partial(_loss_func, batch["loss_mask"])


def train_step(module, optimizer, data_iterator, num_microbatches: int, seq_length: int,
               micro_batch_size: int) -> tuple[float | None, float]:
    """One optimizer step over ``num_microbatches``; returns (this rank's mean loss or None, grad norm)."""
    module.zero_grad_buffer()
    optimizer.zero_grad()
    losses = get_forward_backward_func()(
        forward_step_func=_forward_step, data_iterator=data_iterator, model=[module],
        num_microbatches=num_microbatches, seq_length=seq_length, micro_batch_size=micro_batch_size,
        forward_only=False,
    )
    _, grad_norm, _ = optimizer.step()
    local = None
    if parallel_state.is_pipeline_last_stage():
        local = float(torch.stack([d["lm loss"] for d in losses]).mean())
    return local, float(grad_norm) if grad_norm is not None else float("nan")


@torch.no_grad()
def per_token_loss(module: torch.nn.Module, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[batch, seq] cross-entropy of ``labels`` given ``tokens``; a TP=PP=1 model (evaluation)."""
    module.eval()
    b, s = tokens.shape
    position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
    if on_gpu():
        tokens, labels, position_ids = tokens.cuda(), labels.cuda(), position_ids.cuda()
    return module(tokens, position_ids, None, labels=labels).float().cpu()


# ----------------------------------------------------------------------------- checkpoints

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
    model_sd = _gpt(module).sharded_state_dict(prefix="")
    state = {"model": model_sd, "step": step, "rng_state": _rng_object()}
    if optimizer is not None:
        state["optimizer"] = optimizer.sharded_state_dict(model_sd, metadata=_OPTIMIZER_METADATA)
    _fork_results_queue()
    dist_checkpointing.save(state, str(directory), sharded_strategy=CHECKPOINT_FORMAT)


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
    gpt = _gpt(module)
    model_sd = gpt.sharded_state_dict(prefix="")
    state = {"model": model_sd, "step": 0}
    if load_rng:
        state["rng_state"] = _rng_object()
    if optimizer is not None:
        _init_adam_state(optimizer)
        state["optimizer"] = optimizer.sharded_state_dict(model_sd, is_loading=True, metadata=_OPTIMIZER_METADATA)
    loaded = dist_checkpointing.load(state, str(directory), sharded_strategy=CHECKPOINT_FORMAT)
    gpt.load_state_dict(loaded["model"])
    if optimizer is not None:
        optimizer.load_state_dict(loaded["optimizer"])
    if load_rng:
        rng = loaded["rng_state"]
        torch.set_rng_state(rng["cpu"])
        tensor_parallel.get_cuda_rng_tracker().set_states(rng["tracker"])
        if on_gpu() and "cuda" in rng:
            torch.cuda.set_rng_state(rng["cuda"])
    return int(loaded["step"])


def _init_adam_state(optimizer) -> None:
    """Zero Adam state (step 0) for every parameter of a DistributedOptimizer that has not stepped:
    its ``sharded_state_dict(is_loading=True)`` asserts on an empty state without Apex/TE."""
    from megatron.core.optimizer.distrib_optimizer import DistributedOptimizer

    for opt in getattr(optimizer, "chained_optimizers", [optimizer]):
        if isinstance(opt, DistributedOptimizer) and not opt.optimizer.state:
            for group in opt.optimizer.param_groups:
                for p in group["params"]:
                    opt.optimizer.state[p] = {"step": torch.tensor(0.0), "exp_avg": torch.zeros_like(p),
                                              "exp_avg_sq": torch.zeros_like(p)}


def _fix_distributed_optimizer_resume() -> None:
    """Make megatron-core 0.16.1's DistributedOptimizer resume exactly with torch's AdamW (no Apex/TE).

    Upstream, ``load_state_dict`` gives every parameter the *same* ``step`` tensor (torch's
    foreach AdamW then adds 1 per parameter per step, so bias correction drifts) and copies into
    leaf parameters with grad enabled; ``_set_main_param_and_optimizer_states`` then raises
    ``KeyError: 'step'`` because the fully-reshardable state carries no per-parameter step.
    Patched here (once, idempotent): load under no_grad, clone the step per parameter, keep the
    step ``load_state_dict`` restored from the param groups. Verified in /work/shared/notes/megatron-cpu.md.
    """
    from megatron.core.optimizer import distrib_optimizer as mdo

    cls = mdo.DistributedOptimizer
    if mdo.HAVE_APEX_OR_TE or getattr(cls, "_lmsci_resume_fix", False):
        return
    original_load, original_set = cls.load_state_dict, cls._set_main_param_and_optimizer_states

    def load_state_dict(self, state_dict):
        with torch.no_grad():
            original_load(self, state_dict)
        for param_state in self.optimizer.state.values():
            if "step" in param_state:
                param_state["step"] = param_state["step"].detach().clone()

    @torch.no_grad()
    def _set_main_param_and_optimizer_states(self, model_param, tensors):
        if self.config.use_precision_aware_optimizer_no_fp8_or_ds_fp8:  # not lmsci's path: upstream's
            return original_set(self, model_param, tensors)
        group_index, group_order = self.model_param_group_index_map[model_param]
        main_param = self.optimizer.param_groups[group_index]["params"][group_order]
        destination = {"param": main_param, **self.optimizer.state[main_param]}
        for key, value in tensors.items():
            destination[key].copy_(value)

    cls.load_state_dict = load_state_dict
    cls._set_main_param_and_optimizer_states = _set_main_param_and_optimizer_states
    cls._lmsci_resume_fix = True


def max_memory_mb() -> float:
    """Peak memory of this rank: CUDA max allocated on GPU, else the process's max resident set."""
    if on_gpu():
        return torch.cuda.max_memory_allocated() / 2**20
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def max_across_ranks(value: float) -> float:
    t = torch.tensor([value], dtype=torch.float64)
    if on_gpu():
        t = t.cuda()
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return float(t[0])


# ----------------------------------------------------------------------------- lineage (lmsci trace)

def sample_pieces(dataset, index: int) -> list[tuple[str, int, int, int]]:
    """Where sample ``index`` of a :func:`build_train_dataset` dataset comes from.

    Returns ``[(indexed-dataset prefix, document index, first token, end token)]`` in sample order;
    the pieces cover the sample's ``seq_length`` + 1 tokens (less only where GPTDataset pads).
    Mirrors ``BlendedDataset.__getitem__`` (dataset_index / dataset_sample_index) and
    ``GPTDataset._query_document_sample_shuffle_indices`` (shuffle → sample → document index)
    of megatron-core 0.16.1; a test checks the pieces' tokens equal ``dataset[index]``.
    """
    from megatron.core.datasets.blended_dataset import BlendedDataset

    if not 0 <= index < len(dataset):
        raise AdapterError(f"sample {index} is outside the training dataset's {len(dataset)} samples")
    if isinstance(dataset, BlendedDataset):
        if dataset.dataset_index is None:  # deferred memory map: let megatron load it
            dataset[index]
        index, dataset = int(dataset.dataset_sample_index[index]), dataset.datasets[int(dataset.dataset_index[index])]
    if dataset.shuffle_index is None:
        dataset._query_document_sample_shuffle_indices(0)
    j = int(dataset.shuffle_index[index])
    (beg, beg_offset), (end, end_offset) = dataset.sample_index[j], dataset.sample_index[j + 1]
    lengths = dataset.dataset.sequence_lengths
    pieces = []
    for k in range(int(beg), int(end) + 1):
        doc = int(dataset.document_index[k])
        first = int(beg_offset) if k == beg else 0
        stop = int(end_offset) + dataset.config.add_extra_token_to_sequence if k == end else int(lengths[doc])
        pieces.append((dataset.dataset.path_prefix, doc, first, min(stop, int(lengths[doc]))))
    return pieces


# ----------------------------------------------------------------------------- export (lmsci export-hf)

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


@torch.no_grad()
def logits(module: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """[batch, seq, padded vocab] fp32 logits of a TP=PP=1 model (export parity checks)."""
    module.eval()
    b, s = tokens.shape
    position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
    if on_gpu():
        tokens, position_ids = tokens.cuda(), position_ids.cuda()
    return module(tokens, position_ids, None).float().cpu()
