"""The whole curation chain in one process, for ``lmsci curate WARC... --out DIR``.

The same functions the workflow's rules call, in the workflow's order — extract, tag, filter,
PII, exact dedup, MinHash dedup — on the given WARC files with one config. Every record
ends up in one decision row; the ledger adds the stages' ledgers up. When the source lists the
``quality`` filter and no trained model is given, one is trained as the workflow's train_quality
rule does: ``quality.positive_sources``' files against the given WARCs' extracted documents.
"""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from lmsci.config import Config
from lmsci.crawl.documents import shard_name
from lmsci.crawl.extract import extract_shard
from lmsci.crawl.jsonl import read_shard
from lmsci.curate import filter as filt
from lmsci.curate import pii, quality
from lmsci.curate.registry import FILTERS
from lmsci.curate.tag import tag
from lmsci.dedup import exact, minhash
from lmsci.ledger import Ledger

COLUMNS = {"record_id": pl.String, "url": pl.String, "kept": pl.Boolean, "reason": pl.String, "lang": pl.String,
           "lang_score": pl.Float64, "dup_of": pl.String, "text": pl.String}


def _rows(df: pl.DataFrame, kept: bool, reason: str | None = None) -> pl.DataFrame:
    """A stage's documents as decision rows (``dup_of`` still a document id; text only when kept)."""
    cols = {"id": pl.col("id"), "record_id": pl.col("record_id"), "url": pl.col("url"), "kept": pl.lit(kept),
            "reason": pl.col("reason") if "reason" in df.columns and reason is None else pl.lit(reason, pl.String),
            "lang": pl.col("lang") if "lang" in df.columns else pl.lit(None, pl.String),
            "lang_score": pl.col("lang_score") if "lang_score" in df.columns else pl.lit(None, pl.Float64),
            "dup_of": pl.col("dup_of") if "dup_of" in df.columns else pl.lit(None, pl.String),
            "text": pl.col("text") if kept else pl.lit(None, pl.String)}
    return df.select(**cols).cast({"id": pl.String, **COLUMNS})


def _total(ledgers: list[Ledger], source: str) -> Ledger:
    """The chain as one ledger: seen = records extracted; each stage's drops; PII counts in extra."""
    total = Ledger("curate", source, "all")
    first = [led for led in ledgers if led.stage == "extract"]
    total.seen = sum(led.seen for led in first)
    total.chars_in = sum(led.chars_in for led in first)
    total.bytes_in = sum(led.bytes_in for led in first)
    stages: dict[str, Counter] = {}
    for led in ledgers:
        total.dropped.update(led.dropped)
        total.chars_dropped.update(led.chars_dropped)
        total.skipped.update(led.skipped)
        agg = stages.setdefault(led.stage, Counter())
        agg.update(seen=led.seen, kept=led.kept)
        if led.stage == "pii":
            total.extra.update({k: total.extra.get(k, 0) + v for k, v in led.extra.items()})
    last = ledgers[-1]
    total.kept, total.chars_out = last.kept, last.chars_out
    total.extra["stages"] = [{"stage": s, **dict(c)} for s, c in stages.items()]
    return total


def train_quality(extracted: list[pl.DataFrame], cfg: Config, out: Path, root: Path | None = None) -> Path:
    """Train the quality classifier into ``out`` (model.bin + model.json): positives from the config's
    ``quality.positive_sources`` files (relative to ``root``), the ranked pool = ``extracted``."""
    positives = []
    for name in cfg.quality.positive_sources:
        src = cfg.sources[name]
        for p in src.paths:
            path = Path(root or ".") / p
            docs = extract_shard(name, path, cfg.extract)[0] if src.kind == "warc" else read_shard(name, path)[0]
            positives.append(docs.select("id", "text"))
    pos = pl.concat(positives).sort("id")["text"].to_list() if positives else []
    pool = pl.concat([d.select("id", "text") for d in extracted]).sort("id")["text"].to_list()
    quality.train(pos, pool, cfg.quality, cfg.seed, out, cfg.quality.positive_sources)
    return out


def curate(warcs: list[str | Path], cfg: Config, source: str = "crawl", quality_model: str | Path | None = None,
           out_dir: Path | None = None, root: Path | None = None) -> tuple[pl.DataFrame, Ledger]:
    """WARC files → (one decision row per WARC response record, sorted by document id; the chain's ledger).

    ``quality_model``: a trained classifier for the ``quality`` filter; without one it is trained into
    ``out_dir/quality/model.bin``."""
    filters = cfg.sources[source].filters if source in cfg.sources else list(FILTERS)
    ledgers: list[Ledger] = []
    decisions: list[pl.DataFrame] = []
    redacted: list[pl.DataFrame] = []
    extracted = []
    for path in warcs:
        dropped: list[dict] = []
        docs, led = extract_shard(source, path, cfg.extract, dropped)
        ledgers.append(led)
        if dropped:
            decisions.append(_rows(pl.DataFrame(dropped), kept=False))
        extracted.append((shard_name(path), docs))
    if "quality" in filters and quality_model is None:
        if out_dir is None:
            raise ValueError("curate: the quality filter needs --quality-model or an output directory to train one in")
        quality_model = train_quality([d for _, d in extracted], cfg, Path(out_dir) / "quality" / "model.bin", root)
    for shard, docs in extracted:
        tagged, led = tag(docs, filters, source, shard, quality_model, cfg.c4)
        ledgers.append(led)
        kept, rejected, led = filt.apply(tagged, filters, cfg, source, shard)
        ledgers.append(led)
        decisions.append(_rows(rejected, kept=False))
        clean, led = pii.apply(kept, cfg.pii, source, shard)
        ledgers.append(led)
        redacted.append(clean)
    exact_kept, exact_dropped, led = exact.dedup(redacted, source, cfg.dedup.exact)
    ledgers.append(led)
    decisions.append(_rows(exact_dropped, kept=False))
    sigs = minhash.signatures(pl.concat([f.select("id", "text") for f in redacted]), cfg.minhash)
    edges = [minhash.band_edges(sigs, band, cfg.minhash) for band in range(cfg.minhash.bands)]
    final, near_dropped, led = minhash.apply([exact_kept], minhash.clusters(edges), source)
    ledgers.append(led)
    decisions += [_rows(near_dropped, kept=False), _rows(final, kept=True)]
    out = pl.concat(decisions).sort("id")
    record = dict(zip(out["id"], out["record_id"]))
    out = out.with_columns(dup_of=pl.col("dup_of").replace_strict(record, default=None, return_dtype=pl.String))
    return out.select(list(COLUMNS)), _total(ledgers, source)
