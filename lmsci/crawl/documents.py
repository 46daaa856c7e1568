"""The document table every stage passes on, and the lineage-carrying document id."""
from __future__ import annotations

from pathlib import Path

import polars as pl

# One row per document; attributes computed later are added as extra columns.
SCHEMA = {
    "id": pl.String,  # "<source>/<shard>/<byte offset, 12 digits>": sorts in crawl order, names its origin
    "source": pl.String,
    "shard": pl.String,
    "offset": pl.Int64,  # byte offset of the WARC record (or JSONL line) in its (uncompressed for JSONL) file
    "record_id": pl.String,  # WARC-Record-ID, or the JSONL object's "id"
    "url": pl.String,
    "text": pl.String,
}

# Where a dropped record was: the columns the WARC and JSONL readers add to lmsci.stage.DROPPED_SCHEMA.
DROPPED_EXTRA = {"record_id": pl.String, "offset": pl.Int64, "file": pl.String, "detail": pl.String}


def shard_name(path: str | Path) -> str:
    """``data/x/shard-00001.warc.gz`` → ``shard-00001``."""
    name = Path(path).name
    for ext in (".warc.gz", ".warc", ".jsonl.gz", ".jsonl"):
        if name.endswith(ext):
            return name[: -len(ext)]
    return Path(name).stem


def doc_id(source: str, shard: str, offset: int) -> str:
    return f"{source}/{shard}/{offset:012d}"


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA).sort("id")
