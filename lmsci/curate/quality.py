"""Model-based quality filter as DCLM (Li et al. 2024, Sec. 4.4): a fastText classifier trained here.

DCLM ranks its pool with a fastText classifier of high-quality text (OpenHermes 2.5, ELI5) against
random RefinedWeb documents and keeps the top 10 %. Here the positives are the extracted documents
of ``quality.positive_sources`` (encyclopedic text by default) and the negatives a seeded sample of
the pool the classifier ranks: the documents of every source that lists the ``quality`` filter.

:func:`train` writes ``model.bin`` and, beside it, ``model.json``: training counts, seed,
hyperparameters, fastText version, sha256 of the model and of its training file, and the sorted
scores of the ranked pool. Trained with one thread and the config seed, the model file is
byte-identical across runs (tests/curate/test_quality.py checks it), and so are the scores — given
one fix: fastText initialises its input matrix in 10 blocks, one per training thread, so with one
thread 90 % of it is whatever the allocator returns. Fresh pages from mmap are zero; memory that
glibc recycles is not (training then differs run to run, or stops with "Encountered NaN").
:func:`_fresh_pages` makes glibc serve every allocation of >= 128 KiB from mmap before training.

Attributes (``quality_`` columns): ``score`` = P(positive); ``top`` = the share of the ranked pool
scoring strictly higher. ``top < top_fraction`` is DCLM's "keep the top fraction", with one cut-off
for every shard — a per-shard quantile would change with how the crawl is sharded. A negative the
classifier trained on scores lower than an unseen one; at DCLM's scale (a few hundred thousand of
billions) that is negligible, here it concerns up to ``negatives / pool`` of the ranked documents.
"""
from __future__ import annotations

import bisect
import ctypes
import functools
import importlib.metadata
import random
import tempfile
from pathlib import Path

from lmsci.config import QualityConfig
from lmsci.io import atomic_path, read_json, write_json
from lmsci.provenance import sha256_file

NAME = "quality"
REASONS = ("low_score", "below_top_fraction")
POSITIVE, NEGATIVE = "__label__hq", "__label__cc"
MAX_POOL_SCORES = 100_001  # beyond this, model.json stores evenly spaced quantiles of the pool's scores
M_MMAP_THRESHOLD, MMAP_THRESHOLD = -3, 128 * 1024  # glibc malloc.h; glibc's own default threshold


def line(text: str) -> str:
    """One document as one lower-cased line (fastText reads up to a newline)."""
    return " ".join(text.lower().split())


def meta_path(model: str | Path) -> Path:
    """``.../model.bin`` → ``.../model.json``."""
    return Path(model).with_suffix(".json")


def _fresh_pages() -> None:
    """glibc ``mallopt(M_MMAP_THRESHOLD, 128 KiB)``: large blocks always come zeroed from mmap (setting it
    also stops glibc raising the threshold as blocks are freed, which is what hands back dirty memory)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        raise RuntimeError("quality: training needs glibc (fastText leaves 90 % of its input matrix "
                           "uninitialised with one thread; lmsci.curate.quality)") from None
    if libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        raise RuntimeError("quality: mallopt(M_MMAP_THRESHOLD) failed; cannot train deterministically")


def _fasttext():
    import fasttext

    fasttext.FastText.eprint = lambda *a, **k: None  # silence the load-time deprecation warning
    return fasttext


def _score(model, text: str) -> float:
    labels, probs = model.predict(line(text), k=-1)
    return round(float(dict(zip(labels, probs)).get(POSITIVE, 0.0)), 6)


def _quantiles(scores: list[float]) -> list[float]:
    s = sorted(scores)
    if len(s) <= MAX_POOL_SCORES:
        return s
    step = (len(s) - 1) / (MAX_POOL_SCORES - 1)
    return [s[round(i * step)] for i in range(MAX_POOL_SCORES)]


def train(positives: list[str], pool: list[str], cfg: QualityConfig, seed: int, out: str | Path,
          positive_sources: list[str] | None = None, sampled_from: dict[str, int] | None = None) -> dict:
    """Train on ``positives`` vs a seeded sample of ``pool``; write ``out`` and its ``model.json``.

    ``pool`` must come in a fixed order (document id): the sample and the stored pool scores depend
    on it. Returns the metadata written to ``model.json``.
    """
    out = Path(out)
    positives = [t for t in positives if line(t)]
    ranked = [t for t in pool if line(t)]
    n_neg = min(len(ranked), max(1, round(len(positives) * cfg.negatives_per_positive)))
    if not positives:
        raise ValueError(f"quality: no positive documents in sources {', '.join(positive_sources or [])}; "
                         "check quality.positive_sources")
    if not ranked:
        raise ValueError("quality: no documents to sample negatives from (the sources listing `quality` are empty)")
    rng = random.Random(seed)
    negatives = [ranked[i] for i in sorted(rng.sample(range(len(ranked)), n_neg))]
    lines = [f"{POSITIVE} {line(t)}\n" for t in positives] + [f"{NEGATIVE} {line(t)}\n" for t in negatives]
    rng.shuffle(lines)  # SGD sees the classes interleaved
    ft = _fasttext()
    _fresh_pages()
    out.parent.mkdir(parents=True, exist_ok=True)
    # The training text goes to the system temp dir (TMPDIR), not beside the model: a SIGKILLed job
    # must leave nothing in results/ that Snakemake does not know to remove.
    with tempfile.TemporaryDirectory(prefix="lmsci-quality-train") as tmp:
        data = Path(tmp) / "train.txt"
        data.write_text("".join(lines), encoding="utf-8")
        model = ft.train_supervised(str(data), thread=1, seed=seed, wordNgrams=cfg.word_ngrams, epoch=cfg.epoch,
                                    lr=cfg.lr, dim=cfg.dim, bucket=cfg.bucket, minCount=1, verbose=0)
        train_sha = sha256_file(data)
    with atomic_path(out) as tmp_model:
        model.save_model(str(tmp_model))
    meta = {
        "positive_sources": list(positive_sources or []), "positives": len(positives), "negatives": n_neg,
        "pool": len(ranked), "empty_skipped": len(pool) - len(ranked), "seed": seed,
        # documents read before the quality.sample_chars sample (lmsci.sampling): pool_scores estimate the
        # quantiles of the whole pool from the sample when it is smaller
        "sampled_from": dict(sampled_from or {}),
        "hyperparameters": {"wordNgrams": cfg.word_ngrams, "epoch": cfg.epoch, "lr": cfg.lr, "dim": cfg.dim,
                            "bucket": cfg.bucket, "minCount": 1, "thread": 1, "loss": "softmax"},
        "fasttext": importlib.metadata.version("fasttext-numpy2"),
        "model_sha256": sha256_file(out), "train_sha256": train_sha,
        "pool_scores": _quantiles([_score(model, t) for t in ranked]),
    }
    write_json(meta_path(out), meta)
    return meta


@functools.lru_cache(maxsize=16)
def _sha256(path: str, inode: int, size: int, mtime_ns: int) -> str:
    """The model file's digest, once per version of the file (a rewritten file has a new inode or mtime)."""
    return sha256_file(path)


@functools.cache
def _load(path: str, sha256: str):
    model = _fasttext().load_model(path)
    return model, read_json(meta_path(path))["pool_scores"]


def scorer(path: str | Path):
    """``text → {"score", "top"}`` for a trained model (its ``model.json`` beside it)."""
    path = Path(path)
    if not path.is_file() or not meta_path(path).is_file():
        raise FileNotFoundError(f"quality model {path} (or its {meta_path(path).name}) not found; "
                                "run `lmsci train-quality` or the workflow's train_quality rule")
    st = path.stat()
    model, pool = _load(str(path), _sha256(str(path), st.st_ino, st.st_size, st.st_mtime_ns))

    def measure(text: str) -> dict[str, object]:
        s = _score(model, text)
        top = (len(pool) - bisect.bisect_right(pool, s)) / len(pool) if pool else 0.0
        return {"score": s, "top": round(top, 6)}

    return measure


def decide(a: dict[str, object], cfg: QualityConfig) -> str | None:
    if cfg.mode == "threshold":
        return "low_score" if a["score"] < cfg.threshold else None
    return "below_top_fraction" if cfg.top_fraction < 1.0 and a["top"] >= cfg.top_fraction else None
