"""``lmsci pull``: restore DVC-tracked outputs, then make Snakemake agree they are up to date.

After a fresh clone, ``dvc pull`` restores each stage's outputs from the remote (.dvc/config), but
their modification times follow the order DVC happened to write them and the intermediates DVC does
not track are absent, so Snakemake would recompute what was just downloaded. ``snakemake --touch``
over the same targets re-stamps the outputs in dependency order (verified on Snakemake 9 + DVC 3:
/work/shared/notes/slurm-localhost.md, "DVC 3.x around Snakemake"). Jobs whose outputs DVC does
not track (e.g. the report directory) are left to run.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def stage_targets(root: Path) -> list[str]:
    """dvc.yaml's stage names, in order; each is a Snakemake target of the same name. A ``foreach`` stage
    (a recipe's per-stage checkpoints) is not a rule: the ``train`` target already covers its outputs."""
    path = root / "dvc.yaml"
    if not path.exists():
        raise OSError(f"{path} not found; run `lmsci pull` in the repository root")
    return [name for name, stage in yaml.safe_load(path.read_text())["stages"].items() if "foreach" not in stage]


def _env() -> dict:
    # The rules call `python -m lmsci`; this interpreter's environment comes first on PATH.
    return {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])}


def _snakemake(root: Path, configfiles: list[str] | None, *args: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", *args]
    if configfiles:
        cmd += ["--configfile", *configfiles]
    return subprocess.run(cmd, cwd=root, env=_env(), capture_output=True, text=True)


def dvc_pull(root: Path, remote: str | None = None) -> None:
    cmd = [sys.executable, "-m", "dvc", "pull", *(["--remote", remote] if remote else [])]
    proc = subprocess.run(cmd, cwd=root, env=_env())
    if proc.returncode != 0:
        raise RuntimeError(f"`dvc pull` failed (exit {proc.returncode}, DVC's message above); remotes: `dvc remote list`")


def touch(root: Path, targets: list[str], configfiles: list[str] | None = None) -> None:
    """Mark the targets' existing outputs up to date (Snakemake ``--touch``, in dependency order)."""
    proc = _snakemake(root, configfiles, "--touch", *targets)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"`snakemake --touch {' '.join(targets)}` failed: {tail[0]}")


def pending(root: Path, targets: list[str], configfiles: list[str] | None = None) -> str:
    """Snakemake's dry-run summary for the targets; '' when nothing is left to run."""
    proc = _snakemake(root, configfiles, *targets, "-n", "--quiet", "rules")
    out = proc.stdout + proc.stderr
    if proc.returncode != 0:
        tail = out.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"`snakemake -n {' '.join(targets)}` failed: {tail[0]}")
    return "" if "Nothing to be done" in out else out[out.find("Job stats"):].strip()


def pull(root: Path, targets: list[str] | None = None, configfiles: list[str] | None = None,
         remote: str | None = None) -> str:
    """dvc pull, then snakemake --touch for the targets (default: every dvc.yaml stage).

    Returns what Snakemake would still run (outputs DVC does not track), '' if nothing."""
    targets = targets or stage_targets(root)
    dvc_pull(root, remote)
    touch(root, targets, configfiles)
    return pending(root, targets, configfiles)
