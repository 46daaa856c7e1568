"""The typed config tree: one frozen dataclass per section, validated once.

Defaults < YAML (``config.yaml`` plus overlays) — unknown keys are rejected, every
error is one line that names the key and the fix. The JSON schema that Snakemake
validates against (``workflow/schemas/config.schema.json``) is generated from these
classes by :func:`json_schema`; a test fails if the committed file drifts.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

FILTERS = ("langid", "gopher_quality", "gopher_repetition", "c4", "fineweb", "quality")
PII_TYPES = ("email", "ip", "phone", "credit_card", "iban")  # what lmsci.curate.pii can replace


class ConfigError(ValueError):
    """A bad config: ``str()`` is one line naming the key and the fix."""


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
class GopherQualityConfig:
    # Rae et al. 2021 (Gopher / MassiveText), Appendix A.1.1 "quality filters".
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_doc_words: int = 50
    max_doc_words: int = 100_000
    min_avg_word_length: float = 3.0
    max_avg_word_length: float = 10.0
    max_symbol_word_ratio: float = 0.1  # '#' and '...' per word
    max_bullet_lines_ratio: float = 0.9  # lines starting with a bullet
    max_ellipsis_lines_ratio: float = 0.3  # lines ending with an ellipsis
    min_alpha_words_ratio: float = 0.8  # words containing at least one letter
    min_stop_words: int = 2  # of: the, be, to, of, and, that, have, with


@dataclass(frozen=True)
class GopherRepetitionConfig:
    # Rae et al. 2021 (Gopher / MassiveText), Appendix A, Table A1 "repetition removal".
    # Fractions in [0, 1]; "char" fractions are over the characters of the document's words.
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    max_dup_para_frac: float = 0.30  # paragraphs ("\n\n"-separated) that repeat an earlier one
    max_dup_para_char_frac: float = 0.20  # characters in those repeated paragraphs
    max_dup_line_frac: float = 0.30  # lines that repeat an earlier line
    max_dup_line_char_frac: float = 0.20  # characters in those repeated lines
    max_top_2gram_char_frac: float = 0.20  # characters covered by the most frequent word 2-gram
    max_top_3gram_char_frac: float = 0.18
    max_top_4gram_char_frac: float = 0.16
    max_dup_5gram_char_frac: float = 0.15  # characters covered by word 5-grams that occur more than once
    max_dup_6gram_char_frac: float = 0.14
    max_dup_7gram_char_frac: float = 0.13
    max_dup_8gram_char_frac: float = 0.12
    max_dup_9gram_char_frac: float = 0.11
    max_dup_10gram_char_frac: float = 0.10


@dataclass(frozen=True)
class C4Config:
    # Raffel et al. 2020 (T5), Section 2.2 "Colossal Clean Crawled Corpus"; line rules as in
    # datatrove's C4QualityFilter (terminal punctuation, >= 3 words, javascript and policy lines).
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_sentences: int = 5  # sentences left in the lines C4 keeps; the paper drops pages with fewer than 5
    terminal_punct: bool = True  # C4 keeps only lines ending in . ! ? "; FineWeb turns this rule off
    drop_lorem_ipsum: bool = True  # C4: drop any page containing "lorem ipsum"
    drop_curly_bracket: bool = True  # C4: drop any page containing "{" (removes code)
    # Newline-separated words or phrases; a page containing any (whole words, any case) is dropped.
    # C4 used the LDNOOBW English list ("List of Dirty, Naughty, Obscene or Otherwise Bad Words");
    # it is not bundled and never downloaded: point at your copy (relative to the repository root).
    bad_words_file: str = ""  # "": no bad-words rule


@dataclass(frozen=True)
class FineWebConfig:
    # Penedo et al. 2024 (FineWeb), Section 3.3 / Appendix "custom filters"; ratios over non-empty lines.
    # datatrove: the decisions of datatrove 0.10.1 (FineWeb's published ablations were made with it);
    # paper: the paper's reading where the two differ (each difference in the filter's docstring).
    impl: Literal["datatrove", "paper"] = "datatrove"
    min_line_punct_ratio: float = 0.12  # drop if lines ending in terminal punctuation are <= this share
    # Drop if characters in lines that repeat an earlier line are >= this share. The paper's value;
    # datatrove's FineWebQualityFilter defaults to 0.01, which would drop most short help pages here.
    max_dup_line_char_ratio: float = 0.1
    max_short_line_ratio: float = 0.67  # drop if lines of <= 30 characters are >= this share


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


@dataclass(frozen=True)
class ModelConfig:
    # Llama-style GPT: RMSNorm, SwiGLU, RoPE, GQA (num_query_groups < num_attention_heads).
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_query_groups: int
    ffn_hidden_size: int
    seq_length: int
    tie_embeddings: bool = False
    rotary_base: int = 10_000  # Llama 1/2 (Touvron et al. 2023)
    norm_epsilon: float = 1e-5  # Llama 2
    init_method_std: float = 0.02  # GPT-2 / Megatron default
    # A published shape (lmsci.train.presets: Pythia, Biderman et al. 2023; Llama 3.2 1B; Llama 2 7B)
    # that fills the fields above; fields given explicitly override it. "" = every field explicit.
    preset: Literal["", "tiny", "pythia-160m", "pythia-410m", "pythia-1b", "llama-1b", "llama-7b"] = ""


@dataclass(frozen=True)
class TrainConfig:
    steps: int
    micro_batch_size: int
    global_batch_size: int
    lr: float
    warmup_steps: int
    min_lr_ratio: float = 0.1  # cosine decay to 10 % of peak (Llama 2, Touvron et al. 2023)
    weight_decay: float = 0.1  # Llama 2
    adam_beta1: float = 0.9  # Llama 2
    adam_beta2: float = 0.95  # Llama 2
    adam_eps: float = 1e-8
    clip_grad: float = 1.0  # Llama 2
    tensor_parallel: int = 1
    pipeline_parallel: int = 1
    data_parallel: int = 1
    # SLURM: nodes to spread the tensor × pipeline × data-parallel ranks over (srun + torchrun,
    # lmsci.train.launch) and GPUs per node, one rank each (0: CPU ranks over gloo).
    nodes: int = 1
    gpus_per_node: int = 0
    # Model chunks per pipeline rank: > 1 is megatron's interleaved 1F1B schedule (Narayanan et al.
    # 2021, §2.2: the bubble shrinks by this factor for that many times the p2p traffic); 1 = plain 1F1B.
    virtual_pipeline: int = 1
    # megatron's DistributedOptimizer (ZeRO-1: Adam state sharded over data-parallel ranks); lmsci
    # fixes its resume without Apex/TE (lmsci.train.adapter, /work/shared/notes/megatron-cpu.md).
    use_distributed_optimizer: bool = False
    log_interval: int = 10
    # Checkpoints after these optimizer steps (Pythia, Biderman et al. 2023: 1, 2, 4, …, 512, then
    # every 1000): powers of two up to checkpoint_log_max (0: none), every checkpoint_interval
    # steps (0: none), any listed in checkpoint_steps, and always the last step. Intermediate ones
    # land in <out>/checkpoints/step_NNNNNNN/, the last in <out>/checkpoint/.
    checkpoint_log_max: int = 512
    checkpoint_interval: int = 1000
    checkpoint_steps: list[int] = field(default_factory=list)
    # Resuming from a checkpoint made on other data (blend, tokenizer, seq_length) fails unless True.
    allow_data_change: bool = False
    # Peak dense throughput in TFLOP/s of one accelerator, for MFU (H100 SXM bf16: 989). On CPU all
    # ranks share one machine and this is the machine's: the default is the 2-core AVX-512 reference
    # box, 2 cores × 2.0 GHz × 64 fp32 FLOPs/cycle (2 FMA units × 16 lanes × 2) = 0.256.
    peak_tflops: float = 0.256
    # A step whose loss is more than loss_spike_zscore standard deviations above the mean of the
    # previous loss_spike_window steps logs a warning (0 disables).
    loss_spike_window: int = 50
    loss_spike_zscore: float = 4.0

    @property
    def world_size(self) -> int:
        return self.tensor_parallel * self.pipeline_parallel * self.data_parallel


@dataclass(frozen=True)
class EvaluateConfig:
    max_tokens: int = 200_000  # validation tokens scored per source
    # Per source at every saved checkpoint (eval/checkpoints.json): the same first tokens of each valid
    # set at each step, as Pythia evaluates its 154 checkpoints on fixed sets (Biderman et al. 2023, §3);
    # smaller than max_tokens (and capped by it) because the default run saves 9 checkpoints and scores
    # them all on CPU.
    checkpoint_max_tokens: int = 8192
    # Items per local lm-eval task (eval/lm_eval.json, in the report); 0 scores every item. The tasks are
    # built from held-out documents (lmsci.evaluate.tasks: 200 per source and task).
    lm_eval_limit: int = 0


@dataclass(frozen=True)
class SweepModelConfig:
    # One model shape of the scaling sweep; the other `model` fields (seq_length, norm, RoPE) are shared.
    name: str  # an identifier; runs land in <results>/sweep/<name>/<tokens>/
    num_layers: int
    hidden_size: int
    num_attention_heads: int
    num_query_groups: int
    ffn_hidden_size: int


@dataclass(frozen=True)
class SweepConfig:
    # The scaling-law sweep (`snakemake sweep`, configs/sweep.yaml; lmsci.scaling): one run per
    # model × token budget, trained like `train` but for tokens / (global_batch_size × seq_length)
    # steps, scored with `evaluate`, then L(N, D) = E + A/N^α + B/D^β fitted (Hoffmann et al. 2022).
    models: list[SweepModelConfig] = field(default_factory=list)  # empty: no sweep
    tokens: list[int] = field(default_factory=list)  # training tokens of a run; multiples of the tokens per step
    warmup_fraction: float = 0.1  # warmup steps / steps of a run (config.yaml's train: 30 of 300)
    target_flops: float = 5.76e23  # C for the compute-optimal N, D: Gopher's budget (Hoffmann et al. 2022, Sec. 3.4)
    resamples: int = 200  # bootstrap resamples of the runs (seeded by `seed`) for the confidence intervals
    ci_level: float = 0.95  # percentile interval
    isoflop_rtol: float = 0.1  # runs whose 6·N·D agree within this share form one IsoFLOP budget


@dataclass(frozen=True)
class Config:
    run: str  # reports land in reports/<run>/
    seed: int
    sources: dict[str, SourceConfig]
    extract: ExtractConfig
    langid: LangIdConfig
    gopher_quality: GopherQualityConfig
    dedup: DedupConfig
    tokenizer: TokenizerConfig
    split: SplitConfig
    model: ModelConfig
    train: TrainConfig
    evaluate: EvaluateConfig
    results: str = "results"  # root of every intermediate artifact
    gopher_repetition: GopherRepetitionConfig = field(default_factory=GopherRepetitionConfig)
    c4: C4Config = field(default_factory=C4Config)
    fineweb: FineWebConfig = field(default_factory=FineWebConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)


# ----------------------------------------------------------------------------- parsing

def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, typing.get_args(tp)))
    if origin in (list, dict):
        return origin.__name__
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    bad = ConfigError(f"config key '{key}': expected {_type_name(tp)}, got {value!r}; fix the value in the config file")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad
        return _build(tp, value, key)
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise bad
        return value
    if origin is list:
        (item,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise bad
        return [_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, item = typing.get_args(tp)
        if not isinstance(value, dict) or (not value and key == "sources"):
            raise ConfigError(f"config key '{key}': expected a non-empty mapping, got {value!r}")
        return {str(k): _coerce(v, item, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise bad
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad
        return value
    raise TypeError(f"unsupported config type {tp} at {key}")  # a bug in this module, not in the config


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    if cls is ModelConfig and data.get("preset"):
        data = _with_preset(data, prefix)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            where = f"'{prefix}.{k}'" if prefix else f"'{k}'"
            raise ConfigError(f"unknown config key {where}; allowed here: {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required config key '{key}'; add it to the config file")
    return cls(**kwargs)


def _with_preset(data: dict, prefix: str) -> dict:
    """``model:`` with its preset's shape under the explicitly given fields."""
    from lmsci.train.presets import PRESETS  # plain data, no torch

    name = data["preset"]
    if name not in PRESETS:
        raise ConfigError(f"config key '{prefix}.preset': unknown preset {name!r}; choose from {', '.join(PRESETS)}")
    return {**PRESETS[name], **data}


def _check(cfg: Config, root: Path | None) -> None:
    def fail(key: str, msg: str) -> None:
        raise ConfigError(f"config key '{key}': {msg}")

    total = sum(s.weight for s in cfg.sources.values())
    if abs(total - 1.0) > 1e-6:
        fail("sources.*.weight", f"weights sum to {total:g}; make them sum to 1")
    for name, src in cfg.sources.items():
        if not name.isidentifier():
            fail(f"sources.{name}", "source names must be identifiers (letters, digits, _)")
        if src.weight <= 0:
            fail(f"sources.{name}.weight", f"must be > 0 (got {src.weight:g}); remove the source instead")
        if not src.paths:
            fail(f"sources.{name}.paths", "list at least one file")
        for f in src.filters:
            if f not in FILTERS:
                fail(f"sources.{name}.filters", f"unknown filter '{f}'; choose from {', '.join(FILTERS)}")
        stems = [Path(p).name for p in src.paths]
        if len(set(stems)) != len(stems):
            fail(f"sources.{name}.paths", "file names must be unique (they name the shards)")
        if root is not None:
            for p in src.paths:
                if not (root / p).is_file():
                    fail(f"sources.{name}.paths", f"file not found: {p}; fix the path or build it")
    positive = {
        "extract.max_bytes": cfg.extract.max_bytes, "tokenizer.vocab_size": cfg.tokenizer.vocab_size,
        "model.num_layers": cfg.model.num_layers, "model.hidden_size": cfg.model.hidden_size,
        "model.num_attention_heads": cfg.model.num_attention_heads,
        "model.num_query_groups": cfg.model.num_query_groups, "model.ffn_hidden_size": cfg.model.ffn_hidden_size,
        "model.seq_length": cfg.model.seq_length, "train.steps": cfg.train.steps,
        "train.micro_batch_size": cfg.train.micro_batch_size, "train.global_batch_size": cfg.train.global_batch_size,
        "train.lr": cfg.train.lr, "train.tensor_parallel": cfg.train.tensor_parallel,
        "train.pipeline_parallel": cfg.train.pipeline_parallel, "train.data_parallel": cfg.train.data_parallel,
        "train.log_interval": cfg.train.log_interval, "evaluate.max_tokens": cfg.evaluate.max_tokens,
        "evaluate.checkpoint_max_tokens": cfg.evaluate.checkpoint_max_tokens,
    }
    for key, v in positive.items():
        if v <= 0:
            fail(key, f"must be > 0 (got {v})")
    bad = Path(cfg.c4.bad_words_file)
    if cfg.c4.bad_words_file and (root is not None or bad.is_absolute()):  # relative: checked against root
        if not (root / bad if root is not None else bad).is_file():
            fail("c4.bad_words_file", f"file not found: {cfg.c4.bad_words_file}; point at a newline-separated "
                 "word list (e.g. your copy of LDNOOBW's 'en') or set it to \"\"")
    if cfg.extract.timeout_s < 0:
        fail("extract.timeout_s", f"must be >= 0 (got {cfg.extract.timeout_s:g}); 0 turns the limit off")
    if not 0.0 <= cfg.langid.threshold <= 1.0:
        fail("langid.threshold", "must be a probability in [0, 1]")
    for lang, v in cfg.langid.thresholds.items():
        if not 0.0 <= v <= 1.0:
            fail(f"langid.thresholds.{lang}", "must be a probability in [0, 1]")
    for t in cfg.pii.types:
        if t not in PII_TYPES:
            fail("pii.types", f"unknown type '{t}'; choose from {', '.join(PII_TYPES)}")
    mh = cfg.minhash
    if mh.ngram <= 0 or mh.bands <= 0 or mh.permutations <= 0 or mh.permutations % mh.bands:
        fail("minhash.permutations", f"must be a positive multiple of minhash.bands ({mh.bands}); ngram must be > 0")
    if not 0.0 <= mh.threshold <= 1.0:
        fail("minhash.threshold", "must be in [0, 1]")
    if not 0.0 < cfg.split.valid_fraction < 1.0:
        fail("split.valid_fraction", "must be in (0, 1)")
    q = cfg.quality
    if any("quality" in src.filters for src in cfg.sources.values()):
        for name in q.positive_sources:
            if name not in cfg.sources:
                fail("quality.positive_sources", f"unknown source '{name}'; choose from {', '.join(cfg.sources)}")
            if "quality" in cfg.sources[name].filters:
                fail("quality.positive_sources", f"source '{name}' lists the quality filter it would train")
        if not q.positive_sources:
            fail("quality.positive_sources", "list at least one source of positive (high-quality) documents")
    if not 0.0 < q.top_fraction <= 1.0:
        fail("quality.top_fraction", "must be in (0, 1]")
    if not 0.0 <= q.threshold <= 1.0:
        fail("quality.threshold", "must be a probability in [0, 1]")
    if q.negatives_per_positive <= 0 or min(q.word_ngrams, q.epoch, q.dim, q.bucket) <= 0 or q.lr <= 0:
        fail("quality", "negatives_per_positive, word_ngrams, epoch, lr, dim and bucket must be > 0")
    if q.dim * q.bucket < 32_768:  # lmsci.curate.quality: the input matrix must be >= 128 KiB (fresh pages)
        fail("quality.bucket", "dim x bucket must be >= 32768 (a smaller fastText matrix cannot be trained "
             "deterministically)")
    d = cfg.decontam
    if d.ngram <= 0 or d.min_overlaps <= 0:
        fail("decontam.ngram", f"ngram and min_overlaps must be > 0 (got {d.ngram}, {d.min_overlaps})")
    for p in d.extra_paths:
        if not p.endswith((".jsonl", ".jsonl.gz", ".txt")):
            fail("decontam.extra_paths", f"{p}: expected a .jsonl, .jsonl.gz or .txt file")
        if root is not None and not (root / p).is_file():
            fail("decontam.extra_paths", f"file not found: {p}; fix the path")
    if cfg.tokenizer.vocab_size < 257:
        fail("tokenizer.vocab_size", "must exceed the 256 byte symbols plus the end-of-document token")
    m, t = cfg.model, cfg.train
    if m.hidden_size % m.num_attention_heads:
        fail("model.num_attention_heads", f"must divide hidden_size {m.hidden_size}")
    if m.num_attention_heads % m.num_query_groups:
        fail("model.num_query_groups", f"must divide num_attention_heads {m.num_attention_heads}")
    if m.num_attention_heads % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide model.num_attention_heads {m.num_attention_heads}")
    if 128 % t.tensor_parallel:  # lmsci.train.adapter.VOCAB_MULTIPLE: the padded vocab is split over TP
        fail("train.tensor_parallel", "must divide 128 (the vocabulary is padded to a multiple of 128)")
    if m.num_query_groups % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide num_query_groups {m.num_query_groups}")
    if m.ffn_hidden_size % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide model.ffn_hidden_size {m.ffn_hidden_size}")
    if m.num_layers % t.pipeline_parallel:
        fail("train.pipeline_parallel", f"must divide model.num_layers {m.num_layers}")
    if t.nodes < 1 or t.world_size % t.nodes:
        fail("train.nodes", f"must be >= 1 and divide tensor × pipeline × data parallel = {t.world_size}")
    if t.gpus_per_node not in (0, t.world_size // t.nodes):
        fail("train.gpus_per_node", f"must be 0 (CPU) or the ranks per node, {t.world_size // t.nodes} (one per GPU)")
    if t.global_batch_size % (t.micro_batch_size * t.data_parallel):
        fail("train.global_batch_size", "must be a multiple of micro_batch_size × data_parallel")
    if t.virtual_pipeline < 1 or (t.virtual_pipeline > 1 and t.pipeline_parallel == 1):
        fail("train.virtual_pipeline", "must be 1, or > 1 only with train.pipeline_parallel > 1 (interleaved 1F1B)")
    if m.num_layers % (t.pipeline_parallel * t.virtual_pipeline):
        fail("train.virtual_pipeline", f"pipeline_parallel × virtual_pipeline must divide model.num_layers {m.num_layers}")
    micro = t.global_batch_size // (t.micro_batch_size * t.data_parallel)
    if t.virtual_pipeline > 1 and micro % t.pipeline_parallel:  # megatron's microbatch_group_size_per_vp_stage
        fail("train.virtual_pipeline", f"interleaving needs micro-batches per step ({micro}) to be a multiple of "
             f"pipeline_parallel ({t.pipeline_parallel}); raise global_batch_size or lower micro_batch_size")
    if not 0 <= t.warmup_steps < t.steps:
        fail("train.warmup_steps", f"must be in [0, steps={t.steps})")
    if not 0.0 <= t.min_lr_ratio <= 1.0:
        fail("train.min_lr_ratio", "must be in [0, 1]")
    for key in ("checkpoint_log_max", "checkpoint_interval", "loss_spike_window"):
        if getattr(t, key) < 0:
            fail(f"train.{key}", f"must be >= 0 (0 disables; got {getattr(t, key)})")
    if any(not 0 < s <= t.steps for s in t.checkpoint_steps):
        fail("train.checkpoint_steps", f"every step must be in [1, steps={t.steps}]")
    if t.peak_tflops <= 0:
        fail("train.peak_tflops", "must be > 0 (TFLOP/s of one accelerator; 0.256 for the reference CPU)")
    if t.loss_spike_zscore <= 0:
        fail("train.loss_spike_zscore", "must be > 0 (set train.loss_spike_window: 0 to disable)")
    if cfg.sweep.models or cfg.sweep.tokens:
        _check_sweep(cfg, fail)


def _check_sweep(cfg: Config, fail) -> None:
    from lmsci.scaling.grid import run_config, tokens_per_step  # config only, no torch

    sw = cfg.sweep
    if not sw.models or not sw.tokens:
        fail("sweep", "list both sweep.models and sweep.tokens (or neither: no sweep)")
    if len(sw.models) < 2 or len(sw.tokens) < 2 or len(sw.models) * len(sw.tokens) < 5:
        fail("sweep", f"L(N, D) has 5 constants: list >= 2 models and >= 2 token budgets, >= 5 runs in all "
             f"(got {len(sw.models)} × {len(sw.tokens)})")
    names = [m.name for m in sw.models]
    if len(set(names)) != len(names) or not all(n.isidentifier() for n in names):
        fail("sweep.models", f"names must be unique identifiers (letters, digits, _); got {names}")
    per_step = tokens_per_step(cfg.model, cfg.train)
    for t in sw.tokens:
        if t <= 0 or t % per_step:
            fail("sweep.tokens", f"{t} is not a positive multiple of the {per_step} tokens per step "
                 "(train.global_batch_size × model.seq_length)")
    if len(set(sw.tokens)) != len(sw.tokens):
        fail("sweep.tokens", "budgets must be distinct")
    if not 0.0 <= sw.warmup_fraction < 1.0:
        fail("sweep.warmup_fraction", "must be in [0, 1)")
    if sw.target_flops <= 0 or sw.resamples <= 0 or not 0.0 < sw.ci_level < 1.0 or sw.isoflop_rtol < 0:
        fail("sweep", "target_flops and resamples must be > 0, ci_level in (0, 1), isoflop_rtol >= 0")
    for i, m in enumerate(sw.models):
        for t in sw.tokens:
            try:
                model, train = run_config(cfg.model, cfg.train, sw, m.name, t)
                _check(dataclasses.replace(cfg, model=model, train=train, sweep=SweepConfig()), None)
            except ConfigError as e:
                fail(f"sweep.models[{i}]", f"run {m.name}/{t}: {e}")


def from_dict(data: dict, root: Path | str | None = None) -> Config:
    """Build and check a :class:`Config`; ``root`` (repository root) enables file checks."""
    if not isinstance(data, dict):
        raise ConfigError("config: expected a mapping at the top level")
    cfg = _build(Config, data)
    _check(cfg, Path(root) if root is not None else None)
    return cfg


def load(*paths: str | Path, root: Path | str | None = None) -> Config:
    """Load YAML files (later ones override earlier ones, section by section) into a Config."""
    return from_dict(merge(*(read_yaml(p) for p in paths)), root=root)


def read_yaml(path: str | Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"config file {path} is not valid YAML: {str(e).splitlines()[0]}") from None
    return data or {}


def merge(*dicts: dict) -> dict:
    """Recursive dict merge (Snakemake's semantics for several --configfile)."""
    out: dict = {}
    for d in dicts:
        for k, v in d.items():
            out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def to_dict(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return dataclasses.asdict(obj) if dataclasses.is_dataclass(obj) else obj


def digest(obj: Any) -> str:
    """sha256 (16 hex) of a config slice in canonical JSON: names what an output was made with."""
    blob = json.dumps(to_dict(obj), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------- schema

def _schema(tp: Any) -> dict:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        props, required = {}, []
        for f in dataclasses.fields(tp):
            props[f.name] = _schema(hints[f.name])
            if f.default is not dataclasses.MISSING:
                props[f.name]["default"] = f.default
            elif f.default_factory is not dataclasses.MISSING:
                props[f.name]["default"] = to_dict(f.default_factory())
            else:
                required.append(f.name)
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}
    if origin is Literal:
        return {"enum": list(typing.get_args(tp))}
    if origin is list:
        return {"type": "array", "items": _schema(typing.get_args(tp)[0])}
    if origin is dict:
        return {"type": "object", "additionalProperties": _schema(typing.get_args(tp)[1])}
    simple = {bool: "boolean", int: "integer", float: "number", str: "string"}
    if tp in simple:
        return {"type": simple[tp]}
    raise TypeError(f"no schema for {tp}")


def json_schema() -> dict:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "lmsci config", **_schema(Config)}
    schema["properties"]["sources"]["minProperties"] = 1
    model = schema["properties"]["model"]  # a preset supplies the shape; seq_length is always explicit
    model["anyOf"] = [{"required": ["preset"]}, {"required": [k for k in model["required"] if k != "seq_length"]}]
    model["required"] = ["seq_length"]
    return schema


SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.json"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2) + "\n")



# ----------------------------------------------------------------------------- slices

def slice_json(cfg: Config, *keys: str) -> str:
    """The named top-level sections as canonical JSON: what a rule passes to its verb (and what
    Snakemake compares to decide whether a config change must rerun that rule)."""
    return json.dumps({k: to_dict(getattr(cfg, k)) for k in keys}, sort_keys=True, separators=(",", ":"))


# Fields of a filter section that change what `tag` measures (not what `filter` decides): a
# threshold-only change must rerun `filter` and what follows, never `tag`.
MEASURE_FIELDS = ("impl",)


def measure_json(cfg: Config, filters: list[str]) -> str:
    """The measuring part of the named filters' sections, as canonical JSON for `tag`'s --cfg."""
    out = {}
    for f in filters:
        section = to_dict(getattr(cfg, f, None)) or {}
        if picked := {k: v for k, v in section.items() if k in MEASURE_FIELDS}:
            out[f] = picked
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


def parse_slice(blob: str) -> dict[str, Any]:
    """Inverse of :func:`slice_json`: section name → typed section."""
    try:
        data = json.loads(blob)
    except ValueError as e:
        raise ConfigError(f"--cfg is not valid JSON: {e}") from None
    hints = typing.get_type_hints(Config)
    return {k: _coerce(v, hints[k], k) if k in hints else _unknown(k) for k, v in data.items()}


def _unknown(key: str) -> Any:
    raise ConfigError(f"unknown config key '{key}'")
