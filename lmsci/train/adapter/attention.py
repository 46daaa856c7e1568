"""Attention in megatron's local spec: torch's fused SDPA as core attention, document masks, RoPE.

megatron-core's local ``DotProductAttention`` (the only core attention without TransformerEngine)
is unfused: it repeats keys/values per query group, materialises the [b, heads, s, s] scores with
``baddbmm``, masks and softmaxes them in separate kernels and multiplies by V. torch's SDPA does
the same arithmetic in one fused kernel (flash / memory-efficient on GPU, a blocked kernel on CPU)
with grouped-query attention built in. Same softmax scale, same causal mask, no dropout (lmsci
trains without); tests/train/test_adapter.py checks the outputs agree with megatron's to 1e-5.

Document masking (train.document_masking) hands the forward megatron's per-sample attention mask
(GPTDataset's ``reset_attention_mask``: True = masked) and restarted position ids
(``reset_position_ids``). megatron-core's GPTModel ignores position ids for RoPE (it rotates by the
row index); :class:`LmsciRotary` rotates by them when a mask is given, so a document's tokens get
the positions they would have at the start of a sequence. Without a mask nothing changes.

RoPE scaling (model.rope_scaling): megatron's ``RotaryEmbedding._apply_scaling`` is Llama 3.1's
frequency transform, but GPTModel passes only ``factor``; :func:`scale_rope` applies it with all
four settings (tests/train/test_rope.py: equal to transformers' ``_compute_llama3_parameters``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from megatron.core.models.common.embeddings.rotary_pos_embedding import RotaryEmbedding
from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
from megatron.core.transformer.dot_product_attention import DotProductAttention
from megatron.core.transformer.enums import AttnMaskType

from lmsci.conf.model import RopeScalingConfig


class SDPAttention(DotProductAttention):
    """megatron's DotProductAttention (same construction, checkpoint keys and TP split), fused forward."""

    def forward(self, query, key, value, attention_mask, attn_mask_type=None, attention_bias=None,
                packed_seq_params=None):
        # query [s, b, heads, d], key / value [s, b, groups, d] (this TP rank's share) → [s, b, heads·d]
        if packed_seq_params is not None or attention_bias is not None or self.softmax_offset is not None:
            raise NotImplementedError("SDPAttention covers lmsci's causal attention only")
        if (attn_mask_type or self.attn_mask_type) != AttnMaskType.causal or self.config.window_size is not None:
            raise NotImplementedError(f"SDPAttention is causal only, not {attn_mask_type or self.attn_mask_type}")
        q, k, v = (t.permute(1, 2, 0, 3) for t in (query, key, value))  # [b, heads or groups, s, d]
        # A given mask is megatron's [b, 1, s, s] with True = masked, already causal (GPTDataset's
        # tril with the document blocks cut out); SDPA's boolean mask is True = attend.
        mask = None if attention_mask is None else ~attention_mask
        context = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, is_causal=mask is None, scale=self.softmax_scale,
            dropout_p=self.attention_dropout.p if self.training else 0.0,
            enable_gqa=k.size(1) != q.size(1))
        s, b = query.size(0), query.size(1)
        return context.permute(2, 0, 1, 3).reshape(s, b, self.hidden_size_per_partition)


def layer_spec(num_experts: int = 0, config=None, vp_stage: int | None = None):
    """The local (no TransformerEngine) Llama-style layer: RMSNorm, :class:`SDPAttention`, and a
    dense SwiGLU MLP or (``num_experts`` > 0) megatron's MoE layer of SwiGLU experts (sequential
    experts: grouped GEMM needs TransformerEngine or a CUDA kernel).

    Under sequence parallelism (``config.sequence_parallel``: MoE with TP > 1) megatron's torch norm
    refuses to build; the spec is then a whole block whose norms are :class:`SequenceParallelRMSNorm`.
    """
    spec = get_gpt_layer_local_spec(num_experts=num_experts or None, moe_grouped_gemm=False, normalization="RMSNorm")
    spec.submodules.self_attention.submodules.core_attention = SDPAttention
    if config is None or not config.sequence_parallel:
        return spec
    from megatron.core.transformer.transformer_block import TransformerBlockSubmodules, get_num_layers_to_build

    spec.submodules.input_layernorm = SequenceParallelRMSNorm
    spec.submodules.pre_mlp_layernorm = SequenceParallelRMSNorm
    return TransformerBlockSubmodules(layer_specs=[spec] * get_num_layers_to_build(config, vp_stage),
                                      layer_norm=SequenceParallelRMSNorm)


class SequenceParallelRMSNorm(torch.nn.RMSNorm):
    """torch's RMSNorm (megatron's WrappedTorchNorm builds the same) that allows sequence parallelism:
    each TP rank normalises its slice of the sequence, so the weight's gradient is partial and
    ``finalize_model_grads`` sums it over TP — it does so for parameters marked ``sequence_parallel``,
    as megatron's TE and Apex norms mark theirs."""

    def __init__(self, config, hidden_size: int, eps: float = 1e-5, persist_layer_norm: bool = False,
                 zero_centered_gamma: bool = False, normalization: str = "RMSNorm"):
        super().__init__(normalized_shape=hidden_size, eps=eps)
        self.weight.sequence_parallel = config.sequence_parallel


class LmsciRotary(RotaryEmbedding):
    """megatron's RotaryEmbedding; rotates by ``position_ids`` [b, s] while they are set."""

    position_ids: torch.Tensor | None = None

    def forward(self, max_seq_len: int, offset: int = 0, packed_seq: bool = False, cp_group=None):
        emb = super().forward(max_seq_len, offset, packed_seq, cp_group)  # [s, 1, 1, d], cached per length
        if self.position_ids is None:
            return emb
        table = super().forward(int(self.position_ids.max()) + 1, 0, packed_seq, cp_group)
        return table[:, 0, 0, :][self.position_ids.t()].unsqueeze(2)  # [s, b, 1, d]


def install_rotary(gpt, rope_scaling: RopeScalingConfig, rotary_base: int) -> None:
    """Make ``gpt.rotary_pos_emb`` an :class:`LmsciRotary` with Llama 3.1 scaling if configured."""
    rotary = gpt.rotary_pos_emb
    rotary.__class__ = LmsciRotary  # same state; only forward differs (no parameters, no checkpoint keys)
    if rope_scaling.enabled:
        dim = rotary.inv_freq.numel() * 2
        exponents = torch.arange(0, dim, 2, dtype=torch.float32, device=rotary.inv_freq.device) / dim
        base = 1.0 / (rotary_base ** exponents)  # megatron's RotaryEmbedding.__init__
        rotary.inv_freq = scale_rope(base, rope_scaling)


def scale_rope(inv_freq: torch.Tensor, rope_scaling: RopeScalingConfig) -> torch.Tensor:
    """Llama 3.1's scaled inverse frequencies (megatron's implementation of HF's llama3 rope type)."""
    r = rope_scaling
    return RotaryEmbedding._apply_scaling(None, inv_freq, factor=r.factor, low_freq_factor=r.low_freq_factor,
                                          high_freq_factor=r.high_freq_factor,
                                          original_max_position_embeddings=r.original_max_position_embeddings)
