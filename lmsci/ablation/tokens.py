"""A variant's tokenize stage: the evaluation set out, everything else into its training dataset.

:func:`stage` is a :mod:`lmsci.stage` function: the curated shard's documents that belong to the
ablation's evaluation set are dropped by id (``ablation/heldout``), then the rest goes through the main
run's :func:`lmsci.tokenize.encode.tokenize` with no validation split (the evaluation set is every
variant's validation data) and the evaluation set's decontamination index, which drops a training
document sharing an n-gram with an evaluation document (``decontam/contaminated``).
"""
from __future__ import annotations

import functools
from pathlib import Path

import polars as pl

from lmsci.stage import Result, dropped_frame
from lmsci.tokenize import encode, fast
from lmsci.tokenize.bpe import eod_id, load

REASON = "ablation/heldout"


def stage(df: pl.DataFrame, *, heldout: set[str], out_dir: str | Path, tokenizer: str | Path, source: str,
          shard: str, seed: int, index=None) -> Result:
    """Drop the evaluation documents, tokenize the rest into ``out_dir/train.{bin,idx}`` (valid: empty)."""
    df = df.sort("id")
    mask = pl.col("id").is_in(pl.Series(sorted(heldout), dtype=pl.String))
    out, rest = df.filter(mask), df.filter(~mask)
    tok = load(tokenizer)
    kept, dropped, led = encode.tokenize(rest, encoder=functools.partial(fast.encode_batch, tokenizer),
                                         eod=eod_id(tok), source=source, shard=shard, seed=seed,
                                         valid_fraction=0.0, overrides=None, index=index)
    rows = []
    for row in out.iter_rows(named=True):
        led.drop(REASON, len(row["text"]))
        rows.append({"id": row["id"], "url": row.get("url"), "reason": REASON, "text": row["text"]})
    if rows:
        extra = {"overlaps": pl.Int64}
        dropped = pl.concat([dropped, dropped_frame(rows, extra)], how="diagonal_relaxed").sort("id")
    encode.write_datasets(kept, out_dir, tok.get_vocab_size())
    return kept.drop("ids"), dropped, led


def run(*, input: str, tokenizer: str, heldout: str, index: str | None, source: str, shard: str, seed: int,
        decontam, out: str, dropped: str, stats: str) -> None:
    """The ``ablation-tokenize`` verb: :func:`stage` through the one stage runner."""
    from lmsci import stage as runner

    ids = set(pl.read_parquet(heldout, columns=["id"])["id"].to_list())
    idx = None
    if index:
        from lmsci.curate.decontam import Index
        idx = Index.load(index, decontam)
    fn = functools.partial(stage, heldout=ids, out_dir=Path(out).parent, tokenizer=tokenizer, source=source,
                           shard=shard, seed=seed, index=idx)
    runner.run(fn, runner.read(input, columns=["id", "url", "text"]), out=out, stats=stats, dropped=dropped)
