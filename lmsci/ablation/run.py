"""``lmsci ablation [--plan]``: the jobs an ablation will run and their projected cost, then (without
``--plan``) ``snakemake ablation``.

The job list is Snakemake's own dry run of the ``ablation`` target (``snakemake -n``: only jobs whose
outputs are missing or stale). Each rule's projected cost is its job count × the mean CPU (and wall)
seconds per job measured earlier: first the ablation's own benchmark files of that rule
(``<results>/ablation/benchmarks``, an earlier ablation), else the run's benchmark files of the rule it
reuses (``<results>/benchmarks``: e.g. ``tag`` for ``ablation_tag``), else none — each line names its basis.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from lmsci import config as C
from lmsci.ablation import plan, wiring
from lmsci.report.cost import jobs as bench_jobs

# The run's rule each ablation rule reuses or resembles (its measured cost is the fallback basis).
BASE_RULE = {"ablation_train": "train_model", "ablation_score": "evaluate", "ablation_tokenize": "tokenize",
             "ablation_mix": "mix", "ablation_evalset": "decontam_index", "ablation_report": "build_report"}


def dry_run(root: Path, config_files: list[str]) -> dict[str, int]:
    """rule → jobs that ``snakemake ablation`` would run now (Snakemake's "Job stats" table)."""
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"), "--directory", str(root),
           "-n", "--cores", "1", "--configfile", *config_files, "--", "ablation"]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=root)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"snakemake -n ablation failed: {tail[0]}")
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    table = text.split("Job stats:", 1)[-1]
    rows = re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.M)
    return {m[1]: int(m[2]) for m in rows if m[1] not in ("total", "job", "ablation")}


def per_job(results: str) -> tuple[dict[str, dict], dict[str, dict]]:
    """Mean {cpu_s, wall_s, jobs} per rule: the ablation's own benchmarks, and the run's."""
    def mean(root: Path) -> dict[str, dict]:
        acc: dict[str, list] = {}
        if (root / "benchmarks").is_dir():
            for j in bench_jobs(root):
                acc.setdefault(j["rule"], []).append(j)
        return {r: {"cpu_s": sum(j["cpu_s"] for j in js) / len(js), "wall_s": sum(j["s"] for j in js) / len(js),
                    "jobs": len(js), "where": str(root / "benchmarks" / r)} for r, js in acc.items()}
    return mean(Path(results) / "ablation"), mean(Path(results))


def projection(counts: dict[str, int], own: dict, run: dict) -> list[dict]:
    rows = []
    for rule, n in sorted(counts.items()):
        base = BASE_RULE.get(rule, rule.removeprefix("ablation_"))
        m = own.get(rule) or run.get(base)
        rows.append({"rule": rule, "jobs": n, "cpu_h": n * m["cpu_s"] / 3600 if m else None,
                     "wall_h": n * m["wall_s"] / 3600 if m else None,
                     "basis": f"mean of {m['jobs']} job(s) in {m['where']}" if m else "no earlier measurement"})
    return rows


def lines(cfg: C.Config, rows: list[dict]) -> list[str]:
    out = ["ablation plan (lmsci.ablation.plan): what each variant makes itself", *("  " + x for x in plan.describe(cfg)),
           f"  training runs: {len(wiring.runs(cfg))} ({len(plan.V.names(cfg))} variants incl. baseline × "
           f"{len(cfg.ablation.seeds)} seeds)"]
    if not rows:
        return out + ["jobs to run: none (every output is up to date)"]
    out.append(f"jobs to run (snakemake -n ablation): {sum(r['jobs'] for r in rows)}")
    out.append(f"  {'rule':32} {'jobs':>5} {'CPU h':>9} {'wall h':>9}  basis")
    for r in rows:
        cpu = "?" if r["cpu_h"] is None else f"{r['cpu_h']:.4f}"
        wall = "?" if r["wall_h"] is None else f"{r['wall_h']:.4f}"
        out.append(f"  {r['rule']:32} {r['jobs']:>5} {cpu:>9} {wall:>9}  {r['basis']}")
    known = [r for r in rows if r["cpu_h"] is not None]
    gpu = cfg.train.gpus_per_node * cfg.train.nodes
    train_wall = sum(r["wall_h"] for r in known if r["rule"] == "ablation_train")
    out.append(f"projected: {sum(r['cpu_h'] for r in known):.3f} CPU hours, {sum(r['wall_h'] for r in known):.3f} "
               f"job-hours of wall time" + (f", {train_wall * gpu:.3f} GPU hours of training" if gpu else "")
               + (f"; {len(rows) - len(known)} rule(s) without a measurement" if len(known) < len(rows) else ""))
    return out


def main(config_files: list[str], root: Path, plan_only: bool, cores: int, snakemake_args: list[str]) -> int:
    try:
        cfg = C.load(*config_files, root=root)
    except C.ConfigError as err:
        print(f"lmsci: config error: {err}", file=sys.stderr)
        return 1
    if not cfg.ablation.variants:
        print("lmsci ablation: error: config key 'ablation': no ablation configured; add ablation.variants and "
              "ablation.seeds (see configs/ablation.yaml)", file=sys.stderr)
        return 1
    counts = dry_run(root, config_files)
    print("\n".join(lines(cfg, projection(counts, *per_job(cfg.results)))))
    if plan_only:
        return 0
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(root / "Snakefile"), "--directory", str(root),
           "--cores", str(cores), "--configfile", *config_files, "--rerun-incomplete", *snakemake_args, "ablation"]
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}
    return subprocess.call(cmd, env=env)
