"""Train a byte-level BPE tokenizer (HF ``tokenizers``) on the curated corpus.

The end-of-document token is id 0 (the first special token), so every source ends its
documents with the same id the training loop masks on.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from lmsci import sampling
from lmsci.config import TokenizerConfig
from lmsci.io import atomic_path

EOD = "<|endoftext|>"


def train(texts: Iterable[str], cfg: TokenizerConfig) -> Tokenizer:
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency, special_tokens=[EOD],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    return tok


def rank(seed: int, doc_id: str) -> int:
    """The document's place in the tokenizer sample: a seeded hash of its id, salted so that it is
    independent of the validation split's hash (lmsci.tokenize.split)."""
    return sampling.rank("tokenizer-sample", seed, doc_id)


def sample(shards_by_source: dict[str, Iterable[tuple[list[str], list[str]]]], max_chars: int,
           seed: int) -> Iterator[str]:
    """Up to ``max_chars`` characters per source: its documents of lowest :func:`rank`, the last one cut
    (:func:`lmsci.sampling.lowest_rank`: memory stays at ``max_chars`` plus one shard, and the sample
    is the same for any shard count or order). Sources in name order, each source's documents in id order.
    """
    for name in sorted(shards_by_source):
        kept = sampling.lowest_rank(shards_by_source[name], max_chars, seed, "tokenizer-sample")
        budget, cut = max_chars, {}
        for _, i, t in kept:
            cut[i], budget = t[:budget], budget - len(t)
        yield from (cut[i] for i in sorted(cut))


def save(tok: Tokenizer, path: str | Path) -> None:
    with atomic_path(path) as tmp:
        tok.save(str(tmp))


def load(path: str | Path) -> Tokenizer:
    return Tokenizer.from_file(str(path))


def eod_id(tok: Tokenizer) -> int:
    return tok.token_to_id(EOD)


def read_shards(paths: Iterable[str | Path]) -> dict[str, Iterator[tuple[list[str], list[str]]]]:
    """Curated shard files → source → (ids, texts) per shard, each shard read only when reached."""
    import polars as pl

    by_source: dict[str, list[Path]] = {}
    for p in sorted(map(Path, paths)):
        for src in pl.read_parquet(p, columns=["source"])["source"].unique().sort().to_list():
            by_source.setdefault(src, []).append(p)

    def shards(src: str, files: list[Path]):
        for p in files:
            df = pl.read_parquet(p, columns=["id", "source", "text"]).filter(pl.col("source") == src).sort("id")
            yield df["id"].to_list(), df["text"].to_list()

    return {src: shards(src, files) for src, files in by_source.items()}
