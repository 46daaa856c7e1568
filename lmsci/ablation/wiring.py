"""Paths and input functions of workflow/rules/ablation.smk (kept out of the .smk: Snakemake's linter
wants rules and functions apart, and these are testable without a workflow). Every function takes the
run's config first (bound with ``functools.partial`` in the .smk) and a job's wildcards.

Outputs: ``<results>/ablation/`` holds ``eval/`` (the evaluation set), ``<variant>/data/<stage>/...`` (the
data a variant makes itself), ``<variant>/<seed>/`` (one training run: train/, scores.parquet, export/,
lm_eval.json) and ``benchmarks/<rule>/<variant>/...`` (cost, apart from the run's own benchmarks).
"""
from __future__ import annotations

from lmsci import config as C
from lmsci.ablation import plan
from lmsci.ablation import variants as V
from lmsci.crawl.documents import shard_name

REPORT_DIR = "reports/ablation"


def base(cfg: C.Config) -> str:
    return f"{cfg.results}/ablation"


def shards(cfg: C.Config, source: str) -> list[str]:
    return sorted(shard_name(p) for p in cfg.sources[source].paths)


def variant_cfg(cfg: C.Config, name: str) -> C.Config:
    return V.all_configs(cfg)[name]


def bench(cfg: C.Config, rule: str, wildcards: str = "") -> str:
    return f"{base(cfg)}/benchmarks/{rule}/{wildcards}.tsv" if wildcards else f"{base(cfg)}/benchmarks/{rule}.tsv"


def data(cfg: C.Config, stage: str) -> str:
    """Output pattern prefix of a variant's own ``stage`` outputs."""
    return f"{base(cfg)}/{{variant}}/data/{stage}"


# ----------------------------------------------------------------------------- evaluation set

def eval_dir(cfg: C.Config) -> str:
    return f"{base(cfg)}/eval"


def eval_tokens(cfg: C.Config) -> list[str]:
    return [f"{eval_dir(cfg)}/tokens/{s}/valid{x}" for s in sorted(cfg.sources) for x in (".bin", ".idx")]


def extracted(cfg: C.Config) -> list[str]:
    """Every extracted shard (shared by all variants: extraction is never a variant's)."""
    return [f"{cfg.results}/extract/{s}/{sh}.parquet" for s in sorted(cfg.sources) for sh in shards(cfg, s)]


# ----------------------------------------------------------------------------- curation

def slice_of(cfg: C.Config, *keys: str):
    """Params function: the variant's config slice (what its rule passes as --cfg)."""
    def fn(wildcards):
        return C.slice_json(variant_cfg(cfg, wildcards.variant), *keys)
    return fn


def filters_cfg(cfg: C.Config, wildcards) -> str:
    v = variant_cfg(cfg, wildcards.variant)
    return C.slice_json(v, *v.sources[wildcards.source].filters)


def measure_cfg(cfg: C.Config, wildcards) -> str:
    v = variant_cfg(cfg, wildcards.variant)
    return C.measure_json(v, v.sources[wildcards.source].filters)


def filter_list(cfg: C.Config, wildcards) -> str:
    return ",".join(variant_cfg(cfg, wildcards.variant).sources[wildcards.source].filters)


def quality_inputs(cfg: C.Config, wildcards) -> dict[str, list[str]]:
    v = variant_cfg(cfg, wildcards.variant)
    ext = f"{cfg.results}/extract"
    return {"positives": [f"{ext}/{s}/{sh}.parquet" for s in v.quality.positive_sources if s in v.sources
                          for sh in shards(cfg, s)],
            "negatives": [f"{ext}/{s}/{sh}.parquet" for s in sorted(v.sources) if "quality" in v.sources[s].filters
                          for sh in shards(cfg, s)]}


def tag_inputs(cfg: C.Config, wildcards) -> dict[str, str]:
    v = variant_cfg(cfg, wildcards.variant)
    src = v.sources[wildcards.source]
    out = {"docs": f"{cfg.results}/extract/{wildcards.source}/{wildcards.shard}.parquet"}
    if "quality" in src.filters:
        q = plan.where(cfg, wildcards.variant, "quality")
        out |= {"model": f"{q}/quality/model.bin", "meta": f"{q}/quality/model.json"}
    if "c4" in src.filters and v.c4.bad_words_file:
        out["bad_words"] = v.c4.bad_words_file
    return out


def upstream(cfg: C.Config, stage: str, name: str):
    """Input function: the per-shard output ``name`` (e.g. ``tag/{source}/{shard}.parquet``) of ``stage``,
    from the variant that owns it."""
    def fn(wildcards):
        d = plan.where(cfg, wildcards.variant, stage, wildcards.source)
        return f"{d}/" + name.format(source=wildcards.source, shard=wildcards.shard)
    return fn


def own_list(cfg: C.Config, kind: str):
    """Input function: a variant's own cross-shard dedup inputs (it owns the stage: it runs this job)."""
    def fn(wildcards):
        v = variant_cfg(cfg, wildcards.variant)
        d, s = f"{base(cfg)}/{wildcards.variant}/data", wildcards.source
        if kind == "hashes":
            return [f"{d}/dedup/{s}/hashes/{sh}.parquet" for sh in shards(cfg, s)]
        if kind == "groups":
            return [f"{d}/dedup/{s}/groups/bucket-{b:03d}.parquet" for b in range(v.dedup.hash_buckets)]
        if kind == "signatures":
            return [f"{d}/minhash/{s}/signatures/{sh}.parquet" for sh in shards(cfg, s)]
        return [f"{d}/minhash/{s}/buckets/band-{b:03d}.parquet" for b in range(v.minhash.bands)]
    return fn


# ----------------------------------------------------------------------------- tokens, mix, runs

def tokenize_inputs(cfg: C.Config, wildcards) -> dict[str, str]:
    d = plan.where(cfg, wildcards.variant, "minhash", wildcards.source)
    out = {"docs": f"{d}/minhash/{wildcards.source}/{wildcards.shard}.parquet",
           "tokenizer": f"{cfg.results}/tokenizer/tokenizer.json", "heldout": f"{eval_dir(cfg)}/documents.parquet"}
    return out | ({"index": f"{eval_dir(cfg)}/ngrams.npy"} if cfg.decontam.enabled else {})


def token_dirs(cfg: C.Config, variant: str) -> list[str]:
    return [f"{plan.where(cfg, variant, 'tokens', s)}/tokens/{s}/{sh}" for s in sorted(cfg.sources)
            for sh in shards(cfg, s)]


def mix_inputs(cfg: C.Config, wildcards) -> dict[str, list[str] | str]:
    dirs = token_dirs(cfg, wildcards.variant)
    return {"stats": [f"{d}.stats.json" for d in dirs], "tokenizer": f"{cfg.results}/tokenizer/tokenizer.json",
            "eval_blend": f"{eval_dir(cfg)}/blend.json"}


def blend(cfg: C.Config, variant: str) -> str:
    return f"{plan.where(cfg, variant, 'mix')}/mix/blend.json"


def train_inputs(cfg: C.Config, wildcards) -> dict[str, list[str] | str]:
    dirs = token_dirs(cfg, wildcards.variant)
    return {"blend": blend(cfg, wildcards.variant), "tokens": [f"{d}/train{x}" for d in dirs for x in (".bin", ".idx")]}


def run_slice(cfg: C.Config, *keys: str):
    """Params function: one training run's slice (the variant's config with the run's seed)."""
    def fn(wildcards):
        return C.slice_json(V.seeded(variant_cfg(cfg, wildcards.variant), int(wildcards.seed)), *keys)
    return fn


def runs(cfg: C.Config) -> list[str]:
    """``<variant>/<seed>`` of every training run, baseline first."""
    return [f"{n}/{s}" for n in V.names(cfg) for s in cfg.ablation.seeds]


def report_inputs(cfg: C.Config) -> dict[str, list[str]]:
    b = base(cfg)
    out = {"scores": [f"{b}/{r}/scores.parquet" for r in runs(cfg)],
           "metrics": [f"{b}/{r}/train/metrics.jsonl" for r in runs(cfg)],
           "blends": [blend(cfg, n) for n in V.names(cfg)],
           "tokens": [f"{d}.stats.json" for n in V.names(cfg) for d in token_dirs(cfg, n)],
           "eval": [f"{eval_dir(cfg)}/blend.json"]}
    if cfg.ablation.lm_eval:
        out["lm_eval"] = [f"{b}/{r}/lm_eval.json" for r in runs(cfg)]
    return out


def targets(cfg: C.Config) -> list[str]:
    """What ``snakemake ablation`` builds (nothing without an ablation)."""
    return [f"{REPORT_DIR}/report.md", f"{REPORT_DIR}/report.html"] if cfg.ablation.variants else []
