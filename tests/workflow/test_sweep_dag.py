"""The scaling-law sweep as a workflow target: dry runs only (the sweep itself trains for minutes)."""
from __future__ import annotations

import re

import yaml

from .conftest import snakemake

SWEEP = ("--configfile", "config.yaml", "configs/sweep.yaml")


def _jobs(stdout: str) -> dict[str, int]:
    return {rule: int(n) for rule, n in re.findall(r"^(\w+)\s+(\d+)$", stdout, flags=re.M)}


def test_sweep_fans_out_one_train_and_evaluate_per_size_and_budget(repo_copy):
    sweep = yaml.safe_load((repo_copy / "configs/sweep.yaml").read_text())["sweep"]
    runs = len(sweep["models"]) * len(sweep["tokens"])
    assert runs >= 9
    proc = snakemake(repo_copy, "sweep", "-n", "--cores", "2", *SWEEP)
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert jobs["sweep_train"] == runs and jobs["sweep_evaluate"] == runs and jobs["scaling_fit"] == 1
    assert jobs["mix"] == 1 and "train_model" not in jobs  # the run's own blend; not its main training
    for m in sweep["models"]:
        for t in sweep["tokens"]:
            assert f"sweep/{m['name']}/{t}/train" in proc.stdout


def test_default_run_has_no_sweep_jobs(repo_copy):
    proc = snakemake(repo_copy, "-n", "--cores", "2")  # config.yaml: no sweep, so `all` trains one model
    assert proc.returncode == 0, proc.stderr[-3000:]
    jobs = _jobs(proc.stdout)
    assert "train_model" in jobs and not {"sweep_train", "sweep_evaluate", "scaling_fit"} & set(jobs)


def test_sweep_without_a_sweep_config_fails_in_one_line(repo_copy):
    proc = snakemake(repo_copy, "sweep", "--cores", "1")
    assert proc.returncode != 0
    lines = [ln for ln in proc.stderr.splitlines() if "no sweep configured" in ln]
    assert len(lines) == 1 and "configs/sweep.yaml" in lines[0], proc.stderr[-2000:]
    assert not (repo_copy / "results" / "tokens").exists()


def test_bad_token_budget_fails_before_any_job(repo_copy):
    cfg = yaml.safe_load((repo_copy / "configs/sweep.yaml").read_text())
    cfg["sweep"]["tokens"][0] += 1  # not a whole number of steps
    (repo_copy / "configs/sweep.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(repo_copy, "sweep", "-n", "--cores", "1", *SWEEP)
    assert proc.returncode != 0
    errors = [ln for ln in proc.stderr.splitlines() if "config error" in ln]
    assert len(errors) == 1 and "'sweep.tokens'" in errors[0], proc.stderr[-2000:]
