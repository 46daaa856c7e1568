"""GPTModel (local layer spec, Llama-style) in this rank's layout, one training step, and forward passes."""
from __future__ import annotations

from functools import partial

import torch
from megatron.core import parallel_state
from megatron.core.distributed import DistributedDataParallel, DistributedDataParallelConfig
from megatron.core.models.gpt import GPTModel
from megatron.core.pipeline_parallel import get_forward_backward_func
from megatron.core.transformer import TransformerConfig
from megatron.core.transformer.module import Float16Module

from lmsci.config import ModelConfig
from lmsci.train.adapter import attention
from lmsci.train.adapter.parallel import AdapterError, on_gpu

VOCAB_MULTIPLE = 128  # pad the embedding to this, independent of TP, so checkpoints reshard


def padded_vocab_size(vocab_size: int, tensor_parallel_size: int = 1) -> int:
    padded = -(-vocab_size // VOCAB_MULTIPLE) * VOCAB_MULTIPLE
    if padded % tensor_parallel_size:
        raise AdapterError(f"train.tensor_parallel={tensor_parallel_size} must divide the padded vocab {padded}")
    return padded


def transformer_config(model: ModelConfig, tensor_parallel_size: int, pipeline_parallel_size: int,
                       virtual_pipeline_size: int = 1) -> TransformerConfig:
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
    )


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
            transformer_layer_spec=attention.layer_spec(),  # local spec, fused SDPA core attention
            vocab_size=padded_vocab_size(vocab_size, tensor_parallel_size),
            max_sequence_length=model.seq_length,
            pre_process=parallel_state.is_pipeline_first_stage(ignore_virtual=False, vp_stage=vp_stage),
            post_process=parallel_state.is_pipeline_last_stage(ignore_virtual=False, vp_stage=vp_stage),
            share_embeddings_and_output_weights=model.tie_embeddings,
            position_embedding_type="rope",
            rotary_base=model.rotary_base,
            vp_stage=vp_stage,
        )
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
    per_token_loss = module(batch["tokens"], batch["position_ids"], None, labels=batch["labels"])
    return per_token_loss, partial(_loss_func, batch["loss_mask"])


def train_step(module, optimizer, data_iterator, num_microbatches: int, seq_length: int,
               micro_batch_size: int) -> tuple[float | None, float]:
    """One optimizer step over ``num_microbatches``; returns (this rank's mean loss or None, grad norm).

    ``module`` is one model or its chunks (:func:`build_model_chunks`); with several chunks
    ``data_iterator`` is a list, one iterator per chunk, each yielding every micro-batch in order.
    """
    model = chunks(module)
    for chunk in model:
        chunk.zero_grad_buffer()
    optimizer.zero_grad()
    losses = get_forward_backward_func()(
        forward_step_func=_forward_step, data_iterator=data_iterator, model=model,
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


@torch.no_grad()
def logits(module: torch.nn.Module, tokens: torch.Tensor) -> torch.Tensor:
    """[batch, seq, padded vocab] fp32 logits of a TP=PP=1 model (export parity checks)."""
    module.eval()
    b, s = tokens.shape
    position_ids = torch.arange(s, dtype=torch.long).unsqueeze(0).expand(b, s)
    if on_gpu():
        tokens, position_ids = tokens.cuda(), position_ids.cuda()
    return module(tokens, position_ids, None).float().cpu()
