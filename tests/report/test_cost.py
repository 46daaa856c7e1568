"""Cost accounting from Snakemake's own benchmark files, written by a real (tiny) Snakemake run.

The Snakefile below mimics the workflow's layout (``{R}/benchmarks/<rule>/<wildcards>.tsv``, common.smk's
``bench``): per-shard extract jobs that write real ledgers for two sources, a per-shard data-plane rule
and a shared fixed-cost rule. Expected figures are read back from the TSVs with the csv module, never typed in.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lmsci.report import cost

SNAKEFILE = """
import sys
from lmsci.report import cost
cost.sample_benchmarks_every()  # as workflow/rules/common.smk does for the real workflow
SHARDS = {"crawl": ["s0", "s1"], "wiki": ["w0"]}
SEEN = {"s0": 30, "s1": 50, "w0": 7}
rule all:
    input: [f"results/tokenize/{src}/{sh}.done" for src in SHARDS for sh in SHARDS[src]], "results/tokenizer.json"
rule extract:
    output: "results/extract/{source}/{shard}.stats.json"
    benchmark: "results/benchmarks/extract/{source}/{shard}.tsv"
    params: seen=lambda w: SEEN[w.shard]
    shell: "{PY:q} -c 'import sys; from lmsci.ledger import Ledger; led = Ledger(\\"extract\\", sys.argv[2], sys.argv[3]); "
           "[led.keep(5) for _ in range(int(sys.argv[4]))]; sum(range(2_000_000)); led.write(sys.argv[1])' "
           "{output:q} {wildcards.source:q} {wildcards.shard:q} {params.seen:q}"
rule train_tokenizer:
    input: [f"results/extract/{src}/{sh}.stats.json" for src in SHARDS for sh in SHARDS[src]]
    output: "results/tokenizer.json"
    benchmark: "results/benchmarks/train_tokenizer.tsv"
    shell: "echo {{}} > {output:q}"
rule tokenize:
    input: "results/extract/{source}/{shard}.stats.json", "results/tokenizer.json"
    output: "results/tokenize/{source}/{shard}.done"
    benchmark: "results/benchmarks/tokenize/{source}/{shard}.tsv"
    shell: "{PY:q} -c 'sum(range(3_000_000))' && touch {output:q}"
""".replace("{PY:q}", sys.executable.replace("'", ""))


def _tsv(path: Path) -> dict:
    with open(path, newline="") as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    return {"s": float(row["s"]), "cpu_s": float(row["cpu_time"]), "max_rss_mb": float(row["max_rss"])}


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """A real Snakemake run; its results/ holds real benchmark TSVs and real ledgers."""
    d = tmp_path_factory.mktemp("cost-run")
    (d / "Snakefile").write_text(SNAKEFILE)
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2", "--quiet", "all"], cwd=d, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return d / "results"


def test_reads_every_job_of_the_run(run):
    tsvs = sorted((run / "benchmarks").rglob("*.tsv"))
    assert len(tsvs) == 7  # 3 extract + 3 tokenize + 1 train_tokenizer
    got = {(j["rule"], j["wildcards"]): {k: j[k] for k in ("s", "cpu_s", "max_rss_mb")} for j in cost.jobs(run)}
    want = {}
    for p in tsvs:
        rel = p.relative_to(run / "benchmarks")
        key = (rel.parts[0].removesuffix(".tsv"), "/".join(rel.parts[1:]).removesuffix(".tsv"))
        want[key] = _tsv(p)
    assert got == want
    # extract jobs run ~0.5 s of Python; sampled every 0.1 s (cost.sample_benchmarks_every) their CPU and memory
    # show, where Snakemake's default (first sample at the start, next at 0.5 s) records the shell alone
    assert all(v["max_rss_mb"] > 20 and v["cpu_s"] > 0 for (rule, _), v in got.items() if rule == "extract")


def test_measured_counts_the_source_and_shared_jobs_not_other_sources(run):
    m = cost.measured(run, "crawl")
    assert m["records"] == sum(json.loads(p.read_text())["seen"] for p in (run / "extract/crawl").glob("*.stats.json"))
    b = run / "benchmarks"
    crawl_extract = [_tsv(b / "extract/crawl/s0.tsv"), _tsv(b / "extract/crawl/s1.tsv")]
    assert m["rules"]["extract"]["jobs"] == 2  # wiki's extract job is not crawl's cost
    assert m["rules"]["extract"]["cpu_s"] == pytest.approx(sum(t["cpu_s"] for t in crawl_extract))
    assert m["rules"]["extract"]["max_rss_mb"] == max(t["max_rss_mb"] for t in crawl_extract)
    assert m["rules"]["train_tokenizer"]["jobs"] == 1  # shared by every source: counted whole
    assert list(m["rules"]) == ["extract", "train_tokenizer", "tokenize"]  # pipeline order


def test_projection_is_linear_in_records_over_data_plane_rules(run):
    p = cost.projection(run, "crawl", snapshot_records=3_600_000, scale_json=None)
    m = cost.measured(run, "crawl")
    assert [s["stage"] for s in p["stages"]] == ["extract", "tokenize"]
    assert [f["stage"] for f in p["fixed"]] == ["train_tokenizer"]  # bounded by config: not projected
    per_record = sum(m["rules"][r]["cpu_s"] for r in ("extract", "tokenize")) / m["records"]
    assert p["ms_per_record"] == pytest.approx(1e3 * per_record, abs=2e-3)
    assert p["snapshot_cpu_hours"] == round(per_record * 3_600_000 / 3600)
    assert p["basis"].startswith("this run") and p["records"] == m["records"]


def test_projection_uses_bench_scale_figures_when_present(run, tmp_path):
    scale = {"sizes": [{"documents": 100, "shards": 4, "stages": {"extract": {"cpu_s_per_doc": 0.5}}},
                       {"documents": 4000, "shards": 16, "stages": {"extract": {"cpu_s_per_doc": 0.02},
                                                                    "tokenize": {"cpu_s_per_doc": 0.01}}}]}
    (tmp_path / "scale.json").write_text(json.dumps(scale))
    p = cost.projection(run, "crawl", snapshot_records=360_000, scale_json=tmp_path / "scale.json")
    assert "4,000 documents" in p["basis"]  # the largest size
    assert {s["stage"]: s["snapshot_cpu_hours"] for s in p["stages"]} == {"extract": 2, "tokenize": 1}


def test_not_a_benchmark_file_names_the_file(tmp_path):
    bad = tmp_path / "benchmarks" / "extract" / "crawl" / "s0.tsv"
    bad.parent.mkdir(parents=True)
    bad.write_text("wall\tcpu\n1\t2\n")
    with pytest.raises(cost.CostError, match="s0.tsv: no 's' column"):
        cost.jobs(tmp_path)


def test_no_measurement_gives_no_projection(tmp_path):
    assert cost.projection(tmp_path, "crawl") is None
