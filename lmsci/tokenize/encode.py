"""Encode a source's deduplicated documents into train/valid indexed datasets + a lineage table."""
from __future__ import annotations

from pathlib import Path

import polars as pl
from tokenizers import Tokenizer
from tqdm import tqdm

from lmsci.ledger import Ledger
from lmsci.tokenize import indexed, split
from lmsci.tokenize.bpe import eod_id

BATCH = 256


def encode_source(df: pl.DataFrame, tok: Tokenizer, source: str, out_dir: Path, seed: int, valid_fraction: float):
    """Write ``out_dir/{train,valid}.{bin,idx}``; return (lineage frame, ledger).

    The lineage frame maps each document id to its split, its index in that split's
    dataset and its token count: the bridge from a training token back to a WARC record.
    """
    df = df.sort("id")
    ids, texts = df["id"].to_list(), df["text"].to_list()
    splits = split.assign(ids, seed, valid_fraction)
    eod, vocab = eod_id(tok), tok.get_vocab_size()
    encoded: list[list[int]] = []
    for i in tqdm(range(0, len(texts), BATCH), desc=f"encode {source}", unit="batch", leave=False):
        encoded += [e.ids + [eod] for e in tok.encode_batch(texts[i:i + BATCH])]
    led = Ledger("tokenize", source, "all")
    rows = []
    for name in ("train", "valid"):
        members = [j for j, s in enumerate(splits) if s == name]
        indexed.write(out_dir / name, (encoded[j] for j in members), vocab)
        rows += [{"id": ids[j], "split": name, "index": k, "tokens": len(encoded[j])} for k, j in enumerate(members)]
        led.extra[f"{name}_documents"] = len(members)
        led.extra[f"{name}_tokens"] = sum(len(encoded[j]) for j in members)
    for t in texts:
        led.keep(len(t))
    return pl.DataFrame(rows, schema={"id": pl.String, "split": pl.String, "index": pl.Int64,
                                      "tokens": pl.Int64}).sort("id"), led
