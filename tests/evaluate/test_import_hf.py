"""lmsci import-hf: a transformers Llama / Mixtral directory → an lmsci checkpoint, the inverse of export-hf;
a stranger's directory is hostile input (one-line errors, nothing executed, no pickles)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import torch

from lmsci import cli
from lmsci.config import ModelConfig
from lmsci.conf.model import MoEConfig, RopeScalingConfig
from lmsci.evaluate import export_hf
from lmsci.evaluate.import_hf import IMPORT_MARKER, ImportHFError, import_hf
from lmsci.train import adapter

VOCAB, EOD = 300, 0
DENSE = ModelConfig(num_layers=2, hidden_size=64, num_attention_heads=4, num_query_groups=2, ffn_hidden_size=96,
                    seq_length=64, init_method_std=0.2, rotary_base=500_000,
                    rope_scaling=RopeScalingConfig(factor=8.0, original_max_position_embeddings=16))
MOE = dataclasses.replace(DENSE, tie_embeddings=True, moe=MoEConfig(num_experts=4, top_k=2, ffn_hidden_size=48))


def initial_weights(model: ModelConfig, directory: Path, seed: int = 5) -> Path:
    directory.mkdir(parents=True)
    with adapter.distributed(1, 1, seed=seed):
        adapter.save_checkpoint(directory, adapter.build_model(model, VOCAB, 1, 1, wrap_ddp=False), None, step=0)
    (directory / "lmsci_meta.json").write_text(json.dumps({"step": 0, "seed": seed, "model": dataclasses.asdict(model)}))
    return directory


def write_hf(model: ModelConfig, checkpoint: Path, out: Path) -> Path:
    """export-hf's config.json + model.safetensors (the tokenizer files are not import's business)."""
    out.mkdir()
    weights = export_hf.convert(adapter.load_weights(checkpoint, model, VOCAB), model, VOCAB)
    export_hf.write_model(out, model, weights, VOCAB, EOD)
    return out


def logits(checkpoint: Path, model: ModelConfig, x: torch.Tensor) -> torch.Tensor:
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, VOCAB, 1, 1, wrap_ddp=False)
        adapter.load_checkpoint(checkpoint, module)
        return adapter.logits(module, x)[..., :VOCAB]


def _exported(model: ModelConfig, root: Path) -> tuple[ModelConfig, Path, Path]:
    checkpoint = initial_weights(model, root / "checkpoint")
    return model, checkpoint, write_hf(model, checkpoint, root / "hf")


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    return _exported(DENSE, tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="module", params=["llama", "mixtral"])
def exported(request, tmp_path_factory):
    if request.param == "llama":
        return request.getfixturevalue("llama")
    return _exported(MOE, tmp_path_factory.mktemp("mixtral"))


def test_round_trip_gives_identical_tensors_and_logits(exported, tmp_path):
    model, checkpoint, hf = exported
    out = import_hf(hf, tmp_path / "imported")
    meta = json.loads((out / "lmsci_meta.json").read_text())
    assert export_hf.model_from_meta(meta) == model and meta["step"] == 0 and not meta["has_optimizer"]
    assert meta["vocab_size"] == VOCAB and (out / IMPORT_MARKER).is_file()
    before, after = adapter.load_weights(checkpoint, model, VOCAB), adapter.load_weights(out, model, VOCAB)
    assert before.keys() == after.keys()
    for key in before:  # the padded vocabulary rows (megatron's, never exported) come back as zeros
        rows = slice(None, VOCAB) if key in ("embedding.word_embeddings.weight", "output_layer.weight") else slice(None)
        assert torch.equal(before[key][rows], after[key][rows]), key
    x = torch.randint(0, VOCAB, (2, model.seq_length), generator=torch.Generator().manual_seed(0))
    ref = logits(checkpoint, model, x)
    assert ref.std() > 0.1 and torch.equal(logits(out, model, x), ref)
    again = write_hf(model, out, tmp_path / "hf-again")  # export ∘ import is the identity on the HF files
    for name in ("config.json", "model.safetensors"):
        assert (again / name).read_bytes() == (hf / name).read_bytes()


def test_cli_import_and_replacing_only_its_own_output(llama, tmp_path, capsys):
    _, _, hf = llama
    out = tmp_path / "ckpt"
    assert cli.main(["import-hf", str(hf), "--out", str(out)]) == 0
    assert cli.main(["import-hf", str(hf), "--out", str(out)]) == 0  # an earlier import: replaced
    assert (out / "metadata.json").is_file() and not list(tmp_path.glob(".ckpt.tmp*"))
    home = tmp_path / "home"
    home.mkdir()
    (home / "thesis.tex").write_text("years of work")
    capsys.readouterr()
    assert cli.main(["import-hf", str(hf), "--out", str(home)]) == 1
    err = capsys.readouterr().err
    assert "did not write" in err and err.count("\n") == 1 and (home / "thesis.tex").is_file()


def _mutate_config(**changes):
    def edit(d: Path):
        cfg = json.loads((d / "config.json").read_text())
        cfg.update(changes)
        (d / "config.json").write_text(json.dumps(cfg))
    return edit


def _rename_weight(old, new):
    def edit(d: Path):
        from safetensors.torch import load_file, save_file
        w = load_file(str(d / "model.safetensors"))
        w[new] = w.pop(old)
        save_file(w, str(d / "model.safetensors"))
    return edit


def _reshape_weight(key):
    def edit(d: Path):
        from safetensors.torch import load_file, save_file
        w = load_file(str(d / "model.safetensors"))
        w[key] = w[key][:-1].contiguous()
        save_file(w, str(d / "model.safetensors"))
    return edit


def _pickle_only(d: Path):
    (d / "model.safetensors").rename(d / "pytorch_model.bin")


def _write(name, text):
    return lambda d: (d / name).write_text(text)


HOSTILE = {
    "architecture": (_mutate_config(architectures=["GPT2LMHeadModel"]), "architectures .* not supported"),
    "model_type": (_mutate_config(model_type="mistral"), "model_type 'mistral' does not match"),
    "remote code": (_mutate_config(auto_map={"AutoModel": "evil.Model"}), "'auto_map' is not supported"),
    "quantised": (_mutate_config(quantization_config={"bits": 4}), "'quantization_config' is not supported"),
    "bias": (_mutate_config(attention_bias=True), "key 'attention_bias' is True"),
    "activation": (_mutate_config(hidden_act="gelu"), "key 'hidden_act' is 'gelu'"),
    "rope type": (_mutate_config(rope_scaling={"rope_type": "yarn", "factor": 4.0}), "rope_type 'yarn' is not supported"),
    "theta": (_mutate_config(rope_theta=1e4 + 0.5, rope_scaling=None, rope_parameters=None), "'rope_theta' .* whole"),
    "window": (_mutate_config(sliding_window=16), "'sliding_window' 16 is shorter"),
    "shape": (_mutate_config(num_key_value_heads=3), "model.num_query_groups"),
    "string size": (_mutate_config(hidden_size="64"), "key 'hidden_size' must be an integer"),
    "not json": (_write("config.json", "{not json"), "not valid JSON"),
    "deep json": (_write("config.json", "[" * 100_000 + "]" * 100_000), "not valid JSON"),
    "vocab": (_mutate_config(vocab_size=-5), "'vocab_size' must be in"),
    "pickle": (_pickle_only, "safetensors weights only .*pytorch_model.bin are pickles"),
    "index escape": (_write("model.safetensors.index.json", json.dumps({"weight_map": {"w": "../x.safetensors"}})),
                     "not a .safetensors file beside the index"),
    "corrupt weights": (_write("model.safetensors", "garbage"), "not a readable safetensors file"),
    "missing weight": (_rename_weight("model.norm.weight", "model.norm.bias"), "'model.norm.weight' is missing"),
    "wrong shape": (_reshape_weight("model.layers.1.self_attn.o_proj.weight"), "o_proj.weight' has shape \\(63, 64\\)"),
}


@pytest.mark.parametrize("edit,message", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_directories_fail_in_one_line(llama, tmp_path, edit, message):
    _, _, hf = llama
    bad = tmp_path / "bad"
    shutil.copytree(hf, bad)
    edit(bad)
    with pytest.raises(ImportHFError, match=message) as err:
        import_hf(bad, tmp_path / "out")
    assert "\n" not in str(err.value) and not (tmp_path / "out").exists()


def test_no_config_and_extra_weights(llama, tmp_path):
    _, _, hf = llama
    with pytest.raises(ImportHFError, match="not a Hugging Face model directory"):
        import_hf(tmp_path, tmp_path / "out")
    bad = tmp_path / "bad"
    shutil.copytree(hf, bad)
    from safetensors.torch import load_file, save_file
    w = load_file(str(bad / "model.safetensors"))
    w["model.layers.0.mlp.extra.weight"] = torch.zeros(1)
    save_file(w, str(bad / "model.safetensors"))
    with pytest.raises(ImportHFError, match="no lmsci counterpart: model.layers.0.mlp.extra.weight"):
        import_hf(bad, tmp_path / "out")


def test_a_stale_lmsci_record_is_ignored_and_hf_keys_win(llama, tmp_path):
    """export-hf's ``lmsci_model`` is taken back only when it describes the network the HF keys describe."""
    model, _, hf = llama
    bad = tmp_path / "hf"
    shutil.copytree(hf, bad)
    _mutate_config(rms_norm_eps=1e-6, lmsci_model={**dataclasses.asdict(model), "init_method_std": 0.01})(bad)
    meta = json.loads((import_hf(bad, tmp_path / "out") / "lmsci_meta.json").read_text())
    assert export_hf.model_from_meta(meta) == dataclasses.replace(model, norm_epsilon=1e-6)
