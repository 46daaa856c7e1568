"""``lmsci export-hf CHECKPOINT OUT``: a training checkpoint → transformers ``LlamaForCausalLM``, or
``MixtralForCausalLM`` when the model has routed experts (``model.moe.num_experts`` > 0).

The model is GPTModel with RMSNorm, SwiGLU, RoPE and GQA — Llama's architecture — so the export is
a renaming plus two re-layouts (megatron-core 0.16.1, local layer spec):

* ``linear_qkv`` holds, per query group g, the rows [q heads of g; k of g; v of g]
  (each head ``head_dim`` rows): split per group, then concatenate q's, k's and v's.
* ``linear_fc1`` is [gate; up] (gated_linear_unit with SiLU): its two halves are
  ``gate_proj`` and ``up_proj`` — for an expert, Mixtral's ``w1`` and ``w3``; ``linear_fc2`` is
  ``down_proj`` / ``w2``; megatron's ``mlp.router`` is Mixtral's ``block_sparse_moe.gate``.

Routing: megatron's default router (``moe_router_pre_softmax=False``, softmax score function, no
top-k scaling factor, expert bias, capacity factor or input jitter) takes the top-k logits and
softmaxes them; Mixtral softmaxes all logits, takes the top-k and renormalises them to sum to 1 —
exp(l_i)/Σ_topk exp(l_j) both ways, the same experts with the same weights. With
``moe_router_pre_softmax=True`` megatron does not renormalise: no Mixtral equivalent.

RoPE: megatron's non-interleaved rotary (rotate-half) is HF Llama's; ``rope_theta`` = rotary_base and
Llama-3.1 scaling (Meta 2024, HF ``rope_type: llama3``) is written when ``model.rope_scaling.factor``
> 0, in both the transformers 4 keys (``rope_theta``, ``rope_scaling``) and 5's ``rope_parameters``.
The embedding (and untied output layer) is cut from the padded vocabulary back to the tokenizer's.
Weights are written fp32 (``model.safetensors``); ``lmsci_export.json`` names the checkpoint.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from lmsci import config as C
from lmsci.config import ModelConfig
from lmsci.guard import EXPORT_MARKER, NotOurs, check_replaceable
from lmsci.tokenize import bpe
from lmsci.train import adapter


class ExportError(RuntimeError):
    """The checkpoint cannot be exported: one line naming the file or setting."""


def read_meta(checkpoint: Path) -> dict:
    path = Path(checkpoint) / "lmsci_meta.json"
    if not path.is_file():
        raise ExportError(f"{path} not found: {checkpoint} is not a checkpoint written by lmsci train or import-hf")
    try:
        return json.loads(path.read_text())
    except ValueError as e:
        raise ExportError(f"{path}: not valid JSON ({e})") from None


def model_from_meta(meta: dict, where: Path | str = "lmsci_meta.json") -> ModelConfig:
    """The checkpoint's ModelConfig, built like the config file's ``model:`` (nested sections, absent keys
    at their defaults — checkpoints older than a field lack it — and one-line errors)."""
    try:
        return C.parse_slice(json.dumps({"model": meta["model"]}))["model"]
    except (KeyError, C.ConfigError) as e:
        raise ExportError(f"{where}: no valid model config ({e})") from None


def moe(model: ModelConfig):
    """``model.moe`` when the model has routed experts, else None."""
    return model.moe if model.moe.enabled else None


def rope_config(model: ModelConfig) -> dict:
    rs, theta = model.rope_scaling, float(model.rotary_base)
    scaling = None if not rs.enabled else {
        "rope_type": "llama3", "factor": float(rs.factor), "low_freq_factor": float(rs.low_freq_factor),
        "high_freq_factor": float(rs.high_freq_factor),
        "original_max_position_embeddings": int(rs.original_max_position_embeddings)}
    return {"rope_theta": theta, "rope_scaling": scaling,
            "rope_parameters": {**(scaling or {"rope_type": "default"}), "rope_theta": theta}}


def hf_config(model: ModelConfig, vocab_size: int, eod: int) -> dict:
    common = {
        "vocab_size": vocab_size, "hidden_size": model.hidden_size, "num_hidden_layers": model.num_layers,
        "num_attention_heads": model.num_attention_heads, "num_key_value_heads": model.num_query_groups,
        "head_dim": model.hidden_size // model.num_attention_heads, "hidden_act": "silu",
        "max_position_embeddings": model.seq_length, "rms_norm_eps": model.norm_epsilon,
        "tie_word_embeddings": model.tie_embeddings, "initializer_range": model.init_method_std,
        "bos_token_id": eod, "eos_token_id": eod, "pad_token_id": eod, "dtype": "float32", "use_cache": True,
        **rope_config(model),
        # lmsci's own record of the model: import-hf takes it back when it describes this same network,
        # restoring what HF has no key for (z-loss, a dense ffn_hidden_size an all-MoE model never uses).
        "lmsci_model": dataclasses.asdict(model),
    }
    m = moe(model)
    if m is None:
        return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", **common,
                "intermediate_size": model.ffn_hidden_size, "attention_bias": False, "mlp_bias": False}
    return {"architectures": ["MixtralForCausalLM"], "model_type": "mixtral", **common,
            "intermediate_size": model.moe_ffn_hidden_size, "num_local_experts": m.num_experts,
            "num_experts_per_tok": m.top_k, "router_aux_loss_coef": float(m.aux_loss_coeff),
            "router_jitter_noise": 0.0, "output_router_logits": False, "sliding_window": None}


def convert(state: dict[str, torch.Tensor], model: ModelConfig, vocab_size: int) -> dict[str, torch.Tensor]:
    """Megatron GPTModel state dict (TP=PP=1) → HF Llama / Mixtral state dict; every megatron weight must be used."""
    h, nq, ng = model.hidden_size, model.num_attention_heads, model.num_query_groups
    d = h // nq
    state, out = dict(state), {}
    (gate_name, up_name), down = gate_up_names(model), down_name(model)

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
        for (src, dst), (fc1, fc2) in mlp_pairs(model, i):
            gate, up = torch.chunk(take(src + fc1), 2, dim=0)  # [gate; up]
            out[dst + gate_name], out[dst + up_name] = gate, up
            out[dst + down] = take(src + fc2)
        if moe(model):
            out[o + "block_sparse_moe.gate.weight"] = take(m + "mlp.router.weight")
        out[o + "input_layernorm.weight"] = take(m + "input_layernorm.weight")
        out[o + "post_attention_layernorm.weight"] = take(m + "pre_mlp_layernorm.weight")
    out["model.norm.weight"] = take("decoder.final_layernorm.weight")
    if model.tie_embeddings:
        state.pop("output_layer.weight", None)  # megatron may list the shared weight again
    else:
        out["lm_head.weight"] = take("output_layer.weight")[:vocab_size]
    if state:
        kind = "Mixtral" if moe(model) else "Llama"
        raise ExportError(f"checkpoint weights with no {kind} counterpart: {', '.join(sorted(state))}")
    return {k: v.contiguous() for k, v in out.items()}


def mlp_pairs(model: ModelConfig, i: int) -> list[tuple[tuple[str, str], tuple[str, str]]]:
    """Layer i's MLPs as ((megatron prefix, HF prefix), (fc1 name, fc2 name)): one for a dense layer,
    one per expert (megatron's SequentialMLP ``local_experts.e``) for an MoE layer."""
    m, o = f"decoder.layers.{i}.mlp.", f"model.layers.{i}."
    fc = ("linear_fc1.weight", "linear_fc2.weight")
    if not moe(model):
        return [((m, o + "mlp."), fc)]
    return [((f"{m}experts.local_experts.{e}.", f"{o}block_sparse_moe.experts.{e}."), fc)
            for e in range(moe(model).num_experts)]


def gate_up_names(model: ModelConfig) -> tuple[str, str]:
    return ("w1.weight", "w3.weight") if moe(model) else ("gate_proj.weight", "up_proj.weight")


def down_name(model: ModelConfig) -> str:
    return "w2.weight" if moe(model) else "down_proj.weight"


MARKER = EXPORT_MARKER  # written into every export: only a directory holding it is ever replaced


def _check_replaceable(out_dir: Path) -> None:
    """OUT comes from the command line: replacing it must never delete a directory lmsci did not write."""
    try:
        check_replaceable(out_dir, MARKER, "export-hf")
    except NotOurs as e:
        raise ExportError(str(e)) from None


def write_model(directory: Path, model: ModelConfig, weights: dict[str, torch.Tensor], vocab: int, eod: int) -> None:
    """config.json + model.safetensors (fp32) of an HF model into an existing ``directory``."""
    from safetensors.torch import save_file

    (directory / "config.json").write_text(json.dumps(hf_config(model, vocab, eod), indent=2, sort_keys=True) + "\n")
    save_file(weights, str(directory / "model.safetensors"), metadata={"format": "pt"})
    os.chmod(directory / "model.safetensors", 0o644)  # safetensors writes 0600; the directory is for sharing


def export(checkpoint: Path, out_dir: Path, tokenizer_path: Path | None = None) -> Path:
    """Write ``out_dir`` (config.json, model.safetensors, tokenizer files); replaced atomically."""
    from transformers import PreTrainedTokenizerFast

    checkpoint, out_dir = Path(checkpoint), Path(out_dir)
    _check_replaceable(out_dir)
    meta = read_meta(checkpoint)
    tokenizer_path = Path(tokenizer_path or checkpoint.parent.parent / "tokenizer" / "tokenizer.json")
    if not tokenizer_path.is_file():
        raise ExportError(f"tokenizer not found: {tokenizer_path}; pass --tokenizer")
    tok = bpe.load(tokenizer_path)
    vocab, eod = tok.get_vocab_size(), bpe.eod_id(tok)
    model = model_from_meta(meta, checkpoint / "lmsci_meta.json")
    weights = convert(adapter.load_weights(checkpoint, model, vocab, int(meta.get("seed", 0))), model, vocab)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp", dir=out_dir.parent))  # new: ours to remove
    os.chmod(tmp, 0o755)  # mkdtemp makes it 0700; the export is for sharing
    try:
        write_model(tmp, model, weights, vocab, eod)
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
