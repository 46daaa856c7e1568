"""RoPE settings: Llama 3.1 frequency scaling equals transformers' ``llama3`` rope type, in the built
model too; the default (no scaling) keeps megatron's plain frequencies; bad settings name their key."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from lmsci import config as C
from lmsci.conf.model import RopeScalingConfig
from lmsci.train import adapter
from lmsci.train.adapter.attention import scale_rope

from .conftest import MODEL, VOCAB


def hf_inv_freq(head_dim: int, base: float, scaling: RopeScalingConfig) -> torch.Tensor:
    from transformers import LlamaConfig
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    heads = 4
    params = {"rope_type": "llama3", "rope_theta": float(base), "factor": scaling.factor,
              "low_freq_factor": scaling.low_freq_factor, "high_freq_factor": scaling.high_freq_factor,
              "original_max_position_embeddings": scaling.original_max_position_embeddings}
    config = LlamaConfig(hidden_size=head_dim * heads, num_attention_heads=heads, rope_parameters=params,
                         max_position_embeddings=scaling.original_max_position_embeddings * 8)
    inv_freq, attention_factor = ROPE_INIT_FUNCTIONS["llama3"](config, "cpu")
    assert attention_factor == 1.0  # llama3 scaling leaves cos/sin unscaled, as megatron does
    return inv_freq


def plain(head_dim: int, base: float) -> torch.Tensor:
    return 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))


@pytest.mark.parametrize("head_dim, base, scaling", [
    (128, 500_000, RopeScalingConfig(factor=8.0)),  # Llama 3.1 8B: head 128, theta 500k, the defaults
    (16, 10_000, RopeScalingConfig(factor=4.0, low_freq_factor=2.0, high_freq_factor=8.0,
                                   original_max_position_embeddings=64)),
])
def test_scaled_frequencies_equal_transformers_llama3(head_dim, base, scaling):
    ours = scale_rope(plain(head_dim, base), scaling)
    theirs = hf_inv_freq(head_dim, base, scaling)
    assert torch.allclose(ours, theirs, rtol=1e-6, atol=0)
    # All three bands occur: kept (short wavelengths), divided by the factor (long), interpolated.
    wavelen = 2 * math.pi / plain(head_dim, base)
    original = scaling.original_max_position_embeddings
    short, long = wavelen < original / scaling.high_freq_factor, wavelen > original / scaling.low_freq_factor
    assert short.any() and long.any() and (~short & ~long).any()
    assert torch.equal(ours[short], plain(head_dim, base)[short])
    assert torch.allclose(ours[long], plain(head_dim, base)[long] / scaling.factor)


def rotary_of(model: C.ModelConfig) -> torch.Tensor:
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, VOCAB, 1, 1, wrap_ddp=False)
        return module.rotary_pos_emb.inv_freq.clone()


def test_built_model_uses_the_configured_base_and_scaling():
    head_dim = MODEL.hidden_size // MODEL.num_attention_heads
    scaling = RopeScalingConfig(factor=8.0, original_max_position_embeddings=32)
    scaled = dataclasses.replace(MODEL, rotary_base=500_000, rope_scaling=scaling)
    assert torch.allclose(rotary_of(scaled), hf_inv_freq(head_dim, 500_000, scaling), rtol=1e-6, atol=0)
    assert torch.equal(rotary_of(MODEL), plain(head_dim, MODEL.rotary_base))  # default: unscaled


@pytest.mark.parametrize("change, key", [
    ({"factor": 0.5}, "model.rope_scaling.factor"),
    ({"factor": -8.0}, "model.rope_scaling.factor"),
    ({"factor": "eight"}, "model.rope_scaling.factor"),
    ({"low_freq_factor": 0.0}, "model.rope_scaling.low_freq_factor"),
    ({"low_freq_factor": 4.0, "high_freq_factor": 4.0}, "model.rope_scaling.high_freq_factor"),
    ({"original_max_position_embeddings": 0}, "model.rope_scaling.original_max_position_embeddings"),
    ({"rope_type": "yarn"}, "model.rope_scaling.rope_type"),
])
def test_bad_rope_scaling_is_rejected_with_the_key(base_dict, change, key):
    base_dict["model"]["rope_scaling"] = change
    with pytest.raises(C.ConfigError, match=f"'{key}'") as e:
        C.from_dict(base_dict)
    assert "\n" not in str(e.value)


def test_configs_and_metadata_without_the_new_keys_mean_the_defaults(base_dict):
    cfg = C.from_dict(base_dict)
    assert not cfg.model.rope_scaling.enabled and not cfg.model.moe.enabled
    old = dataclasses.asdict(cfg.model)  # a checkpoint's lmsci_meta.json from before these keys existed
    del old["rope_scaling"], old["moe"]
    assert C.ModelConfig(**old) == cfg.model
    assert C.ModelConfig(**dataclasses.asdict(cfg.model)) == cfg.model  # and the current metadata round-trips
