"""Parameter count and training FLOPs per token of lmsci's Llama-style GPTModel (dense or MoE), from the shapes alone.

The count is exact for the model :mod:`lmsci.train.adapter` builds (tests/train/test_flops.py sums
the built GPTModel's parameters): no biases, RMSNorm weights only, SwiGLU (gate, up, down), fused
QKV with grouped keys/values, a padded vocabulary (``adapter.padded_vocab_size``).

FLOPs per token follow Kaplan et al. 2020 (Table 1: forward 2N + 2·n_layer·n_ctx·d_attn, training
3× that), with the attention term as Chinchilla (Hoffmann et al. 2022, App. F) and PaLM (Chowdhery
et al. 2022, App. B: 6N + 12·L·H·Q·T) count it — both score matrices, QKᵀ and AV, forward and
backward, without halving for the causal mask: 12·L·d·T. Kaplan's 6·L·d·T counts one of the two
products; PaLM's is the convention MFU is reported in, so lmsci uses it and logs both terms.
"""
from __future__ import annotations

from lmsci.config import ModelConfig


def parameter_count(model: ModelConfig, padded_vocab: int) -> dict:
    """Exact parameters: ``total``, ``non_embedding`` (blocks + final norm), ``embedding`` (input
    table) and ``output`` (the output projection; 0 when tied to the embedding).

    An MoE model (``model.moe``) also gets ``active`` and ``active_non_embedding``: the parameters
    one token passes through — the router and its top_k experts of every layer, not all experts
    (Mixtral 8×7B: 46.7B total, 12.9B active; Jiang et al. 2024, §2.1)."""
    h, head_dim = model.hidden_size, model.hidden_size // model.num_attention_heads
    qkv = h * head_dim * (model.num_attention_heads + 2 * model.num_query_groups)
    attn_out = model.num_attention_heads * head_dim * h
    moe = model.moe
    ffn = model.moe_ffn_hidden_size if moe.enabled else model.ffn_hidden_size
    expert = h * 2 * ffn + ffn * h  # SwiGLU: gate+up, down
    router = moe.num_experts * h  # [experts, hidden], no bias
    mlp = router + moe.num_experts * expert if moe.enabled else expert
    active_mlp = router + moe.top_k * expert if moe.enabled else expert
    per_layer = qkv + attn_out + 2 * h  # + input and pre-MLP RMSNorm
    body = model.num_layers * (per_layer + mlp) + h  # + final norm
    embedding = padded_vocab * h
    output = 0 if model.tie_embeddings else padded_vocab * h
    counts = {"total": body + embedding + output, "non_embedding": body, "embedding": embedding, "output": output}
    if moe.enabled:
        active_body = model.num_layers * (per_layer + active_mlp) + h
        counts.update(active=active_body + embedding + output, active_non_embedding=active_body)
    return counts


def flops_terms(model: ModelConfig, padded_vocab: int) -> dict:
    """Training FLOPs per token: ``dense`` = 6·N and ``attention`` = 12·L·d·T (module docstring).

    N counts the matmul weights — the blocks and the output projection, tied or not (a tied table
    is still multiplied by the final hidden state); the input embedding is a lookup, not a matmul.
    For an MoE model N is the active blocks (router + top_k experts per layer, :func:`parameter_count`).
    """
    counts = parameter_count(model, padded_vocab)
    n = counts.get("active_non_embedding", counts["non_embedding"]) + padded_vocab * model.hidden_size
    return {"dense": 6 * n, "attention": 12 * model.num_layers * model.hidden_size * model.seq_length}


def flops_per_token(model: ModelConfig, padded_vocab: int) -> int:
    """6·N + 12·L·d·T (PaLM, App. B): what MFU and the training TFLOP/s are computed from."""
    return sum(flops_terms(model, padded_vocab).values())


def describe(model: ModelConfig, padded_vocab: int) -> str:
    """The one start-of-training line: size and FLOPs, with and without embeddings."""
    p, f = parameter_count(model, padded_vocab), flops_terms(model, padded_vocab)
    name = f" ({model.preset})" if getattr(model, "preset", "") else ""
    tied = "tied" if model.tie_embeddings else "untied"
    if "active" in p:
        name += f" (MoE {model.moe.num_experts} experts, top {model.moe.top_k}: {p['active']:,} active)"
    return (f"model{name}: {p['total']:,} parameters ({p['non_embedding']:,} without embeddings, {tied}, "
            f"vocab {padded_vocab:,}); {(f['dense'] + f['attention']) / 1e6:,.1f} MFLOPs/token = "
            f"6N {f['dense'] / 1e6:,.1f} + attention {f['attention'] / 1e6:,.1f} (PaLM App. B)")
