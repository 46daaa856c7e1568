"""lmsci/tokenize/encode.py: the tokenize stage — train/valid indexed datasets plus the lineage table
that maps them back, run through lmsci.stage.run."""
from __future__ import annotations

import functools
import random

import polars as pl
import pytest
from megatron.core.datasets.indexed_dataset import IndexedDataset

from lmsci.config import TokenizerConfig
from lmsci.crawl.documents import doc_id, frame
from lmsci import stage
from lmsci.tokenize import bpe, encode, indexed, split

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
def tok_path(tok, tmp_path_factory):
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    bpe.save(tok, path)
    return path


def _stage(tok_path, out, **kw):
    return functools.partial(encode.stage, out_dir=out, tokenizer=tok_path, source="crawl", shard="shard-1",
                             seed=SEED, valid_fraction=FRACTION, **kw)


@pytest.fixture(scope="module")
def encoded(tok_path, tmp_path_factory):
    texts = _texts(60)
    rows = [{"id": doc_id("crawl", f"shard-{i % 3}", 1000 * i), "source": "crawl", "shard": f"shard-{i % 3}",
             "offset": 1000 * i, "record_id": str(i), "url": "", "text": t} for i, t in enumerate(texts)]
    df = frame(rows).sample(fraction=1.0, shuffle=True, seed=1)  # encode must not depend on input order
    out = tmp_path_factory.mktemp("tokens") / "crawl"
    led = stage.run(_stage(tok_path, out), df, out=out / "documents.parquet", stats=out / "x.stats.json",
                    dropped=out / "x.dropped.parquet")
    return df, out, pl.read_parquet(out / "documents.parquet"), led


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
    df, out, _, led = encoded
    assert (led.stage, led.source, led.shard, led.seen, led.kept) == ("tokenize", "crawl", "shard-1", df.height,
                                                                       df.height)
    assert led.extra["train_documents"] + led.extra["valid_documents"] == df.height
    assert led.chars_in == sum(map(len, df["text"]))
    assert pl.read_parquet(out / "x.dropped.parquet").height == 0  # no index: nothing dropped


def test_overrides_move_a_document_between_splits(tok, encoded, tmp_path):
    df, _, lineage, _ = encoded
    first_train = lineage.filter(pl.col("split") == "train")["id"][0]
    kept, _, led = encode.tokenize(df, encoder=lambda ts: [e.ids for e in tok.encode_batch(ts)], eod=0,
                                   source="crawl", shard="s", seed=SEED, valid_fraction=FRACTION,
                                   overrides={first_train: "valid"})
    assert kept.filter(pl.col("id") == first_train)["split"].to_list() == ["valid"]
    assert led.extra["valid_documents"] == lineage.filter(pl.col("split") == "valid").height + 1


def test_encode_is_deterministic(encoded, tok_path, tmp_path):
    df, out, lineage, _ = encoded
    again = tmp_path / "crawl"
    stage.run(_stage(tok_path, again), df.sort("id"), out=again / "documents.parquet", stats=again / "x.stats.json")
    assert pl.read_parquet(again / "documents.parquet").equals(lineage)
    for f in ("train.bin", "train.idx", "valid.bin", "valid.idx", "documents.parquet", "x.stats.json"):
        assert (again / f).read_bytes() == (out / f).read_bytes()


def test_an_empty_shard_writes_empty_datasets(tok_path, tmp_path):
    df = frame([])
    led = stage.run(_stage(tok_path, tmp_path), df, out=tmp_path / "documents.parquet", stats=tmp_path / "s.json")
    assert led.seen == 0 and pl.read_parquet(tmp_path / "documents.parquet").height == 0
    assert indexed.count_documents(tmp_path / "train") == indexed.count_documents(tmp_path / "valid") == 0
