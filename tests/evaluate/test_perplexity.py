"""lmsci.evaluate.perplexity: load a dist_checkpointing checkpoint at TP=PP=1 and score held-out tokens."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from lmsci.config import ModelConfig, TrainConfig
from lmsci.evaluate.perplexity import EvaluateError, perplexity
from lmsci.train import loop
from lmsci.tokenize import indexed

VOCAB, SEQ = 300, 64
MODEL = ModelConfig(num_layers=2, hidden_size=64, num_attention_heads=4, num_query_groups=2,
                    ffn_hidden_size=128, seq_length=SEQ)
TRAIN = TrainConfig(steps=20, micro_batch_size=4, global_batch_size=8, lr=3e-3, warmup_steps=3, log_interval=10)


def write_indexed(prefix: Path, documents: list[list[int]]) -> None:
    indexed.write(prefix, documents, VOCAB)  # the format the tokenize stage writes


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """Train 20 steps on arithmetic runs (next = previous + 3 mod 30, EOD = 0); held-out docs alike."""
    root = tmp_path_factory.mktemp("ppl")
    rng = np.random.default_rng(1)

    def docs(n):
        return [[1 + (int(rng.integers(30)) + 3 * i) % 30 for i in range(int(rng.integers(40, 200)))] + [0]
                for _ in range(n)]

    write_indexed(root / "crawl_train", docs(200))
    valid = docs(10)
    write_indexed(root / "crawl_valid", valid)  # the source's shards, as tokenize writes them (one empty)
    write_indexed(root / "crawl_shard_a", valid[:4])
    write_indexed(root / "crawl_shard_b", [])
    write_indexed(root / "crawl_shard_c", valid[4:])
    write_indexed(root / "tiny_valid", [[5, 8, 0]])  # 3 tokens: 2 predictions, one short window
    blend = root / "blend.json"
    blend.write_text(json.dumps({
        "vocab_size": VOCAB, "eod": 0, "seq_length": SEQ,
        "train": [{"source": "crawl", "prefix": str(root / "crawl_train"), "weight": 1.0}],
        "valid": [{"source": "crawl", "prefixes": [str(root / f"crawl_shard_{k}") for k in "abc"]},
                  {"source": "tiny", "prefixes": [str(root / "tiny_valid")]}],
    }))
    loop.train(MODEL, TRAIN, 7, blend, root / "train")
    return blend, root / "train" / "checkpoint"


def test_scores_each_source_and_writes_json(run, tmp_path):
    blend, checkpoint = run
    out = tmp_path / "eval" / "perplexity.json"
    result = perplexity(MODEL, TRAIN, blend, checkpoint, max_tokens=1000, out_json=out)
    assert json.loads(out.read_text()) == result
    crawl, tiny = result["per_source"]["crawl"], result["per_source"]["tiny"]
    assert crawl["tokens"] == 1000  # capped; 15 full windows of 64 + one of 40
    assert tiny["tokens"] == 2
    for s in (crawl, tiny):
        assert math.isfinite(s["loss"]) and s["ppl"] == pytest.approx(math.exp(s["loss"]))
    assert crawl["loss"] < math.log(VOCAB) - 1.0  # it learned the training-like data
    assert not list(out.parent.glob(".*.tmp"))


def test_max_tokens_caps_the_count_and_scoring_is_deterministic(run, tmp_path):
    blend, checkpoint = run
    few = perplexity(MODEL, TRAIN, blend, checkpoint, max_tokens=SEQ, out_json=tmp_path / "a.json")
    assert few["per_source"]["crawl"]["tokens"] == SEQ
    again = perplexity(MODEL, TRAIN, blend, checkpoint, max_tokens=SEQ, out_json=tmp_path / "b.json")
    assert again == few  # deterministic


def test_mismatched_model_config_fails_loudly(run, tmp_path):
    blend, checkpoint = run
    with pytest.raises(EvaluateError, match="trained with model"):
        perplexity(dataclasses.replace(MODEL, hidden_size=128), TRAIN, blend, checkpoint, 100, tmp_path / "x.json")


def test_missing_checkpoint_names_the_directory(run, tmp_path):
    blend, _ = run
    with pytest.raises(loop.TrainError, match="not a checkpoint"):
        perplexity(MODEL, TRAIN, blend, tmp_path / "nope", 100, tmp_path / "x.json")


def test_a_sources_shards_score_as_one_dataset(run, tmp_path):
    """Perplexity is per source: its shards' documents in shard order, as if merged into one dataset."""
    blend, checkpoint = run
    whole = json.loads(blend.read_text())
    root = Path(whole["valid"][0]["prefixes"][0]).parent
    whole["valid"] = [{"source": "crawl", "prefixes": [str(root / "crawl_valid")]}]
    (tmp_path / "whole.json").write_text(json.dumps(whole))
    merged = perplexity(MODEL, TRAIN, tmp_path / "whole.json", checkpoint, 5000, tmp_path / "a.json")
    sharded = perplexity(MODEL, TRAIN, blend, checkpoint, 5000, tmp_path / "b.json")
    assert merged["per_source"]["crawl"] == sharded["per_source"]["crawl"]
    assert merged["per_source"]["crawl"]["tokens"] > 1000  # more than one shard's worth was read
