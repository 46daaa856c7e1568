"""Exact resume: a run SIGKILLed at a random step and restarted ends with the uninterrupted run's
weights and losses — single process with the plain optimizer, and DP=2 with the distributed one."""
from __future__ import annotations

import dataclasses
import json
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch

from .conftest import MODEL, TRAIN, VOCAB, losses
from lmsci.train import adapter, checkpoint, loop

REPO = Path(__file__).resolve().parents[2]
SCHEDULE = dict(checkpoint_log_max=8, checkpoint_interval=5)  # 1, 2, 4, 5, 8, 10, 15, 20 — (20 is checkpoint/)
DISTRIBUTED = dataclasses.replace(TRAIN, data_parallel=2, use_distributed_optimizer=True)


def weights(run: Path) -> dict[str, torch.Tensor]:
    return adapter.load_weights(run / "checkpoint", MODEL, VOCAB)


def max_difference(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    assert a.keys() == b.keys()
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def train_killed(train, blend: Path, out: Path, kill_after: int) -> None:
    """``python -m lmsci train`` (the workflow's command), SIGKILLed with every descendant (torchrun
    workers sit in their own sessions) once ``kill_after`` steps are logged."""
    cfg = json.dumps({"seed": 1234, "model": dataclasses.asdict(MODEL), "train": dataclasses.asdict(train)})
    log = open(out.parent / f"{out.name}.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "lmsci", "train", "--cfg", cfg, "--blend", str(blend),
                             "--out-dir", str(out)], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    partial, deadline = out / ".metrics.jsonl.tmp", time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.is_file() and len(partial.read_text().splitlines()) >= kill_after:
            break
        time.sleep(0.01)
    family = []
    if proc.poll() is None:
        root = psutil.Process(proc.pid)
        family = [root, *root.children(recursive=True)]
    for p in family:
        p.kill()  # SIGKILL, by pid: only processes this test started
    proc.wait()
    while not all(dead(p) for p in family):  # orphans nobody reaps stay zombies: dead enough
        time.sleep(0.05)
    assert proc.returncode == -9, (out.parent / f"{out.name}.log").read_text()[-2000:]
    assert not (out / "checkpoint").exists() and not (out / "metrics.jsonl").exists()  # really cut short


def dead(p: psutil.Process) -> bool:
    try:
        return p.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.fixture(scope="module")
def uninterrupted(reference) -> Path:
    return reference


def test_killed_run_resumes_to_identical_weights(uninterrupted, blend, tmp_path):
    out, train = tmp_path / "run", dataclasses.replace(TRAIN, **SCHEDULE)
    kill_after = random.Random(1).randint(3, TRAIN.steps - 3)
    train_killed(train, blend, out, kill_after)
    saved = checkpoint.latest(out)
    assert saved is not None and 1 <= checkpoint.read_meta(saved)["step"] < TRAIN.steps
    loop.train(MODEL, train, 1234, blend, out)
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from_step"] == checkpoint.read_meta(saved)["step"]
    assert losses(out) == losses(uninterrupted)  # every step, bit for bit (the checkpoints change nothing)
    assert max_difference(weights(out), weights(uninterrupted)) == 0.0
    meta = checkpoint.read_meta(out / "checkpoint")
    assert meta["consumed_samples"] == TRAIN.steps * TRAIN.global_batch_size and meta["has_optimizer"]


def test_finished_run_resumes_to_nothing(uninterrupted, blend, tmp_path):
    """Rerunning a finished run changes nothing (the workflow may rerun the rule)."""
    shutil.copytree(uninterrupted / "checkpoint", tmp_path / "checkpoint")
    loop.train(MODEL, TRAIN, 1234, blend, tmp_path)
    assert json.loads((tmp_path / "train_summary.json").read_text())["resumed_from_step"] == TRAIN.steps
    assert losses(tmp_path) == losses(uninterrupted)


def test_distributed_optimizer_single_rank_restores_adam_exactly(blend, tmp_path):
    """The in-adapter fix: after a reload every parameter has its own Adam step (upstream shares one
    tensor, which foreach AdamW bumps once per parameter per step) and training continues exactly."""
    train = dataclasses.replace(TRAIN, steps=6, use_distributed_optimizer=True, checkpoint_steps=[3])
    loop.train(MODEL, train, 1234, blend, tmp_path / "full")
    shutil.copytree(checkpoint.step_dir(tmp_path / "full", 3), checkpoint.step_dir(tmp_path / "part", 3))
    loop.train(MODEL, train, 1234, blend, tmp_path / "part")
    assert losses(tmp_path / "part") == losses(tmp_path / "full")
    assert max_difference(weights(tmp_path / "part"), weights(tmp_path / "full")) == 0.0
    with adapter.distributed(1, 1, seed=0):
        module = adapter.build_model(MODEL, VOCAB, 1, 1, use_distributed_optimizer=True)
        optimizer = adapter.build_optimizer(module, train)
        adapter.load_checkpoint(tmp_path / "full" / "checkpoint", module, optimizer)
        states = [s for opt in getattr(optimizer, "chained_optimizers", [optimizer]) for s in opt.optimizer.state.values()]
        assert states and all(float(s["step"]) == 6 for s in states)
        assert len({id(s["step"]) for s in states}) == len(states)


@pytest.mark.multiprocess
def test_distributed_optimizer_killed_run_resumes_exactly(distributed_reference, blend, tmp_path):
    """DP=2 with the DistributedOptimizer (Adam state sharded over the two ranks), killed and resumed."""
    out, train = tmp_path / "run", dataclasses.replace(DISTRIBUTED, **SCHEDULE)
    train_killed(train, blend, out, kill_after=random.Random(2).randint(3, TRAIN.steps - 3))
    loop.train(MODEL, train, 1234, blend, out)
    assert losses(out) == pytest.approx(losses(distributed_reference), abs=1e-6)
    assert max_difference(weights(out), weights(distributed_reference)) <= 1e-6
