"""``lmsci export-hf CHECKPOINT OUT``: a training checkpoint → a transformers ``LlamaForCausalLM``.

The model is GPTModel with RMSNorm, SwiGLU, RoPE and GQA — Llama's architecture — so the export is
a renaming plus two re-layouts (megatron-core 0.16.1, local layer spec):

* ``linear_qkv`` holds, per query group g, the rows [q heads of g; k of g; v of g]
  (each head ``head_dim`` rows): split per group, then concatenate q's, k's and v's.
* ``linear_fc1`` is [gate; up] (gated_linear_unit with SiLU): its two halves are
  ``gate_proj`` and ``up_proj``.

RoPE: megatron's non-interleaved rotary (rotate-half) is HF Llama's; ``rope_theta`` = rotary_base.
The embedding (and untied output layer) is cut from the padded vocabulary back to the tokenizer's.
Weights are written fp32 (``model.safetensors``); ``lmsci_export.json`` names the checkpoint.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from lmsci.config import ModelConfig
from lmsci.guard import EXPORT_MARKER, NotOurs, check_replaceable
from lmsci.tokenize import bpe
from lmsci.train import adapter
from lmsci.train.loop import read_meta


class ExportError(RuntimeError):
    """The checkpoint cannot be exported: one line naming the file or setting."""


def llama_config(model: ModelConfig, vocab_size: int, eod: int) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": vocab_size,
        "hidden_size": model.hidden_size, "intermediate_size": model.ffn_hidden_size,
        "num_hidden_layers": model.num_layers, "num_attention_heads": model.num_attention_heads,
        "num_key_value_heads": model.num_query_groups, "head_dim": model.hidden_size // model.num_attention_heads,
        "hidden_act": "silu", "max_position_embeddings": model.seq_length, "rms_norm_eps": model.norm_epsilon,
        "rope_parameters": {"rope_type": "default", "rope_theta": float(model.rotary_base)},
        "tie_word_embeddings": model.tie_embeddings, "attention_bias": False, "mlp_bias": False,
        "initializer_range": model.init_method_std, "bos_token_id": eod, "eos_token_id": eod,
        "pad_token_id": eod, "dtype": "float32", "use_cache": True,
    }


def convert(state: dict[str, torch.Tensor], model: ModelConfig, vocab_size: int) -> dict[str, torch.Tensor]:
    """Megatron GPTModel state dict (TP=PP=1) → HF Llama state dict; every megatron weight must be used."""
    h, nq, ng = model.hidden_size, model.num_attention_heads, model.num_query_groups
    d = h // nq
    state, out = dict(state), {}

    def take(key: str) -> torch.Tensor:
        if key not in state:
            raise ExportError(f"checkpoint has no weight '{key}'; it was not written by this lmsci version")
        return state.pop(key)

    out["model.embed_tokens.weight"] = take("embedding.word_embeddings.weight")[:vocab_size]
    for i in range(model.num_layers):
        m, o = f"decoder.layers.{i}.", f"model.layers.{i}."
        qkv = take(m + "self_attention.linear_qkv.weight").view(ng, (nq // ng + 2) * d, h)
        q, k, v = torch.split(qkv, [nq // ng * d, d, d], dim=1)  # per group: [q heads; k; v]
        out[o + "self_attn.q_proj.weight"] = q.reshape(nq * d, h)
        out[o + "self_attn.k_proj.weight"] = k.reshape(ng * d, h)
        out[o + "self_attn.v_proj.weight"] = v.reshape(ng * d, h)
        out[o + "self_attn.o_proj.weight"] = take(m + "self_attention.linear_proj.weight")
        gate, up = torch.chunk(take(m + "mlp.linear_fc1.weight"), 2, dim=0)  # [gate; up]
        out[o + "mlp.gate_proj.weight"], out[o + "mlp.up_proj.weight"] = gate, up
        out[o + "mlp.down_proj.weight"] = take(m + "mlp.linear_fc2.weight")
        out[o + "input_layernorm.weight"] = take(m + "input_layernorm.weight")
        out[o + "post_attention_layernorm.weight"] = take(m + "pre_mlp_layernorm.weight")
    out["model.norm.weight"] = take("decoder.final_layernorm.weight")
    if model.tie_embeddings:
        state.pop("output_layer.weight", None)  # megatron may list the shared weight again
    else:
        out["lm_head.weight"] = take("output_layer.weight")[:vocab_size]
    if state:
        raise ExportError(f"checkpoint weights with no Llama counterpart: {', '.join(sorted(state))}")
    return {k: v.contiguous() for k, v in out.items()}


MARKER = EXPORT_MARKER  # written into every export: only a directory holding it is ever replaced


def _check_replaceable(out_dir: Path) -> None:
    """OUT comes from the command line: replacing it must never delete a directory lmsci did not write."""
    try:
        check_replaceable(out_dir, MARKER, "export-hf")
    except NotOurs as e:
        raise ExportError(str(e)) from None


def export(checkpoint: Path, out_dir: Path, tokenizer_path: Path | None = None) -> Path:
    """Write ``out_dir`` (config.json, model.safetensors, tokenizer files); replaced atomically."""
    from safetensors.torch import save_file
    from transformers import PreTrainedTokenizerFast

    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    _check_replaceable(out_dir)
    meta = read_meta(checkpoint)
    tokenizer_path = Path(tokenizer_path or checkpoint.parent.parent / "tokenizer" / "tokenizer.json")
    if not tokenizer_path.is_file():
        raise ExportError(f"tokenizer not found: {tokenizer_path}; pass --tokenizer")
    tok = bpe.load(tokenizer_path)
    vocab, eod = tok.get_vocab_size(), bpe.eod_id(tok)
    model = ModelConfig(**meta["model"])
    weights = convert(adapter.load_weights(checkpoint, model, vocab, int(meta.get("seed", 0))), model, vocab)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp", dir=out_dir.parent))  # new: ours to remove
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the export is for sharing
    try:
        (tmp / "config.json").write_text(json.dumps(llama_config(model, vocab, eod), indent=2, sort_keys=True) + "\n")
        save_file(weights, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        os.chmod(tmp / "model.safetensors", 0o644)  # safetensors writes 0600; the directory is for sharing
        PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_path), eos_token=bpe.EOD, bos_token=bpe.EOD,
                                pad_token=bpe.EOD, model_max_length=model.seq_length).save_pretrained(str(tmp))
        (tmp / MARKER).write_text(json.dumps(
            {"checkpoint": str(checkpoint), "step": meta["step"], "data_fingerprint": meta.get("data_fingerprint"),
             "tokenizer": str(tokenizer_path)}, indent=2, sort_keys=True) + "\n")
        if out_dir.exists():  # _check_replaceable: empty, or an earlier export (its MARKER)
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
