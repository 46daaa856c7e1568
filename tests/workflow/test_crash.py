"""Crash safety: the data stages are SIGKILLed (the whole Snakemake process group, jobs included) at
seeded random points, then `--rerun-incomplete` completes them with outputs identical to those of an
uninterrupted run (the shared `tiny_tokens` fixture), and no temp file is left behind."""
from __future__ import annotations

import contextlib
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import CONFIGS, copy_repo, data_digests, result_files, snakemake

pytestmark = pytest.mark.e2e
SEED, KILLS = 6, 5
JOB_START = re.compile(r"^(?:local)?rule (\w+):")
JOBS_LEFT = re.compile(r"^total\s+(\d+)$")           # the last line of Snakemake's job table
# A SIGKILLed Snakemake leaves its lock behind (`snakemake --unlock` clears it); --nolock saves that
# extra start-up on every restart of this single-user scratch copy.
ARGS = ("tokens", "--cores", "2", "--nolock", "--rerun-incomplete", *CONFIGS)


def _run_until_killed(repo: Path, fraction: float, delay: float) -> list[str]:
    """Start the data stages, SIGKILL them `delay` s after the job `fraction` of the way through the jobs
    left started (so the kills move on through the stages); the rules started."""
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    proc = subprocess.Popen([sys.executable, "-m", "snakemake", *ARGS], cwd=repo, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    started, starts = [], None
    try:
        for line in proc.stdout:
            if starts is None and (m := JOBS_LEFT.match(line.strip())):
                starts = max(1, round(fraction * int(m.group(1))))
            elif m := JOB_START.match(line):
                started.append(m.group(1))
                if len(started) == starts:
                    break
        time.sleep(delay)
        # the job may be done by now: then kill once the next one is in flight (its incomplete marker written)
        incomplete = repo / ".snakemake" / "incomplete"
        while proc.poll() is None and not any(incomplete.glob("*")):
            line = proc.stdout.readline()
            if not line:
                break
            if m := JOB_START.match(line):
                started.append(m.group(1))
                for _ in range(200):
                    if any(incomplete.glob("*")) or proc.poll() is not None:
                        break
                    time.sleep(0.01)
        assert proc.poll() is None, f"the data stages finished before the kill (jobs started: {started})"
    finally:
        with contextlib.suppress(ProcessLookupError):   # the whole group: Snakemake and its jobs
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    return started


def test_sigkilled_data_stages_resume_to_identical_outputs(tiny_tokens, tmp_path):
    repo = copy_repo(tmp_path / "repo")
    rng = random.Random(SEED)
    kills = []
    for _ in range(KILLS):
        started = _run_until_killed(repo, rng.uniform(0.1, 0.5), rng.uniform(0.1, 1.5))
        in_flight = list((repo / ".snakemake/incomplete").glob("*"))
        kills.append((started[-1], len(in_flight)))
    print("killed (last job started, outputs in flight):", kills)
    assert all(n > 0 for _, n in kills), f"a kill hit no running job: {kills}"
    proc = snakemake(repo, *ARGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert result_files(repo) == result_files(tiny_tokens)
    reference, resumed = data_digests(tiny_tokens), data_digests(repo)
    assert len(reference) > 20
    assert sorted(k for k in reference if reference[k] != resumed[k]) == []
