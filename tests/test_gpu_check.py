"""make gpu-check (scripts/gpu_check.py): one line and exit 0 without a GPU; its GPU code path runs on CPU
with --cpu (gloo all-reduce, bf16 matmul, lmsci's training step on the tiny preset), so it is not untested."""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts/gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    """The script as module ``gpu_check``, importable by name: spawned all-reduce workers unpickle their
    function by module name (and inherit this sys.path)."""
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        yield importlib.import_module("gpu_check")
    finally:
        sys.modules.pop("gpu_check", None)
        sys.path.remove(str(SCRIPT.parent))


def test_without_a_gpu_one_line_and_exit_0():
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}  # no GPU, even on a machine that has one
    done = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("gpu-check: skipped: no CUDA GPU")


def test_make_target_runs_the_script():
    dry = subprocess.run(["make", "-n", "gpu-check", "STAMP=/dev/null"], cwd=ROOT, capture_output=True, text=True)
    assert dry.returncode == 0 and "scripts/gpu_check.py" in dry.stdout


def test_every_check_runs_on_cpu(gpu_check, tmp_path, capsys):
    import torch

    torch.ones(1 << 20).sum()  # the OpenMP pool has run, as in a test session: a forked worker would hang
    assert gpu_check.main(["--cpu", "--json", str(tmp_path / "figures.json")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[1].strip() for line in out[1:-1]] == ["all-reduce", "matmul", "te-spec", "train"]
    assert "gloo all-reduce over 2 rank(s) correct" in out[1] and out[-1] == "gpu-check: all checks passed"
    train = json.loads((tmp_path / "figures.json").read_text())["train"]
    assert train["preset"] == "tiny" and train["steps"] == 4 and train["mfu"] is None
    assert math.isfinite(train["last_loss"]) and train["tokens_per_s"] > 0


def test_a_failing_check_is_one_line_and_exit_1(gpu_check, monkeypatch, capsys):
    def broken(*_):
        raise RuntimeError("NCCL error: unhandled system error\nmore detail")

    monkeypatch.setattr(gpu_check, "check_allreduce", broken)
    for name in ("check_matmul", "check_te_spec"):
        monkeypatch.setattr(gpu_check, name, lambda *_: "fine")
    monkeypatch.setattr(gpu_check, "check_training", lambda *_: ("fine", {}))
    assert gpu_check.main(["--cpu"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert "gpu-check: all-reduce: FAILED: RuntimeError: NCCL error: unhandled system error" in out
    assert out[-1] == "gpu-check: 1 check(s) failed"


def test_peak_from_the_device_name(gpu_check):
    assert gpu_check.peak_tflops("NVIDIA H100 80GB HBM3", None) == 989.0
    assert gpu_check.peak_tflops("NVIDIA H100 PCIe", None) == 756.0
    assert gpu_check.peak_tflops("NVIDIA H200", None) == 989.0
    assert gpu_check.peak_tflops("NVIDIA A100-SXM4-80GB", None) == 312.0
    assert gpu_check.peak_tflops("Some Future GPU", None) is None
    assert gpu_check.peak_tflops("NVIDIA H100 80GB HBM3", 500.0) == 500.0
