"""Helpers for tests that drive the real Snakemake workflow in a scratch copy of the repository."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
IGNORE = shutil.ignore_patterns(".venv", ".git", ".snakemake", "results*", "reports", "__pycache__", ".pytest_cache",
                                "cache", "tmp", ".benchmarks", "*.egg-info")


def copy_repo(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=IGNORE, symlinks=True)
    return dest


def snakemake(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    return subprocess.run([sys.executable, "-m", "snakemake", *args], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    return copy_repo(tmp_path / "repo")


CONFIGS = ("--configfile", "config.yaml", "configs/tiny.yaml")
RESULTS = "results-tiny"


@pytest.fixture(scope="session")
def tiny_tokens(tmp_path_factory) -> Path:
    """The data stages (`snakemake tokens`) of configs/tiny.yaml, run once, cleanly, in a scratch copy:
    the reference that the rerun and crash tests compare against."""
    repo = copy_repo(tmp_path_factory.mktemp("tiny") / "repo")
    proc = snakemake(repo, "tokens", "--cores", "2", *CONFIGS)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return repo


def result_files(repo: Path) -> list[str]:
    """Every file under results-tiny/ (hidden ones too: a crash must leave no temp file behind), minus
    the logs and the wall/CPU-time ledgers, which differ between runs by design."""
    root = repo / RESULTS
    return sorted(str(f.relative_to(root)) for f in root.rglob("*")
                  if f.is_file() and f.relative_to(root).parts[0] != "logs" and not f.name.endswith("cost.json"))


DATA_ARTIFACTS = ("*.parquet", "tokenizer.json", "*.bin", "*.idx", "blend.json", "*stats.json", "*.npy", "split.json")


def data_digests(repo: Path) -> dict[str, str]:
    """sha256 of every data artifact of the data stages (results-tiny/ minus logs, train, eval)."""
    root = repo / RESULTS
    out = {}
    for pattern in DATA_ARTIFACTS:
        for f in root.rglob(pattern):
            rel = f.relative_to(root)
            if rel.parts[0] not in ("logs", "train", "eval"):
                out[str(rel)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def loss_sequence(repo: Path) -> list[tuple[int, float]]:
    """(step, loss) per logged step; metrics.jsonl also holds tokens/s and elapsed time."""
    rows = [json.loads(x) for x in (repo / RESULTS / "train/metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["loss"]) for r in rows]
