"""The ablation's one evaluation set, built before any filter and independent of every variant.

Documents are held out from the shared extraction outputs (``<results>/extract``: no filter has run)
by a seeded hash of their id — ``unit(seed, "ablation-eval:" + id) < eval_fraction``, the lowest
``eval_max_documents`` hashes per source — so no variant can change them. They are tokenized with the
run's one tokenizer (``eval/tokens/<source>/valid.{bin,idx}``, listed as the ``valid`` entries of
``eval/blend.json``: what scoring and lm-eval's local tasks read) and indexed for decontamination
(``eval/ngrams.npy``, the run's ``decontam`` n-grams). Every variant's tokenize job drops these
documents by id (``ablation/heldout``) and, like the main run's, any training document that shares
an n-gram with them (``decontam/contaminated``), so the set stays out of every variant's training data.
"""
from __future__ import annotations

from pathlib import Path

import polars as pl

from lmsci.io import write_json, write_parquet
from lmsci.tokenize import split

SALT = "ablation-eval:"  # a hash independent of the main run's train/valid split (same seed, other ids)
COLUMNS = ["id", "source", "url", "text"]


def held_out(ids: list[str], seed: int, fraction: float) -> list[bool]:
    return [split.unit(seed, SALT + i) < fraction for i in ids]


def choose(paths: list[str | Path], seed: int, fraction: float, max_documents: int) -> pl.DataFrame:
    """The evaluation documents of every extracted shard: per source the lowest-hash ones under
    ``fraction``, at most ``max_documents``; sorted by (source, id). Any sharding gives the same set."""
    frames = []
    for p in sorted(map(str, paths)):
        df = pl.read_parquet(p, columns=COLUMNS)
        frames.append(df.filter(pl.Series(held_out(df["id"].to_list(), seed, fraction), dtype=pl.Boolean)))
    if not frames:
        raise ValueError("ablation evaluation set: no extracted shard given")
    df = pl.concat(frames)
    df = df.with_columns(pl.Series("u", [split.unit(seed, SALT + i) for i in df["id"].to_list()], dtype=pl.Float64))
    df = df.sort(["source", "u", "id"]).group_by("source", maintain_order=True).head(max_documents)
    if df.is_empty():
        raise ValueError(f"ablation evaluation set is empty: no document hashed under ablation.eval_fraction "
                         f"{fraction}; raise it")
    return df.drop("u").sort(["source", "id"])


def build(paths: list[str | Path], tokenizer: str | Path, seed: int, fraction: float, max_documents: int,
          document_tokens: int, seq_length: int, decontam, out_dir: str | Path) -> dict:
    """Write documents.parquet, tokens/<source>/valid.{bin,idx} (each document's first ``document_tokens``
    tokens, then EOD), blend.json and (with ``decontam.enabled``) ngrams.npy under ``out_dir``; returns the
    blend. The n-gram index holds the whole documents: what training must not see."""
    from lmsci.curate.decontam import write_index
    from lmsci.tokenize import fast, indexed
    from lmsci.tokenize.bpe import eod_id, load

    out_dir = Path(out_dir)
    docs = choose(paths, seed, fraction, max_documents)
    tok = load(tokenizer)
    eod, vocab = eod_id(tok), tok.get_vocab_size()
    ids = [t[:document_tokens] + [eod] for t in fast.encode_batch(tokenizer, docs["text"].to_list())]
    docs = docs.with_columns(pl.Series("tokens", [len(t) for t in ids], dtype=pl.Int64))
    valid = []
    for (source,), part in docs.with_row_index("row").group_by(["source"], maintain_order=True):
        prefix = out_dir / "tokens" / source / "valid"
        indexed.write(prefix, (ids[r] for r in part["row"].to_list()), vocab)
        valid.append({"source": source, "prefixes": [str(prefix)], "documents": part.height,
                      "tokens": int(part["tokens"].sum())})
    write_parquet(out_dir / "documents.parquet", docs)
    if decontam.enabled:
        write_index(docs["text"].to_list(), decontam, out_dir / "ngrams.npy")
    blend = {"vocab_size": vocab, "eod": eod, "seq_length": seq_length, "seed": seed, "train": [], "valid": valid}
    write_json(out_dir / "blend.json", blend)
    return blend
