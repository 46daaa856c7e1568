"""The whole curation chain in one process, for ``lmsci curate WARC... --out DIR``.

The same functions the workflow's rules call, in the workflow's order — extract, tag, filter,
PII, exact dedup, MinHash dedup — on the given WARC files with one config. Every record
ends up in one decision row; the ledger adds the stages' ledgers up. When the source lists the
``quality`` filter and no trained model is given, one is trained as the workflow's train_quality
rule does: ``quality.positive_sources``' files against the given WARCs' extracted documents.

Damage never takes a run down (issue 10): a damaged record is a decision row with its reason
(``extract/truncated``, ``error/gzip``, ...; file and byte offset in the ledger's
``extra["damaged"]``), and a file that cannot be read at all (missing, zero-byte or non-gzip
``.gz``, not a WARC) is left out with one error line naming it (``extra["failed_files"]``) while
every other file is curated. ``doc_id`` — (source, shard, byte offset) — is unique per row even
when two records share a WARC-Record-ID; ``dup_of`` names the kept row's ``doc_id``.
"""
from __future__ import annotations

import contextlib
from collections import Counter
from pathlib import Path

import polars as pl

from lmsci.config import Config
from lmsci.crawl.documents import shard_name
from lmsci.crawl.extract import CorruptShard, extract_shard, worker
from lmsci.crawl.jsonl import read_shard
from lmsci.crawl.remote import is_url
from lmsci.curate import filter as filt
from lmsci.curate import pii, quality
from lmsci.curate.registry import FILTERS
from lmsci.curate.tag import sections_of, tag
from lmsci.dedup import local
from lmsci.ledger import Ledger

COLUMNS = {"doc_id": pl.String, "record_id": pl.String, "url": pl.String, "kept": pl.Boolean, "reason": pl.String,
           "lang": pl.String, "lang_score": pl.Float64, "dup_of": pl.String, "text": pl.String}


def _rows(df: pl.DataFrame, kept: bool, reason: str | None = None) -> pl.DataFrame:
    """A stage's documents as decision rows (``dup_of`` a document id; text only when kept)."""
    cols = {"doc_id": pl.col("id"), "record_id": pl.col("record_id"), "url": pl.col("url"), "kept": pl.lit(kept),
            "reason": pl.col("reason") if "reason" in df.columns and reason is None else pl.lit(reason, pl.String),
            "lang": pl.col("lang") if "lang" in df.columns else pl.lit(None, pl.String),
            "lang_score": pl.col("lang_score") if "lang_score" in df.columns else pl.lit(None, pl.Float64),
            "dup_of": pl.col("dup_of") if "dup_of" in df.columns else pl.lit(None, pl.String),
            "text": pl.col("text") if kept else pl.lit(None, pl.String)}
    return df.select(**cols).cast(COLUMNS)


def _total(ledgers: list[Ledger], source: str, failed: list[dict]) -> Ledger:
    """The chain as one ledger: seen = records extracted; each stage's drops; PII counts, damaged
    records and unreadable files in extra."""
    total = Ledger("curate", source, "all")
    total.extra["damaged"] = [d for led in ledgers for d in led.extra.get("damaged", [])]
    total.extra["failed_files"] = failed
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
    last = ledgers[-1] if ledgers else total
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
            path = p if is_url(p) else Path(root or ".") / p
            docs = (extract_shard(name, path, cfg.extract) if src.kind == "warc"
                    else read_shard(name, path, cfg.extract.on_corrupt))[0]
            positives.append(docs.select("id", "text"))
    pos = pl.concat(positives).sort("id")["text"].to_list() if positives else []
    pool = pl.concat([d.select("id", "text") for d in extracted]).sort("id")["text"].to_list()
    quality.train(pos, pool, cfg.quality, cfg.seed, out, cfg.quality.positive_sources)
    return out


def _extract(warcs: list[str | Path], cfg: Config, source: str):
    """Extract every readable file: ([(shard, kept)], [dropped rows], [ledgers], [failed files])."""
    extracted, dropped, ledgers, failed = [], [], [], []
    names: dict[str, str] = {}
    with worker(cfg.extract) or contextlib.nullcontext() as sandbox:  # one extraction worker for every file
        for path in warcs:
            if (first := names.setdefault(shard_name(path), str(path))) != str(path):
                failed.append({"file": str(path), "error": f"{path}: same shard name as {first}, so their "
                               "document ids would collide; rename one"})
                continue
            try:
                docs, drop, led = extract_shard(source, path, cfg.extract, sandbox)
            except CorruptShard as e:
                failed.append({"file": str(path), "error": str(e)})
                continue
            except OSError as e:  # missing, unreadable: the message names the file once
                failed.append({"file": str(path), "error": f"{path}: {e.strerror or e}"})
                continue
            ledgers.append(led)
            dropped.append(_rows(drop, kept=False))
            extracted.append((shard_name(path), docs))
    return extracted, dropped, ledgers, failed


def curate(warcs: list[str | Path], cfg: Config, source: str = "crawl", quality_model: str | Path | None = None,
           out_dir: Path | None = None, root: Path | None = None) -> tuple[pl.DataFrame, Ledger]:
    """WARC files → (one decision row per WARC response record, sorted by ``doc_id``; the chain's ledger).

    ``quality_model``: a trained classifier for the ``quality`` filter; without one it is trained into
    ``out_dir/quality/model.bin``. Files that cannot be read are listed in the ledger's
    ``extra["failed_files"]`` (file, one-line error) and the others curated."""
    filters = cfg.sources[source].filters if source in cfg.sources else list(FILTERS)
    extracted, decisions, ledgers, failed = _extract(warcs, cfg, source)
    if "quality" in filters and quality_model is None and extracted:
        if out_dir is None:
            raise ValueError("curate: the quality filter needs --quality-model or an output directory to train one in")
        quality_model = train_quality([d for _, d in extracted], cfg, Path(out_dir) / "quality" / "model.bin", root)
    redacted: list[pl.DataFrame] = []
    sections = sections_of(cfg, filters)
    for shard, docs in extracted:
        tagged, led = tag(docs, filters, source, shard, quality_model, sections)
        ledgers.append(led)
        kept, rejected, led = filt.apply(tagged, filters, cfg, source, shard)
        ledgers.append(led)
        decisions.append(_rows(rejected, kept=False))
        clean, led = pii.apply(kept, cfg.pii, source, shard)
        ledgers.append(led)
        redacted.append(clean)
    if redacted:
        final, dropped, leds = local.dedup(redacted, source, cfg.dedup, cfg.minhash)
        ledgers += leds
        decisions += [_rows(d, kept=False) for d in dropped] + [_rows(final, kept=True)]
    out = pl.concat(decisions).sort("doc_id") if decisions else pl.DataFrame(schema=COLUMNS)
    return out.select(list(COLUMNS)), _total(ledgers, source, failed)
