"""One stage contract: ``(documents, config slice) -> (kept, dropped, Ledger)``, one runner for all.

A stage function is pure: it takes a document frame (and the narrow config it needs, bound by the
caller) and returns the documents it keeps, the documents it drops (one row each, with a ``reason``
column) and its :class:`~lmsci.ledger.Ledger`. :func:`run` does everything else, the same way for
every stage — datatrove's ``PipelineStep.run`` / ``BaseFilter`` split: it reads the input shard(s),
calls the stage, checks that ``seen = kept + Σ dropped`` and that the frames agree with the ledger,
and writes kept, dropped and stats atomically (``lmsci.io``). Wall time, CPU (children included) and
peak memory per job come from Snakemake's ``benchmark:`` files, not from a timer here.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Callable

import polars as pl

from lmsci.io import write_parquet
from lmsci.ledger import Ledger, LedgerError

Result = tuple[pl.DataFrame, pl.DataFrame, Ledger]
Stage = Callable[[pl.DataFrame], Result]

# The columns every dropped.parquet has (stages may add their own, e.g. dup_of, offset, overlaps).
DROPPED_SCHEMA = {"id": pl.String, "url": pl.String, "reason": pl.String, "text": pl.String}


def empty_dropped(extra: dict | None = None) -> pl.DataFrame:
    return pl.DataFrame(schema={**DROPPED_SCHEMA, **(extra or {})})


def dropped_frame(rows: list[dict], extra: dict | None = None) -> pl.DataFrame:
    """Dropped documents as a frame with at least :data:`DROPPED_SCHEMA`, in id order."""
    schema = {**DROPPED_SCHEMA, **(extra or {})}
    return pl.DataFrame(rows, schema=schema, orient="row").sort("id") if rows else empty_dropped(extra)


def read(paths: list[str | Path] | str | Path, columns: list[str] | None = None) -> pl.DataFrame:
    """One or more parquet shards as one frame in document-id order."""
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    frames = [pl.read_parquet(p, columns=columns) for p in paths]
    if not frames:
        raise ValueError("stage input: no files given")
    df = pl.concat(frames, how="diagonal_relaxed") if len(frames) > 1 else frames[0]
    return df.sort("id") if "id" in df.columns else df


def check(led: Ledger, kept: pl.DataFrame, dropped: pl.DataFrame | None) -> None:
    """The ledger adds up, and agrees with the frames (a row per kept and per dropped document)."""
    led.check()
    where = f"{led.stage}/{led.source}/{led.shard}"
    if kept.height != led.kept:
        raise LedgerError(f"{where}: {kept.height} kept rows but the ledger counts {led.kept}")
    if dropped is not None:
        by_reason = Counter(dropped["reason"].to_list()) if dropped.height else Counter()
        if by_reason != +led.dropped:
            raise LedgerError(f"{where}: dropped rows per reason {dict(by_reason)} != ledger {dict(led.dropped)}")


def run(stage: Stage, documents: pl.DataFrame, *, out: str | Path, stats: str | Path,
        dropped: str | Path | None = None) -> Ledger:
    """Run ``stage`` on ``documents``; write ``out`` (kept), ``dropped`` and ``stats``; return the ledger.

    Every output is written only after the ledger checks out, so a failed check leaves no partial
    result that a rerun would mistake for a finished one."""
    kept, drop, led = stage(documents)
    check(led, kept, drop if dropped is not None else None)
    write_parquet(out, kept)
    if dropped is not None:
        write_parquet(dropped, drop)
    led.write(stats)
    return led
