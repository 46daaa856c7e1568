"""lmsci/tokenize/encode.py: train/valid indexed datasets plus the lineage table that maps them back."""
from __future__ import annotations

import random

import polars as pl
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset

from lmsci.config import TokenizerConfig
from lmsci.crawl.documents import doc_id, frame
from lmsci.tokenize import bpe, encode, split

WORDS = ("river valley farm bank spring water snow mountain gate canal field town grain timber wool city "
         "orchard bridge railway coast the and of to with that").split()
SEED, FRACTION = 1234, 0.2


def _texts(n: int) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 40))) for _ in range(n)]


@pytest.fixture(scope="module")
def tok():
    return bpe.train(_texts(200), TokenizerConfig(vocab_size=300, min_frequency=2))


@pytest.fixture(scope="module")
def encoded(tok, tmp_path_factory):
    texts = _texts(60)
    rows = [{"id": doc_id("crawl", f"shard-{i % 3}", 1000 * i), "source": "crawl", "shard": f"shard-{i % 3}",
             "offset": 1000 * i, "record_id": str(i), "url": "", "text": t} for i, t in enumerate(texts)]
    df = frame(rows).sample(fraction=1.0, shuffle=True, seed=1)  # encode must not depend on input order
    out = tmp_path_factory.mktemp("tokens") / "crawl"
    lineage, led = encode.encode_source(df, tok, "crawl", out, SEED, FRACTION)
    return df, out, lineage, led


def test_lineage_matches_split_assignment(encoded):
    df, _, lineage, _ = encoded
    ids = sorted(df["id"])
    assert lineage["id"].to_list() == ids
    assert lineage["split"].to_list() == split.assign(ids, SEED, FRACTION)
    for name in ("train", "valid"):
        part = lineage.filter(pl.col("split") == name)
        assert part.height > 0
        assert part["index"].to_list() == list(range(part.height))  # id order within the split


def test_token_counts_match_indexed_dataset(encoded, tok):
    df, out, lineage, led = encoded
    texts = dict(zip(df["id"], df["text"]))
    eod = bpe.eod_id(tok)
    for name in ("train", "valid"):
        ds = IndexedDataset(str(out / name))
        part = lineage.filter(pl.col("split") == name)
        assert len(ds) == part.height == led.extra[f"{name}_documents"]
        assert int(ds.sequence_lengths.sum()) == led.extra[f"{name}_tokens"] == part["tokens"].sum()
        for row in part.iter_rows(named=True):
            seq = ds[row["index"]].tolist()
            assert len(seq) == row["tokens"] == int(ds.sequence_lengths[row["index"]])
            assert seq == tok.encode(texts[row["id"]]).ids + [eod]  # the token range maps back to the document


def test_ledger(encoded):
    df, _, _, led = encoded
    assert (led.stage, led.shard, led.seen, led.kept) == ("tokenize", "all", df.height, df.height)
    assert led.extra["train_documents"] + led.extra["valid_documents"] == df.height
    assert led.chars_in == sum(map(len, df["text"]))


def test_encode_is_deterministic(encoded, tok, tmp_path):
    df, out, lineage, _ = encoded
    again, _ = encode.encode_source(df.sort("id"), tok, "crawl", tmp_path / "crawl", SEED, FRACTION)
    assert again.equals(lineage)
    for f in ("train.bin", "train.idx", "valid.bin", "valid.idx"):
        assert (tmp_path / "crawl" / f).read_bytes() == (out / f).read_bytes()
