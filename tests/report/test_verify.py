"""lmsci verify: a fresh report verifies; one changed byte or a missing artifact fails, one line each."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lmsci.report.verify import VerifyError, verify

ROOT = Path(__file__).resolve().parents[2]


def lmsci(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmsci", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def copy(tiny_run, tmp_path) -> Path:
    """The report and its results, moved together to a new place (verify must still find them)."""
    dest = tmp_path / "moved"
    shutil.copytree(tiny_run["results"], dest / "results")
    shutil.copytree(tiny_run["report"], dest / "reports" / "run")
    return dest


def test_provenance_names_the_results_dir_and_the_report_says_how_to_verify(tiny_run):
    prov = json.loads((tiny_run["report"] / "provenance.json").read_text())
    assert prov["results_dir"] == str(tiny_run["results"])
    assert (tiny_run["report"] / prov["results_dir_from_report"]).resolve() == tiny_run["results"].resolve()
    assert {"mix/blend.json", "tokenizer/tokenizer.json", "train/checkpoint/metadata.json"} <= set(prov["artifacts"])
    md = (tiny_run["report"] / "report.md").read_text()
    assert f"lmsci verify {tiny_run['report']}" in md.split("## Reproduce")[1]


def test_fresh_report_verifies(tiny_run):
    root, n, problems = verify(tiny_run["report"])
    assert problems == [] and n >= 10 and root.resolve() == tiny_run["results"].resolve()
    proc = lmsci("verify", str(tiny_run["report"]))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines() == [f"verify: {n} of {n} artifacts under {root} match provenance.json"]


def test_one_changed_byte_fails_with_one_line_naming_the_artifact(copy):
    target = copy / "results" / "tokens" / "crawl" / "train.bin"
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0x01
    target.write_bytes(bytes(data))
    proc = lmsci("verify", str(copy / "reports" / "run"))
    assert proc.returncode == 1
    bad = [ln for ln in proc.stdout.splitlines() if not ln.startswith("verify:")]
    assert len(bad) == 1 and bad[0].startswith("MISMATCH tokens/crawl/train.bin: expected sha256 ")


def test_missing_artifact_is_reported(copy):
    (copy / "results" / "mix" / "blend.json").unlink()
    _, n, problems = verify(copy / "reports" / "run")
    assert [(p.artifact, p.kind) for p in problems] == [("mix/blend.json", "missing")]
    assert problems[0].line().startswith("MISSING  mix/blend.json")


def test_not_a_report_dir_is_one_line_error(tmp_path):
    with pytest.raises(VerifyError, match="provenance.json not found"):
        verify(tmp_path)
    proc = lmsci("verify", str(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "provenance.json" in proc.stderr
