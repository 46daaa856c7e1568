"""lmsci.train.loop: real megatron-core training on tiny indexed datasets (CPU, gloo)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from lmsci.config import ModelConfig, TrainConfig
from lmsci.evaluate.perplexity import perplexity
from lmsci.train import adapter, loop

VOCAB, SEQ = 300, 64
MODEL = ModelConfig(num_layers=2, hidden_size=64, num_attention_heads=4, num_query_groups=2,
                    ffn_hidden_size=128, seq_length=SEQ)
TRAIN = TrainConfig(steps=20, micro_batch_size=4, global_batch_size=8, lr=3e-3, warmup_steps=3, log_interval=5)


def write_indexed(prefix: Path, documents: list[list[int]]) -> None:
    from megatron.core.datasets.indexed_dataset import IndexedDatasetBuilder  # test fixture: the tokenize format

    builder = IndexedDatasetBuilder(f"{prefix}.bin", dtype=np.uint16)
    for doc in documents:
        builder.add_item(torch.tensor(doc, dtype=torch.int64))
        builder.end_document()
    builder.finalize(f"{prefix}.idx")


def learnable_documents(rng: np.random.Generator, n: int, period: int) -> list[list[int]]:
    """Arithmetic runs mod ``period`` (next token = previous + 7): learnable in a few steps. EOD = 0."""
    return [[1 + (int(rng.integers(period)) + 7 * i) % period for i in range(int(rng.integers(40, 200)))] + [0]
            for _ in range(n)]


def make_blend(root: Path) -> Path:
    rng = np.random.default_rng(0)
    entries = {"train": [], "valid": []}
    for source, period, weight in (("crawl", 40, 0.6), ("wiki", 25, 0.4)):
        for split, n in (("train", 200), ("valid", 20)):
            write_indexed(root / f"{source}_{split}", learnable_documents(rng, n, period))
            entry = {"source": source, "prefix": str(root / f"{source}_{split}")}
            entries[split].append({**entry, "weight": weight} if split == "train" else entry)
    path = root / "blend.json"
    path.write_text(json.dumps({"vocab_size": VOCAB, "eod": 0, "seq_length": SEQ, **entries}))
    return path


@pytest.fixture(scope="module")
def blend(tmp_path_factory) -> Path:
    return make_blend(tmp_path_factory.mktemp("tokens"))


@pytest.fixture(scope="module")
def trained(blend, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    loop.train(MODEL, TRAIN, 1234, blend, out)
    return out


def losses(out: Path) -> list[float]:
    return [json.loads(line)["loss"] for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_loss_falls_on_learnable_data(trained):
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(TRAIN.steps))
    assert set(rows[0]) == {"step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"}
    assert rows[0]["loss"] == pytest.approx(math.log(adapter.padded_vocab_size(VOCAB)), abs=0.3)  # ~uniform at init
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.5
    assert rows[-1]["tokens"] == TRAIN.steps * TRAIN.global_batch_size * SEQ
    assert all(math.isfinite(r["grad_norm"]) for r in rows)


def test_outputs_are_complete_and_atomic(trained, blend):
    summary = json.loads((trained / "train_summary.json").read_text())
    assert summary["steps"] == TRAIN.steps and summary["world_size"] == 1
    assert summary["final_loss"] == losses(trained)[-1]
    assert summary["tokens_seen"] == TRAIN.steps * TRAIN.global_batch_size * SEQ
    assert summary["flops_per_token"] > 6 * summary["parameters"]["non_embedding"]
    meta = loop.read_meta(trained / "checkpoint")
    assert meta["step"] == TRAIN.steps and meta["model"]["hidden_size"] == 64 and meta["train"]["lr"] == TRAIN.lr
    assert meta["data_fingerprint"]["blend_sha256"] == hashlib.sha256(blend.read_bytes()).hexdigest()
    assert (trained / "checkpoint" / "metadata.json").is_file()
    assert not (trained / "checkpoint.tmp").exists()
    assert not list(trained.glob(".*.tmp"))


def test_same_seed_gives_identical_losses(trained, blend, tmp_path):
    loop.train(MODEL, TRAIN, 1234, blend, tmp_path)
    assert losses(tmp_path) == losses(trained)  # bit for bit


@pytest.mark.parametrize("tie", [False, True])
def test_parameter_count_matches_the_model(tie):
    model = dataclasses.replace(MODEL, tie_embeddings=tie)
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(model, VOCAB, 1, 1, wrap_ddp=False)
        assert adapter.local_parameter_count(module) == loop.parameter_count(model, adapter.padded_vocab_size(VOCAB))["total"]


def test_tensor_parallel_two_processes_matches_one(trained, blend, tmp_path):
    """TP=2 via torchrun: same weights (use_cpu_initialization) and data ⇒ same losses; its
    checkpoint reshards into the TP=1 evaluator and scores like the TP=1 one."""
    loop.train(MODEL, dataclasses.replace(TRAIN, tensor_parallel=2), 1234, blend, tmp_path)
    assert losses(tmp_path) == pytest.approx(losses(trained), abs=1e-4)
    assert json.loads((tmp_path / "train_summary.json").read_text())["world_size"] == 2
    scores = [perplexity(MODEL, TRAIN, blend, run / "checkpoint", 256, tmp_path / f"ppl{i}.json")
              for i, run in enumerate((trained, tmp_path))]
    for source in ("crawl", "wiki"):
        assert scores[1]["per_source"][source]["loss"] == pytest.approx(scores[0]["per_source"][source]["loss"], abs=1e-4)


def test_bad_manifest_fails_with_a_named_fix(tmp_path, blend):
    with pytest.raises(loop.TrainError, match="run the mix stage"):
        loop.train(MODEL, TRAIN, 1, tmp_path / "missing.json", tmp_path / "out")
    bad = json.loads(blend.read_text()) | {"seq_length": 128}
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(loop.TrainError, match="seq_length"):
        loop.train(MODEL, TRAIN, 1, tmp_path / "b.json", tmp_path / "out")
