"""Causal attention through ``torch.nn.functional.scaled_dot_product_attention`` in megatron's local spec.

megatron-core's local ``DotProductAttention`` (the only core attention without TransformerEngine)
is unfused: it repeats keys/values per query group, materialises the [b, heads, s, s] scores with
``baddbmm``, masks and softmaxes them in separate kernels and multiplies by V. torch's SDPA does
the same arithmetic in one fused kernel (flash / memory-efficient on GPU, a blocked kernel on CPU)
with grouped-query attention built in. Same softmax scale, same causal mask, no dropout (lmsci
trains without); tests/train/test_adapter.py checks the outputs agree with megatron's to 1e-5.
"""
from __future__ import annotations

import torch.nn.functional as F
from megatron.core.models.gpt.gpt_layer_specs import get_gpt_layer_local_spec
from megatron.core.transformer.dot_product_attention import DotProductAttention
from megatron.core.transformer.enums import AttnMaskType
from megatron.core.transformer.spec_utils import ModuleSpec


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
        context = F.scaled_dot_product_attention(
            q, k, v, is_causal=True, scale=self.softmax_scale,
            dropout_p=self.attention_dropout.p if self.training else 0.0,
            enable_gqa=k.size(1) != q.size(1))
        s, b = query.size(0), query.size(1)
        return context.permute(2, 0, 1, 3).reshape(s, b, self.hidden_size_per_partition)


def layer_spec() -> ModuleSpec:
    """The local (no TransformerEngine) Llama-style layer: RMSNorm, and :class:`SDPAttention`."""
    spec = get_gpt_layer_local_spec(normalization="RMSNorm")
    spec.submodules.self_attention.submodules.core_attention = SDPAttention
    return spec
