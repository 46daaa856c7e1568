"""What the run cost, from Snakemake's own benchmark files, and what a Common Crawl snapshot would take.

Every rule has a ``benchmark:`` file, ``{results}/benchmarks/<rule>/<wildcards>.tsv`` (common.smk's
``bench``), with Snakemake's columns (https://snakemake.readthedocs.io, "Benchmark rules"): ``s`` (wall
seconds), ``cpu_time`` (user + system CPU seconds of the job's whole process tree — lmsci's extraction
worker included), ``max_rss`` (peak resident MiB of the tree). Snakemake *samples* the tree (every second
for the first 30 s of a job, then every 30 s), so ``cpu_time`` misses the tail after the last sample
and any child that lives shorter than a sample: it is a lower bound, tight for long jobs, loose for
jobs of a few seconds. ``make bench-scale`` measures how much it misses (scale.json: ``coverage``).

The projection is linear in WARC records for the data-plane rules (extract → tokenize: per shard, or
partitioned by hash range or band, so their work grows with the crawl); rules whose work does not grow
with the crawl (tokenizer and quality-model training on a bounded sample, model training, evaluation,
the report) are listed as measured, not projected. With ``reports/bench/scale.json`` present, the
per-record figures come from the largest ``make bench-scale`` crawl rather than from this run.
"""
from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from lmsci.io import read_json

# Assumed snapshot size: Common Crawl's monthly crawls of 2023–2024 hold roughly 2.5–3.5 billion
# pages (CC-MAIN release notes); 3.0 billion response records is the figure projected.
CC_SNAPSHOT_RECORDS = 3_000_000_000
SCALE_JSON = Path("reports/bench/scale.json")  # beside the results folder: <repo>/reports/bench/scale.json

# Rules whose work is bounded by config (a sample, a step count), not by the size of the crawl.
FIXED = ("train_tokenizer", "train_quality", "split_fallback", "decontam_index", "mix", "train_model",
         "publish_checkpoints", "evaluate", "evaluate_checkpoints", "export_hf", "eval_tasks", "lm_eval",
         "build_report", "sweep_train", "sweep_evaluate", "scaling_fit",
         # a recipe's stages (workflow/rules/train.smk, evaluate.smk): bounded by their steps
         "mix_stage", "train_stage", "publish_stage", "recipe_train", "evaluate_stage", "evaluate_recipe_start")
# Pipeline order for the table (workflow/rules/*.smk); a rule not named here follows, alphabetically.
ORDER = ("extract", "train_quality", "tag", "filter", "pii", "dedup_exact_hashes", "dedup_exact_groups",
         "dedup_exact", "minhash_signatures", "minhash_buckets", "minhash_clusters", "dedup_minhash",
         "train_tokenizer", "split_fallback", "decontam_index", "tokenize", "merge_tokens", "mix", *FIXED[5:])


SAMPLE_S = 0.1  # a finer benchmark sampling interval (psutil over each job's tree; ~1 % of a core per job)


def sample_benchmarks_every(sample_s: float = SAMPLE_S) -> None:
    """Make this process's Snakemake sample every job's process tree every ``sample_s`` seconds throughout
    (its default: 0.5 s for 30 samples, then every 30 s, none at the end — a sub-second job records ~0 CPU
    and its shell's 3 MB). Snakemake has no option for it; the interval is a default argument of
    ``snakemake.benchmark.benchmarked``. The Snakefile calls this (common.smk), so every entry point — bare
    ``snakemake``, ``lmsci run``, ``dvc repro``, a SLURM job's own Snakemake — writes the same figures.
    ``cpu_time`` stays a lower bound, short by at most ``sample_s`` per job."""
    import snakemake.benchmark as bench

    fn = getattr(bench.benchmarked, "__wrapped__", None)
    if fn is not None and fn.__defaults__ and len(fn.__defaults__) == 3:
        fn.__defaults__ = (*fn.__defaults__[:2], float(sample_s))


class CostError(ValueError):
    """A benchmark file that is not Snakemake's format; the message names the file."""


def _num(row: dict, key: str, path: Path) -> float:
    v = row.get(key)
    if v is None:
        raise CostError(f"{path}: no '{key}' column (is this a Snakemake benchmark file?)")
    return 0.0 if v in ("", "NA") else float(v)  # NA: the job ended before Snakemake's first sample


def read_benchmark(path: str | Path) -> list[dict]:
    """Rows of one benchmark TSV (one per ``repeat``) as {s, cpu_s, max_rss_mb}."""
    path = Path(path)
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [{"s": _num(r, "s", path), "cpu_s": _num(r, "cpu_time", path), "max_rss_mb": _num(r, "max_rss", path)}
            for r in rows]


def _rank(rule: str) -> tuple[int, str]:
    return (ORDER.index(rule) if rule in ORDER else len(ORDER), rule)


def jobs(results: str | Path) -> list[dict]:
    """Every job's benchmark: {rule, wildcards (the path below the rule's folder), s, cpu_s, max_rss_mb}."""
    root = Path(results) / "benchmarks"
    out = []
    for path in sorted(root.rglob("*.tsv")):
        rel = path.relative_to(root)
        rule = rel.parts[0].removesuffix(".tsv") if len(rel.parts) == 1 else rel.parts[0]
        wildcards = "/".join(rel.parts[1:]).removesuffix(".tsv")
        for row in read_benchmark(path):
            out.append({"rule": rule, "wildcards": wildcards, **row})
    return out


def by_rule(job_rows: list[dict]) -> dict[str, dict]:
    """Per rule: jobs, summed wall and CPU seconds, the largest job's peak RSS; in pipeline order."""
    agg: dict[str, dict] = defaultdict(lambda: {"jobs": 0, "wall_s": 0.0, "cpu_s": 0.0, "max_rss_mb": 0.0})
    for j in job_rows:
        a = agg[j["rule"]]
        a["jobs"] += 1
        a["wall_s"] += j["s"]
        a["cpu_s"] += j["cpu_s"]
        a["max_rss_mb"] = max(a["max_rss_mb"], j["max_rss_mb"])
    return {r: agg[r] for r in sorted(agg, key=_rank)}


def records(results: str | Path, source: str) -> int:
    """WARC records the run read for ``source``: the extract stage's ``seen``, summed over shards."""
    return sum(int(read_json(p)["seen"]) for p in sorted(Path(results).glob(f"extract/{source}/*.stats.json")))


def _source_of(wildcards: str, sources: set[str]) -> str | None:
    """The source a job worked on (its first wildcard, e.g. ``crawl/shard-00000.warc.gz``), or None when
    the job serves every source (e.g. the tokenizer)."""
    first = wildcards.split("/", 1)[0]
    return first if first in sources else None


def measured(results: str | Path, source: str = "crawl") -> dict:
    """This run's cost per rule for ``source``: its own jobs plus the jobs shared by every source (counted
    whole: they cannot be split), and the records of ``source`` that per-record figures divide by."""
    extract = Path(results) / "extract"
    sources = {p.name for p in extract.iterdir() if p.is_dir()} if extract.is_dir() else set()
    mine = [j for j in jobs(results) if _source_of(j["wildcards"], sources) in (source, None)]
    return {"records": records(results, source), "rules": by_rule(mine)}


def _from_scale(scale_json: Path) -> dict | None:
    """Per-record CPU seconds per rule at the largest bench-scale size, or None."""
    if not scale_json.is_file():
        return None
    scale = read_json(scale_json)
    sizes = sorted(scale.get("sizes", []), key=lambda s: s["documents"])
    if not sizes:
        return None
    top = sizes[-1]
    return {"basis": f"make bench-scale, largest size ({top['documents']:,} documents, {top['shards']} shards; "
                     f"{scale_json})", "records": top["documents"],
            "cpu_s_per_record": {r: st["cpu_s_per_doc"] for r, st in top["stages"].items()}}


def projection(results: str | Path, source: str = "crawl", snapshot_records: int = CC_SNAPSHOT_RECORDS,
               scale_json: str | Path | None | bool = True) -> dict | None:
    """The report's cost section: measured per rule, and projected to ``snapshot_records`` WARC records.

    ``scale_json``: bench-scale's figures to project from; True (default) looks for
    ``reports/bench/scale.json`` beside the results folder, None/False uses this run's own figures."""
    m = measured(results, source)
    if not m["rules"] or not m["records"]:
        return None
    if scale_json is True:
        scale_json = Path(results).resolve().parent / SCALE_JSON
    scale = _from_scale(Path(scale_json)) if scale_json else None
    per_record = scale["cpu_s_per_record"] if scale else {r: a["cpu_s"] / m["records"] for r, a in m["rules"].items()}
    stages, fixed = [], []
    for rule, a in m["rules"].items():
        row = {"stage": rule, "jobs": a["jobs"], "cpu_s": round(a["cpu_s"], 3), "wall_s": round(a["wall_s"], 3),
               "max_rss_mb": round(a["max_rss_mb"], 1)}
        if rule in FIXED:
            fixed.append(row)
            continue
        v = per_record.get(rule, a["cpu_s"] / m["records"])
        stages.append({**row, "ms_per_record": round(1e3 * v, 3),
                       "snapshot_cpu_hours": round(v * snapshot_records / 3600)})
    total = sum(s["ms_per_record"] for s in stages) / 1e3
    return {"source": source, "records": m["records"], "snapshot_records": snapshot_records,
            "basis": scale["basis"] if scale else f"this run ({m['records']:,} {source} records)",
            "stages": stages, "fixed": fixed, "ms_per_record": round(1e3 * total, 3),
            "snapshot_cpu_hours": round(total * snapshot_records / 3600),
            "peak_rss_mb": max((s["max_rss_mb"] for s in stages), default=0.0),
            "note": "cpu_time is Snakemake's sampled figure (a lower bound for jobs of a few seconds)"}
