"""Config sections of the data stages: sources, extraction, language ID, PII, dedup, tokenizer,
split, quality classifier, decontamination. Each section checks its own fields in ``check()``
(run by ``__post_init__``); rules across sections live in :mod:`lmsci.config`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import ConfigError, Section

FILTERS = ("langid", "gopher_quality", "gopher_repetition", "c4", "fineweb", "quality")
PII_TYPES = ("email", "ip", "phone", "credit_card", "iban")  # what lmsci.curate.pii can replace


@dataclass(frozen=True)
class SourceConfig:
    kind: Literal["warc", "jsonl"]  # warc: crawl shards; jsonl: one {"id","url","text"} object per line
    paths: list[str]  # one shard per file; relative to the repository root
    weight: float  # share of training tokens drawn from this source; all weights sum to 1
    filters: list[str] = field(default_factory=list)  # subset of FILTERS, applied in this order


@dataclass(frozen=True)
class ExtractConfig:
    # resiliparse (DCLM's extractor, Li et al. 2024) or trafilatura (FineWeb's, Penedo et al. 2024).
    extractor: Literal["resiliparse", "trafilatura"] = "resiliparse"
    main_content: bool = True  # resiliparse main-content extraction (drops nav/header/footer); trafilatura always
    max_bytes: int = 5_000_000  # larger payloads are dropped as too_large (FineWeb truncates at ~1 MB)
    min_chars: int = 1  # extracted text shorter than this is dropped as empty
    # Seconds per page, else dropped as extract_timeout; 0: no limit, extracted in-process. datatrove's
    # extractors use 0.1 s; 5 s leaves ordinary pages (~10 ms) far from the limit on a loaded machine,
    # so the kept set does not depend on machine speed, and still stops the pathological page.
    timeout_s: float = 5.0
    # A damaged record or shard (Content-Length past the end, truncated gzip tail): count drops it
    # as extract/truncated (file and byte offset in dropped.parquet) and keeps every readable record;
    # fail stops the shard with one line naming file and offset.
    on_corrupt: Literal["count", "fail"] = "count"


@dataclass(frozen=True)
class LangIdConfig:
    languages: list[str] = field(default_factory=lambda: ["en"])  # ISO 639-1 codes to keep
    threshold: float = 0.65  # minimum lid.176 probability; FineWeb (Penedo et al. 2024) uses 0.65
    # Per-language minimum probability overriding `threshold` (e.g. {de: 0.8}); FineWeb-2
    # (Penedo et al. 2025) sets one per language because lid scores are not comparable across them.
    thresholds: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class PiiConfig:
    # Replaced by typed placeholders (<EMAIL>, <IP>, <PHONE>) after the filters, before dedup.
    types: list[str] = field(default_factory=lambda: list(PII_TYPES))  # subset of PII_TYPES
    public_ips_only: bool = True  # private/loopback/documentation addresses are not personal (datatrove's default)


@dataclass(frozen=True)
class MinHashConfig:
    # Broder 1997 MinHash + LSH banding; FineWeb (Penedo et al. 2024): 5-grams, 14 bands x 8 = 112 hashes.
    enabled: bool = True  # False: every document is kept (and still counted)
    ngram: int = 5  # words per shingle (after NFKC, lower case, whitespace collapsed)
    permutations: int = 112  # hash functions per signature; must equal bands x rows per band
    bands: int = 14  # LSH bands; a pair becomes a candidate when one band's rows all agree
    # Candidates are merged only when their signatures agree on >= this share of hashes (estimated
    # Jaccard); FineWeb targets 0.75 similarity. 0 merges every candidate (datatrove's behaviour).
    threshold: float = 0.75
    seed: int = 1  # seeds the hash permutations (datatrove's default seed)


@dataclass(frozen=True)
class DedupConfig:
    exact: bool = True  # drop documents whose normalised text hash was seen (first by document id kept)
    # Hash ranges of the file-backed exact dedup: one job per range finds duplicate groups, so a job's
    # memory depends on its range, not on the crawl (lmsci.dedup.exact).
    hash_buckets: int = 4


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 4096  # byte-level BPE; 256 byte symbols + merges + the end-of-document token
    min_frequency: int = 2  # HF tokenizers BpeTrainer min_frequency
    sample_chars: int = 20_000_000  # training sample cap, taken per source in document-id order


@dataclass(frozen=True)
class TokenizeConfig:
    # Each curated shard is tokenized into its own .bin/.idx pair per split; merge: true also merges a
    # source's shards into one pair per split (megatron's IndexedDatasetBuilder.add_index).
    merge: bool = False


@dataclass(frozen=True)
class SplitConfig:
    valid_fraction: float = 0.05  # documents held out per source, chosen by hash(seed, document id)


@dataclass(frozen=True)
class QualityConfig:
    # Model-based quality filter as DCLM (Li et al. 2024, Sec. 4.4): a fastText classifier trained in
    # the workflow (results/quality/model.bin) on positives from these sources' extracted documents
    # against a seeded sample of the documents it ranks (those of every source listing `quality`).
    positive_sources: list[str] = field(default_factory=lambda: ["wiki"])
    negatives_per_positive: float = 1.0  # DCLM trains on balanced classes
    # top_fraction: keep documents in the top `top_fraction` of the ranked pool's scores (DCLM keeps
    # the top 10 %); threshold: keep documents whose P(positive) >= `threshold` (0.5: the
    # classifier's own decision boundary).
    mode: Literal["threshold", "top_fraction"] = "top_fraction"
    top_fraction: float = 0.1
    threshold: float = 0.5
    # fastText (Joulin et al. 2017): word bigrams as DCLM's classifier; 25 epochs as fastText's tutorial
    # suggests for small training sets (its lr 1.0 scores the same here as 0.5); dim and bucket kept
    # small so the model file is ~16 MB, not fastText's ~800 MB default.
    word_ngrams: int = 2
    epoch: int = 25
    lr: float = 0.5
    dim: int = 32
    bucket: int = 65_536


@dataclass(frozen=True)
class DecontamConfig:
    # Brown et al. 2020 (GPT-3), Appendix C: a training document sharing a 13-gram (lower-cased word
    # tokens) with an evaluation text is contaminated. Here the evaluation texts are every source's
    # held-out (valid) documents, which validation perplexity and the local lm-eval tasks come from,
    # plus extra_paths; a contaminated training document is dropped whole (GPT-3 cut out the span).
    enabled: bool = True
    ngram: int = 13
    min_overlaps: int = 1  # distinct shared n-grams that make a document contaminated
    # Benchmark texts to add: .jsonl(.gz) (each object's "text") or .txt (blank-line separated texts).
    extra_paths: list[str] = field(default_factory=list)


