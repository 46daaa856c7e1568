# Validate the config once (schema generated from lmsci/config.py; unknown keys rejected) and
# define the path helpers every rule uses. Rules only wire files and call `python -m lmsci <verb>`.
import os
import sys

sys.path.insert(0, workflow.basedir)

from lmsci import config as lmsci_config
from lmsci.crawl.documents import shard_name
from lmsci.closure import verb_version
from lmsci.provenance import code_version

try:
    CFG = lmsci_config.from_dict(config, root=workflow.basedir)
except lmsci_config.ConfigError as err:
    sys.exit(f"lmsci: config error: {err}")

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


def per_shard(pattern, source):
    return [pattern.format(R=R, source=source, shard=sh) for sh in shards(source)]


def ledger_files():
    per_shard_stages = [
        f for s in SOURCES for st in ("extract", "tag", "filter", "pii") for f in per_shard(f"{{R}}/{st}/{{source}}/{{shard}}.stats.json", s)
    ]
    per_source = [f"{R}/{st}/{s}/stats.json" for st in ("dedup", "minhash", "tokens") for s in SOURCES]
    return per_shard_stages + per_source


def band_files(source):
    """One MinHash edge file per LSH band, each written by its own minhash_buckets job (--bands B)."""
    return [f"{R}/minhash/{source}/buckets/band-{b:03d}.parquet" for b in range(CFG.minhash.bands)]


def curated_targets():
    return [f for s in SOURCES for f in per_shard("{R}/pii/{source}/{shard}.parquet", s)]


def token_targets():
    return [f"{R}/mix/blend.json"]


def train_targets():
    return [f"{R}/train/train_summary.json"]


def report_targets():
    return [f"reports/{CFG.run}/report.md", f"reports/{CFG.run}/report.html"]
