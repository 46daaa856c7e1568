"""Named model shapes for ``model.preset``: the published sizes, expressed as lmsci's Llama-style GPT.

Every lmsci model is Llama-style — RMSNorm, SwiGLU MLP, RoPE, no biases — so the Pythia shapes
(Biderman et al. 2023, Table 1: GPT-NeoX with LayerNorm, GELU MLP of 4·d, partial rotary, biases)
keep their depth, width and heads, and size the SwiGLU MLP the way Llama does: 2/3 of 4·d, rounded
up to a multiple of 256 (``multiple_of`` in Llama's model.py, Touvron et al. 2023). That keeps the
non-embedding parameters within ~2 % of Pythia's (tests/train/test_flops.py); Pythia's 50 304-token
vocabulary is the project tokenizer's business (``tokenizer.vocab_size``), not the preset's.

The Llama presets are the released models' shapes exactly (their parameter counts match the
published ones with the released vocabularies, also tested). ``seq_length`` is never part of a
preset: it is a property of the data (the mix stage cuts sequences to it), so the config names it.

Explicit fields in ``model:`` override the preset's (``lmsci.config`` merges them), so
``{preset: pythia-160m, num_layers: 6, seq_length: 512}`` is a 6-layer Pythia-160M-wide model.
"""
from __future__ import annotations


def llama_ffn(hidden_size: int, multiple_of: int = 256) -> int:
    """SwiGLU width with the parameters of a 4·d GELU MLP: 2/3 · 4·d, rounded up (Llama's model.py)."""
    return -(-(2 * 4 * hidden_size // 3) // multiple_of) * multiple_of


def _pythia(layers: int, hidden: int, heads: int) -> dict:
    # Pythia: multi-head attention (query groups = heads), untied embeddings, rotary base 10 000.
    return {"num_layers": layers, "hidden_size": hidden, "num_attention_heads": heads, "num_query_groups": heads,
            "ffn_hidden_size": llama_ffn(hidden), "tie_embeddings": False, "rotary_base": 10_000}


PRESETS: dict[str, dict] = {
    # The test-suite model (configs/tiny.yaml): 2 layers, d 64, GQA 4 heads / 2 groups.
    "tiny": {"num_layers": 2, "hidden_size": 64, "num_attention_heads": 4, "num_query_groups": 2,
             "ffn_hidden_size": 176, "tie_embeddings": False},
    # Biderman et al. 2023, Table 1 (layers, model dim, heads).
    "pythia-160m": _pythia(12, 768, 12),
    "pythia-410m": _pythia(24, 1024, 16),
    "pythia-1b": _pythia(16, 2048, 8),
    # Llama 3.2 1B (Meta 2024, model card / config.json): 16 layers, d 2048, 32 heads, 8 KV heads,
    # SwiGLU 8192, tied embeddings, rope_theta 500 000.
    "llama-1b": {"num_layers": 16, "hidden_size": 2048, "num_attention_heads": 32, "num_query_groups": 8,
                 "ffn_hidden_size": 8192, "tie_embeddings": True, "rotary_base": 500_000},
    # Llama 2 7B (Touvron et al. 2023, Table 1 / params.json): 32 layers, d 4096, 32 heads (MHA),
    # SwiGLU 11 008, untied, rope base 10 000.
    "llama-7b": {"num_layers": 32, "hidden_size": 4096, "num_attention_heads": 32, "num_query_groups": 32,
                 "ffn_hidden_size": 11008, "tie_embeddings": False, "rotary_base": 10_000},
}
