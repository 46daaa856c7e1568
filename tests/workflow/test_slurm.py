"""The tiny workflow end to end on a real single-node SLURM cluster (slurmctld + slurmd + munge on
this machine, started by scripts/slurm_cluster.sh), every job submitted with sbatch by
snakemake-executor-plugin-slurm through workflow/profiles/slurm. `make slurm-test` runs only this."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import CONFIGS, ROOT, copy_repo

pytestmark = pytest.mark.e2e
SCRIPT = ROOT / "scripts/slurm_cluster.sh"
# One 2-core node: every SLURM job pays ~8 s of Snakemake start-up, and the plugin polls a running
# job at 1, 12, 33, 64 … s, so a few mid-sized jobs beat many small ones. These groups (replacing
# the profile's per-shard ones) make the run 4 jobs: curate (all shards), tokens, train, report;
# --cores caps a group job at the node's CPUs. --slurm-init-seconds-before-status-checks 1 takes the
# first poll from 40 s to 1 s (notes: /work/shared/notes/slurm-localhost.md).
CI_ARGS = ("--cores", "2", "--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs",
           "--groups", "extract=curate", "tag=curate", "filter=curate", "dedup_exact=tokens",
           "train_tokenizer=tokens", "tokenize=tokens", "mix=tokens", "evaluate=report", "build_report=report",
           "--group-components", "curate=1000")
TIMEOUT_S = 1500


@pytest.fixture(scope="module")
def cluster():
    if os.geteuid() != 0:
        pytest.skip("needs root: scripts/slurm_cluster.sh installs and starts slurmctld, slurmd and munged")
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        pytest.skip("SLURM is not installed and there is no apt-get to install it")
    proc = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    repo = copy_repo(tmp_path_factory.mktemp("slurm") / "repo")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    # timeout -k: with a lost job the plugin waits forever and ignores SIGTERM.
    cmd = ["timeout", "-k", "10", str(TIMEOUT_S), sys.executable, "-m", "snakemake",
           "--profile", "workflow/profiles/slurm", *CONFIGS, *CI_ARGS]
    proc = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return repo, out


def test_report_written(slurm_run):
    repo, _ = slurm_run
    assert "## Training" in (repo / "reports/tiny/report.md").read_text()
    assert (repo / "reports/tiny/report.html").stat().st_size > 0


def test_every_job_ran_inside_a_slurm_job(slurm_run):
    repo, out = slurm_run
    job_ids = re.findall(r"submitted with SLURM jobid (\d+)", out)
    assert len(job_ids) == 4, out[-3000:]          # curate, tokens, train, report
    logs = {p.stem: p.read_text() for p in (repo / ".snakemake/slurm_logs").rglob("*.log")}
    assert sorted(logs) == sorted(job_ids)         # sbatch --output .../<job id>.log, written by slurmd
    rules_run = set(re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", out)) - {"all"}
    rules_in_slurm = {r for text in logs.values() for r in re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", text)}
    assert {"extract", "tokenize", "train_model", "build_report"} <= rules_run
    assert rules_run == rules_in_slurm


def test_slurmctld_records_the_jobs_as_completed(slurm_run):
    _, out = slurm_run
    last = re.findall(r"submitted with SLURM jobid (\d+)", out)[-1]   # kept by slurmctld for MinJobAge=300 s
    show = subprocess.run(["scontrol", "show", "job", last], capture_output=True, text=True, timeout=30)
    assert re.search(r"JobState=COMPLETED\b", show.stdout), show.stdout + show.stderr
