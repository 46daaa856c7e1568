"""``tokenize.merge: true``: a source's shard datasets merged into one ``.bin/.idx`` pair per split.

Megatron reads many small datasets fine (the blend lists every shard), but a cluster file system
may prefer a few large files. The merge is megatron's own (``IndexedDatasetBuilder.add_index``):
bytes are copied, never re-encoded, so every document keeps the token ids its shard job wrote.
The merged lineage table is the shards' tables in shard order with each split's ``index`` shifted
by the documents of the shards before it, so trace and batch map merged tokens back to their ids.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from lmsci.io import write_parquet
from lmsci.tokenize import indexed
from lmsci.tokenize.encode import LINEAGE_SCHEMA, SPLITS

LINEAGE = "documents.parquet"


def merge(shard_dirs: list[str | Path], out_dir: str | Path, vocab_size: int) -> pl.DataFrame:
    """Merge ``shard_dirs`` (each holding ``{train,valid}.{bin,idx}`` and the lineage), in the given
    order, into ``out_dir``; return (and write) the merged lineage."""
    shard_dirs, out_dir = [Path(d) for d in shard_dirs], Path(out_dir)
    if not shard_dirs:
        raise ValueError(f"merge into {out_dir}: no shard directories given")
    frames, offset = [], {name: 0 for name in SPLITS}
    for d in shard_dirs:
        if not (d / LINEAGE).is_file():
            raise ValueError(f"lineage table not found: {d / LINEAGE}; run the tokenize stage")
        lin = pl.read_parquet(d / LINEAGE)
        frames.append(lin.with_columns(pl.col("index") + pl.col("split").replace_strict(offset, default=0,
                                                                                        return_dtype=pl.Int64)))
        for name in SPLITS:
            n = indexed.count_documents(d / name)
            if n != lin.filter(pl.col("split") == name).height:
                raise ValueError(f"{d}: {name} holds {n} documents but {LINEAGE} lists "
                                 f"{lin.filter(pl.col('split') == name).height}; rerun the tokenize stage")
            offset[name] += n
    for name in SPLITS:
        indexed.merge([d / name for d in shard_dirs], out_dir / name, vocab_size)
    lineage = pl.concat(frames).select(list(LINEAGE_SCHEMA)).sort("id")
    write_parquet(out_dir / LINEAGE, lineage)
    return lineage
