"""Issue 11: every boundary value the config accepts runs the first job that reads it, on tiny data,
without crashing (the values one past each bound are refused: tests/test_hostile_configs.py).

Accepted bounds (lmsci/conf): extract.max_bytes 2**30, extract.timeout_s 3600 and 0, extract.min_chars
= max_bytes, tokenizer.vocab_size 257 and 2**20, tokenizer.min_frequency 2**32-1, minhash.seed 2**32-1,
minhash.permutations 8192 / bands 1024, minhash.ngram 1000, seed 2**32-1 (split), decontam.ngram 1000.
Training-side bounds (seq_length 131072, micro-batch tokens 2**20, widths) are not run here: a model
that size is a GPU job, not a unit test."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import polars as pl
import pytest

from lmsci import config as C
from lmsci.conf import data as D
from lmsci.config import DecontamConfig, ExtractConfig, MinHashConfig, TokenizerConfig

ROOT = Path(__file__).resolve().parents[1]
SHARD = ROOT / "data/sample/crawl/shard-00000.warc.gz"
TEXTS = ["the quick brown fox jumps over the lazy dog " * 20, "lorem ipsum dolor sit amet " * 30]


def test_the_bounds_are_accepted_and_one_past_refused():
    base = C.load(ROOT / "config.yaml")
    for section, key, ok, bad in [("extract", "max_bytes", D.MAX_BYTES, D.MAX_BYTES + 1),
                                  ("extract", "timeout_s", D.MAX_TIMEOUT_S, D.MAX_TIMEOUT_S + 1),
                                  ("tokenizer", "vocab_size", D.MAX_VOCAB, D.MAX_VOCAB + 1),
                                  ("tokenizer", "vocab_size", 257, 256),
                                  ("minhash", "seed", 2**32 - 1, 2**32)]:
        sec = getattr(base, section)
        assert getattr(dataclasses.replace(sec, **{key: ok}), key) == ok
        with pytest.raises(C.ConfigError, match=f"'{key}'"):
            dataclasses.replace(sec, **{key: bad})


@pytest.mark.parametrize("timeout_s", [D.MAX_TIMEOUT_S, 0.0])
def test_extract_at_max_bytes_and_timeout_bounds(timeout_s):
    from lmsci.crawl import extract

    cfg = ExtractConfig(max_bytes=D.MAX_BYTES, timeout_s=timeout_s)
    kept, dropped, led = extract.extract_shard("crawl", SHARD, cfg)
    assert kept.height > 0 and led.seen == kept.height + sum(led.dropped.values())


def test_extract_with_min_chars_at_max_bytes_drops_everything_by_name():
    from lmsci.crawl import extract

    cfg = ExtractConfig(max_bytes=10_000, min_chars=10_000, timeout_s=0.0)
    kept, dropped, led = extract.extract_shard("crawl", SHARD, cfg)
    assert kept.height == 0 and led.seen == sum(led.dropped.values()) > 0


@pytest.mark.parametrize("vocab, min_frequency", [(D.MAX_VOCAB, 2), (257, 2**32 - 1)])
def test_tokenizer_trains_at_its_bounds(vocab, min_frequency):
    from lmsci.tokenize import bpe

    tok = bpe.train(TEXTS, TokenizerConfig(vocab_size=vocab, min_frequency=min_frequency))
    assert 257 <= tok.get_vocab_size() <= vocab
    assert tok.decode(tok.encode(TEXTS[0]).ids) == TEXTS[0]


def test_minhash_at_its_bounds():
    from lmsci.dedup import minhash

    cfg = MinHashConfig(seed=2**32 - 1, permutations=8192, bands=1024, ngram=1000)
    df = pl.DataFrame({"id": ["a", "b"], "text": TEXTS})
    sigs = minhash.signatures(df, cfg)
    assert sigs.height == 2 and sigs["sig"].dtype.size == 8192


def test_split_and_decontam_at_their_bounds():
    from lmsci.curate import decontam
    from lmsci.tokenize import split

    assert len(split.assign(["a", "b", "c"], 2**32 - 1, 0.5)) == 3
    index = decontam.build(TEXTS, DecontamConfig(ngram=1000))
    assert index.contaminated(TEXTS[0]) == 0  # no text has 1000 words: nothing can match
