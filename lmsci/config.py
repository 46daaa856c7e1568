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

FILTERS = ("langid", "gopher_quality", "gopher_repetition", "c4", "fineweb")
PII_TYPES = ("email", "ip", "phone")  # what lmsci.curate.pii can replace


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
    main_content: bool = True  # resiliparse main-content extraction (drops nav/header/footer)
    max_bytes: int = 5_000_000  # larger payloads are dropped as too_large (FineWeb truncates at ~1 MB)
    min_chars: int = 1  # extracted text shorter than this is dropped as empty


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
    min_sentences: int = 5  # sentences left in the lines C4 keeps; the paper drops pages with fewer than 5
    terminal_punct: bool = True  # C4 keeps only lines ending in . ! ? "; FineWeb turns this rule off
    drop_lorem_ipsum: bool = True  # C4: drop any page containing "lorem ipsum"
    drop_curly_bracket: bool = True  # C4: drop any page containing "{" (removes code)


@dataclass(frozen=True)
class FineWebConfig:
    # Penedo et al. 2024 (FineWeb), Section 3.3 / Appendix "custom filters"; ratios over non-empty lines.
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


@dataclass(frozen=True)
class TokenizerConfig:
    vocab_size: int = 4096  # byte-level BPE; 256 byte symbols + merges + the end-of-document token
    min_frequency: int = 2  # HF tokenizers BpeTrainer min_frequency
    sample_chars: int = 20_000_000  # training sample cap, taken per source in document-id order


@dataclass(frozen=True)
class SplitConfig:
    valid_fraction: float = 0.05  # documents held out per source, chosen by hash(seed, document id)


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
    }
    for key, v in positive.items():
        if v <= 0:
            fail(key, f"must be > 0 (got {v})")
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
    if t.global_batch_size % (t.micro_batch_size * t.data_parallel):
        fail("train.global_batch_size", "must be a multiple of micro_batch_size × data_parallel")
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
    return schema


SCHEMA_PATH = Path(__file__).resolve().parent.parent / "workflow" / "schemas" / "config.schema.json"


def write_schema(path: Path = SCHEMA_PATH) -> None:
    path.write_text(json.dumps(json_schema(), indent=2) + "\n")



# ----------------------------------------------------------------------------- slices

def slice_json(cfg: Config, *keys: str) -> str:
    """The named top-level sections as canonical JSON: what a rule passes to its verb (and what
    Snakemake compares to decide whether a config change must rerun that rule)."""
    return json.dumps({k: to_dict(getattr(cfg, k)) for k in keys}, sort_keys=True, separators=(",", ":"))


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
