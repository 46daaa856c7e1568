"""The typed config tree: one frozen dataclass per section, validated once.

Defaults < YAML (``config.yaml`` plus overlays, read by :mod:`lmsci.yamlio`) — unknown keys are
rejected, every error is one line that names the key and the fix. The sections live in
:mod:`lmsci.conf` and check their own fields; this module builds the tree, checks the rules that
span sections and the files the config names, and generates the JSON schema Snakemake validates
against (``workflow/schemas/config.schema.json``; a test fails if the committed file drifts).
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lmsci import yamlio
from lmsci.conf import files
from lmsci.conf.ablation import AblationConfig
from lmsci.conf.base import ConfigError, FieldError, fail, seed, show
from lmsci.conf.data import (
    FILTERS, PII_TYPES, DecontamConfig, DedupConfig, ExtractConfig, LangIdConfig, MinHashConfig, PiiConfig,
    QualityConfig, SourceConfig, SplitConfig, TokenizeConfig, TokenizerConfig,
)
from lmsci.conf.filters import C4Config, FineWebConfig, GopherQualityConfig, GopherRepetitionConfig
from lmsci.conf.model import EvaluateConfig, ModelConfig, SweepConfig, SweepModelConfig, check_layout
from lmsci.conf.train import TrainConfig

__all__ = [
    "FILTERS", "PII_TYPES", "ConfigError", "FieldError", "Config", "SourceConfig", "ExtractConfig", "LangIdConfig",
    "GopherQualityConfig", "GopherRepetitionConfig", "C4Config", "FineWebConfig", "PiiConfig", "MinHashConfig",
    "DedupConfig", "TokenizerConfig", "TokenizeConfig", "SplitConfig", "QualityConfig", "DecontamConfig",
    "ModelConfig", "TrainConfig", "EvaluateConfig", "SweepModelConfig", "SweepConfig",
    "from_dict", "from_workflow", "load", "read_yaml", "merge", "to_dict", "digest", "json_schema", "write_schema",
    "slice_json", "measure_json", "langid_first", "parse_slice",
]


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
    results: str = "results"  # root of every intermediate artifact: inside the project, or an absolute path
    gopher_repetition: GopherRepetitionConfig = field(default_factory=GopherRepetitionConfig)
    c4: C4Config = field(default_factory=C4Config)
    fineweb: FineWebConfig = field(default_factory=FineWebConfig)
    pii: PiiConfig = field(default_factory=PiiConfig)
    minhash: MinHashConfig = field(default_factory=MinHashConfig)
    quality: QualityConfig = field(default_factory=QualityConfig)
    decontam: DecontamConfig = field(default_factory=DecontamConfig)
    tokenize: TokenizeConfig = field(default_factory=TokenizeConfig)
    sweep: SweepConfig = field(default_factory=SweepConfig)
    ablation: AblationConfig = field(default_factory=AblationConfig)  # data variants (lmsci.ablation)


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
    bad = ConfigError(f"config key '{show(key)}': expected {_type_name(tp)}, got {show(repr(value))[:80]}; "
                      "fix the value in the config file")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise bad
        return _build(tp, value, key)
    if tp is dict:  # a free mapping its section checks itself (ablation.variants' overlays)
        if not isinstance(value, dict):
            raise bad
        return value
    if origin is Literal:
        if isinstance(value, bool) or value not in typing.get_args(tp):
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
            raise ConfigError(f"config key '{show(key)}': expected a non-empty mapping, got {show(repr(value))[:80]}")
        for k in value:
            if not isinstance(k, str):
                raise ConfigError(f"config key '{show(key)}.{show(repr(k))}': keys must be names (strings)")
        return {k: _coerce(v, item, f"{key}.{k}") for k, v in value.items()}
    simple = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    if tp in simple:
        if (isinstance(value, bool) and tp is not bool) or not isinstance(value, simple[tp]):
            raise bad
        return float(value) if tp is float else value
    raise TypeError(f"unsupported config type {tp} at {key}")  # a bug in this module, not in the config


def _build(cls: type, data: dict, prefix: str = "") -> Any:
    if cls is ModelConfig and data.get("preset"):
        data = _with_preset(data, prefix)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for k in data:
        if k not in fields:
            where = show(f"{prefix}.{k}" if prefix else k)
            near = difflib.get_close_matches(str(k), fields, n=1)
            hint = f"did you mean '{near[0]}'? " if near else "remove it or fix its spelling; "
            raise ConfigError(f"unknown config key '{where}'; {hint}allowed here: {', '.join(fields)}")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], key)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required config key '{show(key)}'; add it to the config file")
    try:
        return cls(**kwargs)
    except FieldError as e:  # a section's own check names the field; name it from the top
        raise e.under(show(prefix)) from None


def _with_preset(data: dict, prefix: str) -> dict:
    """``model:`` with its preset's shape under the explicitly given fields."""
    from lmsci.conf.presets import PRESETS

    name = data["preset"]
    if name not in PRESETS:
        raise ConfigError(f"config key '{prefix}.preset': unknown preset {show(repr(name))}; choose from "
                          f"{', '.join(PRESETS)}")
    return {**PRESETS[name], **data}


def _check(cfg: Config, root: Path | None) -> None:
    """The rules that span sections (each section has checked its own fields when it was made)."""
    files.output_root("results", cfg.results, root, absolute_ok=True)
    files.output_root("run", cfg.run, root, absolute_ok=False)
    seed("seed", cfg.seed)
    total = math.fsum(s.weight for s in cfg.sources.values())
    if abs(total - 1.0) > 1e-6:
        fail("sources.*.weight", f"weights sum to {total:g}; make them sum to 1")
    for name in cfg.sources:
        if not name.isidentifier() or not name.isascii():
            fail(f"sources.{show(name)}", "source names must be identifiers (letters, digits, _)")
    q = cfg.quality
    if any("quality" in src.filters for src in cfg.sources.values()):
        if not q.positive_sources:
            fail("quality.positive_sources", "list at least one source of positive (high-quality) documents")
        for name in q.positive_sources:
            if name not in cfg.sources:
                fail("quality.positive_sources", f"unknown source '{show(name)}'; choose from {', '.join(cfg.sources)}")
            if "quality" in cfg.sources[name].filters:
                fail("quality.positive_sources", f"source '{name}' lists the quality filter it would train")
    m, t = cfg.model, cfg.train
    if m.num_attention_heads % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide model.num_attention_heads {m.num_attention_heads}")
    if 128 % t.tensor_parallel:  # lmsci.train.adapter.VOCAB_MULTIPLE: the padded vocab is split over TP
        fail("train.tensor_parallel", "must divide 128 (the vocabulary is padded to a multiple of 128)")
    if m.num_query_groups % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide num_query_groups {m.num_query_groups}")
    if m.ffn_hidden_size % t.tensor_parallel:
        fail("train.tensor_parallel", f"must divide model.ffn_hidden_size {m.ffn_hidden_size}")
    check_layout(m, t.tensor_parallel, t.expert_parallel)  # MoE experts over TP / EP (lmsci.conf.model)
    if m.num_layers % t.pipeline_parallel:
        fail("train.pipeline_parallel", f"must divide model.num_layers {m.num_layers}")
    if m.num_layers % (t.pipeline_parallel * t.virtual_pipeline):
        fail("train.virtual_pipeline", f"pipeline_parallel × virtual_pipeline must divide model.num_layers {m.num_layers}")
    if t.micro_batch_size * m.seq_length > MAX_MICRO_TOKENS:
        fail("train.micro_batch_size", f"micro_batch_size × model.seq_length = {t.micro_batch_size * m.seq_length:,} "
             f"tokens per micro-batch exceeds {MAX_MICRO_TOKENS:,}; lower it (gradient accumulation covers the rest)")
    if cfg.sweep.models or cfg.sweep.tokens:
        _check_sweep(cfg)
    if cfg.ablation.variants:
        from lmsci.ablation.variants import check as check_ablation
        check_ablation(cfg, root)
    if t.stages:
        from lmsci.conf.train import check_stages
        check_stages(cfg, _check)
    if root is not None and t.init_from and not (root / t.init_from).is_dir():
        fail("train.init_from", f"directory not found: {show(t.init_from)}; point at an lmsci checkpoint or a "
             "Hugging Face model directory")
    if root is not None:
        _check_files(cfg, root)


# Tokens in one micro-batch: its activations must fit one accelerator (Llama 3 405B trains 16 × 8,192 =
# 131,072 tokens per micro-batch on H100s; 2**20 leaves 8× room and stops a typo of 1e6 sequences).
MAX_MICRO_TOKENS = 2**20


def _check_files(cfg: Config, root: Path) -> None:
    """The files the config names exist and are what it says (read before the first job)."""
    for name, src in cfg.sources.items():
        for p in src.paths:
            if "://" in p:  # remote shards are read as streams by lmsci.crawl.remote
                if why := files.remote_missing(p):
                    fail(f"sources.{name}.paths", f"{why}; fix the URL or the credentials/endpoint in the environment")
                continue
            if not (root / p).is_file():
                fail(f"sources.{name}.paths", f"file not found: {show(p)}; fix the path or build it")
            files.peek_kind(f"sources.{name}.paths", root / p, src.kind)
    if cfg.c4.bad_words_file:
        if not (root / cfg.c4.bad_words_file).is_file():
            fail("c4.bad_words_file", f"file not found: {show(cfg.c4.bad_words_file)}; point at a newline-separated "
                 "word list (e.g. your copy of LDNOOBW's 'en') or set it to \"\"")
        files.text_file("c4.bad_words_file", root / cfg.c4.bad_words_file)
    for p in cfg.decontam.extra_paths:
        if not (root / p).is_file():
            fail("decontam.extra_paths", f"file not found: {show(p)}; fix the path")
        files.text_file("decontam.extra_paths", root / p, jsonl=".jsonl" in p)


def _check_sweep(cfg: Config) -> None:
    from lmsci.conf.sweep import run_config, tokens_per_step

    sw = cfg.sweep
    if not sw.models or not sw.tokens:
        fail("sweep", "list both sweep.models and sweep.tokens (or neither: no sweep)")
    if len(sw.models) < 2 or len(sw.tokens) < 2 or len(sw.models) * len(sw.tokens) < 5:
        fail("sweep", f"L(N, D) has 5 constants: list >= 2 models and >= 2 token budgets, >= 5 runs in all "
             f"(got {len(sw.models)} × {len(sw.tokens)})")
    per_step = tokens_per_step(cfg.model, cfg.train)
    for t in sw.tokens:
        if t % per_step:
            fail("sweep.tokens", f"{t} is not a positive multiple of the {per_step} tokens per step "
                 "(train.global_batch_size × model.seq_length)")
    for i, m in enumerate(sw.models):
        for t in sw.tokens:
            try:
                model, train = run_config(cfg.model, cfg.train, sw, m.name, t)
                _check(dataclasses.replace(cfg, model=model, train=train, sweep=SweepConfig()), None)
            except ConfigError as e:
                fail(f"sweep.models[{i}]", f"run {m.name}/{t}: {e}")


def from_dict(data: dict, root: Path | str | None = None) -> Config:
    """Build and check a :class:`Config`; ``root`` (repository root) enables the file checks."""
    if not isinstance(data, dict):
        raise ConfigError(f"config: expected a mapping of keys at the top level, got a {type(data).__name__}")
    for k in data:
        if k in yamlio.EVALUATED_KEYS:
            raise ConfigError(f"config key '{k}': YTE templates are evaluated as code; lmsci configs are plain data")
    cfg = _build(Config, data)
    _check(cfg, Path(root) if root is not None else None)
    return cfg


def load(*paths: str | Path, root: Path | str | None = None) -> Config:
    """Load YAML files (later ones override earlier ones, section by section) into a Config."""
    return from_dict(merge(*(read_yaml(p) for p in paths)), root=root)


def from_workflow(workflow: Any) -> Config:
    """The Snakefile's check (common.smk): every config file re-read with lmsci's strict reader, merged
    as Snakemake merges them, then :func:`from_dict` — the same check ``lmsci run`` makes first.

    Snakemake has already parsed these files with its own loader by now (and evaluates YTE templates
    while doing so, before any Snakefile line runs); re-reading them refuses what that loader lets
    through — duplicate keys, YTE, non-UTF-8 — before any rule is defined or any job starts.
    """
    settings = workflow.config_settings
    cli_files = [Path(p) for p in settings.configfiles]
    own = [Path(p) for p in workflow.configfiles if Path(p).absolute() not in {f.absolute() for f in cli_files}]
    files_in_order = ([] if getattr(settings, "replace_workflow_config", False) else own) + cli_files
    data = merge(*(read_yaml(p) for p in files_in_order), dict(getattr(settings, "config", None) or {}))
    return from_dict(data, root=workflow.basedir)


def read_yaml(path: str | Path) -> dict:
    """One config file, strictly (lmsci.yamlio: duplicate keys, YTE, non-UTF-8 refused with file:line)."""
    return yamlio.read(path)


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
    if tp is dict:
        return {"type": "object"}
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
# threshold-only change must rerun `filter` and what follows, never `tag`; and langid's `languages`
# when langid_first.
MEASURE_FIELDS = ("impl",)


def langid_first(filters: list[str]) -> bool:
    """langid is the first filter: tag measures beyond it only the pages detected in one of
    ``langid.languages`` (the others are dropped as langid/other_language whatever they measure)."""
    return bool(filters) and filters[0] == "langid"


def measure_json(cfg: Config, filters: list[str]) -> str:
    """The measuring part of the named filters' sections, as canonical JSON for `tag`'s --cfg."""
    out = {}
    for f in filters:
        section = to_dict(getattr(cfg, f, None)) or {}
        fields = ("languages",) if f == "langid" and langid_first(filters) else MEASURE_FIELDS
        if picked := {k: v for k, v in section.items() if k in fields}:
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
