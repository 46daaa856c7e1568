"""What the curation stages dropped, read back for the report: tokens per reason and a few samples.

Every stage that drops documents stores them beside its ledger (``x.dropped.parquet`` next to
``x.stats.json``, ``dropped.parquet`` next to ``stats.json``), with a ``reason`` column; the stage
is the one that ledger names, so a stage added later (a quality model, decontamination) is picked
up without a change here. Tokens are counted with the run's own tokenizer on the text as the stage
saw it, the same call the tokenize stage makes (its EOD excluded).
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path

import polars as pl

from lmsci.io import read_json

COLUMNS = ("id", "url", "reason", "text")
BATCH = 256


def files(results: Path) -> list[tuple[Path, str, str]]:
    """(dropped parquet, stage, source) for every stored drop file, in path order."""
    out = []
    for path in sorted(Path(results).glob("**/*dropped*.parquet")):
        stats = path.with_name(path.name.replace("dropped.parquet", "stats.json"))
        if not stats.is_file() or not set(COLUMNS) <= set(pl.read_parquet_schema(path)):
            continue  # not a curation stage's drop file (no ledger beside it, or no reason/text)
        led = read_json(stats)
        out.append((path, led["stage"], led["source"]))
    return out


def load(results: Path) -> pl.DataFrame:
    """Every stored dropped document with its stage and source, in (stage, id) order."""
    frames = [pl.read_parquet(p, columns=list(COLUMNS)).with_columns(stage=pl.lit(stage), source=pl.lit(source))
              for p, stage, source in files(results)]
    if not frames:
        return pl.DataFrame(schema={**{c: pl.String for c in COLUMNS}, "stage": pl.String, "source": pl.String})
    return pl.concat(frames).with_columns(pl.col("text").fill_null("")).sort("stage", "id")


def token_counts(df: pl.DataFrame, tokenizer) -> dict[tuple[str, str, str], dict]:
    """(source, stage, reason) → {"documents": n, "tokens": t} over the stored dropped documents."""
    texts = df["text"].to_list()
    lengths: list[int] = []
    for i in range(0, len(texts), BATCH):
        lengths += [len(e.ids) for e in tokenizer.encode_batch(texts[i:i + BATCH])]
    out: dict[tuple[str, str, str], dict] = defaultdict(lambda: {"documents": 0, "tokens": 0})
    for (source, stage, reason), n in zip(df.select("source", "stage", "reason").iter_rows(), lengths):
        out[(source, stage, reason)]["documents"] += 1
        out[(source, stage, reason)]["tokens"] += n
    return dict(out)


def excerpt(text: str, chars: int) -> str:
    """Whitespace collapsed, cut at ``chars`` characters (escaping is the template's job)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars].rstrip() + " …"


def samples(df: pl.DataFrame, per_reason: int = 3, chars: int = 240, seed: int = 0) -> dict[str, list[dict]]:
    """reason → up to ``per_reason`` dropped documents, chosen by sha256(seed, id): deterministic, and
    spread over shards and sources rather than the first ones in id order."""
    out: dict[str, list[dict]] = {}
    for reason in sorted(set(df["reason"].to_list())):
        rows = df.filter(pl.col("reason") == reason).select("id", "url", "stage", "text").rows()
        rows.sort(key=lambda r: hashlib.sha256(f"{seed}:{r[0]}".encode()).hexdigest())
        out[reason] = [{"id": i, "url": u or "", "stage": st, "excerpt": excerpt(t, chars)}
                       for i, u, st, t in rows[:per_reason]]
    return out
