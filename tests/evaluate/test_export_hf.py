"""lmsci export-hf: the exported LlamaForCausalLM computes the megatron model's logits (fp32, ≤ 1e-4)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from lmsci import cli
from lmsci.conf.model import MoEConfig, RopeScalingConfig
from lmsci.config import ModelConfig
from lmsci.evaluate.export_hf import ExportError, export
from lmsci.tokenize import bpe
from lmsci.train import adapter

TOLERANCE = 1e-4  # fp32; measured ≈ 5e-6 on the 300-step default model
TEXT = "The spreadsheet functions are described in the help pages, with an example for each of them. " * 3


def megatron_logits(checkpoint: Path, model: ModelConfig, vocab: int, ids: torch.Tensor) -> torch.Tensor:
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, vocab, 1, 1, wrap_ddp=False)
        adapter.load_checkpoint(checkpoint, module)
        return adapter.logits(module, ids)[..., :vocab]


def hf_logits(out: Path, ids: torch.Tensor) -> torch.Tensor:
    from transformers import LlamaForCausalLM

    hf = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    with torch.no_grad():
        return hf(ids).logits


@pytest.fixture(scope="module")
def tokenizer(tiny_run):
    return tiny_run["results"] / "tokenizer/tokenizer.json"


def test_workflow_export_matches_megatron_logits(tiny_run, tokenizer):
    """results/export/hf was written by the export_hf rule's command (the fixture runs the workflow)."""
    from transformers import AutoTokenizer

    checkpoint, out = tiny_run["results"] / "train/checkpoint", tiny_run["results"] / "export/hf"
    names = {p.name for p in out.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} <= names
    tok = bpe.load(tokenizer)
    hf_tok = AutoTokenizer.from_pretrained(out)
    ids = tok.encode(TEXT).ids[: tiny_run["cfg"].model.seq_length]
    assert hf_tok(TEXT)["input_ids"][: len(ids)] == ids and hf_tok.eos_token_id == bpe.eod_id(tok)
    x = torch.tensor([ids])
    model = tiny_run["cfg"].model
    ref, got = megatron_logits(checkpoint, model, tok.get_vocab_size(), x), hf_logits(out, x)
    assert got.shape == ref.shape == (1, len(ids), tok.get_vocab_size())
    assert (got - ref).abs().max().item() <= TOLERANCE
    assert json.loads((out / "config.json").read_text())["num_key_value_heads"] == model.num_query_groups
    prov = json.loads((tiny_run["report"] / "provenance.json").read_text())
    assert "export/hf/model.safetensors" in prov["artifacts"]


def test_cli_export_is_deterministic_and_finds_the_tokenizer(tiny_run, tmp_path):
    checkpoint = tiny_run["results"] / "train/checkpoint"
    assert cli.main(["export-hf", str(checkpoint), str(tmp_path / "hf")]) == 0  # tokenizer beside the checkpoint
    for name in ("model.safetensors", "config.json", "tokenizer.json"):
        assert (tmp_path / "hf" / name).read_bytes() == (tiny_run["results"] / "export/hf" / name).read_bytes()


def test_tied_embeddings_multi_query_and_other_rope_base(tiny_run, tokenizer, tmp_path):
    """A second layout at init: tied output, one query group (MQA), rotary base 5e5, eps 1e-6."""
    model = dataclasses.replace(tiny_run["cfg"].model, tie_embeddings=True, num_query_groups=1,
                                rotary_base=500_000, norm_epsilon=1e-6, init_method_std=0.2)
    vocab = bpe.load(tokenizer).get_vocab_size()
    checkpoint = tmp_path / "checkpoint"
    checkpoint.mkdir()
    with adapter.distributed(1, 1, seed=3):
        adapter.save_checkpoint(checkpoint, adapter.build_model(model, vocab, 1, 1, wrap_ddp=False), None, step=0)
    (checkpoint / "lmsci_meta.json").write_text(json.dumps({"step": 0, "seed": 3, "model": dataclasses.asdict(model)}))
    out = export(checkpoint, tmp_path / "hf", tokenizer)
    x = torch.randint(0, vocab, (2, model.seq_length), generator=torch.Generator().manual_seed(0))
    ref, got = megatron_logits(checkpoint, model, vocab, x), hf_logits(out, x)
    assert ref.std() > 0.1  # large init: a layout error could not hide in near-zero logits
    assert (got - ref).abs().max().item() <= TOLERANCE
    config = json.loads((out / "config.json").read_text())
    assert config["tie_word_embeddings"] and config["rope_parameters"]["rope_theta"] == 500_000.0


def test_not_a_checkpoint_and_missing_tokenizer_fail_in_one_line(tiny_run, tmp_path):
    with pytest.raises(ExportError, match="not a checkpoint"):
        export(tmp_path, tmp_path / "out")
    with pytest.raises(ExportError, match="tokenizer not found"):
        export(tiny_run["results"] / "train/checkpoint", tmp_path / "out", tmp_path / "missing.json")
    assert not (tmp_path / "out").exists()


# Recipes (issue 12): context extension and MoE, on a model built here (no workflow run needed).
SMALL = ModelConfig(num_layers=2, hidden_size=64, num_attention_heads=4, num_query_groups=2, ffn_hidden_size=96,
                    seq_length=128, init_method_std=0.2)


@pytest.fixture(scope="module")
def small_tokenizer(tmp_path_factory):
    """A byte-level BPE of ~300 tokens (the alphabet plus a few merges): enough for export's tokenizer files."""
    from lmsci.config import TokenizerConfig

    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    bpe.save(bpe.train([TEXT] * 4, TokenizerConfig(vocab_size=300, min_frequency=1)), path)
    return path


def save_initial(model: ModelConfig, vocab: int, directory: Path, seed: int = 3) -> Path:
    """A step-0 checkpoint of ``model`` at TP=PP=1, with the meta lmsci train writes."""
    directory.mkdir(parents=True)
    with adapter.distributed(1, 1, seed=seed):
        adapter.save_checkpoint(directory, adapter.build_model(model, vocab, 1, 1, wrap_ddp=False), None, step=0)
    (directory / "lmsci_meta.json").write_text(json.dumps({"step": 0, "seed": seed, "model": dataclasses.asdict(model)}))
    return directory


def test_context_extension_rope_scaling_and_new_base(small_tokenizer, tmp_path):
    """After a context-extension stage (longer seq_length, new base, Llama 3.1 scaling from a 32-token
    original context) HF computes megatron's logits; the scaling is live: without it HF differs."""
    from transformers import LlamaForCausalLM

    scaling = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
    model = dataclasses.replace(SMALL, rotary_base=500_000, rope_scaling=RopeScalingConfig(**scaling))
    vocab = bpe.load(small_tokenizer).get_vocab_size()
    checkpoint = save_initial(model, vocab, tmp_path / "checkpoint")
    out = export(checkpoint, tmp_path / "hf", small_tokenizer)
    config = json.loads((out / "config.json").read_text())
    assert config["rope_scaling"] == {"rope_type": "llama3", **scaling} and config["rope_theta"] == 500_000.0
    assert config["max_position_embeddings"] == 128 and config["architectures"] == ["LlamaForCausalLM"]
    x = torch.randint(0, vocab, (2, model.seq_length), generator=torch.Generator().manual_seed(1))
    ref, got = megatron_logits(checkpoint, model, vocab, x), hf_logits(out, x)
    assert ref.std() > 0.1 and (got - ref).abs().max().item() <= TOLERANCE
    hf = LlamaForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    assert hf.config.rope_parameters["rope_type"] == "llama3"
    plain = dict(config, rope_scaling=None, rope_parameters={"rope_type": "default", "rope_theta": 500_000.0})
    (out / "config.json").write_text(json.dumps(plain))
    assert (hf_logits(out, x) - ref).abs().max().item() > 100 * TOLERANCE


def test_moe_exports_as_mixtral_with_logit_parity(small_tokenizer, tmp_path):
    """Routed experts → MixtralForCausalLM: router → block_sparse_moe.gate, experts' [gate; up] fc1 → w1, w3,
    fc2 → w2; megatron's top-k-then-softmax router picks and weights experts as Mixtral's renormalised top-k."""
    from transformers import MixtralForCausalLM

    moe = MoEConfig(num_experts=4, top_k=2, ffn_hidden_size=48, aux_loss_coeff=0.02)
    model = dataclasses.replace(SMALL, moe=moe, tie_embeddings=True, seq_length=64)
    vocab = bpe.load(small_tokenizer).get_vocab_size()
    checkpoint = save_initial(model, vocab, tmp_path / "checkpoint")
    out = export(checkpoint, tmp_path / "hf", small_tokenizer)
    config = json.loads((out / "config.json").read_text())
    assert config["architectures"] == ["MixtralForCausalLM"] and config["intermediate_size"] == 48
    assert (config["num_local_experts"], config["num_experts_per_tok"], config["router_aux_loss_coef"]) == (4, 2, 0.02)
    hf = MixtralForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    x = torch.randint(0, vocab, (2, model.seq_length), generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = hf(x).logits
    ref = megatron_logits(checkpoint, model, vocab, x)
    assert ref.std() > 0.1 and (got - ref).abs().max().item() <= TOLERANCE
    from safetensors import safe_open
    with safe_open(str(out / "model.safetensors"), "pt") as f:
        keys = set(f.keys())
    assert {f"model.layers.1.block_sparse_moe.experts.3.{w}.weight" for w in ("w1", "w2", "w3")} <= keys
    assert "lm_head.weight" not in keys and not any(".mlp." in k for k in keys)
