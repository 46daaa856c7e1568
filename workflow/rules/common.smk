# Validate the config once (schema generated from lmsci/config.py; unknown keys rejected) and
# define the path helpers every rule uses. Rules only wire files and call `python -m lmsci <verb>`.
import os
import sys

sys.path.insert(0, workflow.basedir)

from lmsci import config as lmsci_config
from lmsci.crawl.documents import shard_name
from lmsci.closure import verb_version
from lmsci.crawl.remote import is_url
from lmsci.report import cost as lmsci_cost

try:  # the check `lmsci run` makes, on the files re-read strictly (lmsci.config.from_workflow)
    CFG = lmsci_config.from_workflow(workflow)
except lmsci_config.ConfigError as err:
    sys.exit(f"lmsci: config error: {err}")

# Benchmark files (the report's cost) sample each job every 0.1 s, not Snakemake's 0.5 s then 30 s.
lmsci_cost.sample_benchmarks_every()

R = CFG.results
SOURCES = sorted(CFG.sources)
SHARD_PATHS = {s: {shard_name(p): p for p in CFG.sources[s].paths} for s in SOURCES}


def cfg(*keys):
    """JSON of the config sections a job reads; a change reruns exactly the jobs that read it."""
    return lmsci_config.slice_json(CFG, *keys)


def bench(rule, wildcards=""):
    """Snakemake's own benchmark file for a job (wall, CPU with children, max RSS): the report's cost."""
    return f"{R}/benchmarks/{rule}/{wildcards}.tsv" if wildcards else f"{R}/benchmarks/{rule}.tsv"


def shards(source):
    return sorted(SHARD_PATHS[source])


def shard_path(wildcards):
    """A shard's path or URL as the config lists it."""
    return SHARD_PATHS[wildcards.source][wildcards.shard]


def extract_input(wildcards):
    """A local shard is extract's input file; a URL (s3://, gs://, https://) is none: the job streams it."""
    return [] if is_url(shard_path(wildcards)) else [shard_path(wildcards)]


def source_kind(wildcards):
    return CFG.sources[wildcards.source].kind


def per_shard(pattern, source):
    return [pattern.format(R=R, source=source, shard=sh) for sh in shards(source)]


LEDGER_STAGES = ("extract", "tag", "filter", "pii", "dedup", "minhash", "tokens")  # every per-shard stage


def ledger_files():
    return [f for s in SOURCES for st in LEDGER_STAGES
            for f in per_shard(f"{{R}}/{st}/{{source}}/{{shard}}.stats.json", s)]


def token_ledgers():
    return [f for s in SOURCES for f in per_shard("{R}/tokens/{source}/{shard}.stats.json", s)]


def quality_positives():
    return [f for s in CFG.quality.positive_sources if s in SOURCES
            for f in per_shard("{R}/extract/{source}/{shard}.parquet", s)]


def quality_negatives():
    return [f for s in SOURCES if "quality" in CFG.sources[s].filters
            for f in per_shard("{R}/extract/{source}/{shard}.parquet", s)]


def tag_inputs(wildcards):
    """The shard, plus the trained classifier when the source lists `quality`, plus the C4 bad-words list."""
    src = CFG.sources[wildcards.source]
    out = {"docs": f"{R}/extract/{wildcards.source}/{wildcards.shard}.parquet"}
    if "quality" in src.filters:
        out |= {"model": f"{R}/quality/model.bin", "meta": f"{R}/quality/model.json"}
    if "c4" in src.filters and CFG.c4.bad_words_file:
        out["bad_words"] = CFG.c4.bad_words_file
    return out


def tag_options(wildcards, input):
    """Optional flags as a list, so the shell line quotes each element."""
    out = ["--quality-model", input.model] if "model" in input.keys() else []
    return out + (["--c4-bad-words", input.bad_words] if "bad_words" in input.keys() else [])


def filter_list(wildcards):
    return ",".join(CFG.sources[wildcards.source].filters)


def tag_cfg(wildcards):
    """What measuring depends on (never a threshold): re-thresholding reruns `filter`, not `tag`."""
    return lmsci_config.measure_json(CFG, CFG.sources[wildcards.source].filters)


def filter_cfg(wildcards):
    return cfg(*CFG.sources[wildcards.source].filters)


def band_files(source):
    """One MinHash edge file per LSH band, each written by its own minhash_buckets job (--bands B)."""
    return [f"{R}/minhash/{source}/buckets/band-{b:03d}.parquet" for b in range(CFG.minhash.bands)]


def dedup_list(source, kind):
    """The dedup plane's cross-shard inputs of a source: per shard (`hashes`, `signatures`), per hash range
    (`groups`, dedup.hash_buckets of them) or per LSH band (`bands`)."""
    if kind == "groups":
        return [f"{R}/dedup/{source}/groups/bucket-{b:03d}.parquet" for b in range(CFG.dedup.hash_buckets)]
    if kind == "bands":
        return band_files(source)
    return per_shard({"hashes": "{R}/dedup/{source}/hashes/{shard}.parquet",
                      "signatures": "{R}/minhash/{source}/signatures/{shard}.parquet"}[kind], source)


def dedup_files(kind):
    """Input function: dedup_list of the job's source."""
    def files(wildcards):
        return dedup_list(wildcards.source, kind)
    return files


def minhash_kept(source):
    """A source's curated documents, one file per shard: what tokenize reads."""
    return per_shard("{R}/minhash/{source}/{shard}.parquet", source)


def token_files():
    """Every train/valid .bin/.idx the blend lists: one pair per split per curated shard, or with
    tokenize.merge one per source (tokens/<source>/merged/); the train and evaluate rules' input."""
    dirs = [f"{R}/tokens/{s}/merged" for s in SOURCES] if CFG.tokenize.merge else [
        f"{R}/tokens/{s}/{sh}" for s in SOURCES for sh in shards(s)]
    return [f"{d}/{split}.{ext}" for d in dirs for split in ("train", "valid") for ext in ("bin", "idx")]


def curated_files():
    """Every curated shard: what the tokenizer sample, split fallback and decontam index read."""
    return [f for s in SOURCES for f in minhash_kept(s)]


def tokenize_inputs(wildcards):
    out = {"docs": f"{R}/minhash/{wildcards.source}/{wildcards.shard}.parquet",
           "tokenizer": f"{R}/tokenizer/tokenizer.json", "split": f"{R}/heldout/split.json"}
    return out | ({"index": f"{R}/heldout/ngrams.npy"} if CFG.decontam.enabled else {})


def tokenize_index_option(wildcards, input):
    return ["--index", input.index] if "index" in input.keys() else []


def merge_inputs(wildcards):
    """A source's shard lineages (in merge order) and datasets, for merge_tokens."""
    dirs = per_shard("{R}/tokens/{source}/{shard}", wildcards.source)
    return {"lineage": [f"{d}/documents.parquet" for d in dirs],
            "tokens": [f"{d}/{sp}.{x}" for d in dirs for sp in ("train", "valid") for x in ("bin", "idx")]}


def curated_targets():
    return [f for s in SOURCES for f in per_shard("{R}/pii/{source}/{shard}.parquet", s)]


def token_targets():
    return [f"{R}/mix/blend.json"]


def train_dir(wildcards, input):
    """train_model's --out-dir (checkpoints/, checkpoint/): the directory of its summary."""
    return os.path.dirname(input.summary)


def train_targets():
    """The run's (or a recipe's combined) training outputs, and each recipe stage's published checkpoints."""
    stages = [f"{R}/train/stages/{st.name}/published" for st in CFG.train.stages]
    return [f"{R}/train/train_summary.json", f"{R}/train/published"] + stages


def report_targets():
    return [f"reports/{CFG.run}/report.md", f"reports/{CFG.run}/report.html"]
