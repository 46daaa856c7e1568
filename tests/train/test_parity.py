"""Layouts are an implementation detail: TP=2×PP=2 (4 processes) and DP=2 with the distributed
optimizer follow the TP=PP=DP=1 loss curve step for step from the same initial weights (drawn once
at TP=PP=1, checkpoints/step_0000000), and a checkpoint resumes into another layout."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import torch

from lmsci import config as C
from lmsci.train import adapter, checkpoint, loop

from .conftest import MODEL, TRAIN, VOCAB, losses

TOLERANCE = 1e-5


@pytest.mark.multiprocess
def test_tensor_and_pipeline_parallel_match_one_process(tp2_pp2, reference):
    assert json.loads((tp2_pp2 / "train_summary.json").read_text())["world_size"] == 4
    assert checkpoint.read_meta(checkpoint.step_dir(tp2_pp2, 0))["layout"]["pipeline_parallel"] == 1  # drawn at PP=1
    assert len(losses(tp2_pp2)) == TRAIN.steps
    assert losses(tp2_pp2) == pytest.approx(losses(reference), abs=TOLERANCE)


@pytest.mark.multiprocess
def test_data_parallel_distributed_optimizer_matches_one_process(distributed_reference, reference):
    summary = json.loads((distributed_reference / "train_summary.json").read_text())
    assert summary["world_size"] == 2 and summary["layout"]["data_parallel"] == 2
    assert losses(distributed_reference) == pytest.approx(losses(reference), abs=TOLERANCE)


@pytest.mark.multiprocess
def test_interleaved_pipeline_matches_one_process(blend, tmp_path):
    """PP=2 × 2 virtual stages (megatron's interleaved 1F1B: rank 0 holds layers 0 and 2, rank 1
    layers 1 and 3) follows one process, and its checkpoint holds the same weights."""
    model = dataclasses.replace(MODEL, num_layers=4)
    train = dataclasses.replace(TRAIN, steps=6)
    loop.train(model, train, 1234, blend, tmp_path / "one")
    loop.train(model, dataclasses.replace(train, pipeline_parallel=2, virtual_pipeline=2), 1234, blend, tmp_path / "vpp")
    assert checkpoint.read_meta(tmp_path / "vpp" / "checkpoint")["layout"]["virtual_pipeline"] == 2
    assert len(losses(tmp_path / "vpp")) == train.steps
    assert losses(tmp_path / "vpp") == pytest.approx(losses(tmp_path / "one"), abs=TOLERANCE)
    one, vpp = (adapter.load_weights(tmp_path / run / "checkpoint", model, VOCAB) for run in ("one", "vpp"))
    assert one.keys() == vpp.keys()
    assert all(torch.allclose(one[k], vpp[k], atol=1e-5) for k in one)


@pytest.mark.multiprocess
def test_resume_into_another_layout_continues_the_curve(tp2_pp2, reference, blend, tmp_path):
    """TP2×PP2's step-10 checkpoint (model and Adam state resharded) → one process, steps 10–19."""
    shutil.copytree(checkpoint.step_dir(tp2_pp2, 10), checkpoint.step_dir(tmp_path, 10))
    loop.train(MODEL, TRAIN, 1234, blend, tmp_path)
    assert json.loads((tmp_path / "train_summary.json").read_text())["resumed_from_step"] == 10
    assert losses(tmp_path)[10:] == pytest.approx(losses(reference)[10:], abs=TOLERANCE)
    assert losses(tmp_path)[:10] == losses(tp2_pp2)[:10]  # the metrics of the first run carry over


@pytest.mark.parametrize("section, change, key", [
    ("train", {"tensor_parallel": 3}, "train.tensor_parallel"),  # 4 heads
    ("train", {"tensor_parallel": 8}, "train.tensor_parallel"),  # 4 heads, 4 query groups
    ("train", {"pipeline_parallel": 3}, "train.pipeline_parallel"),  # 4 layers
    ("train", {"data_parallel": 3}, "train.global_batch_size"),  # 8 sequences
    ("train", {"checkpoint_steps": [400]}, "train.checkpoint_steps"),
    ("train", {"checkpoint_interval": -1}, "train.checkpoint_interval"),
    ("train", {"peak_tflops": 0}, "train.peak_tflops"),
    ("train", {"nodes": 3}, "train.nodes"),  # 1 rank
    ("train", {"virtual_pipeline": 2}, "train.virtual_pipeline"),  # needs pipeline_parallel > 1
    ("train", {"pipeline_parallel": 2, "virtual_pipeline": 4}, "train.virtual_pipeline"),  # 4 layers / (2 × 4)
    ("train", {"pipeline_parallel": 2, "virtual_pipeline": 2, "data_parallel": 8}, "train.virtual_pipeline"),  # 1 micro-batch
    ("train", {"data_parallel": 4, "nodes": 2, "gpus_per_node": 4}, "train.gpus_per_node"),  # 2 ranks per node
])
def test_invalid_layouts_are_rejected_with_the_key(base_dict, section, change, key):
    base_dict["model"].update(num_layers=4, num_attention_heads=4, num_query_groups=4)
    base_dict["train"].update(global_batch_size=8, micro_batch_size=1, **change)
    with pytest.raises(C.ConfigError, match=f"'{key}'") as e:
        C.from_dict(base_dict)
    assert "\n" not in str(e.value)
