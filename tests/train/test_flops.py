"""lmsci.train.flops and lmsci.train.presets: exact parameter counts, FLOPs per token, the presets."""
from __future__ import annotations

import dataclasses
import typing

import pytest

from lmsci import config as C
from lmsci.train import adapter, flops
from lmsci.train.presets import PRESETS, llama_ffn

from .conftest import VOCAB


def preset(name: str, seq_length: int = 2048, **override) -> C.ModelConfig:
    return C._build(C.ModelConfig, {"preset": name, "seq_length": seq_length, **override}, "model")


@pytest.mark.parametrize("tie", [False, True])
def test_count_equals_the_built_gpt_model(tie):
    model = preset("tiny", seq_length=64, tie_embeddings=tie)
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, VOCAB, 1, 1, wrap_ddp=False)
        built = sum(p.numel() for p in module.parameters())
    counted = flops.parameter_count(model, adapter.padded_vocab_size(VOCAB))
    assert built == counted["total"]
    assert counted["total"] == counted["non_embedding"] + counted["embedding"] + counted["output"]
    assert (counted["output"] == 0) == tie


def test_llama_presets_match_the_published_sizes():
    # Hugging Face model cards / safetensors index: Llama-2-7b-hf 6,738,415,616 parameters
    # (vocab 32 000, untied); Llama-3.2-1B 1,235,814,400 (vocab 128 256, tied).
    assert flops.parameter_count(preset("llama-7b", 4096), 32_000)["total"] == 6_738_415_616
    assert flops.parameter_count(preset("llama-1b", 8192), 128_256)["total"] == 1_235_814_400


@pytest.mark.parametrize("name, published_non_embedding, published_total", [
    # Biderman et al. 2023, Table 1 (GPT-NeoX vocabulary 50 304, untied; their counts include biases).
    ("pythia-160m", 85_056_000, 162_322_944),
    ("pythia-410m", 302_311_424, 405_334_016),
    ("pythia-1b", 805_736_448, 1_011_781_632),
])
def test_pythia_presets_are_within_two_percent(name, published_non_embedding, published_total):
    counted = flops.parameter_count(preset(name), 50_304)
    assert counted["non_embedding"] == pytest.approx(published_non_embedding, rel=0.025)
    assert counted["total"] == pytest.approx(published_total, rel=0.02)


def test_flops_per_token_is_6n_plus_attention():
    model = preset("llama-7b", 4096)
    terms = flops.flops_terms(model, 32_000)
    n_matmul = 6_738_415_616 - 32_000 * 4096  # all weights but the input embedding lookup
    assert terms == {"dense": 6 * n_matmul, "attention": 12 * 32 * 4096 * 4096}
    assert flops.flops_per_token(model, 32_000) == terms["dense"] + terms["attention"]
    # Doubling the context adds exactly one more attention term and leaves 6N alone.
    longer = flops.flops_terms(dataclasses.replace(model, seq_length=8192), 32_000)
    assert longer["dense"] == terms["dense"] and longer["attention"] == 2 * terms["attention"]
    assert "llama-7b" in flops.describe(model, 32_000) and "6,738,415,616 parameters" in flops.describe(model, 32_000)


def test_llama_ffn_rounding():
    assert llama_ffn(4096) == 11008  # Llama 2 7B
    assert llama_ffn(768) == 2048 and llama_ffn(1024) == 2816


def test_preset_fields_are_overridden_by_explicit_ones_and_names_are_checked():
    m = preset("pythia-160m", 512, num_layers=6)
    assert (m.num_layers, m.hidden_size, m.num_attention_heads, m.seq_length, m.preset) == (6, 768, 12, 512, "pythia-160m")
    with pytest.raises(C.ConfigError, match="'model.preset'") as e:
        preset("gpt-5")
    assert "\n" not in str(e.value)
    with pytest.raises(C.ConfigError, match="'model.seq_length'"):
        C._build(C.ModelConfig, {"preset": "tiny"}, "model")
    hints = typing.get_type_hints(C.ModelConfig)
    assert set(typing.get_args(hints["preset"])) == {"", *PRESETS}  # the config's choices are the table's


def test_preset_config_round_trips_through_a_slice_and_the_schema(base_dict):
    import jsonschema

    base_dict["model"] = {"preset": "tiny", "seq_length": base_dict["model"]["seq_length"]}
    jsonschema.validate(base_dict, C.json_schema())
    cfg = C.from_dict(base_dict)
    again = C.parse_slice(C.slice_json(cfg, "model"))["model"]
    assert again == cfg.model and cfg.model.num_layers == PRESETS["tiny"]["num_layers"]
    del base_dict["model"]["preset"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(base_dict, C.json_schema())
