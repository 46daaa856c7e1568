"""lmsci.evaluate.checkpoints: perplexity per source at every checkpoint a real (tiny) run saved."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lmsci import cli
from lmsci.config import ModelConfig, TrainConfig
from lmsci.evaluate.checkpoints import discover, evaluate
from lmsci.evaluate.perplexity import EvaluateError, perplexity
from lmsci.tokenize import indexed
from lmsci.train import loop

VOCAB, SEQ = 300, 32
MODEL = ModelConfig(num_layers=1, hidden_size=32, num_attention_heads=4, num_query_groups=2,
                    ffn_hidden_size=64, seq_length=SEQ)
# Pythia-style schedule: step 0 (initial weights), 1, 2, 4, and the final step 6.
TRAIN = TrainConfig(steps=6, micro_batch_size=4, global_batch_size=4, lr=1e-2, warmup_steps=1, log_interval=3,
                    checkpoint_log_max=4, checkpoint_interval=0)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, Path]:
    """6 steps on arithmetic runs (next = previous + 3 mod 30, EOD = 0); held-out documents alike."""
    root = tmp_path_factory.mktemp("ckpts")
    rng = np.random.default_rng(3)

    def docs(n):
        return [[1 + (int(rng.integers(30)) + 3 * i) % 30 for i in range(int(rng.integers(40, 120)))] + [0]
                for _ in range(n)]

    indexed.write(root / "crawl_train", docs(100), VOCAB)
    indexed.write(root / "crawl_valid", docs(6), VOCAB)
    indexed.write(root / "wiki_valid", docs(3), VOCAB)
    blend = root / "blend.json"
    blend.write_text(json.dumps({
        "vocab_size": VOCAB, "eod": 0, "seq_length": SEQ,
        "train": [{"source": "crawl", "prefix": str(root / "crawl_train"), "weight": 1.0}],
        "valid": [{"source": "crawl", "prefixes": [str(root / "crawl_valid")]},
                  {"source": "wiki", "prefixes": [str(root / "wiki_valid")]}]}))
    loop.train(MODEL, TRAIN, 11, blend, root / "train")
    return blend, root / "train"


def test_discovers_every_complete_checkpoint_final_wins_a_tie(run, tmp_path):
    _, train_dir = run
    found = discover(train_dir)
    assert [s for s, _ in found] == [0, 1, 2, 4, 6]
    assert found[-1][1] == train_dir / "checkpoint" and found[0][1].name == "step_0000000"
    copy = tmp_path / "train"
    shutil.copytree(train_dir, copy)
    (copy / "checkpoints" / "step_0000002" / "lmsci_meta.json").unlink()  # a save killed before completing
    assert [s for s, _ in discover(copy)] == [0, 1, 4, 6]


def test_scores_each_checkpoint_like_perplexity_and_loss_falls(run, tmp_path):
    blend, train_dir = run
    out = tmp_path / "eval" / "checkpoints.json"
    result = evaluate(MODEL, TRAIN, blend, train_dir, 200, out)
    assert json.loads(out.read_text()) == result
    rows = result["checkpoints"]
    assert [r["step"] for r in rows] == [0, 1, 2, 4, 6]
    assert [r["checkpoint"] for r in rows] == ["checkpoints/step_0000000", "checkpoints/step_0000001",
                                               "checkpoints/step_0000002", "checkpoints/step_0000004", "checkpoint"]
    final = perplexity(MODEL, TRAIN, blend, train_dir / "checkpoint", 200, tmp_path / "final.json")
    assert rows[-1]["per_source"] == final["per_source"]  # one model, weights swapped in: same numbers
    inter = perplexity(MODEL, TRAIN, blend, train_dir / "checkpoints" / "step_0000002", 200, tmp_path / "s2.json")
    assert rows[2]["per_source"] == inter["per_source"]
    assert rows[0]["per_source"]["crawl"]["tokens"] == 200
    assert rows[-1]["per_source"]["crawl"]["loss"] < rows[0]["per_source"]["crawl"]["loss"] - 0.5


def test_no_checkpoint_or_another_model_is_one_line(run, tmp_path):
    blend, train_dir = run
    with pytest.raises(EvaluateError, match="no complete checkpoint under"):
        discover(tmp_path)
    other = dataclasses.replace(MODEL, hidden_size=64)
    with pytest.raises(EvaluateError, match="step 0.*another model config"):
        evaluate(other, TRAIN, blend, train_dir, 100, tmp_path / "x.json")
    cfg = json.dumps({"model": dataclasses.asdict(MODEL), "train": dataclasses.asdict(TRAIN), "seed": 1,
                      "evaluate": {"max_tokens": 100, "checkpoint_max_tokens": 100}})
    argv = ["evaluate-checkpoints", "--cfg", cfg, "--blend", str(blend), "--train-dir", str(tmp_path),
            "--out", str(tmp_path / "y.json")]
    assert cli.main(argv) == 1 and not (tmp_path / "y.json").exists()
