"""Bit-identical reruns: two clean runs of configs/tiny.yaml in separate scratch copies — one on 2
cores, one on 1 (Snakemake's --cores: other job order, other concurrency, each job's threads capped
at 1) — produce the same bytes for every data artifact (parquet, tokenizer.json, .bin/.idx,
blend.json, ledgers), and two short training runs on them the same loss sequence.

To keep CI affordable the data stages run twice (`snakemake tokens`; the first run is the shared
`tiny_tokens` fixture, on 2 cores) and training is cut to a few steps by an overlay; evaluation (perplexity.json,
deterministic given the checkpoint) is left to the end-to-end test.
"""
from __future__ import annotations

import shutil

import pytest
import yaml

from .conftest import CONFIGS, copy_repo, data_digests, loss_sequence, result_files, snakemake

pytestmark = pytest.mark.e2e
SHORT = {"train": {"steps": 6, "warmup_steps": 2, "log_interval": 1}}


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    """The data stages again, on one core."""
    repo = copy_repo(tmp_path_factory.mktemp("rerun") / "repo")
    proc = snakemake(repo, "tokens", "--cores", "1", *CONFIGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return repo


def test_data_stages_are_bit_identical(tiny_tokens, second):
    first, again = data_digests(tiny_tokens), data_digests(second)
    names = " ".join(first)
    for kind in ("extract/", "tag/", "filter/", "dedup/", "documents.parquet", "tokenizer.json", "train.bin",
                 "valid.idx", "blend.json", ".stats.json", "heldout/ngrams.npy"):
        assert kind in names, f"no {kind} artifact compared"
    assert result_files(second) == result_files(tiny_tokens)
    assert sorted(k for k in first if first[k] != again[k]) == []


def _short_train(repo, tmp_path):
    overlay = tmp_path / "short.yaml"
    overlay.write_text(yaml.safe_dump(SHORT))
    proc = snakemake(repo, "train", "--cores", "2", *CONFIGS, str(overlay))
    assert proc.returncode == 0, proc.stderr[-4000:]
    return loss_sequence(repo)


def test_training_loss_sequence_is_bit_identical(tiny_tokens, second, tmp_path):
    first = shutil.copytree(tiny_tokens, tmp_path / "first", symlinks=True)  # keep the shared reference as is
    losses = _short_train(first, tmp_path)
    assert len(losses) == SHORT["train"]["steps"]
    assert _short_train(second, tmp_path) == losses
