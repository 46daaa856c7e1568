"""Encode a source's deduplicated documents into train/valid indexed datasets + a lineage table."""
from __future__ import annotations

from pathlib import Path

import polars as pl
from tokenizers import Tokenizer
from tqdm import tqdm

from lmsci.curate import decontam
from lmsci.ledger import Ledger
from lmsci.tokenize import indexed, split
from lmsci.tokenize.bpe import eod_id

BATCH = 256


def encode_source(df: pl.DataFrame, tok: Tokenizer, source: str, out_dir: Path, seed: int, valid_fraction: float,
                  index: decontam.Index | None = None, dropped: list[dict] | None = None):
    """Write ``out_dir/{train,valid}.{bin,idx}``; return (lineage frame, ledger).

    The lineage frame maps each document id to its split, its index in that split's
    dataset and its token count: the bridge from a training token back to a WARC record.
    With a decontamination ``index``, a training document sharing n-grams with the evaluation
    texts is dropped (``decontam/contaminated``, appended to ``dropped``) and is in no dataset.
    """
    df = df.sort("id")
    ids, texts = df["id"].to_list(), df["text"].to_list()
    splits = split.assign(ids, seed, valid_fraction)
    led = Ledger("tokenize", source, "all")
    if index is not None:
        urls = df["url"].to_list() if "url" in df.columns else [None] * len(ids)
        for j, s in enumerate(splits):
            if s == "train" and (hits := index.contaminated(texts[j])):
                splits[j] = decontam.REASON
                led.drop(decontam.REASON, len(texts[j]))
                if dropped is not None:
                    dropped.append({"id": ids[j], "url": urls[j], "reason": decontam.REASON, "text": texts[j],
                                    "overlaps": hits})
        led.extra.update(index.stats())
    eod, vocab = eod_id(tok), tok.get_vocab_size()
    encoded: list[list[int]] = []
    for i in tqdm(range(0, len(texts), BATCH), desc=f"encode {source}", unit="batch", leave=False):
        encoded += [e.ids + [eod] for e in tok.encode_batch(texts[i:i + BATCH])]
    rows = []
    for name in ("train", "valid"):
        members = [j for j, s in enumerate(splits) if s == name]
        indexed.write(out_dir / name, (encoded[j] for j in members), vocab)
        rows += [{"id": ids[j], "split": name, "index": k, "tokens": len(encoded[j])} for k, j in enumerate(members)]
        led.extra[f"{name}_documents"] = len(members)
        led.extra[f"{name}_tokens"] = sum(len(encoded[j]) for j in members)
    for t, s in zip(texts, splits):
        if s in ("train", "valid"):
            led.keep(len(t))
    return pl.DataFrame(rows, schema={"id": pl.String, "split": pl.String, "index": pl.Int64,
                                      "tokens": pl.Int64}).sort("id"), led
