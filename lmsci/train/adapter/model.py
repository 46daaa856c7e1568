"""GPTModel (local layer spec, Llama-style, dense or MoE) in this rank's layout, the training step, forward passes."""
from __future__ import annotations

import contextlib
import dataclasses
from functools import partial
from typing import Callable

import torch
import torch.distributed as dist
from megatron.core import parallel_state
from megatron.core.distributed import DistributedDataParallel, DistributedDataParallelConfig
from megatron.core.models.gpt import GPTModel
from megatron.core.pipeline_parallel import get_forward_backward_func
from megatron.core.transformer import TransformerConfig
from megatron.core.transformer.module import Float16Module

from lmsci.config import ModelConfig
from lmsci.train.adapter import attention
from lmsci.train.adapter.parallel import AdapterError, mean_loss_across_ranks, on_gpu

VOCAB_MULTIPLE = 128  # pad the embedding to this, independent of TP, so checkpoints reshard


def padded_vocab_size(vocab_size: int, tensor_parallel_size: int = 1) -> int:
    padded = -(-vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE
    if padded % tensor_parallel_size:
        raise AdapterError(f"train.tensor_parallel={tensor_parallel_size} must divide the padded vocab {padded}")
    return padded


def transformer_config(model: ModelConfig, tensor_parallel_size: int, pipeline_parallel_size: int,
                       virtual_pipeline_size: int = 1, expert_parallel_size: int | None = None) -> TransformerConfig:
    if expert_parallel_size is None:  # the layout adapter.distributed set up
        expert_parallel_size = parallel_state.get_expert_model_parallel_world_size() if model.moe.enabled else 1
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
        virtual_pipeline_model_parallel_size=virtual_pipeline_size if virtual_pipeline_size > 1 else None,
        pipeline_dtype=dtype,
        params_dtype=dtype,
        bf16=dtype == torch.bfloat16,
        batch_p2p_comm=False,  # interleaved PP + batched p2p trains garbage (NVIDIA/Megatron-LM#750)
        gradient_accumulation_fusion=False,  # needs an Apex CUDA extension
        **_moe_fields(model, tensor_parallel_size, expert_parallel_size),
    )


def _moe_fields(model: ModelConfig, tensor_parallel_size: int, expert_parallel_size: int) -> dict:
    """megatron's MoE settings for ``model.moe`` (none for a dense model: its config stays as before)."""
    moe = model.moe
    if not moe.enabled:
        return {}
    _moe_without_transformer_engine()
    return {
        "num_moe_experts": moe.num_experts,
        "moe_router_topk": moe.top_k,
        "moe_ffn_hidden_size": model.moe_ffn_hidden_size,
        # Switch / Mixtral load balancing on each micro-batch's tokens (Fedus et al. 2022, eq. 4).
        "moe_router_load_balancing_type": "aux_loss",
        "moe_aux_loss_coeff": moe.aux_loss_coeff,
        "moe_z_loss_coeff": moe.z_loss_coeff or None,  # megatron skips the z-loss only for None
        # Top-k of the logits, then softmax over those k = Mixtral's renormalised top-k softmax.
        "moe_router_score_function": "softmax",
        "moe_router_pre_softmax": False,
        "moe_grouped_gemm": False,  # needs TransformerEngine or the grouped_gemm CUDA package
        "moe_token_dispatcher_type": "allgather",  # all-gather works over gloo; all-to-all does not
        "expert_model_parallel_size": expert_parallel_size,
        # megatron's MoE layer refuses to train under TP without sequence parallelism (each TP rank
        # routes its own slice of the sequence; Korthikanti et al. 2022). Same arithmetic as TP alone.
        "sequence_parallel": tensor_parallel_size > 1,
    }


def _moe_without_transformer_engine() -> None:
    """megatron-core 0.16.1's router gating reads ``moe_utils.te_general_gemm``, which exists only
    when TransformerEngine imports (NameError otherwise); None selects its torch.mm path."""
    from megatron.core.transformer.moe import moe_utils

    if not hasattr(moe_utils, "te_general_gemm"):
        moe_utils.te_general_gemm = None


def build_model(model: ModelConfig, vocab_size: int, tensor_parallel_size: int, pipeline_parallel_size: int,
                wrap_ddp: bool = True, use_distributed_optimizer: bool = False) -> torch.nn.Module:
    """This rank's GPTModel stage (one chunk: 1F1B or no pipeline), see :func:`build_model_chunks`."""
    (module,) = build_model_chunks(model, vocab_size, tensor_parallel_size, pipeline_parallel_size, 1,
                                   wrap_ddp, use_distributed_optimizer)
    return module


def build_model_chunks(model: ModelConfig, vocab_size: int, tensor_parallel_size: int, pipeline_parallel_size: int,
                       virtual_pipeline_size: int = 1, wrap_ddp: bool = True,
                       use_distributed_optimizer: bool = False) -> list[torch.nn.Module]:
    """This rank's GPTModel chunks, wrapped in megatron's DDP for training (with
    ``use_distributed_optimizer`` the gradients are reduce-scattered into per-rank shards).

    With ``virtual_pipeline_size`` V > 1 (the interleaved 1F1B schedule, Narayanan et al. 2021,
    §2.2) pipeline rank r holds V chunks of L / (P·V) layers each; chunk v is virtual stage v·P + r,
    so only chunk 0 of rank 0 embeds and only chunk V-1 of the last rank computes the loss.
    """
    config = transformer_config(model, tensor_parallel_size, pipeline_parallel_size, virtual_pipeline_size)
    chunks = []
    for chunk in range(virtual_pipeline_size):
        vp_stage = chunk if virtual_pipeline_size > 1 else None
        module: torch.nn.Module = GPTModel(
            config=config,
            transformer_layer_spec=attention.layer_spec(model.moe.num_experts, config, vp_stage),  # local, SDPA
            vocab_size=padded_vocab_size(vocab_size, tensor_parallel_size),
            max_sequence_length=model.seq_length,
            pre_process=parallel_state.is_pipeline_first_stage(ignore_virtual=False, vp_stage=vp_stage),
            post_process=parallel_state.is_pipeline_last_stage(ignore_virtual=False, vp_stage=vp_stage),
            share_embeddings_and_output_weights=model.tie_embeddings,
            position_embedding_type="rope",
            rotary_base=model.rotary_base,
            vp_stage=vp_stage,
        )
        attention.install_rotary(module, model.rope_scaling, model.rotary_base)
        if on_gpu():
            module = module.cuda(torch.cuda.current_device())
            module = Float16Module(config, module)
        if wrap_ddp:
            ddp_config = DistributedDataParallelConfig(grad_reduce_in_fp32=True, overlap_grad_reduce=False,
                                                       use_distributed_optimizer=use_distributed_optimizer)
            # Megatron-LM's training.get_model: only the first chunk's gradients are bucketed.
            module = DistributedDataParallel(config=config, ddp_config=ddp_config, module=module,
                                             disable_bucketing=chunk > 0)
        chunks.append(module)
    return chunks


def chunks(module) -> list[torch.nn.Module]:
    """A model as the list of its chunks (one, or one per virtual pipeline stage)."""
    return list(module) if isinstance(module, (list, tuple)) else [module]


def _gpt(module: torch.nn.Module) -> GPTModel:
    while not isinstance(module, GPTModel):
        module = module.module  # DDP → (Float16Module →) GPTModel
    return module


def local_parameter_count(module) -> int:
    return sum(p.numel() for m in chunks(module) for p in _gpt(m).parameters())


def _loss_func(loss_mask: torch.Tensor, per_token_loss: torch.Tensor):
    mask = loss_mask.reshape(-1).float()
    loss = torch.sum(per_token_loss.float().reshape(-1) * mask) / mask.sum().clamp(min=1)
    # The schedule divides `loss` in place by the number of micro-batches: report a clone.
    return loss, {"lm loss": loss.detach().clone()}


def _forward_step(data_iterator, module):
    batch = next(data_iterator)
    mask = batch.get("attention_mask")  # only with document masking (adapter.build_train_dataset)
    with _rope_positions(module, batch["position_ids"], mask):
        per_token_loss = module(batch["tokens"], batch["position_ids"], mask, labels=batch["labels"])
    return per_token_loss, partial(_loss_func, batch["loss_mask"])


@contextlib.contextmanager
def _rope_positions(module, position_ids: torch.Tensor, attention_mask: torch.Tensor | None):
    """RoPE by ``position_ids`` for this forward when a document mask is given (attention.LmsciRotary)."""
    rotary = getattr(_gpt(module), "rotary_pos_emb", None)
    if attention_mask is None or rotary is None:
        yield
        return
    rotary.position_ids = position_ids
    try:
        yield
    finally:
        rotary.position_ids = None


def _forward_backward(model: list, data_iterator, num_microbatches: int, seq_length: int, micro_batch_size: int):
    for chunk in model:
        chunk.zero_grad_buffer()
    return get_forward_backward_func()(
        forward_step_func=_forward_step, data_iterator=data_iterator, model=model,
        num_microbatches=num_microbatches, seq_length=seq_length, micro_batch_size=micro_batch_size,
        forward_only=False,
    )


def _local_loss(losses) -> float | None:
    if not parallel_state.is_pipeline_last_stage():
        return None
    return float(torch.stack([d["lm loss"] for d in losses]).mean())


def train_step(module, optimizer, data_iterator, num_microbatches: int, seq_length: int,
               micro_batch_size: int) -> tuple[float | None, float]:
    """One optimizer step over ``num_microbatches``; returns (this rank's mean loss or None, grad norm).

    ``module`` is one model or its chunks (:func:`build_model_chunks`); with several chunks
    ``data_iterator`` is a list, one iterator per chunk, each yielding every micro-batch in order.
    """
    model = chunks(module)
    optimizer.zero_grad()
    losses = _forward_backward(model, data_iterator, num_microbatches, seq_length, micro_batch_size)
    _, grad_norm, _ = optimizer.step()
    return _local_loss(losses), float(grad_norm) if grad_norm is not None else float("nan")


@dataclasses.dataclass(frozen=True)
class StepResult:
    """One :func:`step`: ``loss`` the LM loss (mean over micro-batches and data-parallel ranks, the
    same on every rank), ``grad_norm`` before clipping, ``applied`` False when ``accept`` refused
    the update, ``aux_losses`` MoE router losses (mean over layers and micro-batches, without their
    coefficients: ``load_balancing_loss``, ``z_loss``), empty for a dense model."""

    loss: float
    grad_norm: float
    applied: bool
    aux_losses: dict[str, float] = dataclasses.field(default_factory=dict)


def step(module, optimizer, batches, num_micro: int, seq_length: int, micro_batch_size: int,
         accept: Callable[[float], bool] | None = None) -> StepResult:
    """Forward and backward over ``num_micro`` micro-batches, then the optimizer step — unless
    ``accept(loss)`` says False (a loss spike): then the gradients are dropped and the optimizer's
    moments and step count stay as they were. ``accept`` sees the cross-rank loss, so every rank
    decides alike. ``module`` / ``batches`` as for :func:`train_step`."""
    from megatron.core.transformer.moe.moe_utils import get_moe_layer_wise_logging_tracker

    model = chunks(module)
    optimizer.zero_grad()
    get_moe_layer_wise_logging_tracker().clear()  # a process-wide dict: drop other models' entries too
    losses = _forward_backward(model, batches, num_micro, seq_length, micro_batch_size)
    loss = mean_loss_across_ranks(_local_loss(losses))
    aux = _aux_losses(num_micro) if _gpt(model[0]).config.num_moe_experts else {}
    applied = accept is None or bool(accept(loss))
    if applied:
        _, grad_norm, _ = optimizer.step()
    else:
        optimizer.prepare_grads()  # model grads → main grads, to report the refused step's norm
        grad_norm = optimizer.get_grad_norm()
        for chunk in model:
            chunk.zero_grad_buffer()
        optimizer.zero_grad()
    return StepResult(loss, float(grad_norm) if grad_norm is not None else float("nan"), applied, aux)


def _aux_losses(num_micro: int) -> dict[str, float]:
    """megatron's per-layer router-loss tracker (summed over this step's micro-batches on the
    layers of this pipeline stage) → per-layer mean over micro-batches and data-parallel ranks.
    Tensor-parallel ranks see the same tokens and hold the same values."""
    from megatron.core.transformer.moe.moe_utils import get_moe_layer_wise_logging_tracker

    tracker = get_moe_layer_wise_logging_tracker()
    tp = parallel_state.get_tensor_model_parallel_world_size()
    out = {}
    for name in sorted(tracker):  # every rank has the same names: every layer is an MoE layer
        values = tracker[name]["values"].detach().clone().double()
        dist.all_reduce(values, group=parallel_state.get_pipeline_model_parallel_group())
        dist.all_reduce(values, group=parallel_state.get_data_parallel_group())  # gloo has no AVG
        scale = num_micro * parallel_state.get_data_parallel_world_size()
        if tp > 1:  # sequence parallel: each TP rank logged its slice of the tokens
            dist.all_reduce(values, group=parallel_state.get_tensor_model_parallel_group())
            # The Switch loss of a slice is its share of the sum (global expert counts, local
            # probabilities): summed over TP. The z-loss is a per-slice mean: averaged.
            scale *= 1 if name.endswith("load_balancing_loss") else tp
        out[name] = float(values.mean()) / scale
    return out


@torch.no_grad()
def per_token_loss(module: torch.nn.Module, tokens: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[batch, seq] cross-entropy of ``labels`` given ``tokens``; a TP=PP=1 model (evaluation)."""
    module.eval()
    b, s = tokens.shape
    position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
    if on_gpu():
        tokens, labels, position_ids = tokens.cuda(), labels.cuda(), position_ids.cuda()
    return module(tokens, position_ids, None, labels=labels).float().cpu()


@torch.no_grad()
def logits(module: torch.nn.Module, tokens: torch.Tensor, attention_mask: torch.Tensor | None = None,
           position_ids: torch.Tensor | None = None) -> torch.Tensor:
    """[batch, seq, padded vocab] fp32 logits of a TP=PP=1 model (export parity checks); with a
    document mask ([b, 1, s, s], True = masked) and its position ids, as training sees them."""
    module.eval()
    b, s = tokens.shape
    if position_ids is None:
        position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
    if on_gpu():
        tokens, position_ids = tokens.cuda(), position_ids.cuda()
        attention_mask = None if attention_mask is None else attention_mask.cuda()
    with _rope_positions(module, position_ids, attention_mask):
        return module(tokens, position_ids, attention_mask).float().cpu()
