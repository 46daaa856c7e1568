"""Config sections of the data stages: sources, extraction, language ID, PII, dedup, tokenizer,
split, quality classifier, decontamination. Each section checks its own fields in ``check()``
(run by ``__post_init__``); rules across sections live in :mod:`lmsci.config`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from lmsci.conf.base import Section, bounded, choices, fail, fraction, seed, unique

# Largest payload one record may have: fastwarc's reader.read(n) reserves n bytes up front (measured:
# 2**36 aborts the process, "memory allocation failed", on a 23 GiB box), so the bound is what every
# machine that runs lmsci can reserve; FineWeb truncates pages at ~1 MB, so 1 GiB is never binding.
MAX_BYTES = 2**30
MAX_TIMEOUT_S = 3600.0  # an hour per page; select() takes any finite float, .inf raises OverflowError
# Token ids: the .bin holds int32 ids (lmsci.tokenize.indexed), but HF tokenizers' BpeTrainer reserves
# per vocabulary slot (measured: 2**24 → +32 MB, 10**9 aborts the process); 2**20 is 4× the largest
# published vocabulary (Gemma 3: 262,144) and trains in ~20 MB.
MAX_VOCAB = 2**20
MAX_COUNT = 2**40  # counts and sizes held in int64 arithmetic or memory (chars, tokens, documents)

FILTERS = ("langid", "gopher_quality", "gopher_repetition", "c4", "fineweb", "quality")
PII_TYPES = ("email", "ip", "phone", "credit_card", "iban")  # what lmsci.curate.pii can replace


@dataclass(frozen=True)
class SourceConfig(Section):
    kind: Literal["warc", "jsonl"]  # warc: crawl shards; jsonl: one {"id","url","text"} object per line
    paths: list[str]  # one shard per file; relative to the repository root
    weight: float  # share of training tokens drawn from this source; all weights sum to 1
    filters: list[str] = field(default_factory=list)  # subset of FILTERS, applied in this order

    def check(self) -> None:
        if not self.paths:
            fail("paths", "list at least one file")
        for p in self.paths:
            if not p.strip() or "\x00" in p:
                fail("paths", f"{p!r} is not a file path; give the shard file's path")
        stems = [p.rstrip("/").rsplit("/", 1)[-1] for p in self.paths]
        unique("paths", stems)  # file names name the shards
        bounded("weight", self.weight, 0.0, 1.0, lo_open=True, fix="a share of the training tokens; remove the "
                "source instead of giving it 0")
        choices("filters", self.filters, FILTERS)


@dataclass(frozen=True)
class ExtractConfig(Section):
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

    def check(self) -> None:
        bounded("max_bytes", self.max_bytes, 1, MAX_BYTES, fix="bytes of one record's payload (1 GiB at most)")
        bounded("min_chars", self.min_chars, 0, self.max_bytes, fix="characters; at most extract.max_bytes")
        bounded("timeout_s", self.timeout_s, 0.0, MAX_TIMEOUT_S, fix="seconds per page; 0 turns the limit off")


@dataclass(frozen=True)
class LangIdConfig(Section):
    languages: list[str] = field(default_factory=lambda: ["en"])  # ISO 639-1 codes to keep
    threshold: float = 0.65  # minimum lid.176 probability; FineWeb (Penedo et al. 2024) uses 0.65
    # Per-language minimum probability overriding `threshold` (e.g. {de: 0.8}); FineWeb-2
    # (Penedo et al. 2025) sets one per language because lid scores are not comparable across them.
    thresholds: dict[str, float] = field(default_factory=dict)

    def check(self) -> None:
        from lmsci.conf.files import lid_labels

        if not self.languages:
            fail("languages", "list at least one language code to keep (e.g. [en])")
        choices("languages", self.languages, lid_labels())  # lid.176's labels: lmsci/conf/lid176.txt
        fraction("threshold", self.threshold)
        for lang, v in self.thresholds.items():
            if lang not in self.languages:
                fail(f"thresholds.{lang}", f"'{lang}' is not in langid.languages; add it there or remove this line")
            fraction(f"thresholds.{lang}", v)


@dataclass(frozen=True)
class PiiConfig(Section):
    # Replaced by typed placeholders (<EMAIL>, <IP>, <PHONE>) after the filters, before dedup.
    types: list[str] = field(default_factory=lambda: list(PII_TYPES))  # subset of PII_TYPES
    public_ips_only: bool = True  # private/loopback/documentation addresses are not personal (datatrove's default)

    def check(self) -> None:
        choices("types", self.types, PII_TYPES)


@dataclass(frozen=True)
class MinHashConfig(Section):
    # Broder 1997 MinHash + LSH banding; FineWeb (Penedo et al. 2024): 5-grams, 14 bands x 8 = 112 hashes.
    enabled: bool = True  # False: every document is kept (and still counted)
    ngram: int = 5  # words per shingle (after NFKC, lower case, whitespace collapsed)
    permutations: int = 112  # hash functions per signature; must equal bands x rows per band
    bands: int = 14  # LSH bands; a pair becomes a candidate when one band's rows all agree
    # Candidates are merged only when their signatures agree on >= this share of hashes (estimated
    # Jaccard); FineWeb targets 0.75 similarity. 0 merges every candidate (datatrove's behaviour).
    threshold: float = 0.75
    seed: int = 1  # seeds the hash permutations (datatrove's default seed)

    def check(self) -> None:
        bounded("ngram", self.ngram, 1, 1000, fix="words per shingle (FineWeb: 5)")
        bounded("bands", self.bands, 1, 1024)
        bounded("permutations", self.permutations, 1, 8192, fix="hash functions per signature (FineWeb: 112)")
        if self.permutations % self.bands:
            fail("permutations", f"must be a multiple of minhash.bands ({self.bands}): bands x rows per band")
        fraction("threshold", self.threshold)
        seed("seed", self.seed)


@dataclass(frozen=True)
class DedupConfig(Section):
    exact: bool = True  # drop documents whose normalised text hash was seen (first by document id kept)
    # Hash ranges of the file-backed exact dedup: one job per range finds duplicate groups, so a job's
    # memory depends on its range, not on the crawl (lmsci.dedup.exact).
    hash_buckets: int = 4

    def check(self) -> None:
        bounded("hash_buckets", self.hash_buckets, 1, 4096, fix="jobs of the exact dedup pass")


@dataclass(frozen=True)
class TokenizerConfig(Section):
    vocab_size: int = 4096  # byte-level BPE; 256 byte symbols + merges + the end-of-document token
    min_frequency: int = 2  # HF tokenizers BpeTrainer min_frequency
    # Training sample cap per source: the documents of lowest seeded hash of their id, the last one cut
    # (lmsci.tokenize.bpe.sample); shards are read one at a time, so it also bounds the job's memory.
    sample_chars: int = 20_000_000

    def check(self) -> None:
        bounded("vocab_size", self.vocab_size, 257, MAX_VOCAB, fix="the 256 byte symbols plus the end-of-document "
                "token are the least; 2**20 the most")
        bounded("min_frequency", self.min_frequency, 0, 2**32 - 1, fix="pair occurrences (HF BpeTrainer)")
        bounded("sample_chars", self.sample_chars, 1, MAX_COUNT, fix="characters per source")


@dataclass(frozen=True)
class TokenizeConfig(Section):
    # Each curated shard is tokenized into its own .bin/.idx pair per split; merge: true also merges a
    # source's shards into one pair per split (megatron's IndexedDatasetBuilder.add_index).
    merge: bool = False


@dataclass(frozen=True)
class SplitConfig(Section):
    valid_fraction: float = 0.05  # documents held out per source, chosen by hash(seed, document id)

    def check(self) -> None:
        bounded("valid_fraction", self.valid_fraction, 0.0, 1.0, lo_open=True, hi_open=True,
                fix="some documents must be held out and some trained on")


@dataclass(frozen=True)
class QualityConfig(Section):
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
    # Training text cap per class (positives; the pool negatives and the score quantiles come from): the
    # documents of lowest seeded hash of their id (lmsci.sampling), whole; shards are read one at a time,
    # so it bounds the job's memory at crawl scale (DCLM trains its fastText on ~400k documents).
    sample_chars: int = 50_000_000

    def check(self) -> None:
        unique("positive_sources", self.positive_sources)
        bounded("sample_chars", self.sample_chars, 1, MAX_COUNT, fix="characters per class")
        bounded("negatives_per_positive", self.negatives_per_positive, 0.0, 1000.0, lo_open=True)
        bounded("top_fraction", self.top_fraction, 0.0, 1.0, lo_open=True)
        fraction("threshold", self.threshold)
        bounded("word_ngrams", self.word_ngrams, 1, 10)
        bounded("epoch", self.epoch, 1, 10_000)
        bounded("lr", self.lr, 0.0, 10.0, lo_open=True)
        bounded("dim", self.dim, 1, 1024)
        bounded("bucket", self.bucket, 1, 2**24)
        if self.dim * self.bucket < 32_768:  # lmsci.curate.quality: the input matrix must be >= 128 KiB
            fail("bucket", "dim x bucket must be >= 32768 (a smaller fastText matrix cannot be trained "
                 "deterministically)")
        if self.dim * self.bucket > 2**28:  # 4 bytes each: the model file and its memory stay <= 1 GiB
            fail("bucket", "dim x bucket must be <= 2**28 (a 1 GiB fastText matrix); lower dim or bucket")


@dataclass(frozen=True)
class DecontamConfig(Section):
    # Brown et al. 2020 (GPT-3), Appendix C: a training document sharing a 13-gram (lower-cased word
    # tokens) with an evaluation text is contaminated. Here the evaluation texts are every source's
    # held-out (valid) documents, which validation perplexity and the local lm-eval tasks come from,
    # plus extra_paths; a contaminated training document is dropped whole (GPT-3 cut out the span).
    enabled: bool = True
    ngram: int = 13
    min_overlaps: int = 1  # distinct shared n-grams that make a document contaminated
    # Benchmark texts to add: .jsonl(.gz) (each object's "text") or .txt (blank-line separated texts).
    extra_paths: list[str] = field(default_factory=list)

    def check(self) -> None:
        bounded("ngram", self.ngram, 1, 1000, fix="words per n-gram (GPT-3: 13)")
        bounded("min_overlaps", self.min_overlaps, 1, MAX_COUNT)
        unique("extra_paths", self.extra_paths)
        for p in self.extra_paths:
            if not p.endswith((".jsonl", ".jsonl.gz", ".txt")):
                fail("extra_paths", f"{p}: expected a .jsonl, .jsonl.gz or .txt file")


