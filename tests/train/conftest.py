"""Shared by the training tests: a tiny learnable blend on disk and the tiny model/run configs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lmsci.config import ModelConfig, TrainConfig
from lmsci.tokenize import indexed

VOCAB, SEQ = 300, 64
MODEL = ModelConfig(num_layers=2, hidden_size=64, num_attention_heads=4, num_query_groups=2,
                    ffn_hidden_size=128, seq_length=SEQ)
# No intermediate checkpoints unless a test asks: each costs ~0.1–0.3 s on the 2-core box.
TRAIN = TrainConfig(steps=20, micro_batch_size=4, global_batch_size=8, lr=3e-3, warmup_steps=3, log_interval=5,
                    checkpoint_log_max=0, checkpoint_interval=0)


def write_indexed(prefix: Path, documents: list[list[int]]) -> None:
    indexed.write(prefix, documents, VOCAB)  # the format the tokenize stage writes


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
            prefix = str(root / f"{source}_{split}")  # the blend manifest lmsci.mix writes
            entries[split].append({"source": source, "prefix": prefix, "weight": weight} if split == "train"
                                  else {"source": source, "prefixes": [prefix]})
    path = root / "blend.json"
    path.write_text(json.dumps({"vocab_size": VOCAB, "eod": 0, "seq_length": SEQ, **entries}))
    return path


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared 2-core box two threads per
    process oversubscribe it (measured: 5–9× slower steps under load). torchrun workers already get
    cores // world threads; the in-process runs get one too, and so do the subprocesses (env)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def blend(tmp_path_factory) -> Path:
    return make_blend(tmp_path_factory.mktemp("tokens"))


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def losses(out: Path) -> list[float]:
    return [r["loss"] for r in rows(out)]


@pytest.fixture(scope="session")
def reference(blend, tmp_path_factory) -> Path:
    """The TP=PP=DP=1 run every other layout and every resumed run is compared with."""
    from lmsci.train import loop

    out = tmp_path_factory.mktemp("reference")
    loop.train(MODEL, TRAIN, 1234, blend, out)
    return out


@pytest.fixture(scope="session")
def distributed_reference(blend, tmp_path_factory) -> Path:
    """DP=2 under torchrun with the DistributedOptimizer, uninterrupted."""
    import dataclasses

    from lmsci.train import loop

    out = tmp_path_factory.mktemp("distributed_reference")
    loop.train(MODEL, dataclasses.replace(TRAIN, data_parallel=2, use_distributed_optimizer=True), 1234, blend, out)
    return out


@pytest.fixture(scope="session")
def tp2_pp2(blend, tmp_path_factory) -> Path:
    """TP=2 × PP=2 under torchrun (4 processes), with a checkpoint after step 10."""
    import dataclasses

    from lmsci.train import loop

    out = tmp_path_factory.mktemp("tp2_pp2")
    loop.train(MODEL, dataclasses.replace(TRAIN, tensor_parallel=2, pipeline_parallel=2, checkpoint_steps=[10]),
               1234, blend, out)
    return out
