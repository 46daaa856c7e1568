"""``lmsci import-hf HF_DIR --out DIR``: a Hugging Face Llama or Mixtral directory → an lmsci checkpoint.

The inverse of :mod:`lmsci.evaluate.export_hf` (same weight names and re-layouts, run backwards): the
result is a dist_checkpointing checkpoint written at TP=PP=1 — which dist_checkpointing reshards into
any layout on load — holding the model alone (step 0, no optimizer), with ``lmsci_meta.json``
recording the ModelConfig derived from ``config.json`` and ``lmsci_import.json`` naming the source
(file hashes). ``train.init_from`` starts continued pretraining from it.

A stranger's directory is hostile input. Nothing in it is executed: ``config.json`` is read as JSON
(``auto_map`` — custom modelling code — is refused, never run; transformers is not imported) and
weights are read only from ``*.safetensors`` (no pickle: ``pytorch_model.bin`` is refused). Every
setting lmsci's model cannot reproduce (biases, another activation, a RoPE type other than default
or Llama 3.1's, partial rotary, a sliding window shorter than the context, quantisation) fails with
one line naming the key, as does every weight with the wrong shape, missing or left over.

Call it in one process outside any ``adapter.distributed`` block (it opens its own 1-rank group).
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import torch

from lmsci import config as C
from lmsci.provenance import sha256_file
from lmsci.config import ModelConfig
from lmsci.evaluate import export_hf as ex
from lmsci.guard import NotOurs, check_replaceable

IMPORT_MARKER = "lmsci_import.json"  # written into every import: only a directory holding it is replaced
META = "lmsci_meta.json"
ARCHITECTURES = {"LlamaForCausalLM": "llama", "MixtralForCausalLM": "mixtral"}
MAX_CONFIG_BYTES = 1 << 20  # a real config.json is ~1 KB
MAX_VOCAB = 1 << 22  # 4M tokens; the largest published vocabularies (Gemma 3: 262k) are far below
# Derived buffers some older Llama checkpoints carry; lmsci recomputes them from rope_theta.
DERIVED = ("rotary_emb.inv_freq",)


class ImportHFError(RuntimeError):
    """The directory cannot be imported: one line naming the file or key."""


def read_config(hf_dir: Path) -> dict:
    path = Path(hf_dir) / "config.json"
    if not path.is_file():
        raise ImportHFError(f"{path} not found: {hf_dir} is not a Hugging Face model directory")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise ImportHFError(f"{path}: {path.stat().st_size} bytes is not a model config (at most {MAX_CONFIG_BYTES})")
    try:
        cfg = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ImportHFError(f"{path}: not valid JSON ({type(e).__name__}: {str(e)[:80]})") from None
    if not isinstance(cfg, dict):
        raise ImportHFError(f"{path}: expected a JSON object")
    arch = cfg.get("architectures")
    if not (isinstance(arch, list) and len(arch) == 1 and arch[0] in ARCHITECTURES):
        raise ImportHFError(f"{path}: architectures {C.show(repr(arch))[:80]} is not supported; "
                            f"lmsci imports one of {', '.join(ARCHITECTURES)}")
    if cfg.get("model_type") != ARCHITECTURES[arch[0]]:
        raise ImportHFError(f"{path}: model_type {C.show(repr(cfg.get('model_type')))[:40]} does not match "
                            f"{arch[0]} ('{ARCHITECTURES[arch[0]]}')")
    for key, why in (("auto_map", "custom modelling code is never run"), ("quantization_config", "quantised weights")):
        if key in cfg:
            raise ImportHFError(f"{path}: key '{key}' is not supported ({why}); import a plain {arch[0]}")
    return cfg


def _get(cfg: dict, key: str, kind: type, default=None, where: str = "config.json"):
    v = cfg.get(key, default)
    ok = isinstance(v, kind) and not isinstance(v, bool) if kind is not bool else isinstance(v, bool)
    if kind is float and isinstance(v, int) and not isinstance(v, bool):
        v, ok = float(v), True
    if v is None or not ok:
        raise ImportHFError(f"{where}: key '{key}' must be {'an integer' if kind is int else kind.__name__}, "
                            f"got {C.show(repr(v))[:60]}")
    return v


def _rope(cfg: dict) -> tuple[int, dict | None]:
    """(rope_theta, llama3 scaling or None) from transformers 5's ``rope_parameters`` or 4's keys."""
    params = cfg.get("rope_scaling") or cfg.get("rope_parameters") or {}  # transformers 5 prefers rope_scaling too
    if not isinstance(params, dict):
        raise ImportHFError(f"config.json: key 'rope_scaling' must be an object, got {C.show(repr(params))[:60]}")
    theta = _get({**cfg, **params}, "rope_theta", float, 10_000.0)  # HF Llama's default base
    if not (math.isfinite(theta) and theta.is_integer()):
        raise ImportHFError(f"config.json: key 'rope_theta' {theta} is not a whole number (model.rotary_base)")
    kind = params.get("rope_type", params.get("type", "default"))
    if params.get("partial_rotary_factor", cfg.get("partial_rotary_factor", 1.0)) != 1.0:
        raise ImportHFError("config.json: key 'partial_rotary_factor' must be 1 (lmsci rotates every channel)")
    if kind == "default":
        return int(theta), None
    if kind != "llama3":
        raise ImportHFError(f"config.json: rope_type {C.show(repr(kind))[:40]} is not supported; "
                            "lmsci has 'default' and Llama 3.1's 'llama3'")
    return int(theta), {"factor": _get(params, "factor", float), "low_freq_factor": _get(params, "low_freq_factor", float),
                        "high_freq_factor": _get(params, "high_freq_factor", float),
                        "original_max_position_embeddings": _get(params, "original_max_position_embeddings", int)}


def model_config(cfg: dict) -> tuple[ModelConfig, int]:
    """(ModelConfig, vocab size) of a config.json that :func:`read_config` accepted."""
    h, heads = _get(cfg, "hidden_size", int), _get(cfg, "num_attention_heads", int)
    for key, want in (("hidden_act", "silu"), ("attention_bias", False), ("mlp_bias", False),
                      ("head_dim", h // max(heads, 1))):
        if cfg.get(key, want) != want:
            raise ImportHFError(f"config.json: key '{key}' is {C.show(repr(cfg[key]))[:40]}; lmsci's model has {want!r}")
    seq = _get(cfg, "max_position_embeddings", int, 2048)  # HF Llama's default
    window = cfg.get("sliding_window")
    if window is not None and (not isinstance(window, int) or window < seq):
        raise ImportHFError(f"config.json: key 'sliding_window' {C.show(repr(window))[:40]} is shorter than "
                            f"max_position_embeddings {seq}; lmsci attends to the whole context")
    theta, scaling = _rope(cfg)
    d = {"num_layers": _get(cfg, "num_hidden_layers", int), "hidden_size": h, "num_attention_heads": heads,
         "num_query_groups": _get(cfg, "num_key_value_heads", int, heads),
         "ffn_hidden_size": _get(cfg, "intermediate_size", int), "seq_length": seq,
         "tie_embeddings": _get(cfg, "tie_word_embeddings", bool, False), "rotary_base": theta,
         "norm_epsilon": _get(cfg, "rms_norm_eps", float, 1e-6), "init_method_std": _get(cfg, "initializer_range", float, 0.02)}
    if scaling:
        d["rope_scaling"] = scaling
    if cfg["model_type"] == "mixtral":
        d["moe"] = {"num_experts": _get(cfg, "num_local_experts", int, 8), "top_k": _get(cfg, "num_experts_per_tok", int, 2),
                    "aux_loss_coeff": _get(cfg, "router_aux_loss_coef", float, 0.001)}  # HF Mixtral's defaults
    try:
        model = C.parse_slice(json.dumps({"model": d}))["model"]
    except C.ConfigError as e:
        raise ImportHFError(f"config.json does not fit lmsci's model: {e}") from None
    vocab = _get(cfg, "vocab_size", int)
    if not 0 < vocab <= MAX_VOCAB:
        raise ImportHFError(f"config.json: key 'vocab_size' must be in [1, {MAX_VOCAB}], got {vocab}")
    return _recorded(cfg.get("lmsci_model"), model, vocab) or model, vocab


def _recorded(recorded, model: ModelConfig, vocab: int) -> ModelConfig | None:
    """export-hf's ``lmsci_model`` if it is a valid ModelConfig exporting to the same HF config as the
    one the HF keys describe (a stale or forged record is ignored: the HF keys are what HF runs)."""
    if not isinstance(recorded, dict):
        return None
    try:
        rec = C.parse_slice(json.dumps({"model": recorded}))["model"]
    except (C.ConfigError, TypeError, ValueError):
        return None
    a, b = ex.hf_config(rec, vocab, 0), ex.hf_config(model, vocab, 0)
    return rec if {**a, "lmsci_model": None} == {**b, "lmsci_model": None} else None


def weight_files(hf_dir: Path) -> list[Path]:
    """The safetensors files of ``hf_dir`` (one, or the shards its index names); never a pickle."""
    hf_dir = Path(hf_dir)
    index = hf_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            names = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ImportHFError(f"{index}: not a safetensors index ({type(e).__name__}: {e})") from None
        for n in names:
            if not isinstance(n, str) or Path(n).name != n or not n.endswith(".safetensors"):
                raise ImportHFError(f"{index}: weight file {C.show(repr(n))[:60]} is not a .safetensors file "
                                    "beside the index")
        files = [hf_dir / n for n in names]
    else:
        files = [hf_dir / "model.safetensors"]
    for f in files:
        if not f.is_file():
            pickles = sorted(p.name for p in hf_dir.glob("*") if p.suffix in (".bin", ".pt", ".pth", ".ckpt"))
            hint = f" ({', '.join(pickles)} are pickles, which are never loaded)" if pickles else ""
            raise ImportHFError(f"{f} not found: lmsci imports safetensors weights only{hint}")
    return files


def read_weights(files: list[Path]) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError, safe_open

    out: dict[str, torch.Tensor] = {}
    for f in files:
        try:
            with safe_open(str(f), framework="pt") as st:
                for key in st.keys():
                    if key in out:
                        raise ImportHFError(f"{f}: weight '{key}' is also in another file")
                    out[key] = st.get_tensor(key).float()
        except (SafetensorError, OSError, RuntimeError, ValueError) as e:
            raise ImportHFError(f"{f}: not a readable safetensors file ({e})") from None
    return out


def to_megatron(hf: dict[str, torch.Tensor], model: ModelConfig, vocab: int, padded: int) -> dict[str, torch.Tensor]:
    """HF Llama / Mixtral state dict → megatron GPTModel state dict (TP=PP=1); the inverse of
    :func:`export_hf.convert`; the vocabulary rows megatron pads are zero."""
    h, nq, ng = model.hidden_size, model.num_attention_heads, model.num_query_groups
    d = h // nq
    hf, out = {k: v for k, v in hf.items() if not k.endswith(DERIVED)}, {}

    def take(key: str, shape: tuple[int, ...]) -> torch.Tensor:
        if key not in hf:
            raise ImportHFError(f"weights: '{key}' is missing")
        t = hf.pop(key)
        if tuple(t.shape) != shape:
            raise ImportHFError(f"weights: '{key}' has shape {tuple(t.shape)}, config.json implies {shape}")
        return t

    def pad(t: torch.Tensor) -> torch.Tensor:
        return torch.cat([t, t.new_zeros(padded - vocab, h)])

    embed = take("model.embed_tokens.weight", (vocab, h))
    out["embedding.word_embeddings.weight"] = pad(embed)
    (gate_name, up_name), down = ex.gate_up_names(model), ex.down_name(model)
    ffn = model.moe_ffn_hidden_size if model.moe.enabled else model.ffn_hidden_size
    for i in range(model.num_layers):
        m, o = f"decoder.layers.{i}.", f"model.layers.{i}."
        q = take(o + "self_attn.q_proj.weight", (nq * d, h)).view(ng, nq // ng * d, h)
        k = take(o + "self_attn.k_proj.weight", (ng * d, h)).view(ng, d, h)
        v = take(o + "self_attn.v_proj.weight", (ng * d, h)).view(ng, d, h)
        out[m + "self_attention.linear_qkv.weight"] = torch.cat([q, k, v], dim=1).reshape(-1, h)  # per group
        out[m + "self_attention.linear_proj.weight"] = take(o + "self_attn.o_proj.weight", (h, nq * d))
        for (dst, src), (fc1, fc2) in ex.mlp_pairs(model, i):
            out[dst + fc1] = torch.cat([take(src + gate_name, (ffn, h)), take(src + up_name, (ffn, h))])
            out[dst + fc2] = take(src + down, (h, ffn))
        if ex.moe(model):
            out[m + "mlp.router.weight"] = take(o + "block_sparse_moe.gate.weight", (ex.moe(model).num_experts, h))
        out[m + "input_layernorm.weight"] = take(o + "input_layernorm.weight", (h,))
        out[m + "pre_mlp_layernorm.weight"] = take(o + "post_attention_layernorm.weight", (h,))
    out["decoder.final_layernorm.weight"] = take("model.norm.weight", (h,))
    if not model.tie_embeddings:
        out["output_layer.weight"] = pad(take("lm_head.weight", (vocab, h)))
    elif "lm_head.weight" in hf and not torch.equal(take("lm_head.weight", (vocab, h)), embed):
        raise ImportHFError("weights: lm_head.weight differs from the embedding but tie_word_embeddings is true")
    if hf:
        more = f" (+{len(hf) - 5} more)" if len(hf) > 5 else ""
        raise ImportHFError(f"weights with no lmsci counterpart: {', '.join(sorted(hf)[:5])}{more}")
    return out


def import_hf(hf_dir: Path, out_dir: Path, seed: int = 0) -> Path:
    """Write ``out_dir``: an lmsci checkpoint (step 0, model only) of the HF model in ``hf_dir``;
    replaced atomically, and only if it is empty or an earlier import."""
    import torch.distributed as dist

    from lmsci.train import adapter

    hf_dir, out_dir = Path(hf_dir), Path(out_dir)
    try:
        check_replaceable(out_dir, IMPORT_MARKER, "import-hf")
    except NotOurs as e:
        raise ImportHFError(str(e)) from None
    if dist.is_initialized() or "RANK" in os.environ:
        raise ImportHFError("import_hf runs in one process outside a distributed run; import first "
                            "(lmsci import-hf), then train from the checkpoint")
    cfg = read_config(hf_dir)
    model, vocab = model_config(cfg)
    files = weight_files(hf_dir)
    padded = adapter.padded_vocab_size(vocab)
    state = to_megatron(read_weights(files), model, vocab, padded)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp", dir=out_dir.parent))  # new: ours to remove
    try:
        with adapter.distributed(1, 1, seed):
            module = adapter.build_model(model, vocab, 1, 1, wrap_ddp=False)
            gpt = getattr(module, "module", module)  # Float16Module on GPU wraps the GPTModel
            missing, unexpected = gpt.load_state_dict(state, strict=False)
            missing = [k for k in missing if "_extra_state" not in k]
            if missing or unexpected:  # a bug in to_megatron, not in the input: it checked every HF weight
                raise ImportHFError(f"megatron model mismatch: missing {missing[:3]}, unexpected {unexpected[:3]}")
            adapter.save_checkpoint(tmp, module, None, step=0)
        source = {"hf_dir": str(hf_dir), "architecture": cfg["architectures"][0],
                  "config_sha256": sha256_file(hf_dir / "config.json"),
                  "weights_sha256": {f.name: sha256_file(f) for f in files}}
        (tmp / IMPORT_MARKER).write_text(json.dumps(source, indent=2, sort_keys=True) + "\n")
        meta = {"step": 0, "consumed_samples": 0, "seed": seed, "model": dataclasses.asdict(model),
                "vocab_size": vocab, "has_optimizer": False, "imported_from": source,
                "layout": {"tensor_parallel": 1, "pipeline_parallel": 1, "virtual_pipeline": 1, "data_parallel": 1}}
        (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")  # last: marks it complete
        os.chmod(tmp, 0o755)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(tmp, out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir
