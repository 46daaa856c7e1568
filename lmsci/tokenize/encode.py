"""The tokenize stage: one curated shard → train/valid token documents, a lineage table and a ledger.

:func:`tokenize` is the pure stage function of :mod:`lmsci.stage` (bind its configuration with
``functools.partial``): documents in, ``(kept, dropped, ledger)`` out. ``kept`` is the lineage
table (id, split, index in that split's dataset, token count) plus the token ids; :func:`stage`
writes the ids as ``<out_dir>/{train,valid}.{bin,idx}`` and hands the lineage to the runner, which
writes it as ``documents.parquet``: the bridge from a training token back to a WARC record.

Each document is encoded on its own (batches only for speed), so its token ids do
not depend on which shard it sits in; its split is :mod:`lmsci.tokenize.split`'s (seed, id) rule
with the source's global fallback overrides, so membership does not either.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import polars as pl

from lmsci.curate import decontam
from lmsci.ledger import Ledger
from lmsci.stage import Result, dropped_frame
from lmsci.tokenize import fast, indexed, split
from lmsci.tokenize.bpe import eod_id, load
from lmsci.tokenize.fast import Encoder

BATCH = 256
SPLITS = ("train", "valid")
LINEAGE_SCHEMA = {"id": pl.String, "split": pl.String, "index": pl.Int64, "tokens": pl.Int64}


def tokenize(df: pl.DataFrame, *, encoder: Encoder, eod: int, source: str, shard: str, seed: int,
             valid_fraction: float, overrides: dict[str, str] | None = None,
             index: decontam.Index | None = None) -> Result:
    """Split, decontaminate and encode one shard (``encoder``: texts → token ids, EOD ``eod`` appended).

    With a decontamination ``index``, a training document sharing n-grams with the evaluation texts
    is dropped (``decontam/contaminated``, with its ``overlaps``) and is in no dataset; held-out
    documents are never dropped (they are the evaluation texts). The index's own counts are global
    (its ``.json``), so they stay out of the shard's ledger, whose extras the report sums.
    """
    df = df.sort("id")
    ids, texts = df["id"].to_list(), df["text"].to_list()
    urls = df["url"].to_list() if "url" in df.columns else [None] * len(ids)
    splits = split.assign(ids, seed, valid_fraction, overrides)
    led = Ledger("tokenize", source, shard)
    drops = []
    if index is not None:
        for j, s in enumerate(splits):
            if s == "train" and (hits := index.contaminated(texts[j])):
                splits[j] = decontam.REASON
                led.drop(decontam.REASON, len(texts[j]))
                drops.append({"id": ids[j], "url": urls[j], "reason": decontam.REASON, "text": texts[j],
                              "overlaps": hits})
    members = [j for j, s in enumerate(splits) if s in SPLITS]
    encoded: dict[int, list[int]] = {}
    for i in range(0, len(members), BATCH):
        chunk = members[i:i + BATCH]
        encoded.update(zip(chunk, (t + [eod] for t in encoder([texts[j] for j in chunk]))))
    cols: dict[str, list] = {"id": [], "split": [], "index": [], "tokens": []}
    order = []
    for name in SPLITS:
        part = [j for j in members if splits[j] == name]
        order += part
        cols["id"] += [ids[j] for j in part]
        cols["split"] += [name] * len(part)
        cols["index"] += range(len(part))
        cols["tokens"] += [len(encoded[j]) for j in part]
        led.extra[f"{name}_documents"] = len(part)
        led.extra[f"{name}_tokens"] = sum(len(encoded[j]) for j in part)
    for j in members:
        led.keep(len(texts[j]))
    # Built column by column: a frame from per-row dicts costs more than the encoding itself.
    kept = pl.DataFrame(cols, schema=LINEAGE_SCHEMA).with_columns(
        pl.Series("ids", [encoded[j] for j in order], dtype=pl.List(pl.Int64))).sort("id")
    return kept, dropped_frame(drops, {"overlaps": pl.Int64}), led


def write_datasets(kept: pl.DataFrame, out_dir: str | Path, vocab_size: int) -> None:
    """``kept``'s token ids as ``out_dir/{train,valid}.{bin,idx}``, in each split's index order."""
    for name in SPLITS:
        part = kept.filter(pl.col("split") == name).sort("index")
        flat = part["ids"].explode().to_numpy(writable=True) if part.height else np.zeros(0, dtype=np.int64)
        ends = np.cumsum(part["tokens"].to_numpy())
        indexed.write(Path(out_dir) / name, (flat[e - n:e] for e, n in zip(ends, part["tokens"].to_numpy())),
                      vocab_size)


def stage(df: pl.DataFrame, *, out_dir: str | Path, tokenizer: str | Path, **kw) -> Result:
    """:func:`tokenize` with the tokenizer at ``tokenizer`` (encoded by :mod:`lmsci.tokenize.fast`: the same
    ids as HF ``tokenizers``, faster), the datasets written beside the lineage the runner writes."""
    tok = load(tokenizer)
    kept, dropped, led = tokenize(df, encoder=functools.partial(fast.encode_batch, tokenizer), eod=eod_id(tok), **kw)
    write_datasets(kept, out_dir, tok.get_vocab_size())
    return kept.drop("ids"), dropped, led
