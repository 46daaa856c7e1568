"""Recipes (issue 12): stages in config, each its own run from the previous stage's final checkpoint;
continued pretraining from a checkpoint of another layout; config errors that name the stage key."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from .conftest import MODEL, TRAIN, VOCAB, losses, rows
from lmsci import config as C
from lmsci import mix
from lmsci.conf.train import StageConfig
from lmsci.train import adapter, checkpoint, loop, recipe

ROOT = Path(__file__).resolve().parents[2]
STAGES = [StageConfig(name="a", steps=8, lr=3e-3, warmup_steps=2, schedule="constant", decay_fraction=0.0),
          StageConfig(name="b", steps=10, lr=3e-3, schedule="wsd", decay_fraction=1.0, seq_length=128,
                      rotary_base=50_000)]
RECIPE = dataclasses.replace(TRAIN, stages=STAGES, checkpoint_steps=[4])


def _base() -> dict:
    return C.merge(C.read_yaml(ROOT / "config.yaml"), C.read_yaml(ROOT / "configs/recipe.yaml"))


def _load(**train) -> C.Config:
    data = _base()
    data["train"] = {**data["train"], **train}
    return C.from_dict(data)


@pytest.mark.parametrize("stage, key", [
    ({"seq_length": -5}, "'train.stages[1].seq_length'"),
    ({"seq_length": 10**7}, "'train.stages[1].seq_length'"),
    ({"mix": {"wiki": 0.5, "nosuch": 0.5}}, "'train.stages[1].mix.nosuch'"),
    ({"mix": {"wiki": 0.5, "code": 0.4}}, "'train.stages[1].mix'"),
    ({"replay": 1.0}, "'train.stages[1].replay'"),
    ({"warmup_steps": 10}, "'train.stages[1].warmup_steps'"),
    ({"schedule": "linear"}, "'train.stages[1].schedule'"),
    ({"schedule": "wsd", "min_lr_ratio": 0.0}, "'train.stages[1].schedule'"),
    ({"rope_scaling": {"factr": 2.0}}, "'train.stages[1].rope_scaling.factr'"),
    ({"rope_scaling": {"factor": 0.5}}, "'train.stages[1].rope_scaling.factor'"),
    ({"name": "pretrain"}, "'train.stages'"),
    ({"name": "a/b"}, "'train.stages[1].name'"),
])
def test_stage_config_errors_name_the_key(stage, key):
    stages = _base()["train"]["stages"]
    stages[1] = {**stages[1], **stage}
    with pytest.raises(C.ConfigError) as e:
        _load(stages=stages)
    msg = str(e.value)
    assert key in msg and "\n" not in msg, msg


def test_cross_section_rules_apply_to_each_stage():
    """16 × 131,072 tokens per micro-batch only in the stage: the rule on its effective config names it."""
    stages = _base()["train"]["stages"]
    stages[2] = {**stages[2], "seq_length": 131_072}
    with pytest.raises(C.ConfigError, match=r"'train.stages\[2\]': stage 'long_context': .*micro_batch_size"):
        _load(stages=stages, micro_batch_size=16, global_batch_size=16)


def test_spike_and_init_settings_are_checked():
    with pytest.raises(C.ConfigError, match="'train.on_spike'"):
        _load(on_spike="skip", loss_spike_window=0)
    with pytest.raises(C.ConfigError, match="'train.init_optimizer'"):
        _load(init_optimizer="keep")
    with pytest.raises(C.ConfigError, match="'train.spike_lr_factor'"):
        _load(spike_lr_factor=0.0)


def test_stage_slices_chain_and_differ_only_in_their_stage():
    cfg = _load()
    a, b, c = (recipe.stage_slice(cfg.model, cfg.train, cfg.seed, cfg.results, s.name) for s in cfg.train.stages)
    assert a["train"].init_from == "" and a["seed"] == cfg.seed and a["train"].stages == []
    assert b["train"].init_from == f"{cfg.results}/train/stages/pretrain/checkpoint" and b["seed"] == cfg.seed + 1
    assert c["model"].seq_length == 128 and c["model"].rotary_base == 500_000 and a["model"] == cfg.model
    assert (b["train"].steps, b["train"].schedule, b["train"].lr) == (10, "wsd", 0.003)
    # editing the last stage leaves the earlier stages' slices (their rules' params) alone
    edited = _load(stages=[*_base()["train"]["stages"][:2], {**_base()["train"]["stages"][2], "lr": 1e-4}])
    for name in ("pretrain", "anneal"):
        assert recipe.stage_slice_json(edited, name) == recipe.stage_slice_json(cfg, name)
        assert recipe.stage_mix_json(edited, name) == recipe.stage_mix_json(cfg, name)
    assert recipe.stage_slice_json(edited, "long_context") != recipe.stage_slice_json(cfg, "long_context")


def test_stage_blend_has_its_weights_replay_and_seq_length():
    cfg = _load()
    stats = [{"source": s, "shard": "0", "extra": {"train_tokens": n, "valid_documents": 1}}
             for s, n in (("crawl", 1000), ("wiki", 500), ("code", 300))]
    base = mix.blend(cfg, stats, VOCAB, 0, "tok")
    anneal = mix.blend(cfg, stats, VOCAB, 0, "tok", stage="anneal")
    longer = mix.blend(cfg, stats, VOCAB, 0, "tok", stage="long_context")
    weights = {e["source"]: e["weight"] for e in anneal["train"]}
    # 0.8 × {wiki 0.6, code 0.4} + 0.2 × the sources' own {crawl 0.5, wiki 0.3, code 0.2}
    assert weights == pytest.approx({"crawl": 0.1, "wiki": 0.54, "code": 0.36})
    assert anneal["valid"] == base["valid"] and anneal["stage"] == "anneal" and "stage" not in base
    assert longer["seq_length"] == 128 and base["seq_length"] == 64
    assert longer["planned_tokens"] == 10 * cfg.train.global_batch_size * 128
    with pytest.raises(ValueError, match="no stage 'nope'"):
        mix.blend(cfg, stats, VOCAB, 0, "tok", stage="nope")


def _stage_blend(blend: Path, root: Path, seq: int) -> Path:
    out = root / f"blend-{seq}.json"
    out.write_text(json.dumps(json.loads(blend.read_text()) | {"seq_length": seq}))
    return out


def _train_stage(name: str, blend: Path, results: Path, recipe_train=RECIPE) -> Path:
    s = recipe.stage_slice(MODEL, recipe_train, 1234, str(results), name)
    seq = s["model"].seq_length
    out = results / "train/stages" / name
    loop.train(s["model"], s["train"], s["seed"], _stage_blend(blend, results, seq), out)
    return out


@pytest.fixture(scope="module")
def two_stages(blend, tmp_path_factory) -> Path:
    results = tmp_path_factory.mktemp("recipe")
    _train_stage("a", blend, results)
    _train_stage("b", blend, results)
    return results


def test_stage_two_starts_from_stage_one_and_trains_at_its_length(two_stages):
    a, b = two_stages / "train/stages/a", two_stages / "train/stages/b"
    w = lambda d, m: adapter.load_weights(d, m, VOCAB)  # noqa: E731
    longer = dataclasses.replace(MODEL, seq_length=128, rotary_base=50_000)
    start, end_a = w(checkpoint.step_dir(b, 0), longer), w(a / "checkpoint", MODEL)
    assert all(bool((start[k] == end_a[k]).all()) for k in end_a)  # step 0 of b = the end of a
    meta = checkpoint.read_meta(b / "checkpoint")
    assert meta["model"]["seq_length"] == 128 and meta["train"]["init_from"].endswith("stages/a/checkpoint")
    assert meta["data_fingerprint"]["seq_length"] == 128  # each stage's checkpoints: its own data
    assert meta["data_fingerprint"]["sha256"] != checkpoint.read_meta(a / "checkpoint")["data_fingerprint"]["sha256"]
    assert checkpoint.read_meta(checkpoint.step_dir(b, 0))["has_optimizer"]  # optimizer: keep
    first_b = rows(b)[0]
    assert first_b["tokens"] == RECIPE.global_batch_size * 128
    assert losses(b)[0] < losses(a)[0] - 1.0  # not from scratch


def test_resume_inside_stage_two_is_bitwise(two_stages, blend, tmp_path):
    """Stage b killed after its step-4 checkpoint (simulated: only that checkpoint survives) and rerun
    ends bitwise equal to the uninterrupted stage — the resume is inside the stage, not a new init."""
    results = tmp_path / "results"
    shutil.copytree(two_stages / "train/stages/a", results / "train/stages/a")
    shutil.copytree(checkpoint.step_dir(two_stages / "train/stages/b", 4),
                    checkpoint.step_dir(results / "train/stages/b", 4))
    out = _train_stage("b", blend, results)
    assert json.loads((out / "train_summary.json").read_text())["resumed_from_step"] == 4
    assert losses(out) == losses(two_stages / "train/stages/b")
    longer = dataclasses.replace(MODEL, seq_length=128, rotary_base=50_000)
    mine, ref = (adapter.load_weights(d / "checkpoint", longer, VOCAB) for d in (out, two_stages / "train/stages/b"))
    assert all(bool((mine[k] == ref[k]).all()) for k in ref)


def test_combined_outputs_span_the_recipe(two_stages, tmp_path):
    blends = []
    for name, seq in (("a", 64), ("b", 128)):
        p = tmp_path / name / "blend.json"
        p.parent.mkdir()
        p.write_text(json.dumps({"composition": [{"source": "crawl", "weight": 0.6}, {"source": "wiki", "weight": 0.4}],
                                 "seq_length": seq}))
        blends.append(p)
    out = tmp_path / "train"
    recipe.combine(["a", "b"], [two_stages / "train/stages/a", two_stages / "train/stages/b"], blends, out)
    combined = rows(out)
    assert [r["step"] for r in combined] == list(range(18))
    assert [r["stage"] for r in combined] == ["a"] * 8 + ["b"] * 10 and combined[8]["stage_step"] == 0
    stages = json.loads((out / "stages.json").read_text())["stages"]
    assert [(s["name"], s["first_step"], s["seq_length"], s["schedule"]) for s in stages] == [
        ("a", 0, 64, "constant"), ("b", 8, 128, "wsd")]
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["steps"] == 18 and summary["stages"] == "a → b"
    assert checkpoint.read_meta(out / "checkpoint") == checkpoint.read_meta(two_stages / "train/stages/b/checkpoint")


def test_init_from_refuses_another_shape(reference, blend, tmp_path):
    wide = dataclasses.replace(MODEL, hidden_size=128)
    t = dataclasses.replace(TRAIN, init_from=str(reference / "checkpoint"))
    with pytest.raises(loop.TrainError, match=r"train.init_from: .*another shape \(model.hidden_size 64 → 128\)"):
        loop.train(wide, t, 1234, blend, tmp_path / "out")
    with pytest.raises(loop.TrainError, match="directory not found"):
        loop.train(MODEL, dataclasses.replace(TRAIN, init_from=str(tmp_path / "nope")), 1234, blend, tmp_path / "o")


@pytest.mark.multiprocess
def test_init_from_a_checkpoint_of_another_layout(tp2_pp2, blend, tmp_path):
    """Continued pretraining from a TP=2 × PP=2 checkpoint in one process: dist_checkpointing
    reshards; the run's step 0 holds exactly those weights, then trains on at a lower LR."""
    t = dataclasses.replace(TRAIN, steps=4, lr=1e-3, warmup_steps=0, init_from=str(tp2_pp2 / "checkpoint"))
    loop.train(MODEL, t, 7, blend, tmp_path / "cpt")
    start = adapter.load_weights(checkpoint.step_dir(tmp_path / "cpt", 0), MODEL, VOCAB)
    source = adapter.load_weights(tp2_pp2 / "checkpoint", MODEL, VOCAB)
    assert all(bool((start[k] == source[k]).all()) for k in source)
    assert losses(tmp_path / "cpt")[0] < losses(tp2_pp2)[0] - 1.0
    assert not checkpoint.read_meta(checkpoint.step_dir(tmp_path / "cpt", 0))["has_optimizer"]  # reset


def test_a_changed_previous_stage_restarts_the_next_one(two_stages, blend, tmp_path):
    """Stage b's checkpoints continue one particular end of stage a: after a rerun of a (here: its final
    meta changed) b starts over from the new weights instead of resuming its old continuation."""
    results = tmp_path / "results"
    shutil.copytree(two_stages / "train/stages/a", results / "train/stages/a")
    shutil.copytree(checkpoint.step_dir(two_stages / "train/stages/b", 4),
                    checkpoint.step_dir(results / "train/stages/b", 4))
    meta = results / "train/stages/a/checkpoint/lmsci_meta.json"
    meta.write_text(json.dumps(json.loads(meta.read_text()) | {"lr_next": 0.5}))  # as if a was retrained
    out = _train_stage("b", blend, results)
    assert json.loads((out / "train_summary.json").read_text())["resumed_from_step"] is None
    assert losses(out) == losses(two_stages / "train/stages/b")  # same weights in a: the same fresh stage b


def test_init_from_a_hugging_face_directory(reference, blend, tmp_path):
    """Continued pretraining from a Hugging Face Llama directory: the run imports it once (inverse of
    export-hf) and its step 0 holds exactly the exported checkpoint's weights."""
    from lmsci.evaluate import export_hf
    hf = tmp_path / "hf"
    hf.mkdir()  # export-hf's config.json + model.safetensors (its tokenizer files are not import's business)
    state = adapter.load_weights(reference / "checkpoint", MODEL, VOCAB)
    export_hf.write_model(hf, MODEL, export_hf.convert(state, MODEL, VOCAB), VOCAB, 0)
    t = dataclasses.replace(TRAIN, steps=3, lr=1e-3, warmup_steps=0, init_from=str(hf))
    loop.train(MODEL, t, 7, blend, tmp_path / "cpt")
    start = adapter.load_weights(checkpoint.step_dir(tmp_path / "cpt", 0), MODEL, VOCAB)
    source = adapter.load_weights(reference / "checkpoint", MODEL, VOCAB)
    # HF holds the vocabulary's rows, not megatron's padding to a multiple of 128 (never a target or input)
    rows_of = {"embedding.word_embeddings.weight": VOCAB, "output_layer.weight": VOCAB}
    assert all(bool((start[k][:rows_of.get(k)] == source[k][:rows_of.get(k)]).all()) for k in source)
    assert (tmp_path / "cpt/init_import/lmsci_meta.json").is_file()
    assert losses(tmp_path / "cpt")[0] < losses(reference)[0] - 1.0  # trained weights, not a fresh init
