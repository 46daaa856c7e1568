"""`dvc metrics show` and `dvc plots show` work on the metrics and plots dvc.yaml declares.

The repository's dvc.yaml is copied into a fresh DVC project (no git) with small files shaped like
the run's at every metrics and plots path it names (no workflow run); both commands must read
them: every declared metrics file yields its numbers, every plot its x and y columns.
"""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DVC = Path(sys.executable).with_name("dvc")
COLUMNS = ("step", "loss", "lr", "grad_norm", "tokens", "tokens_per_s")


def _declared() -> tuple[list[str], dict]:
    spec = yaml.safe_load((REPO / "dvc.yaml").read_text())
    metrics = [next(iter(m)) if isinstance(m, dict) else m for st in spec["stages"].values()
               for m in st.get("metrics", [])]
    return metrics, spec


def _curves(spec: dict) -> list[tuple[str, str, str]]:
    """(plot id, data file, y column) for each plot: ``- FILE: {y: COL}`` or ``- ID: {y: {FILE: COL}}``."""
    out = []
    for plot in spec["plots"]:
        (name, cfg), = plot.items()
        y = cfg.get("y")
        (f, col), = y.items() if isinstance(y, dict) else [(name, y)]
        out.append((name, f, col))
    return out


def _dvc(cwd: Path, *args: str) -> dict:
    proc = subprocess.run([str(DVC), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


@pytest.fixture
def project(tmp_path) -> Path:
    if not DVC.is_file():
        pytest.skip(f"dvc not installed beside {sys.executable}")
    for name in ("dvc.yaml", "config.yaml"):  # dvc.yaml's `vars` reads config.yaml (train.stages)
        shutil.copy(REPO / name, tmp_path / name)
    subprocess.run([str(DVC), "init", "--no-scm", "-q"], cwd=tmp_path, check=True, timeout=60)
    metrics, spec = _declared()
    for i, rel in enumerate(metrics):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"final_loss": 3.25 + i, "per_source": {"crawl": {"ppl": 40.5 + i}}}))
    for rel in {f for _, f, _ in _curves(spec)}:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows([s, 8.0 - s, 1e-4 * (s + 1), 1.0 / (s + 1), 64 * (s + 1), 500 + s] for s in range(5))
    return tmp_path


def test_dvc_yaml_declares_metrics_and_the_training_curves():
    metrics, spec = _declared()
    assert "results/train/train_summary.json" in metrics and "results/eval/perplexity.json" in metrics
    assert {"loss", "lr", "grad_norm", "tokens_per_s"} <= {col for _, _, col in _curves(spec)}
    assert all(cfg.get("x") == "step" for p in spec["plots"] for cfg in p.values())


def test_metrics_show_reads_every_declared_file(project):
    metrics, _ = _declared()
    shown = _dvc(project, "metrics", "show", "--json")[""]["data"]
    for i, rel in enumerate(metrics):
        assert shown[rel]["data"] == {"final_loss": 3.25 + i, "per_source": {"crawl": {"ppl": 40.5 + i}}}, rel


def test_plots_show_renders_each_curve_against_step(project):
    _, spec = _declared()
    shown = _dvc(project, "plots", "show", "--json")
    assert not shown.get("errors"), shown.get("errors")
    for name, _, column in _curves(spec):
        (vega,) = shown["data"][name]
        values = vega["content"]["data"]["values"]
        assert [float(v["step"]) for v in values] == [0, 1, 2, 3, 4], name
        written = {"loss": [8.0 - s for s in range(5)], "lr": [1e-4 * (s + 1) for s in range(5)],
                   "grad_norm": [1.0 / (s + 1) for s in range(5)], "tokens_per_s": [500 + s for s in range(5)]}
        assert [float(v[column]) for v in values] == pytest.approx(written[column]), name
        assert vega["content"]["encoding"]["x"]["field"] == "step"
        assert column in {e["field"] for e in _y_encodings(vega["content"])}, name


def _y_encodings(node):
    """Every vega-lite ``encoding.y`` in the spec (layers nest them)."""
    if isinstance(node, dict):
        if isinstance(node.get("encoding"), dict) and isinstance(node["encoding"].get("y"), dict):
            yield node["encoding"]["y"]
        for v in node.values():
            yield from _y_encodings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _y_encodings(v)
