"""lmsci export-hf: the exported LlamaForCausalLM computes the megatron model's logits (fp32, ≤ 1e-4)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
import torch

from lmsci import cli
from lmsci.config import ModelConfig
from lmsci.evaluate.export_hf import ExportError, export
from lmsci.tokenize import bpe
from lmsci.train import adapter, loop

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
    with pytest.raises(loop.TrainError, match="not a checkpoint"):
        export(tmp_path, tmp_path / "out")
    with pytest.raises(ExportError, match="tokenizer not found"):
        export(tiny_run["results"] / "train/checkpoint", tmp_path / "out", tmp_path / "missing.json")
    assert not (tmp_path / "out").exists()
