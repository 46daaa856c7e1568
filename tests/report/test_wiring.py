"""The report rule's inputs, from a dry run of the real Snakefile: every rule's stored drops, and the
sweep's fit only when the config has a sweep."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from lmsci import config as C

REPO = Path(__file__).resolve().parents[2]


def _report_job(*configs: str) -> tuple[list[str], str]:
    cfg = C.load(*(REPO / c for c in configs))
    proc = subprocess.run([sys.executable, "-m", "snakemake", "-n", "-p", "-F", "--nolock", "--cores", "1",
                           "--configfile", *configs, "--", f"reports/{cfg.run}/report.md"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    job = proc.stdout.split("rule build_report:", 1)[1]
    inputs = job.split("input: ", 1)[1].split("\n", 1)[0].split(", ")
    command = re.search(r"(python -m lmsci report .*)$", job, flags=re.M).group(1)
    return inputs, command


def test_every_stored_drop_is_an_input_and_no_sweep_means_no_scaling():
    inputs, command = _report_job("config.yaml")
    cfg = C.load(REPO / "config.yaml")
    dropped = {f for f in inputs if f.endswith("dropped.parquet")}
    for source, src in cfg.sources.items():
        shards = [Path(p).name.split(".")[0] for p in src.paths]
        for sh in shards:  # every per-shard stage stores its drops, dedup and MinHash included
            for stage in ("extract", "filter", "dedup", "minhash", "tokens"):
                assert f"{cfg.results}/{stage}/{source}/{sh}.dropped.parquet" in dropped
    assert f"{cfg.results}/eval/checkpoints.json" in inputs
    assert "--scaling" not in command and "--config-files config.yaml " in command + " "
    assert command.count("config.yaml") == 1  # Snakemake's duplicate of the default configfile is dropped


def test_a_sweep_config_passes_its_fit_to_the_report():
    inputs, command = _report_job("config.yaml", "configs/sweep.yaml")
    results = C.load(REPO / "config.yaml", REPO / "configs/sweep.yaml").results
    assert {f"{results}/scaling/fit.json", f"{results}/scaling/fit.png"} <= set(inputs)
    assert f"--scaling {results}/scaling/fit.json" in command
