"""lmsci.train.loop: real megatron-core training on tiny indexed datasets (CPU, gloo)."""
from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import pytest

from lmsci.evaluate.perplexity import perplexity
from lmsci.train import adapter, loop

from .conftest import MODEL, SEQ, TRAIN, VOCAB, losses


@pytest.fixture(scope="module")
def trained(reference) -> Path:
    return reference


def test_loss_falls_on_learnable_data(trained):
    rows = [json.loads(line) for line in (trained / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == list(range(TRAIN.steps))
    assert set(rows[0]) == {"step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s", "tflops", "mfu",
                            "max_memory_mb", "loss_spike", "spike_action", "skipped", "rollbacks"}
    assert not any(r["loss_spike"] or r["spike_action"] or r["skipped"] or r["rollbacks"] for r in rows)
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
    assert meta["data_fingerprint"]["seq_length"] == SEQ and meta["data_fingerprint"]["tokenizer"]["vocab_size"] == VOCAB
    assert meta["consumed_samples"] == TRAIN.steps * TRAIN.global_batch_size and meta["layout"]["tensor_parallel"] == 1
    assert (trained / "checkpoint" / "metadata.json").is_file()
    assert not (trained / "checkpoint.tmp").exists()
    assert not list(trained.glob(".*.tmp"))


def test_same_seed_gives_identical_losses(trained, blend, tmp_path):
    loop.train(MODEL, TRAIN, 1234, blend, tmp_path)
    assert losses(tmp_path) == losses(trained)  # bit for bit



@pytest.mark.multiprocess
def test_tensor_and_pipeline_parallel_checkpoint_scores_like_one_process(trained, tp2_pp2, blend, tmp_path):
    """The TP=2×PP=2 run's checkpoint (4 processes; parity of its losses: test_parity.py) reshards
    into the TP=PP=1 evaluator and scores like the one-process run's."""
    scores = [perplexity(MODEL, TRAIN, blend, run / "checkpoint", 256, tmp_path / f"ppl{i}.json")
              for i, run in enumerate((trained, tp2_pp2))]
    for source in ("crawl", "wiki"):
        assert scores[1]["per_source"][source]["loss"] == pytest.approx(scores[0]["per_source"][source]["loss"], abs=1e-5)


def test_bad_manifest_fails_with_a_named_fix(tmp_path, blend):
    with pytest.raises(loop.TrainError, match="run the mix stage"):
        loop.train(MODEL, TRAIN, 1, tmp_path / "missing.json", tmp_path / "out")
    bad = json.loads(blend.read_text()) | {"seq_length": 128}
    (tmp_path / "b.json").write_text(json.dumps(bad))
    with pytest.raises(loop.TrainError, match="seq_length"):
        loop.train(MODEL, TRAIN, 1, tmp_path / "b.json", tmp_path / "out")


def test_dataset_cache_of_other_data_is_rebuilt(tmp_path):
    """megatron keys its index cache by dataset config only; indices of other data must not survive."""
    from lmsci.train.loop import _fresh_dataset_cache
    cache = tmp_path / "dataset_cache"
    _fresh_dataset_cache(cache, {"sha256": "one"})
    assert [p.name for p in cache.iterdir()] == ["fingerprint.json"]
    (cache / "abc-GPTDataset-train-document_index.npy").write_bytes(b"built for one")
    _fresh_dataset_cache(cache, {"sha256": "one"})
    assert (cache / "abc-GPTDataset-train-document_index.npy").read_bytes() == b"built for one"
    _fresh_dataset_cache(cache, {"sha256": "two"})
    assert [p.name for p in cache.iterdir()] == ["fingerprint.json"]


def test_a_dataset_cache_lmsci_did_not_make_is_never_deleted(tmp_path):
    from lmsci.train.loop import _fresh_dataset_cache
    cache = tmp_path / "dataset_cache"
    cache.mkdir()
    (cache / "yours.txt").write_text("not ours")  # no fingerprint.json: not a directory lmsci made
    with pytest.raises(RuntimeError, match="did not write"):
        _fresh_dataset_cache(cache, {"sha256": "one"})
    assert (cache / "yours.txt").read_text() == "not ours"
