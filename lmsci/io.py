"""Atomic, deterministic file output: write to a temp name beside the target, then rename."""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Iterator

import polars as pl


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; rename it over ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def remove_stale_temps(path: str | Path) -> None:
    """Delete temp files a SIGKILLed earlier attempt left beside ``path`` (its ``finally`` never ran);
    otherwise they would sit in DVC-tracked output directories. One job per output, so none is live."""
    path = Path(path)
    for stale in path.parent.glob(f".{path.name}.tmp*"):
        stale.unlink(missing_ok=True)


def write_json(path: str | Path, obj: object) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def read_json(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_parquet(path: str | Path, df: pl.DataFrame) -> None:
    # No statistics timestamps, one row group order fixed by the caller: byte-identical reruns.
    with atomic_path(path) as tmp:
        df.write_parquet(tmp, compression="zstd", statistics=False)


def jsonl_to_csv(src: str | Path, dst: str | Path) -> None:
    """metrics.jsonl → metrics.csv (DVC plots read CSV, not JSONL); columns of the first row."""
    rows = [json.loads(line) for line in Path(src).read_text().splitlines() if line.strip()]
    cols = list(rows[0]) if rows else []
    with atomic_path(dst) as tmp:
        tmp.write_text("\n".join([",".join(cols)] + [",".join(str(r.get(c, "")) for c in cols) for r in rows]) + "\n")
